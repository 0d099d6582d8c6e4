/**
 * The reuse index of an extracted tree: for every regular file the extraction wrote (and that is
 * still there at the end), its path, size and TOC digest, with the inode, size and nanosecond mtime
 * it had when the index was written. A later extraction finds local copies by digest without
 * hashing anything; a file whose inode, size or mtime changed since is skipped (stale), and every
 * reused byte is still checked against the new TOC before the file gets its name (./apply.ts).
 *
 * Where: a sidecar next to the tree, `PARENT/.NAME.layerkit-index.json`, never inside it, so the
 * tree stays exactly the layer's content (a rootfs, or an ALS layer's `diff/`, whose sidecar then
 * sits in the layer directory beside `diff/`, where c/storage reads only `diff`, `info`, `blob`).
 * Written atomically (temporary name, rename) after the tree is in place.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { compareGoStrings } from "../go/strings.js";

export const REUSE_INDEX_VERSION = 1;
/** Largest index read (bounds memory; a larger one is ignored). */
const MAX_INDEX_BYTES = 256 << 20;

export interface IndexedFile {
  path: string;
  size: number;
  digest: string;
  ino: string;
  mtimeNs: string;
}

export interface ReuseIndex {
  "layerkit-reuse-index": number;
  /** The tree directory's inode when written: an index next to another tree of that name is ignored. */
  rootIno: string;
  files: IndexedFile[];
}

/** Where the index of tree `dir` lives. */
export function reuseIndexPath(dir: string): string {
  const abs = resolve(dir);
  return join(dirname(abs), `.${basename(abs)}.layerkit-index.json`);
}

/** What extraction recorded per path key (`a/b`): the last regular file written there, by digest. */
export type WrittenFiles = Map<string, { size: number; digest: string }>;

/** Builds the index of `root` from what was written, keeping files still there as written (real paths, no symlinks on the way). */
export async function buildReuseIndex(root: string, written: WrittenFiles): Promise<ReuseIndex> {
  const files: IndexedFile[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    for (const d of await fsp.readdir(dir, { withFileTypes: true })) {
      const key = prefix === "" ? d.name : `${prefix}/${d.name}`;
      if (d.isDirectory()) await walk(join(dir, d.name), key);
      else if (d.isFile()) {
        const rec = written.get(key);
        if (!rec) continue;
        const st = await fsp.lstat(join(dir, d.name), { bigint: true });
        if (Number(st.size) !== rec.size) continue;
        files.push({ path: key, size: rec.size, digest: rec.digest, ino: String(st.ino), mtimeNs: String(st.mtimeNs) });
      }
    }
  }
  await walk(root, "");
  files.sort((a, b) => compareGoStrings(a.path, b.path));
  const st = await fsp.lstat(root, { bigint: true });
  return { "layerkit-reuse-index": REUSE_INDEX_VERSION, rootIno: String(st.ino), files };
}

/** Writes `index` as the sidecar of `dir` (temporary name, then rename). */
export async function writeReuseIndex(dir: string, index: ReuseIndex): Promise<void> {
  const path = reuseIndexPath(dir);
  const tmp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    await fsp.writeFile(tmp, JSON.stringify(index), { mode: 0o644, flag: "wx" });
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** The index of tree `dir`, or undefined when there is none, it is unreadable or it belongs to another tree. */
export async function readReuseIndex(dir: string): Promise<ReuseIndex | undefined> {
  try {
    const path = reuseIndexPath(dir);
    const st = await fsp.stat(path);
    if (st.size > MAX_INDEX_BYTES) return undefined;
    const index = JSON.parse(await fsp.readFile(path, "utf8")) as ReuseIndex;
    if (index["layerkit-reuse-index"] !== REUSE_INDEX_VERSION || !Array.isArray(index.files)) return undefined;
    const root = await fsp.lstat(resolve(dir), { bigint: true });
    if (String(root.ino) !== index.rootIno) return undefined;
    return index;
  } catch {
    return undefined;
  }
}
