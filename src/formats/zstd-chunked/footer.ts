/**
 * zstd:chunked footers (docs/formats/zstd-chunked.md §1.3–§1.4): the payload of the last skippable frame.
 *
 * | version     | frame | payload | magic at          | written by                                        |
 * | ----------- | ----- | ------- | ----------------- | ------------------------------------------------- |
 * | `v1`        | 48    | 40      | end-8, `GnUlInUx` | c/storage 1.31–1.46, stargz-snapshotter zstdchunked |
 * | `v2-broken` | 64    | 56      | end-24, `GnUlInUx`, then 16 zero bytes | c/storage 1.47–1.49          |
 * | `v3`        | 72    | 64      | end-8, `GNUlInUx` | c/storage ≥ 1.50                                  |
 *
 * All integers are u64 little-endian; offsets point past the 8-byte skippable-frame header.
 *
 * @module
 */
import { LayerkitError } from "../../errors.js";

/** zstd skippable-frame magic upstream writes (`50 2A 4D 18`); any `0x184D2A5?` is skippable. */
export const SKIPPABLE_MAGIC = 0x184d2a50;
export const SKIPPABLE_HEADER_SIZE = 8;

/** `GnUlInUx`: footer v1 and v2-broken. */
export const FOOTER_MAGIC_V1 = new Uint8Array([0x47, 0x6e, 0x55, 0x6c, 0x49, 0x6e, 0x55, 0x78]);
/** `GNUlInUx`: footer v3. */
export const FOOTER_MAGIC_V3 = new Uint8Array([0x47, 0x4e, 0x55, 0x6c, 0x49, 0x6e, 0x55, 0x78]);

export const FOOTER_V1_FRAME_SIZE = 48;
export const FOOTER_V2_FRAME_SIZE = 64;
export const FOOTER_V3_FRAME_SIZE = 72;
/** Bytes at the end of a blob that cover every footer layout. */
export const MAX_FOOTER_FRAME_SIZE = 72;

/** Manifest type "CRFS", the only one defined. */
export const MANIFEST_TYPE_CRFS = 1;

export type FooterVersion = "v1" | "v2-broken" | "v3";

export interface ZstdChunkedFooter {
  version: FooterVersion;
  /** Size of the footer's skippable frame, header included (48, 64 or 72). */
  frameSize: number;
  /** Absolute offset of the compressed TOC (past its skippable header). */
  tocOffset: number;
  tocLength: number;
  tocUncompressedLength: number;
  manifestType: number;
  /** v3 only. */
  tarSplitOffset?: number;
  tarSplitLength?: number;
  tarSplitUncompressedLength?: number;
}

/** True when `u32` (read little-endian) is a zstd skippable-frame magic `0x184D2A50..5F`. */
export function isSkippableMagic(u32: number): boolean {
  return (u32 & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC;
}

function equalBytes(a: Uint8Array, off: number, b: Uint8Array): boolean {
  if (off < 0 || off + b.length > a.length) return false;
  for (let i = 0; i < b.length; i++) if (a[off + i] !== b[i]) return false;
  return true;
}

function u32(view: DataView, at: number): number {
  return view.getUint32(at, true);
}

/** Reads a u64 LE and insists it is a safe integer (else OUT_OF_RANGE naming `field`). */
function u64(view: DataView, at: number, field: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new LayerkitError("OUT_OF_RANGE", `footer field ${field} = ${v} is not a safe integer`, { field, value: v.toString() });
  }
  return Number(v);
}

/**
 * Recognises which footer (if any) ends `tail`, the last bytes of a blob, without validating the
 * numbers. Returns undefined when no footer magic is present.
 */
export function detectFooterVersion(tail: Uint8Array): FooterVersion | undefined {
  const n = tail.length;
  if (n >= FOOTER_V3_FRAME_SIZE && equalBytes(tail, n - 8, FOOTER_MAGIC_V3)) return "v3";
  if (n >= FOOTER_V1_FRAME_SIZE && equalBytes(tail, n - 8, FOOTER_MAGIC_V1)) return "v1";
  if (n >= FOOTER_V2_FRAME_SIZE && equalBytes(tail, n - 24, FOOTER_MAGIC_V1) && tail.subarray(n - 16).every((b) => b === 0)) {
    return "v2-broken";
  }
  return undefined;
}

/**
 * Parses the footer at the end of `tail` (the last bytes of a blob of `blobSize` bytes; at least
 * 48, ideally {@link MAX_FOOTER_FRAME_SIZE}) and checks every number against the blob:
 * the skippable header in front of the footer, manifest type 1, the TOC (and v3 tar-split) inside
 * the blob before the footer, the tar-split after the TOC.
 *
 * Errors: TRUNCATED (blob too small for any footer), BAD_MAGIC (no footer magic), BAD_FOOTER
 * (magic present but frame header, type or layout wrong), OUT_OF_RANGE (numbers outside the blob
 * or unsafe).
 */
export function parseFooter(tail: Uint8Array, blobSize: number = tail.length): ZstdChunkedFooter {
  if (!Number.isSafeInteger(blobSize) || blobSize < tail.length) {
    throw new LayerkitError("BAD_ARGUMENT", `blob size ${blobSize} is smaller than the tail given (${tail.length})`, {
      blobSize,
      tail: tail.length,
    });
  }
  if (blobSize < FOOTER_V1_FRAME_SIZE || tail.length < FOOTER_V1_FRAME_SIZE) {
    throw new LayerkitError("TRUNCATED", `blob of ${blobSize} bytes is too small for a zstd:chunked footer (48 bytes at least)`, {
      blobSize,
      tail: tail.length,
    });
  }
  const version = detectFooterVersion(tail);
  if (!version) {
    const last = tail.subarray(tail.length - 8);
    throw new LayerkitError("BAD_MAGIC", "no zstd:chunked footer magic (GnUlInUx / GNUlInUx) at the end of the blob", {
      last8: hex(last),
    });
  }
  const frameSize = version === "v3" ? FOOTER_V3_FRAME_SIZE : version === "v2-broken" ? FOOTER_V2_FRAME_SIZE : FOOTER_V1_FRAME_SIZE;
  const frame = tail.subarray(tail.length - frameSize);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const magic = u32(view, 0);
  const payloadLen = u32(view, 4);
  if (!isSkippableMagic(magic) || payloadLen !== frameSize - SKIPPABLE_HEADER_SIZE) {
    throw new LayerkitError("BAD_FOOTER", `footer ${version} is not inside a skippable frame of ${frameSize - 8} bytes`, {
      version,
      frameMagic: "0x" + magic.toString(16),
      frameLength: payloadLen,
    });
  }
  const p = SKIPPABLE_HEADER_SIZE;
  const footer: ZstdChunkedFooter = {
    version,
    frameSize,
    tocOffset: u64(view, p, "tocOffset"),
    tocLength: u64(view, p + 8, "tocLength"),
    tocUncompressedLength: u64(view, p + 16, "tocUncompressedLength"),
    manifestType: u64(view, p + 24, "manifestType"),
  };
  if (footer.manifestType !== MANIFEST_TYPE_CRFS) {
    throw new LayerkitError("BAD_FOOTER", `footer manifest type ${footer.manifestType}, expected 1`, {
      version,
      manifestType: footer.manifestType,
    });
  }
  const footerStart = blobSize - frameSize;
  checkSpan("TOC", footer.tocOffset, footer.tocLength, footerStart, version);
  if (version === "v3") {
    const tsOffset = u64(view, p + 32, "tarSplitOffset");
    const tsLength = u64(view, p + 40, "tarSplitLength");
    const tsUncompressed = u64(view, p + 48, "tarSplitUncompressedLength");
    if (tsOffset !== 0 || tsLength !== 0 || tsUncompressed !== 0) {
      checkSpan("tar-split", tsOffset, tsLength, footerStart, version);
      if (tsOffset < footer.tocOffset + footer.tocLength + SKIPPABLE_HEADER_SIZE) {
        throw new LayerkitError(
          "OUT_OF_RANGE",
          `footer tar-split offset ${tsOffset} overlaps the TOC (${footer.tocOffset}+${footer.tocLength})`,
          {
            version,
            tarSplitOffset: tsOffset,
            tocOffset: footer.tocOffset,
            tocLength: footer.tocLength,
          },
        );
      }
      footer.tarSplitOffset = tsOffset;
      footer.tarSplitLength = tsLength;
      footer.tarSplitUncompressedLength = tsUncompressed;
    }
  }
  return footer;
}

/** A skippable frame's payload `[offset, offset+length)` must follow its 8-byte header and end by `limit`. */
function checkSpan(what: string, offset: number, length: number, limit: number, version: FooterVersion): void {
  if (offset < SKIPPABLE_HEADER_SIZE || length === 0 || offset + length > limit) {
    throw new LayerkitError(
      "OUT_OF_RANGE",
      `footer ${what} range ${offset}+${length} is not inside the blob before the footer (${limit})`,
      {
        version,
        what,
        offset,
        length,
        limit,
      },
    );
  }
}

/** The 8-byte header of a skippable frame (magic `50 2A 4D 18`, u32le length) of `length` bytes. */
export function skippableFrameHeader(length: number): Uint8Array {
  if (length > 0xffffffff) {
    throw new LayerkitError("LIMIT_EXCEEDED", `skippable frame payload of ${length} bytes exceeds 4 GiB`, { length });
  }
  const out = new Uint8Array(SKIPPABLE_HEADER_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, SKIPPABLE_MAGIC, true);
  view.setUint32(4, length, true);
  return out;
}

/** Wraps `payload` in a skippable frame. */
export function buildSkippableFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(SKIPPABLE_HEADER_SIZE + payload.length);
  out.set(skippableFrameHeader(payload.length));
  out.set(payload, SKIPPABLE_HEADER_SIZE);
  return out;
}

export interface FooterFields {
  tocOffset: number;
  tocLength: number;
  tocUncompressedLength: number;
  tarSplitOffset: number;
  tarSplitLength: number;
  tarSplitUncompressedLength: number;
}

function putU64(view: DataView, at: number, v: number, field: string): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new LayerkitError("BAD_ARGUMENT", `footer field ${field} = ${v} is not a non-negative safe integer`, { field, value: v });
  }
  view.setBigUint64(at, BigInt(v), true);
}

/** The 72-byte footer v3 frame (skippable header included) the current writer appends. */
export function buildFooterV3(f: FooterFields): Uint8Array {
  const payload = new Uint8Array(64);
  const view = new DataView(payload.buffer);
  putU64(view, 0, f.tocOffset, "tocOffset");
  putU64(view, 8, f.tocLength, "tocLength");
  putU64(view, 16, f.tocUncompressedLength, "tocUncompressedLength");
  putU64(view, 24, MANIFEST_TYPE_CRFS, "manifestType");
  putU64(view, 32, f.tarSplitOffset, "tarSplitOffset");
  putU64(view, 40, f.tarSplitLength, "tarSplitLength");
  putU64(view, 48, f.tarSplitUncompressedLength, "tarSplitUncompressedLength");
  payload.set(FOOTER_MAGIC_V3, 56);
  return buildSkippableFrame(payload);
}

/**
 * The 48-byte footer v1 frame (c/storage ≤ 1.46, stargz-snapshotter); for tests and for writing
 * old-style blobs. With `v2Broken` the 64-byte 1.47–1.49 frame (v1 fields + 16 zero bytes).
 */
export function buildFooterV1(f: Pick<FooterFields, "tocOffset" | "tocLength" | "tocUncompressedLength">, v2Broken = false): Uint8Array {
  const payload = new Uint8Array(v2Broken ? 56 : 40);
  const view = new DataView(payload.buffer);
  putU64(view, 0, f.tocOffset, "tocOffset");
  putU64(view, 8, f.tocLength, "tocLength");
  putU64(view, 16, f.tocUncompressedLength, "tocUncompressedLength");
  putU64(view, 24, MANIFEST_TYPE_CRFS, "manifestType");
  payload.set(FOOTER_MAGIC_V1, 32);
  return buildSkippableFrame(payload);
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
