/**
 * Taking a seekable layer apart (payload, TOC JSON, tar-split frame) and sealing it again after a
 * mutation: new TOC frame or member, footer, and the descriptor annotations that authenticate the
 * TOC. A sealed input passes every digest check, so the mutation reaches the code behind them.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Core } from "../../src/core.js";
import { buildFooter as buildEstargzFooter } from "../../src/formats/estargz/footer.js";
import { readEstargzToc } from "../../src/formats/estargz/reader.js";
import { formatZstdChunkedAnnotations } from "../../src/formats/zstd-chunked/annotations.js";
import { buildFooterV3, buildSkippableFrame, SKIPPABLE_HEADER_SIZE } from "../../src/formats/zstd-chunked/footer.js";
import { readToc } from "../../src/formats/zstd-chunked/read-toc.js";
import { gzipMember } from "../../src/gzip/index.js";
import { ANNOTATION_ESTARGZ_TOC_DIGEST } from "../../src/layer/annotations.js";
import { MemorySource } from "../../src/source/memory.js";
import { buildTar } from "../../src/tar/index.js";
import type { BaseLayer } from "./samples.js";

export const sha = (b: Uint8Array): string => "sha256:" + createHash("sha256").update(b).digest("hex");
const enc = new TextEncoder();
const dec = new TextDecoder();

export type TocEntryJson = Record<string, unknown>;

/** A seekable layer in pieces. */
export interface SeekableParts {
  format: "zstd:chunked" | "estargz";
  /** Everything before the TOC (zstd:chunked: before its skippable frame). */
  payload: Uint8Array;
  toc: { version: number; entries: TocEntryJson[]; [k: string]: unknown };
  /** zstd:chunked: the tar-split's skippable frame and its uncompressed length. */
  tarSplit?: { frame: Uint8Array; uncompressedLength: number };
}

export async function split(core: Core, base: BaseLayer): Promise<SeekableParts> {
  const source = new MemorySource(base.blob);
  if (base.format === "zstd:chunked") {
    const t = await readToc(source, { core, annotations: base.annotations });
    const ts = t.tarSplitPosition!;
    const tocJson = core.zstd.decompress(base.blob.subarray(t.tocPosition.offset, t.tocPosition.offset + t.tocPosition.length));
    return {
      format: "zstd:chunked",
      payload: base.blob.slice(0, t.payloadEnd),
      toc: JSON.parse(dec.decode(tocJson)),
      tarSplit: {
        frame: base.blob.slice(ts.offset - SKIPPABLE_HEADER_SIZE, ts.offset + ts.length),
        uncompressedLength: ts.uncompressedLength,
      },
    };
  }
  if (base.format !== "estargz") throw new Error(`${base.format} is not seekable`);
  const r = await readEstargzToc(source, { core });
  return { format: "estargz", payload: base.blob.slice(0, r.tocOffset), toc: JSON.parse(dec.decode(r.tocJson)) };
}

export interface Sealed {
  blob: Uint8Array;
  annotations: Record<string, string>;
}

/** Seals `parts` (with `tocText` instead of the TOC object when given: JSON-level mutations). */
export function seal(core: Core, parts: SeekableParts, tocText?: Uint8Array): Sealed {
  const json = tocText ?? enc.encode(JSON.stringify(parts.toc));
  const payloadEnd = parts.payload.length;
  if (parts.format === "estargz") {
    const tocTar = buildTar([{ name: "stargz.index.json", data: json, mtime: 0 }]);
    const blob = concat([parts.payload, gzipMember(tocTar, 1), buildEstargzFooter(payloadEnd)]);
    return { blob, annotations: { [ANNOTATION_ESTARGZ_TOC_DIGEST]: sha(json) } };
  }
  const compressed = core.zstd.compress(json, { level: 1 });
  const tocOffset = payloadEnd + SKIPPABLE_HEADER_SIZE;
  const ts = parts.tarSplit!;
  const tsOffset = tocOffset + compressed.length + SKIPPABLE_HEADER_SIZE;
  const tsLength = ts.frame.length - SKIPPABLE_HEADER_SIZE;
  const footer = buildFooterV3({
    tocOffset,
    tocLength: compressed.length,
    tocUncompressedLength: json.length,
    tarSplitOffset: tsOffset,
    tarSplitLength: tsLength,
    tarSplitUncompressedLength: ts.uncompressedLength,
  });
  const blob = concat([parts.payload, buildSkippableFrame(compressed), ts.frame, footer]);
  const annotations = formatZstdChunkedAnnotations({
    tocDigest: sha(compressed),
    manifestPosition: { offset: tocOffset, length: compressed.length, uncompressedLength: json.length },
    tarSplitPosition: { offset: tsOffset, length: tsLength, uncompressedLength: ts.uncompressedLength },
  });
  return { blob, annotations };
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Shifts every TOC offset at or after `from` by `delta` (the payload grew or shrank there). */
export function shiftOffsets(toc: SeekableParts["toc"], from: number, delta: number): void {
  for (const e of toc.entries) {
    for (const k of ["offset", "endOffset"]) {
      const v = e[k];
      if (typeof v === "number" && v > 0 && v >= from) e[k] = v + delta;
    }
  }
}
