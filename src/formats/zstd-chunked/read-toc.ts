/**
 * Finding, authenticating and parsing the TOC of a zstd:chunked blob (docs/formats/zstd-chunked.md §7,
 * §10), for c/storage's schema and stargz-snapshotter's eStargz-JTOC variant.
 *
 * With annotations the TOC position comes from `manifest-position` and the TOC digest must match
 * `manifest-checksum` (else DIGEST_MISMATCH). Without them the footer is probed and the result says
 * `authenticated: false`. The TOC, tar-split and footer sit together at the end of the blob, so in
 * the usual layout everything is fetched with one single-range read.
 *
 * @module
 */
import { type Core, digestOf, getCore } from "../../core.js";
import { isLayerkitError, LayerkitError } from "../../errors.js";
import { type BlobSource, readRanges } from "../../source/blob-source.js";
import { concatBytes } from "../../util/bytes.js";
import {
  type ManifestPosition,
  parseDigest,
  type Position,
  readZstdChunkedAnnotations,
  type ZstdChunkedAnnotations,
} from "./annotations.js";
import { ANNOTATION_ESTARGZ_TOC_DIGEST, MAX_TOC_SIZE } from "../../layer/annotations.js";
import { detectGeneration, type Generation, type TocFormat } from "../../layer/classify.js";
import {
  detectFooterVersion,
  isSkippableMagic,
  MAX_FOOTER_FRAME_SIZE,
  parseFooter,
  SKIPPABLE_HEADER_SIZE,
  type ZstdChunkedFooter,
} from "./footer.js";
import { parseToc, type RawToc, type TocFile } from "../../layer/toc-parse.js";

export interface ReadTocOptions {
  /** The layer descriptor's annotations. With a zstd:chunked TOC digest, the TOC is authenticated. */
  annotations?: Record<string, string>;
  /** WASM core (zstd, sha256); default {@link getCore}. */
  core?: Core;
  /** Limit for the compressed and the uncompressed TOC (default 150 MiB, upstream's). */
  maxTocSize?: number;
  /** Bytes read from the end when probing for the footer (default 64 KiB; at least 72). */
  probeSize?: number;
  /** Also fetch, verify and decompress the tar-split (G2+), into `tarSplit`. */
  tarSplit?: boolean;
  /** Limit for the decompressed tar-split (default 1 GiB; upstream has none). */
  maxTarSplitSize?: number;
}

export interface ReadTocResult {
  /** `estargz-zstd`: stargz-snapshotter's zstdchunked (eStargz JTOC in zstd:chunked framing). */
  format: TocFormat;
  generation: Generation;
  /** The TOC as parsed (canonical key names). */
  toc: RawToc;
  /** Non-chunk entries with typed metadata; regular files with payload carry their chunk ranges. */
  entries: TocFile[];
  /** sha256 of the compressed TOC bytes (what `manifest-checksum` names). */
  tocDigest: string;
  /** True when the TOC matched a digest from the annotations; false when only the footer was used. */
  authenticated: boolean;
  /** Where the compressed TOC is (offset past its skippable header). */
  tocPosition: ManifestPosition;
  /** Where the compressed tar-split is (G2+), from the annotations or the v3 footer. */
  tarSplitPosition?: Position;
  /** `tarSplitDigest` from the TOC (G4): sha256 of the compressed tar-split. */
  tarSplitDigest?: string;
  /** The decompressed tar-split JSON lines, when `options.tarSplit` was set and the blob has one. */
  tarSplit?: Uint8Array;
  footer?: ZstdChunkedFooter;
  /** What the annotations said, when they had zstd:chunked keys. */
  annotations?: ZstdChunkedAnnotations;
  /** eStargz TOC digest (sha256 of the uncompressed JSON), for `estargz-zstd`. */
  estargzTocDigest?: string;
  blobSize: number;
  /** End of the payload area: every payload range lies before it (the first metadata frame). */
  payloadEnd: number;
}

/** Bytes of the blob we already hold, as `[offset, bytes]` pieces. */
class Pieces {
  readonly list: { offset: number; bytes: Uint8Array }[] = [];
  add(offset: number, bytes: Uint8Array): void {
    this.list.push({ offset, bytes });
  }
  get(offset: number, length: number): Uint8Array | undefined {
    for (const p of this.list) {
      if (offset >= p.offset && offset + length <= p.offset + p.bytes.length) {
        return p.bytes.subarray(offset - p.offset, offset - p.offset + length);
      }
    }
    return undefined;
  }
  async fetch(source: BlobSource, offset: number, length: number): Promise<Uint8Array> {
    const have = this.get(offset, length);
    if (have) return have;
    const bytes = await source.read(offset, length);
    this.add(offset, bytes);
    return bytes;
  }
}

const DEFAULT_PROBE = 64 * 1024;
/**
 * Bytes past the TOC frame (besides the footer) a TOC-only read may fetch to get the footer in the
 * same request: a lazy single-file read must not cost more than file + TOC + footer + 1 KiB, so a
 * bigger tar-split is left out and the footer read on its own.
 */
const SMALL_TAIL = 1024;

/**
 * Reads and validates the TOC of a zstd:chunked (or stargz zstdchunked) blob.
 *
 * Errors (LayerkitError codes): TRUNCATED (blob too small), BAD_MAGIC / BAD_FOOTER (no or broken
 * footer when probing), BAD_ANNOTATION (malformed or ambiguous annotations), OUT_OF_RANGE (positions
 * outside the blob, unsafe numbers), LIMIT_EXCEEDED (TOC over the limit), BAD_TOC (TOC frame,
 * JSON or structure), DIGEST_MISMATCH (TOC or tar-split digest), SIZE_MISMATCH (decompressed size
 * ≠ declared), INCONSISTENT (footer and annotations disagree), UNSAFE_PATH, ZSTD_* (corrupt frames),
 * and the source's own errors.
 */
export async function readToc(source: BlobSource, options: ReadTocOptions = {}): Promise<ReadTocResult> {
  const maxToc = options.maxTocSize ?? MAX_TOC_SIZE;
  const probe = Math.max(MAX_FOOTER_FRAME_SIZE, options.probeSize ?? DEFAULT_PROBE);
  const blobSize = await source.size();
  const ann = readZstdChunkedAnnotations(options.annotations, { blobSize, maxLength: maxToc });
  // Only the eStargz key (no zstd:chunked key): it can still authenticate an estargz-zstd TOC.
  const estargzOnly =
    !ann && options.annotations && Object.prototype.hasOwnProperty.call(options.annotations, ANNOTATION_ESTARGZ_TOC_DIGEST)
      ? parseDigest(options.annotations[ANNOTATION_ESTARGZ_TOC_DIGEST]!, ANNOTATION_ESTARGZ_TOC_DIGEST)
      : undefined;

  const pieces = new Pieces();
  let footer: ZstdChunkedFooter | undefined;
  let tocPosition: ManifestPosition;

  if (ann?.manifestPosition) {
    tocPosition = ann.manifestPosition;
    const start = tocPosition.offset - SKIPPABLE_HEADER_SIZE;
    const ts = ann.tarSplitPosition;
    const tsSpan = ts && ts.offset > tocPosition.offset ? ts.length + SKIPPABLE_HEADER_SIZE : 0;
    const tocFrame = tocPosition.length + SKIPPABLE_HEADER_SIZE;
    const budget = options.tarSplit ? tocFrame + tsSpan + probe : tocFrame + MAX_FOOTER_FRAME_SIZE + SMALL_TAIL;
    if (blobSize - start <= budget) {
      pieces.add(start, await source.read(start, blobSize - start));
    } else {
      // Unusual layout or a tar-split we were not asked for: the TOC frame and the footer (one
      // multi-range request where the source can).
      const n = Math.min(MAX_FOOTER_FRAME_SIZE, blobSize);
      const [frame, tail] = await readRanges(source, [
        { offset: start, length: tocFrame },
        { offset: blobSize - n, length: n },
      ]);
      pieces.add(start, frame!);
      pieces.add(blobSize - n, tail!);
    }
    footer = optionalFooter(pieces, blobSize);
    if (footer) crossCheckFooter(footer, tocPosition, ann.tarSplitPosition);
  } else {
    const n = Math.min(probe, blobSize);
    const tail = await source.read(blobSize - n, n);
    pieces.add(blobSize - n, tail);
    footer = parseFooter(tail, blobSize);
    if (footer.tocLength > maxToc || footer.tocUncompressedLength > maxToc) {
      throw new LayerkitError(
        "LIMIT_EXCEEDED",
        `footer declares a TOC of ${footer.tocLength} compressed / ${footer.tocUncompressedLength} uncompressed bytes, limit ${maxToc}`,
        {
          tocLength: footer.tocLength,
          tocUncompressedLength: footer.tocUncompressedLength,
          limit: maxToc,
        },
      );
    }
    tocPosition = { offset: footer.tocOffset, length: footer.tocLength, uncompressedLength: footer.tocUncompressedLength, type: 1 };
    // One more request: the TOC frame (and the tar-split after it, only when asked for), so a
    // lazy read never pays for a tar-split it does not use. A range reaching the probed tail is
    // joined with it, so frames straddling the two stay in one piece.
    const start = tocPosition.offset - SKIPPABLE_HEADER_SIZE;
    const tailStart = blobSize - n;
    if (start < tailStart) {
      const end = Math.min(options.tarSplit ? blobSize : tocPosition.offset + tocPosition.length, tailStart);
      const head = await source.read(start, end - start);
      pieces.add(start, end === tailStart ? concatBytes([head, tail]) : head);
    }
  }

  const tarSplitPosition: Position | undefined = ann?.tarSplitPosition ??
    (footer?.tarSplitOffset !== undefined
      ? { offset: footer.tarSplitOffset, length: footer.tarSplitLength!, uncompressedLength: footer.tarSplitUncompressedLength! }
      : undefined);

  // The TOC must be exactly the payload of a skippable frame.
  const tocStart = tocPosition.offset - SKIPPABLE_HEADER_SIZE;
  const header = await pieces.fetch(source, tocStart, SKIPPABLE_HEADER_SIZE);
  checkFrameHeader(header, tocPosition, "TOC", "BAD_TOC");
  const compressed = await pieces.fetch(source, tocPosition.offset, tocPosition.length);

  const core = options.core ?? (await getCore());
  const tocDigest = digestOf(core, compressed);
  if (ann && tocDigest !== ann.tocDigest) {
    throw new LayerkitError("DIGEST_MISMATCH", `TOC digest ${tocDigest} does not match the manifest-checksum annotation ${ann.tocDigest}`, {
      expected: ann.tocDigest,
      actual: tocDigest,
      what: "toc",
    });
  }
  const json = decompressExact(core, compressed, tocPosition.uncompressedLength, "TOC", maxToc);

  let payloadEnd = tocStart;
  if (tarSplitPosition && tarSplitPosition.offset - SKIPPABLE_HEADER_SIZE < payloadEnd) {
    payloadEnd = tarSplitPosition.offset - SKIPPABLE_HEADER_SIZE;
  }
  const parsed = parseToc(json, { payloadEnd });

  const result: ReadTocResult = {
    format: parsed.format,
    generation: "G1",
    toc: parsed.toc,
    entries: parsed.files,
    tocDigest,
    authenticated: ann !== undefined,
    tocPosition,
    blobSize,
    payloadEnd,
  };
  if (footer) result.footer = footer;
  if (ann) result.annotations = ann;
  if (tarSplitPosition) result.tarSplitPosition = tarSplitPosition;
  if (parsed.toc.tarSplitDigest) result.tarSplitDigest = parsed.toc.tarSplitDigest;

  if (parsed.format === "estargz-zstd") {
    result.estargzTocDigest = digestOf(core, json);
    const expected = ann?.estargzTocDigest ?? estargzOnly;
    if (expected !== undefined) {
      if (expected !== result.estargzTocDigest) {
        throw new LayerkitError(
          "DIGEST_MISMATCH",
          `eStargz TOC digest ${result.estargzTocDigest} does not match the ${ANNOTATION_ESTARGZ_TOC_DIGEST} annotation ${expected}`,
          {
            expected,
            actual: result.estargzTocDigest,
            what: "estargz-toc",
          },
        );
      }
      result.authenticated = true;
    }
  }

  if (result.tarSplitDigest && !tarSplitPosition) {
    throw new LayerkitError("INCONSISTENT", "the TOC names a tar-split digest but the layer has no tar-split position", {
      tarSplitDigest: result.tarSplitDigest,
    });
  }
  result.generation = detectGeneration({
    format: parsed.format,
    annotations: ann,
    footer,
    tarSplitDigestInToc: result.tarSplitDigest !== undefined,
    tarSplitPosition: tarSplitPosition !== undefined,
  });

  if (options.tarSplit && tarSplitPosition) {
    const tsOptions: ReadTarSplitOptions = { core };
    if (options.maxTarSplitSize !== undefined) tsOptions.maxSize = options.maxTarSplitSize;
    result.tarSplit = await readTarSplitWith(pieces, source, result, tsOptions);
  }
  return result;
}

export interface ReadTarSplitOptions {
  core?: Core;
  /** Limit for the decompressed tar-split (default 1 GiB). */
  maxSize?: number;
}

/**
 * Fetches, checks and decompresses the tar-split described by a {@link readToc} result. Its
 * compressed digest must match the TOC's `tarSplitDigest` (G4), or else the deprecated
 * `tarsplit-checksum` annotation when present (G2/G3; not covered by the TOC digest).
 * Errors: NOT_FOUND (no tar-split), BAD_TOC (frame), DIGEST_MISMATCH, SIZE_MISMATCH, LIMIT_EXCEEDED.
 */
export async function readTarSplit(
  source: BlobSource,
  toc: Pick<ReadTocResult, "tarSplitPosition" | "tarSplitDigest" | "annotations">,
  options: ReadTarSplitOptions = {},
): Promise<Uint8Array> {
  return readTarSplitWith(new Pieces(), source, toc, options);
}

async function readTarSplitWith(
  pieces: Pieces,
  source: BlobSource,
  toc: Pick<ReadTocResult, "tarSplitPosition" | "tarSplitDigest" | "annotations">,
  options: ReadTarSplitOptions,
): Promise<Uint8Array> {
  const pos = toc.tarSplitPosition;
  if (!pos) throw new LayerkitError("NOT_FOUND", "the layer has no tar-split", {});
  const max = options.maxSize ?? 1024 * 1024 * 1024;
  if (pos.uncompressedLength > max) {
    throw new LayerkitError("LIMIT_EXCEEDED", `tar-split of ${pos.uncompressedLength} bytes exceeds the limit ${max}`, {
      uncompressedLength: pos.uncompressedLength,
      limit: max,
    });
  }
  const header = await pieces.fetch(source, pos.offset - SKIPPABLE_HEADER_SIZE, SKIPPABLE_HEADER_SIZE);
  checkFrameHeader(header, pos, "tar-split", "BAD_TOC");
  const compressed = await pieces.fetch(source, pos.offset, pos.length);
  const core = options.core ?? (await getCore());
  const expected = toc.tarSplitDigest ?? toc.annotations?.tarSplitChecksum;
  if (expected !== undefined) {
    const actual = digestOf(core, compressed);
    if (actual !== expected) {
      throw new LayerkitError("DIGEST_MISMATCH", `tar-split digest ${actual} does not match ${expected}`, {
        expected,
        actual,
        what: "tar-split",
      });
    }
  }
  return decompressExact(core, compressed, pos.uncompressedLength, "tar-split", max);
}

/** In annotation mode the footer is optional: parse it when one is there. */
function optionalFooter(pieces: Pieces, blobSize: number): ZstdChunkedFooter | undefined {
  const n = Math.min(MAX_FOOTER_FRAME_SIZE, blobSize);
  const tail = pieces.get(blobSize - n, n);
  if (!tail || !detectFooterVersion(tail)) return undefined;
  try {
    return parseFooter(tail, blobSize);
  } catch (e) {
    // Upstream never reads the footer when it has annotations; a malformed one is not fatal.
    if (isLayerkitError(e)) return undefined;
    throw e;
  }
}

function crossCheckFooter(footer: ZstdChunkedFooter, toc: Position, tarSplit: Position | undefined): void {
  if (footer.tocOffset !== toc.offset || footer.tocLength !== toc.length || footer.tocUncompressedLength !== toc.uncompressedLength) {
    throw new LayerkitError("INCONSISTENT", "the footer and the manifest-position annotation give different TOC positions", {
      footer: `${footer.tocOffset}:${footer.tocLength}:${footer.tocUncompressedLength}`,
      annotation: `${toc.offset}:${toc.length}:${toc.uncompressedLength}`,
    });
  }
  if (tarSplit && footer.tarSplitOffset !== undefined) {
    if (
      footer.tarSplitOffset !== tarSplit.offset || footer.tarSplitLength !== tarSplit.length ||
      footer.tarSplitUncompressedLength !== tarSplit.uncompressedLength
    ) {
      throw new LayerkitError("INCONSISTENT", "the footer and the tarsplit-position annotation give different tar-split positions", {
        footer: `${footer.tarSplitOffset}:${footer.tarSplitLength}:${footer.tarSplitUncompressedLength}`,
        annotation: `${tarSplit.offset}:${tarSplit.length}:${tarSplit.uncompressedLength}`,
      });
    }
  }
}

function checkFrameHeader(header: Uint8Array, pos: Position, what: string, code: "BAD_TOC"): void {
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const magic = view.getUint32(0, true);
  const len = view.getUint32(4, true);
  if (!isSkippableMagic(magic) || len !== pos.length) {
    throw new LayerkitError(code, `the ${what} at ${pos.offset} is not the payload of a ${pos.length}-byte skippable frame`, {
      what,
      offset: pos.offset,
      length: pos.length,
      frameMagic: "0x" + magic.toString(16),
      frameLength: len,
    });
  }
}

/** Decompresses `data`, which must produce exactly `expected` bytes (≤ `max`). */
function decompressExact(core: Core, data: Uint8Array, expected: number, what: string, max: number): Uint8Array {
  if (expected > max) {
    throw new LayerkitError("LIMIT_EXCEEDED", `${what} declares ${expected} uncompressed bytes, limit ${max}`, {
      what,
      uncompressedLength: expected,
      limit: max,
    });
  }
  let out: Uint8Array;
  try {
    // One byte of headroom so a longer output is seen as a size mismatch, not only as a limit.
    out = core.zstd.decompress(data, { maxOutput: expected + 1 });
  } catch (e) {
    if (isLayerkitError(e, "ZSTD_FRAME_TOO_LARGE")) {
      throw new LayerkitError("SIZE_MISMATCH", `${what} decompresses to more than the declared ${expected} bytes`, { what, expected }, {
        cause: e,
      });
    }
    if (isLayerkitError(e)) throw new LayerkitError(e.code, `${what}: ${e.message}`, { ...e.details, what }, { cause: e });
    throw e;
  }
  if (out.length !== expected) {
    throw new LayerkitError("SIZE_MISMATCH", `${what} decompresses to ${out.length} bytes, declared ${expected}`, {
      what,
      expected,
      actual: out.length,
    });
  }
  return out;
}
