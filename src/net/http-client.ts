/**
 * The one HTTP client every layerkit request goes through (blob ranges, registry manifests, tags,
 * uploads, tokens): one redirect follower, one retry loop, one request counter, one idle timeout.
 *
 * - **Redirects** are followed by hand, at most `maxRedirects` per exchange. Credential headers
 *   (`Authorization`, `Cookie`, `Proxy-Authorization`) go only to the credential origin (the
 *   first URL's, or {@link SendOptions.credentialOrigin}) and never over a https → http
 *   downgrade. 303 (and 301/302 after a POST) turn into a bodyless GET. In a browser, where a
 *   manual redirect is opaque, the runtime follows it, without credentials.
 * - **Redirect cache**: a GET sent with `cacheRedirect` whose redirects ended in a 2xx remembers
 *   the final URL; later GETs of the same URL go straight there (one request instead of two
 *   behind a registry's CDN redirect). A remembered URL that answers 401/403/404/410 (an expired
 *   signed URL) is forgotten and the exchange starts over at the original URL.
 * - **Idle timeout** (`idleTimeoutMs`, default 30 s, 0 disables): waiting for the response
 *   headers, and each wait for the next body piece, may last at most this long; then the request
 *   is aborted and fails with `TIMEOUT` (retryable).
 * - **Counting**: every request put on the wire (each redirect hop, retry and restart) adds one
 *   to {@link HttpClient.requests} and to the caller's `stats`.
 * - **Bounds**: one exchange sends at most `1 + maxRedirects` requests; a caller's
 *   {@link RequestBudget} caps a whole operation (attempts × requests per attempt) and fails it
 *   with `LIMIT_EXCEEDED` past that, whatever the server does.
 * - **Retries**: {@link HttpClient.retry} is the one retry loop (see ../net/retry.ts);
 *   {@link HttpClient.request} applies it to GET and HEAD, retrying 408/429/5xx answers and
 *   network failures.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { RETRYABLE_STATUS, type RetryPolicy, retryPolicy, withRetry } from "./retry.js";

export interface HttpClientOptions {
  /** `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** Aborts every request. */
  signal?: AbortSignal;
  /** Retry policy (default 3 retries, 100 ms doubling, at most 2 s). */
  retry?: Partial<RetryPolicy>;
  /** Most redirects followed per exchange (default 10). */
  maxRedirects?: number;
  /** Longest wait for response headers or the next body piece, in ms (default 30,000; 0: none). */
  idleTimeoutMs?: number;
  /** Remember redirect targets of GETs sent with `cacheRedirect` (default true). */
  cacheRedirects?: boolean;
}

/** A counter the client adds every request of an exchange to. */
export interface RequestCounter {
  requests: number;
}

/**
 * An upper bound on the requests of one operation: `charge` fails with `LIMIT_EXCEEDED` once
 * more than `limit` requests were sent for it.
 */
export class RequestBudget {
  used = 0;
  constructor(
    readonly limit: number,
    readonly what: string,
  ) {}
  charge(url: string): void {
    if (++this.used > this.limit) {
      throw new LayerkitError("LIMIT_EXCEEDED", `${this.what}: more than ${this.limit} requests (the bound for this operation)`, {
        url,
        limit: this.limit,
      });
    }
  }
}

export interface SendOptions {
  method?: string;
  headers?: HeadersInit;
  /** A replayable body (sent again after a 307/308). */
  body?: Uint8Array;
  /** The only origin credential headers are sent to (default: the first URL's origin). */
  credentialOrigin?: string;
  /** Use and fill the redirect cache (GET only). */
  cacheRedirect?: boolean;
  /** Also count the requests here (a source's stats). */
  stats?: RequestCounter;
  /** The operation's request bound. */
  budget?: RequestBudget;
}

/** What an exchange sends through: an {@link HttpClient}, or a registry transport on top of one. */
export interface HttpExchange {
  /** Requests one attempt may send at most (for request bounds). */
  readonly requestsPerAttempt: number;
  /** Attempts per operation (1 + retries). */
  readonly attempts: number;
  /** One exchange: redirects followed, credentials kept to their origin; any final status is returned. */
  send(url: string | URL, options: SendOptions): Promise<Response>;
  /** Runs `op` under the retry policy. */
  retry<T>(op: (attempt: number) => Promise<T>): Promise<T>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];
/** Statuses from a remembered redirect target that mean it is no longer valid. */
const STALE_REDIRECT = new Set([401, 403, 404, 410]);
/** Most remembered redirect targets (oldest forgotten first). */
const MAX_CACHED_REDIRECTS = 512;
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export class HttpClient implements HttpExchange {
  /** Requests sent (every redirect hop, retry and restart). */
  requests = 0;
  readonly policy: RetryPolicy;
  readonly maxRedirects: number;
  readonly idleTimeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #signal: AbortSignal | undefined;
  readonly #cacheRedirects: boolean;
  readonly #redirects = new Map<string, string>();

  constructor(options: HttpClientOptions = {}) {
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#signal = options.signal;
    this.policy = retryPolicy(options.retry);
    this.maxRedirects = count(options.maxRedirects, 10, "maxRedirects");
    this.idleTimeoutMs = count(options.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS, "idleTimeoutMs");
    this.#cacheRedirects = options.cacheRedirects ?? true;
  }

  get requestsPerAttempt(): number {
    return 1 + this.maxRedirects;
  }

  get attempts(): number {
    return 1 + this.policy.retries;
  }

  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  retry<T>(op: (attempt: number) => Promise<T>): Promise<T> {
    return withRetry(this.policy, op, this.#signal);
  }

  /**
   * {@link send} under the retry policy for GET and HEAD (network failures, stalls and
   * 408/429/5xx answers are retried; the last answer is returned whatever its status). Other
   * methods are sent once: they may not be safe to repeat.
   */
  request(url: string | URL, options: SendOptions = {}): Promise<Response> {
    const method = (options.method ?? "GET").toUpperCase();
    if (method !== "GET" && method !== "HEAD") return this.send(url, options);
    return this.retry(async (attempt) => {
      const res = await this.send(url, options);
      if (RETRYABLE_STATUS.has(res.status) && attempt < this.policy.retries) {
        await discard(res);
        throw new LayerkitError("HTTP", `HTTP ${res.status} for ${method} ${String(url)}`, { url: String(url), status: res.status });
      }
      return res;
    });
  }

  async send(url: string | URL, options: SendOptions = {}): Promise<Response> {
    const start = new URL(url);
    let method = (options.method ?? "GET").toUpperCase();
    let body = options.body;
    const credentialOrigin = options.credentialOrigin ?? start.origin;
    const key = method === "GET" && options.cacheRedirect && this.#cacheRedirects ? start.href : undefined;
    let cached = key !== undefined ? this.#redirects.get(key) : undefined;
    let at = cached !== undefined ? new URL(cached) : start;
    let downgraded = false;
    for (let sent = 0;;) {
      const headers = new Headers(options.headers);
      if (at.origin !== credentialOrigin || downgraded) { for (const h of CREDENTIAL_HEADERS) headers.delete(h); }
      if (body === undefined) headers.delete("content-type");
      if (sent >= 1 + this.maxRedirects) {
        throw new LayerkitError("HTTP", `more than ${this.maxRedirects} redirects from ${start.href}`, {
          url: start.href,
          status: 302,
          location: at.href,
        });
      }
      sent++;
      const res = await this.#fetchOnce(at, method, headers, body, "manual", options);
      if (res.type === "opaqueredirect") {
        // Browsers hide redirect targets: let the runtime follow, without credentials.
        for (const h of CREDENTIAL_HEADERS) headers.delete(h);
        return this.#fetchOnce(at, method, headers, body, "follow", options);
      }
      if (cached !== undefined && STALE_REDIRECT.has(res.status)) {
        await discard(res);
        this.#redirects.delete(key!);
        cached = undefined;
        at = start;
        continue;
      }
      if (!REDIRECTS.has(res.status)) {
        if (key !== undefined && at.href !== start.href && res.status >= 200 && res.status < 300) this.#remember(key, at.href);
        return res;
      }
      await discard(res);
      const location = res.headers.get("location");
      if (!location) {
        throw new LayerkitError("HTTP", `HTTP ${res.status} redirect without a Location from ${at.href}`, {
          url: at.href,
          status: res.status,
        });
      }
      if (sent >= 1 + this.maxRedirects) {
        throw new LayerkitError("HTTP", `more than ${this.maxRedirects} redirects from ${start.href}`, {
          url: start.href,
          status: res.status,
          location,
        });
      }
      let next: URL;
      try {
        next = new URL(location, at);
      } catch {
        throw new LayerkitError("HTTP", `redirect to an invalid URL ${JSON.stringify(location.slice(0, 200))}`, {
          url: at.href,
          status: res.status,
          location: location.slice(0, 200),
        });
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new LayerkitError("HTTP", `redirect to a non-HTTP URL ${next.href.slice(0, 200)}`, {
          url: at.href,
          status: res.status,
          location: next.href.slice(0, 200),
        });
      }
      if (at.protocol === "https:" && next.protocol === "http:") downgraded = true; // never downgrade with credentials
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = method === "HEAD" ? "HEAD" : "GET";
        body = undefined;
      }
      at = next;
    }
  }

  #remember(key: string, target: string): void {
    this.#redirects.delete(key);
    this.#redirects.set(key, target);
    if (this.#redirects.size > MAX_CACHED_REDIRECTS) this.#redirects.delete(this.#redirects.keys().next().value!);
  }

  /** One request on the wire, counted, with the idle timeout on headers and body. */
  async #fetchOnce(
    url: URL,
    method: string,
    headers: Headers,
    body: Uint8Array | undefined,
    redirect: RequestRedirect,
    options: SendOptions,
  ): Promise<Response> {
    options.budget?.charge(url.href);
    this.requests++;
    if (options.stats) options.stats.requests++;
    const idle = new IdleTimer(this.idleTimeoutMs, this.#signal);
    const init: RequestInit = { method, headers, redirect, signal: idle.signal };
    if (body !== undefined) init.body = body as Uint8Array<ArrayBuffer>;
    let res: Response;
    try {
      res = await idle.during(() => this.#fetch(url, init));
    } catch (e) {
      idle.stop();
      if (idle.fired) throw idle.error(url.href, method, "waiting for the response headers");
      throw new LayerkitError("IO", `${method} ${url.href} failed: ${(e as Error)?.message ?? e}`, {
        url: url.href,
        method,
        range: headers.get("range") ?? undefined,
      }, { cause: e });
    }
    if (!res.body || NULL_BODY.has(res.status) || res.status < 200 || res.type === "opaqueredirect") {
      idle.stop();
      return res;
    }
    const wrapped = new Response(idle.wrapBody(res.body, url.href, method), {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
    Object.defineProperty(wrapped, "url", { value: res.url || url.href });
    return wrapped;
  }
}

/**
 * The per-request idle timer: a signal that aborts the request when the server has been silent
 * for `ms` (or when the caller's signal aborts), restarted for every body piece awaited.
 */
class IdleTimer {
  readonly #ms: number;
  readonly #controller = new AbortController();
  readonly #outer: AbortSignal | undefined;
  readonly #onOuter = () => this.#controller.abort(this.#outer?.reason);
  #timer: ReturnType<typeof setTimeout> | undefined;
  fired = false;

  constructor(ms: number, outer: AbortSignal | undefined) {
    this.#ms = ms;
    this.#outer = outer;
    if (outer?.aborted) this.#controller.abort(outer.reason);
    else outer?.addEventListener("abort", this.#onOuter, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Runs `op` with the timer armed. */
  async during<T>(op: () => Promise<T>): Promise<T> {
    this.#arm();
    try {
      return await op();
    } finally {
      this.#disarm();
    }
  }

  stop(): void {
    this.#disarm();
    this.#outer?.removeEventListener("abort", this.#onOuter);
  }

  error(url: string, method: string, what: string): LayerkitError {
    return new LayerkitError("TIMEOUT", `${method} ${url}: no data for ${this.#ms} ms ${what}`, { url, method, idleTimeoutMs: this.#ms });
  }

  /** `body` with the timer armed during each read; a read that outlasts it fails with TIMEOUT. */
  wrapBody(body: ReadableStream<Uint8Array>, url: string, method: string): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          let r: ReadableStreamReadResult<Uint8Array>;
          try {
            r = await this.during(() => reader.read());
          } catch (e) {
            this.stop();
            controller.error(this.fired ? this.error(url, method, "while reading the response body") : e);
            return;
          }
          if (r.done) {
            this.stop();
            controller.close();
          } else {
            controller.enqueue(r.value);
          }
        },
        cancel: async (reason) => {
          this.stop();
          await reader.cancel(reason).catch(() => {});
        },
      },
      { highWaterMark: 0 },
    );
  }

  #arm(): void {
    if (this.#ms <= 0) return;
    this.#timer = setTimeout(() => {
      this.fired = true;
      this.#controller.abort(new LayerkitError("TIMEOUT", `no data for ${this.#ms} ms`, { idleTimeoutMs: this.#ms }));
    }, this.#ms);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Cancels a response body we do not read. */
export async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

function count(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < 0) throw new LayerkitError("BAD_ARGUMENT", `invalid ${name} ${v}`, { [name]: v });
  return v;
}
