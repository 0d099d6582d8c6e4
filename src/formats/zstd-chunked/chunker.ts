/**
 * Streaming zstd:chunked file chunker, bit-for-bit c/storage's (docs/formats/zstd-chunked.md §5):
 * - a fresh {@link RollSum} per file, never reset at chunk boundaries;
 * - a data chunk ends after a byte whose roll passes the split test; no minimum or maximum size;
 * - a maximal run of ≥ {@link HOLE_THRESHOLD} zero bytes is a hole: the data chunk before it ends,
 *   the run becomes one `zeros` chunk, and it is rolled with `Roll(0)` without split tests;
 *   shorter zero runs are ordinary data;
 * - at the end, the last non-empty chunk ends.
 *
 * Feed the payload in pieces of any size; the sink receives each chunk's bytes (views into the
 * input where possible, a shared zero buffer for buffered zero runs) followed by its end. Only a
 * pending zero run (up to 1023 bytes) is held back, as a count.
 *
 * @example
 * ```ts
 * const chunker = new Chunker({
 *   data: (bytes) => frame.write(bytes),
 *   end: (c) => { frame.close(); chunks.push(c); },
 * });
 * for await (const piece of payload) chunker.write(piece);
 * chunker.finish();
 * ```
 *
 * @module
 */
import { LayerkitError } from "../../errors.js";
import { RollSum } from "./rollsum.js";

/** c/storage's `holesThreshold`. */
export const HOLE_THRESHOLD = 1024;

/** One chunk of a file's payload. */
export interface ChunkInfo {
  /** Offset of the chunk in the file. */
  offset: number;
  length: number;
  /** An all-zero hole (`chunkType: "zeros"`). */
  zeros: boolean;
}

export interface ChunkSink {
  /** Bytes of the current chunk, in order. The array is only valid during the call. */
  data(bytes: Uint8Array): void;
  /** The current chunk is complete. Never called for an empty chunk. */
  end(chunk: ChunkInfo): void;
}

const ZERO_PIECE = 64 * 1024;
let zeroBuffer: Uint8Array | undefined;

function zeros(n: number): Uint8Array {
  zeroBuffer ??= new Uint8Array(ZERO_PIECE);
  return zeroBuffer.subarray(0, n);
}

export class Chunker {
  readonly #sink: ChunkSink;
  readonly #rs = new RollSum();
  /** Bytes accepted so far (offset of the next input byte). */
  #pos = 0;
  /** Start offset of the current chunk. */
  #chunkStart = 0;
  /** Zero bytes seen but not yet classified (< HOLE_THRESHOLD unless in a hole). */
  #pendingZeros = 0;
  #inHole = false;
  #holeLen = 0;
  #finished = false;

  constructor(sink: ChunkSink) {
    this.#sink = sink;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#pos;
  }

  /**
   * Adds the next piece of the payload. Bytes of `p` are handed to the sink lazily, as one view
   * per stretch between chunk boundaries: a binary has a short zero run every few bytes, and a
   * sink call per run (each one a zstd write and a hash update) cost more than the chunking.
   */
  write(p: Uint8Array): void {
    if (this.#finished) throw new LayerkitError("BAD_ARGUMENT", "chunker: write() after finish()");
    const n = p.length;
    const rs = this.#rs;
    let i = 0;
    // p[from..i) is accepted into the current chunk but not yet handed to the sink.
    let from = 0;
    while (i < n) {
      if (this.#inHole) {
        let j = i;
        while (j < n && p[j] === 0) j++;
        this.#holeLen += j - i;
        this.#pos += j - i;
        i = j;
        if (i < n) {
          if (i > from) this.#sink.data(p.subarray(from, i));
          from = i;
          this.#endHole();
        }
        continue;
      }
      if (this.#pendingZeros === 0) {
        // Roll everything up to the next hole (or a zero run reaching the end of the piece) in
        // one go: short zero runs are ordinary data.
        const h = nextLongZeroRun(p, i);
        if (h > i) {
          while (i < h) {
            const stop = rs.scanAll(p, i, h);
            this.#pos += stop - i;
            i = stop;
            if (rs.split) {
              this.#sink.data(p.subarray(from, i));
              from = i;
              this.#endChunk(false);
            }
          }
          continue;
        }
      }
      {
        // A zero run at i that is a hole or reaches the end of the piece, or zeros carried over
        // from earlier pieces (then i === 0: all pending zeros are carried ones).
        const carried = this.#pendingZeros;
        let j = i;
        while (j < n && p[j] === 0 && carried + (j - i) < HOLE_THRESHOLD) j++;
        const run = carried + (j - i);
        if (run >= HOLE_THRESHOLD) {
          // A hole: end the data chunk before it, then the zeros belong to the hole chunk.
          if (i > from) this.#sink.data(p.subarray(from, i));
          from = i;
          this.#startHole();
          this.#emitZeros(carried);
          this.#holeLen = run;
          this.#pos += j - i;
          this.#pendingZeros = 0;
          i = j;
          continue;
        }
        if (j === n) {
          // The run may continue in the next piece: hand over what precedes it, carry the count.
          if (i > from) this.#sink.data(p.subarray(from, i));
          this.#pendingZeros = run;
          this.#pos += j - i;
          return;
        }
        // A non-zero byte ends a short run: it is data, rolled with split tests.
        this.#pendingZeros = 0;
        if (carried > 0) this.#dataZeros(carried);
        let q = i;
        while (q < j) {
          q += rs.scanZeros(j - q);
          if (rs.split) {
            this.#sink.data(p.subarray(from, q));
            from = q;
            this.#endChunkAt(this.#pos + (q - i), false);
          }
        }
        this.#pos += j - i;
        i = j;
      }
    }
    if (n > from) this.#sink.data(p.subarray(from, n));
  }

  /** Ends the payload: flushes a pending zero run and ends the last chunk. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#inHole) this.#endHole();
    if (this.#pendingZeros > 0) {
      const run = this.#pendingZeros;
      this.#pendingZeros = 0;
      this.#dataZeros(run);
    }
    if (this.#pos > this.#chunkStart) this.#endChunk(false);
  }

  /** Rolls `count` carried-over zero bytes as data (split tests on), emitting them from the zero buffer. */
  #dataZeros(count: number): void {
    // `#pos` already counts them; chunk boundaries are computed from where they start.
    let at = this.#pos - count;
    let left = count;
    const rs = this.#rs;
    while (left > 0) {
      const rolled = rs.scanZeros(left);
      this.#emitZeros(rolled);
      at += rolled;
      left -= rolled;
      if (rs.split) this.#endChunkAt(at, false);
    }
  }

  #emitZeros(count: number): void {
    while (count > 0) {
      const k = Math.min(count, ZERO_PIECE);
      this.#sink.data(zeros(k));
      count -= k;
    }
  }

  #startHole(): void {
    const holeStart = this.#pos - this.#pendingZeros;
    if (holeStart > this.#chunkStart) this.#endChunkAt(holeStart, false);
    this.#chunkStart = holeStart;
    this.#inHole = true;
  }

  #endHole(): void {
    this.#rs.rollZeros(this.#holeLen);
    this.#inHole = false;
    const len = this.#holeLen;
    this.#holeLen = 0;
    this.#endChunkAt(this.#chunkStart + len, true);
  }

  #endChunk(isZeros: boolean): void {
    this.#endChunkAt(this.#pos, isZeros);
  }

  #endChunkAt(end: number, isZeros: boolean): void {
    const length = end - this.#chunkStart;
    if (length > 0) this.#sink.end({ offset: this.#chunkStart, length, zeros: isZeros });
    this.#chunkStart = end;
  }
}

/**
 * Start of the first zero run in `p` from `i` on that is a hole (≥ {@link HOLE_THRESHOLD} bytes)
 * or reaches the end of `p` (it may continue in the next piece); `p.length` when there is none.
 */
function nextLongZeroRun(p: Uint8Array, i: number): number {
  const n = p.length;
  let z = p.indexOf(0, i);
  while (z >= 0) {
    const limit = Math.min(n, z + HOLE_THRESHOLD);
    let e = z + 1;
    while (e < limit && p[e] === 0) e++;
    if (e - z >= HOLE_THRESHOLD || e === n) return z;
    z = p.indexOf(0, e);
  }
  return n;
}

/** Chunks a whole payload in memory (reference use and tests). */
export function chunkBytes(data: Uint8Array): ChunkInfo[] {
  const out: ChunkInfo[] = [];
  const c = new Chunker({ data() {}, end: (x) => out.push(x) });
  c.write(data);
  c.finish();
  return out;
}
