/**
 * A root file system given as a tar (random access: a {@link BlobSource}), indexed in one pass
 * and read back by offset for each layer.
 *
 * Normalisation, so a tar and the directory it was made from plan alike: names lose a leading
 * `./` or `/` and a trailing `/`; the root entry (`.`) is dropped; uid/gid are kept as numbers,
 * user/group names dropped; mode keeps permission and special bits; `SCHILY.xattr.*` records are
 * kept. A hardlink becomes a name of its target's file (same metadata and bytes). Entries are
 * put in path order (parents first, siblings by name bytes) whatever the tar's order; a parent
 * directory the tar lacks is made up as 0755 root:root with mtime 0. A path given twice, a `..`
 * component, a hardlink to a path not before it, and entry types a root file system cannot hold
 * (sparse, continuous, GNU volume headers) are errors.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { compareGoStrings } from "../go/strings.js";
import type { BlobSource } from "../source/blob-source.js";
import { checkSafeName } from "../tar/header.js";
import { TarReader } from "../tar/reader.js";
import { type TarHeader, xattrsOf } from "../tar/types.js";
import type { TarEntryKind, TarWriteEntry } from "../tar/writer.js";
import type { RootfsEntry, RootfsSource } from "./rootfs.js";

const PIECE = 1 << 20;

const KINDS: Record<string, TarEntryKind> = {
  "0": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

/** Bytes `[offset, offset + length)` of `source`, piece by piece. */
async function* rangeOf(source: BlobSource, offset: number, length: number): AsyncGenerator<Uint8Array, void, void> {
  for (let done = 0; done < length;) {
    const n = Math.min(PIECE, length - done);
    yield await source.read(offset + done, n);
    done += n;
  }
}

function cleanName(raw: string, offset: number): string {
  checkSafeName(raw, "name", offset);
  let name = raw;
  while (name.startsWith("./")) name = name.slice(2);
  name = name.replace(/^\/+/, "").replace(/\/+$/, "");
  if (name === "" || name === ".") return "";
  if (name.split("/").some((p) => p === "" || p === ".")) {
    throw new LayerkitError("UNSAFE_PATH", `tar: name ${JSON.stringify(raw)} at offset ${offset} is not a clean path`, {
      name: raw,
      offset,
    });
  }
  return name;
}

/** Component-wise path order (what a depth-first walk with sorted siblings gives). */
export function comparePaths(a: string, b: string): number {
  const pa = a.split("/");
  const pb = b.split("/");
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = compareGoStrings(pa[i]!, pb[i]!);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

function writeEntry(h: TarHeader, name: string, type: TarEntryKind): TarWriteEntry {
  const e: TarWriteEntry = {
    name: type === "dir" ? `${name}/` : name,
    type,
    mode: h.mode & 0o7777,
    uid: h.uid,
    gid: h.gid,
    mtime: h.mtime,
  };
  if (type === "symlink") e.linkname = h.linkname;
  if (type === "char" || type === "block") {
    e.devmajor = h.devmajor;
    e.devminor = h.devminor;
  }
  const x = xattrsOf(h);
  if (x && x.size > 0) e.xattrs = Object.fromEntries([...x].sort((p, q) => compareGoStrings(p[0], q[0])));
  return e;
}

/** Indexes the tar in `source` (one sequential pass) as a {@link RootfsSource}. */
export async function tarRootfs(source: BlobSource): Promise<RootfsSource> {
  const size = await source.size();
  const reader = new TarReader(rangeOf(source, 0, size));
  const byPath = new Map<string, RootfsEntry>();
  const dataAt = new Map<RootfsEntry, number>();
  for (let t = await reader.next(); t !== null; t = await reader.next()) {
    const h = t.header;
    const kind = KINDS[h.typeflag];
    if (kind === undefined) {
      throw new LayerkitError(
        "TAR_UNSUPPORTED",
        `tar: entry ${JSON.stringify(h.name)} at offset ${t.offset} has type ${
          JSON.stringify(h.typeflag)
        }, which a root file system cannot hold`,
        { offset: t.offset },
      );
    }
    const path = cleanName(h.name, t.offset);
    if (path === "") continue;
    if (byPath.has(path)) {
      throw new LayerkitError("TAR_DUPLICATE_PATH", `tar: ${JSON.stringify(path)} appears twice (at offset ${t.offset} again)`, {
        path,
        offset: t.offset,
      });
    }
    let e: RootfsEntry;
    if (kind === "hardlink") {
      const target = byPath.get(cleanName(h.linkname, t.offset));
      if (!target || target.entry.type !== "file") {
        throw new LayerkitError(
          "TAR_CORRUPT",
          `tar: hardlink ${JSON.stringify(path)} points to ${JSON.stringify(h.linkname)}, which is not a regular file before it`,
          { path, linkname: h.linkname },
        );
      }
      target.inode ??= `tar:${target.path}`;
      e = { path, entry: { ...target.entry, name: path }, size: target.size, inode: target.inode };
      dataAt.set(e, dataAt.get(target)!);
    } else {
      e = { path, entry: writeEntry(h, path, kind), size: kind === "file" ? t.dataSize : 0 };
      if (kind === "file") {
        e.entry.size = t.dataSize;
        dataAt.set(e, t.dataOffset);
      }
    }
    byPath.set(path, e);
  }
  // Parents the tar leaves implicit.
  for (const path of [...byPath.keys()]) {
    for (let s = path.lastIndexOf("/"); s > 0; s = path.lastIndexOf("/", s - 1)) {
      const dir = path.slice(0, s);
      const have = byPath.get(dir);
      if (have) {
        if (have.entry.type !== "dir") {
          throw new LayerkitError(
            "UNSAFE_PATH",
            `tar: ${JSON.stringify(path)} lies under ${JSON.stringify(dir)}, which is not a directory`,
            { path, parent: dir },
          );
        }
        break;
      }
      byPath.set(dir, { path: dir, entry: { name: `${dir}/`, type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: 0 }, size: 0 });
    }
  }
  const entries = [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
  return {
    async *entries() {
      yield* entries;
    },
    read: (e) => {
      const at = dataAt.get(e);
      if (at === undefined) {
        throw new LayerkitError("BAD_ARGUMENT", `${JSON.stringify(e.path)} is not a regular file of this tar`, { path: e.path });
      }
      return rangeOf(source, at, e.size);
    },
  };
}
