/**
 * Tar headers read out of bytes already in memory, with the one header parser of
 * {@link nextEntry} (Go `archive/tar` semantics): an entry's header run (extension headers `x`,
 * `L`, `K` folded in, payload not included), and a walk over a run of header-only entries. Used
 * where a format holds bare tar headers of its own (eStargz members and its TOC entry).
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { BLOCK_SIZE, type NextOptions } from "./header.js";
import { readTarHeaderBytes } from "./reader.js";
import { isHeaderOnlyType, type TarHeader } from "./types.js";

/** One entry's headers found in a buffer. */
export interface HeaderRunEntry {
  header: TarHeader;
  /** Offset of its first header byte (extension headers included). */
  offset: number;
  /** Offset of its payload (right after the main header block). */
  dataOffset: number;
  /** Payload bytes that follow (0 for header-only types). */
  dataSize: number;
}

/**
 * Parses the headers of the entry starting at `offset` in `bytes`. Returns undefined at the end of
 * the archive (a zero block, or no bytes left). Throws what the tar reader throws for the same
 * bytes (TAR_CORRUPT, TAR_UNSUPPORTED, TRUNCATED, LIMIT_EXCEEDED, UNSAFE_PATH).
 */
export function parseEntryHeaders(bytes: Uint8Array, offset: number, options: NextOptions = {}): HeaderRunEntry | undefined {
  const r = readTarHeaderBytes(bytes.subarray(offset), { ...options, position: offset });
  if (r.kind === "end") return undefined;
  return { header: r.header, offset, dataOffset: offset + r.consumed, dataSize: r.dataSize };
}

/** What {@link walkHeaderRun} found. */
export interface HeaderRunWalk {
  /** Entries whose headers are in the run. */
  entries: number;
  /** The last entry has a payload, which is not in the run (it starts what follows). */
  lastHasPayload: boolean;
  /** Whole zero blocks at the end (end-of-archive marker). */
  zeroBlocks: number;
}

function corrupt(message: string, offset: number): LayerkitError {
  return new LayerkitError("TAR_CORRUPT", `tar: ${message} at offset ${offset}`, { offset });
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Walks a run of tar headers: every entry but the last must have no payload; the last may be one
 * whose payload is not included (`lastHasPayload`). An end-of-archive marker may end the run, and
 * then only whole zero blocks may follow.
 */
export function walkHeaderRun(bytes: Uint8Array, options: NextOptions = {}): HeaderRunWalk {
  let off = 0;
  let entries = 0;
  let lastHasPayload = false;
  while (off < bytes.length) {
    if (lastHasPayload) throw corrupt("tar entry with payload inside a header run", off);
    const e = parseEntryHeaders(bytes, off, options);
    if (!e) {
      let zeroBlocks = 0;
      for (; off < bytes.length; off += BLOCK_SIZE, zeroBlocks++) {
        if (off + BLOCK_SIZE > bytes.length || !isZero(bytes.subarray(off, off + BLOCK_SIZE))) {
          throw corrupt("data after the end-of-archive blocks", off);
        }
      }
      return { entries, lastHasPayload, zeroBlocks };
    }
    entries++;
    off = e.dataOffset;
    if (!isHeaderOnlyType(e.header.typeflag) && e.dataSize > 0) {
      if (off !== bytes.length) throw corrupt("tar entry with payload inside a header run", e.offset);
      lastHasPayload = true;
    }
  }
  return { entries, lastHasPayload, zeroBlocks: 0 };
}
