/**
 * Names and numbers of the eStargz format (docs/formats/estargz.md).
 *
 * @module
 */
/** Name of the tar entry holding the TOC JSON. */
export const TOC_TAR_NAME = "stargz.index.json";
/** Marks the end of the prioritized files (prefetch everything before it). */
export const PREFETCH_LANDMARK = ".prefetch.landmark";
/** Put first when there are no prioritized files. */
export const NO_PREFETCH_LANDMARK = ".no.prefetch.landmark";
/** The landmark files' one byte of content. */
export const LANDMARK_CONTENTS = 0x0f;
/** eStargz footer size. */
export const FOOTER_SIZE = 51;
/** Legacy (google/crfs) stargz footer size. */
export const LEGACY_FOOTER_SIZE = 47;
/** Default chunk size of the writer (Go's `Writer.chunkSize`). */
export const DEFAULT_CHUNK_SIZE = 4 << 20;
