/**
 * Deterministic tar of a directory tree, runtime-neutral: the file system is reached only through
 * the small {@link DirectoryFs} interface (Node's lives in from-directory-node.ts; Deno can supply
 * its own).
 *
 * The archive is a pure function of the tree's contents and these rules:
 * - entries in depth-first order, each directory's children sorted by name bytes, a directory
 *   before its contents; directories are named `dir/`; the root itself is not an entry;
 * - times: each entry's mtime truncated to whole seconds, or every mtime pinned to `mtime`
 *   (no atime/ctime, so reading the tree does not change the output);
 * - owners: numeric uid/gid 0 and no user/group names, unless `keepOwners` (numbers only);
 * - mode: permission, setuid/setgid and sticky bits only;
 * - a regular file met again under another name (same device and inode) becomes a hardlink to
 *   the first name in archive order; symlinks are stored with their target verbatim;
 * - FIFOs are kept; character/block devices only with `includeDevices` (creating them needs root
 *   on extraction, and a rootfs built by a normal user rarely means them); sockets never (tar
 *   cannot hold them). What was left out is reported through `onSkip`;
 * - no xattrs (not portable across runtimes).
 *
 * Memory stays bounded: one directory listing per level of depth, file payloads streamed, plus
 * one map entry per multiply-linked file.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { type ByteSource, iterateSource } from "../util/bytes.js";
import { compareGoStrings } from "../go/strings.js";
import { streamFromGenerator } from "../util/async-queue.js";
import { blockPadding } from "./header.js";
import { encodeTarEnd, encodeTarHeader, type TarEntryKind, type TarTimeInput, type TarWriteEntry } from "./writer.js";

/** What {@link DirectoryFs.lstat} reports about one path (without following symlinks). */
export interface DirectoryStat {
  kind: "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket";
  /** Permission and special bits (the type bits are ignored). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Modification time in milliseconds since the Unix epoch. */
  mtimeMs: number;
  /** The nanoseconds within the mtime's second, where the file system reports them (a tree diff compares them as Go does). */
  mtimeNsec?: number;
  /** Device and inode numbers identify hardlinks; `nlink` > 1 marks candidates. */
  dev: number | bigint;
  ino: number | bigint;
  nlink: number;
  /** Device numbers of character/block devices. */
  rdevMajor?: number;
  rdevMinor?: number;
}

/** File-system access for {@link directoryTar}. Paths are relative to the tree's root, `/`-separated; `""` is the root. */
export interface DirectoryFs {
  readdir(path: string): Promise<string[]>;
  lstat(path: string): Promise<DirectoryStat>;
  readlink(path: string): Promise<string>;
  /** The file's bytes. */
  read(path: string): ByteSource | Promise<ByteSource>;
  /** Extended attributes (without following a final symlink); optional, used by tree diffs (src/diff), never by {@link directoryTar}. */
  xattrs?(path: string): Promise<Map<string, Uint8Array> | undefined>;
}

export interface DirectoryTarOptions {
  /** Pin every entry's mtime to this time (Unix seconds, an Instant or a Date). */
  mtime?: TarTimeInput;
  /** Keep numeric uid/gid (default: 0/0). */
  keepOwners?: boolean;
  /** Include character and block devices (default: skipped). */
  includeDevices?: boolean;
  /** Called for each path left out (devices without `includeDevices`, sockets). */
  onSkip?: (path: string, reason: string) => void;
}

const KIND: Record<Exclude<DirectoryStat["kind"], "socket">, TarEntryKind> = {
  file: "file",
  dir: "dir",
  symlink: "symlink",
  char: "char",
  block: "block",
  fifo: "fifo",
};

/**
 * `dir`'s entry names sorted by bytes (Go's order), each checked to be a plain name: a
 * DirectoryFs that returns `..`, `a/b` or a NUL would otherwise let a tar name climb or split.
 */
export async function sortedDirectoryNames(fs: DirectoryFs, dir: string): Promise<string[]> {
  const names = (await fs.readdir(dir)).slice().sort(compareGoStrings);
  for (const name of names) {
    if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
      throw new LayerkitError(
        "UNSAFE_PATH",
        `directory entry ${JSON.stringify(name)} in ${JSON.stringify(dir || ".")} is not a plain name`,
        { dir, name },
      );
    }
  }
  return names;
}

/**
 * The tar header of `path` from its lstat (type, mode bits, device numbers); owners and mtime as
 * the caller decides. Sockets have no tar type: callers leave them out before asking.
 */
export function headerOfStat(
  path: string,
  st: DirectoryStat,
  fields: { uid: number; gid: number; mtime: TarTimeInput; linkname?: string },
): TarWriteEntry {
  const entry: TarWriteEntry = {
    name: st.kind === "dir" ? `${path}/` : path,
    type: KIND[st.kind as Exclude<DirectoryStat["kind"], "socket">],
    mode: st.mode & 0o7777,
    uid: fields.uid,
    gid: fields.gid,
    mtime: fields.mtime,
  };
  if (st.kind === "symlink") entry.linkname = fields.linkname ?? "";
  if (st.kind === "char" || st.kind === "block") {
    entry.devmajor = st.rdevMajor ?? 0;
    entry.devminor = st.rdevMinor ?? 0;
  }
  return entry;
}

/**
 * A tar stream of the tree under `fs`'s root, produced as the consumer reads (backpressure), in
 * bounded memory.
 *
 * @example
 * ```ts
 * // nodeDirectoryFs: src/tar/from-directory-node.ts (Node, and Deno through node:fs)
 * const tar = directoryTar(nodeDirectoryFs("rootfs"), { mtime: 0 });
 * const { stream, result } = createLayer(tar, { format: "zstd:chunked" });
 * ```
 */
export function directoryTar(fs: DirectoryFs, options: DirectoryTarOptions = {}): ReadableStream<Uint8Array> {
  return streamFromGenerator(directoryTarPieces(fs, options));
}

/** One entry of a walk: its path (relative, no trailing `/`), what lstat said, and its tar header fields. */
export interface DirectoryWalkEntry {
  path: string;
  stat: DirectoryStat;
  /** Header fields by the module's rules; a regular file is `type: "file"` even when it is a hardlink (the caller decides which name comes first). */
  entry: TarWriteEntry;
}

/**
 * The tree's entries in archive order (depth-first, children sorted by name bytes, a directory
 * before its contents), with the skip rules applied. Shared by {@link directoryTarPieces} and
 * callers that place entries themselves (rechunking).
 */
export async function* walkDirectory(fs: DirectoryFs, options: DirectoryTarOptions = {}): AsyncGenerator<DirectoryWalkEntry, void, void> {
  async function* walk(dir: string): AsyncGenerator<DirectoryWalkEntry, void, void> {
    for (const name of await sortedDirectoryNames(fs, dir)) {
      const path = dir === "" ? name : `${dir}/${name}`;
      const st = await fs.lstat(path);
      if (st.kind === "socket") {
        options.onSkip?.(path, "socket");
        continue;
      }
      if ((st.kind === "char" || st.kind === "block") && !options.includeDevices) {
        options.onSkip?.(path, `${st.kind} device`);
        continue;
      }
      const entry = headerOfStat(path, st, {
        uid: options.keepOwners ? st.uid : 0,
        gid: options.keepOwners ? st.gid : 0,
        mtime: options.mtime ?? Math.floor(st.mtimeMs / 1000),
        linkname: st.kind === "symlink" ? await fs.readlink(path) : undefined,
      });
      yield { path, stat: st, entry };
      if (st.kind === "dir") yield* walk(path);
    }
  }
  yield* walk("");
}

/** The archive as an async sequence of byte pieces (headers, payload pieces, padding, end). */
export async function* directoryTarPieces(fs: DirectoryFs, options: DirectoryTarOptions = {}): AsyncGenerator<Uint8Array, void, void> {
  const firstNameOf = new Map<string, string>();
  let length = 0;
  const emit = (b: Uint8Array): Uint8Array => {
    length += b.length;
    return b;
  };

  for await (const { path, stat: st, entry } of walkDirectory(fs, options)) {
    if (st.kind === "file" && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = firstNameOf.get(key);
      if (first !== undefined) {
        entry.type = "hardlink";
        entry.linkname = first;
      } else {
        firstNameOf.set(key, path);
      }
    }
    if (entry.type === "file") {
      entry.size = st.size;
      yield emit(encodeTarHeader(entry));
      for await (const piece of filePayload(await fs.read(path), st.size, path)) yield emit(piece);
    } else {
      yield emit(encodeTarHeader(entry));
    }
  }
  yield emit(encodeTarEnd(length));
}

/**
 * A regular file's payload as it goes into the archive: exactly `size` bytes then the block
 * padding; a file that grew or shrank since lstat is a `SIZE_MISMATCH` error.
 */
export async function* filePayload(source: ByteSource, size: number, path: string): AsyncGenerator<Uint8Array, void, void> {
  let written = 0;
  for await (const piece of iterateSource(source)) {
    written += piece.length;
    if (written > size) break;
    yield piece;
  }
  if (written !== size) {
    throw new LayerkitError("SIZE_MISMATCH", `${path} changed while it was archived (${size} bytes expected)`, { path, size });
  }
  const pad = blockPadding(written);
  if (pad) yield new Uint8Array(pad);
}
