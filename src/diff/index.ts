/**
 * Tree diffs: the changes between two directory trees as an OCI layer.
 *
 * @module
 */
export { diffLayer, type DiffLayerOptions, treeDiffTar } from "./diff-layer.js";
export { type TreeChange, treeDiff, type TreeDiffOptions } from "./tree-diff.js";
