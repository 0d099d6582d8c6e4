/**
 * Checks, as the tar streams past, that a zstd:chunked layer's tar-split reproduces it byte for
 * byte: a full pull rebuilds the tar from the tar-split (headers and padding from its Segments,
 * file bodies from the files), so every raw header byte, every file name, size and CRC-64, and the
 * end-of-archive and trailing bytes must agree. The first disagreement is reported and matching
 * stops (everything after it would be shifted).
 *
 * @module
 */
import { isLayerkitError, LayerkitError } from "../errors.js";
import { readTarSplit, TAR_SPLIT_FILE, type TarSplitEntry } from "../formats/zstd-chunked/tar-split.js";
import type { TarEntry } from "../tar/reader.js";
import { bytesEqual } from "../util/bytes.js";
import { Crc64 } from "../util/crc64.js";

export class TarSplitMatcher {
  readonly #entries: AsyncGenerator<TarSplitEntry, void, void>;
  /** Unconsumed bytes of the current Segment. */
  #segment: Uint8Array = new Uint8Array(0);
  #crc = new Crc64();
  #current: TarEntry | undefined;
  #error: LayerkitError | undefined;

  constructor(tarSplit: Uint8Array) {
    this.#entries = readTarSplit(tarSplit);
  }

  /** The first disagreement (or tar-split parse error), once one was found. */
  get error(): LayerkitError | undefined {
    return this.#error;
  }

  #mismatch(message: string, details: Record<string, unknown>): void {
    this.#error ??= new LayerkitError("INCONSISTENT", `tar-split does not reproduce the tar: ${message}`, details);
  }

  async #guard(step: () => Promise<void>): Promise<void> {
    if (this.#error) return;
    try {
      await step();
    } catch (e) {
      if (!isLayerkitError(e)) throw e;
      this.#error = e;
    }
  }

  async #nextEntry(): Promise<TarSplitEntry | undefined> {
    const r = await this.#entries.next();
    return r.done ? undefined : r.value;
  }

  /** Consumes `bytes.length` Segment bytes and compares them; false (and an error) when they differ. */
  async #expectBytes(bytes: Uint8Array, what: string, details: Record<string, unknown>): Promise<boolean> {
    let at = 0;
    while (at < bytes.length) {
      if (this.#segment.length === 0) {
        const e = await this.#nextEntry();
        if (!e || e.type === TAR_SPLIT_FILE) {
          this.#mismatch(`${what}: the tar-split has ${at} of its ${bytes.length} bytes`, details);
          return false;
        }
        this.#segment = e.payload ?? new Uint8Array(0);
        continue;
      }
      const n = Math.min(this.#segment.length, bytes.length - at);
      if (!bytesEqual(this.#segment.subarray(0, n), bytes.subarray(at, at + n))) {
        this.#mismatch(`${what} differ from the tar-split's bytes`, details);
        return false;
      }
      this.#segment = this.#segment.subarray(n);
      at += n;
    }
    return true;
  }

  /** A tar entry began: its raw header bytes must be the next Segment bytes. */
  async entry(e: TarEntry): Promise<void> {
    await this.#guard(async () => {
      this.#current = e;
      this.#crc = new Crc64();
      await this.#expectBytes(e.raw, `the header bytes of ${JSON.stringify(e.header.name)}`, { path: e.header.name, offset: e.offset });
    });
  }

  /** A piece of the current entry's payload. */
  payload(piece: Uint8Array): void {
    if (!this.#error) this.#crc.update(piece);
  }

  /** The current entry's payload ended: the next tar-split entry must be its FileType entry. */
  async entryDone(): Promise<void> {
    await this.#guard(async () => {
      const e = this.#current!;
      const where = { path: e.header.name, offset: e.offset };
      if (this.#segment.length > 0) {
        return this.#mismatch(`${this.#segment.length} extra Segment bytes after the header of ${JSON.stringify(e.header.name)}`, where);
      }
      const f = await this.#nextEntry();
      if (!f || f.type !== TAR_SPLIT_FILE) {
        return this.#mismatch(`no file entry after the header of ${JSON.stringify(e.header.name)}`, where);
      }
      if ((f.name ?? "") !== e.header.name) {
        return this.#mismatch(`file entry ${JSON.stringify(f.name ?? "")} where the tar has ${JSON.stringify(e.header.name)}`, where);
      }
      if (f.size !== e.dataSize) {
        return this.#mismatch(`${JSON.stringify(e.header.name)} has ${e.dataSize} payload bytes, the tar-split says ${f.size}`, where);
      }
      if (f.size > 0 && !bytesEqual(f.payload ?? new Uint8Array(0), this.#crc.sum())) {
        return this.#mismatch(`the CRC-64 of ${JSON.stringify(e.header.name)} differs from the tar-split's`, where);
      }
    });
  }

  /** The end-of-archive bytes, then (via {@link trailing}) every byte after them. */
  async end(endBytes: Uint8Array, offset: number): Promise<void> {
    await this.#guard(async () => {
      if (this.#segment.length > 0) {
        return this.#mismatch(`${this.#segment.length} extra Segment bytes before the end of the archive`, { offset });
      }
      await this.#expectBytes(endBytes, "the end-of-archive bytes", { offset });
    });
  }

  async trailing(piece: Uint8Array, offset: number): Promise<void> {
    await this.#guard(async () => {
      await this.#expectBytes(piece, "the bytes after the end of the archive", { offset });
    });
  }

  /** After the last tar byte: nothing may be left in the tar-split. */
  async finish(offset: number): Promise<void> {
    await this.#guard(async () => {
      if (this.#segment.length > 0) {
        return this.#mismatch(`the tar-split has ${this.#segment.length} bytes past the end of the tar`, { offset });
      }
      for (let e = await this.#nextEntry(); e; e = await this.#nextEntry()) {
        if (e.type === TAR_SPLIT_FILE || (e.payload?.length ?? 0) > 0) {
          return this.#mismatch("the tar-split has entries past the end of the tar", { offset, position: e.position });
        }
      }
    });
  }
}
