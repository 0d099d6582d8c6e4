/**
 * The one full response of a server that ignores `Range` (it answered a range request with 200
 * and the whole blob), kept so that the rest of a read pattern is served from it instead of
 * downloading the blob again: the body is read forward only as far as a read needs, and the bytes
 * read are kept (at most `maxBytes`), so a later read behind the current position is served from
 * memory. A blob larger than `maxBytes` is not kept at all (its reads stream through new 200
 * responses, holding only what they ask for): see `HttpSource`'s `maxFullBody`.
 *
 * Reads are served one at a time, in the order they were asked.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import type { ByteReader } from "../util/bytes.js";

export class FullBody {
  readonly #body: ByteReader;
  /** Blob size from Content-Length, when the server sent one. */
  readonly total: number | undefined;
  readonly #maxBytes: number;
  readonly #url: string;
  readonly #pieces: Uint8Array[] = [];
  /** Blob offset of each kept piece. */
  readonly #starts: number[] = [];
  #kept = 0;
  #ended = false;
  #broken: unknown;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(body: ByteReader, total: number | undefined, maxBytes: number, url: string) {
    this.#body = body;
    this.total = total;
    this.#maxBytes = maxBytes;
    this.#url = url;
  }

  /** Whether a blob of `total` bytes (undefined: unknown) may be kept under `maxBytes`. */
  static fits(total: number | undefined, maxBytes: number): boolean {
    return total === undefined || total <= maxBytes;
  }

  /** False once the body broke, or grew past the bound (unknown length): the caller then asks the server again. */
  get usable(): boolean {
    return this.#broken === undefined;
  }

  /** Bytes `[offset, offset + length)`, reading the body forward as needed; undefined when no longer usable. */
  range(offset: number, length: number): Promise<Uint8Array | undefined> {
    const next = this.#queue.then(() => this.#range(offset, length));
    this.#queue = next.catch(() => {});
    return next;
  }

  /** The last `length` bytes (fewer when the blob is shorter) and the blob size. */
  tail(length: number): Promise<{ bytes: Uint8Array; offset: number; size: number } | undefined> {
    const next = this.#queue.then(async () => {
      if (!this.usable) return undefined;
      await this.#readTo(Number.MAX_SAFE_INTEGER);
      if (!this.usable) return undefined;
      const size = this.#kept;
      const n = Math.min(length, size);
      return { bytes: this.#copy(size - n, n), offset: size - n, size };
    });
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Stops reading the body. */
  async close(): Promise<void> {
    this.#broken ??= "closed";
    this.#pieces.length = 0;
    this.#starts.length = 0;
    await this.#body.cancel();
  }

  async #range(offset: number, length: number): Promise<Uint8Array | undefined> {
    if (!this.usable) return undefined;
    const end = offset + length;
    if (this.total !== undefined && end > this.total) {
      throw new LayerkitError("OUT_OF_RANGE", `byte range ${offset}+${length} ends past the end of the blob (${this.total} bytes)`, {
        url: this.#url,
        offset,
        length,
        size: this.total,
      });
    }
    await this.#readTo(end);
    if (!this.usable) return undefined;
    if (end > this.#kept) {
      throw new LayerkitError("OUT_OF_RANGE", `byte range ${offset}+${length} ends past the end of the blob (${this.#kept} bytes)`, {
        url: this.#url,
        offset,
        length,
        size: this.#kept,
      });
    }
    return this.#copy(offset, length);
  }

  /** Reads the body until `end` bytes are kept or it ends. */
  async #readTo(end: number): Promise<void> {
    try {
      while (this.#kept < end && !this.#ended) {
        const piece = await this.#body.readSome(1 << 20);
        if (piece === null) {
          this.#ended = true;
          if (this.total !== undefined && this.#kept !== this.total) {
            throw new LayerkitError("TRUNCATED", `response body ended at blob offset ${this.#kept} of ${this.total} bytes`, {
              url: this.#url,
              got: this.#kept,
              size: this.total,
            });
          }
          break;
        }
        if (this.#kept + piece.length > this.#maxBytes) {
          // Unknown length, and more than we may hold: give up keeping it.
          await this.close();
          return;
        }
        this.#pieces.push(piece.slice());
        this.#starts.push(this.#kept);
        this.#kept += piece.length;
      }
    } catch (e) {
      this.#broken = e;
      this.#pieces.length = 0;
      this.#starts.length = 0;
      await this.#body.cancel();
      throw e;
    }
  }

  #copy(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    for (let i = lo, at = 0; at < length; i++) {
      const p = this.#pieces[i]!;
      const from = offset + at - this.#starts[i]!;
      const n = Math.min(p.length - from, length - at);
      out.set(p.subarray(from, from + n), at);
      at += n;
    }
    return out;
  }
}
