/**
 * HttpSource against a local fault-injecting server (test/support/http-server.ts): coalescing,
 * multi-range requests and their fallbacks, servers that ignore Range, transient failures with
 * retries, lying headers, bad multipart bodies and credential-safe redirects. Request and byte
 * counts come from the source's stats and the server's own log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LayerkitError } from "../../src/errors.js";
import { coalesceRanges, splitSpans } from "../../src/source/coalesce.js";
import { HttpSource, type HttpSourceOptions } from "../../src/source/http.js";
import { byterangesBoundary, readByteranges } from "../../src/source/multipart.js";
import { backoffDelay, isRetryable, retryPolicy, withRetry } from "../../src/source/retry.js";
import { ByteReader } from "../../src/util/bytes.js";
import { randomBytes } from "../fixtures/tars.js";
import { expectCode } from "../support/registry.js";
import { type BlobBehaviour, FaultServer } from "../support/http-server.js";

const blob = randomBytes(1 << 20, 7);
const fast: HttpSourceOptions = { retry: { baseDelayMs: 1, maxDelayMs: 4 } };
let server: FaultServer;
let other: FaultServer;
let n = 0;

/** Serves the blob under a fresh path with `behaviour`; returns the path and a source for it. */
function setup(behaviour: BlobBehaviour = {}, options: HttpSourceOptions = {}): { path: string; source: HttpSource } {
  const path = `/blob${n++}`;
  const url = server.serve(path, blob, behaviour);
  return { path, source: new HttpSource(url, { ...fast, ...options }) };
}

const far = [
  { offset: 900_000, length: 100 },
  { offset: 10, length: 20 },
  { offset: 500_000, length: 4096 },
];
const want = far.map((r) => blob.subarray(r.offset, r.offset + r.length));

beforeAll(async () => {
  server = await FaultServer.start();
  other = await FaultServer.start();
});
afterAll(async () => {
  await server.close();
  await other.close();
});

describe("coalesceRanges", () => {
  it("merges overlapping, duplicate and close ranges, keeps far ones apart and skips empty ones", () => {
    const ranges = [
      { offset: 100, length: 10 },
      { offset: 0, length: 10 },
      { offset: 105, length: 10 },
      { offset: 0, length: 10 },
      { offset: 50, length: 0 },
      { offset: 130, length: 5 },
      { offset: 1000, length: 1 },
    ];
    const spans = coalesceRanges(ranges, { gap: 20 });
    expect(spans.map((s) => [s.offset, s.length, s.members])).toEqual([
      [0, 10, [1, 3]],
      [100, 35, [0, 2, 5]],
      [1000, 1, [6]],
    ]);
    const bytes = spans.map((s) => blob.subarray(s.offset, s.offset + s.length));
    const out = splitSpans(ranges, spans, bytes);
    ranges.forEach((r, i) => expect(out[i]).toEqual(blob.subarray(r.offset, r.offset + r.length)));
  });
  it("does not grow a span past maxLength, and refuses bad ranges", () => {
    const spans = coalesceRanges(
      [
        { offset: 0, length: 60 },
        { offset: 60, length: 60 },
        { offset: 120, length: 10 },
      ],
      { maxLength: 100 },
    );
    expect(spans.map((s) => [s.offset, s.length])).toEqual([
      [0, 60],
      [60, 70],
    ]);
    expect(() => coalesceRanges([{ offset: -1, length: 2 }])).toThrow(LayerkitError);
  });
});

describe("retry policy", () => {
  it("doubles delays up to the cap and retries only transient failures", async () => {
    const p = retryPolicy({ baseDelayMs: 10, maxDelayMs: 35 });
    expect([1, 2, 3, 4].map((a) => backoffDelay(p, a))).toEqual([10, 20, 35, 35]);
    expect(isRetryable(new LayerkitError("HTTP", "x", { status: 503 }))).toBe(true);
    expect(isRetryable(new LayerkitError("HTTP", "x", { status: 404 }))).toBe(false);
    expect(isRetryable(new LayerkitError("IO", "x"))).toBe(true);
    expect(isRetryable(new LayerkitError("DIGEST_MISMATCH", "x"))).toBe(false);
    let calls = 0;
    const e = await expectCode(
      withRetry(retryPolicy({ retries: 2, baseDelayMs: 0 }), async () => {
        calls++;
        throw new LayerkitError("IO", "reset");
      }),
      "IO",
    );
    expect(calls).toBe(3);
    expect(e.details.attempts).toBe(3);
    expect(() => retryPolicy({ retries: -1 })).toThrow(LayerkitError);
  });
});

describe("multipart/byteranges parser", () => {
  const enc = new TextEncoder();
  const body = (s: string) => new ByteReader(enc.encode(s));
  it("reads parts with their Content-Range, with preamble and transport padding", async () => {
    const parts = await readByteranges(
      body("\r\n--b  \r\nContent-Range: bytes 0-2/10\r\n\r\nabc\r\n--b\r\ncontent-range: bytes 5-5/10\r\n\r\nz\r\n--b--\r\n"),
      "b",
      { maxParts: 2, maxBytes: 10 },
    );
    expect(parts.map((p) => [p.start, p.end, p.total, new TextDecoder().decode(p.bytes)])).toEqual([
      [0, 2, 10, "abc"],
      [5, 5, 10, "z"],
    ]);
  });
  it("gives typed errors on bad bodies", async () => {
    const limits = { maxParts: 2, maxBytes: 10 };
    await expectCode(readByteranges(body("--b\r\n\r\nabc\r\n--b--\r\n"), "b", limits), "HTTP"); // no Content-Range
    await expectCode(readByteranges(body("--b\r\nContent-Range: bytes 0-2/10\r\n\r\nab"), "b", limits), "TRUNCATED");
    await expectCode(readByteranges(body("--b\r\nContent-Range: bytes 0-2/10\r\n\r\nabcd\r\n--b--\r\n"), "b", limits), "HTTP");
    await expectCode(readByteranges(body("--b\r\nContent-Range: bytes 0-20/30\r\n\r\n"), "b", limits), "LIMIT_EXCEEDED");
    const three = "--b\r\nContent-Range: bytes 0-0/9\r\n\r\na\r\n".repeat(3) + "--b--\r\n";
    await expectCode(readByteranges(body(three), "b", limits), "LIMIT_EXCEEDED");
    await expectCode(readByteranges(body("--b\r\nX: " + "y".repeat(5000) + "\r\n"), "b", limits), "HTTP");
    await expectCode(readByteranges(body("junk\r\n".repeat(20)), "b", limits), "HTTP");
    await expectCode(readByteranges(body("--b\r\nContent-Range: bytes 9-2/10\r\n\r\n"), "b", limits), "HTTP");
    expect(byterangesBoundary('multipart/byteranges; boundary="a b"')).toBe("a b");
    expect(byterangesBoundary("application/octet-stream")).toBeUndefined();
    expect(() => byterangesBoundary("multipart/byteranges")).toThrow(LayerkitError);
  });
});

describe("HttpSource", () => {
  it("coalesces close ranges into one single-range request", async () => {
    const { path, source } = setup();
    const ranges = [
      { offset: 1000, length: 10 },
      { offset: 1020, length: 10 },
      { offset: 1015, length: 2 },
    ];
    const out = await source.readRanges(ranges);
    ranges.forEach((r, i) => expect(out[i]).toEqual(blob.subarray(r.offset, r.offset + r.length)));
    expect(server.requestsFor(path).map((r) => r.range)).toEqual(["bytes=1000-1029"]);
    expect(source.stats).toEqual({ requests: 1, bytes: 30 });
  });

  it("asks for far ranges in one multi-range request and splits the multipart answer", async () => {
    const { path, source } = setup();
    expect(await source.readRanges(far)).toEqual(want);
    expect(server.requestsFor(path).map((r) => r.range)).toEqual(["bytes=10-29,500000-504095,900000-900099"]);
    expect(source.stats.requests).toBe(1);
    // The multipart framing costs a little more than the data itself.
    expect(source.stats.bytes).toBeGreaterThan(4216);
    expect(source.stats.bytes).toBeLessThan(4216 + 3 * 200);
    expect(source.multiRange).toBe(true);
  });

  it("accepts a single 206 covering all ranges of a multi-range request", async () => {
    const { path, source } = setup({ mergeMultiRange: true });
    expect(await source.readRanges(far)).toEqual(want);
    expect(server.requestsFor(path)).toHaveLength(1);
  });

  it.each([400, 416, 501] as const)("falls back to single ranges for good after a %i to a multi-range request", async (status) => {
    const { path, source } = setup({ refuseMultiRange: status });
    expect(await source.readRanges(far)).toEqual(want);
    expect(source.multiRange).toBe(false);
    expect(await source.readRanges(far)).toEqual(want);
    expect(server.requestsFor(path).map((r) => r.range)).toEqual([
      "bytes=10-29,500000-504095,900000-900099",
      "bytes=10-29",
      "bytes=500000-504095",
      "bytes=900000-900099",
      "bytes=10-29",
      "bytes=500000-504095",
      "bytes=900000-900099",
    ]);
    expect(source.stats.requests).toBe(7);
  });

  it("streams and discards a 200 from a server that ignores Range, never taking the whole blob", async () => {
    // maxFullBody 0: the blob is over the bound for keeping a full response (see the Range-less tests).
    const { path, source } = setup({ ignoreRange: true }, { maxFullBody: 0 });
    expect(await source.read(100, 50)).toEqual(blob.subarray(100, 150));
    expect(source.stats.bytes).toBeLessThan(blob.length / 2);
    expect(await source.readRanges(far)).toEqual(want);
    expect(server.requestsFor(path)).toHaveLength(2); // one request serves all three ranges
    expect(await source.size()).toBe(blob.length);
    await expectCode(source.read(blob.length - 5, 10), "OUT_OF_RANGE");
  });

  it.each(
    [
      ["500", "HTTP"],
      ["503", "HTTP"],
      ["reset", "IO"],
      ["reset-mid-body", "IO"],
      ["short-body", "TRUNCATED"],
    ] as const,
  )("retries a transient %s and succeeds; gives %s when it persists", async (fault, code) => {
    const ok = setup({ transient: { fault, times: 2 } });
    expect(await ok.source.read(4096, 8192)).toEqual(blob.subarray(4096, 12288));
    expect(ok.source.stats.requests).toBe(3);
    expect(server.requestsFor(ok.path)).toHaveLength(3);
    const bad = setup({ transient: { fault, times: 100 } }, { retry: { retries: 2, baseDelayMs: 1 } });
    const e = await expectCode(bad.source.read(4096, 8192), code);
    expect(e.details.attempts).toBe(3);
    expect(server.requestsFor(bad.path)).toHaveLength(3);
  });

  it("retries a failed multi-range request too", async () => {
    const { path, source } = setup({ transient: { fault: "reset-mid-body", times: 1 } });
    expect(await source.readRanges(far)).toEqual(want);
    expect(server.requestsFor(path)).toHaveLength(2);
  });

  it("rejects a wrong Content-Range or Content-Length without retrying", async () => {
    const a = setup({ wrongContentRange: true });
    const e = await expectCode(a.source.read(10, 10), "HTTP");
    expect(e.details).toMatchObject({ status: 206, contentRange: `bytes 11-20/${blob.length}` });
    expect(a.source.stats.requests).toBe(1);
    const b = setup({ wrongContentLength: true });
    await expectCode(b.source.read(10, 10), "HTTP");
    expect(b.source.stats.requests).toBe(1);
  });

  it("rejects bad multipart answers with typed errors", async () => {
    await expectCode(setup({ badMultipart: "wrong-range" }).source.readRanges(far), "HTTP");
    await expectCode(setup({ badMultipart: "garbage" }).source.readRanges(far), "HTTP");
    const cut = setup({ badMultipart: "no-boundary-end" });
    await expectCode(cut.source.readRanges(far), "TRUNCATED");
    expect(cut.source.stats.requests).toBe(4); // 1 + 3 retries
  });

  it("never forwards Authorization to another origin on a redirect, keeps it on the same origin", async () => {
    const target = other.serve("/target", blob);
    const cross = server.serve("/cross", blob, { redirectTo: target });
    const s = new HttpSource(cross, { ...fast, headers: { authorization: "Bearer secret", "x-trace": "1" } });
    expect(await s.read(0, 16)).toEqual(blob.subarray(0, 16));
    expect(server.requestsFor("/cross")[0]!.authorization).toBe("Bearer secret");
    expect(other.requestsFor("/target")).toHaveLength(1);
    expect(other.requestsFor("/target")[0]!.authorization).toBeUndefined();
    expect(other.requestsFor("/target")[0]!.range).toBe("bytes=0-15");
    expect(s.stats.requests).toBe(2);

    // Later reads go straight to the remembered target, still without credentials.
    expect(await s.read(100, 16)).toEqual(blob.subarray(100, 116));
    expect(server.requestsFor("/cross")).toHaveLength(1);
    expect(other.requestsFor("/target").map((r) => r.authorization)).toEqual([undefined, undefined]);
    expect(s.stats.requests).toBe(3);
    // The target expires (a signed URL): start over at the source's URL, which redirects anew.
    other.unserve("/target");
    const renewed = other.serve("/target2", blob);
    server.serve("/cross", blob, { redirectTo: renewed });
    expect(await s.read(200, 16)).toEqual(blob.subarray(200, 216));
    expect(s.stats.requests).toBe(6);
    expect(other.requestsFor("/target2")).toHaveLength(1);

    server.serve("/same-target", blob);
    const same = server.serve("/same", blob, { redirectTo: server.url("/same-target") });
    await new HttpSource(same, { headers: { authorization: "Basic abc" } }).read(0, 1);
    expect(server.requestsFor("/same-target")[0]!.authorization).toBe("Basic abc");

    const loop = server.serve("/loop", blob, { redirectTo: server.url("/loop") });
    const e = await expectCode(new HttpSource(loop, { maxRedirects: 3 }).read(0, 1), "HTTP");
    expect(server.requestsFor("/loop")).toHaveLength(4);
    expect(e.details.status).toBe(302);
  });

  it("lets a browser follow an opaque redirect itself, without credentials", async () => {
    const calls: { redirect?: RequestRedirect; authorization: string | null }[] = [];
    const fake: typeof fetch = async (_url, init) => {
      calls.push({ redirect: init?.redirect, authorization: new Headers(init?.headers).get("authorization") });
      // What a browser gives for redirect: "manual": an opaque response hiding the Location.
      if (init?.redirect === "manual") {
        return { type: "opaqueredirect", status: 0, headers: new Headers(), body: null } as unknown as Response;
      }
      return new Response(new Uint8Array(blob.subarray(0, 4)), { status: 206, headers: { "content-range": `bytes 0-3/${blob.length}` } });
    };
    const s = new HttpSource("http://example.invalid/b", { fetch: fake, headers: { authorization: "Bearer x" } });
    expect(await s.read(0, 4)).toEqual(blob.subarray(0, 4));
    expect(calls).toEqual([
      { redirect: "manual", authorization: "Bearer x" },
      { redirect: "follow", authorization: null },
    ]);
    expect(s.stats.requests).toBe(2);
  });

  it("stops retrying when its signal is aborted", async () => {
    const abort = new AbortController();
    const { source } = setup({ transient: { fault: "503", times: 100 } }, {
      signal: abort.signal,
      retry: { retries: 1000, baseDelayMs: 5 },
    });
    const p = source.read(0, 10);
    setTimeout(() => abort.abort(), 30);
    await expectCode(p, "IO");
    expect(source.stats.requests).toBeLessThan(1000);
  });

  it("uses an injected fetch for every request", async () => {
    const seen: string[] = [];
    const url = server.serve("/injected", blob);
    const s = new HttpSource(url, {
      fetch: (input, init) => {
        const h = new Headers(init?.headers);
        h.set("authorization", "Bearer from-fetch");
        seen.push(String(input));
        return fetch(input, { ...init, headers: h });
      },
    });
    expect(await s.readRanges(far)).toEqual(want);
    expect(await s.size()).toBe(blob.length);
    expect(seen).toEqual([url]);
    expect(server.requestsFor("/injected")[0]!.authorization).toBe("Bearer from-fetch");
  });

  it("finds the size with HEAD or a 0-0 range and retries a 5xx HEAD", async () => {
    const a = setup({ noHead: true });
    expect(await a.source.size()).toBe(blob.length);
    expect(server.requestsFor(a.path).map((r) => `${r.method} ${r.range ?? ""}`)).toEqual(["HEAD ", "GET bytes=0-0"]);
    await expectCode(new HttpSource(server.url("/missing"), fast).read(0, 1), "HTTP");
    expect(server.requestsFor("/missing")).toHaveLength(1); // 404 is final
  });
});
