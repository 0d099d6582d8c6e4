/**
 * Plain zstd layers (`application/vnd.oci.image.layer.v1.tar+zstd`): the whole tar in one frame,
 * content checksum on, as containers/image writes them.
 *
 * @module
 */
import type { Core } from "../../core.js";
import { DigestCounter } from "../../util/digest-counter.js";
import { streamFromGenerator } from "../../util/async-queue.js";
import { type LayerResult, type LayerWriter, plainLayerResult } from "../../layer/result.js";

export interface ZstdLayerOptions {
  /** zstd level, default 3. */
  level?: number;
}

export function createZstdLayer(core: Core, input: ReadableStream<Uint8Array>, options: ZstdLayerOptions = {}): LayerWriter {
  let settle!: { resolve: (r: LayerResult) => void; reject: (e: unknown) => void };
  const result = new Promise<LayerResult>((resolve, reject) => (settle = { resolve, reject }));
  result.catch(() => {}); // the stream reports the same error; avoid an unhandled rejection

  async function* run(): AsyncGenerator<Uint8Array, void, void> {
    const tar = new DigestCounter(core);
    const blob = new DigestCounter(core);
    const compressor = core.zstd.createCompressor({ level: options.level ?? 3, checksum: true });
    const reader = input.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        tar.update(value);
        const out = compressor.write(value);
        blob.update(out);
        yield out;
      }
      // An empty input still gets one (empty) frame, so the blob is valid zstd.
      const last = compressor.bytesOut === 0 && tar.size === 0 ? core.zstd.compress(new Uint8Array(0)) : compressor.endFrame();
      blob.update(last);
      yield last;
      settle.resolve(plainLayerResult("zstd", blob, tar));
    } catch (e) {
      settle.reject(e);
      await reader.cancel(e).catch(() => {});
      throw e;
    } finally {
      compressor.free();
      reader.releaseLock();
    }
  }
  return { stream: streamFromGenerator(run()), result };
}
