/**
 * Output files appear whole or not at all: bytes go to a temporary name in the same directory and
 * are renamed into place only after the command succeeded. On failure or Ctrl-C the temporary file
 * is removed.
 */
import { rmSync } from "node:fs";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Writable } from "node:stream";
import { LayerkitError } from "../errors.js";
import { ByteReader } from "../util/bytes.js";

/** Bytes per write when the output is read into a reused buffer. */
const WRITE_BUFFER = 256 * 1024;

const live = new Set<string>();
let hooked = false;

function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      for (const p of live) {
        // Synchronous on purpose: the process is about to exit.
        rmSync(p, { force: true, recursive: true });
      }
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}

/**
 * Removes `path` (a file or a directory tree) if the process is interrupted before
 * {@link untrackTempPath}; for outputs that are not a single file (an OCI layout being built).
 */
export function trackTempPath(path: string): void {
  hookSignals();
  live.add(path);
}

export function untrackTempPath(path: string): void {
  live.delete(path);
}

export class AtomicFile {
  private constructor(
    readonly finalPath: string,
    readonly tempPath: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(finalPath: string): Promise<AtomicFile> {
    hookSignals();
    const tempPath = join(dirname(finalPath), `.${basename(finalPath)}.${process.pid}.${Date.now().toString(36)}.tmp`);
    let handle: FileHandle;
    try {
      handle = await open(tempPath, "wx");
    } catch (e) {
      throw outputError(finalPath, e);
    }
    live.add(tempPath);
    return new AtomicFile(finalPath, tempPath, handle);
  }

  /**
   * Writes all of `stream` into the temporary file. A byte stream is read with a BYOB reader
   * into one reused buffer (layerkit's layer writers then allocate nothing per output piece).
   */
  async writeAll(stream: ReadableStream<Uint8Array>): Promise<void> {
    const input = new ByteReader(stream, { reuseBuffer: WRITE_BUFFER });
    try {
      for (let piece = await input.readSome(); piece !== null; piece = await input.readSome()) {
        let off = 0;
        while (off < piece.length) {
          const { bytesWritten } = await this.handle.write(piece, off, piece.length - off);
          off += bytesWritten;
        }
      }
    } catch (e) {
      await input.cancel();
      throw e;
    }
  }

  /** fsync, close and rename into place. */
  async commit(): Promise<void> {
    await this.handle.sync();
    await this.handle.close();
    await rename(this.tempPath, this.finalPath);
    live.delete(this.tempPath);
  }

  /** Close and delete the temporary file. Safe to call after a failed commit. */
  async discard(): Promise<void> {
    await this.handle.close().catch(() => {});
    await rm(this.tempPath, { force: true });
    live.delete(this.tempPath);
  }
}

/** Why OUT cannot be written, named by OUT itself (never by the temporary name). */
export function outputError(finalPath: string, e: unknown): LayerkitError {
  const code = (e as { code?: string }).code;
  const dir = dirname(finalPath);
  const why = code === "ENOENT"
    ? `directory ${dir} does not exist`
    : code === "EACCES" || code === "EPERM"
    ? `no permission to write in ${dir}`
    : code === "ENOTDIR"
    ? `${dir} is not a directory`
    : ((e as Error).message ?? String(e));
  return new LayerkitError("IO", `cannot write ${finalPath}: ${why}`, { path: finalPath, ...(code ? { errno: code } : {}) }, { cause: e });
}

/** Writes a stream to stdout (`-o -`): nothing to rename; a failure leaves what was written, as with any pipe. */
class StdoutFile {
  async writeAll(stream: ReadableStream<Uint8Array>): Promise<void> {
    await stream.pipeTo(Writable.toWeb(process.stdout) as WritableStream<Uint8Array>, { preventClose: true });
  }
}

/** Run `fn` with an atomic file (or stdout for `-`); commit on success, discard on any failure. */
export async function withAtomicFile<T>(finalPath: string, fn: (file: Pick<AtomicFile, "writeAll">) => Promise<T>): Promise<T> {
  if (finalPath === "-") return await fn(new StdoutFile());
  const file = await AtomicFile.create(finalPath);
  try {
    const out = await fn(file);
    await file.commit();
    return out;
  } catch (e) {
    await file.discard();
    throw e;
  }
}
