/**
 * What extraction applies: one layer entry with its metadata and (regular files) its content,
 * whatever the layer's format. Plain tar streams and seekable TOCs both become these.
 *
 * @module
 */
import type { Instant } from "../go/time.js";

export type ExtractEntryType = "reg" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

export interface ExtractEntry {
  /** The name as the layer has it (checked and cleaned by ./paths.ts before use). */
  name: string;
  type: ExtractEntryType;
  /** Permission bits plus setuid/setgid/sticky (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  mtime?: Instant;
  /** Symlink target (verbatim) or hardlink target (a name in the layer). */
  linkName?: string;
  devMajor: number;
  devMinor: number;
  xattrs?: Map<string, Uint8Array>;
  /** Regular files: the content size. */
  size: number;
  /** Regular files: `sha256:` the content must have (seekable formats: from the TOC). */
  digest?: string;
  /** Regular files: the content, read once, in order. */
  content?: () => AsyncIterable<Uint8Array>;
}
