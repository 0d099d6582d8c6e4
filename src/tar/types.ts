/**
 * Tar header types shared by the reader and writer. Semantics are Go's `archive/tar` (the
 * tar-split fork c/storage uses): see {@link TarHeader}.
 *
 * @module
 */
import type { Instant } from "../go/time.js";

export type { Instant } from "../go/time.js";

/** Tar typeflags (one character each). */
export const TypeFlag = {
  Reg: "0",
  RegA: "\0",
  Link: "1",
  Symlink: "2",
  Char: "3",
  Block: "4",
  Dir: "5",
  Fifo: "6",
  Cont: "7",
  XHeader: "x",
  XGlobalHeader: "g",
  GNUSparse: "S",
  GNULongName: "L",
  GNULongLink: "K",
} as const;

/**
 * Go's final guess at an entry's format (`hdr.Format`): "ustar", "pax" (an `x` header was used),
 * "gnu", or "unknown" (V7 and STAR blocks, mixed GNU/PAX entries, USTAR blocks with non-ASCII
 * bytes or numeric fields not ending in NUL, and pre-Go 1.8 GNU headers).
 */
export type TarFormat = "ustar" | "pax" | "gnu" | "unknown";

/** The layout of the main header block, from its magic. */
export type TarBlockFormat = "v7" | "ustar" | "gnu" | "star";

/**
 * One tar entry's header, as Go's `tar.Reader.Next()` returns it.
 *
 * Strings are Go byte strings decoded with `goString` (src/util/bytes.ts): valid UTF-8 reads
 * normally, and each byte that is not valid UTF-8 becomes a lone surrogate U+DC80+(b−0x80), so
 * `goStringBytes(name)` gives back the exact bytes and `hasInvalidUtf8(name)` tells them apart.
 */
export interface TarHeader {
  /** Typeflag character. A legacy `\0` has become `"0"` (or `"5"` when the name ends in `/`). */
  typeflag: string;
  /** PAX `path`, else GNU long name (`L`), else ustar/STAR prefix + "/" + name, verbatim. */
  name: string;
  /** PAX `linkpath`, else GNU long link (`K`), else the linkname field. */
  linkname: string;
  /** `hdr.Size`: the size field (PAX `size` overrides), also for header-only types. */
  size: number;
  mode: number;
  /** PAX `uid`/`gid` override the header fields. */
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Nanosecond-exact (PAX `mtime`), else the whole seconds of the header field. */
  mtime: Instant;
  /** Present only when the tar has it: PAX `atime`/`ctime`, GNU fields (non-empty), STAR fields (always). */
  atime?: Instant;
  ctime?: Instant;
  /** Parsed for every ustar/GNU/STAR header, not only devices (0 for V7). */
  devmajor: number;
  devminor: number;
  /**
   * The PAX records of the entry's `x` header (Go `hdr.PAXRecords`; last record wins), values as
   * raw bytes. Includes `SCHILY.xattr.*` records with empty values.
   */
  pax?: Map<string, Uint8Array>;
  /**
   * A sparse file's data fragments (read with `allowSparse`): the payload in the archive is these
   * fragments back to back, `size` is the logical (real) size, and the gaps are holes of zeros.
   */
  sparse?: ReadonlyArray<{ offset: number; length: number }>;
  /** Go's format guess for the entry. */
  format: TarFormat;
  /** Layout of the main header block. */
  blockFormat: TarBlockFormat;
}

/** Go's `isHeaderOnlyType`: these entries have no payload whatever their size field says. */
export function isHeaderOnlyType(typeflag: string): boolean {
  switch (typeflag) {
    case "1":
    case "2":
    case "3":
    case "4":
    case "5":
    case "6":
      return true;
    default:
      return false;
  }
}

/** `SCHILY.xattr.` */
export const PAX_SCHILY_XATTR = "SCHILY.xattr.";

/** The `SCHILY.xattr.*` records of a header (name without the prefix → raw value), or undefined. */
export function xattrsOf(hdr: TarHeader): Map<string, Uint8Array> | undefined {
  if (!hdr.pax) return undefined;
  let out: Map<string, Uint8Array> | undefined;
  for (const [k, v] of hdr.pax) {
    if (k.startsWith(PAX_SCHILY_XATTR)) (out ??= new Map()).set(k.slice(PAX_SCHILY_XATTR.length), v);
  }
  return out;
}
