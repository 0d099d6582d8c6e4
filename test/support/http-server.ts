/**
 * A fault-injecting blob server on 127.0.0.1 for HttpSource and lazy-read tests. It serves byte
 * blobs with single- and multi-range support like a real server (multipart/byteranges in Go's
 * layout), and each path can be told to misbehave: ignore Range, refuse or merge multi-range
 * requests, fail the first N range requests (5xx, connection reset, cut body), lie in
 * Content-Range or Content-Length, or redirect to another server. Every request is logged with
 * its headers so tests can assert what went over the wire.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type TransientFault = "500" | "503" | "reset" | "reset-mid-body" | "short-body" | "stall-mid-body";

export interface BlobBehaviour {
  /** Answer every GET with 200 and the whole blob (a server without Range support). */
  ignoreRange?: boolean;
  /** Answer multi-range requests with this status (400 or 416) instead of multipart. */
  refuseMultiRange?: 400 | 416 | 501;
  /** Answer multi-range requests with one 206 covering all of them. */
  mergeMultiRange?: boolean;
  /** The first `times` range GETs fail this way, then the server behaves. */
  transient?: { fault: TransientFault; times: number };
  /** Content-Range shifted by one byte. */
  wrongContentRange?: boolean;
  /** Content-Length one more than the range. */
  wrongContentLength?: boolean;
  /** Multipart parts with a Content-Range for other bytes than sent. */
  badMultipart?: "wrong-range" | "no-boundary-end" | "garbage";
  /** Answer with a 302 to this URL (its `?` part kept). */
  redirectTo?: string;
  /** HEAD gives 405. */
  noHead?: boolean;
  /** Never answer ("headers"), or send the headers and half the body, then nothing ("body"). */
  stall?: "headers" | "body";
  /** Multi-range requests with more ranges than this get a 400 (a server's cap on ranges). */
  maxRanges?: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
  status?: number;
}

interface Entry {
  blob: Uint8Array;
  behaviour: BlobBehaviour;
}

export class FaultServer {
  readonly log: LoggedRequest[] = [];
  readonly #blobs = new Map<string, Entry>();
  #server: Server | undefined;
  #base = "";

  /** Starts listening on an ephemeral port of 127.0.0.1. */
  static async start(): Promise<FaultServer> {
    const s = new FaultServer();
    const server = createServer((req, res) => s.#handle(req, res));
    // Node closes idle keep-alive connections after 5 s; a client reusing one at that moment
    // sees a reset and retries, which would add a request to counts the tests assert exactly.
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    s.#server = server;
    s.#base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return s;
  }

  /** Serves `blob` at `path` (e.g. "/layer") with `behaviour`; returns its URL. */
  serve(path: string, blob: Uint8Array, behaviour: BlobBehaviour = {}): string {
    this.#blobs.set(path, { blob, behaviour: { ...behaviour, ...(behaviour.transient ? { transient: { ...behaviour.transient } } : {}) } });
    return this.#base + path;
  }

  /** Stops serving `path` (it answers 404 from now on). */
  unserve(path: string): void {
    this.#blobs.delete(path);
  }

  url(path: string): string {
    return this.#base + path;
  }

  /** Logged requests for `path`. */
  requestsFor(path: string): LoggedRequest[] {
    return this.log.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0]!;
    const logged: LoggedRequest = { method: req.method ?? "", path };
    if (req.headers.range !== undefined) logged.range = req.headers.range;
    if (req.headers.authorization !== undefined) logged.authorization = req.headers.authorization;
    this.log.push(logged);
    const send = (status: number, headers: Record<string, string>, body?: Uint8Array) => {
      logged.status = status;
      res.writeHead(status, headers);
      res.end(body);
    };
    const entry = this.#blobs.get(path);
    if (!entry) return send(404, {}, new TextEncoder().encode("not found"));
    const { blob, behaviour: b } = entry;
    if (b.redirectTo) return send(302, { location: b.redirectTo });
    if (b.stall === "headers") {
      logged.status = -1;
      return; // the connection stays open and silent until the server closes
    }
    if (req.method === "HEAD") {
      if (b.noHead) return send(405, {});
      return send(200, { "content-length": String(blob.length), "accept-ranges": "bytes" });
    }
    const ranges = parseRangeHeader(req.headers.range, blob.length);
    if (b.ignoreRange || ranges === undefined) return send(200, { "content-length": String(blob.length) }, blob);
    if (ranges === "unsatisfiable") return send(416, { "content-range": `bytes */${blob.length}` });
    if (b.maxRanges !== undefined && ranges.length > b.maxRanges) return send(400, {}, new TextEncoder().encode("too many ranges"));
    if (b.stall === "body") {
      const a = this.#answer(blob, ranges, b);
      logged.status = -1;
      res.writeHead(a.status, a.headers);
      res.write(a.body.subarray(0, a.body.length >> 1));
      return;
    }

    if (b.transient && b.transient.times > 0) {
      b.transient.times--;
      logged.status = -1;
      switch (b.transient.fault) {
        case "500":
        case "503":
          return send(Number(b.transient.fault), {}, new TextEncoder().encode("try again"));
        case "reset":
          req.socket.destroy();
          return;
        case "stall-mid-body": {
          const a = this.#answer(blob, ranges, b);
          res.writeHead(a.status, a.headers);
          res.write(a.body.subarray(0, a.body.length >> 1));
          return;
        }
        case "reset-mid-body":
        case "short-body": {
          // The answer the server would give, cut in half.
          const normal = this.#answer(blob, ranges, b);
          const headers = { ...normal.headers };
          delete headers["content-length"];
          if (b.transient.fault === "reset-mid-body") {
            // Announce the full length, send half, drop the connection.
            res.writeHead(normal.status, { ...headers, "content-length": String(normal.body.length) });
            res.write(normal.body.subarray(0, normal.body.length >> 1), () => req.socket.destroy());
          } else {
            // Chunked body that ends cleanly but short of what the headers promise.
            res.writeHead(normal.status, headers);
            res.end(normal.body.subarray(0, normal.body.length >> 1));
          }
          return;
        }
      }
    }
    if (ranges.length === 1 && b.wrongContentLength) {
      const [r] = ranges;
      logged.status = 206;
      res.writeHead(206, {
        "content-range": `bytes ${r!.start}-${r!.end}/${blob.length}`,
        "content-length": String(r!.end - r!.start + 2),
      });
      res.write(blob.subarray(r!.start, r!.end + 1), () => req.socket.destroy());
      return;
    }
    const a = this.#answer(blob, ranges, b);
    send(a.status, a.headers, a.body);
  }

  /** What a well-behaved server answers (with the content faults of `b` applied). */
  #answer(blob: Uint8Array, ranges: ByteSpan[], b: BlobBehaviour): { status: number; headers: Record<string, string>; body: Uint8Array } {
    if (ranges.length > 1) {
      if (b.refuseMultiRange) return { status: b.refuseMultiRange, headers: {}, body: new Uint8Array(0) };
      if (b.mergeMultiRange) {
        const start = Math.min(...ranges.map((r) => r.start));
        const end = Math.max(...ranges.map((r) => r.end));
        return {
          status: 206,
          headers: { "content-range": `bytes ${start}-${end}/${blob.length}`, "content-length": String(end - start + 1) },
          body: blob.subarray(start, end + 1),
        };
      }
      return this.#multipart(blob, ranges, b);
    }
    const [r] = ranges;
    const shift = b.wrongContentRange ? 1 : 0;
    const body = blob.subarray(r!.start, r!.end + 1);
    return {
      status: 206,
      headers: { "content-range": `bytes ${r!.start + shift}-${r!.end + shift}/${blob.length}`, "content-length": String(body.length) },
      body,
    };
  }

  #multipart(
    blob: Uint8Array,
    ranges: ByteSpan[],
    b: BlobBehaviour,
  ): { status: number; headers: Record<string, string>; body: Uint8Array } {
    const boundary = "3d6b6a416f9b5layerkit";
    const enc = new TextEncoder();
    const parts: Uint8Array[] = [];
    ranges.forEach((r, i) => {
      const shown = b.badMultipart === "wrong-range" ? { start: r.start + 1, end: r.end + 1 } : r;
      // Go's mime/multipart layout: CRLF before every delimiter but the first.
      parts.push(
        enc.encode(
          `${
            i > 0 ? "\r\n" : ""
          }--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${shown.start}-${shown.end}/${blob.length}\r\n\r\n`,
        ),
      );
      parts.push(blob.subarray(r.start, r.end + 1));
    });
    if (b.badMultipart === "garbage") parts.push(enc.encode("\r\nnot a boundary line\r\n"));
    else if (b.badMultipart !== "no-boundary-end") parts.push(enc.encode(`\r\n--${boundary}--\r\n`));
    const body = Buffer.concat(parts);
    return {
      status: 206,
      headers: { "content-type": `multipart/byteranges; boundary=${boundary}`, "content-length": String(body.length) },
      body,
    };
  }
}

interface ByteSpan {
  start: number;
  end: number;
}

/** `bytes=a-b,c-d,...` → spans clamped to the blob; undefined when absent or malformed. */
function parseRangeHeader(h: string | undefined, size: number): ByteSpan[] | "unsatisfiable" | undefined {
  if (!h) return undefined;
  const m = /^bytes=(.+)$/.exec(h.trim());
  if (!m) return undefined;
  const out: ByteSpan[] = [];
  for (const spec of m[1]!.split(",")) {
    const suffix = /^\s*-(\d+)\s*$/.exec(spec);
    if (suffix) {
      const n = Number(suffix[1]);
      if (n > 0 && size > 0) out.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const r = /^\s*(\d+)-(\d*)\s*$/.exec(spec);
    if (!r) return undefined;
    const start = Number(r[1]);
    const end = r[2] === "" ? size - 1 : Math.min(Number(r[2]), size - 1);
    if (start >= size || end < start) continue;
    out.push({ start, end });
  }
  return out.length === 0 ? "unsatisfiable" : out;
}
