/**
 * The blob server of the conformance runners: an in-memory store on 127.0.0.1 that the suite,
 * running inside a runtime, fills with the layers it created (`PUT /blobs/<name>`) and then reads
 * back through layerkit's HttpSource (`GET`/`HEAD` with single and multi-range `Range`, see
 * ./static-server.mjs). The browser runner mounts {@link blobRoute} on its page server (same
 * origin, so no CORS); the other runners start their own with {@link serveBlobs}.
 */
import { Buffer } from "node:buffer";
import { serveHttp } from "./static-server.mjs";

const BLOB_PATH = /^\/blobs\/([A-Za-z0-9._-]{1,200})$/;
/** Most bytes the store keeps (the suite's layers are a few MiB; a runaway case fails instead). */
const MAX_STORED = 256 << 20;

/** Reads a request body, refusing more than `max` bytes. */
function readBody(req, max) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let n = 0;
    req.on("data", (d) => {
      n += d.length;
      if (n > max) {
        req.destroy();
        reject(new Error(`request body over ${max} bytes`));
      } else parts.push(d);
    });
    req.on("end", () => resolve(new Uint8Array(Buffer.concat(parts))));
    req.on("error", reject);
  });
}

/**
 * A route for {@link serveHttp}: `PUT /blobs/<name>` stores the body (201), `GET`/`HEAD` serve
 * it with ranges, `DELETE` drops it; anything else under /blobs/ is 404/405. Returns undefined
 * for paths outside /blobs/ so callers can chain their own routes.
 * @returns {(path: string, req: import("node:http").IncomingMessage) => Promise<import("./static-server.mjs").Reply | undefined>}
 */
export function blobRoute() {
  const store = new Map();
  const stored = () => [...store.values()].reduce((n, b) => n + b.length, 0);
  return async (path, req) => {
    const m = BLOB_PATH.exec(path);
    if (!m) return undefined;
    const name = m[1];
    if (req.method === "PUT") {
      store.delete(name);
      store.set(name, await readBody(req, MAX_STORED - stored()));
      return { status: 201, type: "text/plain", body: "" };
    }
    if (req.method === "DELETE") {
      store.delete(name);
      return { status: 204, type: "text/plain", body: "" };
    }
    if (req.method !== "GET" && req.method !== "HEAD") return { status: 405, type: "text/plain", body: "method not allowed" };
    const body = store.get(name);
    return body ? { type: "application/octet-stream", body, ranges: true } : undefined;
  };
}

/**
 * Start a blob server of its own on 127.0.0.1 (random port).
 * @returns {Promise<{ origin: string, log: import("./static-server.mjs").LogEntry[], close(): Promise<void> }>}
 */
export function serveBlobs() {
  return serveHttp(blobRoute());
}
