/**
 * The Node (and Deno, through its node: compatibility) file-system side of
 * {@link directoryTar}: a {@link DirectoryFs} rooted at a directory.
 *
 * @module
 */
import { constants } from "node:fs";
import { lstat, open, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { LayerkitError } from "../errors.js";
import { fileHandleStream } from "../source/node-file-stream.js";
import type { DirectoryFs, DirectoryStat } from "./from-directory.js";

/** Linux packs device numbers as glibc's gnu_dev_major/minor do. */
function devMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
function devMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
}

function ioError(e: unknown, path: string): LayerkitError {
  return new LayerkitError("IO", `cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
}

/** A {@link DirectoryFs} over the directory `root`. I/O failures become `IO` errors naming the path. */
export function nodeDirectoryFs(root: string): DirectoryFs {
  const abs = (p: string): string => (p === "" ? root : join(root, p));
  return {
    async readdir(p) {
      try {
        return await readdir(abs(p));
      } catch (e) {
        throw ioError(e, abs(p));
      }
    },
    async lstat(p): Promise<DirectoryStat> {
      let st;
      try {
        st = await lstat(abs(p), { bigint: true });
      } catch (e) {
        throw ioError(e, abs(p));
      }
      const kind: DirectoryStat["kind"] = st.isFile()
        ? "file"
        : st.isDirectory()
        ? "dir"
        : st.isSymbolicLink()
        ? "symlink"
        : st.isCharacterDevice()
        ? "char"
        : st.isBlockDevice()
        ? "block"
        : st.isFIFO()
        ? "fifo"
        : "socket";
      const rdev = Number(st.rdev);
      return {
        kind,
        mode: Number(st.mode),
        uid: Number(st.uid),
        gid: Number(st.gid),
        size: Number(st.size),
        mtimeMs: Number(st.mtimeNs / 1_000_000n),
        mtimeNsec: Number(((st.mtimeNs % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n),
        dev: st.dev,
        ino: st.ino,
        nlink: Number(st.nlink),
        rdevMajor: devMajor(rdev),
        rdevMinor: devMinor(rdev),
      };
    },
    async readlink(p) {
      try {
        return await readlink(abs(p));
      } catch (e) {
        throw ioError(e, abs(p));
      }
    },
    async read(p) {
      // Opened here, so an unreadable file is an IO error naming it (not a raw stream error);
      // O_NOFOLLOW: a file swapped for a symlink since lstat is refused, never followed.
      let handle;
      try {
        handle = await open(abs(p), constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (e) {
        throw ioError(e, abs(p));
      }
      return fileHandleStream(handle, { readError: (e) => ioError(e, abs(p)) });
    },
  };
}
