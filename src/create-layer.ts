/**
 * `createLayer`: one entry point for writing a layer in any format from a tar byte stream.
 *
 * @module
 */
import { getCore, type Core } from "./core.js";
import { LayerkitError } from "./errors.js";
import { deferredWriter } from "./util/deferred-writer.js";
import type { LayerFormat, LayerWriter } from "./layer/result.js";
import { createZstdLayer } from "./formats/zstd/writer.js";
import { createZstdChunkedLayer } from "./formats/zstd-chunked/writer.js";
import { createEstargzLayer } from "./formats/estargz/writer.js";
import { createGzipLayer } from "./formats/gzip/writer.js";

export interface CreateLayerOptions {
  format: LayerFormat;
  /** Compression level (zstd: default 3; gzip: default 6; eStargz: default 9). */
  level?: number;
  /** eStargz: files to put first and prefetch (in this order). */
  prioritizedFiles?: string[];
  /** eStargz: uncompressed chunk size (default 4 MiB). */
  chunkSize?: number;
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
  return deferredWriter(async () => pickWriter(options.core ?? (await getCore()), input, options));
}

function pickWriter(core: Core, input: ReadableStream<Uint8Array>, options: CreateLayerOptions): LayerWriter {
  switch (options.format) {
    case "zstd":
      return createZstdLayer(core, input, options.level === undefined ? {} : { level: options.level });
    case "zstd:chunked":
      return createZstdChunkedLayer(core, input, options.level === undefined ? {} : { level: options.level });
    case "estargz":
      return createEstargzLayer(core, input, {
        ...(options.level === undefined ? {} : { level: options.level }),
        ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
        ...(options.prioritizedFiles === undefined ? {} : { prioritizedFiles: options.prioritizedFiles }),
      });
    case "gzip":
      return createGzipLayer(core, input, options.level === undefined ? {} : { level: options.level });
    default:
      throw new LayerkitError("UNSUPPORTED_FORMAT", `cannot create ${JSON.stringify(options.format)} layers`, { format: options.format });
  }
}
