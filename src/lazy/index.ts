/**
 * Lazy access to seekable layers: open the TOC, read single files with few requests.
 *
 * @module
 */
export { findEntry, normalizeLayerPath, openFile, readFile, type ReadFileOptions } from "./read-file.js";
export {
  FOOTER_PROBE,
  type LayerIndex,
  layerIndexFromToc,
  openLayerIndex,
  type OpenLayerIndexOptions,
  type SeekableFormat,
  TAIL_PROBE,
} from "./layer-index.js";
export { PrefetchSource } from "./prefetch-source.js";
