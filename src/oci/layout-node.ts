/**
 * The Node file system behind {@link OciLayout}: the only module of `src/oci` that imports `node:`
 * built-ins (re-exported by the Node and Deno runtime entries only).
 *
 * Every path is resolved under the layout root, and the real path (after symlinks) of every file
 * read or written must stay inside the root's real path; otherwise `UNSAFE_PATH`.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, mkdir, open, realpath, rename, rm, stat } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { LayerkitError } from "../errors.js";
import { fileHandleStream } from "../source/node-file-stream.js";
import { type LayoutFs, OciLayout, type OciLayoutOptions, safeLayoutPath, type TempFile } from "./layout.js";

function ioError(e: unknown, op: string, path: string): LayerkitError {
  if (e instanceof LayerkitError) return e;
  return new LayerkitError("IO", `${op} ${path}: ${(e as Error)?.message ?? e}`, { path, op, errno: (e as NodeJS.ErrnoException)?.code }, {
    cause: e,
  });
}

function isMissing(e: unknown): boolean {
  const c = (e as NodeJS.ErrnoException)?.code;
  return c === "ENOENT" || c === "ENOTDIR";
}

/** {@link LayoutFs} on `node:fs`, rooted at a directory. */
export class NodeLayoutFs implements LayoutFs {
  readonly root: string;
  #realRoot: string | undefined;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async #rootReal(): Promise<string> {
    this.#realRoot ??= await realpath(this.root);
    return this.#realRoot;
  }

  /** Absolute path for a layout-relative one (lexically checked). */
  #abs(path: string): string {
    if (path === "") return this.root;
    safeLayoutPath(path);
    const abs = resolve(this.root, ...path.split("/"));
    const rel = relative(this.root, abs);
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) {
      throw new LayerkitError("UNSAFE_PATH", `path ${JSON.stringify(path)} would leave the OCI layout`, { path });
    }
    return abs;
  }

  /** Throws UNSAFE_PATH when `abs` (an existing path) really lives outside the root. */
  async #contain(abs: string, path: string): Promise<void> {
    const root = await this.#rootReal();
    const real = await realpath(abs);
    if (real !== root && !real.startsWith(root.endsWith(sep) ? root : root + sep)) {
      throw new LayerkitError("UNSAFE_PATH", `path ${JSON.stringify(path)} resolves outside the OCI layout`, { path });
    }
  }

  /**
   * Opens `path` read-only once it is known to be a regular file inside the layout; undefined when
   * it does not exist. Failures after the open close the handle and are reported as `op`.
   */
  async #openRegular(path: string, op: string): Promise<{ fh: FileHandle; size: number } | undefined> {
    const abs = this.#abs(path);
    let fh: FileHandle;
    try {
      fh = await open(abs, constants.O_RDONLY);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw ioError(e, "open", path);
    }
    try {
      await this.#contain(abs, path);
      const st = await fh.stat();
      if (!st.isFile()) throw new LayerkitError("IO", `${path} is not a regular file`, { path });
      return { fh, size: st.size };
    } catch (e) {
      await fh.close().catch(() => {});
      throw ioError(e, op, path);
    }
  }

  async readFile(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const opened = await this.#openRegular(path, "read");
    if (!opened) return undefined;
    const { fh, size } = opened;
    try {
      if (size > maxBytes) throw new LayerkitError("LIMIT_EXCEEDED", `${path} is larger than ${maxBytes} bytes`, { path, size, maxBytes });
      const buf = new Uint8Array(size);
      let off = 0;
      while (off < buf.length) {
        const { bytesRead } = await fh.read(buf, off, buf.length - off, off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      return buf.subarray(0, off);
    } catch (e) {
      throw ioError(e, "read", path);
    } finally {
      await fh.close().catch(() => {});
    }
  }

  async openRead(path: string): Promise<ReadableStream<Uint8Array> | undefined> {
    const opened = await this.#openRegular(path, "open");
    if (!opened) return undefined;
    return fileHandleStream(opened.fh, { chunkSize: 256 * 1024, readError: (e) => ioError(e, "read", path) });
  }

  async size(path: string): Promise<number | undefined> {
    const abs = this.#abs(path);
    try {
      const st = await stat(abs);
      await this.#contain(abs, path);
      if (!st.isFile()) throw new LayerkitError("IO", `${path} is not a regular file`, { path });
      return st.size;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw ioError(e, "stat", path);
    }
  }

  async mkdirp(path: string): Promise<void> {
    const abs = this.#abs(path);
    try {
      await mkdir(abs, { recursive: true });
      await this.#contain(abs, path);
    } catch (e) {
      throw ioError(e, "mkdir", path);
    }
  }

  async createTemp(dir: string): Promise<TempFile> {
    const dirAbs = this.#abs(dir);
    try {
      await mkdir(dirAbs, { recursive: true });
      await this.#contain(dirAbs, dir || ".");
    } catch (e) {
      throw ioError(e, "mkdir", dir);
    }
    const name = `.layerkit-tmp-${randomBytes(8).toString("hex")}`;
    const rel = dir === "" ? name : `${dir}/${name}`;
    const abs = this.#abs(rel);
    let fh: FileHandle;
    try {
      fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    } catch (e) {
      throw ioError(e, "create", rel);
    }
    let open_ = true;
    return {
      path: rel,
      async write(chunk: Uint8Array): Promise<void> {
        try {
          let off = 0;
          while (off < chunk.length) {
            const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
            off += bytesWritten;
          }
        } catch (e) {
          throw ioError(e, "write", rel);
        }
      },
      async close(): Promise<void> {
        if (!open_) return;
        try {
          await fh.sync();
          open_ = false;
          await fh.close();
        } catch (e) {
          throw ioError(e, "close", rel);
        }
      },
      async discard(): Promise<void> {
        if (open_) {
          open_ = false;
          await fh.close().catch(() => {});
        }
        await rm(abs, { force: true }).catch(() => {});
      },
    };
  }

  async rename(from: string, to: string): Promise<void> {
    const a = this.#abs(from);
    const b = this.#abs(to);
    try {
      await this.#contain(dirname(b), to);
      await rename(a, b);
    } catch (e) {
      throw ioError(e, "rename", `${from} -> ${to}`);
    }
    // Make the rename durable (best effort: not every file system allows fsync on a directory).
    try {
      const d = await open(dirname(b), constants.O_RDONLY);
      await d.sync().catch(() => {});
      await d.close();
    } catch {
      /* ignore */
    }
  }
}

/** Opens the OCI layout in `dir`; with `create: true`, creates it (and `dir`) when missing. */
export async function openLayout(dir: string, options: OciLayoutOptions & { create?: boolean } = {}): Promise<OciLayout> {
  if (options.create) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw ioError(e, "mkdir", dir);
    }
    return OciLayout.create(new NodeLayoutFs(dir), options);
  }
  return OciLayout.open(new NodeLayoutFs(dir), options);
}
