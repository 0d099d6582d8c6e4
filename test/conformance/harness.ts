/**
 * A runtime-neutral test harness: the same cases run under vitest (Node), `deno test`,
 * headless Chromium and workerd. Cases use only Web APIs and the {@link Core}.
 */
import type { Core } from "../../src/core.js";
import { isLayerkitError } from "../../src/errors.js";

export interface ConformanceContext {
  core: Core;
  /**
   * Hand compressed bytes to the host so it can check them with the native `zstd` CLI
   * (which the browser and workerd cannot run). The host decompresses `compressed` and
   * requires the result to equal `expected`.
   */
  artifact(name: string, compressed: Uint8Array, expected: Uint8Array): void;
  /**
   * Origin (`http://127.0.0.1:PORT`) of the runner's blob server (test/support/blob-server.mjs):
   * `PUT /blobs/<name>` stores a blob, `GET`/`HEAD` serve it with `Range` support.
   */
  blobOrigin: string;
  /**
   * Set by the Node runner when LAYERKIT_UPDATE_GOLDEN=1: golden digests are recorded through it
   * (and written to test/conformance/golden.ts) instead of being checked.
   */
  recordGolden?(key: string, digest: string): void;
}

export interface ConformanceCase {
  name: string;
  run(ctx: ConformanceContext): void | Promise<void>;
}

export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}

export function assertEqual<T>(actual: T, expected: T, message: string): void {
  if (actual !== expected) throw new AssertionError(`${message}: expected ${String(expected)}, got ${String(actual)}`);
}

export function assertBytesEqual(actual: Uint8Array, expected: Uint8Array, message: string): void {
  if (actual.length !== expected.length) {
    throw new AssertionError(`${message}: length ${actual.length} != ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) throw new AssertionError(`${message}: bytes differ at ${i}`);
  }
}

/** Expect `fn` to throw (or reject with) a LayerkitError with `code`. */
export async function assertThrowsCode(fn: () => unknown, code: string, message: string): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (isLayerkitError(e) && e.code === code) return;
    throw new AssertionError(
      `${message}: expected LayerkitError ${code}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    );
  }
  throw new AssertionError(`${message}: expected LayerkitError ${code}, nothing was thrown`);
}

/** Deterministic pseudo-random bytes (xorshift32), so every runtime sees the same inputs. */
export function pseudoRandomBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Compressible text-like bytes. */
export function textBytes(length: number, seed = 1): Uint8Array {
  const words = ["layer", "chunk", "frame", "zstd", "tar", "digest", "sha256", "oci", "blob", "toc", "\n"];
  const rnd = pseudoRandomBytes(length, seed);
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < length; i++) {
    const w = words[rnd[i % length]! % words.length]!;
    parts.push(w, " ");
    n += w.length + 1;
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, length);
}
