/**
 * Parsing HTTP range answers: `Content-Range` values and `multipart/byteranges` bodies
 * (RFC 9110 §14.4, §14.6), read from a stream in bounded memory: part headers and the
 * preamble have fixed size limits, the part count and the total of part bytes are capped by the
 * caller (what it asked for), and every part must carry a valid `Content-Range`.
 *
 * Errors: `HTTP` (malformed body or headers; `details.status` 206), `TRUNCATED` (body ended
 * early: retryable), `LIMIT_EXCEEDED` (more parts or bytes than asked for).
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import type { ByteReader } from "../util/bytes.js";

/** A `Content-Range` value: `start`/`end` (inclusive) for `bytes a-b/…`, `total` unless `*`. */
export interface ContentRange {
  start?: number;
  end?: number;
  total?: number;
}

const CONTENT_RANGE = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\s*\/\s*(\d+|\*)\s*$/i;

/** `bytes a-b/total`, `bytes a-b/*` or `bytes * /total`; undefined when malformed. */
export function parseContentRange(v: string | null): ContentRange | undefined {
  if (v === null) return undefined;
  const m = CONTENT_RANGE.exec(v);
  if (!m) return undefined;
  const r: ContentRange = {};
  if (m[1] !== undefined) {
    r.start = Number(m[1]);
    r.end = Number(m[2]);
    if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.end < r.start) return undefined;
  }
  if (m[3] !== "*") {
    r.total = Number(m[3]);
    if (!Number.isSafeInteger(r.total)) return undefined;
    if (r.end !== undefined && r.end >= r.total) return undefined;
  }
  if (r.start === undefined && r.total === undefined) return undefined;
  return r;
}

/** The boundary of a `multipart/byteranges` Content-Type, or undefined for any other type. */
export function byterangesBoundary(contentType: string | null): string | undefined {
  if (!contentType) return undefined;
  const [type, ...params] = contentType.split(";");
  if (type!.trim().toLowerCase() !== "multipart/byteranges") return undefined;
  for (const p of params) {
    const m = /^\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s";]{1,70}))\s*$/i.exec(p);
    if (m) return m[1] ?? m[2];
  }
  throw bad(`multipart/byteranges without a valid boundary: ${JSON.stringify(contentType)}`);
}

/** One part of a multipart/byteranges body. */
export interface RangePart {
  /** First byte offset (inclusive). */
  start: number;
  /** Last byte offset (inclusive). */
  end: number;
  total?: number;
  bytes: Uint8Array;
}

export interface MultipartLimits {
  /** Most parts accepted (the number of ranges asked for). */
  maxParts: number;
  /** Most part bytes accepted in total. */
  maxBytes: number;
}

/** Longest header line, preamble and epilogue we read. */
const MAX_LINE = 1024;
const MAX_HEADERS = 16;
const MAX_PREAMBLE_LINES = 8;

const decoder = new TextDecoder();

/**
 * Reads every part of a `multipart/byteranges` body from `reader` (the body, with `boundary`
 * from its Content-Type). Parts are returned in body order with their `Content-Range`.
 */
export async function readByteranges(reader: ByteReader, boundary: string, limits: MultipartLimits): Promise<RangePart[]> {
  const delimiter = "--" + boundary;
  const parts: RangePart[] = [];
  let total = 0;
  // Preamble: anything up to the first delimiter line (usually nothing or one empty line).
  let line = await readLine(reader);
  for (let i = 0; trimTransport(line) !== delimiter; i++) {
    if (i >= MAX_PREAMBLE_LINES) throw bad("multipart/byteranges body does not start with its boundary");
    line = await readLine(reader);
  }
  for (;;) {
    if (parts.length >= limits.maxParts) {
      throw new LayerkitError("LIMIT_EXCEEDED", `multipart/byteranges body has more than the ${limits.maxParts} parts asked for`, {
        status: 206,
        maxParts: limits.maxParts,
      });
    }
    let range: ContentRange | undefined;
    for (let h = 0;; h++) {
      const header = await readLine(reader);
      if (header === "") break;
      if (h >= MAX_HEADERS) throw bad("multipart/byteranges part has too many header lines");
      const colon = header.indexOf(":");
      if (colon <= 0) throw bad(`malformed multipart/byteranges part header ${JSON.stringify(header)}`);
      if (header.slice(0, colon).trim().toLowerCase() === "content-range") {
        if (range) throw bad("multipart/byteranges part has two Content-Range headers");
        range = parseContentRange(header.slice(colon + 1));
        if (!range || range.start === undefined) {
          throw bad(`multipart/byteranges part has an invalid Content-Range ${JSON.stringify(header)}`);
        }
      }
    }
    if (!range || range.start === undefined || range.end === undefined) throw bad("multipart/byteranges part without a Content-Range");
    const length = range.end - range.start + 1;
    total += length;
    if (total > limits.maxBytes) {
      throw new LayerkitError("LIMIT_EXCEEDED", `multipart/byteranges parts hold more than the ${limits.maxBytes} bytes asked for`, {
        status: 206,
        maxBytes: limits.maxBytes,
      });
    }
    const bytes = (await reader.readExact(length, "multipart/byteranges part")).slice();
    const part: RangePart = { start: range.start, end: range.end, bytes };
    if (range.total !== undefined) part.total = range.total;
    parts.push(part);
    // The part's data is followed by CRLF and the next delimiter (or the closing one).
    if ((await readLine(reader)) !== "") throw bad("multipart/byteranges part is longer than its Content-Range");
    const next = trimTransport(await readLine(reader));
    if (next === delimiter + "--") return parts;
    if (next !== delimiter) throw bad(`expected a multipart boundary after a part, got ${JSON.stringify(next.slice(0, 80))}`);
  }
}

/** A line without its CRLF (a bare LF is accepted); TRUNCATED at end of input. */
async function readLine(reader: ByteReader): Promise<string> {
  const bytes: number[] = [];
  for (;;) {
    const b = await reader.readSome(1);
    if (b === null) throw new LayerkitError("TRUNCATED", "multipart/byteranges body ended early", { status: 206 });
    if (b[0] === 0x0a) break;
    if (bytes.length >= MAX_LINE) throw bad(`multipart/byteranges line longer than ${MAX_LINE} bytes`);
    bytes.push(b[0]!);
  }
  if (bytes[bytes.length - 1] === 0x0d) bytes.pop();
  return decoder.decode(new Uint8Array(bytes));
}

/** RFC 2046 allows trailing whitespace ("transport padding") after a delimiter. */
function trimTransport(line: string): string {
  return line.replace(/[ \t]+$/, "");
}

function bad(message: string): LayerkitError {
  return new LayerkitError("HTTP", message, { status: 206 });
}
