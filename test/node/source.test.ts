import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LayerkitError } from "../../src/errors.js";
import { HttpSource, MemorySource, parseContentRange, readRanges, readTail } from "../../src/source/index.js";
import { FileSource } from "../../src/source/node-file.js";

const blob = new Uint8Array(10_000).map((_, i) => (i * 31 + 7) & 0xff);

async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<LayerkitError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(LayerkitError);
    expect((e as LayerkitError).code).toBe(code);
    return e as LayerkitError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe("MemorySource", () => {
  it("reads exact ranges and counts", async () => {
    const s = new MemorySource(blob);
    expect(await s.size()).toBe(10_000);
    expect(await s.read(5, 3)).toEqual(blob.subarray(5, 8));
    expect((await s.read(10_000, 0)).length).toBe(0);
    expect(await readRanges(s, [{ offset: 0, length: 2 }, { offset: 9_998, length: 2 }])).toEqual([
      blob.subarray(0, 2),
      blob.subarray(9_998),
    ]);
    const t = await readTail(s, 100);
    expect(t.offset).toBe(9_900);
    expect(t.bytes).toEqual(blob.subarray(9_900));
    expect(s.stats.requests).toBe(5);
    expect(s.stats.bytes).toBe(3 + 4 + 100);
  });
  it("rejects bad and out-of-range arguments", async () => {
    const s = new MemorySource(blob);
    await expectCode(s.read(-1, 1), "BAD_ARGUMENT");
    await expectCode(s.read(0.5, 1), "BAD_ARGUMENT");
    await expectCode(s.read(0, Number.MAX_SAFE_INTEGER + 1), "BAD_ARGUMENT");
    const e = await expectCode(s.read(9_999, 2), "OUT_OF_RANGE");
    expect(e.details).toMatchObject({ offset: 9_999, length: 2, size: 10_000 });
  });
});

describe("FileSource", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "layerkit-source-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads ranges of a file", async () => {
    const p = join(dir, "blob");
    await writeFile(p, blob);
    const s = await FileSource.open(p);
    try {
      expect(await s.size()).toBe(10_000);
      expect(await s.read(1234, 4000)).toEqual(blob.subarray(1234, 5234));
      await expectCode(s.read(9_000, 1_001), "OUT_OF_RANGE");
      expect(s.stats).toEqual({ requests: 1, bytes: 4000 });
    } finally {
      await s.close();
    }
    await expectCode(s.read(0, 1), "BAD_ARGUMENT");
  });
  it("reports a file that shrank as TRUNCATED", async () => {
    const p = join(dir, "shrinks");
    await writeFile(p, blob);
    const s = await FileSource.open(p);
    await truncate(p, 100);
    const e = await expectCode(s.read(50, 100), "TRUNCATED");
    expect(e.details).toMatchObject({ offset: 50, length: 100, got: 50 });
    await s.close();
  });
  it("fails to open a missing file with IO", async () => {
    const e = await expectCode(FileSource.open(join(dir, "missing")), "IO");
    expect(e.details.errno).toBe("ENOENT");
  });
});

describe("parseContentRange", () => {
  it("parses the three forms and rejects nonsense", () => {
    expect(parseContentRange("bytes 0-9/100")).toEqual({ start: 0, end: 9, total: 100 });
    expect(parseContentRange("bytes 5-9/*")).toEqual({ start: 5, end: 9 });
    expect(parseContentRange("bytes */100")).toEqual({ total: 100 });
    for (const bad of ["bytes 9-5/100", "bytes 0-100/100", "items 0-1/2", "bytes */*", "", "bytes 0-1"]) {
      expect(parseContentRange(bad)).toBeUndefined();
    }
  });
});

type Mode =
  | "normal"
  | "ignore-range"
  | "bad-content-range"
  | "wrong-range"
  | "short-body"
  | "long-body"
  | "no-head"
  | "500"
  | "no-length-200";

describe("HttpSource", () => {
  let server: Server;
  let base: string;
  const seen: { method: string; range?: string }[] = [];

  function handler(req: IncomingMessage, res: ServerResponse): void {
    const mode = (req.url ?? "/").slice(1) as Mode;
    seen.push({ method: req.method!, range: req.headers.range });
    if (mode === "500") {
      res.writeHead(500).end("boom");
      return;
    }
    if (req.method === "HEAD") {
      if (mode === "no-head") res.writeHead(405).end();
      else res.writeHead(200, { "content-length": String(blob.length) }).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (!m || mode === "ignore-range" || mode === "no-length-200") {
      if (mode === "no-length-200") {
        res.writeHead(200);
        res.write(blob.subarray(0, 5000));
        res.end(blob.subarray(5000));
      } else {
        res.writeHead(200, { "content-length": String(blob.length) }).end(blob);
      }
      return;
    }
    const start = Number(m[1]);
    let end = Number(m[2]);
    if (start >= blob.length) {
      res.writeHead(416, { "content-range": `bytes */${blob.length}` }).end();
      return;
    }
    end = Math.min(end, blob.length - 1);
    let body = blob.subarray(start, end + 1);
    let cr = `bytes ${start}-${end}/${blob.length}`;
    if (mode === "bad-content-range") cr = "nonsense";
    if (mode === "wrong-range") cr = `bytes ${start + 1}-${end + 1}/${blob.length}`;
    if (mode === "short-body") {
      res.writeHead(206, { "content-range": cr });
      res.end(body.subarray(0, body.length - 1));
      return;
    }
    if (mode === "long-body") body = blob.subarray(start, end + 2);
    res.writeHead(206, { "content-range": cr, "content-length": String(body.length) }).end(body);
  }

  beforeAll(async () => {
    server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it("reads ranges with 206 and learns the size from Content-Range", async () => {
    seen.length = 0;
    const s = new HttpSource(base + "normal");
    expect(await s.read(100, 50)).toEqual(blob.subarray(100, 150));
    expect(await s.size()).toBe(10_000); // from Content-Range, no extra request
    expect(seen).toEqual([{ method: "GET", range: "bytes=100-149" }]);
    expect(s.stats).toEqual({ requests: 1, bytes: 50 });
    await expectCode(s.read(9_990, 20), "OUT_OF_RANGE"); // known size: refused locally
    expect(s.stats.requests).toBe(1);
  });
  it("gets the size by HEAD, or by a 0-0 range when HEAD does not work", async () => {
    const a = new HttpSource(base + "normal");
    expect(await a.size()).toBe(10_000);
    expect(a.stats.requests).toBe(1);
    seen.length = 0;
    const b = new HttpSource(base + "no-head");
    expect(await b.size()).toBe(10_000);
    expect(seen.map((x) => x.method + " " + (x.range ?? ""))).toEqual(["HEAD ", "GET bytes=0-0"]);
  });
  it("takes what it needs from a 200 and stops", async () => {
    const s = new HttpSource(base + "ignore-range");
    expect(await s.read(2000, 10)).toEqual(blob.subarray(2000, 2010));
    expect(s.stats.bytes).toBeLessThanOrEqual(10_000);
    expect(await s.size()).toBe(10_000);
    const t = new HttpSource(base + "no-length-200");
    expect(await t.read(9_000, 1000)).toEqual(blob.subarray(9_000));
    const e = await expectCode(new HttpSource(base + "no-length-200").read(9_500, 1000), "OUT_OF_RANGE");
    expect(e.details.size).toBe(10_000);
  });
  it("reports 416 as OUT_OF_RANGE and learns the size", async () => {
    const s = new HttpSource(base + "normal");
    const e = await expectCode(s.read(20_000, 5), "OUT_OF_RANGE");
    expect(e.details).toMatchObject({ status: 416, size: 10_000 });
    expect(await s.size()).toBe(10_000);
  });
  it("reports a range cut at the end of the blob as OUT_OF_RANGE", async () => {
    const e = await expectCode(new HttpSource(base + "normal").read(9_990, 20), "OUT_OF_RANGE");
    expect(e.details.size).toBe(10_000);
  });
  it("rejects bad Content-Range, other ranges, short and long bodies, error statuses", async () => {
    await expectCode(new HttpSource(base + "bad-content-range").read(0, 10), "HTTP");
    const wrong = await expectCode(new HttpSource(base + "wrong-range").read(0, 10), "HTTP");
    expect(wrong.details.status).toBe(206);
    await expectCode(new HttpSource(base + "short-body").read(0, 10), "TRUNCATED");
    await expectCode(new HttpSource(base + "long-body").read(0, 10), "HTTP");
    const e500 = await expectCode(new HttpSource(base + "500").read(0, 10), "HTTP");
    expect(e500.details.status).toBe(500);
    await expectCode(new HttpSource(base + "500").size(), "HTTP");
  });
  it("fails with IO when the server cannot be reached, and with INCONSISTENT on a size change", async () => {
    await expectCode(new HttpSource("http://127.0.0.1:1/x").read(0, 1), "IO");
    await expectCode(new HttpSource(base + "normal", { size: 5_000 }).read(0, 10), "INCONSISTENT");
    expect(() => new HttpSource(base, { size: -1 })).toThrow(LayerkitError);
  });
  it("uses an injected fetch and headers", async () => {
    const calls: RequestInit[] = [];
    const fake: typeof fetch = async (_url, init) => {
      calls.push(init!);
      return new Response(blob.subarray(0, 4), { status: 206, headers: { "content-range": "bytes 0-3/4" } });
    };
    const s = new HttpSource("http://example.invalid/b", { fetch: fake, headers: { authorization: "Bearer x" } });
    expect(await s.read(0, 4)).toEqual(blob.subarray(0, 4));
    const h = new Headers(calls[0]!.headers);
    expect(h.get("authorization")).toBe("Bearer x");
    expect(h.get("range")).toBe("bytes=0-3");
  });
});
