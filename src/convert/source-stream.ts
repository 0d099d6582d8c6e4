/**
 * A {@link BlobSource} read front to back as a stream, one bounded `read` per pull, and the
 * counterpart for streams: peeking at the first bytes without losing them.
 *
 * @module
 */
import type { BlobSource } from "../source/blob-source.js";
import { streamFromGenerator } from "../util/async-queue.js";

/** Bytes per `read` when streaming a source (bounded memory, few requests). */
export const SOURCE_PIECE = 1 << 20;

/** The whole blob as a stream of pieces of at most `piece` bytes. */
export function streamSource(source: BlobSource, piece = SOURCE_PIECE): ReadableStream<Uint8Array> {
  async function* run(): AsyncGenerator<Uint8Array, void, void> {
    const size = await source.size();
    for (let at = 0; at < size;) {
      const bytes = await source.read(at, Math.min(piece, size - at));
      at += bytes.length;
      yield bytes;
    }
  }
  return streamFromGenerator(run());
}

/**
 * Reads the first `n` bytes of `stream` (fewer when it is shorter) and returns them with a
 * stream that still yields every byte from the start.
 */
export async function peekStream(
  stream: ReadableStream<Uint8Array>,
  n: number,
): Promise<{ head: Uint8Array; stream: ReadableStream<Uint8Array> }> {
  const reader = stream.getReader();
  const held: Uint8Array[] = [];
  let have = 0;
  let ended = false;
  while (have < n) {
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      break;
    }
    if (value.length === 0) continue;
    held.push(value);
    have += value.length;
  }
  const head = new Uint8Array(Math.min(n, have));
  let o = 0;
  for (const p of held) {
    if (o >= head.length) break;
    const take = Math.min(p.length, head.length - o);
    head.set(p.subarray(0, take), o);
    o += take;
  }
  async function* replay(): AsyncGenerator<Uint8Array, void, void> {
    try {
      for (const p of held.splice(0)) yield p;
      if (ended) return;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        yield value;
      }
    } catch (e) {
      await reader.cancel(e).catch(() => {});
      throw e;
    } finally {
      reader.releaseLock();
    }
  }
  return { head, stream: streamFromGenerator(replay()) };
}
