/**
 * The gzip member engine (RFC 1952) used by the eStargz writer and reader.
 *
 * Compression: three deterministic engines, the same code in every runtime, so the same input and
 * options give byte-identical members in Node, Deno, browsers and workerd: `zlib` (zlib 1.2.13 in
 * the WASM core, streaming, for plain gzip layers: members of any size), `libdeflate` (the WASM
 * core's libdeflate, one call per member, for bounded eStargz members), and `pako` (zlib's
 * deflate ported to JavaScript, the default where no core is given). Input is fed to zlib and pako
 * in fixed pieces whatever the caller's write sizes, so the output cannot depend on how the
 * caller split its writes. (fflate 0.8.3 was used first: its
 * streaming `Deflate` emits back-references past the start of the stream on some inputs at level 9,
 * which zlib and Go reject — fflate issue #260, still open.) The member header is the one Go's
 * `compress/gzip` writes: no flags, MTIME 0, XFL 2 at level 9 / 4 at level 1 / else 0, OS 255.
 * `engine: "native"` uses the runtime's `CompressionStream("gzip")` instead: faster where it is
 * native code, but its bytes differ between runtimes (Node's and Chromium's zlib forks, header
 * OS byte) and it has no level, so blobs made with it are not reproducible across runtimes.
 *
 * Decompression ({@link Gunzip}, {@link gunzip}, {@link gunzipMember}): exact member boundaries,
 * bounded output, CRC-32 and ISIZE checked, typed errors. Given the core's DEFLATE engine
 * (`deflate: core.deflate`) it inflates with zlib in WASM (several times faster); without one, with
 * this package's own JavaScript inflater (src/gzip/inflate.ts), which accepts and rejects the same
 * streams.
 *
 * @module
 */
import { Deflate } from "pako";
import { type ErrorCode, LayerkitError } from "../errors.js";
import { concatBytes } from "../util/bytes.js";
import { crc32 } from "./crc32.js";
import { InputQueue, RawInflater } from "./inflate.js";
import type { Deflate as DeflateEngine, DeflateStream, InflateStream } from "../wasm/deflate.js";

export type GzipEngine = "pako" | "zlib" | "libdeflate" | "native";

export interface GzipCompressOptions {
  /**
   * DEFLATE level: 0–9 for pako and zlib (default 9, Go's `gzip.BestCompression`), 0–12 for libdeflate
   * (default {@link LIBDEFLATE_DEFAULT_LEVEL}). Ignored by the native engine.
   */
  level?: number;
  /**
   * `pako` (default here; deterministic everywhere, streams members of any size), `zlib` (the
   * same deflate in the WASM core, byte for byte zlib 1.2.13's, several times pako's speed; needs
   * `deflate`), `libdeflate`
   * (deterministic everywhere, several times faster and smaller, but buffers each member whole:
   * for bounded members such as eStargz chunks; needs `deflate`), or `native`
   * (CompressionStream; not reproducible).
   */
  engine?: GzipEngine;
  /** The core's DEFLATE engine (`core.deflate`), for `engine: "libdeflate"` and `"zlib"`. */
  deflate?: DeflateEngine;
}

/**
 * libdeflate's default level for eStargz members: measured on root file system tars it gives
 * smaller members than zlib/pako at level 9 (and than Go's `compress/gzip` at BestCompression, which
 * `estargz.Build` uses) at several times their speed (bench/RESULTS.md).
 */
export const LIBDEFLATE_DEFAULT_LEVEL = 6;

/** One gzip member being written. `write`/`end` return the compressed pieces produced so far. */
export interface GzipMemberWriter {
  write(data: Uint8Array): Uint8Array[] | Promise<Uint8Array[]>;
  /** Finishes the member (trailer included). */
  end(): Uint8Array[] | Promise<Uint8Array[]>;
  /** Gives back what an unfinished member holds (engines with WASM state); no-op otherwise. */
  abort?(): void;
}

/** Makes members with fixed options. */
export interface GzipCompressor {
  readonly engine: GzipEngine;
  readonly level: number;
  /** True when output is a function of input and options only (every engine but native). */
  readonly deterministic: boolean;
  member(): GzipMemberWriter;
}

/** Size of the pieces handed to the deflater: a constant, so output does not depend on write sizes. */
const FEED = 65536;

const FLG_FTEXT = 1;
const FLG_FHCRC = 2;
const FLG_FEXTRA = 4;
const FLG_FNAME = 8;
const FLG_FCOMMENT = 16;

/** The 10-byte member header Go's gzip.Writer writes for `level` (no name/comment/extra). */
export function goGzipHeader(level: number): Uint8Array {
  const h = new Uint8Array(10);
  h[0] = 0x1f;
  h[1] = 0x8b;
  h[2] = 8;
  h[8] = level === 9 ? 2 : level === 1 ? 4 : 0;
  h[9] = 255;
  return h;
}

function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new LayerkitError("BAD_ARGUMENT", `gzip level must be an integer 0–9, got ${level}`, { level });
  }
}

function trailer(crc: number, size: number): Uint8Array {
  const t = new Uint8Array(8);
  const v = new DataView(t.buffer);
  v.setUint32(0, crc >>> 0, true);
  v.setUint32(4, size % 0x100000000, true);
  return t;
}

class PakoMember implements GzipMemberWriter {
  readonly #deflate: Deflate;
  #out: Uint8Array[] = [];
  readonly #feed = new Uint8Array(FEED);
  #fill = 0;
  #crc = 0;
  #size = 0;
  #ended = false;

  constructor(level: number) {
    this.#out.push(goGzipHeader(level));
    // Raw DEFLATE with zlib's defaults (32 KiB window, memLevel 8), as Go's and zlib's gzip use.
    this.#deflate = new Deflate({ level: level as 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9, raw: true, windowBits: 15, memLevel: 8 });
    this.#deflate.onData = (chunk: Uint8Array) => {
      if (chunk.length > 0) this.#out.push(chunk);
    };
  }

  #take(): Uint8Array[] {
    const o = this.#out;
    this.#out = [];
    return o;
  }

  /** Deflate one piece; pako consumes all of it before returning, so `#feed` can be reused. */
  #push(piece: Uint8Array, final: boolean): void {
    this.#deflate.push(piece, final);
    if (this.#deflate.err) {
      throw new LayerkitError("GZIP_CORRUPT", `deflate failed: ${this.#deflate.msg || this.#deflate.err}`, { err: this.#deflate.err });
    }
  }

  write(data: Uint8Array): Uint8Array[] {
    if (this.#ended) throw new LayerkitError("BAD_ARGUMENT", "gzip member written after end");
    if (data.length === 0) return this.#take();
    this.#crc = crc32(data, this.#crc);
    this.#size += data.length;
    let i = 0;
    while (i < data.length) {
      if (this.#fill === 0 && data.length - i >= FEED) {
        this.#push(data.subarray(i, i + FEED), false);
        i += FEED;
        continue;
      }
      const n = Math.min(FEED - this.#fill, data.length - i);
      this.#feed.set(data.subarray(i, i + n), this.#fill);
      this.#fill += n;
      i += n;
      if (this.#fill === FEED) {
        this.#push(this.#feed, false);
        this.#fill = 0;
      }
    }
    return this.#take();
  }

  end(): Uint8Array[] {
    if (this.#ended) return [];
    this.#ended = true;
    this.#push(this.#feed.subarray(0, this.#fill), true);
    this.#out.push(trailer(this.#crc, this.#size));
    return this.#take();
  }
}

/**
 * A member compressed in one libdeflate call at `end()`: the input is kept until then (eStargz
 * members hold at most one chunk plus tar headers, so this is bounded by the chunk size).
 */
class LibdeflateMember implements GzipMemberWriter {
  readonly #deflate: DeflateEngine;
  readonly #level: number;
  #parts: Uint8Array[] = [];
  #size = 0;
  #ended = false;

  constructor(deflate: DeflateEngine, level: number) {
    this.#deflate = deflate;
    this.#level = level;
  }

  write(data: Uint8Array): Uint8Array[] {
    if (this.#ended) throw new LayerkitError("BAD_ARGUMENT", "gzip member written after end");
    if (data.length > 0) {
      // Callers may reuse their buffers once write returns.
      this.#parts.push(data.slice());
      this.#size += data.length;
    }
    return [];
  }

  end(): Uint8Array[] {
    if (this.#ended) return [];
    this.#ended = true;
    const parts = this.#parts;
    this.#parts = [];
    const { body, crc } = this.#deflate.deflateMember(parts, this.#level);
    return [goGzipHeader(this.#level), body, trailer(crc, this.#size)];
  }
}

/**
 * A member of any size streamed through zlib in the WASM core. The zlib stream lives in WASM
 * memory and is freed when the member ends or a write fails; a member abandoned mid-way is freed
 * by {@link GzipMemberWriter.abort} (the gzip layer writer calls it on cancel and error).
 */
class ZlibMember implements GzipMemberWriter {
  readonly #level: number;
  #stream: DeflateStream | undefined;
  #header = true;

  constructor(deflate: DeflateEngine, level: number) {
    this.#level = level;
    this.#stream = deflate.deflateStream(level);
  }

  #guard(f: (s: DeflateStream) => Uint8Array[]): Uint8Array[] {
    const s = this.#stream;
    if (!s) throw new LayerkitError("BAD_ARGUMENT", "gzip member written after end");
    try {
      const out = f(s);
      if (this.#header) {
        this.#header = false;
        out.unshift(goGzipHeader(this.#level));
      }
      return out;
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  write(data: Uint8Array): Uint8Array[] {
    return this.#guard((s) => s.write(data));
  }

  end(): Uint8Array[] {
    if (!this.#stream) return [];
    const out = this.#guard((s) => s.end());
    out.push(trailer(this.#stream!.crc, this.#stream!.size));
    this.abort();
    return out;
  }

  abort(): void {
    this.#stream?.free();
    this.#stream = undefined;
  }
}

class NativeMember implements GzipMemberWriter {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pump: Promise<void>;
  #out: Uint8Array[] = [];

  constructor() {
    const cs = new CompressionStream("gzip");
    this.#writer = cs.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
    const reader = (cs.readable as ReadableStream<Uint8Array>).getReader();
    this.#pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        if (value.length > 0) this.#out.push(value);
      }
    })();
    this.#pump.catch(() => {});
  }

  #take(): Uint8Array[] {
    const o = this.#out;
    this.#out = [];
    return o;
  }

  async write(data: Uint8Array): Promise<Uint8Array[]> {
    if (data.length > 0) {
      await this.#writer.ready;
      await this.#writer.write(data);
    }
    return this.#take();
  }

  async end(): Promise<Uint8Array[]> {
    await this.#writer.close();
    await this.#pump;
    return this.#take();
  }
}

/** A member factory for the given options; see the module doc for the engines. */
export function createGzipCompressor(options: GzipCompressOptions = {}): GzipCompressor {
  const engine = options.engine ?? "pako";
  if (engine === "zlib") {
    const deflate = options.deflate;
    if (!deflate) {
      throw new LayerkitError("BAD_ARGUMENT", "gzip engine 'zlib' needs the core's DEFLATE engine (options.deflate = core.deflate)");
    }
    const lv = options.level ?? 9;
    checkLevel(lv);
    return { engine, level: lv, deterministic: true, member: () => new ZlibMember(deflate, lv) };
  }
  if (engine === "libdeflate") {
    const deflate = options.deflate;
    if (!deflate) {
      throw new LayerkitError("BAD_ARGUMENT", "gzip engine 'libdeflate' needs the core's DEFLATE engine (options.deflate = core.deflate)");
    }
    const lv = options.level ?? LIBDEFLATE_DEFAULT_LEVEL;
    if (!Number.isInteger(lv) || lv < 0 || lv > 12) {
      throw new LayerkitError("BAD_ARGUMENT", `libdeflate gzip level must be an integer 0–12, got ${lv}`, { level: lv });
    }
    return { engine, level: lv, deterministic: true, member: () => new LibdeflateMember(deflate, lv) };
  }
  const level = options.level ?? 9;
  checkLevel(level);
  if (engine === "native") {
    if (typeof CompressionStream === "undefined") {
      throw new LayerkitError("UNSUPPORTED_FORMAT", "gzip engine 'native' needs CompressionStream, which this runtime lacks");
    }
    return { engine, level, deterministic: false, member: () => new NativeMember() };
  }
  if (engine !== "pako") throw new LayerkitError("BAD_ARGUMENT", `unknown gzip engine ${JSON.stringify(engine)}`, { engine });
  return { engine, level, deterministic: true, member: () => new PakoMember(level) };
}

/** One complete gzip member of `data` with the deterministic engine. */
export function gzipMember(data: Uint8Array, level = 9): Uint8Array {
  checkLevel(level);
  const m = new PakoMember(level);
  return concatBytes([...m.write(data), ...m.end()]);
}

// ---- headers ------------------------------------------------------------------------------------

/** What a member header said. */
export interface GzipHeader {
  /** Header length in bytes. */
  length: number;
  flags: number;
  mtime: number;
  xfl: number;
  os: number;
  /** The FEXTRA field's bytes (without XLEN), when present. */
  extra?: Uint8Array;
  name?: Uint8Array;
  comment?: Uint8Array;
}

/**
 * Parses a member header from the start of `b`. Returns undefined when `b` ends inside the
 * header; throws GZIP_CORRUPT when it is not a valid gzip (deflate) header.
 */
export function parseGzipHeader(b: Uint8Array): GzipHeader | undefined {
  if (b.length >= 1 && b[0] !== 0x1f) throw new LayerkitError("GZIP_CORRUPT", "not a gzip member (bad magic)", { byte0: b[0] });
  if (b.length >= 2 && b[1] !== 0x8b) throw new LayerkitError("GZIP_CORRUPT", "not a gzip member (bad magic)", { byte1: b[1] });
  if (b.length >= 3 && b[2] !== 8) throw new LayerkitError("GZIP_CORRUPT", `unsupported gzip compression method ${b[2]}`, { method: b[2] });
  if (b.length >= 4 && b[3]! & 0xe0) throw new LayerkitError("GZIP_CORRUPT", "reserved gzip header flags set", { flags: b[3] });
  if (b.length < 10) return undefined;
  const flags = b[3]!;
  const h: GzipHeader = {
    length: 0,
    flags,
    mtime: (b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24)) >>> 0,
    xfl: b[8]!,
    os: b[9]!,
  };
  let p = 10;
  if (flags & FLG_FEXTRA) {
    if (b.length < p + 2) return undefined;
    const xlen = b[p]! | (b[p + 1]! << 8);
    p += 2;
    if (b.length < p + xlen) return undefined;
    h.extra = b.subarray(p, p + xlen);
    p += xlen;
  }
  for (
    const [flag, key] of [
      [FLG_FNAME, "name"],
      [FLG_FCOMMENT, "comment"],
    ] as const
  ) {
    if (flags & flag) {
      const z = b.indexOf(0, p);
      if (z < 0) return undefined;
      h[key] = b.subarray(p, z);
      p = z + 1;
    }
  }
  if (flags & FLG_FHCRC) {
    if (b.length < p + 2) return undefined;
    const want = b[p]! | (b[p + 1]! << 8);
    const got = crc32(b.subarray(0, p)) & 0xffff;
    if (want !== got) throw new LayerkitError("GZIP_CORRUPT", "gzip header CRC mismatch", { want, got });
    p += 2;
  }
  void FLG_FTEXT;
  h.length = p;
  return h;
}

// ---- decompression ------------------------------------------------------------------------------

export interface GunzipOptions {
  /** Maximum total output bytes (default unbounded). */
  maxOutput?: number;
  /** Error code when `maxOutput` is exceeded (default LIMIT_EXCEEDED). */
  limitCode?: ErrorCode;
  /**
   * true (default): read members until the input ends, like Go's gzip.Reader (anything after a
   * member that is not another member is an error). false: stop after the first member; the
   * rest of the input is left in {@link Gunzip.remainder}.
   */
  multiMember?: boolean;
  /**
   * The core's DEFLATE engine (`core.deflate`): inflate with zlib in WASM. Without it the
   * JavaScript inflater runs. Call {@link Gunzip.free} when giving up on a stream before its end.
   */
  deflate?: DeflateEngine;
}

/** Frees the WASM inflaters of Gunzips dropped without free() (where the runtime collects them). */
const dropped = typeof FinalizationRegistry === "function" ? new FinalizationRegistry<InflateStream>((s) => s.free()) : undefined;

type State = "header" | "body" | "trailer" | "done";

/** Streaming gzip decompression with exact member boundaries, bounds and CRC/ISIZE checks. */
export class Gunzip {
  readonly #q = new InputQueue();
  readonly #maxOutput: number;
  readonly #limitCode: ErrorCode;
  readonly #multi: boolean;
  readonly #deflate: DeflateEngine | undefined;
  #state: State = "header";
  #inflater: RawInflater | undefined;
  #stream: InflateStream | undefined;
  /** Output the current member may still produce (the bound minus earlier members' output). */
  #memberRoom = 0;
  /** Where {@link pushTo}/{@link endTo} send WASM output views (undefined: copies are returned). */
  #sink: ((piece: Uint8Array) => void) | undefined;
  #crc = 0;
  #memberOut = 0;
  #totalOut = 0;
  #members = 0;
  #header: GzipHeader | undefined;
  /** Compressed offsets (relative to the start of the input) where each member started. */
  readonly memberOffsets: number[] = [];

  constructor(options: GunzipOptions = {}) {
    this.#maxOutput = options.maxOutput ?? Number.POSITIVE_INFINITY;
    this.#limitCode = options.limitCode ?? "LIMIT_EXCEEDED";
    this.#multi = options.multiMember ?? true;
    this.#deflate = options.deflate;
  }

  /** Gives back the WASM inflater, if any (done by itself when the stream ends or fails). */
  free(): void {
    const s = this.#stream;
    if (!s) return;
    this.#stream = undefined;
    dropped?.unregister(this);
    s.free();
  }

  /** Members completed so far. */
  get members(): number {
    return this.#members;
  }
  /** Output bytes so far. */
  get bytesOut(): number {
    return this.#totalOut;
  }
  /** Input bytes consumed so far (single-member mode: the member's exact length once done). */
  get bytesIn(): number {
    return this.#q.consumed;
  }
  /** True once a single-member Gunzip has read its member. */
  get finished(): boolean {
    return this.#state === "done";
  }
  /** Header of the first member. */
  get header(): GzipHeader | undefined {
    return this.#header;
  }
  /** Input left after the member (single-member mode). */
  remainder(): Uint8Array {
    return this.#q.peek(this.#q.available).slice();
  }

  /** Feeds compressed bytes; returns the decompressed pieces now available. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#state === "done") {
      if (chunk.length > 0) this.#q.append(chunk);
      return [];
    }
    this.#q.append(chunk);
    try {
      return this.#process(false);
    } catch (e) {
      this.free();
      throw e;
    }
  }

  /**
   * Like {@link push}, but hands the output to `sink` piece by piece; with the WASM inflater the
   * pieces are views into WASM memory, valid only during the call (no copy per piece).
   */
  pushTo(chunk: Uint8Array, sink: (piece: Uint8Array) => void): void {
    this.#sink = sink;
    try {
      for (const p of this.push(chunk)) sink(p);
    } finally {
      this.#sink = undefined;
    }
  }

  /** Like {@link end}, with the output handed to `sink` as {@link pushTo} does. */
  endTo(sink: (piece: Uint8Array) => void): void {
    this.#sink = sink;
    try {
      for (const p of this.end()) sink(p);
    } finally {
      this.#sink = undefined;
    }
  }

  /** Signals the end of input; throws when it ended inside a member. */
  end(): Uint8Array[] {
    let out: Uint8Array[];
    try {
      out = this.#process(true);
    } finally {
      this.free();
    }
    if (this.#state === "done") return out;
    if (this.#state === "header" && this.#q.available === 0 && this.#members > 0) return out;
    throw new LayerkitError(
      "TRUNCATED",
      this.#members === 0 && this.#q.consumed === 0 && this.#state === "header" ? "empty gzip stream" : "gzip stream ends inside a member",
      {
        consumed: this.#q.consumed,
        members: this.#members,
      },
    );
  }

  #emit(out: Uint8Array[], chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#crc = crc32(chunk, this.#crc);
    this.#memberOut += chunk.length;
    this.#totalOut += chunk.length;
    out.push(chunk);
  }

  #process(ended: boolean): Uint8Array[] {
    const q = this.#q;
    const out: Uint8Array[] = [];
    for (;;) {
      switch (this.#state) {
        case "header": {
          if (q.available === 0) return out;
          const h = parseGzipHeader(q.peek(q.available));
          if (!h) {
            if (ended) throw new LayerkitError("TRUNCATED", "gzip stream ends inside a member header", { consumed: q.consumed });
            return out;
          }
          this.memberOffsets.push(q.consumed);
          this.#header ??= h;
          q.skip(h.length);
          this.#memberRoom = this.#maxOutput - this.#totalOut;
          if (this.#deflate) {
            if (this.#stream) {
              this.#stream.reset();
            } else {
              this.#stream = this.#deflate.inflateStream();
              dropped?.register(this, this.#stream, this);
            }
          } else {
            this.#inflater = new RawInflater(q, this.#memberRoom, this.#limitCode);
          }
          this.#crc = 0;
          this.#memberOut = 0;
          this.#state = "body";
          break;
        }
        case "body": {
          if (this.#deflate) {
            if (!this.#wasmBody(out, ended)) return out;
            this.#state = "trailer";
            break;
          }
          const inf = this.#inflater!;
          try {
            while (inf.run(ended)) this.#emit(out, inf.take());
          } catch (e) {
            if (e instanceof LayerkitError && e.code === this.#limitCode && this.#limitCode !== "GZIP_CORRUPT") {
              throw new LayerkitError(this.#limitCode, `gzip data decompresses to more than ${this.#maxOutput} bytes`, {
                limit: this.#maxOutput,
              });
            }
            throw e;
          }
          this.#emit(out, inf.take());
          if (!inf.done) return out;
          this.#inflater = undefined;
          this.#state = "trailer";
          break;
        }
        case "trailer": {
          if (q.available < 8) {
            if (ended) throw new LayerkitError("TRUNCATED", "gzip stream ends inside a member trailer", { consumed: q.consumed });
            return out;
          }
          const t = q.peek(8);
          const crc = (t[0]! | (t[1]! << 8) | (t[2]! << 16) | (t[3]! << 24)) >>> 0;
          const isize = (t[4]! | (t[5]! << 8) | (t[6]! << 16) | (t[7]! << 24)) >>> 0;
          if (crc !== this.#crc >>> 0) {
            throw new LayerkitError("GZIP_CORRUPT", "gzip member CRC-32 mismatch", {
              member: this.#members,
              want: crc,
              got: this.#crc >>> 0,
            });
          }
          if (isize !== this.#memberOut % 0x100000000) {
            throw new LayerkitError("GZIP_CORRUPT", "gzip member ISIZE mismatch", {
              member: this.#members,
              want: isize,
              got: this.#memberOut,
            });
          }
          q.skip(8);
          this.#members++;
          this.#state = this.#multi ? "header" : "done";
          if (this.#state === "done") {
            this.free();
            return out;
          }
          break;
        }
        case "done":
          return out;
      }
    }
  }

  /** The member body through the WASM inflater; true once its DEFLATE stream ended. */
  #wasmBody(out: Uint8Array[], ended: boolean): boolean {
    const q = this.#q;
    const s = this.#stream;
    if (!s) throw new LayerkitError("BAD_ARGUMENT", "Gunzip used after free() or after an error");
    let r: { consumed: number; ended: boolean };
    try {
      r = s.run(q.peek(q.available), this.#memberRoom, this.#limitCode, (view) => {
        if (this.#sink) this.#sink(view);
        else out.push(view.slice());
        this.#memberOut += view.length;
        this.#totalOut += view.length;
      });
    } catch (e) {
      if (e instanceof LayerkitError && e.code === this.#limitCode && this.#limitCode !== "GZIP_CORRUPT") {
        throw new LayerkitError(this.#limitCode, `gzip data decompresses to more than ${this.#maxOutput} bytes`, {
          limit: this.#maxOutput,
        });
      }
      throw e;
    }
    q.skip(r.consumed);
    if (!r.ended) {
      if (ended) throw new LayerkitError("TRUNCATED", "deflate stream ends early (truncated input)", { consumed: q.consumed });
      return false;
    }
    this.#crc = s.crc;
    return true;
  }
}

/** Decompresses a whole (multi-member) gzip stream held in memory. */
export function gunzip(data: Uint8Array, options: Omit<GunzipOptions, "multiMember"> = {}): Uint8Array {
  const g = new Gunzip({ ...options, multiMember: true });
  const parts = g.push(data);
  parts.push(...g.end());
  return concatBytes(parts);
}

export interface GunzipMemberOptions {
  /** Maximum output bytes; exceeding it throws `limitCode`. */
  maxOutput?: number;
  /** Exact output size expected: more or fewer bytes throw SIZE_MISMATCH (implies maxOutput). */
  expectedSize?: number;
  limitCode?: ErrorCode;
  /** The core's DEFLATE engine: inflate with zlib in WASM (see {@link GunzipOptions.deflate}). */
  deflate?: DeflateEngine;
}

/** Decompresses the single member at the start of `data`: its output and compressed length. */
export function gunzipMember(data: Uint8Array, options: GunzipMemberOptions = {}): { data: Uint8Array; consumed: number } {
  const limitCode = options.limitCode ?? (options.expectedSize !== undefined ? "SIZE_MISMATCH" : "LIMIT_EXCEEDED");
  const maxOutput = Math.min(options.maxOutput ?? Number.POSITIVE_INFINITY, options.expectedSize ?? Number.POSITIVE_INFINITY);
  const g = new Gunzip({ maxOutput, limitCode, multiMember: false, ...(options.deflate ? { deflate: options.deflate } : {}) });
  let parts: Uint8Array[];
  try {
    parts = g.push(data);
    if (!g.finished) parts.push(...g.end());
  } finally {
    g.free();
  }
  const out = concatBytes(parts);
  if (options.expectedSize !== undefined && out.length !== options.expectedSize) {
    throw new LayerkitError("SIZE_MISMATCH", `gzip member decompresses to ${out.length} bytes, expected ${options.expectedSize}`, {
      expected: options.expectedSize,
      actual: out.length,
    });
  }
  return { data: out, consumed: g.bytesIn };
}

/**
 * Whole gzip members held in memory, decoded with libdeflate: the concatenated output, or
 * `undefined` when anything is not a clean success (bad or truncated data, a trailer mismatch,
 * output over `outputCap`, input that does not end at a member boundary). Callers then decode
 * with {@link Gunzip}, which gives the precise typed error and applies their real bound: the fast
 * path never decides a failure, so both paths accept and reject the same inputs.
 */
export function inflateMembersFast(deflate: DeflateEngine, data: Uint8Array, outputCap: number): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  let p = 0;
  let total = 0;
  try {
    while (p < data.length) {
      const h = parseGzipHeader(data.subarray(p));
      if (!h) return undefined;
      p += h.length;
      const { data: out, consumed, crc } = deflate.inflateMember(data.subarray(p), outputCap - total);
      p += consumed;
      if (p + 8 > data.length) return undefined;
      const v = new DataView(data.buffer, data.byteOffset + p, 8);
      if (v.getUint32(0, true) !== crc || v.getUint32(4, true) !== out.length % 0x100000000) return undefined;
      p += 8;
      total += out.length;
      parts.push(out);
    }
  } catch (e) {
    if (e instanceof LayerkitError) return undefined;
    throw e;
  }
  return parts.length === 1 ? parts[0]! : concatBytes(parts);
}
