/**
 * Blob uploads (distribution spec "push"): a cross-repository mount attempt, then either one
 * monolithic `PUT` (the blob fits in one chunk) or `PATCH` chunks with `Content-Range` and a
 * closing `PUT ?digest=`. Memory stays bounded by the chunk size; the digest and size are
 * computed as the bytes go and checked against what the caller expected before the upload is
 * committed, and against the registry's `Docker-Content-Digest` after.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import type { Sha256Factory } from "../layer/digest.js";
import { type ByteSource, concatBytes, iterateSource } from "../util/bytes.js";
import { contentDigest, contentLength, expectStatus } from "./responses.js";
import type { RegistryTransport } from "./transport.js";

export interface PushBlobOptions {
  /** The blob's digest when known: lets an existing blob or a mount skip the upload, and is checked. */
  digest?: string;
  /** The blob's size when known (checked). */
  size?: number;
  /** Largest request body (default 8 MiB): blobs up to this go in one `PUT`, larger ones in `PATCH` chunks. */
  chunkSize?: number;
  /** Repository to mount the blob from (needs `digest`); falls back to uploading when the registry declines. */
  mountFrom?: string;
}

/** How a blob got into the repository. */
export interface PushBlobResult {
  digest: string;
  size: number;
  how: "existed" | "mounted" | "monolithic" | "chunked";
  /** Requests the upload took (PATCHes included). */
  requests: number;
}

const DEFAULT_CHUNK = 8 * 1024 * 1024;
const RANGE_RE = /^(?:bytes=)?0-(\d+)$/;

/** Pushes one blob to `repository`; see the module doc. */
export async function pushBlob(
  t: RegistryTransport,
  sha: Sha256Factory,
  repository: string,
  data: ByteSource,
  options: PushBlobOptions = {},
): Promise<PushBlobResult> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new LayerkitError("BAD_ARGUMENT", `invalid chunk size ${chunkSize}`, { chunkSize });
  }
  const scopes = [`repository:${repository}:pull,push`];
  const before = t.requests;
  const cancel = async (): Promise<void> => {
    const s = data as ReadableStream<Uint8Array>;
    if (typeof s?.getReader === "function" && !s.locked) await s.cancel().catch(() => {});
  };

  let location: URL | undefined;
  if (options.digest !== undefined) {
    if (options.mountFrom !== undefined) {
      const url = t.url(`/v2/${repository}/blobs/uploads/`);
      url.searchParams.set("mount", options.digest);
      url.searchParams.set("from", options.mountFrom);
      const res = await t.request(url, { method: "POST", scopes: [...scopes, `repository:${options.mountFrom}:pull`] });
      if (res.status === 201) {
        await res.body?.cancel().catch(() => {});
        const got = contentDigest(res);
        if (got !== undefined && got !== options.digest) {
          throw new LayerkitError("DIGEST_MISMATCH", `registry mounted ${got}, asked for ${options.digest}`, {
            expected: options.digest,
            got,
          });
        }
        await cancel();
        const size = options.size ?? (await blobSize(t, repository, options.digest, scopes));
        return { digest: options.digest, size, how: "mounted", requests: t.requests - before };
      }
      await expectStatus(res, [202], `mount ${options.digest} from ${options.mountFrom}`);
      await res.body?.cancel().catch(() => {});
      location = uploadLocation(res, t.origin);
    } else {
      const res = await t.request(t.url(`/v2/${repository}/blobs/${options.digest}`), { method: "HEAD", scopes });
      await res.body?.cancel().catch(() => {});
      if (res.status === 200) {
        const len = contentLength(res);
        if (len !== undefined && (options.size === undefined || len === options.size)) {
          await cancel();
          return { digest: options.digest, size: len, how: "existed", requests: t.requests - before };
        }
      }
    }
  }
  if (!location) {
    const res = await t.request(t.url(`/v2/${repository}/blobs/uploads/`), { method: "POST", scopes });
    await expectStatus(res, [202], `start upload to ${repository}`);
    await res.body?.cancel().catch(() => {});
    location = uploadLocation(res, t.origin);
  }

  const hasher = sha();
  let size = 0;
  let how: PushBlobResult["how"] = "monolithic";
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    const body = concatBytes(pending);
    pending = [];
    pendingBytes = 0;
    const start = size - body.length;
    const end = size - 1;
    const res = await t.request(location!, {
      method: "PATCH",
      scopes,
      body,
      headers: { "content-type": "application/octet-stream", "content-range": `${start}-${end}`, "content-length": String(body.length) },
    });
    await expectStatus(res, [202], `upload chunk ${start}-${end} to ${repository}`);
    await res.body?.cancel().catch(() => {});
    const range = res.headers.get("range");
    const m = range === null ? null : RANGE_RE.exec(range.trim());
    if (!m || Number(m[1]) !== end) {
      throw new LayerkitError("HTTP", `registry acknowledged range ${JSON.stringify(range)} after a chunk ending at ${end}`, {
        url: location!.href,
        range,
        expectedEnd: end,
      });
    }
    location = uploadLocation(res, t.origin);
  };

  try {
    for await (const piece of iterateSource(data)) {
      for (let off = 0; off < piece.length;) {
        const take = Math.min(piece.length - off, chunkSize - pendingBytes);
        const part = piece.subarray(off, off + take);
        off += take;
        size += part.length;
        if (options.size !== undefined && size > options.size) {
          throw new LayerkitError("SIZE_MISMATCH", `blob is longer than its expected ${options.size} bytes`, {
            expected: options.size,
            got: size,
          });
        }
        hasher.update(part);
        pending.push(part);
        pendingBytes += part.length;
        if (pendingBytes === chunkSize) {
          how = "chunked";
          await flush();
        }
      }
    }
    const digest = "sha256:" + hasher.hex();
    if (options.size !== undefined && size !== options.size) {
      throw new LayerkitError("SIZE_MISMATCH", `blob has ${size} bytes, expected ${options.size}`, { expected: options.size, got: size });
    }
    if (options.digest !== undefined && digest !== options.digest) {
      throw new LayerkitError("DIGEST_MISMATCH", `blob content has digest ${digest}, expected ${options.digest}`, {
        expected: options.digest,
        got: digest,
        size,
      });
    }
    if (how === "chunked" && pendingBytes > 0) await flush();
    const body = how === "monolithic" ? concatBytes(pending) : new Uint8Array(0);
    const url = new URL(location);
    url.searchParams.set("digest", digest);
    const res = await t.request(url, {
      method: "PUT",
      scopes,
      body,
      headers: { "content-type": "application/octet-stream", "content-length": String(body.length) },
    });
    await expectStatus(res, [201], `commit upload of ${digest} to ${repository}`);
    await res.body?.cancel().catch(() => {});
    const got = contentDigest(res);
    if (got !== undefined && got !== digest) {
      throw new LayerkitError("DIGEST_MISMATCH", `registry stored ${got}, we sent ${digest}`, { expected: digest, got });
    }
    return { digest, size, how, requests: t.requests - before };
  } catch (e) {
    await cancel();
    // Abandon the upload session so the registry does not keep the partial data.
    if (location) await t.request(location, { method: "DELETE", scopes }).then((r) => r.body?.cancel(), () => {}).catch(() => {});
    throw e;
  }
}

/** The upload session URL from `Location` (relative to the registry origin when the response has no URL). */
function uploadLocation(res: Response, origin: string): URL {
  const loc = res.headers.get("location");
  if (!loc) throw new LayerkitError("HTTP", `upload response without a Location header`, { url: res.url, status: res.status });
  try {
    const u = new URL(loc, res.url || origin);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(u.protocol);
    return u;
  } catch {
    throw new LayerkitError("HTTP", `upload response has an invalid Location ${JSON.stringify(loc.slice(0, 200))}`, { url: res.url });
  }
}

async function blobSize(t: RegistryTransport, repository: string, digest: string, scopes: string[]): Promise<number> {
  const res = await t.request(t.url(`/v2/${repository}/blobs/${digest}`), { method: "HEAD", scopes });
  await res.body?.cancel().catch(() => {});
  await expectStatus(res, [200], `blob ${digest}`);
  const n = contentLength(res);
  if (n === undefined) throw new LayerkitError("HTTP", `HEAD ${digest} gave no Content-Length`, { url: res.url });
  return n;
}
