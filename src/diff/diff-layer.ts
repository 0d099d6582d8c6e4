/**
 * `diffLayer`: the changes between two trees as one layer blob in any format, compressed in the
 * same pass as the tar is produced (one blob, nothing staged whole).
 *
 * @module
 */
import { createLayer, type CreateLayerOptions } from "../create-layer.js";
import type { LayerWriter } from "../layer/result.js";
import type { DirectoryFs } from "../tar/from-directory.js";
import { streamFromGenerator } from "../util/async-queue.js";
import { type TreeChange, type TreeDiffOptions, treeDiffTarPieces } from "./tree-diff.js";

export interface DiffLayerOptions extends CreateLayerOptions, TreeDiffOptions {
  /** Called with each change as it goes into the layer. */
  onChange?: (change: TreeChange) => void;
}

/** The tar of the changes from `lower` to `upper` (see ./tree-diff.ts), as a pull-driven stream. */
export function treeDiffTar(
  lower: DirectoryFs,
  upper: DirectoryFs,
  options: TreeDiffOptions & { onChange?: (change: TreeChange) => void } = {},
): ReadableStream<Uint8Array> {
  return streamFromGenerator(treeDiffTarPieces(lower, upper, options));
}

/**
 * The layer that turns `lower` into `upper` when applied on top of it, written by
 * {@link createLayer} straight from the diff's tar.
 *
 * @example
 * ```ts
 * const { stream, result } = diffLayer(await nodeDiffFs("lower"), await nodeDiffFs("upper"), { format: "zstd:chunked" });
 * ```
 */
export function diffLayer(lower: DirectoryFs, upper: DirectoryFs, options: DiffLayerOptions): LayerWriter {
  return createLayer(treeDiffTar(lower, upper, options), options);
}
