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
export function byteStreamFromGenerator(
  gen: AsyncGenerator<Uint8Array, void, void>,
  recycle: (piece: Uint8Array) => void,
): ReadableStream<Uint8Array> {
  /** The piece being copied into BYOB views, and what of it is left. */
  let current: Uint8Array | undefined;
  let rest: Uint8Array | undefined;
  const next = async (): Promise<Uint8Array | undefined> => {
    for (;;) {
      const { value, done } = await gen.next();
      if (done) return undefined;
      if (value.length > 0) return value;
    }
  };
  return byteStream({
    async pull(controller) {
      if (!rest) {
        current = rest = await next();
        if (!rest) {
          controller.close();
          controller.byobRequest?.respond(0);
          return;
        }
      }
      const request = controller.byobRequest;
      if (!request) {
        controller.enqueue(rest as Uint8Array<ArrayBuffer>);
        current = rest = undefined;
        return;
      }
      rest = respondWith(request, rest);
      if (!rest) recycle(current!);
    },
    async cancel(reason) {
      await gen.throw(reason instanceof Error ? reason : new Error(String(reason))).catch(() => {});
    },
  });
}

/** Whether this runtime's ReadableStream takes `type: "bytes"` (Safari only since 26.4). */
const BYTE_STREAMS = ((): boolean => {
  try {
    void new ReadableStream({ type: "bytes" }).cancel();
    return true;
  } catch {
    return false;
  }
})();

/** Sources that serve BYOB requests when there are any and enqueue otherwise. */
export interface ByteStreamSource {
  pull(controller: ReadableByteStreamController): Promise<void>;
  cancel(reason: unknown): Promise<void>;
}

/**
 * A byte stream (`type: "bytes"`, no read-ahead) over `source`; where the runtime has no byte
 * streams, a plain stream over the same source (which then never sees a BYOB request).
 */
export function byteStream(source: ByteStreamSource, byteStreams = BYTE_STREAMS): ReadableStream<Uint8Array> {
  if (byteStreams) {
    return new ReadableStream({
      type: "bytes",
      pull: (c) => source.pull(c),
      cancel: (r) => source.cancel(r),
    }) as ReadableStream<Uint8Array>;
  }
  return new ReadableStream<Uint8Array>(
    { pull: (c) => source.pull(c as unknown as ReadableByteStreamController), cancel: (r) => source.cancel(r) },
    { highWaterMark: 0 },
  );
}

/** Copies what fits of `piece` into a BYOB request's view and responds; returns what did not fit. */
export function respondWith(request: ReadableStreamBYOBRequest, piece: Uint8Array): Uint8Array | undefined {
  const view = request.view as Uint8Array;
  const n = Math.min(view.byteLength, piece.length);
  view.set(n === piece.length ? piece : piece.subarray(0, n));
  request.respond(n);
  return n < piece.length ? piece.subarray(n) : undefined;
}
