/**
 * zstd, compiled from source with emscripten (wasm/build-zstd.sh), behind a small typed API.
 *
 * `wasm/zstd.wasm` is a standalone module (libzstd 1.5.7 + wasm/zstd-glue.c, and libdeflate for
 * src/wasm/deflate.ts) with no emscripten JS glue: this file is its loader. The module imports one function
 * (`env.emscripten_notify_memory_growth`) and exports its memory and the `lk_*` functions.
 *
 * Every failure is a {@link LayerkitError}: `ZSTD_CORRUPT` (bad data, checksum mismatch),
 * `ZSTD_TRUNCATED` (input ends inside a frame), `ZSTD_FRAME_TOO_LARGE` (output over `maxOutput`),
 * `ZSTD_WINDOW_TOO_LARGE` (window over `2^maxWindowLog`), `ZSTD_BAD_USAGE` (use after free/end),
 * `ZSTD_OUT_OF_MEMORY` (the WASM heap cannot grow), `BAD_ARGUMENT` (invalid options),
 * `ZSTD_INTERNAL` (anything else). After any of them the instance, and the compressor or
 * decompressor that threw, stay usable: their contexts are reset to a frame boundary.
 *
 * @example
 * ```ts
 * import { loadZstd } from "./wasm/zstd.js";
 * const zstd = await loadZstd(await readFile("wasm/zstd.wasm"));
 * const frame = zstd.compress(new TextEncoder().encode("hello"), { level: 3 });
 * const text = new TextDecoder().decode(zstd.decompress(frame));
 * ```
 *
 * @module
 */
import { type ErrorCode, LayerkitError } from "../errors.js";
import { instantiateWasm, type WasmSource } from "./load.js";
import { ZstdFrameScanner } from "./zstd-frame-scanner.js";

export interface ZstdCompressOptions {
  /** Compression level, 1..22 (negative fast levels allowed). Default 3. */
  level?: number;
  /** Write the 4-byte content checksum in each frame. Default true. */
  checksum?: boolean;
}

export interface ZstdCompressorOptions extends ZstdCompressOptions {
  /**
   * Keep the input ring at its minimum (two windows + 1 MiB + one block: about 5 MiB at level 3)
   * instead of at least 16 MiB. Frames spanning many MiB compress a little slower and come out
   * slightly different (the ring wraps elsewhere), the same for the same options; use it when
   * several compressors are alive at once and memory matters.
   */
  compact?: boolean;
  /**
   * At most this window log (10..30) for the frames, below the level's own: less memory (the
   * window, the ring and zstd's tables shrink with it) for a little ratio. Default: the level's.
   */
  windowLog?: number;
}

export interface ZstdDecompressOptions {
  /** Refuse frames whose window exceeds 2^maxWindowLog. Default 27 (128 MiB); at least 27 supported. */
  maxWindowLog?: number;
  /** Refuse to produce more than this many bytes in total (ZSTD_FRAME_TOO_LARGE). Default: unlimited. */
  maxOutput?: number;
}

/**
 * Streaming compressor where the caller decides where frames end. A frame's bytes depend only on
 * the bytes written into it (and the options), never on how they were split into `write` calls.
 *
 * @example
 * ```ts
 * const c = zstd.createCompressor({ level: 10 });
 * const parts = [c.write(fileA), c.endFrame(), c.write(fileB), c.endFrame()]; // two frames
 * c.free();
 * ```
 */
export interface ZstdCompressor {
  /** Compress `data` into the current frame (starting one if needed); returns the output produced now (may be empty). */
  write(data: Uint8Array): Uint8Array;
  /** End the current frame and return its remaining bytes. Empty when nothing was written since the last end (no empty frames). */
  endFrame(): Uint8Array;
  /**
   * Like {@link write}, but hands the output to `out` piece by piece as views into WASM memory,
   * valid only during the call (copy what you keep; do not call into zstd from `out`). Nothing is
   * allocated per call, which matters for a stream of small frames.
   */
  writeTo(data: Uint8Array, out: (view: Uint8Array) => void): void;
  /** Like {@link endFrame}, with the output handed to `out` as in {@link writeTo}. */
  endFrameTo(out: (view: Uint8Array) => void): void;
  /** Compressed bytes produced so far. */
  readonly bytesOut: number;
  /** Release the WASM-side context. Further use throws ZSTD_BAD_USAGE. */
  free(): void;
}

/**
 * Streaming decompressor over concatenated frames; skippable frames are skipped.
 *
 * @example
 * ```ts
 * const d = zstd.createDecompressor({ maxOutput: 1 << 30 });
 * for await (const piece of body) sink(d.write(piece));
 * d.end(); // throws ZSTD_TRUNCATED if the input stopped inside a frame
 * d.free();
 * ```
 */
export interface ZstdDecompressor {
  /** Feed compressed bytes; returns the decompressed output produced now (may be empty). */
  write(data: Uint8Array): Uint8Array;
  /**
   * Like {@link write}, but hands the output to `out` piece by piece as views into WASM memory,
   * valid only during the call (copy what you keep; do not call into zstd from `out`). Nothing is
   * allocated per call: a long stream then leaves no garbage buffers behind.
   */
  writeTo(data: Uint8Array, out: (view: Uint8Array) => void): void;
  /** Declare end of input. Throws ZSTD_TRUNCATED unless input ended on a frame boundary. */
  end(): void;
  free(): void;
}

/**
 * The zstd engine. One instance owns one WASM instance; it is not re-entrant but any number of
 * compressors and decompressors may be open at once.
 *
 * @example
 * ```ts
 * const blob = concat(zstd.compress(a), skippableFrame(meta), zstd.compress(b));
 * zstd.decompress(blob);                 // a + b
 * const n = zstd.frameSizeAt(blob, 0);   // compressed size of the first frame
 * zstd.decompressFrameAt(blob, n + 8 + meta.length).data; // b
 * ```
 */
export interface Zstd {
  /**
   * One complete frame. A list of arrays is compressed as their concatenation (same bytes),
   * without building it.
   */
  compress(data: Uint8Array | readonly Uint8Array[], options?: ZstdCompressOptions): Uint8Array;
  /** All frames of `data` concatenated, skippable frames skipped. */
  decompress(data: Uint8Array, options?: ZstdDecompressOptions): Uint8Array;
  createCompressor(options?: ZstdCompressorOptions): ZstdCompressor;
  createDecompressor(options?: ZstdDecompressOptions): ZstdDecompressor;
  /** Decompress exactly the one (non-skippable) frame starting at `offset`; `frameSize` is its compressed length. */
  decompressFrameAt(blob: Uint8Array, offset: number, options?: ZstdDecompressOptions): { data: Uint8Array; frameSize: number };
  /** Compressed size of the frame (zstd or skippable) starting at `offset`. */
  frameSizeAt(blob: Uint8Array, offset: number): number;
}

/**
 * Instantiate the zstd WASM (`wasm/zstd.wasm`): bytes, a compiled module, a URL or a Response.
 *
 * @example
 * ```ts
 * const zstd = await loadZstd(await readFile(new URL("../wasm/zstd.wasm", import.meta.url)));
 * ```
 */
export async function loadZstd(source: WasmSource): Promise<Zstd> {
  return (await instantiateZstd(source)).zstd;
}

/**
 * Instantiate `wasm/zstd.wasm` once: the zstd engine, and the instance's exports for the other
 * codec linked into the same module (libdeflate: src/wasm/deflate.ts), which shares its heap.
 */
export async function instantiateZstd(source: WasmSource): Promise<{ zstd: Zstd; exports: WebAssembly.Exports }> {
  let onGrow = (): void => {};
  const instance = await instantiateWasm(source, { env: { emscripten_notify_memory_growth: () => onGrow() } }, "zstd.wasm");
  const engine = new ZstdEngine(instance.exports as unknown as Exports);
  onGrow = () => engine.refreshViews();
  return { zstd: engine, exports: instance.exports };
}

// ---------------------------------------------------------------------------------------------

/** What wasm/zstd.wasm exports. `size_t` results are i32 here: negative values are zstd errors. */
interface Exports {
  memory: WebAssembly.Memory;
  _initialize?: () => void;
  lk_io(): number;
  lk_malloc(size: number): number;
  lk_free(ptr: number): void;
  lk_error_name(result: number): number;
  lk_version(): number;
  lk_min_level(): number;
  lk_max_level(): number;
  lk_comp_create(level: number, checksum: number, compact: number, windowLog: number): number;
  lk_comp_params(comp: number, level: number, checksum: number): void;
  lk_comp_begin(comp: number, pledged: number): number;
  lk_comp_space(comp: number): number;
  lk_comp_wptr(comp: number): number;
  lk_comp_commit(comp: number, n: number, dst: number, dstCap: number): number;
  lk_comp_end(comp: number, dst: number, dstCap: number): number;
  lk_comp_reset(comp: number): void;
  lk_comp_trim(comp: number, keep: number): void;
  lk_comp_free(comp: number): void;
  lk_dctx_params(dctx: number, maxWindowLog: number): number;
  lk_dctx_create(maxWindowLog: number): number;
  lk_dctx_reset(dctx: number): void;
  lk_dctx_free(dctx: number): void;
  lk_decompress(dctx: number, src: number, srcSize: number, dst: number, dstCap: number): number;
  lk_decompress_frame(dctx: number, dst: number, dstCap: number, src: number, srcSize: number): number;
  lk_frame_compressed_size(src: number, srcSize: number): number;
}

const ZSTD_MAGIC = 0xfd2fb528;
const BLOCK_SIZE_MAX = 128 * 1024;
/** Input is fed to WASM in pieces of this size through one reusable buffer. */
const IN_CHUNK = 1 << 20;
/** Reusable output buffer; ≥ compressBound(1 MiB chunk + 1 block), what one commit can produce. */
const OUT_CAP = 4 << 20;
/** Frames with a known content size up to this are decoded in one shot (no window buffer). */
const ONE_SHOT_MAX = 64 << 20;
/** Scratch buffers grown past this (one-shot frames) are released after use. */
const SCRATCH_KEEP = 8 << 20;
const DEFAULT_LEVEL = 3;
const DEFAULT_WINDOW_LOG = 27;
const WINDOW_LOG_MIN = 10;
/** ZSTD_WINDOWLOG_MAX_32: the most a 32-bit (WASM) libzstd accepts. */
const WINDOW_LOG_MAX = 30;

// zstd_errors.h
const E_WINDOW_TOO_LARGE = 16;
const E_CHECKSUM_WRONG = 22;
const E_PARAMETER_FIRST = 40;
const E_PARAMETER_LAST = 49;
const E_STABILITY = 50;
const E_STAGE_WRONG = 60;
const E_INIT_MISSING = 62;
const E_MEMORY = 64;
const E_DST_TOO_SMALL = 70;
const E_SRC_SIZE_WRONG = 72;
/** libzstd's ZSTD_error_maxCode: a size_t result is an error only within this many of 2^32. */
const ERROR_MAX_CODE = 120;

/**
 * A size_t result crosses the WASM boundary as a signed i32: values ≥ 2^31 (a skippable frame's
 * length as the next-input hint, large sizes) read as negative. As ZSTD_isError does, only the
 * top {@link ERROR_MAX_CODE} values are errors; everything else is a size, read unsigned.
 */
function isZstdError(r: number): boolean {
  return r < 0 && r > -ERROR_MAX_CODE;
}

/** Where a decompression stands: output so far, its bound, libzstd's last result, the frame structure seen. */
interface DecodeState {
  total: number;
  limit: number;
  last: number;
  /** Tracks frame structure so a skippable frame's length is not taken for an error code. */
  frames?: SkippableSpans;
}

/**
 * The skippable frames of a stream, as `[start, end)` input offsets, scanned a chunk ahead of the
 * decoder. Whether a result in the error range is a skippable frame's length must be decided at
 * the decoder's own input position: the scanner has already read to the end of the chunk, which
 * may lie in a later skippable frame (every zstd:chunked blob ends in them), and judging by its
 * state there took real corruption in the payload for a skippable length.
 */
class SkippableSpans {
  readonly #scanner = new ZstdFrameScanner(NO_MARKS);
  /** Flat [start, end, start, end, …] from #head on; earlier pairs are behind the decoder. */
  #spans: number[] = [];
  #head = 0;

  constructor() {
    this.#scanner.onSkippable = (start, end) => void this.#spans.push(start, end);
  }

  /** Input offset of the next byte pushed. */
  get position(): number {
    return this.#scanner.position;
  }

  push(data: Uint8Array): void {
    this.#scanner.push(data);
  }

  /** True when input offset `at` (the decoder's position) lies in a skippable frame (at its end, the next frame's magic is read). */
  contains(at: number): boolean {
    this.forgetBefore(at);
    return this.#head < this.#spans.length && this.#spans[this.#head]! <= at;
  }

  /** Drops the spans that end at or before `at` (the decoder never goes back). */
  forgetBefore(at: number): void {
    const s = this.#spans;
    while (this.#head < s.length && s[this.#head + 1]! <= at) this.#head += 2;
    if (this.#head > 1024 && this.#head * 2 > s.length) {
      this.#spans = s.slice(this.#head);
      this.#head = 0;
    }
  }
}

const NO_MARKS: ReadonlySet<number> = new Set();

const registry: FinalizationRegistry<() => void> | undefined = typeof FinalizationRegistry === "function"
  ? new FinalizationRegistry((release) => release())
  : undefined;

interface FrameInfo {
  skippable: boolean;
  /** Compressed size, header (and checksum) included. */
  frameSize: number;
  /** Decompressed size from the header, or -1 when the header does not carry it. */
  contentSize: number;
  windowSize: number;
  checksum: boolean;
}

/** Output collector: copies WASM output straight into a preallocated array when the size is known. */
class Sink {
  private parts: Uint8Array[] = [];
  private target: Uint8Array | undefined;
  length = 0;

  constructor(expected = -1) {
    if (expected > 0) {
      try {
        this.target = new Uint8Array(expected);
      } catch {
        this.target = undefined; // a bogus size from a corrupt header: fall back to pieces
      }
    }
  }

  /** `view` points into WASM memory: it is copied. */
  push(view: Uint8Array): void {
    const t = this.target;
    if (t && this.length + view.length <= t.length) {
      t.set(view, this.length);
    } else {
      if (t) {
        this.parts.push(t.subarray(0, this.length));
        this.target = undefined;
      }
      this.parts.push(view.slice());
    }
    this.length += view.length;
  }

  result(): Uint8Array {
    const t = this.target;
    if (t) return this.length === t.length ? t : t.slice(0, this.length);
    const parts = this.parts;
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

class ZstdEngine implements Zstd {
  private readonly x: Exports;
  private readonly memory: WebAssembly.Memory;
  private u8!: Uint8Array;
  private io!: Uint32Array;
  private readonly ioPtr: number;
  private inPtr = 0;
  private inCap = 0;
  private outPtr = 0;
  private outCap = 0;
  private sharedComp = 0;
  private sharedDctx = 0;
  private readonly minLevel: number;
  private readonly maxLevel: number;

  constructor(exports: Exports) {
    this.x = exports;
    this.memory = exports.memory;
    exports._initialize?.();
    this.refreshViews();
    this.ioPtr = exports.lk_io() >>> 0;
    this.minLevel = exports.lk_min_level();
    this.maxLevel = exports.lk_max_level();
  }

  refreshViews(): void {
    const buf = this.memory.buffer;
    this.u8 = new Uint8Array(buf);
    this.io = new Uint32Array(buf, 0, buf.byteLength >>> 2);
  }

  /** The heap, re-viewed if memory grew since the last look. */
  heap(): Uint8Array {
    if (this.u8.buffer !== this.memory.buffer) this.refreshViews();
    return this.u8;
  }

  private ioIn(): number {
    this.heap();
    return this.io[this.ioPtr >>> 2]!;
  }

  private ioOut(): number {
    return this.io[(this.ioPtr >>> 2) + 1]!;
  }

  // ---- scratch buffers ----

  private ensureIn(size: number): number {
    if (size > this.inCap || this.inPtr === 0) {
      const cap = Math.max(size, IN_CHUNK);
      const p = this.x.lk_malloc(cap) >>> 0;
      if (p === 0) throw oom(cap);
      if (this.inPtr) this.x.lk_free(this.inPtr);
      this.inPtr = p;
      this.inCap = cap;
    }
    return this.inPtr;
  }

  private ensureOut(size: number): number {
    if (size > this.outCap || this.outPtr === 0) {
      const cap = Math.max(size, OUT_CAP);
      const p = this.x.lk_malloc(cap) >>> 0;
      if (p === 0) throw oom(cap);
      if (this.outPtr) this.x.lk_free(this.outPtr);
      this.outPtr = p;
      this.outCap = cap;
    }
    return this.outPtr;
  }

  /** Give back scratch space grown for one large frame. */
  private trimScratch(): void {
    if (this.inCap > SCRATCH_KEEP) {
      this.x.lk_free(this.inPtr);
      this.inPtr = 0;
      this.inCap = 0;
    }
    if (this.outCap > SCRATCH_KEEP) {
      this.x.lk_free(this.outPtr);
      this.outPtr = 0;
      this.outCap = 0;
    }
  }

  // ---- errors ----

  errorName(result: number): string {
    const p = this.x.lk_error_name(result) >>> 0;
    const h = this.heap();
    let e = p;
    while (e < h.length && h[e] !== 0 && e - p < 200) e++;
    let s = "";
    for (let i = p; i < e; i++) s += String.fromCharCode(h[i]!);
    return s;
  }

  /** Map a negative zstd result to a LayerkitError. */
  error(result: number, op: "compress" | "decompress", details: Record<string, unknown> = {}): LayerkitError {
    const code = -result;
    const name = this.errorName(result);
    let kind: ErrorCode;
    if (code === E_MEMORY) kind = "ZSTD_OUT_OF_MEMORY";
    else if (op === "decompress") {
      if (code === E_WINDOW_TOO_LARGE) kind = "ZSTD_WINDOW_TOO_LARGE";
      else if (code === E_STAGE_WRONG || code === E_INIT_MISSING || code === E_STABILITY) kind = "ZSTD_BAD_USAGE";
      else if (code < E_PARAMETER_FIRST || code === E_DST_TOO_SMALL || code === E_SRC_SIZE_WRONG || (code >= 44 && code <= 48)) {
        kind = "ZSTD_CORRUPT";
      } else kind = "ZSTD_INTERNAL";
    } else {
      if (code >= E_PARAMETER_FIRST && code <= E_PARAMETER_LAST) kind = "BAD_ARGUMENT";
      else if (code === E_STAGE_WRONG || code === E_INIT_MISSING || code === E_SRC_SIZE_WRONG) kind = "ZSTD_BAD_USAGE";
      else kind = "ZSTD_INTERNAL";
    }
    const what = code === E_CHECKSUM_WRONG ? "content checksum mismatch" : name;
    return new LayerkitError(kind, `zstd ${op}: ${what}`, { ...details, zstdError: code, zstdErrorName: name });
  }

  // ---- options ----

  level(options: ZstdCompressOptions | undefined): number {
    const level = options?.level ?? DEFAULT_LEVEL;
    if (!Number.isInteger(level) || level < this.minLevel || level > this.maxLevel) {
      throw new LayerkitError("BAD_ARGUMENT", `zstd level must be an integer in ${this.minLevel}..${this.maxLevel}, got ${level}`, {
        level,
      });
    }
    return level;
  }

  // ---- contexts ----

  newComp(level: number, checksum: boolean, compact = false, windowLog = 0): number {
    const c = this.x.lk_comp_create(level, checksum ? 1 : 0, compact ? 1 : 0, windowLog) >>> 0;
    if (c === 0) throw oom(0, "cannot allocate a zstd compression context");
    return c;
  }

  newDctx(windowLog: number): number {
    const d = this.x.lk_dctx_create(windowLog) >>> 0;
    if (d === 0) throw oom(0, "cannot allocate a zstd decompression context");
    return d;
  }

  freeComp(c: number): void {
    this.x.lk_comp_free(c);
  }

  freeDctx(d: number): void {
    this.x.lk_dctx_free(d);
  }

  resetDctx(d: number): void {
    this.x.lk_dctx_reset(d);
  }

  private sharedC(level: number, checksum: boolean): number {
    if (!this.sharedComp) this.sharedComp = this.newComp(level, checksum);
    else this.x.lk_comp_params(this.sharedComp, level, checksum ? 1 : 0);
    return this.sharedComp;
  }

  private sharedD(windowLog: number): number {
    if (!this.sharedDctx) this.sharedDctx = this.newDctx(windowLog);
    else {
      const r = this.x.lk_dctx_params(this.sharedDctx, windowLog);
      if (isZstdError(r)) throw this.error(r, "decompress");
    }
    return this.sharedDctx;
  }

  // ---- streaming loops (the hot paths) ----

  /** Start a frame on `comp`; `pledged` is its exact content size, or -1. */
  beginFrame(comp: number, pledged: number): void {
    const r = this.x.lk_comp_begin(comp, pledged);
    if (isZstdError(r)) {
      this.x.lk_comp_reset(comp);
      throw this.error(r, "compress");
    }
  }

  /**
   * Feed `data` into the frame in progress on `comp` (JS writes straight into the compressor's
   * ring buffer in WASM memory); with `end`, finish the frame too. Output goes to `out` as views
   * into WASM memory; returns the number of bytes produced.
   * On error the frame is dropped and the error thrown.
   */
  compressInto(comp: number, data: Uint8Array | readonly Uint8Array[], end: boolean, out: (view: Uint8Array) => void): number {
    let produced = 0;
    try {
      const x = this.x;
      const outPtr = this.ensureOut(OUT_CAP);
      const outCap = this.outCap;
      const one = data instanceof Uint8Array ? data : undefined;
      const parts = one ? undefined : (data as readonly Uint8Array[]);
      const n = one ? one.length : totalLength(parts!);
      // Cursor into `parts`: the ring is filled with the same amounts as for their concatenation,
      // so the frame is the same bytes.
      let part = 0;
      let partOff = 0;
      for (let off = 0; off < n;) {
        const space = x.lk_comp_space(comp);
        if (space <= 0) throw new LayerkitError("ZSTD_INTERNAL", "zstd compress: no room in the input ring");
        const take = Math.min(space, n - off);
        const wptr = x.lk_comp_wptr(comp) >>> 0;
        if (one) this.heap().set(one.subarray(off, off + take), wptr);
        else {
          const heap = this.heap();
          for (let at = wptr, left = take; left > 0;) {
            const p = parts![part]!;
            const k = Math.min(p.length - partOff, left);
            heap.set(p.subarray(partOff, partOff + k), at);
            at += k;
            left -= k;
            partOff += k;
            if (partOff === p.length) {
              part++;
              partOff = 0;
            }
          }
        }
        const r = x.lk_comp_commit(comp, take, outPtr, outCap) >>> 0;
        if (isZstdError(r | 0)) throw this.error(r, "compress");
        if (r > 0) {
          out(this.heap().subarray(outPtr, outPtr + r));
          produced += r;
        }
        off += take;
      }
      if (end) {
        const r = x.lk_comp_end(comp, outPtr, outCap) >>> 0;
        if (isZstdError(r | 0)) throw this.error(r, "compress");
        if (r > 0) {
          out(this.heap().subarray(outPtr, outPtr + r));
          produced += r;
        }
      }
      return produced;
    } catch (e) {
      this.x.lk_comp_reset(comp);
      throw wrap(e);
    }
  }

  /**
   * Feed `data` to `dctx`; output goes to `sink`, at most `limit - state.total` more bytes.
   * Returns libzstd's last result: 0 when the input stopped on a frame boundary.
   * On error the context is reset and the error thrown.
   */
  decompressInto(dctx: number, data: Uint8Array, sink: { push(view: Uint8Array): void }, state: DecodeState): void {
    try {
      const x = this.x;
      const inPtr = this.ensureIn(IN_CHUNK);
      const outPtr = this.ensureOut(OUT_CAP);
      const outCap = this.outCap;
      const n = data.length;
      for (let off = 0; off < n;) {
        const take = Math.min(n - off, IN_CHUNK);
        this.heap().set(data.subarray(off, off + take), inPtr);
        const chunkStart = state.frames?.position ?? 0;
        state.frames?.push(data.subarray(off, off + take));
        let done = 0;
        for (;;) {
          const room = state.limit - state.total;
          const cap = room < outCap ? room + 1 : outCap;
          const raw = x.lk_decompress(dctx, inPtr + done, take - done, outPtr, cap);
          const consumed = this.ioIn();
          const produced = this.ioOut();
          // A skippable frame's remaining length as the next-input hint can fall in the error range.
          if (isZstdError(raw) && !state.frames?.contains(chunkStart + done + consumed)) {
            throw this.error(raw, "decompress", { offset: off + done });
          }
          const r = raw >>> 0;
          done += consumed;
          state.last = r;
          if (produced > 0) {
            state.total += produced;
            if (state.total > state.limit) {
              throw new LayerkitError("ZSTD_FRAME_TOO_LARGE", `zstd decompress: output exceeds maxOutput (${state.limit} bytes)`, {
                maxOutput: state.limit,
              });
            }
            sink.push(this.u8.subarray(outPtr, outPtr + produced));
          }
          if (done === take) {
            // Input consumed: call again only to drain output that did not fit.
            if (produced < cap || r === 0) break;
          } else if (consumed === 0 && produced === 0) {
            throw new LayerkitError("ZSTD_INTERNAL", "zstd decompress: no progress");
          }
        }
        off += take;
        state.frames?.forgetBefore(chunkStart + take);
      }
    } catch (e) {
      this.x.lk_dctx_reset(dctx);
      state.last = 0;
      throw wrap(e);
    }
  }

  // ---- public API ----

  compress(data: Uint8Array | readonly Uint8Array[], options?: ZstdCompressOptions): Uint8Array {
    const level = this.level(options);
    const comp = this.sharedC(level, options?.checksum ?? true);
    // The size goes into the frame header and tunes the parameters, as with ZSTD_compress().
    this.beginFrame(comp, data instanceof Uint8Array ? data.length : totalLength(data));
    const sink = new Sink();
    try {
      this.compressInto(comp, data, true, (view) => sink.push(view));
    } finally {
      this.x.lk_comp_trim(comp, SCRATCH_KEEP);
    }
    return sink.result();
  }

  decompress(data: Uint8Array, options?: ZstdDecompressOptions): Uint8Array {
    const { windowLog, limit } = decompressOptions(options);
    const expected = expectedSize(data);
    if (expected > limit) {
      throw new LayerkitError("ZSTD_FRAME_TOO_LARGE", `zstd decompress: frames declare ${expected} bytes, over maxOutput (${limit})`, {
        maxOutput: limit,
        declared: expected,
      });
    }
    const dctx = this.sharedD(windowLog);
    const sink = new Sink(expected);
    const state: DecodeState = { total: 0, limit, last: 0, frames: new SkippableSpans() };
    this.decompressInto(dctx, data, sink, state);
    if (state.last !== 0) {
      this.x.lk_dctx_reset(dctx);
      throw new LayerkitError("ZSTD_TRUNCATED", "zstd decompress: input ends inside a frame", { size: data.length });
    }
    return sink.result();
  }

  decompressFrameAt(blob: Uint8Array, offset: number, options?: ZstdDecompressOptions): { data: Uint8Array; frameSize: number } {
    const { windowLog, limit } = decompressOptions(options);
    const info = scanFrame(blob, offset);
    if (info.skippable) {
      throw new LayerkitError("ZSTD_BAD_USAGE", `zstd: the frame at ${offset} is a skippable frame, not a zstd frame`, {
        offset,
        frameSize: info.frameSize,
      });
    }
    if (info.windowSize > 2 ** windowLog) {
      throw new LayerkitError(
        "ZSTD_WINDOW_TOO_LARGE",
        `zstd: frame at ${offset} needs a ${info.windowSize}-byte window, over 2^${windowLog}`,
        {
          offset,
          windowSize: info.windowSize,
          maxWindowLog: windowLog,
        },
      );
    }
    if (info.contentSize > limit) {
      throw new LayerkitError(
        "ZSTD_FRAME_TOO_LARGE",
        `zstd: frame at ${offset} declares ${info.contentSize} bytes, over maxOutput (${limit})`,
        {
          offset,
          declared: info.contentSize,
          maxOutput: limit,
        },
      );
    }
    const frame = blob.subarray(offset, offset + info.frameSize);
    const dctx = this.sharedD(windowLog);
    if (info.contentSize >= 0 && info.contentSize <= ONE_SHOT_MAX) {
      const data = this.oneShot(dctx, frame, info.contentSize, offset);
      if (data) return { data, frameSize: info.frameSize };
    }
    const sink = new Sink(info.contentSize);
    const state = { total: 0, limit, last: 0 };
    this.decompressInto(dctx, frame, sink, state);
    if (state.last !== 0) {
      this.x.lk_dctx_reset(dctx);
      throw new LayerkitError("ZSTD_TRUNCATED", `zstd: frame at ${offset} is incomplete`, { offset });
    }
    return { data: sink.result(), frameSize: info.frameSize };
  }

  /** Decode one frame with a known content size in a single call; undefined when memory is short. */
  private oneShot(dctx: number, frame: Uint8Array, size: number, offset: number): Uint8Array | undefined {
    let inPtr: number, outPtr: number;
    try {
      inPtr = this.ensureIn(frame.length);
      outPtr = this.ensureOut(size);
    } catch (e) {
      if (e instanceof LayerkitError && e.code === "ZSTD_OUT_OF_MEMORY") return undefined;
      throw e;
    }
    try {
      this.heap().set(frame, inPtr);
      const raw = this.x.lk_decompress_frame(dctx, outPtr, Math.max(size, 1), inPtr, frame.length);
      if (isZstdError(raw)) throw this.error(raw, "decompress", { offset });
      const r = raw >>> 0;
      if (r !== size) {
        throw new LayerkitError("ZSTD_CORRUPT", `zstd: frame at ${offset} decoded to ${r} bytes, its header says ${size}`, {
          offset,
          declared: size,
          actual: r,
        });
      }
      return this.heap().slice(outPtr, outPtr + size);
    } catch (e) {
      this.x.lk_dctx_reset(dctx);
      throw wrap(e);
    } finally {
      this.trimScratch();
    }
  }

  frameSizeAt(blob: Uint8Array, offset: number): number {
    return scanFrame(blob, offset).frameSize;
  }

  createCompressor(options?: ZstdCompressorOptions): ZstdCompressor {
    const level = this.level(options);
    const windowLog = options?.windowLog ?? 0;
    if (windowLog !== 0 && (!Number.isInteger(windowLog) || windowLog < WINDOW_LOG_MIN || windowLog > WINDOW_LOG_MAX)) {
      throw new LayerkitError(
        "BAD_ARGUMENT",
        `zstd windowLog must be an integer in ${WINDOW_LOG_MIN}..${WINDOW_LOG_MAX}, got ${windowLog}`,
        { windowLog },
      );
    }
    return new Compressor(this, level, options?.checksum ?? true, options?.compact ?? false, windowLog);
  }

  createDecompressor(options?: ZstdDecompressOptions): ZstdDecompressor {
    const { windowLog, limit } = decompressOptions(options);
    return new Decompressor(this, windowLog, limit);
  }
}

class Compressor implements ZstdCompressor {
  private ctx: number;
  private inFrame = false;
  private out = 0;
  private readonly token = {};

  constructor(private readonly engine: ZstdEngine, level: number, checksum: boolean, compact: boolean, windowLog: number) {
    const ctx = engine.newComp(level, checksum, compact, windowLog);
    this.ctx = ctx;
    registry?.register(this, () => engine.freeComp(ctx), this.token);
  }

  get bytesOut(): number {
    return this.out;
  }

  private live(op: string): number {
    if (!this.ctx) throw new LayerkitError("ZSTD_BAD_USAGE", `zstd compressor: ${op} after free()`);
    return this.ctx;
  }

  write(data: Uint8Array): Uint8Array {
    const sink = new Sink();
    this.writeTo(data, (view) => sink.push(view));
    return sink.result();
  }

  endFrame(): Uint8Array {
    const sink = new Sink();
    this.endFrameTo((view) => sink.push(view));
    return sink.result();
  }

  writeTo(data: Uint8Array, out: (view: Uint8Array) => void): void {
    const ctx = this.live("write");
    if (data.length === 0) return;
    if (!this.inFrame) this.engine.beginFrame(ctx, -1);
    this.inFrame = true;
    try {
      this.out += this.engine.compressInto(ctx, data, false, out);
    } catch (e) {
      this.inFrame = false;
      throw e;
    }
  }

  endFrameTo(out: (view: Uint8Array) => void): void {
    const ctx = this.live("endFrame");
    if (!this.inFrame) return;
    this.inFrame = false;
    this.out += this.engine.compressInto(ctx, EMPTY, true, out);
  }

  free(): void {
    if (!this.ctx) return;
    registry?.unregister(this.token);
    this.engine.freeComp(this.ctx);
    this.ctx = 0;
  }
}

class Decompressor implements ZstdDecompressor {
  private ctx: number;
  private ended = false;
  private readonly state: DecodeState;
  private readonly token = {};

  constructor(private readonly engine: ZstdEngine, windowLog: number, limit: number) {
    const ctx = engine.newDctx(windowLog);
    this.ctx = ctx;
    this.state = { total: 0, limit, last: 0, frames: new SkippableSpans() };
    registry?.register(this, () => engine.freeDctx(ctx), this.token);
  }

  private live(op: string): number {
    if (!this.ctx) throw new LayerkitError("ZSTD_BAD_USAGE", `zstd decompressor: ${op} after free()`);
    if (this.ended) throw new LayerkitError("ZSTD_BAD_USAGE", `zstd decompressor: ${op} after end()`);
    return this.ctx;
  }

  write(data: Uint8Array): Uint8Array {
    const ctx = this.live("write");
    if (data.length === 0) return new Uint8Array(0);
    const sink = new Sink();
    this.engine.decompressInto(ctx, data, sink, this.state);
    return sink.result();
  }

  writeTo(data: Uint8Array, out: (view: Uint8Array) => void): void {
    const ctx = this.live("write");
    if (data.length === 0) return;
    this.engine.decompressInto(ctx, data, { push: out }, this.state);
  }

  end(): void {
    const ctx = this.live("end");
    this.ended = true;
    if (this.state.last !== 0) {
      this.engine.resetDctx(ctx);
      this.state.last = 0;
      throw new LayerkitError("ZSTD_TRUNCATED", "zstd decompress: input ended inside a frame", { decompressed: this.state.total });
    }
  }

  free(): void {
    if (!this.ctx) return;
    registry?.unregister(this.token);
    this.engine.freeDctx(this.ctx);
    this.ctx = 0;
  }
}

const EMPTY = new Uint8Array(0);

function totalLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

function oom(size: number, message?: string): LayerkitError {
  return new LayerkitError("ZSTD_OUT_OF_MEMORY", message ?? `zstd: cannot allocate ${size} bytes of WASM memory`, { size });
}

/** Anything but a LayerkitError escaping WASM (a trap) becomes ZSTD_INTERNAL. */
function wrap(e: unknown): unknown {
  if (e instanceof LayerkitError) return e;
  if (e instanceof RangeError && /memory|allocat/i.test(e.message)) {
    return new LayerkitError("ZSTD_OUT_OF_MEMORY", `zstd: ${e.message}`, {}, { cause: e });
  }
  return new LayerkitError("ZSTD_INTERNAL", `zstd: ${(e as Error)?.message ?? String(e)}`, {}, { cause: e });
}

function decompressOptions(options: ZstdDecompressOptions | undefined): { windowLog: number; limit: number } {
  const windowLog = options?.maxWindowLog ?? DEFAULT_WINDOW_LOG;
  if (!Number.isInteger(windowLog) || windowLog < WINDOW_LOG_MIN || windowLog > WINDOW_LOG_MAX) {
    throw new LayerkitError(
      "BAD_ARGUMENT",
      `zstd maxWindowLog must be an integer in ${WINDOW_LOG_MIN}..${WINDOW_LOG_MAX}, got ${windowLog}`,
      { maxWindowLog: windowLog },
    );
  }
  const limit = options?.maxOutput ?? Infinity;
  if (typeof limit !== "number" || Number.isNaN(limit) || limit < 0) {
    throw new LayerkitError("BAD_ARGUMENT", `zstd maxOutput must be a non-negative number, got ${limit}`, { maxOutput: limit });
  }
  return { windowLog, limit };
}

/** Sum of the content sizes the frames of `data` declare; -1 when any is unknown or the scan fails. */
function expectedSize(data: Uint8Array): number {
  let total = 0;
  try {
    for (let off = 0; off < data.length;) {
      const f = scanFrame(data, off);
      if (!f.skippable) {
        if (f.contentSize < 0) return -1;
        total += f.contentSize;
      }
      off += f.frameSize;
    }
  } catch {
    return -1;
  }
  return total;
}

function u32le(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/**
 * Walk the frame at `offset` (RFC 8878 §3.1): header, block headers, checksum. Pure JS, so the
 * blob is never copied to find a frame's end.
 */
function scanFrame(b: Uint8Array, offset: number): FrameInfo {
  if (!Number.isInteger(offset) || offset < 0 || offset > b.length) {
    throw new LayerkitError("OUT_OF_RANGE", `zstd: frame offset ${offset} outside 0..${b.length}`, { offset, size: b.length });
  }
  const need = (end: number, what: string): void => {
    if (end > b.length) {
      throw new LayerkitError(
        "ZSTD_TRUNCATED",
        `zstd: ${what} of the frame at ${offset} runs past the end of the data (${b.length} bytes)`,
        { offset, size: b.length },
      );
    }
  };
  need(offset + 4, "magic number");
  const magic = u32le(b, offset);
  if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
    need(offset + 8, "skippable frame header");
    const frameSize = 8 + u32le(b, offset + 4);
    need(offset + frameSize, "skippable frame payload");
    return { skippable: true, frameSize, contentSize: 0, windowSize: 0, checksum: false };
  }
  if (magic !== ZSTD_MAGIC) {
    throw new LayerkitError("ZSTD_CORRUPT", `zstd: no zstd frame at ${offset} (magic 0x${magic.toString(16).padStart(8, "0")})`, {
      offset,
      magic,
    });
  }
  need(offset + 5, "frame header");
  const fhd = b[offset + 4]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const checksum = ((fhd >> 2) & 1) === 1;
  const dictFlag = fhd & 3;
  if (fhd & 8) throw new LayerkitError("ZSTD_CORRUPT", `zstd: reserved bit set in the frame header at ${offset}`, { offset });
  const fcsSize = fcsFlag === 0 ? single : 1 << fcsFlag;
  const headerSize = 5 + (single ? 0 : 1) + [0, 1, 2, 4][dictFlag]! + fcsSize;
  need(offset + headerSize, "frame header");
  let p = offset + 5;
  let windowSize = 0;
  if (!single) {
    const wd = b[p++]!;
    const base = 2 ** (10 + (wd >> 3));
    windowSize = base + (base / 8) * (wd & 7);
  }
  p += [0, 1, 2, 4][dictFlag]!;
  let contentSize = -1;
  if (fcsSize === 1) contentSize = b[p]!;
  else if (fcsSize === 2) contentSize = (b[p]! | (b[p + 1]! << 8)) + 256;
  else if (fcsSize === 4) contentSize = u32le(b, p);
  else if (fcsSize === 8) contentSize = u32le(b, p) + u32le(b, p + 4) * 2 ** 32;
  p = offset + headerSize;
  if (single) windowSize = contentSize;
  for (;;) {
    need(p + 3, "block header");
    const bh = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
    const type = (bh >> 1) & 3;
    const size = bh >>> 3;
    if (type === 3) throw new LayerkitError("ZSTD_CORRUPT", `zstd: reserved block type at ${p}`, { offset, at: p });
    if (size > BLOCK_SIZE_MAX) throw new LayerkitError("ZSTD_CORRUPT", `zstd: block of ${size} bytes at ${p}`, { offset, at: p });
    p += 3 + (type === 1 ? 1 : size);
    if (bh & 1) break;
    need(p, "block");
  }
  if (checksum) p += 4;
  need(p, "frame");
  return { skippable: false, frameSize: p - offset, contentSize, windowSize, checksum };
}
