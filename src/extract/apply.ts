/**
 * Applies the entries of one layer to a tree the way containers/storage applies a layer:
 * whiteouts remove, opaque markers empty a directory of what earlier layers put there, an entry
 * replaces whatever non-directory (or, for a non-directory entry, whatever directory) is at its
 * name, regular files are hashed as they are written and only renamed to their name once their
 * digest (TOC) and size (tar) match, and directories get their metadata after their contents.
 *
 * Runtime-neutral: everything that touches a file system goes through {@link ExtractFs}, whose
 * adapter resolves every path inside the root (./node-fs.ts).
 *
 * @module
 */
import type { Hasher } from "../core.js";
import { LayerkitError } from "../errors.js";
import type { Instant } from "../go/time.js";
import type { ExtractEntry, ExtractEntryType } from "./entry.js";
import { entryPath, pathKey, whiteoutOf } from "./paths.js";

export interface EntryMetadata {
  type: ExtractEntryType;
  mode: number;
  uid: number;
  gid: number;
  mtime?: Instant;
  xattrs?: Map<string, Uint8Array>;
}

/** A file system rooted at the extraction root. Paths are component lists under it. */
export interface ExtractFs {
  /** Creates the directory (parents too) unless one is there; a non-directory there is removed first. */
  mkdir(path: string[]): Promise<void>;
  /** Removes what is at `path` (recursively; a symlink itself, never its target). Missing is fine. */
  remove(path: string[]): Promise<void>;
  /** Removes the children of directory `path` for which `drop(name)` is true. */
  removeChildren(path: string[], drop: (name: string) => boolean): Promise<void>;
  /**
   * Writes `content` to a temporary name next to `path`, calls `check()` (which throws on a
   * wrong digest or size), then renames it over whatever non-directory is at `path`
   * (a directory there is removed). On any failure the temporary file is removed.
   */
  writeFile(path: string[], content: AsyncIterable<Uint8Array>, check: () => void): Promise<void>;
  symlink(path: string[], target: string): Promise<void>;
  /** A hard link at `path` to the existing non-directory `target` (UNSAFE_PATH if there is none). */
  link(path: string[], target: string[]): Promise<void>;
  /** FIFOs always; devices only when the adapter can (else it reports them skipped). */
  mknod(path: string[], type: "char" | "block" | "fifo", major: number, minor: number): Promise<void>;
  /** Owner, mode, xattrs and mtime of what is at `path` (never following a final symlink). */
  setMetadata(path: string[], meta: EntryMetadata): Promise<void>;
  /**
   * Places a copy of the local file `from` (an adapter's own name for it) at `path` like
   * writeFile: reflinked where the file system can, else copied, to a temporary name whose bytes
   * `accept` reads and judges; renamed only when it accepts. Returns how, or undefined when refused
   * (nothing placed). Optional: adapters without it never reuse.
   */
  placeLocal?(
    path: string[],
    from: string,
    accept: (content: AsyncIterable<Uint8Array>) => Promise<boolean>,
  ): Promise<"reflink" | "copy" | undefined>;
}

/** Reuse of local files (./reuse-pool.ts): where to find a file by digest, and what came of it. */
export interface ApplyReuse {
  find(digest: string, size: number): Promise<string | undefined>;
  reused(name: string, from: string, how: "reflink" | "copy", bytes: number): void;
  /** A local copy whose bytes did not match the TOC: the file was fetched instead. */
  refused(name: string, from: string): void;
}

export interface ApplyOptions {
  reuse?: ApplyReuse;
  /** Called for every regular file placed (path key, size, digest), and with undefined when something else replaces a path. */
  onPlaced?(key: string, file: { size: number; digest: string } | undefined): void;
}

export interface ApplyLayerResult {
  entries: number;
  files: number;
  bytes: number;
  whiteouts: number;
}

/** Applies `entries` (one layer, in order) to `fs`. */
export async function applyLayer(
  entries: AsyncIterable<ExtractEntry>,
  fs: ExtractFs,
  sha256: () => Hasher,
  options: ApplyOptions = {},
): Promise<ApplyLayerResult> {
  const result: ApplyLayerResult = { entries: 0, files: 0, bytes: 0, whiteouts: 0 };
  // What this layer has put in place: an opaque marker keeps those and drops the rest.
  const unpacked = new Set<string>();
  const dirs: Array<{ path: string[]; meta: EntryMetadata }> = [];
  for await (const entry of entries) {
    result.entries++;
    const path = entryPath(entry.name);
    const wh = whiteoutOf(path);
    if (wh) {
      result.whiteouts++;
      if (wh.kind === "remove") await fs.remove(wh.path);
      else if (wh.kind === "opaque") {
        const prefix = pathKey(wh.dir);
        await fs.removeChildren(wh.dir, (name) => !unpacked.has(prefix === "" ? name : `${prefix}/${name}`));
      }
      continue;
    }
    const meta: EntryMetadata = { type: entry.type, mode: entry.mode & 0o7777, uid: entry.uid, gid: entry.gid };
    if (entry.mtime) meta.mtime = entry.mtime;
    if (entry.xattrs && entry.xattrs.size > 0) meta.xattrs = entry.xattrs;
    for (let i = 1; i <= path.length; i++) unpacked.add(pathKey(path.slice(0, i)));
    switch (entry.type) {
      case "dir":
        if (path.length > 0) await fs.mkdir(path);
        dirs.push({ path, meta });
        continue;
      case "reg": {
        // Not inside `onPlaced?.(…)`: optional chaining would skip the write when there is no observer.
        const placed = await writeRegular(fs, path, entry, sha256, options.reuse);
        options.onPlaced?.(pathKey(path), placed);
        result.files++;
        result.bytes += entry.size;
        break;
      }
      case "symlink":
        if (path.length === 0) throw new LayerkitError("UNSAFE_PATH", "a symlink cannot replace the root", { name: entry.name });
        await fs.symlink(path, entry.linkName ?? "");
        break;
      case "hardlink": {
        if (path.length === 0) throw new LayerkitError("UNSAFE_PATH", "a hardlink cannot replace the root", { name: entry.name });
        await fs.link(path, entryPath(entry.linkName ?? ""));
        options.onPlaced?.(pathKey(path), undefined);
        // A hard link shares its target's inode: its metadata is the target's.
        continue;
      }
      case "char":
      case "block":
      case "fifo":
        if (path.length === 0) throw new LayerkitError("UNSAFE_PATH", "a device cannot replace the root", { name: entry.name });
        await fs.mknod(path, entry.type, entry.devMajor, entry.devMinor);
        break;
    }
    if (entry.type !== "reg") options.onPlaced?.(pathKey(path), undefined);
    await fs.setMetadata(path, meta);
  }
  // Deepest first, so setting a directory's mtime is not undone by work inside it.
  for (const d of dirs.reverse()) await fs.setMetadata(d.path, d.meta);
  return result;
}

async function writeRegular(
  fs: ExtractFs,
  path: string[],
  entry: ExtractEntry,
  sha256: () => Hasher,
  reuse: ApplyReuse | undefined,
): Promise<{ size: number; digest: string } | undefined> {
  if (path.length === 0) throw new LayerkitError("UNSAFE_PATH", "a file cannot replace the root", { name: entry.name });
  if (reuse && entry.digest !== undefined && entry.size > 0 && fs.placeLocal) {
    const from = await reuse.find(entry.digest, entry.size);
    if (from !== undefined) {
      // The local bytes are judged like fetched ones: size and TOC digest, before the rename.
      const how = await fs.placeLocal(path, from, async (content) => {
        const h = sha256();
        let n = 0;
        for await (const piece of content) {
          n += piece.length;
          if (n > entry.size) return false;
          h.update(piece);
        }
        return n === entry.size && `sha256:${h.hex()}` === entry.digest;
      });
      if (how !== undefined) {
        reuse.reused(entry.name, from, how, entry.size);
        return { size: entry.size, digest: entry.digest };
      }
      reuse.refused(entry.name, from);
    }
  }
  const hash = sha256();
  let size = 0;
  const source = entry.content?.() ?? [];
  async function* hashed(): AsyncGenerator<Uint8Array, void, void> {
    for await (const piece of source) {
      size += piece.length;
      if (size > entry.size) {
        throw new LayerkitError("SIZE_MISMATCH", `${entry.name}: more than its ${entry.size} bytes`, {
          name: entry.name,
          size: entry.size,
        });
      }
      hash.update(piece);
      yield piece;
    }
  }
  let computed = "";
  await fs.writeFile(path, hashed(), () => {
    if (size !== entry.size) {
      throw new LayerkitError("SIZE_MISMATCH", `${entry.name}: ${size} bytes, expected ${entry.size}`, {
        name: entry.name,
        size,
        expected: entry.size,
      });
    }
    const digest = `sha256:${hash.hex()}`;
    computed = digest;
    if (entry.digest !== undefined && digest !== entry.digest) {
      throw new LayerkitError("DIGEST_MISMATCH", `${entry.name}: content digest ${digest}, the TOC says ${entry.digest}`, {
        name: entry.name,
        digest,
        expected: entry.digest,
      });
    }
  });
  // Streamed layers have no TOC digest: the one computed while writing indexes the file just as well.
  return { size: entry.size, digest: computed };
}
