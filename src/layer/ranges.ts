/**
 * Compressed byte ranges of TOC chunks (docs/formats/zstd-chunked.md §2.5).
 *
 * zstd:chunked (c/storage): chunk *i* of a file is `[chunk_i.offset, chunk_{i+1}.offset)` and the
 * last chunk `[last.offset, reg.endOffset)`. These ranges are exact: they hold only that chunk's
 * frames, so decompressing one yields exactly the chunk's bytes. When `endOffset` is missing we
 * fall back to upstream's rule (`mergeTocEntries`): the last chunk ends where the next file's
 * payload starts, or at the TOC, and is marked inexact (it may include the following tar-header
 * frame; decode only the chunk's size from it). Unlike upstream we end it at the TOC's skippable
 * frame, not 8 bytes into it.
 *
 * eStargz-zstd (stargz-snapshotter's zstdchunked): like eStargz, a chunk's range runs to the next
 * payload offset in the TOC (or the TOC), and its frame also holds the tar headers that follow the
 * chunk, so ranges are inexact; `innerOffset` (newer writers) is where the chunk starts inside the
 * decompressed frame.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";

/** One chunk of a regular file, with its compressed range. */
export interface ChunkRange {
  /** Absolute compressed start (a frame boundary). */
  offset: number;
  /** Absolute compressed end (exclusive). */
  end: number;
  /** Uncompressed offset of the chunk inside the file. */
  fileOffset: number;
  /** Uncompressed size of the chunk. */
  size: number;
  /** `sha256:<hex>` of the chunk's bytes, when the TOC has one (for a file's only chunk: the file digest). */
  digest?: string;
  /** `chunkType: "zeros"`: the chunk is all zero bytes and need not be fetched. */
  zeros: boolean;
  /** True when decompressing `[offset, end)` yields exactly the chunk (no bytes before or after it). */
  exact: boolean;
  /** Where the chunk starts inside the decompressed data of its range (eStargz `innerOffset`; else 0). */
  innerOffset: number;
}

/** A chunk before its end is known. */
export interface PendingChunk {
  offset: number;
  fileOffset: number;
  size: number;
  digest?: string;
  zeros: boolean;
  innerOffset: number;
  /** `endOffset` written on the chunk entry itself (upstream honours it on a file's last chunk). */
  endOffset?: number;
}

/** A regular file with payload, in TOC order. */
export interface PendingFile {
  /** Index of its `reg` entry in `toc.entries` (for error details). */
  index: number;
  name: string;
  /** The `reg` entry's `endOffset`, when present. */
  endOffset?: number;
  chunks: PendingChunk[];
}

function bad(message: string, details: Record<string, unknown>): LayerkitError {
  return new LayerkitError("BAD_TOC", message, details);
}

/**
 * Computes and checks the compressed range of every chunk of `files` (all in TOC order) for a
 * blob whose payload area ends at `payloadEnd` (the start of the TOC's skippable frame).
 * Checks: offsets strictly increase inside a file and never go back across files (BAD_TOC), every
 * range is non-empty and ends by `payloadEnd` (OUT_OF_RANGE).
 */
export function assignChunkRanges(
  files: readonly PendingFile[],
  format: "zstd:chunked" | "estargz-zstd",
  payloadEnd: number,
): ChunkRange[][] {
  return format === "zstd:chunked" ? zstdChunkedRanges(files, payloadEnd) : estargzRanges(files, payloadEnd);
}

function checkInside(file: PendingFile, offset: number, end: number, payloadEnd: number): void {
  if (end > payloadEnd || offset >= payloadEnd) {
    throw new LayerkitError(
      "OUT_OF_RANGE",
      `payload range ${offset}..${end} of ${JSON.stringify(file.name)} is not before the TOC (${payloadEnd})`,
      {
        name: file.name,
        index: file.index,
        offset,
        end,
        payloadEnd,
      },
    );
  }
}

function zstdChunkedRanges(files: readonly PendingFile[], payloadEnd: number): ChunkRange[][] {
  const out: ChunkRange[][] = [];
  let prevEnd = 0;
  let prevName: string | undefined;
  for (let f = 0; f < files.length; f++) {
    const file = files[f]!;
    const first = file.chunks[0]!;
    if (first.offset < prevEnd) {
      throw bad(`payload of ${JSON.stringify(file.name)} starts at ${first.offset}, inside the previous file's payload (ends ${prevEnd})`, {
        name: file.name,
        index: file.index,
        offset: first.offset,
        previousEnd: prevEnd,
        previousName: prevName,
      });
    }
    const ranges: ChunkRange[] = [];
    for (let i = 0; i < file.chunks.length; i++) {
      const c = file.chunks[i]!;
      const next = file.chunks[i + 1];
      let end: number;
      let exact = true;
      if (next) {
        if (next.offset <= c.offset) {
          throw bad(`chunk offsets of ${JSON.stringify(file.name)} do not increase: ${c.offset} then ${next.offset}`, {
            name: file.name,
            index: file.index,
            chunk: i + 1,
            offset: next.offset,
            previousOffset: c.offset,
          });
        }
        end = next.offset;
      } else if (file.endOffset !== undefined) {
        end = file.endOffset;
        if (c.endOffset !== undefined && c.endOffset !== end) {
          throw bad(`last chunk of ${JSON.stringify(file.name)} ends at ${c.endOffset} but the file at ${end}`, {
            name: file.name,
            index: file.index,
            chunkEndOffset: c.endOffset,
            endOffset: end,
          });
        }
      } else if (c.endOffset !== undefined) {
        end = c.endOffset; // upstream takes the last chunk entry's endOffset
      } else {
        // Upstream's rule: up to the next payload (or the TOC).
        end = files[f + 1]?.chunks[0]?.offset ?? payloadEnd;
        exact = false;
      }
      if (next && c.endOffset !== undefined && c.endOffset !== end) {
        throw bad(`chunk ${i} of ${JSON.stringify(file.name)} has endOffset ${c.endOffset} but the next chunk starts at ${end}`, {
          name: file.name,
          index: file.index,
          chunk: i,
          endOffset: c.endOffset,
          nextOffset: end,
        });
      }
      if (end <= c.offset) {
        throw bad(`chunk ${i} of ${JSON.stringify(file.name)} has an empty or negative range ${c.offset}..${end}`, {
          name: file.name,
          index: file.index,
          chunk: i,
          offset: c.offset,
          end,
        });
      }
      checkInside(file, c.offset, end, payloadEnd);
      ranges.push(finish(c, end, exact));
    }
    prevEnd = ranges[ranges.length - 1]!.end;
    prevName = file.name;
    out.push(ranges);
  }
  return out;
}

function estargzRanges(files: readonly PendingFile[], payloadEnd: number): ChunkRange[][] {
  // estargz's nextOffset: a chunk's range ends at the next larger payload offset in TOC order
  // (across files), or at the TOC. Chunks sharing a frame (same offset, growing innerOffset) share
  // its end.
  const flat: { file: PendingFile; c: PendingChunk }[] = [];
  for (const file of files) for (const c of file.chunks) flat.push({ file, c });
  const ends = new Array<number>(flat.length);
  for (let i = flat.length - 1; i >= 0; i--) {
    const { file, c } = flat[i]!;
    const n = flat[i + 1]?.c;
    if (!n) {
      ends[i] = payloadEnd;
    } else if (n.offset > c.offset) {
      ends[i] = n.offset;
    } else if (n.offset === c.offset && n.innerOffset > c.innerOffset) {
      ends[i] = ends[i + 1]!;
    } else {
      throw bad(
        `payload offsets do not increase at ${JSON.stringify(file.name)} (${c.offset}+${c.innerOffset} then ${n.offset}+${n.innerOffset})`,
        {
          name: file.name,
          index: file.index,
          offset: c.offset,
          nextOffset: n.offset,
        },
      );
    }
    checkInside(file, c.offset, ends[i]!, payloadEnd);
  }
  const out: ChunkRange[][] = [];
  let k = 0;
  for (const file of files) out.push(file.chunks.map((c) => finish(c, ends[k++]!, false)));
  return out;
}

function finish(c: PendingChunk, end: number, exact: boolean): ChunkRange {
  const r: ChunkRange = {
    offset: c.offset,
    end,
    fileOffset: c.fileOffset,
    size: c.size,
    zeros: c.zeros,
    exact,
    innerOffset: c.innerOffset,
  };
  if (c.digest !== undefined) r.digest = c.digest;
  return r;
}
