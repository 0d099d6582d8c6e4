/**
 * A root file system to split into layers: its entries in canonical order, each readable again
 * later (every layer is written in a pass of its own). A directory tree is walked by the same
 * rules as {@link directoryTar} (src/tar/from-directory.ts), so a one-layer build and a
 * rechunked build of one tree carry the same headers.
 *
 * @module
 */
import type { ByteSource } from "../util/bytes.js";
import { type DirectoryFs, type DirectoryTarOptions, walkDirectory } from "../tar/from-directory.js";
import type { TarWriteEntry } from "../tar/writer.js";

/** One entry of a root file system. */
export interface RootfsEntry {
  /** Relative path, `/`-separated, no leading or trailing `/`. */
  path: string;
  /** Tar header fields (name included). A regular file is `type: "file"` even when hardlinked: the layer writer decides which name comes first. */
  entry: TarWriteEntry;
  /** Payload size of a regular file (0 otherwise). */
  size: number;
  /** The same string for all names of one multiply-linked regular file; undefined otherwise. */
  inode?: string;
}

/** A root file system the rechunker can walk once and read from many times. */
export interface RootfsSource {
  /** Every entry, parents before children, siblings sorted by name bytes. */
  entries(): AsyncIterable<RootfsEntry>;
  /** A regular file's bytes. */
  read(entry: RootfsEntry): ByteSource | Promise<ByteSource>;
}

/** A directory tree as a {@link RootfsSource} (times, owners and devices as for `directoryTar`). */
export function directoryRootfs(fs: DirectoryFs, options: DirectoryTarOptions = {}): RootfsSource {
  return {
    async *entries() {
      for await (const { path, stat, entry } of walkDirectory(fs, options)) {
        const out: RootfsEntry = { path, entry, size: stat.kind === "file" ? stat.size : 0 };
        if (stat.kind === "file") entry.size = stat.size;
        if (stat.kind === "file" && stat.nlink > 1) out.inode = `${stat.dev}:${stat.ino}`;
        yield out;
      }
    },
    read: (e) => fs.read(e.path),
  };
}
