/**
 * Streaming tar reader with Go `archive/tar` semantics (tar-split's fork with `RawAccounting`).
 *
 * For each entry it returns the parsed {@link TarHeader} and the exact raw bytes `Next()`
 * consumed before the payload (previous padding, extension headers with their data, the header
 * block: what tar-split stores in one Segment); the payload is then read in pieces. At the end it
 * returns the raw end-of-archive bytes and streams every trailing byte. Memory stays bounded:
 * extension data is limited to 1 MiB (Go's limit), payloads are never buffered.
 *
 * Where Go would silently lose bytes of a damaged archive (padding or extension headers cut short
 * by end of input) this reader throws TRUNCATED instead; an archive that simply ends after the
 * last payload, or after one zero block, is accepted as Go accepts it.
 *
 * @example
 * ```ts
 * const tr = new TarReader(stream);
 * for (let e = await tr.next(); e; e = await tr.next()) {
 *   console.log(e.header.name, e.dataSize);
 *   for await (const piece of tr.data()) hash.update(piece);
 * }
 * const eof = tr.endBytes; // padding + zero blocks
 * for await (const extra of tr.trailing()) keep(extra);
 * ```
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { ByteReader, type ByteReaderOptions, type ByteSource, concatBytes } from "../util/bytes.js";
import { nextEntry, type NextOptions, type NextResult } from "./header.js";
import type { TarHeader } from "./types.js";

export interface TarReaderOptions extends NextOptions, ByteReaderOptions {}

/** Initial size of the buffer that keeps one entry's header bytes when the input buffer is reused. */
const HEADER_ARENA = 8 * 1024;

/** One entry as the reader returns it. */
export interface TarEntry {
  header: TarHeader;
  /** Raw bytes consumed by `Next()` before the payload (see module notes). */
  raw: Uint8Array;
  /** Stream offset of `raw[0]`. */
  offset: number;
  /** Stream offset of the first payload byte. */
  dataOffset: number;
  /** Payload bytes in the stream (0 for header-only types whatever `header.size` says). */
  dataSize: number;
  /** Padding after the payload (Go's `ExpectedPadding()`); it starts the next entry's `raw`. */
  padding: number;
}

const DEFAULT_PIECE = 256 * 1024;

/** The streaming reader. Methods must not be called concurrently. */
export class TarReader implements AsyncIterable<TarEntry> {
  readonly #in: ByteReader;
  readonly #options: TarReaderOptions;
  #pad = 0;
  #remaining = 0;
  #current: TarEntry | undefined;
  #end: Uint8Array | undefined;
  #error: unknown;
  /**
   * With `reuseBuffer`: the header bytes of the entry being parsed, copied out of the input
   * buffer (which the next read overwrites) for as long as `nextEntry` holds views of them.
   */
  #arena: Uint8Array | undefined;
  #arenaUsed = 0;

  /**
   * With `reuseBuffer` (and a byte stream), every array the reader returns (`raw`, payload
   * pieces, `endBytes`, header fields that are bytes) is valid only until its next call.
   */
  constructor(source: ByteSource | ByteReader, options: TarReaderOptions = {}) {
    this.#in = source instanceof ByteReader ? source : new ByteReader(source, options);
    this.#options = options;
    if (this.#in.reusesBuffer) this.#arena = new Uint8Array(HEADER_ARENA);
  }

  /** Stream offset of the next byte to be read. */
  get position(): number {
    return this.#in.position;
  }

  /** The current entry (after {@link next} returned it). */
  get current(): TarEntry | undefined {
    return this.#current;
  }

  /** Payload bytes of the current entry not yet read. */
  get remaining(): number {
    return this.#remaining;
  }

  /** After {@link next} returned null: the raw bytes of the last padding and the end-of-archive block(s). */
  get endBytes(): Uint8Array {
    if (!this.#end) throw new LayerkitError("BAD_ARGUMENT", "tar: endBytes is available only after the last entry");
    return this.#end;
  }

  /** True once the end of the archive was reached. */
  get ended(): boolean {
    return this.#end !== undefined;
  }

  /**
   * Advances to the next entry, discarding any unread payload of the current one (skipped payload
   * bytes are not part of the next entry's `raw`). Returns null at the end of the archive.
   */
  async next(): Promise<TarEntry | null> {
    if (this.#error !== undefined) throw this.#error;
    if (this.#end) return null;
    try {
      if (this.#remaining > 0) {
        const want = this.#remaining;
        const got = await this.#in.skip(want);
        this.#remaining = 0;
        if (got < want) throw this.#truncatedPayload(want - got);
      }
      const offset = this.#in.position;
      const gen = nextEntry(this.#pad, offset, this.#options);
      this.#arenaUsed = 0;
      let step = gen.next();
      while (!step.done) {
        step = gen.next(this.#keep(await this.#in.readFull(step.value)));
      }
      const r: NextResult = step.value;
      if (r.kind === "end") {
        this.#end = r.raw;
        this.#current = undefined;
        this.#pad = 0;
        return null;
      }
      const entry: TarEntry = {
        header: r.header,
        raw: r.raw,
        offset,
        dataOffset: offset + r.raw.length,
        dataSize: r.dataSize,
        padding: r.pad,
      };
      this.#current = entry;
      this.#remaining = r.dataSize;
      this.#pad = r.pad;
      return entry;
    } catch (e) {
      this.#error = e;
      throw e;
    }
  }

  /** The next piece (at most `max` bytes) of the current payload, or null when it is all read. */
  async read(max: number = DEFAULT_PIECE): Promise<Uint8Array | null> {
    if (this.#error !== undefined) throw this.#error;
    if (this.#remaining === 0) return null;
    const piece = await this.#in.readSome(Math.min(max, this.#remaining));
    if (piece === null) {
      this.#error = this.#truncatedPayload(this.#remaining);
      throw this.#error;
    }
    this.#remaining -= piece.length;
    return piece;
  }

  /** The rest of the current payload, piece by piece. */
  async *data(max: number = DEFAULT_PIECE): AsyncGenerator<Uint8Array, void, void> {
    for (let p = await this.read(max); p !== null; p = await this.read(max)) yield p;
  }

  /** The whole remaining payload of the current entry in one array (for small files and tests). */
  async readAll(): Promise<Uint8Array> {
    if (this.#remaining > 0x7fffffff) {
      throw new LayerkitError("LIMIT_EXCEEDED", `tar: payload of ${this.#remaining} bytes is too large to read into memory`, {
        size: this.#remaining,
      });
    }
    // Collect what actually arrives: a size field is untrusted, so it must not size an allocation.
    const parts: Uint8Array[] = [];
    for (let p = await this.read(); p !== null; p = await this.read()) parts.push(p);
    return parts.length === 1 ? parts[0]!.slice() : concatBytes(parts);
  }

  /** After the end of the archive: every remaining input byte, in pieces of at most `max` bytes. */
  async *trailing(max: number = DEFAULT_PIECE): AsyncGenerator<Uint8Array, void, void> {
    if (this.#error !== undefined) throw this.#error;
    if (!this.#end) throw new LayerkitError("BAD_ARGUMENT", "tar: trailing() is available only after the last entry");
    for (let p = await this.#in.readSome(max); p !== null; p = await this.#in.readSome(max)) yield p;
  }

  /** Iterates the entries (payloads the loop body does not read are skipped). */
  async *[Symbol.asyncIterator](): AsyncGenerator<TarEntry, void, void> {
    for (let e = await this.next(); e; e = await this.next()) yield e;
  }

  /** Stops reading and releases the source. */
  async cancel(): Promise<void> {
    await this.#in.cancel();
  }

  /** `bytes`, or with a reused input buffer a copy that stays valid until the next call. */
  #keep(bytes: Uint8Array): Uint8Array {
    if (!this.#arena) return bytes;
    if (this.#arenaUsed + bytes.length > this.#arena.length) {
      // Views already handed out keep the old arena alive; the new one is used from here on.
      this.#arena = new Uint8Array(Math.max(this.#arena.length * 2, bytes.length));
      this.#arenaUsed = 0;
    }
    const kept = this.#arena.subarray(this.#arenaUsed, this.#arenaUsed + bytes.length);
    kept.set(bytes);
    this.#arenaUsed += bytes.length;
    return kept;
  }

  #truncatedPayload(missing: number): LayerkitError {
    const name = this.#current?.header.name;
    return new LayerkitError(
      "TRUNCATED",
      `tar: unexpected end of input in the payload of ${JSON.stringify(name)} (${missing} bytes missing)`,
      {
        offset: this.#in.position,
        name,
        missing,
      },
    );
  }
}

/** Result of {@link readTarHeaderBytes}. */
export type HeaderBytesResult = NextResult & {
  /** Bytes of the input consumed. */
  consumed: number;
  /** Padding expected after the entry's payload (Go's `ExpectedPadding()`); 0 at the end. */
  padding: number;
};

/**
 * Synchronous `Next()` over bytes already in memory (e.g. a tar-split Segment): parses one entry's
 * headers starting at `bytes[0]`, or the end of archive. `pad` is padding to consume first.
 */
export function readTarHeaderBytes(bytes: Uint8Array, options: NextOptions & { pad?: number; position?: number } = {}): HeaderBytesResult {
  let at = 0;
  const gen = nextEntry(options.pad ?? 0, options.position ?? 0, options);
  let step = gen.next();
  while (!step.done) {
    const n = Math.min(step.value, bytes.length - at);
    const piece = bytes.subarray(at, at + n);
    at += n;
    step = gen.next(piece);
  }
  const r = step.value;
  return { ...r, consumed: at, padding: r.kind === "entry" ? r.pad : 0 };
}

/** A whole archive read into memory: for tests and small inputs. */
export interface TarContents {
  entries: Array<TarEntry & { data: Uint8Array }>;
  /** Raw end-of-archive bytes. */
  end: Uint8Array;
  /** Everything after them. */
  trailing: Uint8Array;
}

/** Reads a complete archive into memory (payloads included). */
export async function readTar(source: ByteSource, options: TarReaderOptions = {}): Promise<TarContents> {
  const tr = new TarReader(source, options);
  const entries: TarContents["entries"] = [];
  for (let e = await tr.next(); e; e = await tr.next()) entries.push({ ...e, data: await tr.readAll() });
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const p of tr.trailing()) {
    parts.push(p);
    n += p.length;
  }
  const trailing = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    trailing.set(p, o);
    o += p.length;
  }
  return { entries, end: tr.endBytes, trailing };
}
