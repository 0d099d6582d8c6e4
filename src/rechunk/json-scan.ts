/**
 * A strict, bounded JSON scanner over bytes that keeps what `JSON.parse` loses: object members in
 * document order (JavaScript objects move integer-like keys first), duplicate keys (refused here,
 * where `JSON.parse` silently keeps the last), and invalid UTF-8 or lone surrogates in strings
 * (refused here, where `TextDecoder` would substitute U+FFFD). Errors name the byte offset and
 * the member being read.
 *
 * @module
 */
import { type ErrorCode, LayerkitError } from "../errors.js";

export type JsonValue =
  | { kind: "object"; members: JsonMember[]; offset: number }
  | { kind: "array"; items: JsonValue[]; offset: number }
  | { kind: "string"; value: string; offset: number }
  | { kind: "number"; value: number; offset: number }
  | { kind: "bool"; value: boolean; offset: number }
  | { kind: "null"; offset: number };

export interface JsonMember {
  key: string;
  value: JsonValue;
  offset: number;
}

export interface JsonScanOptions {
  /** Error code of every failure. */
  code: ErrorCode;
  /** What the document is, for messages ("contentmeta"). */
  what: string;
  /** Most object members plus array items in the whole document. */
  maxItems: number;
  /** Deepest nesting of objects and arrays. */
  maxDepth: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Parses `bytes` as one JSON value (surrounding whitespace allowed, a BOM not). */
export function scanJson(bytes: Uint8Array, options: JsonScanOptions): JsonValue {
  let pos = 0;
  let items = 0;
  // The member being read, innermost last, so an error can say where it is.
  const context: string[] = [];

  const fail = (problem: string, at = pos): never => {
    const where = context.length > 0 ? ` (in ${context.join(" › ")})` : "";
    throw new LayerkitError(options.code, `${options.what}: ${problem} at byte ${at}${where}`, { offset: at, context: [...context] });
  };
  const skipSpace = (): void => {
    while (pos < bytes.length) {
      const c = bytes[pos]!;
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      pos++;
    }
  };
  const count = (): void => {
    if (++items > options.maxItems) fail(`more than ${options.maxItems} entries (the limit)`);
  };

  const decode = (start: number, end: number): string => {
    try {
      return utf8.decode(bytes.subarray(start, end));
    } catch {
      return fail("string is not valid UTF-8", firstInvalidUtf8(bytes, start, end));
    }
  };

  const hex4 = (at: number): number => {
    if (at + 4 > bytes.length) fail("truncated \\u escape", at);
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = bytes[at + k]!;
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (d < 0) fail("bad \\u escape", at);
      v = v * 16 + d;
    }
    return v;
  };

  const string = (): string => {
    const start = pos;
    pos++; // opening quote
    let out = "";
    let run = pos;
    for (;;) {
      if (pos >= bytes.length) fail("unterminated string", start);
      const c = bytes[pos]!;
      if (c === 0x22) {
        out += decode(run, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail("control character in a string");
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += decode(run, pos);
      const e = bytes[pos + 1];
      const simple: Record<number, string> = {
        0x22: '"',
        0x5c: "\\",
        0x2f: "/",
        0x62: "\b",
        0x66: "\f",
        0x6e: "\n",
        0x72: "\r",
        0x74: "\t",
      };
      if (e !== undefined && simple[e] !== undefined) {
        out += simple[e];
        pos += 2;
      } else if (e === 0x75) {
        const at = pos;
        const u = hex4(pos + 2);
        pos += 6;
        if (u >= 0xd800 && u <= 0xdbff) {
          if (bytes[pos] !== 0x5c || bytes[pos + 1] !== 0x75) fail("lone surrogate in a \\u escape (not Unicode text)", at);
          const lo = hex4(pos + 2);
          if (lo < 0xdc00 || lo > 0xdfff) fail("lone surrogate in a \\u escape (not Unicode text)", at);
          out += String.fromCharCode(u, lo);
          pos += 6;
        } else if (u >= 0xdc00 && u <= 0xdfff) {
          fail("lone surrogate in a \\u escape (not Unicode text)", at);
        } else {
          out += String.fromCharCode(u);
        }
      } else {
        fail("bad escape in a string");
      }
      run = pos;
    }
  };

  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const literal = (word: string): boolean => {
    for (let k = 0; k < word.length; k++) if (bytes[pos + k] !== word.charCodeAt(k)) return false;
    pos += word.length;
    return true;
  };

  const value = (depth: number): JsonValue => {
    skipSpace();
    const offset = pos;
    const c = bytes[pos];
    if (c === undefined) return fail("unexpected end of input");
    if (c === 0x7b || c === 0x5b) {
      if (depth >= options.maxDepth) fail(`nested deeper than ${options.maxDepth} levels`);
      return c === 0x7b ? object(depth + 1, offset) : array(depth + 1, offset);
    }
    if (c === 0x22) return { kind: "string", value: string(), offset };
    if (literal("true")) return { kind: "bool", value: true, offset };
    if (literal("false")) return { kind: "bool", value: false, offset };
    if (literal("null")) return { kind: "null", offset };
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      // Numbers are ASCII: a short window decoded as Latin-1 is enough to match one.
      const window = String.fromCharCode(...bytes.subarray(pos, Math.min(bytes.length, pos + 64)));
      NUMBER.lastIndex = 0;
      const m = NUMBER.exec(window);
      if (!m) return fail("bad number");
      pos += m[0].length;
      return { kind: "number", value: Number(m[0]), offset };
    }
    return fail(`unexpected character ${JSON.stringify(String.fromCharCode(c))}`);
  };

  const object = (depth: number, offset: number): JsonValue => {
    pos++;
    const members: JsonMember[] = [];
    const seen = new Set<string>();
    skipSpace();
    if (bytes[pos] === 0x7d) {
      pos++;
      return { kind: "object", members, offset };
    }
    for (;;) {
      skipSpace();
      if (bytes[pos] !== 0x22) fail("expected a member name");
      count();
      const at = pos;
      const prev = members.length > 0 ? `after ${JSON.stringify(members[members.length - 1]!.key)}` : "first member";
      context.push(prev);
      const key = string();
      context.pop();
      if (seen.has(key)) fail(`duplicate key ${JSON.stringify(key)}`, at);
      seen.add(key);
      skipSpace();
      if (bytes[pos] !== 0x3a) fail("expected ':'");
      pos++;
      context.push(JSON.stringify(key));
      const v = value(depth);
      context.pop();
      members.push({ key, value: v, offset: at });
      skipSpace();
      if (bytes[pos] === 0x2c) {
        pos++;
        continue;
      }
      if (bytes[pos] === 0x7d) {
        pos++;
        return { kind: "object", members, offset };
      }
      fail("expected ',' or '}'");
    }
  };

  const array = (depth: number, offset: number): JsonValue => {
    pos++;
    const items: JsonValue[] = [];
    skipSpace();
    if (bytes[pos] === 0x5d) {
      pos++;
      return { kind: "array", items, offset };
    }
    for (;;) {
      count();
      context.push(`[${items.length}]`);
      items.push(value(depth));
      context.pop();
      skipSpace();
      if (bytes[pos] === 0x2c) {
        pos++;
        continue;
      }
      if (bytes[pos] === 0x5d) {
        pos++;
        return { kind: "array", items, offset };
      }
      fail("expected ',' or ']'");
    }
  };

  const root = value(0);
  skipSpace();
  if (pos !== bytes.length) fail("unexpected data after the JSON value");
  return root;
}

/** Offset of the first byte in `[start, end)` that does not begin or continue a well-formed UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    // Lead byte: sequence length and the range its first continuation byte must fall in.
    let n: number, lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f; // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (i + k >= end || d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return end;
}
