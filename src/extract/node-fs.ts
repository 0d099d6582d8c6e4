/**
 * The Node file-system adapter for extraction ({@link ExtractFs}). Every path is resolved inside
 * the root component by component with lstat (openat2's RESOLVE_IN_ROOT semantics): a symlink
 * met on the way is followed as if the root were `/` (absolute targets restart at the root,
 * `..` stops at it), at most 40 times, and the final component is never followed. New files,
 * symlinks, links and nodes are made under a temporary name in the same directory and renamed
 * into place, so nothing wrong or half-written ever has an entry's name.
 *
 * Owners are set when running as root; otherwise they are reported (`owners`), not applied.
 * Devices are made only as root (`mknod`), otherwise reported skipped. Node has no xattr or
 * mkfifo API: xattrs go through `setfattr` (Debian's attr package) and FIFOs/devices through
 * `mkfifo`/`mknod`, run only for entries that need them. mtimes go through `lutimes` with
 * fractional seconds: a double, so about 0.25 µs precision for current dates, not 1 ns.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants, promises as fsp } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { LayerkitError } from "../errors.js";
import type { EntryMetadata, ExtractFs } from "./apply.js";

const run = promisify(execFile);
const MAX_SYMLINKS = 40;

export interface NodeExtractReport {
  /** Entries whose owner was not applied (not root): name, uid, gid. Only owners other than 0:0. */
  owners: Array<{ name: string; uid: number; gid: number }>;
  /** Entries or attributes not made, and why (devices and privileged xattrs when not root). */
  skipped: Array<{ name: string; what: string; reason: string }>;
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function ioError(what: string, e: unknown, name: string): LayerkitError {
  return new LayerkitError("IO", `${what} ${JSON.stringify(name)}: ${(e as Error).message}`, { name, errno: errno(e) }, { cause: e });
}

/** A file's bytes in 1 MiB pieces. */
async function* readAll(fh: fsp.FileHandle): AsyncGenerator<Uint8Array, void, void> {
  for (;;) {
    const buf = new Uint8Array(1 << 20);
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) return;
    yield buf.subarray(0, bytesRead);
  }
}

export class NodeExtractFs implements ExtractFs {
  readonly report: NodeExtractReport = { owners: [], skipped: [] };
  private readonly root: boolean;

  constructor(readonly rootDir: string, options: { asRoot?: boolean } = {}) {
    this.root = options.asRoot ?? process.getuid?.() === 0;
  }

  /** The host path of `path`'s parent directory, resolved in the root (parents made when `create`). */
  private async parent(path: readonly string[], create: boolean): Promise<string | undefined> {
    const queue = path.slice(0, -1);
    let stack: string[] = [];
    let links = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === "" || c === ".") continue;
      if (c === "..") {
        stack.pop();
        continue;
      }
      const p = join(this.rootDir, ...stack, c);
      let st;
      try {
        st = await fsp.lstat(p);
      } catch (e) {
        if (errno(e) !== "ENOENT") throw ioError("lstat", e, path.join("/"));
        if (!create) return undefined;
        await fsp.mkdir(p, { mode: 0o755 });
        stack.push(c);
        continue;
      }
      if (st.isDirectory()) stack.push(c);
      else if (st.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) {
          throw new LayerkitError("UNSAFE_PATH", `${path.join("/")}: more than ${MAX_SYMLINKS} symlinks on the way`, {
            name: path.join("/"),
          });
        }
        const target = await fsp.readlink(p);
        if (target.startsWith("/")) stack = [];
        queue.unshift(...target.split("/"));
      } else {
        throw new LayerkitError("UNSAFE_PATH", `${path.join("/")}: ${[...stack, c].join("/")} is not a directory`, {
          name: path.join("/"),
        });
      }
    }
    return join(this.rootDir, ...stack);
  }

  private async final(path: readonly string[], create = true): Promise<string> {
    if (path.length === 0) return this.rootDir;
    const dir = await this.parent(path, create);
    if (dir === undefined) {
      throw new LayerkitError("UNSAFE_PATH", `${path.join("/")}: its directory does not exist`, { name: path.join("/") });
    }
    return join(dir, path[path.length - 1]!);
  }

  private tempNear(p: string): string {
    return join(p, "..", `.layerkit-tmp-${randomBytes(6).toString("hex")}`);
  }

  /** Renames `tmp` over `p`; a directory at `p` is removed first (rename cannot replace one). */
  private async place(tmp: string, p: string, name: string): Promise<void> {
    try {
      const st = await fsp.lstat(p).catch((e) => (errno(e) === "ENOENT" ? undefined : Promise.reject(e)));
      if (st?.isDirectory()) await fsp.rm(p, { recursive: true, force: true });
      await fsp.rename(tmp, p);
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => {});
      throw ioError("rename into", e, name);
    }
  }

  async mkdir(path: string[]): Promise<void> {
    const p = await this.final(path);
    const st = await fsp.lstat(p).catch((e) => (errno(e) === "ENOENT" ? undefined : Promise.reject(ioError("lstat", e, path.join("/")))));
    if (st?.isDirectory()) return;
    if (st) await fsp.rm(p, { recursive: true, force: true });
    await fsp.mkdir(p, { mode: 0o755 });
  }

  async remove(path: string[]): Promise<void> {
    if (path.length === 0) throw new LayerkitError("UNSAFE_PATH", "a whiteout cannot remove the root", {});
    const dir = await this.parent(path, false);
    if (dir === undefined) return;
    await fsp.rm(join(dir, path[path.length - 1]!), { recursive: true, force: true });
  }

  async removeChildren(path: string[], drop: (name: string) => boolean): Promise<void> {
    const p = await this.final(path);
    const st = await fsp.lstat(p).catch(() => undefined);
    if (!st?.isDirectory()) return;
    for (const name of await fsp.readdir(p)) if (drop(name)) await fsp.rm(join(p, name), { recursive: true, force: true });
  }

  async writeFile(path: string[], content: AsyncIterable<Uint8Array>, check: () => void): Promise<void> {
    const p = await this.final(path);
    const tmp = this.tempNear(p);
    // O_EXCL: never opens (or follows) anything already there.
    const fh = await fsp.open(tmp, "wx", 0o600);
    try {
      for await (const piece of content) {
        let at = 0;
        while (at < piece.length) at += (await fh.write(piece, at, piece.length - at)).bytesWritten;
      }
      await fh.close();
      check();
    } catch (e) {
      await fh.close().catch(() => {});
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await this.place(tmp, p, path.join("/"));
  }

  async placeLocal(
    path: string[],
    from: string,
    accept: (content: AsyncIterable<Uint8Array>) => Promise<boolean>,
  ): Promise<"reflink" | "copy" | undefined> {
    const p = await this.final(path);
    const tmp = this.tempNear(p);
    let how: "reflink" | "copy" = "reflink";
    try {
      try {
        await fsp.copyFile(from, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
      } catch {
        how = "copy";
        await fsp.copyFile(from, tmp, constants.COPYFILE_EXCL);
      }
      await fsp.chmod(tmp, 0o600);
      const fh = await fsp.open(tmp, "r");
      let ok: boolean;
      try {
        ok = await accept(readAll(fh));
      } finally {
        await fh.close();
      }
      if (!ok) {
        await fsp.rm(tmp, { force: true });
        return undefined;
      }
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw ioError("copy a local file to", e, path.join("/"));
    }
    await this.place(tmp, p, path.join("/"));
    return how;
  }

  async symlink(path: string[], target: string): Promise<void> {
    const p = await this.final(path);
    const tmp = this.tempNear(p);
    await fsp.symlink(target, tmp);
    await this.place(tmp, p, path.join("/"));
  }

  async link(path: string[], target: string[]): Promise<void> {
    const name = path.join("/");
    const dir = target.length > 0 ? await this.parent(target, false) : undefined;
    const t = dir === undefined ? undefined : join(dir, target[target.length - 1]!);
    const st = t === undefined ? undefined : await fsp.lstat(t).catch(() => undefined);
    if (!t || !st || st.isDirectory()) {
      throw new LayerkitError(
        "UNSAFE_PATH",
        `hardlink ${JSON.stringify(name)} → ${JSON.stringify(target.join("/"))}: the target is ${
          st ? "a directory" : "not in the tree (yet)"
        }`,
        {
          name,
          target: target.join("/"),
        },
      );
    }
    const p = await this.final(path);
    const tmp = this.tempNear(p);
    await fsp.link(t, tmp); // linkat without AT_SYMLINK_FOLLOW: a symlink target is linked itself
    await this.place(tmp, p, name);
  }

  async mknod(path: string[], type: "char" | "block" | "fifo", major: number, minor: number): Promise<void> {
    const name = path.join("/");
    if (type !== "fifo" && !this.root) {
      this.report.skipped.push({ name, what: `${type} device ${major}:${minor}`, reason: "devices need root" });
      return;
    }
    const p = await this.final(path);
    const tmp = this.tempNear(p);
    try {
      if (type === "fifo") await run("mkfifo", ["-m", "0600", tmp]);
      else await run("mknod", ["-m", "0600", tmp, type === "char" ? "c" : "b", String(major), String(minor)]);
    } catch (e) {
      throw ioError(`mk${type}`, e, name);
    }
    await this.place(tmp, p, name);
  }

  async setMetadata(path: string[], meta: EntryMetadata): Promise<void> {
    const name = path.join("/");
    const p = await this.final(path);
    const st = await fsp.lstat(p).catch(() => undefined);
    if (!st) return; // a device skipped when not root
    const symlink = st.isSymbolicLink();
    if (this.root) await fsp.lchown(p, meta.uid, meta.gid);
    else if (meta.uid !== 0 || meta.gid !== 0) this.report.owners.push({ name, uid: meta.uid, gid: meta.gid });
    // chmod follows symlinks (and Linux has no lchmod): symlinks keep 0777. After chown, which clears setuid.
    if (!symlink) await fsp.chmod(p, meta.mode);
    if (meta.xattrs) await this.setXattrs(p, name, meta.xattrs);
    if (meta.mtime) {
      const t = meta.mtime.sec + meta.mtime.nsec / 1e9;
      await fsp.lutimes(p, t, t);
    }
  }

  private async setXattrs(p: string, name: string, xattrs: Map<string, Uint8Array>): Promise<void> {
    for (const [key, value] of xattrs) {
      if (!this.root && !key.startsWith("user.")) {
        this.report.skipped.push({ name, what: `xattr ${key}`, reason: "only user.* xattrs can be set without root" });
        continue;
      }
      try {
        await run("setfattr", ["-h", "-n", key, "-v", "0x" + Buffer.from(value).toString("hex"), p]);
      } catch (e) {
        throw ioError(`setfattr ${key} on`, e, name);
      }
    }
  }
}
