/** Byte-stream helpers shared by the Node tests. */

/** Everything a stream yields, as one array; a stream error rejects with that error itself. */
export async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  const r = stream.getReader();
  for (let x = await r.read(); !x.done; x = await r.read()) {
    parts.push(x.value);
    n += x.value.length;
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `data` in uneven pieces (a prime size by default), as a network stream delivers it. */
export function streamOf(data: Uint8Array, piece = 7919): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= data.length) return c.close();
      c.enqueue(data.slice(at, at + piece));
      at += piece;
    },
  });
}

/**
 * `data` as a byte stream (`type: "bytes"`) answering each read with at most `piece` bytes:
 * BYOB reads are filled in place (their view sizes pushed to `views` when given), default
 * readers get copies.
 */
export function byteStreamOf(data: Uint8Array, piece: number, views?: number[]): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    type: "bytes",
    pull(c) {
      const request = c.byobRequest;
      if (at >= data.length) {
        c.close();
        request?.respond(0);
        return;
      }
      if (!request) {
        c.enqueue(data.slice(at, at + piece));
        at += piece;
        return;
      }
      const view = request.view as Uint8Array;
      views?.push(view.byteLength);
      const n = Math.min(view.byteLength, piece, data.length - at);
      view.set(data.subarray(at, at + n));
      at += n;
      request.respond(n);
    },
  }) as ReadableStream<Uint8Array>;
}
