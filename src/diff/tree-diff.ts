/**
 * The changes between two directory trees, LOWER and UPPER, as the entries of an OCI layer that
 * turns LOWER into UPPER when applied on top of it. Runtime-neutral: both trees are reached
 * through {@link DirectoryFs} (src/tar/from-directory.ts; Node's adapter with xattrs is
 * ./node.ts).
 *
 * What counts as a change follows containers/storage's `archive.ChangesDirs` (pkg/archive,
 * changes.go and changes_unix.go), path by path:
 * - a path only in UPPER is added (a directory with everything under it);
 * - a path only in LOWER is deleted: a whiteout `.wh.NAME` next to it;
 * - a path in both is modified when its type, permission bits, owner, device numbers, xattrs
 *   (security.capability included) differ, or, for a non-directory, its size or mtime differ
 *   (mtimes compared as Go's `sameFsTimeSpec`: equal seconds and equal nanoseconds, or either
 *   side's nanoseconds 0, since tar times are whole seconds). An mtime-only change of a file
 *   counts; a directory's own mtime and size do not (as upstream: they change with every
 *   entry added or removed inside). Content is not read to compare (upstream neither): a file
 *   rewritten with the same size and mtime is unchanged. A symlink whose target changed is
 *   modified even with the same size and mtime (a stricter rule than upstream's);
 * - every directory that holds a change is written too (with UPPER's metadata), before it.
 *
 * Beyond upstream's list:
 * - a directory in both trees none of whose LOWER entries is left in UPPER (and LOWER had some)
 *   gets one opaque marker `.wh..wh..opq` instead of a whiteout per entry, written right after
 *   the directory, as c/storage's overlay differ and BuildKit write the overlay "opaque"
 *   directories; a directory replaced by a non-directory (or the reverse) needs neither, since
 *   appliers replace the path's whole subtree with the new entry;
 * - hardlinks stay hardlinks: when any name of a multiply-linked UPPER file is written, all its
 *   UPPER names are (the first as the file, the rest as tar hardlinks to it), so applying never
 *   splits an inode. That takes a first walk that only looks at stats (no file is read).
 *
 * Order: depth-first, a directory before what is under it (its opaque marker first), siblings
 * (whiteout names included) sorted by name bytes: the order of `directoryTar`. Headers:
 * numeric owners kept, mode bits `& 0o7777`, mtimes in whole seconds (as upstream's tar
 * writer truncates them), whiteouts as empty regular files with mode 0 and mtime 0 (upstream
 * writes the current time there; a fixed time keeps the layer deterministic).
 * FIFOs are kept; character/block devices only with `includeDevices`; sockets never (what is left
 * out goes to `onSkip`). Memory: one listing per level of depth for each tree, the xattrs of
 * files that have some (Node adapter), and one map entry per multiply-linked file.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from "../extract/paths.js";
import { compareGoStrings } from "../go/strings.js";
import { type DirectoryFs, type DirectoryStat, filePayload, headerOfStat, sortedDirectoryNames } from "../tar/from-directory.js";
import { encodeTarEnd, encodeTarHeader, type TarWriteEntry } from "../tar/writer.js";
import type { ByteSource } from "../util/bytes.js";

export interface TreeDiffOptions {
  /** Write character and block devices (default false: left out and reported). FIFOs are always written. */
  includeDevices?: boolean;
  /** Compare and write xattrs when the file systems report them (default true). */
  xattrs?: boolean;
  /** Called for each UPPER path left out (devices without `includeDevices`, sockets). */
  onSkip?: (path: string, reason: string) => void;
}

/**
 * One change, in layer order. `add`/`modify`: the entry UPPER has at `path`; `delete`: a
 * whiteout; `opaque`: the marker that hides all of LOWER's entries in directory `path`;
 * `parent`: a directory written only because something under it changed; `link`: an unchanged
 * name of a multiply-linked file written to keep the inode whole.
 */
export interface TreeChange {
  kind: "add" | "modify" | "delete" | "opaque" | "parent" | "link";
  /** Relative path (`/`-separated, no trailing `/`); for `opaque`, the directory (`""` is the root). */
  path: string;
  /** The tar header fields (a whiteout's or the marker's for `delete`/`opaque`). */
  entry: TarWriteEntry;
  /** A regular file's content, when `entry.type` is "file". */
  read?: () => ByteSource | Promise<ByteSource>;
}

interface Node {
  stat: DirectoryStat;
  xattrs: Map<string, Uint8Array> | undefined;
  linkname?: string;
}

interface LinkGroup {
  paths: string[];
  /** Some member is new or changed, or LOWER does not hold the members as one inode. */
  dirty: boolean;
  lowerInode?: string;
}

const join = (dir: string, name: string): string => (dir === "" ? name : `${dir}/${name}`);
const inodeKey = (st: DirectoryStat): string => `${st.dev}:${st.ino}`;

function sameXattrs(a: Map<string, Uint8Array> | undefined, b: Map<string, Uint8Array> | undefined): boolean {
  const n = a?.size ?? 0;
  if (n !== (b?.size ?? 0)) return false;
  if (n === 0) return true;
  for (const [k, v] of a!) {
    const w = b!.get(k);
    if (!w || w.length !== v.length || v.some((x, i) => x !== w[i])) return false;
  }
  return true;
}

function nsecOf(st: DirectoryStat): number {
  return st.mtimeNsec ?? (((st.mtimeMs % 1000) + 1000) % 1000) * 1e6;
}

/** Go's `sameFsTimeSpec`: tar holds whole seconds, so a zero nanosecond part matches any. */
function sameMtime(a: DirectoryStat, b: DirectoryStat): boolean {
  if (Math.floor(a.mtimeMs / 1000) !== Math.floor(b.mtimeMs / 1000)) return false;
  const an = nsecOf(a);
  const bn = nsecOf(b);
  return an === bn || an === 0 || bn === 0;
}

/** upstream's `statDifferent`, plus xattrs and (stricter) symlink targets. */
function changed(lower: Node, upper: Node): boolean {
  const l = lower.stat;
  const u = upper.stat;
  if (l.kind !== u.kind || (l.mode & 0o7777) !== (u.mode & 0o7777) || l.uid !== u.uid || l.gid !== u.gid) return true;
  if ((u.kind === "char" || u.kind === "block") && (l.rdevMajor !== u.rdevMajor || l.rdevMinor !== u.rdevMinor)) return true;
  if (u.kind !== "dir" && (l.size !== u.size || !sameMtime(l, u))) return true;
  if (u.kind === "symlink" && lower.linkname !== upper.linkname) return true;
  return !sameXattrs(lower.xattrs, upper.xattrs);
}

function checkName(name: string, dir: string): void {
  if (name.startsWith(WHITEOUT_PREFIX)) {
    // An applier would take it for a whiteout (or AUFS metadata): it cannot be a layer entry.
    throw new LayerkitError(
      "UNSAFE_PATH",
      `${JSON.stringify(join(dir, name))}: a name starting with ${WHITEOUT_PREFIX} cannot be stored in a layer`,
      {
        dir,
        name,
      },
    );
  }
}

function whiteoutEntry(name: string): TarWriteEntry {
  return { name, type: "file", mode: 0, uid: 0, gid: 0, mtime: 0, size: 0 };
}

function headerOf(path: string, node: Node): TarWriteEntry {
  const st = node.stat;
  const entry = headerOfStat(path, st, { uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000), linkname: node.linkname });
  if (st.kind === "file") entry.size = st.size;
  if (node.xattrs && node.xattrs.size > 0) entry.xattrs = Object.fromEntries([...node.xattrs].sort(([a], [b]) => compareGoStrings(a, b)));
  return entry;
}

async function sortedNames(fs: DirectoryFs, dir: string): Promise<string[]> {
  const names = await sortedDirectoryNames(fs, dir);
  for (const n of names) checkName(n, dir);
  return names;
}

/**
 * The changes that turn `lower` into `upper`, in layer order (see the module notes).
 *
 * @example
 * ```ts
 * for await (const c of treeDiff(nodeDiffFs("lower"), nodeDiffFs("upper"))) console.log(c.kind, c.path);
 * ```
 */
export async function* treeDiff(
  lower: DirectoryFs,
  upper: DirectoryFs,
  options: TreeDiffOptions = {},
): AsyncGenerator<TreeChange, void, void> {
  const groups = new Map<string, LinkGroup>();
  // First walk: stats only, to learn which multiply-linked files must be written whole.
  for await (const _ of walk(lower, upper, options, groups, "collect")) { /* collecting */ }
  yield* walk(lower, upper, options, groups, "emit");
}

async function* walk(
  lower: DirectoryFs,
  upper: DirectoryFs,
  options: TreeDiffOptions,
  groups: Map<string, LinkGroup>,
  pass: "collect" | "emit",
): AsyncGenerator<TreeChange, void, void> {
  const useXattrs = options.xattrs !== false;
  const firstName = new Map<string, string>();
  // Directories written only if something under them changes: parents before children.
  const pending: TreeChange[] = [];

  const node = async (fs: DirectoryFs, path: string, stat: DirectoryStat): Promise<Node> => {
    const n: Node = { stat, xattrs: useXattrs && fs.xattrs ? await fs.xattrs(path) : undefined };
    if (stat.kind === "symlink") n.linkname = await fs.readlink(path);
    return n;
  };

  async function* flushThen(change: TreeChange): AsyncGenerator<TreeChange, void, void> {
    yield* pending.splice(0);
    yield change;
  }

  async function* dir(path: string, lowerIsDir: boolean): AsyncGenerator<TreeChange, void, void> {
    const upperNames = await sortedNames(upper, path);
    const lowerNames = lowerIsDir ? await sortedNames(lower, path) : [];
    const inUpper = new Set(upperNames);
    const opaque = lowerNames.length > 0 && !lowerNames.some((n) => inUpper.has(n));
    if (opaque) {
      yield* flushThen({ kind: "opaque", path, entry: whiteoutEntry(join(path, OPAQUE_MARKER)) });
    }
    const inLower = new Set(lowerNames);
    const all = [...upperNames];
    if (!opaque) { for (const n of lowerNames) if (!inUpper.has(n)) all.push(WHITEOUT_PREFIX + n); }
    all.sort(compareGoStrings);
    for (const name of all) {
      if (!inUpper.has(name)) {
        const target = name.slice(WHITEOUT_PREFIX.length);
        yield* flushThen({ kind: "delete", path: join(path, target), entry: whiteoutEntry(join(path, name)) });
        continue;
      }
      const p = join(path, name);
      const ust = await upper.lstat(p);
      if (ust.kind === "socket" || ((ust.kind === "char" || ust.kind === "block") && !options.includeDevices)) {
        if (pass === "emit") options.onSkip?.(p, ust.kind === "socket" ? "socket" : `${ust.kind} device`);
        continue;
      }
      const u = await node(upper, p, ust);
      const l = inLower.has(name) ? await node(lower, p, await lower.lstat(p)) : undefined;
      const isChanged = l === undefined || changed(l, u);
      const kind = l === undefined ? "add" : "modify";
      if (ust.kind === "dir") {
        const change: TreeChange = { kind, path: p, entry: headerOf(p, u) };
        if (isChanged) yield* flushThen(change);
        else {
          change.kind = "parent";
          pending.push(change);
        }
        yield* dir(p, l?.stat.kind === "dir");
        if (pending[pending.length - 1] === change) pending.pop();
        continue;
      }
      let write = isChanged;
      let linkTo: string | undefined;
      if (ust.kind === "file" && ust.nlink > 1) {
        const key = inodeKey(ust);
        if (pass === "collect") {
          let g = groups.get(key);
          if (!g) groups.set(key, g = { paths: [], dirty: false });
          g.paths.push(p);
          const lowerInode = l?.stat.kind === "file" ? inodeKey(l.stat) : undefined;
          if (isChanged || lowerInode === undefined || (g.lowerInode !== undefined && g.lowerInode !== lowerInode)) g.dirty = true;
          g.lowerInode ??= lowerInode;
          continue;
        }
        if (groups.get(key)?.dirty) write = true;
        if (write) {
          linkTo = firstName.get(key);
          if (linkTo === undefined) firstName.set(key, p);
        }
      }
      if (!write || pass === "collect") continue;
      const entry = headerOf(p, u);
      const change: TreeChange = { kind: isChanged ? kind : "link", path: p, entry };
      if (linkTo !== undefined) {
        entry.type = "hardlink";
        entry.linkname = linkTo;
        delete entry.size;
      } else if (ust.kind === "file") {
        change.read = () => upper.read(p);
      }
      yield* flushThen(change);
    }
  }

  const [lroot, uroot] = await Promise.all([lower.lstat(""), upper.lstat("")]);
  for (const [name, st] of [["LOWER", lroot], ["UPPER", uroot]] as const) {
    if (st.kind !== "dir") throw new LayerkitError("BAD_ARGUMENT", `${name} is not a directory`, { tree: name });
  }
  yield* dir("", true);
}

/**
 * The layer's tar: {@link treeDiff}'s entries with regular files' contents, produced as the
 * consumer reads. A file that changes size while it is read is `SIZE_MISMATCH`.
 */
export async function* treeDiffTarPieces(
  lower: DirectoryFs,
  upper: DirectoryFs,
  options: TreeDiffOptions & { onChange?: (change: TreeChange) => void } = {},
): AsyncGenerator<Uint8Array, void, void> {
  let length = 0;
  for await (const change of treeDiff(lower, upper, options)) {
    options.onChange?.(change);
    const header = encodeTarHeader(change.entry);
    length += header.length;
    yield header;
    if (change.read) {
      for await (const piece of filePayload(await change.read(), change.entry.size ?? 0, change.path)) {
        length += piece.length;
        yield piece;
      }
    }
  }
  yield encodeTarEnd(length);
}
