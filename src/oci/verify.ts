/**
 * Verifying blob streams against a descriptor as they flow.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { concatBytes } from "../util/bytes.js";
import { checkDigest, type Sha256Factory } from "../layer/digest.js";

/** What a blob must be. */
export interface ExpectedBlob {
  digest: string;
  /** When known: a longer stream errors as soon as it passes it, a shorter one at the end. */
  size?: number;
}

/**
 * A pass-through stream that hashes and counts the bytes. It errors with `SIZE_MISMATCH` as soon
 * as more than `size` bytes pass, and at the end with `SIZE_MISMATCH` (too short) or
 * `DIGEST_MISMATCH` **instead of closing**: a consumer must treat what it read as unverified
 * until the stream has closed cleanly. `details` carry `what` (e.g. a URL) when given.
 */
export function verifyingStream(
  expected: ExpectedBlob,
  sha256: Sha256Factory,
  what: Record<string, unknown> = {},
): TransformStream<Uint8Array, Uint8Array> {
  checkDigest(expected.digest);
  const hasher = sha256();
  let n = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      n += chunk.length;
      if (expected.size !== undefined && n > expected.size) {
        throw new LayerkitError("SIZE_MISMATCH", `blob ${expected.digest} is longer than its expected ${expected.size} bytes`, {
          ...what,
          digest: expected.digest,
          expected: expected.size,
          got: n,
        });
      }
      hasher.update(chunk);
      controller.enqueue(chunk);
    },
    flush() {
      if (expected.size !== undefined && n !== expected.size) {
        throw new LayerkitError("SIZE_MISMATCH", `blob ${expected.digest} ended after ${n} of ${expected.size} bytes`, {
          ...what,
          digest: expected.digest,
          expected: expected.size,
          got: n,
        });
      }
      const got = "sha256:" + hasher.hex();
      if (got !== expected.digest) {
        throw new LayerkitError("DIGEST_MISMATCH", `blob content has digest ${got}, expected ${expected.digest}`, {
          ...what,
          expected: expected.digest,
          got,
          size: n,
        });
      }
    },
  });
}

/**
 * Reads a whole stream into memory, failing with `LIMIT_EXCEEDED` (and cancelling the stream)
 * past `maxBytes`; a stream that errors with anything but a {@link LayerkitError} is `TRUNCATED`.
 */
export async function readAllLimited(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  what: Record<string, unknown> = {},
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        if (e instanceof LayerkitError) throw e;
        // A network body that breaks off (reset, fewer bytes than its Content-Length).
        throw new LayerkitError("TRUNCATED", `stream broke off after ${n} bytes: ${(e as Error)?.message ?? e}`, { ...what, got: n }, {
          cause: e,
        });
      }
      if (r.done) break;
      n += r.value.length;
      if (n > maxBytes) {
        reader.cancel().catch(() => {});
        throw new LayerkitError("LIMIT_EXCEEDED", `${what.what ?? "document"} is larger than ${maxBytes} bytes`, { ...what, maxBytes });
      }
      parts.push(r.value);
    }
  } finally {
    reader.releaseLock();
  }
  return concatBytes(parts);
}
