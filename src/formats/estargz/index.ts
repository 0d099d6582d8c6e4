/**
 * eStargz (gzip) layers: writer, lazy reader, footer and TOC encoding.
 *
 * @module
 */
export {
  DEFAULT_CHUNK_SIZE,
  FOOTER_SIZE,
  LANDMARK_CONTENTS,
  LEGACY_FOOTER_SIZE,
  NO_PREFETCH_LANDMARK,
  PREFETCH_LANDMARK,
  TOC_TAR_NAME,
} from "./constants.js";
export { ANNOTATION_ESTARGZ_TOC_DIGEST, ANNOTATION_ESTARGZ_UNCOMPRESSED_SIZE, MAX_TOC_SIZE } from "../../layer/annotations.js";
export { buildFooter, buildLegacyFooter, type EstargzFooter, findFooter, parseFooter, parseLegacyFooter } from "./footer.js";
export { type ChunkRange, EstargzReader, extractTocJson, readEstargzToc, type ReadEstargzTocOptions, type TocFile } from "./reader.js";
export {
  type EstargzEntryType,
  type EstargzToc,
  type EstargzTocEntry,
  formatModtime,
  jsonString,
  marshalToc,
  marshalTocText,
} from "./toc.js";
export { createEstargzLayer, type EstargzLayerOptions, type EstargzLayerResult, type EstargzLayerWriter } from "./writer.js";
