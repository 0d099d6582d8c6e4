/**
 * An open Node file as a web ReadableStream: one read of `chunkSize` bytes per pull (no
 * read-ahead beyond what the consumer asks for), the handle closed at the end, on cancel and on
 * error. Node only (node:fs/promises FileHandle).
 *
 * @module
 */
import type { FileHandle } from "node:fs/promises";

export interface FileHandleStreamOptions {
  /** Bytes per read (default 1 MiB). */
  chunkSize?: number;
  /** The error the stream fails with when a read fails. */
  readError: (cause: unknown) => Error;
}

export function fileHandleStream(handle: FileHandle, options: FileHandleStreamOptions): ReadableStream<Uint8Array> {
  const chunkSize = options.chunkSize ?? 1 << 20;
  let position = 0;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => {});
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let n: number;
        const buf = new Uint8Array(chunkSize);
        try {
          n = (await handle.read(buf, 0, chunkSize, position)).bytesRead;
        } catch (e) {
          await close();
          controller.error(options.readError(e));
          return;
        }
        if (n === 0) {
          await close();
          controller.close();
          return;
        }
        position += n;
        controller.enqueue(n === chunkSize ? buf : buf.subarray(0, n));
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
}
