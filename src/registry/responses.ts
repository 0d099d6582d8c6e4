/**
 * Checks on registry responses shared by pulls, pushes and auth: status → typed error (with the
 * registry's error codes), `Docker-Content-Digest`, `Content-Length`, bounded bodies, and blob
 * bodies whose network errors become `TRUNCATED`.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { isDigest } from "../layer/digest.js";
import { readAllLimited } from "../oci/verify.js";
import { parseJsonLimited } from "../util/json-limits.js";

/** Largest error body we read to report the registry's error codes. */
const MAX_ERROR_BODY = 64 * 1024;

/** Throws for any status not in `ok`: 404 → `NOT_FOUND`, 401/403 → `UNAUTHORIZED`, else `HTTP`. */
export async function expectStatus(res: Response, ok: readonly number[], what: string): Promise<void> {
  if (ok.includes(res.status)) return;
  const details = { url: res.url, status: res.status, ...(await errorDetails(res)) };
  if (res.status === 404) throw new LayerkitError("NOT_FOUND", `${what}: not found`, details);
  if (res.status === 401 || res.status === 403) {
    throw new LayerkitError("UNAUTHORIZED", `${what}: access denied (HTTP ${res.status})`, details);
  }
  throw new LayerkitError("HTTP", `${what}: HTTP ${res.status}`, details);
}

/** The `Docker-Content-Digest` header when present; a malformed one is an `HTTP` error. */
export function contentDigest(res: Response): string | undefined {
  const v = res.headers.get("docker-content-digest");
  if (v === null) return undefined;
  if (!isDigest(v.trim())) {
    throw new LayerkitError("HTTP", `registry sent a malformed Docker-Content-Digest ${JSON.stringify(v.slice(0, 100))}`, {
      url: res.url,
      digest: v.slice(0, 100),
    });
  }
  return v.trim();
}

/** `Content-Length` as a number, undefined when absent; malformed is an `HTTP` error. */
export function contentLength(res: Response): number | undefined {
  const v = res.headers.get("content-length");
  if (v === null) return undefined;
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n)) {
    throw new LayerkitError("HTTP", `malformed Content-Length ${JSON.stringify(v.slice(0, 40))}`, { url: res.url });
  }
  return n;
}

/** The body as a stream whose non-layerkit errors (reset, short body) become `TRUNCATED`. */
export function bodyStream(res: Response, what: Record<string, unknown>): ReadableStream<Uint8Array> {
  const body = res.body;
  if (!body) return new ReadableStream({ start: (c) => c.close() });
  const reader = body.getReader();
  let n = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          controller.error(
            e instanceof LayerkitError
              ? e
              : new LayerkitError("TRUNCATED", `response body broke off after ${n} bytes: ${(e as Error)?.message ?? e}`, {
                ...what,
                got: n,
              }, { cause: e }),
          );
          return;
        }
        if (r.done) controller.close();
        else {
          n += r.value.length;
          controller.enqueue(r.value);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** The whole body, refusing one larger than `max` (by `Content-Length` or as it arrives). */
export async function readBodyLimited(res: Response, max: number, what: string): Promise<Uint8Array> {
  const declared = res.headers.get("content-length");
  if (declared !== null && Number(declared) > max) {
    await res.body?.cancel().catch(() => {});
    throw new LayerkitError("LIMIT_EXCEEDED", `${what} is larger than ${max} bytes`, { size: Number(declared), maxBytes: max });
  }
  if (!res.body) return new Uint8Array(0);
  return readAllLimited(res.body, max, { what });
}

/** The registry's error codes from an error response body (`{"errors":[{"code","message"}]}`), best effort. */
export async function errorDetails(res: Response): Promise<Record<string, unknown>> {
  try {
    const bytes = await readBodyLimited(res, MAX_ERROR_BODY, "error response");
    const doc = parseJsonLimited(bytes, { maxBytes: MAX_ERROR_BODY, maxDepth: 8, code: "HTTP", what: "error response" }) as {
      errors?: { code?: unknown; message?: unknown }[];
    } | null;
    if (Array.isArray(doc?.errors)) {
      return {
        errors: doc.errors.slice(0, 10).map((e) => ({ code: String(e?.code ?? ""), message: String(e?.message ?? "").slice(0, 500) })),
      };
    }
  } catch {
    /* not a registry error document */
  }
  return {};
}
