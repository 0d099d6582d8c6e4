/**
 * Assigning a root file system's entries to the layers a contentmeta declares.
 *
 * Rules (docs: docs/rechunk.md):
 * - An entry's mapping: its path key if there is one, else (regular files) its content digest
 *   key, else none. The path key wins: it names this one file, a digest names every copy.
 * - Hardlinked names stay together (a hardlink and its target must share a layer): the group
 *   goes to the earliest declared layer any of its names is mapped to; inside it the first name
 *   in path order is the file and the others link to it (in path order each name sits at its
 *   own place; in mapping order the names follow each other at the group's place).
 * - Directories are not content: each layer carries the directories its entries need, with the
 *   root file system's metadata. A directory a path key names goes to that layer too (and is
 *   still carried by others as a parent). A directory no layer needs (an empty subtree nobody
 *   maps) goes to the first layer, so the image still has it.
 * - Other unmapped entries go to a final layer ("unmapped"), or are an error with `strict`.
 * - Order inside a layer: with `ordered`, entries follow the mapping (the index of the key that
 *   placed them; several files under one digest key, and hardlink groups, in path order),
 *   parents just before the first entry that needs them; otherwise, and always in the
 *   "unmapped" layer, path order (the walk's).
 * - A key that matches no entry, and a layer that ends up with no entries of its own (every file
 *   it was given went elsewhere by the rules above), are `BAD_CONTENTMETA` errors.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { classifyContentMetaKey, type ContentMeta } from "./contentmeta.js";
import type { RootfsEntry, RootfsSource } from "./rootfs.js";

/** Human name of the layer that takes unmapped entries. */
export const UNMAPPED_LAYER_NAME = "unmapped";

/** One entry in a planned layer. */
export interface PlannedEntry {
  rootfs: RootfsEntry;
  /** Set for the second and later names of a hardlinked file: the name in this layer it links to. */
  linkTo?: string;
}

export interface PlannedLayer {
  /** The contentmeta layer id; undefined for the unmapped layer. */
  id?: string;
  name: string;
  entries: PlannedEntry[];
}

export interface RechunkPlan {
  layers: PlannedLayer[];
  /** Non-directory entries no key mapped (they are in the last layer). */
  unmapped: number;
}

export interface PlanOptions {
  /** Unmapped non-directory entries are an error instead of a final layer. */
  strict?: boolean;
  /** `sha256:<hex>` of a regular file's bytes; required when the contentmeta has digest keys. */
  digestOf?: (entry: RootfsEntry) => Promise<string>;
}

interface Placement {
  layer: number;
  rank: number;
}

const LIST = 5;
const listOf = (xs: string[]): string =>
  xs.slice(0, LIST).map((x) => JSON.stringify(x)).join(", ") + (xs.length > LIST ? `, … (${xs.length} in all)` : "");

function bad(message: string, details: Record<string, unknown>): never {
  throw new LayerkitError("BAD_CONTENTMETA", `contentmeta: ${message}`, details);
}

/** Walks `source` once and assigns every entry to a layer by `meta` (rules in the module notes). */
export async function planLayers(source: RootfsSource, meta: ContentMeta, options: PlanOptions = {}): Promise<RechunkPlan> {
  const layerIndex = new Map(meta.layers.map((l, i) => [l.id, i]));
  const byPath = new Map<string, Placement>();
  const byDigest = new Map<string, Placement>();
  meta.mapping.forEach((m, rank) => {
    const k = classifyContentMetaKey(m.key);
    (k.kind === "path" ? byPath : byDigest).set(k.kind === "path" ? k.path : k.digest, { layer: layerIndex.get(m.layer)!, rank });
  });
  if (byDigest.size > 0 && !options.digestOf) throw new LayerkitError("BAD_ARGUMENT", "the contentmeta has digest keys: give digestOf");
  const matched = new Set<string>();

  const entries: RootfsEntry[] = [];
  const placement: Array<Placement | undefined> = [];
  const dirAt = new Map<string, number>();
  const groups = new Map<string, number[]>();
  const digestOfInode = new Map<string, string>();
  for await (const e of source.entries()) {
    const i = entries.length;
    entries.push(e);
    if (e.entry.type === "dir") dirAt.set(e.path, i);
    const slash = e.path.lastIndexOf("/");
    if (slash > 0 && !dirAt.has(e.path.slice(0, slash))) {
      throw new LayerkitError(
        "INCONSISTENT",
        `root file system entry ${JSON.stringify(e.path)} comes before (or without) its parent directory`,
        { path: e.path },
      );
    }
    let p = byPath.get(e.path);
    if (p) matched.add(`/${e.path}`);
    if (e.entry.type === "file" && byDigest.size > 0) {
      // Every file is hashed, path-mapped or not, so a digest key is only "unmatched" when no file has those bytes.
      let d = e.inode === undefined ? undefined : digestOfInode.get(e.inode);
      if (d === undefined) {
        d = await options.digestOf!(e);
        if (e.inode !== undefined) digestOfInode.set(e.inode, d);
      }
      const q = byDigest.get(d);
      if (q) matched.add(d);
      p ??= q;
    }
    placement.push(p);
    if (e.inode !== undefined) {
      const g = groups.get(e.inode);
      if (g) g.push(i);
      else groups.set(e.inode, [i]);
    }
  }

  const unmatched = meta.mapping.map((m) => m.key).filter((k) => !matched.has(k));
  if (unmatched.length > 0) {
    bad(
      `${unmatched.length === 1 ? "a key matches" : `${unmatched.length} keys match`} nothing in the root file system: ${
        listOf(unmatched)
      }`,
      { entries: unmatched.slice(0, 100) },
    );
  }

  // Hardlink groups: one placement for all names, the earliest layer any name is mapped to.
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    let best: Placement | undefined;
    for (const i of members) {
      const p = placement[i];
      if (p && (!best || p.layer < best.layer || (p.layer === best.layer && p.rank < best.rank))) best = p;
    }
    for (const i of members) placement[i] = best;
  }

  const declared = meta.layers.length;
  // Items per layer: [sort rank, entry index]. The unmapped layer is index `declared`.
  const items: Array<Array<[number, number]>> = Array.from({ length: declared + 1 }, () => []);
  const unmappedPaths: string[] = [];
  const groupDone = new Set<string>();
  entries.forEach((e, i) => {
    const p = placement[i];
    if (e.entry.type === "dir" && !p) return; // carried as a parent, or placed below when nobody needs it
    if (e.inode !== undefined && (groups.get(e.inode)?.length ?? 0) > 1) {
      if (groupDone.has(e.inode)) return;
      groupDone.add(e.inode); // the group is placed as one item at its first name
    }
    if (!p) unmappedPaths.push(`/${e.path}`);
    const layer = p ? p.layer : declared;
    items[layer]!.push([p && meta.ordered ? p.rank : 0, i]);
  });
  if (unmappedPaths.length > 0 && options.strict) {
    bad(
      `${unmappedPaths.length} ${unmappedPaths.length === 1 ? "entry is" : "entries are"} not mapped (strict): ${listOf(unmappedPaths)}`,
      { entries: unmappedPaths.slice(0, 100) },
    );
  }
  for (let l = 0; l < declared; l++) {
    if (items[l]!.length === 0) {
      const id = meta.layers[l]!.id;
      bad(`layer ${JSON.stringify(id)} is left empty: every file its keys match is placed elsewhere (a path key or a hardlink wins)`, {
        entry: `layers.${id}`,
        layer: id,
      });
    }
  }

  // Directories no layer carries (empty subtrees nobody maps) go to the first layer.
  const carried = new Set<number>();
  const markParents = (path: string): void => {
    for (let s = path.lastIndexOf("/"); s > 0; s = path.lastIndexOf("/", s - 1)) {
      const d = dirAt.get(path.slice(0, s))!;
      if (carried.has(d)) return;
      carried.add(d);
    }
  };
  for (const list of items) {
    for (const [, i] of list) {
      carried.add(i);
      markParents(entries[i]!.path);
      const inode = entries[i]!.inode;
      if (inode !== undefined) { for (const m of groups.get(inode) ?? []) markParents(entries[m]!.path); }
    }
  }
  for (const i of dirAt.values()) {
    if (carried.has(i)) continue;
    items[0]!.push([meta.ordered ? Number.MAX_SAFE_INTEGER : 0, i]);
    markParents(entries[i]!.path);
    carried.add(i);
  }

  const layers: PlannedLayer[] = [];
  for (let l = 0; l <= declared; l++) {
    if (l === declared && items[l]!.length === 0) break;
    // In path order a hardlink group's names sit at their own places (the first still first);
    // in mapping order they stay together at the group's place.
    const together = meta.ordered && l < declared;
    const list = together
      ? items[l]!
      : items[l]!.flatMap(([, i]): Array<[number, number]> => (groups.get(entries[i]!.inode ?? "") ?? [i]).map((m) => [0, m]));
    list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    layers.push({
      ...(l < declared ? { id: meta.layers[l]!.id } : {}),
      name: l < declared ? meta.layers[l]!.name : UNMAPPED_LAYER_NAME,
      entries: layerEntries(list, entries, groups, dirAt, together),
    });
  }
  return { layers, unmapped: unmappedPaths.length };
}

/** A layer's entries in order, each preceded by the directories it needs that are not yet in the layer. */
function layerEntries(
  list: Array<[number, number]>,
  entries: RootfsEntry[],
  groups: Map<string, number[]>,
  dirAt: Map<string, number>,
  together: boolean,
): PlannedEntry[] {
  const out: PlannedEntry[] = [];
  const inLayer = new Set<number>();
  const addWithParents = (i: number, linkTo?: string): void => {
    const path = entries[i]!.path;
    const missing: number[] = [];
    for (let s = path.lastIndexOf("/"); s > 0; s = path.lastIndexOf("/", s - 1)) {
      const d = dirAt.get(path.slice(0, s))!;
      if (inLayer.has(d)) break;
      missing.push(d);
    }
    for (const d of missing.reverse()) {
      inLayer.add(d);
      out.push({ rootfs: entries[d]! });
    }
    if (inLayer.has(i)) return; // a mapped directory already carried as a parent
    inLayer.add(i);
    out.push(linkTo === undefined ? { rootfs: entries[i]! } : { rootfs: entries[i]!, linkTo });
  };
  for (const [, i] of list) {
    const inode = entries[i]!.inode;
    const members = inode === undefined ? undefined : groups.get(inode);
    if (!members || members.length < 2) {
      addWithParents(i);
      continue;
    }
    const first = entries[members[0]!]!.path;
    if (together) members.forEach((m, k) => addWithParents(m, k === 0 ? undefined : first));
    else addWithParents(i, i === members[0] ? undefined : first);
  }
  return out;
}
