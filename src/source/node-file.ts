/**
 * A {@link BlobSource} over a local file, for Node (and Deno through its Node compatibility).
 * The only module of the library that imports `node:` built-ins; the runtime-neutral code never
 * imports it.
 *
 * @module
 */
import { type FileHandle, open } from "node:fs/promises";
import { LayerkitError } from "../errors.js";
import { type BlobSource, type ByteRange, checkRangeArgs, checkRangeInside, newStats, type SourceStats } from "./blob-source.js";

export class FileSource implements BlobSource {
  readonly stats: SourceStats = newStats();
  readonly path: string;
  #handle: FileHandle | undefined;
  #size: number | undefined;

  private constructor(path: string, handle: FileHandle, size: number) {
    this.path = path;
    this.#handle = handle;
    this.#size = size;
  }

  /** Opens `path` read-only; the size is taken once, at open. */
  static async open(path: string): Promise<FileSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (e) {
      throw ioError(`cannot open ${path}`, path, e);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new LayerkitError("IO", `${path} is not a regular file`, { path });
      return new FileSource(path, handle, st.size);
    } catch (e) {
      await handle.close().catch(() => {});
      throw e instanceof LayerkitError ? e : ioError(`cannot stat ${path}`, path, e);
    }
  }

  async size(): Promise<number> {
    this.#live();
    return this.#size!;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRangeArgs(offset, length);
    const handle = this.#live();
    checkRangeInside(offset, length, this.#size!);
    const out = new Uint8Array(length);
    let done = 0;
    this.stats.requests++;
    while (done < length) {
      let n: number;
      try {
        ({ bytesRead: n } = await handle.read(out, done, length - done, offset + done));
      } catch (e) {
        throw ioError(`cannot read ${this.path}`, this.path, e, { offset, length });
      }
      if (n === 0) {
        throw new LayerkitError("TRUNCATED", `${this.path} ended after ${offset + done} bytes (file shrank while reading?)`, {
          path: this.path,
          offset,
          length,
          got: done,
        });
      }
      done += n;
      this.stats.bytes += n;
    }
    return out;
  }

  async readRanges(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const r of ranges) out.push(await this.read(r.offset, r.length));
    return out;
  }

  async close(): Promise<void> {
    const h = this.#handle;
    this.#handle = undefined;
    await h?.close();
  }

  #live(): FileHandle {
    if (!this.#handle) throw new LayerkitError("BAD_ARGUMENT", `file source ${this.path} is closed`, { path: this.path });
    return this.#handle;
  }
}

/** Shorthand for {@link FileSource.open}. */
export function openFileSource(path: string): Promise<FileSource> {
  return FileSource.open(path);
}

function ioError(message: string, path: string, cause: unknown, extra: Record<string, unknown> = {}): LayerkitError {
  const code = (cause as { code?: unknown })?.code;
  return new LayerkitError("IO", `${message}: ${(cause as Error)?.message ?? cause}`, { path, errno: code, ...extra }, { cause });
}
