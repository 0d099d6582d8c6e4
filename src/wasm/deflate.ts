/**
 * libdeflate 1.14 (raw DEFLATE and CRC-32), linked into `wasm/zstd.wasm` beside libzstd by
 * wasm/build-zstd.sh. This is its loader over the instance src/wasm/zstd.ts creates.
 *
 * libdeflate works on whole buffers, which fits eStargz: every member holds at most one chunk
 * (plus tar headers), so a member is compressed in one call, and an inflate reports the input it
 * consumed, which is where the member's DEFLATE stream ends. It is faster than zlib and gives
 * smaller output at the same level (see bench/RESULTS.md); being WASM, it gives the same bytes in
 * every runtime. A plain gzip layer (one member of any size) cannot be compressed in one buffer,
 * so that writer and every streaming inflate use zlib from the same module
 * (src/wasm/zlib-streams.ts, reached through {@link Deflate.inflateStream} and
 * {@link Deflate.deflateStream}).
 *
 * Failures are {@link LayerkitError}s: `BAD_ARGUMENT` (level outside 0–12), `GZIP_CORRUPT`
 * (invalid or truncated DEFLATE data: libdeflate cannot tell the two apart), the caller's limit
 * code when the output would exceed `maxOutput`, `ZSTD_OUT_OF_MEMORY` when the heap cannot grow.
 *
 * @module
 */
import { type ErrorCode, LayerkitError } from "../errors.js";
import { createZlibStreams, type DeflateStream, type InflateStream, type ZlibExports } from "./zlib-streams.js";

export type { DeflateStream, InflateStream } from "./zlib-streams.js";

/** Raw DEFLATE and CRC-32 from the compression core. */
export interface Deflate {
  /** One complete raw DEFLATE stream (final block set) of the concatenation of `data`, at `level` 0–12. */
  deflateRaw(data: Uint8Array | readonly Uint8Array[], level: number): Uint8Array;
  /**
   * Inflates the raw DEFLATE stream at the start of `src`: the output (at most `maxOutput` bytes,
   * else `limitCode`, default LIMIT_EXCEEDED) and how many bytes of `src` the stream took.
   */
  inflateRaw(src: Uint8Array, maxOutput: number, limitCode?: ErrorCode): { data: Uint8Array; consumed: number };
  /** CRC-32 (gzip's) of `data`, continuing from `crc`. */
  crc32(data: Uint8Array, crc?: number): number;
  /** A gzip member's body: {@link deflateRaw} plus the CRC-32 of the input, from one heap copy. */
  deflateMember(data: Uint8Array | readonly Uint8Array[], level: number): { body: Uint8Array; crc: number; size: number };
  /** {@link inflateRaw} plus the CRC-32 of the output, computed while it is in the heap. */
  inflateMember(src: Uint8Array, maxOutput: number, limitCode?: ErrorCode): { data: Uint8Array; consumed: number; crc: number };
  /** A streaming raw inflater (zlib) for streams of any size; free it when done. */
  inflateStream(): InflateStream;
  /** A streaming raw deflater (zlib, level 0–9) for streams of any size; free it when done. */
  deflateStream(level: number): DeflateStream;
}

/** The exports of wasm/zstd.wasm this loader uses. */
export interface DeflateExports extends ZlibExports {
  readonly memory: WebAssembly.Memory;
  lk_malloc(size: number): number;
  lk_free(ptr: number): void;
  lk_dfl_io(): number;
  lk_dfl_create(level: number): number;
  lk_dfl_bound(compressor: number, size: number): number;
  lk_dfl_compress(compressor: number, src: number, srcSize: number, dst: number, dstCap: number): number;
  lk_dfl_member(compressor: number, src: number, srcSize: number, dst: number, dstCap: number): number;
  lk_dfl_free(compressor: number): void;
  lk_inf_create(): number;
  lk_inf_decompress(decompressor: number, src: number, srcSize: number, dst: number, dstCap: number): number;
  lk_inf_member(decompressor: number, src: number, srcSize: number, dst: number, dstCap: number): number;
  lk_inf_free(decompressor: number): void;
  lk_crc32(crc: number, ptr: number, size: number): number;
}

/** True when the instance carries libdeflate and zlib (a zstd.wasm built before they were added does not). */
export function hasDeflate(exports: object): exports is DeflateExports {
  const x = exports as Partial<DeflateExports>;
  return typeof x.lk_dfl_member === "function" && typeof x.lk_zinf_run === "function";
}

/** libdeflate's `enum libdeflate_result`. */
const RESULT_SUCCESS = 0;
const RESULT_BAD_DATA = 1;
const RESULT_INSUFFICIENT_SPACE = 3;

/** Scratch buffers above this size are given back after the call that grew them. */
const SCRATCH_KEEP = 8 << 20;
/** Pieces fed to lk_crc32 at a time, so CRC-32 of a large buffer needs no large scratch. */
const CRC_PIECE = 1 << 20;

/** Builds the engine over an instance's exports (memory shared with the zstd engine). */
export function createDeflate(x: DeflateExports): Deflate {
  return new DeflateEngine(x);
}

class DeflateEngine implements Deflate {
  readonly #x: DeflateExports;
  readonly #io: number;
  readonly #zlib: ReturnType<typeof createZlibStreams>;
  readonly #compressors = new Map<number, number>();
  #decompressor = 0;
  #inPtr = 0;
  #inCap = 0;
  #outPtr = 0;
  #outCap = 0;

  constructor(x: DeflateExports) {
    this.#x = x;
    this.#io = x.lk_dfl_io() >>> 0;
    this.#zlib = createZlibStreams(x);
  }

  inflateStream(): InflateStream {
    return this.#zlib.inflateStream();
  }

  deflateStream(level: number): DeflateStream {
    return this.#zlib.deflateStream(level);
  }

  /** lk_dfl_io's [consumed, produced, crc] (size_t = 32 bits in wasm32). */
  #ioState(): [number, number, number] {
    const v = new Uint32Array(this.#x.memory.buffer, this.#io, 3);
    return [v[0]!, v[1]!, v[2]!];
  }

  #heap(): Uint8Array {
    return new Uint8Array(this.#x.memory.buffer);
  }

  #alloc(size: number): number {
    const p = this.#x.lk_malloc(Math.max(size, 1)) >>> 0;
    if (p === 0) throw new LayerkitError("ZSTD_OUT_OF_MEMORY", `the WASM heap cannot grow by ${size} bytes for deflate`, { size });
    return p;
  }

  #ensureIn(size: number): number {
    if (size > this.#inCap || this.#inPtr === 0) {
      const p = this.#alloc(size);
      if (this.#inPtr) this.#x.lk_free(this.#inPtr);
      this.#inPtr = p;
      this.#inCap = Math.max(size, 1);
    }
    return this.#inPtr;
  }

  #ensureOut(size: number): number {
    if (size > this.#outCap || this.#outPtr === 0) {
      const p = this.#alloc(size);
      if (this.#outPtr) this.#x.lk_free(this.#outPtr);
      this.#outPtr = p;
      this.#outCap = Math.max(size, 1);
    }
    return this.#outPtr;
  }

  #trim(): void {
    if (this.#inCap > SCRATCH_KEEP) {
      this.#x.lk_free(this.#inPtr);
      this.#inPtr = 0;
      this.#inCap = 0;
    }
    if (this.#outCap > SCRATCH_KEEP) {
      this.#x.lk_free(this.#outPtr);
      this.#outPtr = 0;
      this.#outCap = 0;
    }
  }

  #compressor(level: number): number {
    if (!Number.isInteger(level) || level < 0 || level > 12) {
      throw new LayerkitError("BAD_ARGUMENT", `libdeflate level must be an integer 0–12, got ${level}`, { level });
    }
    let c = this.#compressors.get(level);
    if (c === undefined) {
      c = this.#x.lk_dfl_create(level) >>> 0;
      if (c === 0) throw new LayerkitError("ZSTD_OUT_OF_MEMORY", `cannot allocate a libdeflate compressor (level ${level})`, { level });
      this.#compressors.set(level, c);
    }
    return c;
  }

  deflateRaw(data: Uint8Array | readonly Uint8Array[], level: number): Uint8Array {
    return this.deflateMember(data, level).body;
  }

  deflateMember(data: Uint8Array | readonly Uint8Array[], level: number): { body: Uint8Array; crc: number; size: number } {
    const c = this.#compressor(level);
    const parts = data instanceof Uint8Array ? [data] : data;
    let size = 0;
    for (const p of parts) size += p.length;
    try {
      const bound = this.#x.lk_dfl_bound(c, size) >>> 0;
      const inPtr = this.#ensureIn(size);
      const outPtr = this.#ensureOut(bound);
      let heap = this.#heap();
      let at = inPtr;
      for (const p of parts) {
        heap.set(p, at);
        at += p.length;
      }
      const n = this.#x.lk_dfl_member(c, inPtr, size, outPtr, bound) >>> 0;
      // The bound is libdeflate's own worst case, so 0 ("did not fit") cannot happen.
      if (n === 0) throw new LayerkitError("ZSTD_INTERNAL", "libdeflate output exceeded its own bound", { size, bound });
      heap = this.#heap();
      return { body: heap.slice(outPtr, outPtr + n), crc: this.#ioState()[2] >>> 0, size };
    } finally {
      this.#trim();
    }
  }

  inflateRaw(src: Uint8Array, maxOutput: number, limitCode: ErrorCode = "LIMIT_EXCEEDED"): { data: Uint8Array; consumed: number } {
    const { data, consumed } = this.#inflate(src, maxOutput, limitCode, false);
    return { data, consumed };
  }

  inflateMember(
    src: Uint8Array,
    maxOutput: number,
    limitCode: ErrorCode = "LIMIT_EXCEEDED",
  ): { data: Uint8Array; consumed: number; crc: number } {
    return this.#inflate(src, maxOutput, limitCode, true);
  }

  #inflate(
    src: Uint8Array,
    maxOutput: number,
    limitCode: ErrorCode,
    withCrc: boolean,
  ): { data: Uint8Array; consumed: number; crc: number } {
    if (!Number.isSafeInteger(maxOutput) || maxOutput < 0 || maxOutput > 0x7fff0000) {
      throw new LayerkitError("BAD_ARGUMENT", `inflate output bound must be an integer 0–${0x7fff0000}, got ${maxOutput}`, { maxOutput });
    }
    if (this.#decompressor === 0) {
      const d = this.#x.lk_inf_create() >>> 0;
      if (d === 0) throw new LayerkitError("ZSTD_OUT_OF_MEMORY", "cannot allocate a libdeflate decompressor");
      this.#decompressor = d;
    }
    try {
      const inPtr = this.#ensureIn(src.length);
      const outPtr = this.#ensureOut(maxOutput);
      this.#heap().set(src, inPtr);
      const d = this.#decompressor;
      const r = withCrc
        ? this.#x.lk_inf_member(d, inPtr, src.length, outPtr, maxOutput)
        : this.#x.lk_inf_decompress(d, inPtr, src.length, outPtr, maxOutput);
      if (r === RESULT_INSUFFICIENT_SPACE) {
        throw new LayerkitError(limitCode, `inflated data exceeds ${maxOutput} bytes`, { maxOutput });
      }
      if (r === RESULT_BAD_DATA) {
        throw new LayerkitError("GZIP_CORRUPT", "invalid or truncated DEFLATE data", { inputSize: src.length });
      }
      if (r !== RESULT_SUCCESS) throw new LayerkitError("ZSTD_INTERNAL", `libdeflate returned ${r}`, { result: r });
      const [consumed, produced, crc] = this.#ioState();
      return { data: this.#heap().slice(outPtr, outPtr + produced), consumed, crc: crc >>> 0 };
    } finally {
      this.#trim();
    }
  }

  crc32(data: Uint8Array, crc = 0): number {
    const p = this.#ensureIn(Math.min(data.length, CRC_PIECE));
    let c = crc >>> 0;
    for (let i = 0; i < data.length; i += CRC_PIECE) {
      const piece = data.subarray(i, i + CRC_PIECE);
      this.#heap().set(piece, p);
      c = this.#x.lk_crc32(c, p, piece.length) >>> 0;
    }
    return c;
  }
}
