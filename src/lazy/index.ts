/**
 * Lazy access to seekable layers: open the TOC, read single files with few requests.
 *
 * @module
 */
export { findEntry, normalizeLayerPath, openFile, readFile, type ReadFileOptions } from "./read-file.js";
export { FOOTER_PROBE, TAIL_PROBE, layerIndexFromToc, openLayerIndex, type LayerIndex, type OpenLayerIndexOptions, type SeekableFormat } from "./layer-index.js";
export { PrefetchSource } from "./prefetch-source.js";
