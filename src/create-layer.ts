/**
 * `createLayer`: one entry point for writing a layer in any format from a tar byte stream.
 *
 * @module
 */
import { getCore, type Core } from "./core.js";
import { LayerkitError } from "./errors.js";
import { deferredWriter } from "./util/deferred-writer.js";
import type { LayerFormat, LayerWriter } from "./layer/result.js";
import type { FormatWriteOptions } from "./formats/format.js";
import { formatOf } from "./formats/registry.js";

export interface CreateLayerOptions extends FormatWriteOptions {
  format: LayerFormat;
  /** The WASM core to use; defaults to the runtime's. */
  core?: Core;
}

/**
 * Compress a tar stream into a layer.
 *
 * @example
 * ```ts
 * const { stream, result } = createLayer(tarStream, { format: "zstd" });
 * await stream.pipeTo(fileWritable);
 * const { descriptor, diffID } = await result;
 * ```
 */
export function createLayer(input: ReadableStream<Uint8Array>, options: CreateLayerOptions): LayerWriter {
  // The core loads asynchronously; defer the writer until it is ready without making the caller await.
  return deferredWriter(async () => {
    const format = formatOf(options.format);
    if (!format.create) throw new LayerkitError("UNSUPPORTED_FORMAT", `cannot create ${JSON.stringify(options.format)} layers`, { format: options.format });
    return format.create(options.core ?? (await getCore()), input, options);
  });
}
