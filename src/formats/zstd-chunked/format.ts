/**
 * zstd:chunked as containers/storage writes and reads it: zstd frames per chunk, the TOC and the
 * tar-split in skippable frames, a footer (v1, v2-broken, v3) and descriptor annotations.
 *
 * @module
 */
import { OCI_LAYER_ZSTD } from "../../oci/media-types.js";
import {
  ANNOTATION_MANIFEST_CHECKSUM,
  ANNOTATION_MANIFEST_POSITION,
  OLD_ANNOTATION_MANIFEST_CHECKSUM,
  OLD_ANNOTATION_MANIFEST_POSITION,
} from "../../layer/annotations.js";
import type { Format, LayerIndex, SeekableFormat } from "../format.js";
import type { Core } from "../../core.js";
import type { PrefetchSource } from "../../lazy/prefetch-source.js";
import { readZstdChunkedAnnotations } from "./annotations.js";
import { fileChunks } from "./file-content.js";
import { detectFooterVersion, MAX_FOOTER_FRAME_SIZE, parseFooter } from "./footer.js";
import { readToc, type ReadTocResult } from "./read-toc.js";
import { zstdChunkedRules } from "./rules.js";
import { loadZstdChunkedToc } from "./verify-toc.js";
import { createZstdChunkedLayer } from "./writer.js";

const TOC_KEYS = [
  ANNOTATION_MANIFEST_CHECKSUM,
  ANNOTATION_MANIFEST_POSITION,
  OLD_ANNOTATION_MANIFEST_CHECKSUM,
  OLD_ANNOTATION_MANIFEST_POSITION,
];

/** A {@link LayerIndex} over a TOC read with `readToc` from `source` (zstd:chunked or its stargz variant). */
export function zstdChunkedIndex(core: Core, source: PrefetchSource, toc: ReadTocResult): LayerIndex {
  source.drop();
  return {
    format: toc.format,
    entries: toc.entries,
    authenticated: toc.authenticated,
    blobSize: toc.blobSize,
    detail: { kind: "zstd-chunked", toc },
    fileChunks: (entry) => fileChunks(core, source.inner, entry),
  };
}

export const zstdChunkedSeekable: SeekableFormat = {
  name: "zstd:chunked",
  layerFormat: "zstd:chunked",
  compression: "zstd",
  footerSize: MAX_FOOTER_FRAME_SIZE,
  detect({ tail, blobSize, annotations }) {
    // Annotation parsing validates the values (BAD_ANNOTATION, OUT_OF_RANGE) before we trust them.
    const annotated = readZstdChunkedAnnotations(annotations, { blobSize }) !== undefined;
    const footer = detectFooterVersion(tail) !== undefined;
    if (footer) parseFooter(tail, blobSize); // present: its numbers must be sane
    return annotated ? "annotations" : footer ? "footer" : undefined;
  },
  locatesToc: (annotations) => annotations !== undefined && TOC_KEYS.some((k) => Object.prototype.hasOwnProperty.call(annotations, k)),
  async openIndex(source, { core, annotations, maxTocSize, probeSize }) {
    const toc = await readToc(source, {
      core,
      ...(probeSize !== undefined ? { probeSize } : {}),
      ...(maxTocSize !== undefined ? { maxTocSize } : {}),
      ...(annotations ? { annotations } : {}),
    });
    return zstdChunkedIndex(core, source, toc);
  },
  loadTocForVerify: loadZstdChunkedToc,
  rules: zstdChunkedRules,
};

export const zstdChunked: Format = {
  name: "zstd:chunked",
  compression: "zstd",
  mediaType: OCI_LAYER_ZSTD,
  create: (core, input, { level, annotationKeys }) =>
    createZstdChunkedLayer(core, input, {
      ...(level === undefined ? {} : { level }),
      ...(annotationKeys === undefined ? {} : { annotationKeys }),
    }),
  seekable: zstdChunkedSeekable,
};
