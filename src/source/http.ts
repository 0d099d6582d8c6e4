/**
 * A {@link BlobSource} over an HTTP(S) URL, built to survive real servers and proxies. Every
 * request goes through the one HTTP client (../net/http-client.ts: redirects with credentials
 * kept to their origin, the redirect cache, the idle timeout, request counting) or, for registry
 * blobs, the registry transport on top of it.
 *
 * - Single reads use `Range: bytes=a-b`. A 206 must carry a `Content-Range` for exactly the range
 *   asked (else `HTTP`) and a body of exactly that length: shorter is `TRUNCATED` (retried),
 *   longer or a disagreeing `Content-Length` is `HTTP`.
 * - {@link HttpSource.readTail} learns the size and the last bytes with one suffix request
 *   (`Range: bytes=-N`, the size read from `Content-Range`), never a HEAD.
 * - A 200 to a range request means the server ignores `Range`: the source warns once
 *   ({@link HttpSourceOptions.onWarning}, {@link HttpSource.warnings}) and, when the blob's
 *   `Content-Length` is at most `maxFullBody` (default 128 MiB), keeps that one response and
 *   serves every later read from it (reading it forward only as far as needed), so the blob is
 *   downloaded once. A larger (or unsized) blob is never held: each read streams a 200 through,
 *   keeping only the asked-for bytes.
 * - {@link HttpSource.readRanges} coalesces ranges closer than `coalesceGap`, then asks for the
 *   spans in multi-range requests (`Range: bytes=a-b,c-d`, at most `maxRangesPerRequest`) and
 *   splits the `multipart/byteranges` answer (or a single 206 covering them all, or a 200, which
 *   then serves every remaining span). A 416 or 501 makes the source use single ranges for good;
 *   a 400 halves the ranges per request (servers cap them: c/storage asks for at most 1024).
 * - Transient failures (connection errors and resets, truncated bodies, stalls, 408/429/5xx) are
 *   retried a bounded number of times with exponential backoff (`retry` option).
 * - A 416 is `OUT_OF_RANGE`. Other statuses are `HTTP` errors with `details.status`.
 * - The size comes from the `size` option, from any `Content-Range` total or 200 length seen, or
 *   from `size()`'s `HEAD` (falling back to a `bytes=0-0` request when `HEAD` gives no length).
 * - `stats.requests` counts every HTTP request (redirect hops, retries, registry token requests
 *   included), `stats.bytes` every body byte received.
 *
 * Request bound: one attempt sends at most `1 + maxRedirects` requests (a registry blob: twice
 * that plus a token request, when it answers a challenge), an operation makes at most
 * `1 + retries` attempts per span, and `readRanges` of N spans at most N + 8 exchanges (the spans,
 * plus refused multi-range requests while the batch size halves). Each operation is checked
 * against that bound and fails with `LIMIT_EXCEEDED` past it, whatever the server does.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { discard, HttpClient, type HttpExchange, RequestBudget } from "../net/http-client.js";
import type { RetryPolicy } from "../net/retry.js";
import { ByteReader } from "../util/bytes.js";
import { type BlobSource, type ByteRange, checkRangeArgs, checkRangeInside, newStats, type SourceStats } from "./blob-source.js";
import { type CoalescedSpan, coalesceRanges, splitSpans } from "./coalesce.js";
import { FullBody } from "./full-body.js";
import { byterangesBoundary, parseContentRange, readByteranges } from "./multipart.js";

export { parseContentRange } from "./multipart.js";

/** Something a source noticed that costs the caller (printed once by the CLI). */
export interface SourceWarning {
  /** `RANGE_IGNORED`: the server answered a range request with 200 and the whole blob. */
  code: "RANGE_IGNORED";
  message: string;
  url: string;
  /** The blob size, when the server gave it. */
  size?: number;
  /** Whether the one full response is kept and serves the later reads. */
  kept: boolean;
}

export interface HttpSourceOptions {
  /** `fetch` to use (default: the global one); e.g. one that adds registry bearer tokens. */
  fetch?: typeof fetch;
  /** Extra request headers (e.g. `Authorization`; never sent across origins on redirects). */
  headers?: HeadersInit;
  /** The blob size when already known (e.g. from the OCI descriptor): saves a request. */
  size?: number;
  /** Aborts every request of this source. */
  signal?: AbortSignal;
  /** Retry policy for transient failures (default 3 retries, 100 ms doubling, at most 2 s). */
  retry?: Partial<RetryPolicy>;
  /** Ranges closer than this many bytes are fetched as one span (default 16 KiB). */
  coalesceGap?: number;
  /** A coalesced span never grows past this (default 16 MiB). */
  maxSpan?: number;
  /** Multi-range requests: `true` (default) tries them and falls back when refused; `false` never. */
  multiRange?: boolean;
  /** Most ranges in one multi-range request (default 64: keeps the header short). */
  maxRangesPerRequest?: number;
  /** Most redirects followed per request (default 10). */
  maxRedirects?: number;
  /** Send later GETs straight to where the last one was redirected (default true; see {@link HttpSource}). */
  cacheRedirects?: boolean;
  /** Longest wait for response headers or the next body piece, in ms (default 30,000; 0: none); then `TIMEOUT`. */
  idleTimeoutMs?: number;
  /** Largest blob whose one full response (from a server that ignores Range) is kept in memory (default 128 MiB). */
  maxFullBody?: number;
  /** Called once per source with each kind of {@link SourceWarning}. */
  onWarning?: (warning: SourceWarning) => void;
  /**
   * Where requests go (a registry transport's exchange, an {@link HttpClient} shared by several
   * sources); when given, `fetch`, `signal`, `retry`, `maxRedirects`, `cacheRedirects` and
   * `idleTimeoutMs` are its business.
   */
  exchange?: HttpExchange;
}

/** Answers to a multi-range request that mean "not supported here" (zot: 416, GHCR's CDN: 501). */
const MULTI_RANGE_OFF = new Set([416, 501]);
/** Exchanges a readRanges may spend on refused multi-range requests (the batch halves each time). */
const HALVINGS = 8;
const DEFAULT_MAX_FULL_BODY = 128 * 1024 * 1024;

export class HttpSource implements BlobSource {
  readonly stats: SourceStats = newStats();
  readonly url: string;
  /** Warnings so far (each kind once). */
  readonly warnings: SourceWarning[] = [];
  readonly #x: HttpExchange;
  readonly #headers: HeadersInit | undefined;
  readonly #gap: number;
  readonly #maxSpan: number;
  readonly #maxFull: number;
  readonly #onWarning: ((w: SourceWarning) => void) | undefined;
  #maxRanges: number;
  #multiRange: boolean;
  #size: number | undefined;
  #full: FullBody | undefined;

  constructor(url: string | URL, options: HttpSourceOptions = {}) {
    this.url = String(url);
    this.#x = options.exchange ??
      new HttpClient({
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.retry ? { retry: options.retry } : {}),
        ...(options.maxRedirects !== undefined ? { maxRedirects: options.maxRedirects } : {}),
        ...(options.cacheRedirects !== undefined ? { cacheRedirects: options.cacheRedirects } : {}),
        ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
      });
    this.#headers = options.headers;
    this.#gap = count(options.coalesceGap, 16 * 1024, "coalesceGap");
    this.#maxSpan = count(options.maxSpan, 16 * 1024 * 1024, "maxSpan");
    this.#maxRanges = Math.max(1, count(options.maxRangesPerRequest, 64, "maxRangesPerRequest"));
    this.#maxFull = count(options.maxFullBody, DEFAULT_MAX_FULL_BODY, "maxFullBody");
    this.#multiRange = options.multiRange ?? true;
    this.#onWarning = options.onWarning;
    if (options.size !== undefined) this.#size = count(options.size, 0, "size");
  }

  /** False once the server refused multi-range requests (then only single ranges are sent). */
  get multiRange(): boolean {
    return this.#multiRange && this.#maxRanges > 1;
  }

  /** The blob size when known without a request (given, or learnt from an answer). */
  get knownSize(): number | undefined {
    return this.#size;
  }

  /** Lets go of a kept full response (a Range-ignoring server's), closing its connection. */
  async close(): Promise<void> {
    const full = this.#full;
    this.#full = undefined;
    await full?.close();
  }

  /** The most requests one operation of `units` exchanges may send (see the module doc). */
  requestBound(units = 1): number {
    return units * this.#x.attempts * this.#x.requestsPerAttempt;
  }

  async size(): Promise<number> {
    if (this.#size !== undefined) return this.#size;
    const budget = this.#budget(2, "size");
    return this.#x.retry(() => this.#sizeOnce(budget));
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRangeArgs(offset, length);
    if (this.#size !== undefined) checkRangeInside(offset, length, this.#size);
    if (length === 0) return new Uint8Array(0);
    const kept = await this.#full?.range(offset, length);
    if (kept) return kept;
    const budget = this.#budget(1, "read");
    return this.#x.retry(() => this.#readOnce([{ offset, length }], budget)).then((b) => b[0]!);
  }

  /**
   * The last `length` bytes (fewer when the blob is shorter), their offset and the blob size, with
   * one suffix request when the size is not known yet.
   */
  async readTail(length: number): Promise<{ bytes: Uint8Array; offset: number; size: number }> {
    checkRangeArgs(0, length);
    if (this.#size === undefined) {
      const kept = await this.#full?.tail(length);
      if (kept) return kept;
    }
    if (this.#size === undefined && length > 0) {
      const budget = this.#budget(1, "readTail");
      return this.#x.retry(() => this.#tailOnce(length, budget));
    }
    const size = await this.size();
    const n = Math.min(length, size);
    return { bytes: await this.read(size - n, n), offset: size - n, size };
  }

  /** Several ranges with as few requests as the server allows; see the module doc. */
  async readRanges(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const spans = coalesceRanges(ranges, { gap: this.#gap, maxLength: this.#maxSpan });
    if (this.#size !== undefined) { for (const s of spans) checkRangeInside(s.offset, s.length, this.#size); }
    const bytes: Uint8Array[] = [];
    const budget = this.#budget(spans.length + HALVINGS, "readRanges");
    for (let i = 0; i < spans.length;) {
      const kept = await this.#full?.range(spans[i]!.offset, spans[i]!.length);
      if (kept) {
        bytes.push(kept);
        i++;
        continue;
      }
      const batch = spans.slice(i, i + this.#maxRanges);
      const rest = spans.slice(i);
      const got = batch.length > 1 && this.#multiRange
        ? await this.#x.retry(() => this.#multiOnce(batch, rest, budget))
        : await this.#x.retry(() => this.#readOnce(rest, budget));
      // undefined: refused; the loop asks again with fewer ranges per request.
      if (got) {
        bytes.push(...got);
        i += got.length;
      }
    }
    return splitSpans(ranges, spans, bytes);
  }

  async #sizeOnce(budget: RequestBudget): Promise<number> {
    const head = await this.#request("HEAD", undefined, budget);
    await discard(head);
    const len = parseLength(head.headers.get("content-length"));
    if (head.ok && head.status !== 206 && len !== undefined) {
      this.#learnSize(len);
      return len;
    }
    if (head.status >= 500) throw this.#httpError(head, `HTTP ${head.status} for HEAD`);
    // No usable HEAD: ask for the first byte and read the total from Content-Range.
    const res = await this.#request("GET", "bytes=0-0", budget);
    if (res.status === 206 || res.status === 416) {
      await discard(res);
      const cr = parseContentRange(res.headers.get("content-range"));
      if (cr?.total !== undefined) {
        this.#learnSize(cr.total);
        return cr.total;
      }
      throw this.#httpError(res, "response gives no total size in Content-Range", { contentRange: res.headers.get("content-range") });
    }
    if (res.status === 200) {
      const n = parseLength(res.headers.get("content-length"));
      if (n !== undefined) {
        this.#learnSize(n);
        if (!this.#adopt(res, n)) await discard(res);
        return n;
      }
      await discard(res);
      throw this.#httpError(res, "cannot determine the blob size (no Content-Length, no Range support)");
    }
    await discard(res);
    throw this.#httpError(res, `HTTP ${res.status} while asking for the blob size`);
  }

  /**
   * One request for `ranges[0]`; a 200 (Range ignored) serves every range of `ranges` (sorted,
   * disjoint) from its body, so the result may hold more than one.
   */
  async #readOnce(ranges: readonly ByteRange[], budget: RequestBudget): Promise<Uint8Array[]> {
    const { offset, length } = ranges[0]!;
    const end = offset + length - 1;
    const res = await this.#request("GET", `bytes=${offset}-${end}`, budget);
    if (res.status === 200) return this.#fromFullResponse(res, ranges);
    const body = this.#reader(res);
    try {
      if (res.status === 206) {
        const raw = res.headers.get("content-range");
        const cr = parseContentRange(raw);
        if (!cr || cr.start === undefined) {
          throw this.#httpError(res, `206 response with missing or invalid Content-Range ${JSON.stringify(raw)}`, { contentRange: raw });
        }
        if (cr.total !== undefined) this.#learnSize(cr.total);
        if (cr.start !== offset || cr.end !== end) {
          if (cr.start === offset && cr.total !== undefined && cr.end === cr.total - 1 && cr.end! < end) {
            throw new LayerkitError("OUT_OF_RANGE", `byte range ${offset}+${length} ends past the end of the blob (${cr.total} bytes)`, {
              url: this.url,
              offset,
              length,
              size: cr.total,
            });
          }
          throw this.#httpError(res, `server returned bytes ${cr.start}-${cr.end}, asked for ${offset}-${end}`, {
            contentRange: raw,
            offset,
            length,
          });
        }
        this.#checkContentLength(res, length);
        const bytes = await this.#exact(body, length, offset);
        if (!(await body.atEnd())) throw this.#httpError(res, "206 response body is longer than its Content-Range", { offset, length });
        return [bytes];
      }
      if (res.status === 416) {
        const cr = parseContentRange(res.headers.get("content-range"));
        if (cr?.total !== undefined) this.#learnSize(cr.total);
        throw new LayerkitError("OUT_OF_RANGE", `HTTP 416 for byte range ${offset}+${length}`, {
          url: this.url,
          status: 416,
          offset,
          length,
          size: cr?.total,
        });
      }
      throw this.#httpError(res, `HTTP ${res.status} for byte range ${offset}+${length}`, { offset, length });
    } finally {
      await body.cancel();
    }
  }

  /** One suffix request (`bytes=-length`) for the tail: learns the size from Content-Range. */
  async #tailOnce(length: number, budget: RequestBudget): Promise<{ bytes: Uint8Array; offset: number; size: number }> {
    const res = await this.#request("GET", `bytes=-${length}`, budget);
    if (res.status === 200) {
      const total = parseLength(res.headers.get("content-length"));
      if (total !== undefined) {
        this.#learnSize(total);
        const n = Math.min(length, total);
        const [bytes] = await this.#fromFullResponse(res, [{ offset: total - n, length: n }]);
        return { bytes: bytes!, offset: total - n, size: total };
      }
      return this.#tailOfUnsized(res, length);
    }
    const body = this.#reader(res);
    try {
      const raw = res.headers.get("content-range");
      const cr = parseContentRange(raw);
      if (res.status === 416 && cr?.total === 0) {
        this.#learnSize(0);
        return { bytes: new Uint8Array(0), offset: 0, size: 0 };
      }
      if (res.status !== 206) throw this.#httpError(res, `HTTP ${res.status} for the last ${length} bytes`, { length });
      if (
        !cr || cr.start === undefined || cr.total === undefined || cr.end !== cr.total - 1 ||
        cr.end - cr.start + 1 !== Math.min(length, cr.total)
      ) {
        throw this.#httpError(res, `answer to a request for the last ${length} bytes has Content-Range ${JSON.stringify(raw)}`, {
          contentRange: raw,
          length,
        });
      }
      this.#learnSize(cr.total);
      const n = cr.end - cr.start + 1;
      this.#checkContentLength(res, n);
      const bytes = await this.#exact(body, n, cr.start);
      if (!(await body.atEnd())) {
        throw this.#httpError(res, "206 response body is longer than its Content-Range", { offset: cr.start, length: n });
      }
      return { bytes, offset: cr.start, size: cr.total };
    } finally {
      await body.cancel();
    }
  }

  /** The tail of a 200 without Content-Length: streamed through, keeping only the last `length` bytes. */
  async #tailOfUnsized(res: Response, length: number): Promise<{ bytes: Uint8Array; offset: number; size: number }> {
    this.#warn(undefined, false);
    const body = this.#reader(res);
    try {
      let tail = new Uint8Array(0);
      for (let piece = await body.readSome(1 << 20); piece !== null; piece = await body.readSome(1 << 20)) {
        const joined = new Uint8Array(Math.min(length, tail.length + piece.length));
        const fromPiece = Math.min(piece.length, joined.length);
        joined.set(tail.subarray(tail.length - (joined.length - fromPiece)), 0);
        joined.set(piece.subarray(piece.length - fromPiece), joined.length - fromPiece);
        tail = joined;
      }
      const size = body.position;
      this.#learnSize(size);
      return { bytes: tail, offset: size - tail.length, size };
    } finally {
      await body.cancel();
    }
  }

  /**
   * One multi-range request for `spans` (sorted, disjoint); undefined when the server refuses it.
   * A 200 serves every span of `rest` (the batch and all after it) from its one body.
   */
  async #multiOnce(
    spans: readonly CoalescedSpan[],
    rest: readonly CoalescedSpan[],
    budget: RequestBudget,
  ): Promise<Uint8Array[] | undefined> {
    const header = "bytes=" + spans.map((s) => `${s.offset}-${s.offset + s.length - 1}`).join(",");
    const res = await this.#request("GET", header, budget);
    if (res.status === 200) return this.#fromFullResponse(res, rest);
    const body = this.#reader(res);
    try {
      if (MULTI_RANGE_OFF.has(res.status)) {
        this.#multiRange = false; // refused: single ranges from now on
        return undefined;
      }
      if (res.status === 400) {
        this.#maxRanges = Math.max(1, spans.length >> 1); // too many ranges for this server
        return undefined;
      }
      if (res.status !== 206) throw this.#httpError(res, `HTTP ${res.status} for a multi-range request`, { range: header });
      const first = spans[0]!.offset;
      const last = spans[spans.length - 1]!;
      const boundary = byterangesBoundary(res.headers.get("content-type"));
      if (boundary === undefined) {
        // One part for everything: the server merged the ranges (RFC 9110 allows it). Taken
        // like a 200 body: skip to each span, so a merge over a huge gap is never held.
        const raw = res.headers.get("content-range");
        const cr = parseContentRange(raw);
        if (!cr || cr.start === undefined || cr.start > first || cr.end! < last.offset + last.length - 1) {
          throw this.#httpError(
            res,
            `single-part answer to a multi-range request does not cover it: Content-Range ${JSON.stringify(raw)}`,
            { contentRange: raw, range: header },
          );
        }
        if (cr.total !== undefined) this.#learnSize(cr.total);
        this.#checkContentLength(res, cr.end! - cr.start + 1);
        return await this.#fromBody(body, cr.start, spans, cr.total);
      }
      // Parts are exact spans; a server may merge close ones, so allow some slack per part.
      const asked = spans.reduce((n, s) => n + s.length, 0);
      const maxBytes = Math.min(last.offset + last.length - first, asked + spans.length * 65536);
      const parts = await readByteranges(body, boundary, { maxParts: spans.length, maxBytes });
      for (const p of parts) if (p.total !== undefined) this.#learnSize(p.total);
      return spans.map((s) => {
        const p = parts.find((q) => q.start <= s.offset && q.end >= s.offset + s.length - 1);
        if (!p) throw this.#httpError(res, `multi-range answer lacks bytes ${s.offset}-${s.offset + s.length - 1}`, { range: header });
        return p.bytes.subarray(s.offset - p.start, s.offset - p.start + s.length);
      });
    } catch (e) {
      if (e instanceof LayerkitError) e.details["url"] ??= this.url;
      throw e;
    } finally {
      await body.cancel();
    }
  }

  /**
   * Serves sorted, disjoint `ranges` from a 200 (a server that ignores `Range`): from the kept
   * response when the blob fits `maxFullBody`, else streamed through, holding only those ranges.
   */
  async #fromFullResponse(res: Response, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const total = parseLength(res.headers.get("content-length"));
    if (total !== undefined) {
      this.#learnSize(total);
      const last = ranges[ranges.length - 1]!;
      if (last.offset + last.length > total) {
        await discard(res);
        checkRangeInside(last.offset, last.length, total);
      }
    }
    const full = this.#adopt(res, total);
    if (full) {
      const out: Uint8Array[] = [];
      for (const r of ranges) out.push((await full.range(r.offset, r.length))!);
      return out;
    }
    const body = this.#reader(res);
    try {
      return await this.#fromBody(body, 0, ranges, total);
    } finally {
      await body.cancel();
    }
  }

  /** Warns once, and keeps `res` as the source's full body when the blob fits the bound. */
  #adopt(res: Response, total: number | undefined): FullBody | undefined {
    const keep = total !== undefined && FullBody.fits(total, this.#maxFull);
    this.#warn(total, keep);
    if (!keep) return undefined;
    void this.#full?.close();
    this.#full = new FullBody(this.#reader(res), total, this.#maxFull, this.url);
    return this.#full;
  }

  #warn(size: number | undefined, kept: boolean): void {
    if (this.warnings.some((w) => w.code === "RANGE_IGNORED")) return;
    const what = size === undefined ? "the blob" : `the ${size}-byte blob`;
    const w: SourceWarning = {
      code: "RANGE_IGNORED",
      message: kept
        ? `${this.url} ignores Range requests: ${what} is downloaded whole, once, and kept in memory for this read`
        : `${this.url} ignores Range requests: ${what} is over the ${this.#maxFull}-byte bound for keeping it (maxFullBody), so every read downloads it again`,
      url: this.url,
      kept,
      ...(size !== undefined ? { size } : {}),
    };
    this.warnings.push(w);
    this.#onWarning?.(w);
  }

  /**
   * Takes sorted, disjoint `ranges` from a body that starts at blob offset `base`: skips to each
   * range and copies it, then stops; only the asked-for bytes are held. `total` is the blob size
   * when known (a short body is then TRUNCATED rather than OUT_OF_RANGE).
   */
  async #fromBody(body: ByteReader, base: number, ranges: readonly ByteRange[], total: number | undefined): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const r of ranges) {
      await body.skip(r.offset - base - body.position);
      const bytes = (await body.readFull(r.length)).slice();
      if (bytes.length !== r.length) {
        const got = base + body.position;
        if (total !== undefined) {
          throw new LayerkitError("TRUNCATED", `response body ended at blob offset ${got} of ${total} bytes`, {
            url: this.url,
            offset: r.offset,
            length: r.length,
            got,
          });
        }
        throw new LayerkitError("OUT_OF_RANGE", `byte range ${r.offset}+${r.length} ends past the end of the blob`, {
          url: this.url,
          offset: r.offset,
          length: r.length,
          size: got,
        });
      }
      out.push(bytes);
    }
    return out;
  }

  /** Exactly `length` body bytes (a copy), or TRUNCATED. */
  async #exact(body: ByteReader, length: number, offset: number): Promise<Uint8Array> {
    const bytes = await body.readFull(length);
    if (bytes.length !== length) {
      throw new LayerkitError("TRUNCATED", `response body ended after ${bytes.length} of ${length} bytes`, {
        url: this.url,
        offset,
        length,
        got: bytes.length,
      });
    }
    return bytes.slice();
  }

  #checkContentLength(res: Response, expected: number): void {
    const raw = res.headers.get("content-length");
    if (raw === null) return;
    const n = parseLength(raw);
    if (n !== expected) {
      throw this.#httpError(res, `Content-Length ${JSON.stringify(raw)} disagrees with Content-Range (${expected} bytes)`, {
        contentLength: raw,
      });
    }
  }

  /** The response body as a counting reader; a failing read is an `IO` error (retryable), a stall stays `TIMEOUT`. */
  #reader(res: Response): ByteReader {
    const stats = this.stats;
    const url = this.url;
    async function* pieces(): AsyncGenerator<Uint8Array, void, void> {
      if (!res.body) return;
      const reader = res.body.getReader();
      let done = false;
      try {
        for (;;) {
          let r: ReadableStreamReadResult<Uint8Array>;
          try {
            r = await reader.read();
          } catch (e) {
            if (e instanceof LayerkitError) throw e;
            throw new LayerkitError("IO", `reading the response body of ${url} failed: ${(e as Error)?.message ?? e}`, { url }, {
              cause: e,
            });
          }
          if (r.done) {
            done = true;
            return;
          }
          stats.bytes += r.value.length;
          if (r.value.length > 0) yield r.value;
        }
      } finally {
        if (!done) await reader.cancel().catch(() => {});
      }
    }
    return new ByteReader(pieces());
  }

  /** One exchange (redirects followed by the client, counted in `stats`, charged to `budget`). */
  #request(method: "GET" | "HEAD", range: string | undefined, budget: RequestBudget): Promise<Response> {
    const headers = new Headers(this.#headers);
    if (range) headers.set("range", range);
    return this.#x.send(this.url, { method, headers, cacheRedirect: method === "GET", stats: this.stats, budget });
  }

  #budget(units: number, what: string): RequestBudget {
    return new RequestBudget(this.requestBound(units), `${what} of ${this.url}`);
  }

  #learnSize(n: number): void {
    if (this.#size !== undefined && this.#size !== n) {
      throw new LayerkitError("INCONSISTENT", `server reports blob size ${n}, expected ${this.#size}`, {
        url: this.url,
        size: n,
        expected: this.#size,
      });
    }
    this.#size = n;
  }

  #httpError(res: Response, message: string, extra: Record<string, unknown> = {}): LayerkitError {
    return new LayerkitError("HTTP", `${this.url}: ${message}`, { url: this.url, status: res.status, ...extra });
  }
}

/** Shorthand for `new HttpSource(url, options)`. */
export function httpSource(url: string | URL, options?: HttpSourceOptions): HttpSource {
  return new HttpSource(url, options);
}

function count(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < 0) throw new LayerkitError("BAD_ARGUMENT", `invalid ${name} ${v}`, { [name]: v });
  return v;
}

function parseLength(v: string | null): number | undefined {
  if (v === null || !/^\s*\d+\s*$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}
