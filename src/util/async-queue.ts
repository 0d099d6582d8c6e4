/**
 * Turns an async generator of output pieces into a pull-driven ReadableStream, so a writer only
 * does work when its consumer asks for bytes (backpressure), and a failure reaches both the
 * stream and the writer's result promise.
 */
export function streamFromGenerator(gen: AsyncGenerator<Uint8Array, void, void>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // Skip empty pieces: a pull must enqueue or close, or the stream stalls.
        for (;;) {
          const { value, done } = await gen.next();
          if (done) {
            controller.close();
            return;
          }
          if (value.length > 0) {
            controller.enqueue(value);
            return;
          }
        }
      },
      async cancel(reason) {
        await gen.throw(reason instanceof Error ? reason : new Error(String(reason))).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Like {@link streamFromGenerator}, as a byte stream (`type: "bytes"`) for writers that own their
 * output arrays and can use them again. A consumer reading with a BYOB reader gets the bytes
 * copied into its own buffer, and each fully copied array goes back to the writer through
 * `recycle`: a layer of any size is written with a few fixed buffers on both sides (new arrays
 * per piece keep V8 holding dead ones until a full GC; at 1 GiB that was ~30 MiB of RSS). A
 * default reader gets the arrays themselves (transferred, so they must be the writer's alone).
 */
export function byteStreamFromGenerator(gen: AsyncGenerator<Uint8Array, void, void>, recycle: (piece: Uint8Array) => void): ReadableStream<Uint8Array> {
  /** A piece partly copied into BYOB views, and how far. */
  let pending: Uint8Array | undefined;
  let at = 0;
  const next = async (): Promise<Uint8Array | undefined> => {
    for (;;) {
      const { value, done } = await gen.next();
      if (done) return undefined;
      if (value.length > 0) return value;
    }
  };
  return new ReadableStream({
    type: "bytes",
    async pull(controller) {
      let piece = pending;
      if (!piece) {
        piece = await next();
        at = 0;
        if (!piece) {
          controller.close();
          controller.byobRequest?.respond(0);
          return;
        }
      }
      const request = controller.byobRequest;
      if (!request) {
        pending = undefined;
        controller.enqueue((at === 0 ? piece : piece.subarray(at)) as Uint8Array<ArrayBuffer>);
        return;
      }
      const view = request.view as Uint8Array;
      const n = Math.min(view.byteLength, piece.length - at);
      view.set(piece.subarray(at, at + n));
      at += n;
      if (at === piece.length) {
        pending = undefined;
        recycle(piece);
      } else {
        pending = piece;
      }
      request.respond(n);
    },
    async cancel(reason) {
      await gen.throw(reason instanceof Error ? reason : new Error(String(reason))).catch(() => {});
    },
  }) as ReadableStream<Uint8Array>;
}
