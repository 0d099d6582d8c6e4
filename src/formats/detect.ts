/**
 * `detectLayerFormat(source: BlobSource, annotations?: Record<string, string>, options?)`
 *   → Promise<{ format: LayerFormat; compression: "gzip" | "zstd"; variant? }>
 *
 * Tells which layer format a blob is, from at most two small reads (the first bytes and the
 * last 72), asking the formats of ./registry.ts:
 * 1. the compression from the magic at offset 0 (gzip `1f 8b 08`; zstd frame `28 b5 2f fd` or a
 *    skippable frame `5? 2a 4d 18`);
 * 2. each seekable format of that compression, in registry order, looks at the descriptor's
 *    annotations and the tail (zstd:chunked: its annotations, current or old keys, or a footer
 *    v1, v2-broken or v3; stargz's zstd variant: the old keys next to the eStargz TOC digest;
 *    eStargz: a 51-byte or legacy 47-byte footer);
 * 3. otherwise the plain format of the compression (`zstd`, `gzip`).
 *
 * An uncompressed tar (`ustar` magic at offset 257, or a tar header whose checksum is right) is
 * refused with UNSUPPORTED_FORMAT (`details.detected = "tar"`): layerkit has no uncompressed layer
 * format; pass such a tar straight to `createLayer`. Other errors: TRUNCATED (blob shorter than a
 * magic), BAD_MAGIC (neither gzip nor zstd nor tar), INCONSISTENT (annotations of a seekable
 * format on a blob of the other compression, or an eStargz annotation without a footer), and the
 * footer parsers' BAD_FOOTER / OUT_OF_RANGE when a footer magic is present but its numbers are
 * wrong. Only the footer is looked at here: TOCs and digests are checked by the readers and by
 * verifyLayer.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import type { BlobSource } from "../source/blob-source.js";
import type { LayerFormat } from "../layer/result.js";
import type { LayerCompression } from "./format.js";
import { plainFormatOf, SEEKABLE_FORMATS } from "./registry.js";
import { isSkippableMagic } from "./zstd-chunked/footer.js";

export type { LayerCompression } from "./format.js";

/** What {@link detectLayerFormat} found. */
export interface DetectedLayerFormat {
  format: LayerFormat;
  compression: LayerCompression;
  /**
   * `estargz-zstd` for a zstd:chunked-framed blob whose annotations are stargz-snapshotter's
   * zstdchunked ones (old zstd:chunked keys next to the eStargz TOC digest); the TOC reader tells
   * the schemas apart for certain. Absent otherwise.
   */
  variant?: "estargz-zstd";
  /** What decided the format: the descriptor's annotations, the footer, or only the magic. */
  evidence: "annotations" | "footer" | "magic";
}

const GZIP_MAGIC = [0x1f, 0x8b, 0x08];
const ZSTD_MAGIC = 0xfd2fb528;
/** Enough of the head for the tar magic at 257 and the header checksum. */
const HEAD_SIZE = 512;

/** True when `head` starts with a ustar/GNU tar header, or a v7 header with a valid checksum. */
export function looksLikeTar(head: Uint8Array): boolean {
  if (head.length < 512) return false;
  const magic = String.fromCharCode(...head.subarray(257, 262));
  if (magic === "ustar") return true;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : head[i]!;
  const field = String.fromCharCode(...head.subarray(148, 156)).replace(/[\0 ]+$/, "").trim();
  return /^[0-7]{1,7}$/.test(field) && parseInt(field, 8) === sum && head[0] !== 0;
}

/** The compression named by the first bytes of a blob; throws TRUNCATED/BAD_MAGIC/UNSUPPORTED_FORMAT. */
export function compressionOfMagic(head: Uint8Array): LayerCompression {
  if (head.length >= 3 && GZIP_MAGIC.every((b, i) => head[i] === b)) return "gzip";
  if (head.length >= 4) {
    const u32 = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
    if (u32 === ZSTD_MAGIC || isSkippableMagic(u32)) return "zstd";
  }
  if (looksLikeTar(head)) {
    throw new LayerkitError(
      "UNSUPPORTED_FORMAT",
      "the blob is an uncompressed tar; layer blobs are gzip or zstd compressed: compress it into a layer first",
      {
        detected: "tar",
      },
    );
  }
  if (head.length < 4) {
    throw new LayerkitError("TRUNCATED", `blob of ${head.length} bytes is too short to be a layer`, { size: head.length });
  }
  throw new LayerkitError("BAD_MAGIC", "the blob is neither gzip nor zstd", {
    magic: Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" "),
  });
}

export interface DetectLayerFormatOptions {
  /** Bytes of the tail to read (default and minimum: the largest footer of any format, 72). */
  tailSize?: number;
}

/** The largest footer of any seekable format: the tail detection reads. */
const MAX_FOOTER = Math.max(...SEEKABLE_FORMATS.map((f) => f.footerSize));

/**
 * Detects the format of a layer blob; see the module doc for the rules and errors.
 *
 * @example
 * ```ts
 * const { format, compression } = await detectLayerFormat(memorySource(blob), descriptor.annotations);
 * ```
 */
export async function detectLayerFormat(
  source: BlobSource,
  annotations?: Record<string, string>,
  options: DetectLayerFormatOptions = {},
): Promise<DetectedLayerFormat> {
  const size = await source.size();
  const head = await source.read(0, Math.min(HEAD_SIZE, size));
  const compression = compressionOfMagic(head);
  const tailLength = Math.min(size, Math.max(MAX_FOOTER, options.tailSize ?? 0));
  const tail = size <= HEAD_SIZE ? head.subarray(size - tailLength) : await source.read(size - tailLength, tailLength);

  for (const other of SEEKABLE_FORMATS) {
    if (other.compression !== compression && other.locatesToc(annotations)) {
      throw new LayerkitError("INCONSISTENT", `the descriptor has ${other.name} annotations but the blob is ${compression}`, {
        compression,
      });
    }
  }
  const probe = { tail, blobSize: size, annotations };
  for (const f of SEEKABLE_FORMATS) {
    if (f.compression !== compression) continue;
    const evidence = f.detect(probe);
    if (evidence === undefined) continue;
    const out: DetectedLayerFormat = { format: f.layerFormat, compression, evidence };
    if (f.name !== f.layerFormat) out.variant = f.name as "estargz-zstd";
    return out;
  }
  return { format: plainFormatOf(compression).name, compression, evidence: "magic" };
}
