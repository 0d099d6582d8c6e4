/**
 * A writer (`{ stream, result }`) handed out synchronously while the real one is still being set
 * up (the WASM core loading, a format being detected). Setup starts at once; a setup failure
 * rejects `result` and errors `stream`. The real writer's stream is relayed chunk by chunk, so no
 * bytes are pulled from the input before the caller pulls.
 *
 * @module
 */
import { byteStream, respondWith } from "./async-queue.js";
import { byobReaderOf } from "./bytes.js";

/** What {@link deferredWriter} wraps: a byte stream and a promise settled after its last byte. */
export interface StreamWithResult<R> {
  readonly stream: ReadableStream<Uint8Array>;
  readonly result: Promise<R>;
}

/**
 * Runs `open()` once, now, and relays the stream it gives without buffering. The relay is a byte
 * stream: a BYOB read is passed through to the real stream when that is a byte stream too (its
 * writer then fills the caller's buffer, see byteStreamFromGenerator), else filled by copying.
 */
export function deferredWriter<R>(open: () => Promise<StreamWithResult<R>>): { stream: ReadableStream<Uint8Array>; result: Promise<R> } {
  let inner: Promise<StreamWithResult<R>> | undefined;
  const writer = (): Promise<StreamWithResult<R>> => (inner ??= open());
  /** Bytes of a piece read from the real stream that a BYOB view could not take yet. */
  let pending: Uint8Array | undefined;
  const stream = byteStream({
    async pull(controller) {
      const source = (await writer()).stream;
      const request = controller.byobRequest;
      if (request && !pending) {
        const byob = byobReaderOf(source);
        if (byob) {
          try {
            const { value, done } = await byob.read(request.view as Uint8Array<ArrayBuffer>);
            if (done) controller.close();
            // The view came back on a transferred buffer (empty when done).
            if (value) request.respondWithNewView(value);
            else request.respond(0);
          } finally {
            byob.releaseLock();
          }
          return;
        }
      }
      let piece = pending;
      pending = undefined;
      if (!piece) {
        const reader = source.getReader();
        try {
          const { value, done } = await reader.read();
          if (done) {
            controller.close();
            request?.respond(0);
            return;
          }
          piece = value;
        } finally {
          reader.releaseLock();
        }
      }
      if (request) {
        pending = respondWith(request, piece);
      } else {
        // enqueue() transfers the whole ArrayBuffer: only a piece that is all of it is given away.
        controller.enqueue(
          (piece.byteOffset === 0 && piece.byteLength === piece.buffer.byteLength ? piece : piece.slice()) as Uint8Array<ArrayBuffer>,
        );
      }
    },
    async cancel(reason) {
      await (await writer()).stream.cancel(reason);
    },
  });
  const result = writer().then((w) => w.result);
  result.catch(() => {}); // the caller may only read the stream; its error surfaces there
  return { stream, result };
}
