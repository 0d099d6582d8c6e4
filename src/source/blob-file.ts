/**
 * A {@link BlobSource} over a web `Blob` (a `File` a user picked or dropped in a browser, or any
 * Blob in Deno, Node or workerd): each read is one `Blob.slice().arrayBuffer()`, so only the bytes
 * asked for are loaded into memory, however large the file.
 *
 * @example
 * ```ts
 * const report = await verifyLayer(new BlobFileSource(file), { size: file.size });
 * ```
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { type BlobSource, type ByteRange, checkRangeArgs, checkRangeInside, newStats, type SourceStats } from "./blob-source.js";

export class BlobFileSource implements BlobSource {
  readonly stats: SourceStats = newStats();
  readonly #blob: Blob;

  constructor(blob: Blob) {
    this.#blob = blob;
  }

  size(): Promise<number> {
    return Promise.resolve(this.#blob.size);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRangeArgs(offset, length);
    checkRangeInside(offset, length, this.#blob.size);
    this.stats.requests++;
    let buffer: ArrayBuffer;
    try {
      buffer = await this.#blob.slice(offset, offset + length).arrayBuffer();
    } catch (e) {
      // The file changed or vanished on disk after it was picked (NotReadableError).
      throw new LayerkitError("IO", `cannot read the file: ${(e as Error)?.message ?? e}`, { offset, length }, { cause: e });
    }
    this.stats.bytes += buffer.byteLength;
    if (buffer.byteLength !== length) {
      throw new LayerkitError("TRUNCATED", `file gave ${buffer.byteLength} of ${length} bytes at ${offset}`, {
        offset,
        length,
        got: buffer.byteLength,
      });
    }
    return new Uint8Array(buffer);
  }

  async readRanges(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    return Promise.all(ranges.map((r) => this.read(r.offset, r.length)));
  }
}
