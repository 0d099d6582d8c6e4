/**
 * Standard base64 (RFC 4648 §4, with `=` padding) as Go's `base64.StdEncoding` writes and reads it:
 * encoding is canonical; decoding requires correct padding, ignores `\r` and `\n`, and (like Go's
 * non-strict mode) tolerates non-zero unused bits in the last quantum.
 *
 * @module
 */
import { type ErrorCode, LayerkitError } from "../errors.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

const ALPHABET_BYTES = new TextEncoder().encode(ALPHABET);

/** Length of the standard base64 (padded) text of `n` bytes. */
export function base64Length(n: number): number {
  return Math.ceil(n / 3) * 4;
}

/**
 * Writes the standard base64 (padded) of `data` as ASCII bytes into `out` at `at`; returns the
 * offset after it. No strings are built: tar-split encodes every tar header this way.
 */
export function base64EncodeInto(data: Uint8Array, out: Uint8Array, at: number): number {
  const n = data.length;
  const full = n - (n % 3);
  const A = ALPHABET_BYTES;
  let o = at;
  for (let i = 0; i < full; i += 3) {
    const v = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
    out[o] = A[v >>> 18]!;
    out[o + 1] = A[(v >>> 12) & 63]!;
    out[o + 2] = A[(v >>> 6) & 63]!;
    out[o + 3] = A[v & 63]!;
    o += 4;
  }
  const rest = n - full;
  if (rest > 0) {
    const v = (data[full]! << 16) | (rest === 2 ? data[full + 1]! << 8 : 0);
    out[o] = A[v >>> 18]!;
    out[o + 1] = A[(v >>> 12) & 63]!;
    out[o + 2] = rest === 2 ? A[(v >>> 6) & 63]! : 0x3d;
    out[o + 3] = 0x3d;
    o += 4;
  }
  return o;
}

/** ASCII is UTF-8 (and workerd's TextDecoder knows no other single-byte encoding). */
const ascii = new TextDecoder();

/** Standard base64 with padding. */
export function base64Encode(data: Uint8Array): string {
  const out = new Uint8Array(base64Length(data.length));
  base64EncodeInto(data, out, 0);
  return ascii.decode(out);
}

/**
 * Decodes standard base64 as Go's `base64.StdEncoding.DecodeString` does. Throws a
 * {@link LayerkitError} with `code` (default BAD_ARGUMENT) and the failing character position.
 */
export function base64Decode(text: string, code: ErrorCode = "BAD_ARGUMENT", what = "base64"): Uint8Array {
  // Go skips \r and \n anywhere.
  const s = text.indexOf("\n") >= 0 || text.indexOf("\r") >= 0 ? text.replace(/[\r\n]/g, "") : text;
  const fail = (pos: number): never => {
    throw new LayerkitError(code, `${what}: illegal base64 data at input byte ${pos}`, { position: pos });
  };
  if (s.length % 4 !== 0) fail(s.length - (s.length % 4));
  let pad = 0;
  if (s.length > 0 && s.charCodeAt(s.length - 1) === 0x3d) pad = s.charCodeAt(s.length - 2) === 0x3d ? 2 : 1;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  const quads = s.length / 4;
  for (let q = 0; q < quads; q++) {
    const i = q * 4;
    const last = q === quads - 1;
    const a = code4(s, i, fail);
    const b = code4(s, i + 1, fail);
    if (last && pad === 2) {
      out[o++] = (a << 2) | (b >> 4);
      break;
    }
    const c = code4(s, i + 2, fail);
    if (last && pad === 1) {
      out[o++] = (a << 2) | (b >> 4);
      out[o++] = ((b & 15) << 4) | (c >> 2);
      break;
    }
    const d = code4(s, i + 3, fail);
    out[o++] = (a << 2) | (b >> 4);
    out[o++] = ((b & 15) << 4) | (c >> 2);
    out[o++] = ((c & 3) << 6) | d;
  }
  return out;
}

function code4(s: string, i: number, fail: (pos: number) => never): number {
  const ch = s.charCodeAt(i);
  const v = ch < 256 ? DECODE[ch]! : -1;
  if (v < 0) fail(i);
  return v;
}
