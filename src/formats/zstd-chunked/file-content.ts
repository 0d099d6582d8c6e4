/**
 * Reading one file's content out of a zstd:chunked (or stargz zstd) blob through its TOC ranges,
 * verifying every chunk digest and the file digest before any byte is handed out.
 *
 * @module
 */
import type { Core } from "../../core.js";
import { LayerkitError } from "../../errors.js";
import type { BlobSource } from "../../source/blob-source.js";
import type { ChunkRange } from "../../layer/ranges.js";
import { EMPTY_DIGEST, type TocFile } from "../../layer/toc-parse.js";
import { concatBytes } from "../../util/bytes.js";

/**
 * Output an inexact range's frame may carry past its chunk: stargz-snapshotter's zstdchunked ends a
 * frame after the tar padding and the next entry's header blocks (PAX records included), so the
 * frame holding a file's last bytes decodes to more than the chunk. Bounded: the surplus is dropped.
 */
const INEXACT_SURPLUS = 1 << 20;

/**
 * Decompress frames from `compressed` (starting at `innerOffset` of its output) until `size` bytes
 * of the chunk are produced. Stops at the first frame that completes the chunk, so a range that
 * runs past the chunk (upstream's rule for last chunks) is never decoded further. An exact range's
 * frames must decode to the chunk and nothing more.
 */
export function decodeChunk(core: Core, compressed: Uint8Array, chunk: ChunkRange, name: string): Uint8Array {
  const surplus = chunk.exact ? 0 : INEXACT_SURPLUS;
  // Parts as the frames produce them: memory follows the bytes really decoded, never the size the
  // TOC claims (which may be anything up to 2^53 − 1).
  const parts: Uint8Array[] = [];
  let produced = 0; // bytes of decompressed output seen, including the innerOffset prefix
  let filled = 0;
  let pos = 0;
  // An exact range is decoded as the zstd stream it is, to its end (skippable frames skipped, as
  // upstream's stream decoder does): it must hold the chunk and nothing more. An inexact one is
  // decoded only until the chunk is complete.
  while (filled < chunk.size || (chunk.exact && pos < compressed.length)) {
    if (pos < compressed.length && isSkippableAt(compressed, pos)) {
      pos += core.zstd.frameSizeAt(compressed, pos);
      continue;
    }
    if (pos >= compressed.length) {
      throw new LayerkitError(
        "SIZE_MISMATCH",
        `${name}: chunk at ${chunk.offset} decompressed to ${filled} bytes, the TOC says ${chunk.size}`,
        {
          path: name,
          offset: chunk.offset,
          expected: chunk.size,
          actual: filled,
        },
      );
    }
    const { data, frameSize } = core.zstd.decompressFrameAt(compressed, pos, {
      maxOutput: chunk.innerOffset + chunk.size - produced + surplus,
    });
    pos += frameSize;
    const skip = Math.max(0, chunk.innerOffset - produced);
    produced += data.length;
    if (chunk.exact && produced > chunk.innerOffset + chunk.size) {
      throw new LayerkitError(
        "SIZE_MISMATCH",
        `${name}: the frames of the chunk at ${chunk.offset} decompress to more than the TOC's ${chunk.size} bytes`,
        {
          path: name,
          offset: chunk.offset,
          expected: chunk.size,
        },
      );
    }
    if (skip < data.length) {
      const take = Math.min(data.length - skip, chunk.size - filled);
      parts.push(data.subarray(skip, skip + take));
      filled += take;
    }
  }
  return parts.length === 1 && parts[0]!.length === chunk.size ? parts[0]! : concatBytes(parts);
}

function isSkippableAt(b: Uint8Array, pos: number): boolean {
  if (pos + 4 > b.length) return false;
  const magic = (b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16) | (b[pos + 3]! << 24)) >>> 0;
  return (magic & 0xfffffff0) >>> 0 === 0x184d2a50;
}

function checkDigest(core: Core, data: Uint8Array, expected: string, what: string, details: Record<string, unknown>): void {
  const actual = "sha256:" + core.sha256().update(data).hex();
  if (actual !== expected) {
    throw new LayerkitError("DIGEST_MISMATCH", `${what}: digest ${actual} does not match the TOC's ${expected}`, {
      ...details,
      expected,
      actual,
    });
  }
}

/**
 * Streams the verified chunks of a regular file. Each chunk is fetched (zeros chunks are
 * synthesised, not fetched) and checked against its chunk digest before it is yielded; a file
 * whose only digest is the whole-file digest is buffered and checked as a whole first.
 */
export async function* fileChunks(core: Core, source: BlobSource, file: TocFile): AsyncGenerator<Uint8Array, void, void> {
  if (file.type !== "reg") {
    throw new LayerkitError("BAD_ARGUMENT", `${file.name} is not a regular file`, { path: file.name, type: file.type });
  }
  if (file.size === 0) {
    // Nothing to fetch, but the authenticated TOC still commits to a digest: it must be the empty one.
    if (file.digest !== undefined && file.digest !== EMPTY_DIGEST) {
      throw new LayerkitError("DIGEST_MISMATCH", `${file.name}: empty file, but the TOC gives it the digest ${file.digest}`, {
        path: file.name,
        expected: file.digest,
        actual: EMPTY_DIGEST,
      });
    }
    return;
  }
  const perChunk = file.chunks.length > 1 && file.chunks.every((c) => c.digest !== undefined);
  const whole = file.digest !== undefined ? core.sha256() : undefined;
  const buffered: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of decodedChunks(core, source, file)) {
    const { range, data } = chunk;
    if (perChunk) {
      checkDigest(core, data, range.digest!, `${file.name} chunk at ${range.fileOffset}`, { path: file.name, offset: range.offset });
    }
    whole?.update(data);
    total += data.length;
    if (perChunk) yield data;
    else buffered.push(data);
  }
  if (total !== file.size) {
    throw new LayerkitError("SIZE_MISMATCH", `${file.name}: chunks hold ${total} bytes, the TOC says ${file.size}`, {
      path: file.name,
      expected: file.size,
      actual: total,
    });
  }
  if (whole) {
    const actual = "sha256:" + whole.hex();
    if (actual !== file.digest) {
      throw new LayerkitError("DIGEST_MISMATCH", `${file.name}: digest ${actual} does not match the TOC's ${file.digest}`, {
        path: file.name,
        offset: file.offset,
        expected: file.digest,
        actual,
      });
    }
  }
  yield* buffered;
}

/** Reads are coalesced up to this many bytes, which bounds memory for huge files. */
const MAX_READ = 32 * 1024 * 1024;

/**
 * Yields each chunk of `file` decoded, in order. A file's chunks are contiguous in the blob, so
 * they are fetched with one read (of at most {@link MAX_READ} bytes at a time); the tiny frames of
 * zeros chunks ride along in that read but are never decoded: their bytes are synthesised.
 */
async function* decodedChunks(core: Core, source: BlobSource, file: TocFile): AsyncGenerator<{ range: ChunkRange; data: Uint8Array }> {
  const chunks = file.chunks;
  let i = 0;
  while (i < chunks.length) {
    const first = chunks[i]!;
    let j = i + 1;
    let end = first.end;
    while (j < chunks.length) {
      const c = chunks[j]!;
      if (c.offset < first.offset || c.offset > end || c.end - first.offset > MAX_READ) break;
      end = Math.max(end, c.end);
      j++;
    }
    const group = chunks.slice(i, j);
    // A group of nothing but zeros chunks needs no read at all.
    const bytes = group.every((c) => c.zeros) ? undefined : await source.read(first.offset, end - first.offset);
    for (const range of group) {
      if (range.zeros || !bytes) yield { range, data: new Uint8Array(range.size) };
      else {yield {
          range,
          data: decodeChunk(core, bytes.subarray(range.offset - first.offset, range.end - first.offset), range, file.name),
        };}
    }
    i = j;
  }
}
