/**
 * eStargz (gzip) layers: writer, lazy reader, footer and TOC encoding.
 *
 * @module
 */
export { DEFAULT_CHUNK_SIZE, FOOTER_SIZE, LANDMARK_CONTENTS, LEGACY_FOOTER_SIZE, NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK, TOC_TAR_NAME } from "./constants.js";
export { ANNOTATION_ESTARGZ_TOC_DIGEST, ANNOTATION_ESTARGZ_UNCOMPRESSED_SIZE, MAX_TOC_SIZE } from "../../layer/annotations.js";
export { buildFooter, buildLegacyFooter, findFooter, parseFooter, parseLegacyFooter, type EstargzFooter } from "./footer.js";
export { EstargzReader, extractTocJson, readEstargzToc, type ChunkRange, type ReadEstargzTocOptions, type TocFile } from "./reader.js";
export { formatModtime, jsonString, marshalToc, marshalTocText, type EstargzEntryType, type EstargzToc, type EstargzTocEntry } from "./toc.js";
export { createEstargzLayer, type EstargzLayerOptions, type EstargzLayerResult, type EstargzLayerWriter } from "./writer.js";
