/**
 * An edge worker (Cloudflare Workers / workerd) serving single files out of OCI layers, read
 * lazily and verified before a byte is sent:
 *
 *   GET /<url-encoded layer URL>/<path in the layer>[?annotations=<url-encoded JSON>]
 *   GET /<layer name>/<path>      when LAYER_ORIGIN is configured (the layer is LAYER_ORIGIN/<name>;
 *                                 arbitrary URLs are then refused, so the worker is no open proxy)
 *
 * The worker fetches the layer's TOC (zstd:chunked or eStargz; cached per isolate), then only the
 * byte ranges of the wanted file, checks every chunk digest and the file digest against the TOC
 * (and the TOC against `annotations` when given), and answers:
 *   200 with the bytes (ETag = the file's digest), 404 (JSON) when the path is not in the layer,
 *   400 (JSON) for a bad request (no path, a directory, a path climbing out), 413 (JSON) for a
 *   file over MAX_FILE_SIZE (it would have to be held in memory to be verified first), 403 (JSON)
 *   for a layer on a private or loopback address without ALLOW_PRIVATE, 502 (JSON
 *   `{ error: { code, message, details } }`) when the layer cannot be read or fails verification.
 *
 * Private origins: workerd's default outbound network reaches only public addresses, and a worker
 * that fetches any URL it is given must not become a way into the network it runs in. So a layer
 * URL whose host is a loopback, private (RFC 1918, fc00::/7), link-local or `localhost` address is
 * refused up front with 403, unless ALLOW_PRIVATE is "1" — set by `build.mjs --allow-private`,
 * which also gives the worker an outbound network that allows private addresses (local testing).
 *
 * @module
 */
import zstd from "../../wasm/zstd.wasm";
import sha256 from "../../wasm/sha256.wasm";
// In an application: `from "layerkit"` (the "workerd" condition picks this entry) and
// "layerkit/wasm/zstd.wasm" / "layerkit/wasm/sha256.wasm" for the modules above.
import { HttpSource, init, isLayerkitError, LayerkitError, normalizeLayerPath } from "../../src/runtime/workerd.js";
import { type LayerView, openLayer } from "../shared/layer.js";

init({ zstd, sha256 });

export interface Env {
  /** Serve only layers under this origin/prefix (e.g. `https://layers.example.com/blobs`). */
  LAYER_ORIGIN?: string;
  /** Largest file served, in bytes (default 64 MiB: the file is verified in memory before sending). */
  MAX_FILE_SIZE?: string;
  /** "1": layers on private/loopback addresses may be fetched (needs a workerd network allowing them). */
  ALLOW_PRIVATE?: string;
}

/** Hosts workerd's public network cannot reach (literal addresses and `localhost` only: no DNS here). */
export function isPrivateHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h.endsWith(".localhost") || h === "::1" || h === "::" || /^(fc|fd|fe[89ab])[0-9a-f]{0,2}:/.test(h)) return true;
  const m = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(h);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a === 127 || a === 10 || a === 0 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 169 && b === 254);
}

const USAGE = (env: Env): string =>
  env.LAYER_ORIGIN
    ? `GET /<layer name>/<path>[?annotations=<JSON>]: one file of ${env.LAYER_ORIGIN}/<layer name>, verified\n`
    : "GET /<url-encoded layer URL>/<path>[?annotations=<JSON>]: one file of the layer, verified\n";
const DEFAULT_MAX_FILE = 64 << 20;
/** TOCs kept per isolate (layer URL + annotations), least recently used dropped first. */
const CACHE_SIZE = 16;
const views = new Map<string, Promise<LayerView>>();

/** The layer URL, the path in it and the annotations a request names; throws BAD_ARGUMENT. */
export function parseRequest(url: URL, env: Env): { layer: string; path: string; annotations?: Record<string, string> } {
  const m = /^\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (!m) throw new LayerkitError("BAD_ARGUMENT", "expected GET /<layer>/<path>", { path: url.pathname });
  const first = decodeURIComponent(m[1]!);
  const path = m[2]!.split("/").map(decodeURIComponent).join("/");
  let layer: string;
  if (env.LAYER_ORIGIN) {
    if (first.includes("/") || first === "." || first === "..") {
      throw new LayerkitError("BAD_ARGUMENT", "expected a layer name under the configured origin", { layer: first });
    }
    layer = `${env.LAYER_ORIGIN.replace(/\/+$/, "")}/${encodeURIComponent(first)}`;
  } else {
    if (!/^https?:\/\//i.test(first)) {
      throw new LayerkitError("BAD_ARGUMENT", "the first path segment must be an url-encoded http(s) layer URL", { layer: first });
    }
    layer = first;
  }
  const host = new URL(layer).hostname;
  if (env.ALLOW_PRIVATE !== "1" && isPrivateHost(host)) {
    throw new LayerkitError(
      "BAD_ARGUMENT",
      `the layer is on a private address (${host}); this worker fetches public origins only. For local testing build it with \`node examples/edge/build.mjs --allow-private\` (sets ALLOW_PRIVATE=1 and a workerd network allowing private addresses)`,
      { host, status: 403 },
    );
  }
  const raw = url.searchParams.get("annotations");
  if (raw === null) return { layer, path };
  let annotations: unknown;
  try {
    annotations = JSON.parse(raw);
  } catch {
    throw new LayerkitError("BAD_ARGUMENT", "annotations is not JSON", {});
  }
  if (
    typeof annotations !== "object" || annotations === null || Array.isArray(annotations) ||
    !Object.values(annotations).every((v) => typeof v === "string")
  ) {
    throw new LayerkitError("BAD_ARGUMENT", "annotations must be a JSON object of strings", {});
  }
  return { layer, path, annotations: annotations as Record<string, string> };
}

function view(layer: string, annotations: Record<string, string> | undefined): Promise<LayerView> {
  const key = JSON.stringify([layer, annotations ?? null]);
  let v = views.get(key);
  if (v) {
    views.delete(key); // re-insert as most recently used
  } else {
    v = openLayer(new HttpSource(layer), annotations);
    v.catch(() => views.delete(key));
  }
  views.set(key, v);
  while (views.size > CACHE_SIZE) views.delete(views.keys().next().value!);
  return v;
}

function statusOf(e: unknown): number {
  if (!isLayerkitError(e)) return 500;
  if (e.details.status === 403) return 403;
  if (e.code === "NOT_FOUND") return 404;
  if (e.code === "BAD_ARGUMENT" || e.code === "UNSAFE_PATH") return 400;
  if (e.code === "LIMIT_EXCEEDED") return 413;
  return 502;
}

function errorResponse(e: unknown): Response {
  const error = isLayerkitError(e) ? e.toJSON() : { code: "INTERNAL", message: e instanceof Error ? e.message : String(e), details: {} };
  return Response.json({ error }, { status: statusOf(e), headers: { "cache-control": "no-store" } });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return Response.json({ error: { code: "BAD_ARGUMENT", message: "only GET and HEAD", details: {} } }, {
        status: 405,
        headers: { allow: "GET, HEAD" },
      });
    }
    const url = new URL(request.url);
    if (url.pathname === "/") return new Response(USAGE(env), { headers: { "content-type": "text/plain; charset=utf-8" } });
    try {
      const { layer, path, annotations } = parseRequest(url, env);
      const v = await view(layer, annotations);
      const max = Number(env.MAX_FILE_SIZE ?? DEFAULT_MAX_FILE);
      const want = normalizeLayerPath(path);
      const entry = v.entries.find((e) => normalizeLayerPath(e.name) === want);
      if (entry && entry.type === "reg" && entry.size > max) {
        throw new LayerkitError("LIMIT_EXCEEDED", `${path} is ${entry.size} bytes, over this worker's ${max}-byte limit`, {
          path,
          size: entry.size,
          max,
        });
      }
      const bytes = await v.readFile(path); // every chunk and the file digest checked first
      const digest = entry?.digest;
      return new Response(request.method === "HEAD" ? null : (bytes as Uint8Array<ArrayBuffer>), {
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(bytes.length),
          "x-layer-format": v.format,
          "x-toc-authenticated": String(v.authenticated),
          ...(digest ? { etag: `"${digest}"`, "x-content-digest": digest } : {}),
        },
      });
    } catch (e) {
      return errorResponse(e);
    }
  },
};
