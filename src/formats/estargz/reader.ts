/**
 * Reading an eStargz blob lazily (docs/formats/estargz.md §2, §3, §5, §7): footer (51 bytes, then the
 * legacy 47), the TOC member at the footer's offset (decompressed with a bound, must be a tar
 * whose entry is `stargz.index.json`), the TOC digest (sha256 of the JSON) checked against an
 * expected one, the JSON parsed with upstream's schema rules and our limits (shared with the
 * stargz zstdchunked variant: `../zstd-chunked/toc-parse.ts`), and per-chunk compressed ranges.
 *
 * Reading a chunk decompresses exactly its range `[offset, next offset)` and checks:
 * - the chunk bytes (`[innerOffset, innerOffset + size)` of the output) against `chunkDigest`
 *   (DIGEST_MISMATCH; a chunk without a digest is BAD_TOC, as upstream's VerifyTOC);
 * - that the range is whole gzip members (CRC-32/ISIZE checked; TRUNCATED / GZIP_CORRUPT);
 * - that nothing more is in it than the TOC implies: a non-last chunk of a file is alone in its
 *   range; after a file's last chunk come only the tar padding and the headers of the entries the
 *   TOC lists up to the next file with payload (counted by walking the headers), plus end-of-archive
 *   blocks before the TOC. More output, or other structure, is SIZE_MISMATCH. Decompression itself
 *   is bounded, so a member that inflates without end stops at the bound with SIZE_MISMATCH.
 *
 * @module
 */
import { type Core, getCore } from "../../core.js";
import { LayerkitError } from "../../errors.js";
import { isDigest } from "../../layer/digest.js";
import { Gunzip, inflateMembersFast } from "../../gzip/gzip.js";
import type { BlobSource } from "../../source/blob-source.js";
import { coalesceRanges } from "../../source/coalesce.js";
import { concatBytes } from "../../util/bytes.js";
import { cleanEntryName } from "../../go/path.js";
import type { ChunkRange } from "../../layer/ranges.js";
import { EMPTY_DIGEST, parseToc, type TocFile } from "../../layer/toc-parse.js";
import { FOOTER_SIZE, LEGACY_FOOTER_SIZE, TOC_TAR_NAME } from "./constants.js";
import { MAX_TOC_SIZE } from "../../layer/annotations.js";
import { type EstargzFooter, findFooter } from "./footer.js";
import { BLOCK_SIZE as BLOCK, blockPadding as padLength } from "../../tar/header.js";
import { parseEntryHeaders, walkHeaderRun } from "../../tar/header-run.js";
import { SEEKABLE_TAR_READ } from "../../tar/layer-rules.js";
import type { EstargzToc } from "./toc.js";

/** Largest compressed window {@link EstargzReader.readFile} fetches with one read (bounds memory for huge files). */
export const READ_WINDOW: number = 32 * 1024 * 1024;

export type { TocFile } from "../../layer/toc-parse.js";
export type { ChunkRange } from "../../layer/ranges.js";

export interface ReadEstargzTocOptions {
  /** Expected TOC digest (the `containerd.io/snapshot/stargz/toc.digest` annotation): mismatch is DIGEST_MISMATCH. */
  tocDigest?: string;
  /** Core for SHA-256; default {@link getCore}. */
  core?: Core;
  /** Bound for the decompressed TOC JSON (default 150 MiB). */
  maxTocSize?: number;
}

/** Header bytes a tar entry may take beyond what the TOC records (PAX records, long names). */
const HEADER_ALLOWANCE = 8 * 1024;
/** Extra slack for unusual PAX records in a member's header run. */
const RUN_ALLOWANCE = 1 << 20;

/** Reads and checks the TOC of an eStargz blob; the result reads and verifies file contents. */
export async function readEstargzToc(source: BlobSource, options: ReadEstargzTocOptions = {}): Promise<EstargzReader> {
  const core = options.core ?? (await getCore());
  const maxToc = options.maxTocSize ?? MAX_TOC_SIZE;
  if (options.tocDigest !== undefined && !isDigest(options.tocDigest)) {
    throw new LayerkitError("BAD_ARGUMENT", `tocDigest must be sha256:<64 hex>, got ${JSON.stringify(options.tocDigest)}`, {
      tocDigest: options.tocDigest,
    });
  }
  const blobSize = await source.size();
  if (blobSize < LEGACY_FOOTER_SIZE) {
    throw new LayerkitError("TRUNCATED", `blob of ${blobSize} bytes is smaller than an eStargz footer`, { blobSize });
  }
  const tailLen = Math.min(blobSize, FOOTER_SIZE);
  const tail = await source.read(blobSize - tailLen, tailLen);
  const footer = findFooter(tail);
  const tocEnd = blobSize - footer.size;
  if (footer.tocOffset >= tocEnd) {
    throw new LayerkitError("OUT_OF_RANGE", `TOC offset ${footer.tocOffset} is not inside the blob before the footer (${tocEnd})`, {
      tocOffset: footer.tocOffset,
      blobSize,
      footerSize: footer.size,
    });
  }
  // A compressed TOC can't be (much) larger than its uncompressed bound.
  const tocLen = tocEnd - footer.tocOffset;
  if (tocLen > maxToc + 65536 + Math.ceil(maxToc / 1000) * 5) {
    throw new LayerkitError("LIMIT_EXCEEDED", `compressed TOC of ${tocLen} bytes exceeds the limit`, { tocLength: tocLen, limit: maxToc });
  }
  const tocMember = await source.read(footer.tocOffset, tocLen);
  const json = extractTocJson(tocMember, maxToc);
  const tocDigest = "sha256:" + core.sha256().update(json).hex();
  if (options.tocDigest !== undefined && options.tocDigest !== tocDigest) {
    throw new LayerkitError("DIGEST_MISMATCH", `TOC digest ${tocDigest} does not match the expected ${options.tocDigest}`, {
      expected: options.tocDigest,
      actual: tocDigest,
    });
  }
  const parsed = parseToc(json, { payloadEnd: footer.tocOffset, format: "estargz-zstd" });
  requireChunkDigests(parsed.files);
  return new EstargzReader(source, core, {
    blobSize,
    footer,
    tocDigest,
    toc: parsed.toc as EstargzToc,
    files: parsed.files,
    tocJson: json,
  });
}

/**
 * Every chunk with payload must carry its chunkDigest, as upstream's VerifyTOC requires when the
 * layer is opened (estargz 0.12: "ChunkDigest of … not found in TOC"): refusing the TOC here,
 * not at the first read of such a chunk, is what lets verify report it too.
 */
function requireChunkDigests(files: readonly TocFile[]): void {
  for (const f of files) {
    for (const c of f.chunks) {
      if (c.digest === undefined) {
        throw new LayerkitError(
          "BAD_TOC",
          `${JSON.stringify(f.name)}: the chunk at file offset ${c.fileOffset} (blob offset ${c.offset}) has no chunkDigest`,
          { name: f.name, offset: c.offset },
        );
      }
    }
  }
}

/**
 * The TOC member: one gzip member holding a tar whose first entry is `stargz.index.json` (a
 * regular file), then (as written) tar end-of-archive blocks. Returns the entry's content.
 */
export function extractTocJson(member: Uint8Array, maxToc = MAX_TOC_SIZE): Uint8Array {
  const g = new Gunzip({ multiMember: false, maxOutput: maxToc + 3 * BLOCK + 2 * BLOCK + 2 * (1 << 20), limitCode: "LIMIT_EXCEEDED" });
  let parts: Uint8Array[];
  try {
    parts = g.push(member);
    if (!g.finished) parts.push(...g.end());
  } catch (e) {
    if (e instanceof LayerkitError && e.code === "LIMIT_EXCEEDED") {
      throw new LayerkitError("LIMIT_EXCEEDED", `TOC member decompresses to more than the ${maxToc}-byte limit`, { limit: maxToc }, {
        cause: e,
      });
    }
    throw new LayerkitError("BAD_TOC", `TOC member is not a valid gzip member: ${(e as Error).message}`, {}, { cause: e });
  }
  if (g.bytesIn !== member.length) {
    throw new LayerkitError("BAD_TOC", `${member.length - g.bytesIn} bytes after the TOC member before the footer`, {
      trailing: member.length - g.bytesIn,
    });
  }
  const tar = concatBytes(parts);
  let h;
  try {
    h = parseEntryHeaders(tar, 0, SEEKABLE_TAR_READ);
  } catch (e) {
    // The tar-level code stays in `details.tarCode` (and `cause`): the same one the tar reader gives.
    const tarCode = e instanceof LayerkitError ? e.code : undefined;
    throw new LayerkitError("BAD_TOC", `TOC member is not a tar: ${(e as Error).message}`, { tarCode }, { cause: e });
  }
  if (!h) throw new LayerkitError("BAD_TOC", "TOC member holds an empty tar", {});
  const name = h.header.name;
  if (name !== TOC_TAR_NAME) {
    throw new LayerkitError("BAD_TOC", `TOC tar entry is named ${JSON.stringify(name)}, expected ${JSON.stringify(TOC_TAR_NAME)}`, {
      name,
    });
  }
  const size = h.dataSize;
  if (h.header.typeflag !== "0") {
    throw new LayerkitError("BAD_TOC", `TOC tar entry has type ${JSON.stringify(h.header.typeflag)}, expected a regular file`, {
      typeflag: h.header.typeflag,
    });
  }
  if (size > maxToc) {
    throw new LayerkitError("LIMIT_EXCEEDED", `TOC JSON of ${size} bytes exceeds the ${maxToc}-byte limit`, { size, limit: maxToc });
  }
  if (h.dataOffset + size > tar.length) {
    throw new LayerkitError("BAD_TOC", "TOC tar entry is cut short", { size, available: tar.length - h.dataOffset });
  }
  return tar.subarray(h.dataOffset, h.dataOffset + size);
}

interface ReaderState {
  blobSize: number;
  footer: EstargzFooter;
  tocDigest: string;
  toc: EstargzToc;
  files: TocFile[];
  tocJson: Uint8Array;
}

/** A parsed eStargz blob: its TOC and verified access to file contents. */
export class EstargzReader {
  readonly format = "estargz" as const;
  readonly source: BlobSource;
  readonly blobSize: number;
  readonly footer: EstargzFooter;
  /** `sha256:` of the TOC JSON (the `containerd.io/snapshot/stargz/toc.digest` value). */
  readonly tocDigest: string;
  readonly toc: EstargzToc;
  /** The TOC JSON bytes as stored. */
  readonly tocJson: Uint8Array;
  /** Non-chunk entries in TOC order; regular files with payload carry their chunk ranges. */
  readonly files: TocFile[];
  readonly #core: Core;
  readonly #byName = new Map<string, TocFile>();
  readonly #position = new Map<TocFile, number>();
  #chunksAt: Map<number, number> | undefined;

  constructor(source: BlobSource, core: Core, s: ReaderState) {
    this.source = source;
    this.#core = core;
    this.blobSize = s.blobSize;
    this.footer = s.footer;
    this.tocDigest = s.tocDigest;
    this.toc = s.toc;
    this.tocJson = s.tocJson;
    this.files = s.files;
    s.files.forEach((f, i) => {
      this.#byName.set(cleanEntryName(f.name), f); // later entries win, as in upstream's map
      this.#position.set(f, i);
    });
  }

  /** Compressed offset of the TOC member. */
  get tocOffset(): number {
    return this.footer.tocOffset;
  }

  /** The entry for `name` (cleaned as upstream does: "./a", "/a" and "a" are the same). Hardlinks are followed. */
  lookup(name: string): TocFile | undefined {
    let f = this.#byName.get(cleanEntryName(name));
    for (let hops = 0; f && f.type === "hardlink" && hops < 64; hops++) f = this.#byName.get(cleanEntryName(f.linkName ?? ""));
    return f?.type === "hardlink" ? undefined : f;
  }

  /** Regular files in TOC order. */
  regularFiles(): TocFile[] {
    return this.files.filter((f) => f.type === "reg");
  }

  #file(nameOrFile: string | TocFile): TocFile {
    const f = typeof nameOrFile === "string" ? this.lookup(nameOrFile) : nameOrFile;
    if (!f) throw new LayerkitError("NOT_FOUND", `no entry ${JSON.stringify(nameOrFile)} in the TOC`, { name: nameOrFile });
    if (f.type !== "reg") {
      throw new LayerkitError("BAD_ARGUMENT", `${JSON.stringify(f.name)} is a ${f.type}, not a regular file`, {
        name: f.name,
        type: f.type,
      });
    }
    return f;
  }

  /**
   * How many tar entries' headers follow `file`'s payload inside its last chunk's range: the
   * entries after it up to and including the next file with payload (whose payload starts the
   * next range), or all remaining ones when the range ends at the TOC.
   */
  #headersAfter(file: TocFile): { count: number; allowance: number } {
    const start = this.#position.get(file);
    if (start === undefined) throw new LayerkitError("BAD_ARGUMENT", "file is not from this reader", { name: file.name });
    let count = 0;
    let allowance = RUN_ALLOWANCE;
    for (let i = start + 1; i < this.files.length; i++) {
      const f = this.files[i]!;
      count++;
      allowance += HEADER_ALLOWANCE + 2 * (f.name.length + (f.linkName?.length ?? 0));
      if (f.xattrs) { for (const [k, v] of Object.entries(f.xattrs)) allowance += 64 + 2 * k.length + v.length; }
      if (f.chunks.length > 0) break;
    }
    return { count, allowance };
  }

  /** True when another chunk (of any file) starts in the same member as `c`. */
  #shared(c: ChunkRange): boolean {
    if (c.innerOffset > 0) return true;
    if (!this.#chunksAt) {
      this.#chunksAt = new Map();
      for (const f of this.files) for (const d of f.chunks) this.#chunksAt.set(d.offset, (this.#chunksAt.get(d.offset) ?? 0) + 1);
    }
    return (this.#chunksAt.get(c.offset) ?? 0) > 1;
  }

  /**
   * Reads chunk `index` of `file`, verified against its digest, decompressing exactly its range.
   * See the module doc for what is checked.
   */
  async readChunk(nameOrFile: string | TocFile, index: number): Promise<Uint8Array> {
    const file = this.#file(nameOrFile);
    const c = this.#chunk(file, index);
    return this.#decodeChunk(file, index, await this.source.read(c.offset, c.end - c.offset));
  }

  /** Chunk `index` of `file`, which must carry a digest. */
  #chunk(file: TocFile, index: number): ChunkRange {
    const c = file.chunks[index];
    if (!c) {
      throw new LayerkitError("OUT_OF_RANGE", `${JSON.stringify(file.name)} has no chunk ${index}`, {
        name: file.name,
        index,
        chunks: file.chunks.length,
      });
    }
    if (c.digest === undefined) {
      throw new LayerkitError("BAD_TOC", `chunk ${index} of ${JSON.stringify(file.name)} has no chunkDigest`, { name: file.name, index });
    }
    return c;
  }

  /** Decodes and checks chunk `index` of `file` from `compressed`, the bytes of its range. */
  #decodeChunk(file: TocFile, index: number, compressed: Uint8Array): Uint8Array {
    const c = this.#chunk(file, index);
    const last = index === file.chunks.length - 1;
    const shared = this.#shared(c);
    const pad = last ? padLength(file.size) : 0;
    const after = last ? this.#headersAfter(file) : { count: 0, allowance: 0 };
    const expectedMin = c.innerOffset + c.size + pad;
    const bound = shared
      ? expectedMin + after.allowance + (c.end - c.offset) * 1032
      : expectedMin + after.allowance + (c.end === this.tocOffset ? 4 * BLOCK : 0);
    // libdeflate first (an exact-size output buffer for a plain chunk); our streaming inflater
    // decides every input libdeflate does not decode cleanly, with its typed errors and the bound.
    // (The fast path's cap is at most `bound`, so its output never exceeds it.)
    let out: Uint8Array | undefined = compressed.length > 0
      ? inflateMembersFast(this.#core.deflate, compressed, Math.min(bound, expectedMin + after.allowance + 4 * BLOCK))
      : undefined;
    try {
      if (!out) {
        const g = new Gunzip({ maxOutput: bound, limitCode: "SIZE_MISMATCH" });
        const parts = g.push(compressed);
        parts.push(...g.end());
        out = concatBytes(parts);
      }
    } catch (e) {
      if (e instanceof LayerkitError) {
        e.details["name"] ??= file.name;
        e.details["chunk"] ??= index;
        e.details["range"] ??= [c.offset, c.end];
      }
      throw e;
    }
    if (out.length < c.innerOffset + c.size) {
      throw new LayerkitError(
        "SIZE_MISMATCH",
        `range ${c.offset}..${c.end} decompresses to ${out.length} bytes, fewer than chunk ${index} of ${JSON.stringify(file.name)} needs`,
        {
          name: file.name,
          chunk: index,
          needed: c.innerOffset + c.size,
          actual: out.length,
        },
      );
    }
    const data = out.subarray(c.innerOffset, c.innerOffset + c.size);
    const got = "sha256:" + this.#core.sha256().update(data).hex();
    if (got !== c.digest) {
      throw new LayerkitError("DIGEST_MISMATCH", `chunk ${index} of ${JSON.stringify(file.name)} has digest ${got}, TOC says ${c.digest}`, {
        name: file.name,
        chunk: index,
        expected: c.digest,
        actual: got,
      });
    }
    if (!shared) this.#checkRest(file, index, c, out.subarray(c.innerOffset + c.size), pad, after.count);
    return out.length === data.length ? out : data.slice();
  }

  #checkRest(file: TocFile, index: number, c: ChunkRange, rest: Uint8Array, pad: number, headers: number): void {
    const fail = (why: string, details: Record<string, unknown> = {}) =>
      new LayerkitError("SIZE_MISMATCH", `range ${c.offset}..${c.end} of ${JSON.stringify(file.name)} chunk ${index}: ${why}`, {
        name: file.name,
        chunk: index,
        range: [c.offset, c.end],
        ...details,
      });
    if (rest.length < pad) throw fail("tar padding is missing", { pad, rest: rest.length });
    // Nonzero "padding" is how a file longer than the TOC says shows; verify checks padding too.
    for (let i = 0; i < pad; i++) if (rest[i] !== 0) throw fail("tar padding is not zero");
    const run = rest.subarray(pad);
    if (headers === 0 && run.length === 0) return;
    if (index < file.chunks.length - 1) throw fail(`${run.length} bytes follow a chunk that should fill the range`, { extra: run.length });
    let walked;
    try {
      walked = walkHeaderRun(run, SEEKABLE_TAR_READ);
    } catch (e) {
      throw fail(`what follows the payload is not the tar headers the TOC lists (${(e as Error).message})`, {
        tarCode: e instanceof LayerkitError ? e.code : undefined,
      });
    }
    if (walked.entries !== headers) {
      throw fail(`${walked.entries} tar entries follow the payload, the TOC lists ${headers}`, {
        entries: walked.entries,
        expected: headers,
      });
    }
    if (walked.zeroBlocks > 0 && c.end !== this.tocOffset) throw fail("end-of-archive blocks before the end of the payload area");
  }

  /**
   * Reads a whole regular file, every chunk verified, then the file digest. The chunks' ranges are
   * coalesced into as few reads as {@link coalesceRanges} allows (contiguous members merge, each
   * read at most {@link READ_WINDOW} bytes unless one chunk is larger), not one read per chunk.
   */
  async readFile(nameOrFile: string | TocFile): Promise<Uint8Array> {
    const file = this.#file(nameOrFile);
    // Chunks as decoded (each its TOC size, checked): memory follows the bytes really decoded, not
    // the file size the TOC claims. An empty file's digest is checked like any other.
    const parts: Uint8Array[] = [];
    const ranges = file.chunks.map((c, i) => {
      this.#chunk(file, i);
      return { offset: c.offset, length: c.end - c.offset };
    });
    for (const span of coalesceRanges(ranges, { maxLength: READ_WINDOW })) {
      const bytes = await this.source.read(span.offset, span.length);
      for (const i of span.members) {
        const r = ranges[i]!;
        parts[i] = this.#decodeChunk(file, i, bytes.subarray(r.offset - span.offset, r.offset - span.offset + r.length));
      }
    }
    const out = concatBytes(parts);
    if (out.length !== file.size) {
      throw new LayerkitError(
        "SIZE_MISMATCH",
        `${JSON.stringify(file.name)}: its chunks hold ${out.length} bytes, the TOC says ${file.size}`,
        { name: file.name, expected: file.size, actual: out.length },
      );
    }
    if (file.digest !== undefined) {
      const got = "sha256:" + this.#core.sha256().update(out).hex();
      if (got !== file.digest) {
        throw new LayerkitError("DIGEST_MISMATCH", `${JSON.stringify(file.name)} has digest ${got}, TOC says ${file.digest}`, {
          name: file.name,
          expected: file.digest,
          actual: got,
        });
      }
    }
    return out;
  }

  /** The file's verified chunks in order, one at a time (bounded memory for big files). */
  async *fileChunks(nameOrFile: string | TocFile): AsyncGenerator<Uint8Array, void, void> {
    const file = this.#file(nameOrFile);
    const h = this.#core.sha256();
    if (file.chunks.length === 0 && file.digest !== undefined && file.digest !== EMPTY_DIGEST) {
      // No chunk to check, but the TOC commits to a digest: an empty file's must be the empty one.
      throw new LayerkitError("DIGEST_MISMATCH", `${JSON.stringify(file.name)} is empty, but the TOC gives it the digest ${file.digest}`, {
        name: file.name,
        expected: file.digest,
        actual: EMPTY_DIGEST,
      });
    }
    for (let i = 0; i < file.chunks.length; i++) {
      const chunk = await this.readChunk(file, i);
      h.update(chunk);
      if (i === file.chunks.length - 1 && file.digest !== undefined) {
        const got = "sha256:" + h.hex();
        if (got !== file.digest) {
          throw new LayerkitError("DIGEST_MISMATCH", `${JSON.stringify(file.name)} has digest ${got}, TOC says ${file.digest}`, {
            name: file.name,
            expected: file.digest,
            actual: got,
          });
        }
      }
      yield chunk;
    }
  }
}
