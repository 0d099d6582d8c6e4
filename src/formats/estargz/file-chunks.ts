/**
 * Streaming one eStargz file with few requests: the file's chunks are contiguous gzip members, so
 * windows of them (at most {@link MAX_WINDOW} compressed bytes) are fetched with one request each
 * and then decoded and verified chunk by chunk by the eStargz reader.
 *
 * @module
 */
import type { EstargzReader } from "./reader.js";
import type { TocFile } from "../../layer/toc-parse.js";
import type { PrefetchSource } from "../../lazy/prefetch-source.js";

/** Largest compressed window fetched at once: bounds memory for huge files. */
export const MAX_WINDOW: number = 32 * 1024 * 1024;

/**
 * Verified chunks of `file`; `prefetch` must be the source `reader` reads from. Each chunk is
 * checked against its chunk digest, the file digest before the last chunk is yielded.
 */
export async function* estargzFileChunks(
  reader: EstargzReader,
  prefetch: PrefetchSource,
  file: TocFile,
  maxWindow = MAX_WINDOW,
): AsyncGenerator<Uint8Array, void, void> {
  // The reader's generator reads (and verifies) chunk k when pulled the k-th time; each window is
  // fetched just before its chunks are pulled.
  const verified = reader.fileChunks(file);
  const chunks = file.chunks;
  try {
    let i = 0;
    while (i < chunks.length) {
      const start = chunks[i]!.offset;
      let end = chunks[i]!.end;
      let j = i + 1;
      while (j < chunks.length) {
        const c = chunks[j]!;
        if (c.offset < start || c.offset > end || c.end - start > maxWindow) break;
        end = Math.max(end, c.end);
        j++;
      }
      await prefetch.prefetch(start, end - start);
      try {
        for (let k = i; k < j; k++) {
          const r = await verified.next();
          if (r.done) return;
          yield r.value;
        }
      } finally {
        prefetch.drop();
      }
      i = j;
    }
  } finally {
    await verified.return();
  }
}
