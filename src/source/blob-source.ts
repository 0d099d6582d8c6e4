/**
 * Random-access blob sources: the one interface every reader (TOC reader, verifier, lazy
 * fetcher) uses to get bytes of a layer blob, whether it is in memory, in a file or behind HTTP.
 *
 * Contract of {@link BlobSource.read}: it returns exactly `length` bytes starting at `offset`,
 * or throws a {@link LayerkitError}:
 * - `BAD_ARGUMENT` when `offset`/`length` are not non-negative safe integers;
 * - `OUT_OF_RANGE` when the range ends past the end of the blob (when the size is known);
 * - `TRUNCATED` when the underlying storage delivered fewer bytes than it promised;
 * - `IO` / `HTTP` for failures of the storage itself.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";

/** A byte range `[offset, offset + length)` of a blob. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** Counters every source keeps, so callers and tests can see what a read pattern cost. */
export interface SourceStats {
  /** Requests made to the underlying storage (HTTP requests, file reads, `read` calls in memory). */
  requests: number;
  /** Bytes transferred from the underlying storage (may exceed what was asked, e.g. an HTTP 200). */
  bytes: number;
}

export interface BlobSource {
  /** Total blob size in bytes (may cost one request the first time). */
  size(): Promise<number>;
  /** Exactly `length` bytes at `offset`; see the module doc for errors. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Several ranges at once (sources that can coalesce or multi-range do so); results are in the
   * order of `ranges`. Optional: use {@link readRanges} to call it or fall back to `read`.
   */
  readRanges?(ranges: readonly ByteRange[]): Promise<Uint8Array[]>;
  /**
   * The last `length` bytes (fewer when the blob is shorter), their offset and the blob size.
   * Optional: sources whose size costs a request learn both at once (HTTP: a suffix range). Use
   * {@link readTail} to call it or fall back to `size` + `read`.
   */
  readTail?(length: number): Promise<{ bytes: Uint8Array; offset: number; size: number }>;
  /** The size when known without a request; undefined when `size()` would cost one. Optional (absent: always cheap). */
  readonly knownSize?: number | undefined;
  /** Counters; updated as requests complete. */
  readonly stats: SourceStats;
  /** Release the underlying resource (file handle). Optional. */
  close?(): Promise<void>;
}

/** New zeroed stats object. */
export function newStats(): SourceStats {
  return { requests: 0, bytes: 0 };
}

/** Throws BAD_ARGUMENT unless `offset` and `length` are non-negative safe integers with a safe end. */
export function checkRangeArgs(offset: number, length: number): void {
  if (
    !Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || !Number.isSafeInteger(offset + length)
  ) {
    throw new LayerkitError("BAD_ARGUMENT", `invalid byte range offset=${offset} length=${length}`, { offset, length });
  }
}

/** Throws OUT_OF_RANGE when `[offset, offset+length)` does not lie inside a blob of `size` bytes. */
export function checkRangeInside(offset: number, length: number, size: number): void {
  if (offset + length > size) {
    throw new LayerkitError("OUT_OF_RANGE", `byte range ${offset}+${length} ends past the end of the blob (${size} bytes)`, {
      offset,
      length,
      size,
    });
  }
}

/** Whether `source.size()` costs no request (the source has no `knownSize`, or knows it). */
export function sizeIsKnown(source: BlobSource): boolean {
  return !("knownSize" in source) || source.knownSize !== undefined;
}

/** Reads `ranges` with the source's `readRanges` when it has one, else one `read` at a time. */
export async function readRanges(source: BlobSource, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
  if (source.readRanges) return source.readRanges(ranges);
  const out: Uint8Array[] = [];
  for (const r of ranges) out.push(await source.read(r.offset, r.length));
  return out;
}

/** The last `length` bytes of the blob (fewer when the blob is shorter), with the blob size. */
export async function readTail(source: BlobSource, length: number): Promise<{ bytes: Uint8Array; offset: number; size: number }> {
  if (source.readTail) return source.readTail(length);
  const size = await source.size();
  const n = Math.min(length, size);
  const offset = size - n;
  return { bytes: await source.read(offset, n), offset, size };
}
