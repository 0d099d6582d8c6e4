/**
 * The file system an image's layers make together, as a container sees it: layers applied bottom
 * first, a whiteout `.wh.NAME` removing NAME from the layers below, an opaque marker
 * `.wh..wh..opq` hiding everything the layers below had in its directory (image-spec
 * layer.md "Whiteouts"; both apply to lower layers only, never to entries of their own layer), a
 * non-directory replacing a directory with everything under it. Hardlinks are bound to their
 * target when their layer is applied, as extraction would link them.
 *
 * Path resolution ({@link MergedTree.resolve}) follows symbolic links inside the image root only:
 * an absolute target resolves against the image root, `..` stops at the root, and more than
 * {@link MAX_SYMLINK_HOPS} links in one lookup is an error (a loop). Pure data, no I/O.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";

/** An entry type as TOCs and tar readers name them. */
export type EntryType = "reg" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/** One entry of one layer, as its TOC or tar header gives it; `ref` lets the reader find its bytes. */
export interface LayerEntry<R = unknown> {
  name: string;
  type: EntryType;
  mode: number;
  size: number;
  uid: number;
  gid: number;
  linkName?: string;
  modtime?: string;
  /** `sha256:` of a regular file's content, when known. */
  digest?: string;
  ref: R;
}

/** An entry of the merged tree. */
export interface MergedEntry<R = unknown> {
  /** Path in the image, no leading `/` (`""` is the root). */
  path: string;
  /** The layer the entry comes from (0 = bottom); -1 for directories no layer lists (implied by their children). */
  layer: number;
  entry: LayerEntry<R>;
  /** A hardlink's target as it was when the link's layer was applied. */
  target?: MergedEntry<R>;
}

/** Links followed in one lookup before it is called a loop (Linux's limit). */
export const MAX_SYMLINK_HOPS = 40;

const OPAQUE = ".wh..wh..opq";
const WHITEOUT = ".wh.";

interface Node<R> {
  merged: MergedEntry<R>;
  children?: Map<string, Node<R>>;
}

/** Splits a layer entry name into clean components; `..` is refused (UNSAFE_PATH). */
export function pathComponents(name: string): string[] {
  const out: string[] = [];
  for (const c of name.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      throw new LayerkitError("UNSAFE_PATH", `layer entry ${JSON.stringify(name)} climbs out of the image root`, { path: name });
    }
    out.push(c);
  }
  return out;
}

function impliedDir<R>(path: string, ref: R): Node<R> {
  return {
    merged: { path, layer: -1, entry: { name: path, type: "dir", mode: 0o755, size: 0, uid: 0, gid: 0, ref } },
    children: new Map(),
  };
}

/** The merged tree of an image. Build it with {@link MergedTree.build}. */
export class MergedTree<R = unknown> {
  readonly #root: Node<R>;

  private constructor(root: Node<R>) {
    this.#root = root;
  }

  /** Applies `layers` (bottom first) in order. Throws UNSAFE_PATH for names with `..`. */
  static build<R>(layers: ReadonlyArray<ReadonlyArray<LayerEntry<R>>>, rootRef: R): MergedTree<R> {
    const root = impliedDir<R>("", rootRef);
    for (const [layer, entries] of layers.entries()) {
      // Whiteouts first: they act on what the layers below left, not on this layer's entries.
      for (const e of entries) {
        const parts = pathComponents(e.name);
        const base = parts.pop();
        if (base === undefined || !base.startsWith(WHITEOUT)) continue;
        const dir = lookupLiteral(root, parts);
        if (!dir?.children) continue;
        if (base === OPAQUE) dir.children.clear();
        else dir.children.delete(base.slice(WHITEOUT.length));
      }
      for (const e of entries) {
        const parts = pathComponents(e.name);
        const base = parts[parts.length - 1];
        if (base === undefined || base.startsWith(WHITEOUT)) continue;
        let dir = root;
        for (const [i, c] of parts.slice(0, -1).entries()) {
          let next = dir.children!.get(c);
          if (!next || !next.children) {
            next = impliedDir(parts.slice(0, i + 1).join("/"), rootRef);
            dir.children!.set(c, next);
          }
          dir = next;
        }
        const path = parts.join("/");
        const merged: MergedEntry<R> = { path, layer, entry: e };
        if (e.type === "hardlink") {
          const target = e.linkName === undefined ? undefined : lookupLiteral(root, pathComponents(e.linkName));
          if (!target || target.children) {
            throw new LayerkitError(
              "BAD_TOC",
              `hardlink ${path} points at ${JSON.stringify(e.linkName)}, which is not a file in the image`,
              { path, linkName: e.linkName },
            );
          }
          merged.target = target.merged.target ?? target.merged;
        }
        const old = dir.children!.get(base);
        if (e.type === "dir") dir.children!.set(base, { merged, children: old?.children ?? new Map() });
        else dir.children!.set(base, { merged });
      }
    }
    return new MergedTree(root);
  }

  /** The entry at `path` itself (no symlink followed anywhere), or undefined. */
  get(path: string): MergedEntry<R> | undefined {
    return lookupLiteral(this.#root, pathComponents(path))?.merged;
  }

  /**
   * The entry `path` names, following symbolic links in every component, and in the last one
   * too unless `follow` is false, without ever leaving the image root. Errors: NOT_FOUND (no such
   * entry, or a component is not a directory), LIMIT_EXCEEDED (a link loop).
   */
  resolve(path: string, options: { follow?: boolean } = {}): MergedEntry<R> {
    const follow = options.follow ?? true;
    const queue = path.split("/").filter((c) => c !== "" && c !== ".");
    const stack: Node<R>[] = [this.#root];
    let hops = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === "..") {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const dir = stack[stack.length - 1]!;
      if (!dir.children) throw new LayerkitError("NOT_FOUND", `${path}: ${dir.merged.path} is not a directory`, { path });
      const node = dir.children.get(c);
      if (!node) throw new LayerkitError("NOT_FOUND", `${path}: no such file or directory in the image`, { path });
      const e = node.merged.entry;
      if (e.type === "symlink" && (queue.length > 0 || follow)) {
        if (++hops > MAX_SYMLINK_HOPS) {
          throw new LayerkitError("LIMIT_EXCEEDED", `${path}: too many levels of symbolic links`, { path, hops: MAX_SYMLINK_HOPS });
        }
        const target = e.linkName ?? "";
        if (target.startsWith("/")) stack.length = 1;
        queue.unshift(...target.split("/").filter((x) => x !== "" && x !== "."));
        continue;
      }
      stack.push(node);
    }
    return stack[stack.length - 1]!.merged;
  }

  /** Every entry under directory `path` (itself excluded; `""` = all), depth first, names sorted. */
  list(path = ""): MergedEntry<R>[] {
    const start = path === "" ? this.#root : lookupLiteral(this.#root, pathComponents(path));
    const out: MergedEntry<R>[] = [];
    const walk = (n: Node<R>): void => {
      if (!n.children) return;
      for (const name of [...n.children.keys()].sort()) {
        const child = n.children.get(name)!;
        out.push(child.merged);
        walk(child);
      }
    };
    if (start) walk(start);
    return out;
  }
}

function lookupLiteral<R>(root: Node<R>, parts: readonly string[]): Node<R> | undefined {
  let n: Node<R> | undefined = root;
  for (const c of parts) {
    n = n.children?.get(c);
    if (!n) return undefined;
  }
  return n;
}
