/**
 * What is already local, by file digest: the trees named with `--reuse` (earlier extractions,
 * found through their reuse index, ./reuse-index.ts). A candidate is offered only while it is
 * still the file that was indexed (same inode, size and nanosecond mtime, a regular file whose
 * real path is inside its tree); otherwise it counts as stale and is skipped. Offering is not
 * trusting: the extractor checks the bytes it placed against the TOC digest before renaming.
 *
 * @module
 */
import { promises as fsp } from "node:fs";
import { join, resolve, sep } from "node:path";
import { LayerkitError } from "../errors.js";
import { type IndexedFile, readReuseIndex } from "./reuse-index.js";

interface Candidate {
  root: string;
  file: IndexedFile;
}

export class ReusePool {
  readonly #byDigest = new Map<string, Candidate[]>();
  /** Candidates skipped because the local file changed since it was indexed. */
  readonly stale: Array<{ path: string; reason: string }> = [];

  /** Loads the indexes of `dirs`; a directory without a (valid) index is BAD_ARGUMENT. */
  static async open(dirs: readonly string[]): Promise<ReusePool> {
    const pool = new ReusePool();
    for (const dir of dirs) {
      const root = await fsp.realpath(resolve(dir)).catch(() => undefined);
      const index = root === undefined ? undefined : await readReuseIndex(root);
      if (!root || !index) {
        throw new LayerkitError("BAD_ARGUMENT", `--reuse ${dir}: not an extracted tree with a layerkit reuse index`, { dir });
      }
      for (const file of index.files) {
        const list = pool.#byDigest.get(file.digest) ?? [];
        list.push({ root, file });
        pool.#byDigest.set(file.digest, list);
      }
    }
    return pool;
  }

  /** The host path of a local file that still is what was indexed with `digest` and `size`, if any. */
  async find(digest: string, size: number): Promise<string | undefined> {
    for (const c of this.#byDigest.get(digest) ?? []) {
      if (c.file.size !== size) continue;
      const path = join(c.root, ...c.file.path.split("/"));
      const reason = await changed(c, path);
      if (reason === undefined) return path;
      this.stale.push({ path, reason });
    }
    return undefined;
  }
}

async function changed(c: Candidate, path: string): Promise<string | undefined> {
  const st = await fsp.lstat(path, { bigint: true }).catch(() => undefined);
  if (!st) return "gone";
  if (!st.isFile()) return "no longer a regular file";
  if (String(st.ino) !== c.file.ino || Number(st.size) !== c.file.size || String(st.mtimeNs) !== c.file.mtimeNs) {
    return "changed since it was indexed (inode, size or mtime)";
  }
  // A directory on the way replaced by a symlink would lead out of the tree.
  const real = await fsp.realpath(path).catch(() => undefined);
  if (real === undefined || !real.startsWith(c.root + sep)) return "no longer inside its tree";
  return undefined;
}
