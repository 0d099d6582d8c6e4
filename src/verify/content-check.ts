/**
 * Checks one regular file's bytes, as they stream out of the tar, against its TOC entry: the
 * whole-file digest and every chunk's digest (or, for `zeros` chunks, that the bytes are zero,
 * since lazy readers synthesise those chunks without reading them).
 *
 * @module
 */
import type { Core, Hasher } from "../core.js";
import type { ChunkRange } from "../layer/ranges.js";
import type { TocFile } from "../layer/toc-parse.js";
import type { Findings } from "./findings.js";

export class ContentCheck {
  readonly #core: Core;
  readonly #file: TocFile;
  readonly #findings: Findings;
  readonly #dataOffset: number;
  readonly #whole: Hasher | undefined;
  /** Chunks in file order that need a look (digest or zeros). */
  readonly #chunks: ChunkRange[];
  #i = 0;
  #chunkHash: Hasher | undefined;
  #chunkZero = true;
  #pos = 0;
  /** Chunks checked so far. */
  checked = 0;

  /** `dataOffset`: tar offset of the file's first payload byte (for failure locations). */
  constructor(core: Core, file: TocFile, dataOffset: number, findings: Findings) {
    this.#core = core;
    this.#file = file;
    this.#findings = findings;
    this.#dataOffset = dataOffset;
    this.#whole = file.digest !== undefined ? core.sha256() : undefined;
    // A file's only chunk whose digest is the file digest needs no second hash.
    const only = file.chunks.length === 1 ? file.chunks[0] : undefined;
    const redundant = only !== undefined && !only.zeros && only.digest === file.digest && only.size === file.size;
    this.#chunks = redundant ? [] : [...file.chunks].sort((a, b) => a.fileOffset - b.fileOffset);
    if (redundant) this.checked = 1;
    this.#begin();
  }

  #begin(): void {
    const c = this.#chunks[this.#i];
    this.#chunkHash = c?.digest !== undefined ? this.#core.sha256() : undefined;
    this.#chunkZero = true;
  }

  update(piece: Uint8Array): void {
    this.#whole?.update(piece);
    let at = 0;
    while (at < piece.length && this.#i < this.#chunks.length) {
      const c = this.#chunks[this.#i]!;
      const start = this.#pos + at;
      if (start < c.fileOffset) {
        at += Math.min(piece.length - at, c.fileOffset - start);
        continue;
      }
      const n = Math.min(piece.length - at, c.fileOffset + c.size - start);
      const part = piece.subarray(at, at + n);
      this.#chunkHash?.update(part);
      if (c.zeros && this.#chunkZero) this.#chunkZero = part.every((b) => b === 0);
      at += n;
      if (start + n === c.fileOffset + c.size) this.#finishChunk(c);
    }
    this.#pos += piece.length;
  }

  #finishChunk(c: ChunkRange): void {
    const path = this.#file.name;
    const offset = this.#dataOffset + c.fileOffset;
    if (c.zeros && !this.#chunkZero) {
      this.#findings.fail(
        "chunk-digests",
        "DIGEST_MISMATCH",
        `${JSON.stringify(path)}: the TOC marks the chunk at file offset ${c.fileOffset} as zeros, but the tar has other bytes there`,
        { path, offset, offsetKind: "tar" },
      );
    }
    if (this.#chunkHash) {
      const actual = "sha256:" + this.#chunkHash.hex();
      if (actual !== c.digest) {
        this.#findings.fail(
          "chunk-digests",
          "DIGEST_MISMATCH",
          `${JSON.stringify(path)}: chunk at file offset ${c.fileOffset} has digest ${actual}, the TOC says ${c.digest}`,
          { path, offset, offsetKind: "tar" },
        );
      }
    }
    this.checked++;
    this.#i++;
    this.#begin();
  }

  /** The payload ended (`size` bytes were read). */
  finish(): void {
    const path = this.#file.name;
    if (this.#whole) {
      const actual = "sha256:" + this.#whole.hex();
      if (actual !== this.#file.digest) {
        this.#findings.fail(
          "file-digests",
          "DIGEST_MISMATCH",
          `${JSON.stringify(path)}: content digest ${actual}, the TOC says ${this.#file.digest}`,
          { path, offset: this.#dataOffset, offsetKind: "tar" },
        );
      }
    }
    if (this.#i < this.#chunks.length) {
      this.#findings.fail(
        "chunk-digests",
        "SIZE_MISMATCH",
        `${JSON.stringify(path)}: the tar payload (${this.#pos} bytes) ends before the TOC's chunks do`,
        { path, offset: this.#dataOffset, offsetKind: "tar" },
      );
    }
  }
}
