/**
 * An in-memory {@link ExtractFs} so the campaign runs src/extract's applyLayer on every verified
 * input without touching the disk: a tree of directories, files, links and nodes keyed by path,
 * with the adapter's rules (a name replaces what is there, hardlinks need an existing
 * non-directory target, nothing goes through a non-directory parent).
 *
 * @module
 */
import { LayerkitError } from "../../src/errors.js";
import type { ExtractFs } from "../../src/extract/apply.js";
import { pathKey } from "../../src/extract/paths.js";

type Node =
  | { kind: "dir" }
  | { kind: "file"; data: Uint8Array }
  | { kind: "symlink"; target: string }
  | { kind: "node" };

export class MemoryExtractFs implements ExtractFs {
  readonly nodes = new Map<string, Node>([["", { kind: "dir" }]]);

  /** Regular files (hardlinks are files sharing their target's bytes) by path. */
  files(): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const [k, n] of this.nodes) if (n.kind === "file") out.set(k, n.data);
    return out;
  }

  #parents(path: string[]): void {
    for (let i = 1; i < path.length; i++) {
      const k = pathKey(path.slice(0, i));
      const n = this.nodes.get(k);
      if (n === undefined) this.nodes.set(k, { kind: "dir" });
      else if (n.kind !== "dir") throw new LayerkitError("UNSAFE_PATH", `${k} is not a directory`, { name: pathKey(path) });
    }
  }

  #drop(k: string): void {
    this.nodes.delete(k);
    const prefix = k + "/";
    for (const key of [...this.nodes.keys()]) if (key.startsWith(prefix)) this.nodes.delete(key);
  }

  #put(path: string[], node: Node): void {
    this.#parents(path);
    const k = pathKey(path);
    if (this.nodes.has(k)) this.#drop(k);
    this.nodes.set(k, node);
  }

  mkdir(path: string[]): Promise<void> {
    this.#parents(path);
    const k = pathKey(path);
    if (this.nodes.get(k)?.kind !== "dir") this.#put(path, { kind: "dir" });
    return Promise.resolve();
  }

  remove(path: string[]): Promise<void> {
    if (path.length > 0) this.#drop(pathKey(path));
    return Promise.resolve();
  }

  removeChildren(path: string[], drop: (name: string) => boolean): Promise<void> {
    const k = pathKey(path);
    const prefix = k === "" ? "" : k + "/";
    for (const key of [...this.nodes.keys()]) {
      if (key === "" || !key.startsWith(prefix)) continue;
      const child = key.slice(prefix.length).split("/")[0]!;
      if (drop(child)) this.#drop(prefix + child);
    }
    return Promise.resolve();
  }

  async writeFile(path: string[], content: AsyncIterable<Uint8Array>, check: () => void): Promise<void> {
    const parts: Uint8Array[] = [];
    for await (const p of content) parts.push(p.slice());
    check();
    this.#put(path, { kind: "file", data: new Uint8Array(Buffer.concat(parts)) });
  }

  symlink(path: string[], target: string): Promise<void> {
    this.#put(path, { kind: "symlink", target });
    return Promise.resolve();
  }

  link(path: string[], target: string[]): Promise<void> {
    const t = this.nodes.get(pathKey(target));
    if (t === undefined || t.kind === "dir") {
      throw new LayerkitError("UNSAFE_PATH", `hardlink ${pathKey(path)} to ${pathKey(target)}, which is not there`, {
        name: pathKey(path),
      });
    }
    this.#put(path, t);
    return Promise.resolve();
  }

  mknod(path: string[]): Promise<void> {
    this.#put(path, { kind: "node" });
    return Promise.resolve();
  }

  setMetadata(path: string[]): Promise<void> {
    if (!this.nodes.has(pathKey(path))) {
      throw new LayerkitError("UNSAFE_PATH", `metadata for ${pathKey(path)}, which is not there`, { name: pathKey(path) });
    }
    return Promise.resolve();
  }
}
