/** Small Node file-system helpers the CLI commands share. */
import { open, stat, type FileHandle } from "node:fs/promises";
import { LayerkitError } from "../errors.js";

/** Pieces a file is read in. */
const READ_CHUNK = 1 << 20;

/**
 * A file as a web ReadableStream, with its size. Missing files become a clear IO error.
 * Read on demand, one piece per pull (no read-ahead): `Readable.toWeb(createReadStream())`
 * buffers ahead and cost ~10 MiB more peak RSS converting a 1 GiB tar.
 */
export async function openFileStream(path: string): Promise<{ stream: ReadableStream<Uint8Array>; size: number }> {
  let handle: FileHandle;
  let size: number;
  try {
    handle = await open(path, "r");
    const st = await handle.stat();
    if (!st.isFile()) {
      await handle.close();
      throw new LayerkitError("IO", `${path} is not a regular file`, { path });
    }
    size = st.size;
  } catch (e) {
    if (e instanceof LayerkitError) throw e;
    throw new LayerkitError("IO", `cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const buf = new Uint8Array(READ_CHUNK);
        let n: number;
        try {
          n = (await handle.read(buf, 0, READ_CHUNK, null)).bytesRead;
        } catch (e) {
          await close().catch(() => {});
          throw new LayerkitError("IO", `cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
        }
        if (n === 0) {
          await close();
          controller.close();
        } else controller.enqueue(n === READ_CHUNK ? buf : buf.subarray(0, n));
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
  return { stream, size };
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (e) {
    throw new LayerkitError("IO", `cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
}
