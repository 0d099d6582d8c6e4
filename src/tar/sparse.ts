/**
 * GNU sparse files as Go's `archive/tar` reads them: the old GNU format (typeflag `S`, the map in
 * the header block and extension blocks) and the PAX formats 0.1 (`GNU.sparse.map`) and 1.0 (the
 * map at the start of the data). The payload in the archive is the data fragments back to back;
 * the entry's logical size is the real size, holes read as zeros.
 *
 * @module
 */
import { type FieldParser, goParseInt } from "./strconv.js";

/** One data fragment of a sparse file (logical offset and length). */
export interface SparseFragment {
  offset: number;
  length: number;
}

/** Entries of one old-GNU sparse array: `count` 24-byte entries at `at`, then the isExtended byte. */
function readArray(b: Uint8Array, at: number, count: number, extendedAt: number, p: FieldParser, out: SparseFragment[]): boolean {
  for (let i = 0; i < count; i++) {
    const o = at + i * 24;
    if (b[o] === 0) break; // GNU and BSD tar stop here too
    out.push({ offset: p.numeric(b.subarray(o, o + 12)), length: p.numeric(b.subarray(o + 12, o + 24)) });
  }
  return b[extendedAt]! > 0;
}

/** The old-GNU header block's real size, its 4 map entries and whether extension blocks follow. */
export function oldGnuSparseHeader(blk: Uint8Array, p: FieldParser, out: SparseFragment[]): { realSize: number; extended: boolean } {
  const realSize = p.numeric(blk.subarray(483, 495));
  return { realSize, extended: readArray(blk, 386, 4, 482, p, out) };
}

/** One old-GNU sparse extension block: 21 entries, then isExtended. */
export function oldGnuSparseExtension(blk: Uint8Array, p: FieldParser, out: SparseFragment[]): boolean {
  return readArray(blk, 0, 21, 504, p, out);
}

const text = (v: Uint8Array | undefined): string => (v ? new TextDecoder().decode(v) : "");

/** Go's `readGNUSparsePAXHeaders` version test: "0.1" (0.0 and 0.1), "1.0", or undefined (not sparse). */
export function paxSparseVersion(pax: Map<string, Uint8Array>): "0.1" | "1.0" | undefined {
  const major = text(pax.get("GNU.sparse.major"));
  const minor = text(pax.get("GNU.sparse.minor"));
  if (major === "0" && (minor === "0" || minor === "1")) return "0.1";
  if (major === "1" && minor === "0") return "1.0";
  if (major !== "" || minor !== "") return undefined; // unknown version: a regular entry, as in Go
  return text(pax.get("GNU.sparse.map")) !== "" ? "0.1" : undefined;
}

function int(s: string): number | null {
  const v = goParseInt(s);
  if (v === null || v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) return null;
  return Number(v);
}

/** The logical size PAX sparse records give (`GNU.sparse.size`, else `realsize`), null when invalid, undefined when absent. */
export function paxSparseSize(pax: Map<string, Uint8Array>): number | null | undefined {
  const s = text(pax.get("GNU.sparse.size")) || text(pax.get("GNU.sparse.realsize"));
  return s === "" ? undefined : int(s);
}

/** Go's `readGNUSparseMap0x1`: the `GNU.sparse.numblocks` / `GNU.sparse.map` records; null when invalid. */
export function paxSparseMap01(pax: Map<string, Uint8Array>): SparseFragment[] | null {
  const n = int(text(pax.get("GNU.sparse.numblocks")));
  if (n === null || n < 0) return null;
  const fields = text(pax.get("GNU.sparse.map")).split(",");
  if (fields.length === 1 && fields[0] === "") fields.length = 0;
  if (fields.length !== 2 * n) return null;
  const out: SparseFragment[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const offset = int(fields[i]!);
    const length = int(fields[i + 1]!);
    if (offset === null || length === null) return null;
    out.push({ offset, length });
  }
  return out;
}

/**
 * Go's `readGNUSparseMap1x0` over the blocks read so far: the map when complete, "more" when
 * another 512-byte block is needed, null when invalid.
 */
export function paxSparseMap10(blocks: Uint8Array): SparseFragment[] | null | "more" {
  let newlines = 0;
  for (let i = 0; i < blocks.length; i++) if (blocks[i] === 0x0a) newlines++;
  const s = new TextDecoder("latin1").decode(blocks);
  const first = s.indexOf("\n");
  if (first < 0) return "more";
  const n = int(s.slice(0, first));
  if (n === null || n < 0 || 2 * n < n) return null;
  if (newlines < 2 * n + 1) return "more";
  const fields = s.split("\n").slice(1, 1 + 2 * n);
  const out: SparseFragment[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const offset = int(fields[i]!);
    const length = int(fields[i + 1]!);
    if (offset === null || length === null) return null;
    out.push({ offset, length });
  }
  return out;
}

/** Go's `validateSparseEntries`: fragments in order, not overlapping, inside `size`. */
export function validSparseMap(map: readonly SparseFragment[], size: number): boolean {
  if (size < 0) return false;
  let end = 0;
  for (const f of map) {
    if (f.offset < 0 || f.length < 0 || f.offset + f.length > Number.MAX_SAFE_INTEGER) return false;
    if (f.offset + f.length > size || end > f.offset) return false;
    end = f.offset + f.length;
  }
  return true;
}
