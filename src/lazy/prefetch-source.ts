/**
 * A {@link BlobSource} wrapper that holds pieces fetched ahead (one request for a span that
 * several later reads fall into) and serves reads inside them without touching the inner source.
 * It lets the format readers keep their simple read-what-you-need style while the lazy path
 * decides how many requests go over the wire. `stats` are the inner source's.
 *
 * @module
 */
import { type BlobSource, type ByteRange, checkRangeArgs, readRanges, readTail, type SourceStats } from "../source/blob-source.js";

export class PrefetchSource implements BlobSource {
  readonly inner: BlobSource;
  #pieces: { offset: number; bytes: Uint8Array }[] = [];

  constructor(inner: BlobSource) {
    this.inner = inner;
  }

  get stats(): SourceStats {
    return this.inner.stats;
  }

  size(): Promise<number> {
    return this.inner.size();
  }

  /** The blob's tail with one read of the inner source (which learns the size with it), held like a prefetched piece. */
  async readTail(length: number): Promise<{ bytes: Uint8Array; offset: number; size: number }> {
    const t = await readTail(this.inner, length);
    if (t.bytes.length > 0 && !this.#find(t.offset, t.bytes.length)) this.#pieces.push({ offset: t.offset, bytes: t.bytes });
    return t;
  }

  /** Fetches `[offset, offset+length)` with one read of the inner source and holds it. */
  async prefetch(offset: number, length: number): Promise<void> {
    if (length === 0 || this.#find(offset, length)) return;
    this.#pieces.push({ offset, bytes: await this.inner.read(offset, length) });
  }

  /** Forgets every held piece (bounds memory between windows of a big file). */
  drop(): void {
    this.#pieces = [];
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRangeArgs(offset, length);
    return this.#find(offset, length) ?? this.inner.read(offset, length);
  }

  /** Ranges from held pieces where possible, the others with one `readRanges` of the inner source. */
  async readRanges(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const out = ranges.map((r) => (checkRangeArgs(r.offset, r.length), this.#find(r.offset, r.length)));
    const missing = ranges.filter((_, i) => out[i] === undefined);
    if (missing.length > 0) {
      const got = await readRanges(this.inner, missing);
      let k = 0;
      for (let i = 0; i < out.length; i++) out[i] ??= got[k++]!;
    }
    return out as Uint8Array[];
  }

  #find(offset: number, length: number): Uint8Array | undefined {
    for (const p of this.#pieces) {
      const at = offset - p.offset;
      if (at >= 0 && at + length <= p.bytes.length) return p.bytes.subarray(at, at + length);
    }
    return undefined;
  }
}
