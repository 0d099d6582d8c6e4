/**
 * The eStargz footer (51 bytes) and the legacy stargz footer (47 bytes), docs/formats/estargz.md §2.
 * As upstream, only the header is interpreted (the empty body is not decompressed).
 *
 * @module
 */
import { LayerkitError } from "../../errors.js";
import { parseGzipHeader } from "../../gzip/gzip.js";
import { FOOTER_SIZE, LEGACY_FOOTER_SIZE } from "./constants.js";

export interface EstargzFooter {
  /** Compressed offset of the TOC member. */
  tocOffset: number;
  /** 51 (eStargz) or 47 (legacy stargz). */
  size: number;
  legacy: boolean;
}

const STARGZ = [0x53, 0x54, 0x41, 0x52, 0x47, 0x5a]; // "STARGZ"
const HEX = "0123456789abcdef";

/**
 * The 51-byte footer exactly as Go writes it: a level-0 gzip member with MTIME 0, XFL 0, OS 255,
 * FEXTRA holding subfield `SG` with `%016xSTARGZ`, an empty final stored block, CRC 0, ISIZE 0.
 */
export function buildFooter(tocOffset: number): Uint8Array {
  if (!Number.isSafeInteger(tocOffset) || tocOffset < 0) {
    throw new LayerkitError("BAD_ARGUMENT", `invalid TOC offset ${tocOffset}`, { tocOffset });
  }
  const f = new Uint8Array(FOOTER_SIZE);
  f.set([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255, 26, 0, 0x53, 0x47, 22, 0]);
  let v = tocOffset;
  for (let i = 15; i >= 0; i--) {
    f[16 + i] = HEX.charCodeAt(v % 16);
    v = Math.floor(v / 16);
  }
  f.set(STARGZ, 32);
  f.set([1, 0, 0, 0xff, 0xff], 38);
  // CRC-32 and ISIZE of the empty body: 8 zero bytes (already zero).
  return f;
}

/** The 47-byte legacy footer (extra field = the raw 22 bytes). For tests of the legacy path. */
export function buildLegacyFooter(tocOffset: number): Uint8Array {
  const modern = buildFooter(tocOffset);
  const f = new Uint8Array(LEGACY_FOOTER_SIZE);
  f.set([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255, 22, 0]);
  f.set(modern.subarray(16, 38), 12);
  f.set([1, 0, 0, 0xff, 0xff], 34);
  return f;
}

function parseHexOffset(b: Uint8Array, what: string): number {
  let v = 0;
  for (let i = 0; i < 16; i++) {
    const c = b[i]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) {
      throw new LayerkitError("BAD_FOOTER", `${what}: TOC offset is not hexadecimal`, {
        offsetText: new TextDecoder().decode(b.subarray(0, 16)),
      });
    }
    v = v * 16 + d;
  }
  if (!Number.isSafeInteger(v)) throw new LayerkitError("OUT_OF_RANGE", `${what}: TOC offset ${v} is not a safe integer`, { tocOffset: v });
  return v;
}

/**
 * Both footers are an empty gzip member whose header carries one extra field: checks the size and
 * that shape (header = 12 bytes + the extra field), and returns the extra field.
 */
function footerExtra(p: Uint8Array, size: number, extraLength: number, what: string): Uint8Array {
  if (p.length !== size) throw new LayerkitError("BAD_FOOTER", `${what}: need ${size} bytes, got ${p.length}`, { length: p.length });
  let h;
  try {
    h = parseGzipHeader(p);
  } catch (e) {
    throw new LayerkitError("BAD_FOOTER", `${what}: not a gzip member`, {}, { cause: e });
  }
  const extra = h?.extra;
  if (!h || !extra || h.length !== 12 + extraLength || extra.length !== extraLength) {
    throw new LayerkitError("BAD_FOOTER", `${what}: no ${extraLength}-byte extra field`, { extraLength: extra?.length });
  }
  return extra;
}

/** Parses the 51-byte eStargz footer; throws BAD_FOOTER / BAD_MAGIC. */
export function parseFooter(p: Uint8Array): EstargzFooter {
  const what = "eStargz footer";
  const extra = footerExtra(p, FOOTER_SIZE, 26, what);
  if (extra[0] !== 0x53 || extra[1] !== 0x47) {
    throw new LayerkitError("BAD_MAGIC", `${what}: extra subfield ID is not "SG"`, { si1: extra[0], si2: extra[1] });
  }
  if ((extra[2]! | (extra[3]! << 8)) !== 22) {
    throw new LayerkitError("BAD_FOOTER", `${what}: subfield length is not 22`, { length: extra[2]! | (extra[3]! << 8) });
  }
  if (!STARGZ.every((c, i) => extra[20 + i] === c)) throw new LayerkitError("BAD_MAGIC", `${what}: no STARGZ magic`, {});
  const tocOffset = parseHexOffset(extra.subarray(4, 20), what);
  return { tocOffset, size: FOOTER_SIZE, legacy: false };
}

/** Parses the 47-byte legacy stargz footer. */
export function parseLegacyFooter(p: Uint8Array): EstargzFooter {
  const what = "legacy stargz footer";
  const extra = footerExtra(p, LEGACY_FOOTER_SIZE, 22, what);
  if (!STARGZ.every((c, i) => extra[16 + i] === c)) throw new LayerkitError("BAD_MAGIC", `${what}: no STARGZ magic`, {});
  const tocOffset = parseHexOffset(extra, what);
  return { tocOffset, size: LEGACY_FOOTER_SIZE, legacy: true };
}

/**
 * Finds the footer at the end of `tail` (the blob's last bytes, ≥ 51 when the blob is that big):
 * the eStargz footer first, then the legacy one, as upstream's Open does. The error of the
 * eStargz attempt is reported when both fail.
 */
export function findFooter(tail: Uint8Array): EstargzFooter {
  let first: unknown;
  if (tail.length >= FOOTER_SIZE) {
    try {
      return parseFooter(tail.subarray(tail.length - FOOTER_SIZE));
    } catch (e) {
      first = e;
    }
  }
  if (tail.length >= LEGACY_FOOTER_SIZE) {
    try {
      return parseLegacyFooter(tail.subarray(tail.length - LEGACY_FOOTER_SIZE));
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
  throw new LayerkitError("BAD_FOOTER", `blob of ${tail.length} bytes is too small for an eStargz footer`, { size: tail.length });
}
