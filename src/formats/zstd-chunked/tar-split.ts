/**
 * tar-split metadata (vbatts/tar-split "JSON packer", docs/formats/zstd-chunked.md §3.2): writer, bounded reader, tar
 * reassembly.
 *
 * The stream is one JSON object per line, Go `encoding/json` `Encoder` output with fields
 * `type` (1 = FileType, 2 = SegmentType), `name` / `name_raw` (base64 of the raw name when it is
 * not valid UTF-8), `size` (omitempty), `payload` (base64: raw bytes for segments, the 8-byte
 * big-endian CRC-64/ISO of the file payload for files, `null` for empty files), `position`.
 *
 * Segmentation follows tar-split's `NewInputTarStream` exactly: per entry one Segment with the
 * raw bytes `Next()` consumed, then a FileType entry (always); at the end one Segment with the
 * end-of-archive bytes, then the trailing bytes in Segments of at most 1 MiB (tar-split 0.12;
 * empty ones skipped). Upstream cuts trailing Segments wherever its input pipe's reads ended; we
 * cut them at exact 1 MiB multiples. FileType names must be unique after Go's `filepath.Clean`
 * (TAR_DUPLICATE_PATH), in the writer and the reader, as in tar-split's packer and unpacker.
 *
 * @module
 */
import { LayerkitError } from "../../errors.js";
import { TarReader, type TarReaderOptions } from "../../tar/reader.js";
import { cleanPath } from "../../go/path.js";
import { base64Decode, base64Encode, base64EncodeInto, base64Length } from "../../go/base64.js";
import { ByteReader, bytesEqual, type ByteSource, concatBytes, iterateSource } from "../../util/bytes.js";
import { goString, goStringBytes, hasInvalidUtf8 } from "../../go/strings.js";
import { CompactStringSet } from "../../util/compact-string-set.js";
import { Crc64 } from "../../util/crc64.js";
import { JsonReader } from "../../util/json-limits.js";
import { goJsonString } from "../../go/json-string.js";

export const TAR_SPLIT_FILE = 1;
export const TAR_SPLIT_SEGMENT = 2;
/** tar-split 0.12's trailing-padding piece size. */
export const TRAILING_SEGMENT_SIZE = 1 << 20;

/** One tar-split entry. */
export interface TarSplitEntry {
  type: number;
  /** FileType: the name (from `name_raw` when present, decoded with `goString`). */
  name?: string;
  /** The raw name bytes when the stream carried `name_raw`. */
  nameRaw?: Uint8Array;
  /** FileType: the payload size (0 when absent). */
  size: number;
  /** Segment bytes, or a file's 8-byte CRC-64; null when absent/`null`. */
  payload: Uint8Array | null;
  position: number;
}

export interface TarSplitWriterOptions {
  /**
   * JSON escapes of the Go that built the producer: "go1.22" (default; `\b`, `\f`, what current
   * Podman builds write) or "go1.21" (`\u0008`, `\u000c`). They only matter for names with
   * those control characters.
   */
  jsonEscapes?: "go1.22" | "go1.21";
}

const enc = new TextEncoder();
const SEGMENT_HEAD = enc.encode('{"type":2,"payload":"');

function duplicate(name: string, cleaned: string): LayerkitError {
  return new LayerkitError(
    "TAR_DUPLICATE_PATH",
    `tar-split: duplicate path ${JSON.stringify(name)} (duplicates of file paths not supported)`,
    {
      name,
      path: cleaned,
    },
  );
}

/** The tar-split packer: hands each encoded line to `write`. */
export class TarSplitWriter {
  readonly #write: (line: Uint8Array) => void;
  readonly #short: boolean;
  /** Cleaned paths so far (off the JS heap: see CompactStringSet). */
  readonly #seen = new CompactStringSet();
  #position = 0;
  #length = 0;
  #trailing: Uint8Array[] = [];
  #trailingLen = 0;
  #finished = false;

  constructor(write: (line: Uint8Array) => void, options: TarSplitWriterOptions = {}) {
    this.#write = write;
    this.#short = (options.jsonEscapes ?? "go1.22") === "go1.22";
  }

  /** Entries written so far (the next `position`). */
  get position(): number {
    return this.#position;
  }

  /** Bytes of JSON written so far (the "uncompressed length"). */
  get length(): number {
    return this.#length;
  }

  #emit(line: string): void {
    this.#emitBytes(enc.encode(line));
  }

  #emitBytes(line: Uint8Array): void {
    this.#length += line.length;
    this.#position++;
    this.#write(line);
  }

  #check(): void {
    if (this.#finished) throw new LayerkitError("BAD_ARGUMENT", "tar-split: entry added after finish()");
    if (this.#trailingLen > 0) throw new LayerkitError("BAD_ARGUMENT", "tar-split: entry added after trailing bytes");
  }

  /** A SegmentType entry with `bytes` (nothing is written for empty input, as tar-split does). */
  addSegment(bytes: Uint8Array): void {
    this.#check();
    if (bytes.length === 0) return;
    this.#segment(bytes);
  }

  #segment(bytes: Uint8Array): void {
    // Built as bytes: one per tar header, and base64 as strings was most of the writer's garbage.
    const tail = enc.encode(`","position":${this.#position}}\n`);
    const line = new Uint8Array(SEGMENT_HEAD.length + base64Length(bytes.length) + tail.length);
    line.set(SEGMENT_HEAD);
    const at = base64EncodeInto(bytes, line, SEGMENT_HEAD.length);
    line.set(tail, at);
    this.#emitBytes(line);
  }

  /**
   * A FileType entry. `crc` is the 8-byte CRC-64 of the payload bytes actually read (required when
   * `size > 0`, ignored otherwise). Throws TAR_DUPLICATE_PATH for a name seen before (after
   * `filepath.Clean`).
   */
  addFile(name: string, size: number, crc?: Uint8Array | null): void {
    this.#check();
    if (!Number.isSafeInteger(size)) throw new LayerkitError("BAD_ARGUMENT", `tar-split: invalid size ${size}`, { name, size });
    const cleaned = cleanPath(name);
    if (!this.#seen.add(cleaned)) throw duplicate(name, cleaned);
    let o = '{"type":1';
    if (hasInvalidUtf8(name)) o += ',"name_raw":"' + base64Encode(goStringBytes(name)) + '"';
    else if (name !== "") o += ',"name":' + goJsonString(name, { shortBackspaceFormfeed: this.#short });
    if (size !== 0) o += ',"size":' + size;
    if (size > 0) {
      if (!crc || crc.length !== 8) {
        throw new LayerkitError("BAD_ARGUMENT", `tar-split: file ${JSON.stringify(name)} needs its 8-byte CRC-64`, { name });
      }
      o += ',"payload":"' + base64Encode(crc) + '"';
    } else o += ',"payload":null';
    this.#emit(o + ',"position":' + this.#position + "}\n");
  }

  /**
   * Bytes after the end-of-archive segment: written as Segments of at most 1 MiB. They are copied
   * (the caller may reuse its buffer, as the layer writers' tar reader does).
   */
  addTrailing(bytes: Uint8Array): void {
    if (this.#finished) throw new LayerkitError("BAD_ARGUMENT", "tar-split: trailing bytes after finish()");
    let b = bytes;
    while (b.length > 0) {
      const take = Math.min(b.length, TRAILING_SEGMENT_SIZE - this.#trailingLen);
      this.#trailing.push(b.slice(0, take));
      this.#trailingLen += take;
      b = b.subarray(take);
      if (this.#trailingLen === TRAILING_SEGMENT_SIZE) this.#flushTrailing();
    }
  }

  #flushTrailing(): void {
    if (this.#trailingLen === 0) return;
    const seg = concatBytes(this.#trailing);
    this.#trailing = [];
    this.#trailingLen = 0;
    this.#segment(seg);
  }

  /** Writes pending trailing bytes. */
  finish(): void {
    if (this.#finished) return;
    this.#flushTrailing();
    this.#finished = true;
  }
}

/** Result of {@link createTarSplit}. */
export interface TarSplitResult {
  /** The JSON-lines stream. */
  tarSplit: Uint8Array;
  /** Bytes of the tar read. */
  tarSize: number;
  /** Entries in the tar. */
  entries: number;
}

/**
 * tar-split's disassembler over a whole tar: what `asm.NewInputTarStream` with a JSON packer
 * produces. By default typeflags are not restricted (tar-split accepts them); sparse entries are
 * rejected (TAR_UNSUPPORTED).
 */
export async function createTarSplit(source: ByteSource, options: TarSplitWriterOptions & TarReaderOptions = {}): Promise<TarSplitResult> {
  const lines: Uint8Array[] = [];
  const ts = new TarSplitWriter((l) => lines.push(l), options);
  const tr = new TarReader(source, { strictTypes: false, ...options });
  let entries = 0;
  for (let e = await tr.next(); e; e = await tr.next()) {
    entries++;
    ts.addSegment(e.raw);
    let crc: Crc64 | undefined;
    if (e.header.size > 0) {
      crc = new Crc64();
      for await (const p of tr.data()) crc.update(p);
    }
    ts.addFile(e.header.name, e.header.size, crc?.sum());
  }
  ts.addSegment(tr.endBytes);
  for await (const p of tr.trailing()) ts.addTrailing(p);
  ts.finish();
  return { tarSplit: concatBytes(lines), tarSize: tr.position, entries };
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface TarSplitReaderOptions {
  /** Longest accepted line in bytes (default 16 MiB). */
  maxLineBytes?: number;
  /** Reject duplicate FileType names (after `filepath.Clean`) as tar-split's unpacker does (default true). */
  checkDuplicates?: boolean;
}

function badLine(line: number, message: string, details: Record<string, unknown> = {}): LayerkitError {
  return new LayerkitError("BAD_TAR_SPLIT", `tar-split line ${line}: ${message}`, { line, ...details });
}

/**
 * Parses one JSON line into an entry as Go's `json.Decoder` fills `storage.Entry`: keys match
 * case-insensitively, unknown keys and `null` values are ignored, later duplicates win, `payload`
 * and `name_raw` are standard base64. Accepts every escape Go's encoders produce.
 */
export function parseTarSplitLine(text: string, line = 1): TarSplitEntry {
  try {
    return parseLine(text, line);
  } catch (e) {
    // JSON and base64 errors know the character position; the line number belongs in details too.
    if (e instanceof LayerkitError && e.details["line"] === undefined) e.details["line"] = line;
    throw e;
  }
}

function parseLine(text: string, line: number): TarSplitEntry {
  const r = new JsonReader(text, { code: "BAD_TAR_SPLIT", what: `tar-split line ${line}` });
  if (r.peek() !== "object") throw badLine(line, "not a JSON object");
  const e: TarSplitEntry = { type: 0, size: 0, payload: null, position: 0 };
  let name: string | undefined;
  let nameRaw: Uint8Array | undefined;
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) {
    const k = key.toLowerCase();
    if (r.readNullIf()) {
      if (k === "payload") e.payload = null;
      else if (k === "name_raw") nameRaw = undefined;
      continue;
    }
    switch (k) {
      case "type":
        e.type = r.readInteger("type");
        break;
      case "size":
        e.size = r.readInteger("size");
        break;
      case "position":
        e.position = r.readInteger("position");
        break;
      case "name":
        name = r.readString();
        break;
      case "name_raw":
        nameRaw = base64Decode(r.readString(), "BAD_TAR_SPLIT", `tar-split line ${line}: name_raw`);
        break;
      case "payload":
        e.payload = base64Decode(r.readString(), "BAD_TAR_SPLIT", `tar-split line ${line}: payload`);
        break;
      default:
        r.skip();
    }
  }
  r.end();
  if (nameRaw && nameRaw.length > 0) {
    e.nameRaw = nameRaw;
    e.name = goString(nameRaw);
  } else if (name !== undefined && name !== "") e.name = name;
  if (e.type !== TAR_SPLIT_FILE && e.type !== TAR_SPLIT_SEGMENT) throw badLine(line, `unknown entry type ${e.type}`, { type: e.type });
  if (e.size < 0) throw badLine(line, `negative size ${e.size}`, { size: e.size });
  if (e.type === TAR_SPLIT_FILE && e.size > 0 && (e.payload === null || e.payload.length !== 8)) {
    throw badLine(line, `file ${JSON.stringify(e.name ?? "")} has no 8-byte CRC-64 payload`, { name: e.name });
  }
  return e;
}

/** Reads a tar-split stream entry by entry (bounded by `maxLineBytes` per line). */
export async function* readTarSplit(source: ByteSource, options: TarSplitReaderOptions = {}): AsyncGenerator<TarSplitEntry, void, void> {
  const maxLine = options.maxLineBytes ?? 16 << 20;
  const checkDup = options.checkDuplicates ?? true;
  const seen = new CompactStringSet();
  const input = new ByteReader(source);
  let lineNo = 0;
  let parts: Uint8Array[] = [];
  let partsLen = 0;
  const handle = (bytes: Uint8Array): TarSplitEntry | undefined => {
    lineNo++;
    let blank = true;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) {
        blank = false;
        break;
      }
    }
    if (blank) return undefined;
    const e = parseTarSplitLine(goString(bytes), lineNo);
    if (checkDup && e.type === TAR_SPLIT_FILE) {
      const name = e.name ?? "";
      const cleaned = cleanPath(name);
      if (!seen.add(cleaned)) throw duplicate(name, cleaned);
    }
    return e;
  };
  for (;;) {
    const piece = await input.readSome();
    if (piece === null) break;
    let start = 0;
    for (;;) {
      const nl = piece.indexOf(0x0a, start);
      if (nl < 0) {
        const rest = piece.subarray(start);
        if (partsLen + rest.length > maxLine) throw badLine(lineNo + 1, `line longer than ${maxLine} bytes`, { limit: maxLine });
        if (rest.length > 0) {
          parts.push(rest.slice());
          partsLen += rest.length;
        }
        break;
      }
      const seg = piece.subarray(start, nl);
      if (partsLen + seg.length > maxLine) throw badLine(lineNo + 1, `line longer than ${maxLine} bytes`, { limit: maxLine });
      const line = parts.length ? concatBytes([...parts, seg]) : seg;
      parts = [];
      partsLen = 0;
      const e = handle(line);
      if (e) yield e;
      start = nl + 1;
    }
  }
  if (partsLen > 0) {
    const e = handle(concatBytes(parts));
    if (e) yield e;
  }
}

/** Supplies a file's payload during reassembly. */
export type TarSplitFileGetter = (name: string, entry: TarSplitEntry) => ByteSource | Promise<ByteSource>;

/**
 * Reassembles the tar stream (`asm.WriteOutputTarStream`): Segment bytes verbatim, and for each
 * FileType with size > 0 the bytes `getFile` returns, checked against the CRC-64 (DIGEST_MISMATCH
 * naming the file on a mismatch, as upstream's "file integrity checksum failed").
 */
export function assembleTar(
  tarSplit: ByteSource,
  getFile: TarSplitFileGetter,
  options: TarSplitReaderOptions = {},
): AsyncGenerator<Uint8Array, void, void> {
  return assembleTarEntries(readTarSplit(tarSplit, options), getFile);
}

/** {@link assembleTar} over already parsed entries. */
export async function* assembleTarEntries(
  entries: AsyncIterable<TarSplitEntry> | Iterable<TarSplitEntry>,
  getFile: TarSplitFileGetter,
): AsyncGenerator<Uint8Array, void, void> {
  const crc = new Crc64();
  for await (const e of entries) {
    if (e.type === TAR_SPLIT_SEGMENT) {
      if (e.payload && e.payload.length > 0) yield e.payload;
      continue;
    }
    if (e.type !== TAR_SPLIT_FILE || e.size === 0) continue;
    const name = e.name ?? "";
    crc.reset();
    let got = 0;
    for await (const piece of iterateSource(await getFile(name, e))) {
      crc.update(piece);
      got += piece.length;
      yield piece;
    }
    const sum = crc.sum();
    if (!e.payload || !bytesEqual(sum, e.payload)) {
      throw new LayerkitError("DIGEST_MISMATCH", `tar-split: file integrity checksum failed for ${JSON.stringify(name)}`, {
        name,
        size: e.size,
        got,
        expected: e.payload ? base64Encode(e.payload) : null,
        actual: base64Encode(sum),
      });
    }
  }
}

/** The uncompressed tar size a tar-split describes (c/storage: Segment lengths + FileType sizes). */
export async function tarSizeFromTarSplit(source: ByteSource, options: TarSplitReaderOptions = {}): Promise<number> {
  let n = 0;
  for await (const e of readTarSplit(source, options)) {
    if (e.type === TAR_SPLIT_SEGMENT) n += e.payload?.length ?? 0;
    else n += e.size;
  }
  return n;
}
