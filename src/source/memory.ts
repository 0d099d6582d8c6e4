/**
 * A {@link BlobSource} over bytes already in memory.
 *
 * @module
 */
import { type BlobSource, type ByteRange, checkRangeArgs, checkRangeInside, newStats, type SourceStats } from "./blob-source.js";

export class MemorySource implements BlobSource {
  readonly stats: SourceStats = newStats();
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array | ArrayBuffer) {
    this.#bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  }

  size(): Promise<number> {
    return Promise.resolve(this.#bytes.length);
  }

  /** A view into the source's bytes (not a copy): do not modify it. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRangeArgs(offset, length);
    checkRangeInside(offset, length, this.#bytes.length);
    this.stats.requests++;
    this.stats.bytes += length;
    return this.#bytes.subarray(offset, offset + length);
  }

  async readRanges(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const r of ranges) out.push(await this.read(r.offset, r.length));
    return out;
  }
}

/** Shorthand for `new MemorySource(bytes)`. */
export function memorySource(bytes: Uint8Array | ArrayBuffer): MemorySource {
  return new MemorySource(bytes);
}
