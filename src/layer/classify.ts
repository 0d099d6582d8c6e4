/**
 * Which producer wrote a "zstd:chunked" blob: the TOC schema (c/storage vs stargz-snapshotter's
 * eStargz JTOC) and the c/storage generation (docs/formats/zstd-chunked.md §9.3–§9.4).
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import type { ZstdChunkedAnnotations } from "../formats/zstd-chunked/annotations.js";
import type { ZstdChunkedFooter } from "../formats/zstd-chunked/footer.js";

export type TocFormat = "zstd:chunked" | "estargz-zstd";

/**
 * G1: c/storage 1.31–1.43 (old keys, footer v1) and stargz-snapshotter; G1b: 1.44–1.46 (current
 * keys, footer v1); G2: 1.47–1.49 (tar-split, footer v2-broken); G3: 1.50–1.53 (footer v3, no
 * `tarSplitDigest` in the TOC); G4: ≥ 1.54 (`tarSplitDigest` in the TOC).
 */
export type Generation = "G1" | "G1b" | "G2" | "G3" | "G4";

/** The estargz landmark entries stargz-snapshotter puts in every layer. */
export const ESTARGZ_LANDMARKS: ReadonlySet<string> = new Set([".prefetch.landmark", ".no.prefetch.landmark", "stargz.index.json"]);

/** The facts about TOC entries that tell the two schemas apart. */
export interface TocShape {
  /** `reg` entries with payload (size > 0). */
  payloadFiles: number;
  /** Of those, how many carry `endOffset` (c/storage always writes it; eStargz never). */
  withEndOffset: number;
  /** An estargz-only key (`userName`, `groupName`, `innerOffset`) or landmark name was seen. */
  estargzSignals: boolean;
  /** A c/storage-only key (`endOffset`, `accesstime`, `changetime`, `chunkType`, `tarSplitDigest`) was seen. */
  cstorageSignals: boolean;
}

/**
 * Classifies a TOC by the keys only one schema has: c/storage writes `endOffset` on every file
 * with payload (and `accesstime`/`changetime`/`chunkType`/`tarSplitDigest` depending on the
 * version); stargz-snapshotter writes landmark files, `userName`/`groupName` and never
 * `endOffset`. Signals of both schemas are BAD_TOC. With neither, the layout decides: Go's
 * `MarshalIndent` (eStargz) starts "{\n", c/storage's JSON is compact.
 */
export function classifyToc(shape: TocShape, jsonText: string): TocFormat {
  const cstorage = shape.cstorageSignals || shape.withEndOffset > 0;
  if (cstorage && shape.estargzSignals) {
    throw new LayerkitError(
      "BAD_TOC",
      "TOC mixes c/storage-only keys (endOffset, accesstime, …) with eStargz-only ones (userName, landmarks, innerOffset)",
      {
        payloadFiles: shape.payloadFiles,
        withEndOffset: shape.withEndOffset,
      },
    );
  }
  if (cstorage) return "zstd:chunked";
  if (shape.estargzSignals) return "estargz-zstd";
  return /^\s*\{\s*\n/.test(jsonText.slice(0, 16)) ? "estargz-zstd" : "zstd:chunked";
}

/** Generation per docs/formats/zstd-chunked.md §9.3, from what the blob and its annotations show. */
export function detectGeneration(input: {
  format: TocFormat;
  annotations?: ZstdChunkedAnnotations | undefined;
  footer?: ZstdChunkedFooter | undefined;
  tarSplitDigestInToc: boolean;
  tarSplitPosition: boolean;
}): Generation {
  const { format, annotations, footer } = input;
  if (format === "estargz-zstd") return "G1";
  if (input.tarSplitDigestInToc) return "G4";
  if (footer?.version === "v3") return "G3";
  if (footer?.version === "v2-broken") return "G2";
  if (annotations?.tarSplitChecksum !== undefined || input.tarSplitPosition) {
    // Tar-split without a v3 footer: 1.47–1.49 wrote v2-broken; with no footer seen, say G2
    // only when the footer is known to be v1-sized, else the later generation.
    return footer ? "G2" : "G3";
  }
  if (annotations?.keys === "current") return "G1b";
  return "G1";
}
