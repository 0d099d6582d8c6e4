/**
 * Bounded retries with exponential backoff: the one retry loop of every HTTP request layerkit
 * makes (blob ranges, manifests, tags, token-less registry GETs and HEADs). Only failures that a
 * second try can cure are retried: connection failures and resets (`IO`), bodies cut short
 * (`TRUNCATED`), servers that stall (`TIMEOUT`), and the HTTP statuses that mean "try again"
 * (408, 429, 500, 502, 503, 504). Everything else (digest or protocol errors, 404, 416...) is
 * final at once.
 *
 * @module
 */
import { isLayerkitError, LayerkitError } from "../errors.js";

/** How often and how patiently to retry. */
export interface RetryPolicy {
  /** Retries after the first attempt (default 3; 0 disables retrying). */
  retries: number;
  /** Delay before the first retry in ms (default 100); doubles each retry. */
  baseDelayMs: number;
  /** Upper bound of one delay in ms (default 2000). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({ retries: 3, baseDelayMs: 100, maxDelayMs: 2000 });

/** Statuses that mean "try again later". */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Completes a partial policy with the defaults and checks its numbers. */
export function retryPolicy(p: Partial<RetryPolicy> = {}): RetryPolicy {
  const r = { ...DEFAULT_RETRY_POLICY, ...p };
  for (const [k, v] of Object.entries(r)) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new LayerkitError("BAD_ARGUMENT", `retry policy ${k} must be a non-negative integer, got ${v}`, { [k]: v });
    }
  }
  return r;
}

/** True when `e` is a failure that retrying may cure (see the module doc). */
export function isRetryable(e: unknown): boolean {
  if (isLayerkitError(e, "IO") || isLayerkitError(e, "TRUNCATED") || isLayerkitError(e, "TIMEOUT")) return true;
  return isLayerkitError(e, "HTTP") && RETRYABLE_STATUS.has(e.details["status"] as number);
}

/** Delay before retry number `attempt` (1-based). */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
}

/**
 * Runs `op` until it succeeds, fails with a non-retryable error, or `policy.retries` retries are
 * used up (then the last error is thrown, with `details.attempts` set). An aborted `signal` stops
 * the waiting at once.
 */
export async function withRetry<T>(policy: RetryPolicy, op: (attempt: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await op(attempt);
    } catch (e) {
      if (attempt >= policy.retries || !isRetryable(e) || signal?.aborted) {
        if (e instanceof LayerkitError && attempt > 0) e.details["attempts"] = attempt + 1;
        throw e;
      }
    }
    await sleep(backoffDelay(policy, attempt + 1), signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
