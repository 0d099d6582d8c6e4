/**
 * stargz-snapshotter's `zstdchunked`: eStargz's JTOC in zstd:chunked framing (TOC in a skippable
 * frame, zstd:chunked's footer, the old zstd:chunked annotation keys next to the eStargz TOC
 * digest). Read with the zstd:chunked reader; its TOC follows eStargz's rules. layerkit does not
 * write it.
 *
 * @module
 */
import { readZstdChunkedAnnotations } from "../zstd-chunked/annotations.js";
import { zstdChunkedSeekable } from "../zstd-chunked/format.js";
import { loadZstdChunkedToc } from "../zstd-chunked/verify-toc.js";
import { jtocRules } from "../estargz/rules.js";
import type { SeekableFormat } from "../format.js";

export const estargzZstdSeekable: SeekableFormat = {
  name: "estargz-zstd",
  layerFormat: "zstd:chunked",
  compression: "zstd",
  footerSize: zstdChunkedSeekable.footerSize,
  // Only its annotations tell it apart before the TOC is read; by footer it is zstd:chunked, and
  // the TOC reader then classifies the schema for certain.
  detect({ blobSize, annotations }) {
    const a = readZstdChunkedAnnotations(annotations, { blobSize });
    return a?.keys === "old" && a.estargzTocDigest !== undefined ? "annotations" : undefined;
  },
  locatesToc: zstdChunkedSeekable.locatesToc,
  openIndex: zstdChunkedSeekable.openIndex,
  loadTocForVerify: loadZstdChunkedToc,
  rules: jtocRules,
};
