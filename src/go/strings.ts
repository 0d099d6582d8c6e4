/**
 * Go strings are byte strings, so tar names may hold invalid UTF-8. We decode such bytes the way
 * Python's `surrogateescape` does: every byte that is not part of a valid UTF-8 sequence (by Go's
 * `utf8.DecodeRune` rules, which equal WHATWG's validity rules) becomes the lone surrogate
 * U+DC80+(byte−0x80). That keeps the exact bytes ({@link goStringBytes} reverses it), makes
 * "is this valid UTF-8" a surrogate test ({@link hasInvalidUtf8}), and lets JSON writers emit
 * one `\ufffd` per invalid byte exactly as Go's encoders do. {@link compareGoStrings} is Go's
 * string order (by UTF-8 bytes).
 *
 * @module
 */
import { concatBytes } from "../util/bytes.js";

const utf8Fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/**
 * Decodes bytes as Go would see them as a string: valid UTF-8 decodes normally; each byte not
 * part of a valid sequence becomes the lone surrogate U+DC80+(b−0x80) (see the module notes).
 */
export function goString(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    if (bytes.length <= 1024) return String.fromCharCode.apply(null, bytes as unknown as number[]);
    return utf8Fatal.decode(bytes);
  }
  try {
    return utf8Fatal.decode(bytes);
  } catch {
    return decodeEscaping(bytes);
  }
}

/** Length of the valid UTF-8 sequence starting at `i` (Go's utf8.DecodeRune rules), or 0. */
function seqLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const n = b.length;
  const c1 = i + 1 < n ? b[i + 1]! : -1;
  if (c >= 0xc2 && c <= 0xdf) return c1 >= 0x80 && c1 <= 0xbf ? 2 : 0;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xe0 && c <= 0xef) {
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
    const c2 = i + 2 < n ? b[i + 2]! : -1;
    return c1 >= lo && c1 <= hi && c2 >= 0x80 && c2 <= 0xbf ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
    const c2 = i + 2 < n ? b[i + 2]! : -1;
    const c3 = i + 3 < n ? b[i + 3]! : -1;
    return c1 >= lo && c1 <= hi && c2 >= 0x80 && c2 <= 0xbf && c3 >= 0x80 && c3 <= 0xbf ? 4 : 0;
  }
  return 0;
}

function decodeEscaping(b: Uint8Array): string {
  let out = "";
  let start = 0;
  let i = 0;
  while (i < b.length) {
    const len = seqLength(b, i);
    if (len > 0) {
      i += len;
      continue;
    }
    if (start < i) out += utf8Fatal.decode(b.subarray(start, i));
    out += String.fromCharCode(0xdc00 + b[i]!);
    i++;
    start = i;
  }
  if (start < b.length) out += utf8Fatal.decode(b.subarray(start));
  return out;
}

const SURROGATE_RE = /[\uD800-\uDFFF]/;

/** True when `s` holds a lone surrogate, i.e. its Go bytes are not valid UTF-8. */
export function hasInvalidUtf8(s: string): boolean {
  if (!SURROGATE_RE.test(s)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      return true;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

/**
 * The Go bytes of a string: UTF-8, except that lone surrogates U+DC80..U+DCFF become the single
 * byte they escape (reversing {@link goString}); any other lone surrogate becomes U+FFFD.
 */
export function goStringBytes(s: string): Uint8Array {
  if (!SURROGATE_RE.test(s)) return utf8Encoder.encode(s);
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      continue;
    }
    if (c >= 0xdc80 && c <= 0xdcff) {
      if (start < i) parts.push(utf8Encoder.encode(s.slice(start, i)));
      parts.push(Uint8Array.of(c - 0xdc00));
      start = i + 1;
    }
  }
  if (start < s.length) parts.push(utf8Encoder.encode(s.slice(start)));
  return concatBytes(parts);
}

/** UTF-8 length in bytes of `s` as {@link goStringBytes} encodes it. */
export function goStringLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else if (c >= 0xdc80 && c <= 0xdcff) n += 1;
    else n += 3;
  }
  return n;
}

/** Compares two strings by their Go (UTF-8 byte) order, as Go's `sort.Strings` does. */
export function compareGoStrings(a: string, b: string): number {
  if (a === b) return 0;
  const ab = goStringBytes(a);
  const bb = goStringBytes(b);
  const n = Math.min(ab.length, bb.length);
  for (let i = 0; i < n; i++) {
    if (ab[i] !== bb[i]) return ab[i]! - bb[i]!;
  }
  return ab.length - bb.length;
}
