/**
 * zstd skippable frames (RFC 8878 §3.1.2): magic `0x184D2A50 + nibble` (u32 little-endian), a u32
 * little-endian payload length, then the payload. zstd:chunked stores its TOC, tar-split and
 * footer in them (docs/formats/zstd-chunked.md §1.3). Pure TS: no WASM needed.
 *
 * @example
 * ```ts
 * const frame = skippableFrame(footerBytes);          // 50 2A 4D 18, length, payload
 * const h = readSkippableHeader(frame, 0);            // { nibble: 0, payloadSize, frameSize, payloadOffset: 8 }
 * ```
 *
 * @module
 */
import { LayerkitError } from "../../errors.js";

/** First skippable magic; `SKIPPABLE_MAGIC + n` for n in 0..15 are all skippable. */
export const SKIPPABLE_MAGIC = 0x184d2a50;
/** Magic + length. */
export const SKIPPABLE_HEADER_SIZE = 8;
const MAX_PAYLOAD = 0xffffffff;

export interface SkippableHeader {
  /** Low 4 bits of the magic (upstream zstd:chunked always writes 0). */
  nibble: number;
  /** Payload length from the header. */
  payloadSize: number;
  /** Absolute offset of the payload (`offset + 8`). */
  payloadOffset: number;
  /** Header + payload. */
  frameSize: number;
}

/** True when `magic` (a u32 read little-endian) is `0x184D2A50..0x184D2A5F`. */
export function isSkippableMagic(magic: number): boolean {
  return (magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC;
}

/** A skippable frame carrying `payload`, magic `0x184D2A50 + nibble`. */
export function skippableFrame(payload: Uint8Array, nibble = 0): Uint8Array {
  if (!Number.isInteger(nibble) || nibble < 0 || nibble > 15) {
    throw new LayerkitError("BAD_ARGUMENT", `skippable frame nibble must be 0..15, got ${nibble}`, { nibble });
  }
  if (payload.length > MAX_PAYLOAD) {
    throw new LayerkitError("LIMIT_EXCEEDED", `skippable frame payload of ${payload.length} bytes exceeds 2^32-1`, {
      size: payload.length,
    });
  }
  const out = new Uint8Array(SKIPPABLE_HEADER_SIZE + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, SKIPPABLE_MAGIC + nibble, true);
  view.setUint32(4, payload.length, true);
  out.set(payload, SKIPPABLE_HEADER_SIZE);
  return out;
}

/**
 * The skippable-frame header at `offset`, or null when the 4 bytes there are not a skippable
 * magic. Throws `TRUNCATED` when the header or the payload it announces runs past `bytes`
 * (pass `{ payload: false }` to check only the 8 header bytes, e.g. when reading a blob's tail).
 */
export function readSkippableHeader(bytes: Uint8Array, offset: number, options: { payload?: boolean } = {}): SkippableHeader | null {
  if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) {
    throw new LayerkitError("OUT_OF_RANGE", `skippable frame offset ${offset} outside 0..${bytes.length}`, { offset, size: bytes.length });
  }
  if (offset + 4 > bytes.length) {
    throw new LayerkitError("TRUNCATED", `skippable frame header at ${offset}: only ${bytes.length - offset} bytes left`, {
      offset,
      size: bytes.length,
    });
  }
  const magic = u32le(bytes, offset);
  if (!isSkippableMagic(magic)) return null;
  if (offset + SKIPPABLE_HEADER_SIZE > bytes.length) {
    throw new LayerkitError("TRUNCATED", `skippable frame header at ${offset}: only ${bytes.length - offset} bytes left`, {
      offset,
      size: bytes.length,
    });
  }
  const payloadSize = u32le(bytes, offset + 4);
  const frameSize = SKIPPABLE_HEADER_SIZE + payloadSize;
  if ((options.payload ?? true) && offset + frameSize > bytes.length) {
    throw new LayerkitError(
      "TRUNCATED",
      `skippable frame at ${offset} announces ${payloadSize} payload bytes, ${bytes.length - offset - SKIPPABLE_HEADER_SIZE} present`,
      {
        offset,
        payloadSize,
        size: bytes.length,
      },
    );
  }
  return { nibble: magic & 0xf, payloadSize, payloadOffset: offset + SKIPPABLE_HEADER_SIZE, frameSize };
}

function u32le(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}
