/**
 * Streaming raw DEFLATE over zlib 1.2.13, linked into `wasm/zstd.wasm` (wasm/zlib-glue.c): an
 * inflater that stops exactly at the end of a stream, for gzip members of any size, and a
 * deflater for plain gzip layers. libdeflate (src/wasm/deflate.ts) is faster but works on whole
 * buffers only; this is the path for one unbounded member.
 *
 * Both keep the CRC-32 of what passes through (computed in WASM while the bytes are there) and
 * give the same bytes in every runtime. The deflater is fed in fixed {@link DEFLATE_FEED} pieces
 * whatever the caller's write sizes, so its output is a function of the input and level only.
 *
 * Streams live in WASM memory: call `free()` when done (the gzip layer does, on every path).
 *
 * @module
 */
import { type ErrorCode, LayerkitError } from "../errors.js";

/** The exports of wasm/zstd.wasm these streams use. */
export interface ZlibExports {
  readonly memory: WebAssembly.Memory;
  lk_malloc(size: number): number;
  lk_free(ptr: number): void;
  lk_z_io(): number;
  lk_zinf_create(): number;
  lk_zinf_reset(z: number): number;
  lk_zinf_run(z: number, src: number, srcSize: number, dst: number, dstCap: number): number;
  lk_zdef_create(level: number): number;
  lk_zdef_bound(z: number, size: number): number;
  lk_zdef_run(z: number, src: number, srcSize: number, dst: number, dstCap: number, finish: number): number;
  lk_z_crc(z: number): number;
  lk_z_free(z: number): void;
}

/** True when the instance carries the zlib streams (a zstd.wasm built before they were added does not). */
export function hasZlib(exports: object): exports is ZlibExports {
  return typeof (exports as Partial<ZlibExports>).lk_zinf_run === "function";
}

/** One raw DEFLATE stream being inflated. */
export interface InflateStream {
  /**
   * Inflates from the start of `input` until it is used up or the DEFLATE stream ends, handing
   * each output piece to `out` (a view into WASM memory, valid only during the call). More than
   * `room` output bytes in total since the last reset throw `limitCode`. Returns the input bytes
   * consumed (all of them unless the stream ended) and whether the stream ended.
   */
  run(input: Uint8Array, room: number, limitCode: ErrorCode, out: (view: Uint8Array) => void): { consumed: number; ended: boolean };
  /** CRC-32 of the output since the last reset. */
  readonly crc: number;
  /** Output bytes since the last reset. */
  readonly produced: number;
  /** Starts a new stream (the next gzip member), keeping the allocation. */
  reset(): void;
  free(): void;
}

/** One raw DEFLATE stream being compressed. */
export interface DeflateStream {
  /** Compresses `data` (the caller may reuse it afterwards); returns the output produced so far. */
  write(data: Uint8Array): Uint8Array[];
  /** Ends the stream; returns the rest of the output. */
  end(): Uint8Array[];
  /** CRC-32 of the input. */
  readonly crc: number;
  /** Input bytes. */
  readonly size: number;
  free(): void;
}

const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_DATA_ERROR = -3;
const Z_MEM_ERROR = -4;
const Z_BUF_ERROR = -5;

/** Input bytes copied into WASM memory per inflate call. */
const INFLATE_IN = 64 << 10;
/** Output space per inflate call. */
const INFLATE_OUT = 256 << 10;
/** Fixed input piece per deflate call (a constant, so output cannot depend on write sizes). */
export const DEFLATE_FEED = 128 << 10;

function outOfMemory(what: string): LayerkitError {
  return new LayerkitError("ZSTD_OUT_OF_MEMORY", `the WASM heap cannot grow for ${what}`);
}

/**
 * Scratch buffers shared by every inflate stream of one instance: a call copies its input in and
 * hands its output out before returning, and zlib keeps no pointer into either between calls.
 */
class InflateScratch {
  readonly #x: ZlibExports;
  #in = 0;
  #out = 0;

  constructor(x: ZlibExports) {
    this.#x = x;
  }

  get in(): number {
    if (this.#in === 0) {
      this.#in = this.#x.lk_malloc(INFLATE_IN) >>> 0;
      if (this.#in === 0) throw outOfMemory("inflate input");
    }
    return this.#in;
  }

  get out(): number {
    if (this.#out === 0) {
      this.#out = this.#x.lk_malloc(INFLATE_OUT) >>> 0;
      if (this.#out === 0) throw outOfMemory("inflate output");
    }
    return this.#out;
  }
}

/** Builds stream factories over an instance's exports. */
export function createZlibStreams(x: ZlibExports): {
  inflateStream(): InflateStream;
  deflateStream(level: number): DeflateStream;
} {
  const scratch = new InflateScratch(x);
  const io = x.lk_z_io() >>> 0;
  /** Released inflaters, reused: verify starts one gzip member after another. */
  const idle: number[] = [];
  return {
    inflateStream: () => {
      let z = idle.pop();
      if (z === undefined) {
        z = x.lk_zinf_create() >>> 0;
        if (z === 0) throw outOfMemory("a zlib inflater");
      } else {
        x.lk_zinf_reset(z);
      }
      return new ZlibInflateStream(x, scratch, io, z, idle);
    },
    deflateStream: (level) => new ZlibDeflateStream(x, io, level),
  };
}

/** Idle inflaters kept for reuse (each holds ~44 KiB of WASM memory). */
const IDLE_KEEP = 8;

class ZlibInflateStream implements InflateStream {
  readonly #x: ZlibExports;
  readonly #scratch: InflateScratch;
  readonly #io: number;
  readonly #idle: number[];
  #z: number;
  #produced = 0;

  constructor(x: ZlibExports, scratch: InflateScratch, io: number, z: number, idle: number[]) {
    this.#x = x;
    this.#scratch = scratch;
    this.#io = io;
    this.#z = z;
    this.#idle = idle;
  }

  get crc(): number {
    return this.#x.lk_z_crc(this.#live()) >>> 0;
  }

  get produced(): number {
    return this.#produced;
  }

  #live(): number {
    if (this.#z === 0) throw new LayerkitError("BAD_ARGUMENT", "inflate stream used after free");
    return this.#z;
  }

  reset(): void {
    this.#x.lk_zinf_reset(this.#live());
    this.#produced = 0;
  }

  free(): void {
    if (this.#z === 0) return;
    if (this.#idle.length < IDLE_KEEP) this.#idle.push(this.#z);
    else this.#x.lk_z_free(this.#z);
    this.#z = 0;
  }

  run(input: Uint8Array, room: number, limitCode: ErrorCode, out: (view: Uint8Array) => void): { consumed: number; ended: boolean } {
    const z = this.#live();
    const x = this.#x;
    const inPtr = this.#scratch.in;
    const outPtr = this.#scratch.out;
    let pos = 0;
    for (;;) {
      const n = Math.min(input.length - pos, INFLATE_IN);
      if (n > 0) new Uint8Array(x.memory.buffer, inPtr, n).set(input.subarray(pos, pos + n));
      let off = 0;
      for (;;) {
        const cap = Math.max(1, Math.min(INFLATE_OUT, room - this.#produced + 1));
        const r = x.lk_zinf_run(z, inPtr + off, n - off, outPtr, cap);
        const io = new Uint32Array(x.memory.buffer, this.#io, 2);
        const used = io[0]!;
        const made = io[1]!;
        off += used;
        if (made > 0) {
          this.#produced += made;
          if (this.#produced > room) {
            throw new LayerkitError(limitCode, `inflated data exceeds ${room} bytes`, { limit: room });
          }
          out(new Uint8Array(x.memory.buffer, outPtr, made));
        }
        if (r === Z_STREAM_END) return { consumed: pos + off, ended: true };
        if (r === Z_DATA_ERROR) throw new LayerkitError("GZIP_CORRUPT", "corrupt deflate data", { produced: this.#produced });
        if (r === Z_MEM_ERROR) throw outOfMemory("zlib inflate state");
        if (r !== Z_OK && r !== Z_BUF_ERROR) throw new LayerkitError("ZSTD_INTERNAL", `zlib inflate returned ${r}`, { result: r });
        // Input piece used up and output not full: nothing more comes out without more input.
        if ((off === n && made < cap) || r === Z_BUF_ERROR) break;
      }
      pos += off;
      if (pos >= input.length) return { consumed: pos, ended: false };
    }
  }
}

class ZlibDeflateStream implements DeflateStream {
  readonly #x: ZlibExports;
  readonly #io: number;
  #z: number;
  #in = 0;
  #out = 0;
  readonly #outCap: number;
  #fill = 0;
  #size = 0;
  #ended = false;

  constructor(x: ZlibExports, io: number, level: number) {
    if (!Number.isInteger(level) || level < 0 || level > 9) {
      throw new LayerkitError("BAD_ARGUMENT", `zlib level must be an integer 0–9, got ${level}`, { level });
    }
    this.#x = x;
    this.#io = io;
    this.#z = x.lk_zdef_create(level) >>> 0;
    if (this.#z === 0) throw outOfMemory("a zlib deflater");
    this.#outCap = x.lk_zdef_bound(this.#z, DEFLATE_FEED) >>> 0;
    this.#in = x.lk_malloc(DEFLATE_FEED) >>> 0;
    this.#out = x.lk_malloc(this.#outCap) >>> 0;
    if (this.#in === 0 || this.#out === 0) {
      this.free();
      throw outOfMemory("deflate buffers");
    }
  }

  get crc(): number {
    return this.#z === 0 ? 0 : this.#x.lk_z_crc(this.#z) >>> 0;
  }

  get size(): number {
    return this.#size;
  }

  free(): void {
    if (this.#z !== 0) this.#x.lk_z_free(this.#z);
    if (this.#in !== 0) this.#x.lk_free(this.#in);
    if (this.#out !== 0) this.#x.lk_free(this.#out);
    this.#z = this.#in = this.#out = 0;
  }

  write(data: Uint8Array): Uint8Array[] {
    if (this.#ended || this.#z === 0) throw new LayerkitError("BAD_ARGUMENT", "deflate stream written after end");
    const out: Uint8Array[] = [];
    let i = 0;
    while (i < data.length) {
      const n = Math.min(DEFLATE_FEED - this.#fill, data.length - i);
      new Uint8Array(this.#x.memory.buffer, this.#in + this.#fill, n).set(data.subarray(i, i + n));
      this.#fill += n;
      i += n;
      if (this.#fill === DEFLATE_FEED) this.#deflate(false, out);
    }
    this.#size += data.length;
    return out;
  }

  end(): Uint8Array[] {
    if (this.#ended) return [];
    if (this.#z === 0) throw new LayerkitError("BAD_ARGUMENT", "deflate stream ended after free");
    const out: Uint8Array[] = [];
    this.#deflate(true, out);
    this.#ended = true;
    return out;
  }

  /** Compresses the buffered piece; with `finish`, until the stream's end is written. */
  #deflate(finish: boolean, out: Uint8Array[]): void {
    const x = this.#x;
    let off = 0;
    for (;;) {
      const r = x.lk_zdef_run(this.#z, this.#in + off, this.#fill - off, this.#out, this.#outCap, finish ? 1 : 0);
      const io = new Uint32Array(x.memory.buffer, this.#io, 2);
      off += io[0]!;
      const made = io[1]!;
      if (made > 0) out.push(new Uint8Array(x.memory.buffer, this.#out, made).slice());
      if (r === Z_STREAM_END) break;
      if (r !== Z_OK && r !== Z_BUF_ERROR) throw new LayerkitError("ZSTD_INTERNAL", `zlib deflate returned ${r}`, { result: r });
      if (!finish && off === this.#fill && made < this.#outCap) break;
    }
    this.#fill = 0;
  }
}
