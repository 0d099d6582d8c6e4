/**
 * Bounded network behaviour against local servers on 127.0.0.1 (the fault server of
 * test/support/http-server.ts, a few hand-written ones, python's http.server): the one HTTP
 * client's redirect cache for registry blobs, retries of manifest requests, idle timeouts, the
 * request bound of every operation under every fault, request counts of lazy reads (suffix tail
 * probe, never a HEAD), servers that ignore Range (warned once, downloaded once), multi-range
 * fallbacks, and eStargz chunk-read coalescing. Counts come from the sources' stats and the
 * servers' own logs, which must agree.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Core } from "../../src/core.js";
import { createLayer, type CreateLayerOptions } from "../../src/create-layer.js";
import { LayerkitError } from "../../src/errors.js";
import { readEstargzToc } from "../../src/formats/estargz/reader.js";
import { readToc } from "../../src/formats/zstd-chunked/read-toc.js";
import { readFile, TAIL_PROBE } from "../../src/lazy/index.js";
import { RegistryClient } from "../../src/registry/client.js";
import { RegistryTransport } from "../../src/registry/transport.js";
import { loadCore } from "../../src/runtime/node.js";
import { HttpSource, type HttpSourceOptions, type SourceWarning } from "../../src/source/http.js";
import { MemorySource } from "../../src/source/memory.js";
import { type TarWriteEntry, TarWriter } from "../../src/tar/writer.js";
import { randomBytes } from "../fixtures/tars.js";
import { type BlobBehaviour, FaultServer } from "../support/http-server.js";
import { expectCode, freePort } from "../support/registry.js";
import { bytesOf } from "../support/streams.js";
import { buildCli, runCliAsync } from "./cli-run.js";

const enc = new TextEncoder();
const blob = randomBytes(256 * 1024, 11);
const fast = { retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 4 } };
let core: Core;
let server: FaultServer;
let cdn: FaultServer;
let n = 0;

function setup(behaviour: BlobBehaviour = {}, options: HttpSourceOptions = {}, data = blob): { path: string; source: HttpSource } {
  const path = `/b${n++}`;
  return { path, source: new HttpSource(server.serve(path, data, behaviour), { ...fast, idleTimeoutMs: 300, ...options }) };
}

async function tar(entries: TarWriteEntry[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const w = new TarWriter((c) => void parts.push(c.slice()));
  for (const e of entries) await w.add(e);
  await w.finish();
  return Buffer.concat(parts);
}

async function layer(entries: TarWriteEntry[], options: CreateLayerOptions) {
  const t = await tar(entries);
  const w = createLayer(new ReadableStream({ start: (c) => (c.enqueue(t), c.close()) }), { core, ...options });
  const bytes = new Uint8Array(await bytesOf(w.stream));
  return { blob: bytes, result: await w.result };
}

const small: TarWriteEntry[] = [
  { name: "etc/", type: "dir" },
  { name: "etc/os-release", data: enc.encode("ID=layerkit\nVERSION_ID=1\n") },
  { name: "usr/lib/data.bin", data: randomBytes(40_000, 3) },
];
/** 3,000 files: a TOC far larger than the 64 KiB tail probe. */
const many: TarWriteEntry[] = Array.from(
  { length: 3000 },
  (_, i) => ({ name: `srv/file-${i}.txt`, data: enc.encode(`file ${i}\n`.repeat(1 + (i % 7))) }),
);

beforeAll(async () => {
  core = await loadCore();
  server = await FaultServer.start();
  cdn = await FaultServer.start();
});
afterAll(async () => {
  await server.close();
  await cdn.close();
});

describe("one HTTP path for registry blobs", () => {
  it("3 range reads behind a CDN redirect cost 4 requests, all counted, the redirect cache used", async () => {
    const digest = "sha256:" + "ab".repeat(32);
    const target = cdn.serve("/cdn/blob-a", blob);
    const blobPath = `/v2/team/app/blobs/${digest}`;
    server.serve(blobPath, blob, { redirectTo: target });
    const client = new RegistryClient(new URL(server.url("/")).host, fast);
    const src = client.blobSource("team/app", { digest, size: blob.length });
    for (const off of [0, 100_000, 200_000]) expect(await src.read(off, 1000)).toEqual(blob.subarray(off, off + 1000));
    expect(server.requestsFor(blobPath)).toHaveLength(1);
    expect(cdn.requestsFor("/cdn/blob-a")).toHaveLength(3);
    expect(src.stats.requests).toBe(4);
    expect(client.transport.requests).toBe(4);
    // A second source of the same blob goes straight to the CDN: the cache is the client's.
    const again = client.blobSource("team/app", { digest, size: blob.length });
    expect(await again.read(5, 5)).toEqual(blob.subarray(5, 10));
    expect(again.stats.requests).toBe(1);
  });

  it("Authorization from a registry challenge reaches the registry only, never the CDN", async () => {
    const digest = "sha256:" + "cd".repeat(32);
    const seen: { host: string; auth: string | null }[] = [];
    const target = cdn.serve("/cdn/blob-b", blob);
    // A fetch in front of the fault server that answers 401 Basic to unauthenticated registry requests.
    const registryHost = new URL(server.url("/")).host;
    const gate: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      const auth = new Headers(init?.headers).get("authorization");
      seen.push({ host: url.host, auth });
      if (url.host === registryHost && auth === null) {
        return new Response("", { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } });
      }
      return fetch(input, init);
    };
    server.serve(`/v2/team/app/blobs/${digest}`, blob, { redirectTo: target });
    const client = new RegistryClient(registryHost, { ...fast, fetch: gate, credentials: { username: "u", password: "p" } });
    const src = client.blobSource("team/app", { digest, size: blob.length });
    expect(await src.read(10, 10)).toEqual(blob.subarray(10, 20));
    expect(await src.read(50, 10)).toEqual(blob.subarray(50, 60));
    expect(seen.map((s) => [s.host === registryHost ? "registry" : "cdn", s.auth !== null])).toEqual([
      ["registry", false],
      ["registry", true],
      ["cdn", false],
      ["cdn", false],
    ]);
    expect(src.stats.requests).toBe(4);
    expect(src.stats.requests).toBeLessThanOrEqual(src.requestBound(2));
  });

  it("manifest and other GET/HEAD requests are retried on 5xx; a POST is not", async () => {
    let calls = 0;
    const plain: Server = createServer((req, res) => {
      calls++;
      if (req.method === "GET" && calls <= 2) return res.writeHead(503).end("busy");
      res.writeHead(req.method === "POST" ? 503 : 200, { "content-type": "text/plain" }).end("ok");
    });
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    try {
      const t = new RegistryTransport(`127.0.0.1:${(plain.address() as AddressInfo).port}`, fast);
      const res = await t.request(t.url("/v2/team/app/manifests/v1"));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("ok");
      expect(t.requests).toBe(3);
      const post = await t.request(t.url("/v2/team/app/blobs/uploads/"), { method: "POST" });
      expect(post.status).toBe(503);
      await post.body?.cancel();
      expect(t.requests).toBe(4);
    } finally {
      plain.closeAllConnections();
      await new Promise((r) => plain.close(r));
    }
  });
});

describe("idle timeout", () => {
  it("a server that stops sending mid-body fails with TIMEOUT, retried within the bound", async () => {
    const { path, source } = setup({ stall: "body" });
    const e = await expectCode(source.read(1000, 20_000), "TIMEOUT");
    expect(e.details.idleTimeoutMs).toBe(300);
    expect(server.requestsFor(path)).toHaveLength(3); // 1 + 2 retries
    expect(source.stats.requests).toBe(3);
  });

  it("a server that never answers fails with TIMEOUT, for blob reads and registry requests alike", async () => {
    const { path, source } = setup({ stall: "headers" }, { retry: { retries: 0 } });
    await expectCode(source.readTail(100), "TIMEOUT");
    expect(server.requestsFor(path)).toHaveLength(1);
    const t = new RegistryTransport(new URL(server.url("/")).host, { retry: { retries: 1, baseDelayMs: 1 }, idleTimeoutMs: 200 });
    await expectCode(t.request(server.url(path)), "TIMEOUT");
    expect(t.requests).toBe(2);
  });

  it("one stall is retried and the read gives the right bytes", async () => {
    const { path, source } = setup({ transient: { fault: "stall-mid-body", times: 1 } });
    expect(await source.read(4096, 50_000)).toEqual(blob.subarray(4096, 54_096));
    expect(server.requestsFor(path)).toHaveLength(2);
  });
});

describe("every fault: the right bytes or a typed error, within the request bound", () => {
  const far = [
    { offset: 200_000, length: 100 },
    { offset: 10, length: 20 },
    { offset: 100_000, length: 4096 },
  ];
  const faults: [string, BlobBehaviour][] = [
    ["200 instead of 206", { ignoreRange: true }],
    ["a 5xx burst", { transient: { fault: "503", times: 2 } }],
    ["endless 5xx", { transient: { fault: "500", times: 1000 } }],
    ["connection resets", { transient: { fault: "reset", times: 1000 } }],
    ["a reset mid-body", { transient: { fault: "reset-mid-body", times: 1 } }],
    ["truncated bodies", { transient: { fault: "short-body", times: 1000 } }],
    ["a wrong Content-Range", { wrongContentRange: true }],
    ["a wrong Content-Length", { wrongContentLength: true }],
    ["bad multipart ranges", { badMultipart: "wrong-range" }],
    ["multipart garbage", { badMultipart: "garbage" }],
    ["a multipart body without its end", { badMultipart: "no-boundary-end" }],
    ["a merged multi-range answer", { mergeMultiRange: true }],
    ["multi-range refused", { refuseMultiRange: 416 }],
    ["stalls", { stall: "body" }],
  ];
  const ops: [string, (s: HttpSource) => Promise<Uint8Array[]>, Uint8Array[], number][] = [
    ["read", async (s) => [await s.read(5000, 3000)], [blob.subarray(5000, 8000)], 1],
    ["readRanges", (s) => s.readRanges(far), far.map((r) => blob.subarray(r.offset, r.offset + r.length)), far.length + 8],
    ["readTail", async (s) => [(await s.readTail(4096)).bytes], [blob.subarray(blob.length - 4096)], 1],
  ];
  for (const [label, behaviour] of faults) {
    it.each(ops)(`%s from a server with ${label}`, async (_op, run, want, units) => {
      const { path, source } = setup(behaviour);
      let got: Uint8Array[] | LayerkitError;
      try {
        got = await run(source);
      } catch (e) {
        expect(e).toBeInstanceOf(LayerkitError);
        got = e as LayerkitError;
      }
      if (!(got instanceof LayerkitError)) expect(got).toEqual(want);
      const sent = server.requestsFor(path).length;
      expect(source.stats.requests).toBe(sent);
      expect(sent).toBeLessThanOrEqual(source.requestBound(units));
      expect(sent).toBeGreaterThan(0);
    });
  }

  it("a redirect loop stops after maxRedirects with a typed error and exactly 1 + maxRedirects requests", async () => {
    const path = `/loop${n++}`;
    const url = server.serve(path, blob, { redirectTo: server.url(path) });
    const source = new HttpSource(url, { ...fast, maxRedirects: 4 });
    const e = await expectCode(source.read(0, 10), "HTTP");
    expect(e.details.status).toBe(302);
    expect(server.requestsFor(path)).toHaveLength(5); // not retried: a loop is final
    expect(source.stats.requests).toBe(5);
    expect(source.requestBound(1)).toBe(3 * 5);
  });
});

describe("a lazy read learns size and footer with one suffix request, never a HEAD", () => {
  it.each(["zstd:chunked", "estargz"] as const)("%s, small layer, no annotations, size unknown: 2 requests", async (format) => {
    const { blob: b } = await layer(small, { format });
    const path = `/lazy${n++}`;
    const source = new HttpSource(server.serve(path, b), fast);
    expect(new TextDecoder().decode(await readFile(source, "etc/os-release", { core }))).toBe("ID=layerkit\nVERSION_ID=1\n");
    const log = server.requestsFor(path);
    expect(log.map((r) => r.method)).not.toContain("HEAD");
    expect(log[0]!.range).toBe(`bytes=-${TAIL_PROBE}`);
    expect(source.stats.requests).toBe(2);
    expect(log).toHaveLength(2);
  });

  it.each(["zstd:chunked", "estargz"] as const)(
    "%s with a TOC larger than the probe: 3 requests without annotations, 2 with zstd:chunked's annotations",
    async (format) => {
      const built = await layer(many, { format });
      const annotations = built.result.descriptor.annotations ?? {};
      const toc = format === "zstd:chunked"
        ? (await readToc(new MemorySource(built.blob), { core })).tocPosition.length
        : built.blob.length - (await readEstargzToc(new MemorySource(built.blob), { core })).tocOffset;
      expect(toc).toBeGreaterThan(TAIL_PROBE);
      const bare = new HttpSource(server.serve(`/many${n++}`, built.blob), fast);
      expect(new TextDecoder().decode(await readFile(bare, "srv/file-2999.txt", { core }))).toBe("file 2999\n".repeat(4));
      expect(bare.stats.requests).toBe(3);
      const known = new HttpSource(server.serve(`/many${n++}`, built.blob), { ...fast, size: built.blob.length });
      expect(new TextDecoder().decode(await readFile(known, "srv/file-7.txt", { core, annotations }))).toBe("file 7\n");
      // zstd:chunked's annotations locate the TOC (2 requests); eStargz's only authenticate it (3).
      expect(known.stats.requests).toBe(format === "zstd:chunked" ? 2 : 3);
    },
  );

  it("zstd:chunked with annotations, size unknown: 2 requests for a small layer", async () => {
    const built = await layer(small, { format: "zstd:chunked" });
    const source = new HttpSource(server.serve(`/ann${n++}`, built.blob), fast);
    expect((await readFile(source, "usr/lib/data.bin", { core, annotations: built.result.descriptor.annotations ?? {} })).length).toBe(
      40_000,
    );
    expect(source.stats.requests).toBe(2);
  });
});

describe("servers that ignore Range", () => {
  it.each(["zstd:chunked", "estargz"] as const)("%s: a lazy read downloads the blob once, warned once", async (format) => {
    const { blob: b } = await layer(small, { format });
    const path = `/norange${n++}`;
    const warnings: SourceWarning[] = [];
    const source = new HttpSource(server.serve(path, b, { ignoreRange: true }), { ...fast, onWarning: (w) => warnings.push(w) });
    expect((await readFile(source, "usr/lib/data.bin", { core })).length).toBe(40_000);
    expect(new TextDecoder().decode(await readFile(source, "etc/os-release", { core }))).toContain("layerkit");
    expect(server.requestsFor(path)).toHaveLength(1);
    expect(source.stats.bytes).toBe(b.length);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: "RANGE_IGNORED", kept: true, size: b.length });
    expect(source.warnings).toEqual(warnings);
  });

  it("a blob over maxFullBody is never held: each read streams a new 200, still warned once", async () => {
    const warnings: SourceWarning[] = [];
    const { path, source } = setup({ ignoreRange: true }, { maxFullBody: 1000, onWarning: (w) => warnings.push(w) });
    expect(await source.read(10, 10)).toEqual(blob.subarray(10, 20));
    expect(await source.read(100_000, 10)).toEqual(blob.subarray(100_000, 100_010));
    expect(server.requestsFor(path)).toHaveLength(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.kept).toBe(false);
  });

  it("a 200 to a multi-range request serves every span, and later reads, from that one response", async () => {
    const { path, source } = setup({ ignoreRange: true });
    const ranges = Array.from({ length: 10 }, (_, i) => ({ offset: i * 25_000, length: 100 }));
    const got = await source.readRanges(ranges);
    ranges.forEach((r, i) => expect(got[i]).toEqual(blob.subarray(r.offset, r.offset + r.length)));
    expect(await source.read(7, 7)).toEqual(blob.subarray(7, 14));
    expect((await source.readTail(10)).bytes).toEqual(blob.subarray(blob.length - 10));
    expect(server.requestsFor(path)).toHaveLength(1);
  });

  it("a 400 to a multi-range request halves the ranges per request until the server takes them", async () => {
    const { path, source } = setup({ maxRanges: 4 }, { maxRangesPerRequest: 16, coalesceGap: 0 });
    const ranges = Array.from({ length: 20 }, (_, i) => ({ offset: i * 12_000, length: 50 }));
    const got = await source.readRanges(ranges);
    ranges.forEach((r, i) => expect(got[i]).toEqual(blob.subarray(r.offset, r.offset + r.length)));
    const counts = server.requestsFor(path).map((r) => r.range!.split(",").length);
    expect(counts).toEqual([16, 8, 4, 4, 4, 4, 4]);
    expect(source.multiRange).toBe(true);
  });
});

describe("EstargzReader.readFile coalesces a file's chunk reads", () => {
  it("a 70 KB file in 1 KiB chunks is one request, not 69", async () => {
    const data = randomBytes(70_000, 5);
    const { blob: b } = await layer([{ name: "big.bin", data }], { format: "estargz", chunkSize: 1024 });
    const source = new HttpSource(server.serve(`/chunks${n++}`, b), { ...fast, size: b.length });
    const reader = await readEstargzToc(source, { core });
    expect(reader.lookup("big.bin")!.chunks.length).toBe(69);
    const before = source.stats.requests;
    expect(await reader.readFile("big.bin")).toEqual(data);
    expect(source.stats.requests - before).toBe(1);
  });
});

describe("python3 -m http.server (no Range support) through the CLI", () => {
  let dir: string;
  let py: ChildProcess | undefined;
  let base: string;
  beforeAll(async () => {
    buildCli();
    dir = mkdtempSync(join(tmpdir(), "layerkit-net-"));
    const built = await layer([...small, { name: "usr/share/pad.bin", data: randomBytes(2_000_000, 9) }], { format: "zstd:chunked" });
    writeFileSync(join(dir, "layer.zst"), built.blob);
    const port = await freePort();
    py = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", dir], { stdio: "ignore" });
    base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      if (await fetch(base + "/").then((r) => (r.body?.cancel(), true), () => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("python3 -m http.server did not start");
  }, 60_000);
  afterAll(() => {
    py?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("cat of a small file: one download, one warning on stderr and in --json", async () => {
    const size = (await fetch(base + "/layer.zst", { method: "HEAD" })).headers.get("content-length");
    const r = await runCliAsync(["cat", base + "/layer.zst", "etc/os-release", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { size: number; requests: number; bytesFetched: number; warnings: SourceWarning[] };
    expect(out.size).toBe(25);
    expect(out.requests).toBe(1);
    expect(out.bytesFetched).toBe(Number(size));
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toMatchObject({ code: "RANGE_IGNORED", kept: true });
    expect(r.stderr.split("\n").filter((l) => l.includes("ignores Range"))).toHaveLength(1);
    const text = await runCliAsync(["cat", base + "/layer.zst", "etc/os-release"]);
    expect(text.stdout).toBe("ID=layerkit\nVERSION_ID=1\n");
    expect(text.stderr.split("\n").filter((l) => l.includes("warning"))).toHaveLength(1);
  });
});
