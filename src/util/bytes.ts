/**
 * Byte-stream helpers shared by the tar layer and the format writers: a buffered pull reader over
 * any byte source, and concatenation. Go-compatible text conversion is in ../go/strings.ts.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";

/** Anything layerkit reads bytes from. */
export type ByteSource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Uint8Array;

const EMPTY = new Uint8Array(0);

/** Concatenates byte arrays (returns the only one without copying when there is just one). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** True when both arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** An async iterator over the pieces of any {@link ByteSource} (empty pieces are skipped). */
export async function* iterateSource(source: ByteSource): AsyncGenerator<Uint8Array, void, void> {
  if (source instanceof Uint8Array) {
    if (source.length > 0) yield source;
    return;
  }
  if (typeof (source as ReadableStream<Uint8Array>).getReader === "function") {
    const reader = (source as ReadableStream<Uint8Array>).getReader();
    let done = false;
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) {
          done = true;
          return;
        }
        if (!(r.value instanceof Uint8Array)) {
          throw new LayerkitError("BAD_ARGUMENT", "byte stream produced a chunk that is not a Uint8Array");
        }
        if (r.value.length > 0) yield r.value;
      }
    } finally {
      if (!done) await reader.cancel().catch(() => {});
      reader.releaseLock();
    }
  }
  for await (const piece of source as AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    if (!(piece instanceof Uint8Array)) throw new LayerkitError("BAD_ARGUMENT", "byte source produced a piece that is not a Uint8Array");
    if (piece.length > 0) yield piece;
  }
}

export interface ByteReaderOptions {
  /**
   * When the source is a byte stream (`type: "bytes"`), read it with a BYOB reader into one
   * buffer of this many bytes, used again for every read: no allocation per piece, which for a
   * GiB of input is what keeps V8 from holding dozens of dead 1 MiB buffers until its next full
   * GC. Arrays returned by `readSome`/`readFull` are then valid only until the reader next reads
   * from its source (the buffer is handed back to the stream, which detaches them). Other sources
   * are read as usual.
   */
  reuseBuffer?: number;
  /** Sees every piece read from the source, in order, before it is consumed (e.g. to hash it all). */
  onPiece?: (bytes: Uint8Array) => void;
}

/**
 * A buffered pull reader over a {@link ByteSource}. Returned arrays are views into the source's
 * pieces where possible (a copy only when a read spans pieces); callers must not modify them.
 *
 * @example Write a layer to a file through one reused buffer (BYOB when the stream allows it)
 * ```ts
 * const reader = new ByteReader(layer.stream, { reuseBuffer: 256 * 1024 });
 * for (let piece = await reader.readSome(); piece; piece = await reader.readSome()) await file.write(piece);
 * ```
 */
export class ByteReader {
  #it: AsyncIterator<Uint8Array, void, void> | undefined;
  #byob: ReadableStreamBYOBReader | undefined;
  /** The reused buffer of BYOB reads (detached while a read is under way). */
  #byobBuffer: ArrayBuffer | undefined;
  readonly #onPiece: ((bytes: Uint8Array) => void) | undefined;
  #buf: Uint8Array = EMPTY;
  #pos = 0;
  #eof = false;
  #consumed = 0;

  constructor(source: ByteSource, options: ByteReaderOptions = {}) {
    this.#onPiece = options.onPiece;
    if (source instanceof Uint8Array) {
      this.#buf = source;
      this.#eof = true;
      if (source.length > 0) this.#onPiece?.(source);
    } else if (options.reuseBuffer && options.reuseBuffer > 0 && (this.#byob = byobReaderOf(source))) {
      this.#byobBuffer = new ArrayBuffer(options.reuseBuffer);
    } else {
      this.#it = iterateSource(source);
    }
  }

  /** Bytes consumed so far (the stream offset of the next byte). */
  get position(): number {
    return this.#consumed;
  }

  /** True when pieces are read into one reused buffer (see {@link ByteReaderOptions.reuseBuffer}). */
  get reusesBuffer(): boolean {
    return this.#byobBuffer !== undefined;
  }

  /** Bytes buffered and not yet consumed. */
  get buffered(): number {
    return this.#buf.length - this.#pos;
  }

  /** Fills the buffer with another piece; false at end of input. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    let piece: Uint8Array;
    if (this.#byob) {
      piece = await this.#readByob(this.#byob);
      if (piece.length === 0) return false;
    } else {
      if (!this.#it) return false;
      const r = await this.#it.next();
      if (r.done) {
        this.#eof = true;
        return false;
      }
      piece = r.value;
    }
    this.#onPiece?.(piece);
    this.#buf = piece;
    this.#pos = 0;
    return true;
  }

  /** The next non-empty piece read into the reused buffer, or an empty array at the end. */
  async #readByob(reader: ReadableStreamBYOBReader): Promise<Uint8Array> {
    for (;;) {
      const buffer = this.#byobBuffer!;
      // Views of the previous piece are detached from here on.
      this.#buf = EMPTY;
      this.#pos = 0;
      const r = await reader.read(new Uint8Array(buffer));
      if (r.value) this.#byobBuffer = r.value.buffer as ArrayBuffer;
      if (r.done || !r.value) {
        this.#eof = true;
        this.#byob = undefined;
        reader.releaseLock();
        return EMPTY;
      }
      if (r.value.length > 0) return r.value;
    }
  }

  /** Up to `max` bytes (at least 1 unless at end of input, where it returns null). */
  async readSome(max: number = Infinity): Promise<Uint8Array | null> {
    if (max <= 0) return EMPTY;
    while (this.#pos >= this.#buf.length) {
      if (!(await this.#fill())) return null;
    }
    const n = Math.min(max, this.#buf.length - this.#pos);
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    this.#consumed += n;
    return out;
  }

  /** Exactly `n` bytes, or fewer only when the input ends first (Go's `tryReadFull`). */
  async readFull(n: number): Promise<Uint8Array> {
    if (n <= 0) return EMPTY;
    const avail = this.#buf.length - this.#pos;
    if (avail >= n) {
      const out = this.#buf.subarray(this.#pos, this.#pos + n);
      this.#pos += n;
      this.#consumed += n;
      return out;
    }
    const parts: Uint8Array[] = [];
    let got = 0;
    while (got < n) {
      const p = await this.readSome(n - got);
      if (p === null) break;
      // A reused buffer is overwritten by the next piece: keep a copy.
      parts.push(this.#byobBuffer ? p.slice() : p);
      got += p.length;
    }
    if (parts.length === 0) return EMPTY;
    return concatBytes(parts);
  }

  /** Exactly `n` bytes, or a TRUNCATED error naming `what`. */
  async readExact(n: number, what = "data"): Promise<Uint8Array> {
    const at = this.#consumed;
    const out = await this.readFull(n);
    if (out.length < n) {
      throw new LayerkitError("TRUNCATED", `unexpected end of input reading ${what} (${n} bytes at offset ${at}, got ${out.length})`, {
        offset: at,
        expected: n,
        got: out.length,
      });
    }
    return out;
  }

  /** Skips up to `n` bytes; returns how many were skipped (fewer only at end of input). */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const p = await this.readSome(left);
      if (p === null) break;
      left -= p.length;
    }
    return n - left;
  }

  /** True when no byte is left (may pull the next piece to find out). */
  async atEnd(): Promise<boolean> {
    while (this.#pos >= this.#buf.length) {
      if (!(await this.#fill())) return true;
    }
    return false;
  }

  /** Stops reading and releases the source. */
  async cancel(): Promise<void> {
    this.#eof = true;
    this.#buf = EMPTY;
    this.#pos = 0;
    const it = this.#it;
    this.#it = undefined;
    if (it?.return) await it.return(undefined).catch(() => {});
    const byob = this.#byob;
    this.#byob = undefined;
    if (byob) {
      await byob.cancel().catch(() => {});
      byob.releaseLock();
    }
  }
}

/** A BYOB reader on `source` when it is a ReadableStream of type "bytes", else undefined. */
export function byobReaderOf(source: ByteSource): ReadableStreamBYOBReader | undefined {
  if (typeof (source as ReadableStream<Uint8Array>).getReader !== "function") return undefined;
  try {
    return (source as ReadableStream<Uint8Array>).getReader({ mode: "byob" });
  } catch {
    return undefined; // not a byte stream, or a runtime without BYOB readers
  }
}
