/**
 * Plain gzip layers (`application/vnd.oci.image.layer.v1.tar+gzip`): the whole tar in one gzip
 * member, deterministic: the header is Go's `compress/gzip` one (no name, no comment, MTIME 0,
 * XFL by level, OS 255) and the DEFLATE stream comes from zlib 1.2.13 in the WASM core, fed in
 * fixed pieces (see src/gzip/gzip.ts), so the same tar and level give the same blob in every
 * runtime.
 *
 * @module
 */
import type { Core } from "../../core.js";
import { createGzipCompressor } from "../../gzip/gzip.js";
import { streamFromGenerator } from "../../util/async-queue.js";
import { DigestCounter } from "../../util/digest-counter.js";
import { type LayerResult, type LayerWriter, plainLayerResult } from "../../layer/result.js";

export interface GzipLayerOptions {
  /** DEFLATE level 0–9, default 6 (Go's `gzip.DefaultCompression`, what Docker and containers/image use). */
  level?: number;
}

/** Default level of plain gzip layers. */
export const DEFAULT_GZIP_LAYER_LEVEL = 6;

/** Compresses a tar stream into a one-member gzip layer; `result` settles after the last byte. */
export function createGzipLayer(core: Core, input: ReadableStream<Uint8Array>, options: GzipLayerOptions = {}): LayerWriter {
  // Validates the level now (BAD_ARGUMENT), before any byte is read.
  const compressor = createGzipCompressor({ engine: "zlib", deflate: core.deflate, level: options.level ?? DEFAULT_GZIP_LAYER_LEVEL });
  let settle!: { resolve: (r: LayerResult) => void; reject: (e: unknown) => void };
  const result = new Promise<LayerResult>((resolve, reject) => (settle = { resolve, reject }));
  result.catch(() => {}); // the stream reports the same error; avoid an unhandled rejection

  async function* run(): AsyncGenerator<Uint8Array, void, void> {
    const tar = new DigestCounter(core);
    const blob = new DigestCounter(core);
    const member = compressor.member();
    const reader = input.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        const pieces = done ? await member.end() : await member.write(value);
        if (!done) tar.update(value);
        for (const p of pieces) {
          blob.update(p);
          yield p;
        }
        if (done) break;
      }
      settle.resolve(plainLayerResult("gzip", blob, tar));
    } catch (e) {
      settle.reject(e);
      await reader.cancel(e).catch(() => {});
      throw e;
    } finally {
      // Frees the WASM deflater when the member did not end (error or cancel).
      member.abort?.();
      reader.releaseLock();
    }
  }
  return { stream: streamFromGenerator(run()), result };
}
