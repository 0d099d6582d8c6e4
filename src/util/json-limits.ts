/**
 * A strict pull reader for JSON documents we must parse exactly the way we authenticate them
 * (TOCs): keys are seen in document order (so duplicate keys resolve as in Go: last one wins),
 * integers are checked to be safe, nesting depth is bounded, and `end()` rejects anything but
 * whitespace after the top-level value. Errors are {@link LayerkitError}s with the given code and
 * the character position in `details`.
 *
 * @module
 */
import { type ErrorCode, LayerkitError } from "../errors.js";

export type JsonKind = "object" | "array" | "string" | "number" | "true" | "false" | "null";

export interface JsonReaderOptions {
  /** Error code for malformed input (default BAD_TOC). */
  code?: ErrorCode;
  /** What the document is, for messages (default "JSON"). */
  what?: string;
  /** Maximum nesting depth accepted by {@link JsonReader.skip} (default 64). */
  maxDepth?: number;
}

const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

export class JsonReader {
  readonly text: string;
  pos = 0;
  readonly #code: ErrorCode;
  readonly #what: string;
  readonly #maxDepth: number;

  constructor(text: string, options: JsonReaderOptions = {}) {
    this.text = text;
    this.#code = options.code ?? "BAD_TOC";
    this.#what = options.what ?? "JSON";
    this.#maxDepth = options.maxDepth ?? 64;
  }

  /** A typed error at the current position. */
  error(message: string, details: Record<string, unknown> = {}): LayerkitError {
    return new LayerkitError(this.#code, `${this.#what}: ${message} at character ${this.pos}`, { position: this.pos, ...details });
  }

  #ws(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  /** Kind of the next value (after whitespace). Throws at end of input or on an invalid character. */
  peek(): JsonKind {
    this.#ws();
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b:
        return "object";
      case 0x5b:
        return "array";
      case 0x22:
        return "string";
      case 0x74:
        return "true";
      case 0x66:
        return "false";
      case 0x6e:
        return "null";
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return "number";
        if (Number.isNaN(c)) throw this.error("unexpected end of input");
        throw this.error(`unexpected character ${JSON.stringify(this.text[this.pos])}`);
    }
  }

  #expect(ch: string): void {
    this.#ws();
    if (this.text[this.pos] !== ch) {
      if (this.pos >= this.text.length) throw this.error(`unexpected end of input, expected ${JSON.stringify(ch)}`);
      throw this.error(`expected ${JSON.stringify(ch)}, found ${JSON.stringify(this.text[this.pos])}`);
    }
    this.pos++;
  }

  #literal(word: string): void {
    if (this.text.startsWith(word, this.pos)) this.pos += word.length;
    else throw this.error(`invalid literal, expected ${word}`);
  }

  // Object/array iteration: call begin*, then next* until it returns undefined/false.
  #first = false;

  beginObject(): void {
    this.#expect("{");
    this.#first = true;
  }

  /** Next key of the object being read, or undefined after its closing brace. */
  nextKey(): string | undefined {
    this.#ws();
    if (this.text[this.pos] === "}") {
      this.pos++;
      this.#first = false;
      return undefined;
    }
    if (!this.#first) this.#expect(",");
    this.#first = false;
    this.#ws();
    if (this.text[this.pos] !== '"') throw this.error("expected an object key");
    const key = this.readString();
    this.#expect(":");
    return key;
  }

  beginArray(): void {
    this.#expect("[");
    this.#first = true;
  }

  /** True when another array item follows (positioned at it), false after the closing bracket. */
  nextItem(): boolean {
    this.#ws();
    if (this.text[this.pos] === "]") {
      this.pos++;
      this.#first = false;
      return false;
    }
    if (!this.#first) this.#expect(",");
    this.#first = false;
    return true;
  }

  /** Reads `null` if it is next; returns whether it did. */
  readNullIf(): boolean {
    this.#ws();
    if (this.text.startsWith("null", this.pos)) {
      this.pos += 4;
      return true;
    }
    return false;
  }

  readBoolean(): boolean {
    const k = this.peek();
    if (k === "true") return this.#literal("true"), true;
    if (k === "false") return this.#literal("false"), false;
    throw this.error(`expected a boolean, found ${k}`);
  }

  /** A JSON string, unescaped. Invalid surrogates become U+FFFD (as Go does). */
  readString(): string {
    this.#ws();
    const t = this.text;
    if (t.charCodeAt(this.pos) !== 0x22) throw this.error(`expected a string, found ${this.#describeNext()}`);
    let p = this.pos + 1;
    let out = "";
    let start = p;
    let surrogates = false;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        out += t.slice(start, p);
        this.pos = p + 1;
        return surrogates ? fixSurrogates(out) : out;
      }
      if (c >= 0xd800 && c <= 0xdfff) surrogates = true;
      if (c === 0x5c) {
        out += t.slice(start, p);
        const e = t[p + 1];
        switch (e) {
          case '"':
            out += '"';
            break;
          case "\\":
            out += "\\";
            break;
          case "/":
            out += "/";
            break;
          case "b":
            out += "\b";
            break;
          case "f":
            out += "\f";
            break;
          case "n":
            out += "\n";
            break;
          case "r":
            out += "\r";
            break;
          case "t":
            out += "\t";
            break;
          case "u": {
            const h = t.slice(p + 2, p + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(h)) {
              this.pos = p;
              throw this.error("invalid \\u escape");
            }
            const code = parseInt(h, 16);
            if (code >= 0xd800 && code <= 0xdfff) surrogates = true;
            out += String.fromCharCode(code);
            p += 4;
            break;
          }
          default:
            this.pos = p;
            throw this.error(`invalid escape ${JSON.stringify("\\" + (e ?? ""))}`);
        }
        p += 2;
        start = p;
        continue;
      }
      if (Number.isNaN(c)) {
        this.pos = p;
        throw this.error("unterminated string");
      }
      if (c < 0x20) {
        this.pos = p;
        throw this.error("control character in string");
      }
      p++;
    }
  }

  /** The raw text of a JSON number (grammar-checked). */
  readNumberText(): string {
    this.#ws();
    NUMBER_RE.lastIndex = this.pos;
    const m = NUMBER_RE.exec(this.text);
    if (!m) throw this.error(`expected a number, found ${this.#describeNext()}`);
    this.pos += m[0].length;
    return m[0];
  }

  /**
   * An integer (no fraction or exponent) that is a safe integer, optionally non-negative.
   * `field` names the value in errors; the offending text is in `details.value`.
   */
  readInteger(field: string, options: { nonNegative?: boolean; code?: ErrorCode } = {}): number {
    const at = this.pos;
    const s = this.readNumberText();
    if (!/^-?\d+$/.test(s)) {
      this.pos = at;
      throw this.error(`${field} must be an integer, found ${s}`, { field, value: s });
    }
    const n = Number(s);
    if (!Number.isSafeInteger(n)) {
      this.pos = at;
      throw new LayerkitError(options.code ?? "OUT_OF_RANGE", `${this.#what}: ${field} = ${s} is not a safe integer`, {
        field,
        value: s,
        position: at,
      });
    }
    if (options.nonNegative && n < 0) {
      this.pos = at;
      throw new LayerkitError(options.code ?? "OUT_OF_RANGE", `${this.#what}: ${field} = ${s} is negative`, {
        field,
        value: n,
        position: at,
      });
    }
    return n === 0 ? 0 : n; // no -0
  }

  /** Skips one value of any kind (iteratively; depth limited). */
  skip(): void {
    const stack: boolean[] = []; // true = object, false = array
    for (;;) {
      const k = this.peek();
      if (k === "object" || k === "array") {
        if (stack.length >= this.#maxDepth) throw this.error(`nesting deeper than ${this.#maxDepth}`);
        this.pos++;
        this.#ws();
        if (this.text[this.pos] === (k === "object" ? "}" : "]")) {
          this.pos++;
        } else {
          stack.push(k === "object");
          if (k === "object") {
            this.readString();
            this.#expect(":");
          }
          continue; // read the first member's value
        }
      } else if (k === "string") {
        this.readString();
      } else if (k === "number") {
        this.readNumberText();
      } else {
        this.#literal(k);
      }
      // A value is complete: close containers or move on to the next member.
      for (;;) {
        if (stack.length === 0) return;
        this.#ws();
        const c = this.text[this.pos];
        const inObject = stack[stack.length - 1]!;
        if (c === ",") {
          this.pos++;
          if (inObject) {
            this.readString();
            this.#expect(":");
          }
          break;
        }
        if (c === (inObject ? "}" : "]")) {
          this.pos++;
          stack.pop();
          continue;
        }
        if (c === undefined) throw this.error("unexpected end of input");
        throw this.error(`expected "," or ${inObject ? '"}"' : '"]"'}, found ${JSON.stringify(c)}`);
      }
    }
  }

  /** Requires only whitespace until the end of the text. */
  end(): void {
    this.#ws();
    if (this.pos !== this.text.length) {
      throw this.error("unexpected data after the document", { trailing: this.text.slice(this.pos, this.pos + 32) });
    }
  }

  #describeNext(): string {
    const c = this.text[this.pos];
    return c === undefined ? "end of input" : JSON.stringify(c);
  }
}

/** Replaces unpaired UTF-16 surrogates with U+FFFD, as Go's JSON decoder does. */
function fixSurrogates(s: string): string {
  // Fast path: no surrogates at all.
  if (!/[\uD800-\uDFFF]/.test(s)) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
        continue;
      }
      out += "\uFFFD";
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      out += "\uFFFD";
    } else {
      out += s[i]!;
    }
  }
  return out;
}

/** Limits for {@link parseJsonLimited}. */
export interface JsonLimits {
  /** Maximum document size in bytes (UTF-8). Default 4 MiB. */
  maxBytes?: number;
  /** Maximum nesting depth of objects/arrays. Default 64. */
  maxDepth?: number;
  /** Error code for malformed input (default BAD_ARGUMENT). Size/depth overruns are LIMIT_EXCEEDED. */
  code?: ErrorCode;
  /** What the document is, for messages (default "JSON"). */
  what?: string;
}

/**
 * Parses an untrusted JSON document (bytes must be UTF-8) with a size and a nesting-depth bound:
 * oversize or too deeply nested input is a `LIMIT_EXCEEDED` {@link LayerkitError}, malformed
 * input (including invalid UTF-8) is `options.code`. Duplicate keys resolve as in Go (last wins).
 */
export function parseJsonLimited(input: string | Uint8Array, options: JsonLimits = {}): unknown {
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  const maxDepth = options.maxDepth ?? 64;
  const code = options.code ?? "BAD_ARGUMENT";
  const what = options.what ?? "JSON";
  // A string's UTF-8 size is at most 3 bytes per UTF-16 unit; count exactly only when needed.
  const size = typeof input === "string"
    ? (input.length * 3 <= maxBytes ? input.length : new TextEncoder().encode(input).length)
    : input.length;
  if (size > maxBytes) {
    throw new LayerkitError("LIMIT_EXCEEDED", `${what}: document is larger than ${maxBytes} bytes`, { size, maxBytes });
  }
  let text: string;
  if (typeof input === "string") {
    text = input;
  } else {
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(input);
    } catch (e) {
      throw new LayerkitError(code, `${what}: not valid UTF-8`, {}, { cause: e });
    }
  }
  // Depth pre-scan: brackets outside strings.
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) {
        throw new LayerkitError("LIMIT_EXCEEDED", `${what}: nesting deeper than ${maxDepth}`, { position: i, maxDepth });
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new LayerkitError(code, `${what}: malformed JSON: ${(e as Error)?.message ?? e}`, {}, { cause: e });
  }
}
