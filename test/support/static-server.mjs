/**
 * A tiny node:http server on 127.0.0.1 (random port) for the runners: routes are a function of the
 * request path, files are served with single- and multi-range `Range` support, and every request
 * is logged (method, path, range, status, body bytes) so tests can assert what a client fetched.
 */
import { Buffer } from "node:buffer";
import { createServer } from "node:http";

/**
 * @typedef {{ method: string, path: string, range?: string, status: number, bytes: number }} LogEntry
 * @typedef {{ status?: number, type: string, body: Uint8Array | string, ranges?: boolean }} Reply
 */

const RANGE = /^bytes=(\d*)-(\d*)$/;

/** Parse `Range: bytes=a-b[,c-d…]` against `size`; undefined when unsatisfiable or malformed. */
export function parseRanges(header, size) {
  const out = [];
  for (const spec of header.replace(/^bytes=/, "").split(",")) {
    const m = RANGE.exec(`bytes=${spec.trim()}`);
    if (!m || (m[1] === "" && m[2] === "")) return undefined;
    let start, end;
    if (m[1] === "") {
      start = Math.max(0, size - Number(m[2]));
      end = size - 1;
    } else {
      start = Number(m[1]);
      end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    }
    if (start > end || start >= size) return undefined;
    out.push([start, end]);
  }
  return out.length ? out : undefined;
}

/**
 * Start serving. `route(path, req)` returns a {@link Reply} or undefined (404). Replies with
 * `ranges: true` honour `Range` (206, multipart/byteranges for several ranges, 416).
 * @param {(path: string, req: import("node:http").IncomingMessage) => Reply | undefined | Promise<Reply | undefined>} route
 * @returns {Promise<{ origin: string, log: LogEntry[], close(): Promise<void> }>}
 */
export function serveHttp(route) {
  const log = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const entry = { method: req.method, path, status: 0, bytes: 0 };
    if (req.headers.range) entry.range = req.headers.range;
    log.push(entry);
    const send = (status, headers, body) => {
      entry.status = status;
      const bytes = typeof body === "string" ? Buffer.from(body) : body;
      entry.bytes = req.method === "HEAD" ? 0 : bytes.length;
      res.writeHead(status, { "cache-control": "no-store", "content-length": String(bytes.length), ...headers });
      res.end(req.method === "HEAD" ? undefined : bytes);
    };
    let reply;
    try {
      reply = await route(path, req);
    } catch (e) {
      return send(500, { "content-type": "text/plain" }, String(e?.stack ?? e));
    }
    if (!reply) return send(404, { "content-type": "text/plain" }, "not found");
    const body = typeof reply.body === "string"
      ? Buffer.from(reply.body)
      : Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.length);
    const headers = { "content-type": reply.type };
    if (reply.ranges) headers["accept-ranges"] = "bytes";
    if (!reply.ranges || !req.headers.range || reply.status) return send(reply.status ?? 200, headers, body);
    const ranges = parseRanges(req.headers.range, body.length);
    if (!ranges) return send(416, { ...headers, "content-range": `bytes */${body.length}` }, "");
    if (ranges.length === 1) {
      const [a, b] = ranges[0];
      return send(206, { ...headers, "content-range": `bytes ${a}-${b}/${body.length}` }, body.subarray(a, b + 1));
    }
    const boundary = "layerkit-e2e-boundary";
    const parts = [];
    for (const [a, b] of ranges) {
      parts.push(Buffer.from(`--${boundary}\r\ncontent-type: ${reply.type}\r\ncontent-range: bytes ${a}-${b}/${body.length}\r\n\r\n`));
      parts.push(body.subarray(a, b + 1), Buffer.from("\r\n"));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    return send(206, { "content-type": `multipart/byteranges; boundary=${boundary}` }, Buffer.concat(parts));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () =>
      resolve({
        origin: `http://127.0.0.1:${server.address().port}`,
        log,
        close: () => new Promise((r) => server.close(() => r())),
      }));
  });
}
