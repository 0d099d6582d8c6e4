/**
 * `createLayer`: one entry point for writing a layer in any format from a tar byte stream.
 *
 * @module
 */
import { type Core, getCore } from "./core.js";
import { LayerkitError } from "./errors.js";
import { deferredWriter } from "./util/deferred-writer.js";
import type { LayerFormat, LayerWriter } from "./layer/result.js";
import type { FormatWriteOptions } from "./formats/format.js";
import { formatOf } from "./formats/registry.js";
import { checkedTarStream } from "./tar/checker.js";
import { checkSafePaths, checkSeekableEntry, type LayerTarKind, tarReadOptions } from "./tar/layer-rules.js";

export interface CreateLayerOptions extends FormatWriteOptions {
  format: LayerFormat;
  /** The WASM core to use; defaults to the runtime's. */
  core?: Core;
  /**
   * Write entries whose names have `..` components, NUL bytes or a leading `/`, and hardlinks whose
   * targets leave the root (default false: UNSAFE_PATH). `verifyLayer` still reports them.
   */
  allowUnsafePaths?: boolean;
}

/**
 * Compress a tar stream into a layer. The tar is validated as it streams through, with the rules
 * of src/tar/layer-rules.ts for the format: what the layer's own `verifyLayer` would refuse
 * (TAR_CORRUPT, TRUNCATED, TAR_UNSUPPORTED, UNSAFE_PATH, …) fails the stream instead.
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
    if (!format.create) {
      throw new LayerkitError("UNSUPPORTED_FORMAT", `cannot create ${JSON.stringify(options.format)} layers`, { format: options.format });
    }
    const kind: LayerTarKind = options.format === "zstd" || options.format === "gzip" ? "plain" : options.format;
    const allowUnsafe = options.allowUnsafePaths === true;
    const checked = checkedTarStream(input, tarReadOptions(kind), (header, offset) => {
      checkSeekableEntry(kind, header);
      if (!allowUnsafe) checkSafePaths(header, offset);
    });
    return format.create(options.core ?? (await getCore()), checked, options);
  });
}
