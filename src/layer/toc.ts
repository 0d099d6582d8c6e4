/**
 * The zstd:chunked TOC ("manifest") as containers/storage writes it (minimal.FileMetadata).
 * Field order here is the JSON field order upstream writes; see docs/formats/zstd-chunked.md §2.2.
 *
 * @module
 */

export type TocEntryType = "reg" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "chunk";

/** One TOC entry. Optional fields are omitted from JSON when zero/empty (Go `omitempty`). */
export interface TocEntry {
  type: TocEntryType;
  name: string;
  linkName?: string;
  mode?: number;
  size?: number;
  uid?: number;
  gid?: number;
  /** RFC 3339 with nanoseconds (Go time.Time JSON). Kept as the string so nanoseconds survive. */
  modtime?: string;
  accesstime?: string;
  changetime?: string;
  devMajor?: number;
  devMinor?: number;
  /** xattr name (without `SCHILY.xattr.`) → standard base64 of the raw value. */
  xattrs?: Record<string, string>;
  /** `sha256:<hex>` of the whole file (reg with size > 0). */
  digest?: string;
  /** Absolute compressed offset of the first payload frame (reg) or of this chunk (chunk). */
  offset?: number;
  /** Absolute compressed offset just past the file's last payload frame (reg only). */
  endOffset?: number;
  chunkSize?: number;
  chunkOffset?: number;
  chunkDigest?: string;
  chunkType?: "zeros";
}

export interface Toc {
  version: number;
  /** `null` for an empty layer (Go nil slice). */
  entries: TocEntry[] | null;
  /** `sha256:<hex>` of the compressed tar-split frame payload (G4, c/storage ≥ 1.54). */
  tarSplitDigest?: string;
}
