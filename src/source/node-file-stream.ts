/**
 * An open Node file as a web byte stream (`type: "bytes"`): one read per pull (no read-ahead
 * beyond what the consumer asks for), the handle closed at the end, on cancel and on error.
 * A BYOB reader's buffer is read into directly, so a consumer that reuses its buffer (as
 * layerkit's writers do) reads a file of any size without allocating; a default reader gets a new
 * array of `chunkSize` bytes per read. Node only (node:fs/promises FileHandle).
 *
 * @module
 */
import type { FileHandle } from "node:fs/promises";

export interface FileHandleStreamOptions {
  /** Bytes per read for default readers (default 1 MiB); BYOB reads fill the reader's view. */
  chunkSize?: number;
  /** The error the stream fails with when a read fails. */
  readError: (cause: unknown) => Error;
  /** Called after each read with the bytes read so far, and once more at the end (`end` true). */
  onRead?: (total: number, end: boolean) => void;
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
  return new ReadableStream({
    type: "bytes",
    // Default readers get a BYOB request too (an array of this size), so pull has one path.
    autoAllocateChunkSize: chunkSize,
    async pull(controller) {
      const request = controller.byobRequest!;
      const view = request.view!;
      let n: number;
      try {
        n = (await handle.read(view as Uint8Array, 0, view.byteLength, position)).bytesRead;
      } catch (e) {
        await close();
        controller.error(options.readError(e));
        return;
      }
      if (n === 0) {
        await close();
        options.onRead?.(position, true);
        controller.close();
        request.respond(0);
        return;
      }
      position += n;
      options.onRead?.(position, false);
      request.respond(n);
    },
    cancel: close,
  }) as ReadableStream<Uint8Array>;
}
