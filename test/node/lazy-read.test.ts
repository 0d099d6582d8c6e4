/**
 * Lazy single-file reads over HTTP (the fault-injecting server of test/support/http-server.ts) for
 * zstd:chunked and eStargz layers, ours and upstream's: exact request and byte counts from the
 * source's stats, digests checked before bytes are handed out, hardlinks, zeros chunks, servers
 * that ignore Range or fail transiently, and typed errors on bad input.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/runtime/node.js";
import type { Core } from "../../src/core.js";
import { createLayer, type CreateLayerOptions } from "../../src/create-layer.js";
import { readEstargzToc } from "../../src/formats/estargz/reader.js";
import { ANNOTATION_ESTARGZ_TOC_DIGEST } from "../../src/layer/annotations.js";
import { readToc } from "../../src/formats/zstd-chunked/read-toc.js";
import type { TocFile } from "../../src/layer/toc-parse.js";
import { FOOTER_PROBE, openFile, openLayerIndex, PrefetchSource, readFile } from "../../src/lazy/index.js";
import { estargzFileChunks } from "../../src/formats/estargz/file-chunks.js";
import { HttpSource } from "../../src/source/http.js";
import { MemorySource } from "../../src/source/memory.js";
import { type TarWriteEntry, TarWriter } from "../../src/tar/writer.js";
import { expectCode } from "../support/registry.js";
import { type BlobBehaviour, FaultServer } from "../support/http-server.js";
import { bytesOf } from "../support/streams.js";

const enc = new TextEncoder();
const sha = (b: Uint8Array) => "sha256:" + createHash("sha256").update(b).digest("hex");
const fast = { retry: { baseDelayMs: 1, maxDelayMs: 4 } };

/** Compressible text with some randomness, so frames have real content. */
function text(n: number, seed: number): Uint8Array {
  const words = ["layer ", "chunk ", "frame\n", "toc ", "/usr/share/", "zstd ", "gzip "].map((w) => enc.encode(w));
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  let i = 0;
  while (i < n) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const w = words[(s >>> 0) % words.length]!;
    for (let j = 0; j < w.length && i < n; j++) out[i++] = w[j]!;
    if (i < n && (s & 0xff) < 20) out[i++] = (s >>> 8) & 0xff;
  }
  return out;
}

interface Spec {
  entry: TarWriteEntry;
  /** Streamed payload (for huge files); else `entry.data`. */
  stream?: () => AsyncIterable<Uint8Array>;
}

/** A tar stream of `specs`, generated as it is read (huge payloads never sit in memory). */
function tarStream(specs: Spec[]): ReadableStream<Uint8Array> {
  const queue: Uint8Array[] = [];
  const w = new TarWriter((c) => void queue.push(c.slice()));
  const it = (async function* () {
    for (const s of specs) {
      await w.add(s.entry, s.stream?.());
      yield;
    }
    await w.finish();
  })();
  return new ReadableStream({
    async pull(c) {
      while (queue.length === 0) {
        if ((await it.next()).done) break;
      }
      if (queue.length === 0) c.close();
      else c.enqueue(queue.shift()!);
    },
  });
}

async function build(specs: Spec[], options: CreateLayerOptions) {
  const w = createLayer(tarStream(specs), options);
  const blob = await bytesOf(w.stream);
  return { blob: new Uint8Array(blob), result: await w.result };
}

/** [first byte, end) of the compressed bytes a file's non-zeros chunks occupy. */
function fileSpan(f: TocFile): { start: number; end: number } {
  const data = f.chunks.filter((c) => !c.zeros);
  return { start: Math.min(...data.map((c) => c.offset)), end: Math.max(...data.map((c) => c.end)) };
}

let core: Core;
let server: FaultServer;
let n = 0;
function serve(blob: Uint8Array, behaviour: BlobBehaviour = {}): HttpSource {
  const url = server.serve(`/layer${n++}`, blob, behaviour);
  return new HttpSource(url, { ...fast, size: blob.length });
}

beforeAll(async () => {
  core = await loadCore();
  server = await FaultServer.start();
});
afterAll(async () => {
  await server.close();
});

const MiB = 1 << 20;
const target = text(300 * 1024, 5);

describe("a file out of a 1 GiB zstd:chunked layer over HTTP", () => {
  let blob: Uint8Array;
  let annotations: Record<string, string>;
  beforeAll(async () => {
    const zero = new Uint8Array(MiB);
    const t0 = performance.now();
    const built = await build(
      [
        { entry: { name: "etc/", type: "dir" } },
        { entry: { name: "etc/small.txt", data: text(5000, 1) } },
        {
          // 1 GiB, mostly holes with a little text every 64 MiB: a sparse disk image.
          entry: { name: "var/disk.img", size: 1024 * MiB },
          stream: async function* () {
            for (let i = 0; i < 1024; i++) yield i % 64 === 0 ? text(MiB, i + 100) : zero;
          },
        },
        { entry: { name: "etc/target.conf", data: target } },
        { entry: { name: "etc/link.conf", type: "hardlink", linkname: "etc/target.conf" } },
        { entry: { name: "etc/after.txt", data: text(7000, 2) } },
      ],
      { format: "zstd:chunked", core },
    );
    console.log(
      `1 GiB zstd:chunked layer: ${built.blob.length} bytes compressed, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    blob = built.blob;
    annotations = built.result.descriptor.annotations ?? {};
  }, 600_000);

  it("with annotations: 2 requests, the TOC region and the file's frames, nothing else", async () => {
    const ref = await readToc(new MemorySource(blob), { core, annotations });
    const entry = ref.entries.find((e) => e.name === "etc/target.conf")!;
    const span = fileSpan(entry);
    const tocStart = ref.tocPosition.offset - 8;
    const source = serve(blob);
    const got = await readFile(source, "etc/link.conf", { annotations, core });
    expect(sha(got)).toBe(sha(target));
    console.log(
      `1 GiB layer, with annotations: ${source.stats.requests} requests, ${source.stats.bytes} bytes (file ${
        span.end - span.start
      }, TOC frame ${8 + ref.tocPosition.length}, TOC start to end ${blob.length - tocStart})`,
    );
    expect(source.stats.requests).toBe(2);
    expect(source.stats.bytes).toBe(blob.length - tocStart + (span.end - span.start));
    // The budget: compressed file + TOC frame + footer + 1 KiB (the small tar-split
    // between TOC and footer fits in the 1 KiB).
    expect(source.stats.bytes).toBeLessThanOrEqual(span.end - span.start + (8 + ref.tocPosition.length) + 72 + 1024);
  });

  it("without annotations: 3 requests (footer probe, TOC, file)", async () => {
    const ref = await readToc(new MemorySource(blob), { core });
    const entry = ref.entries.find((e) => e.name === "etc/target.conf")!;
    const span = fileSpan(entry);
    const tocStart = ref.tocPosition.offset - 8;
    const source = serve(blob);
    // probeSize FOOTER_PROBE: the byte-tight mode (the default probe fetches a speculative 64 KiB tail; see lazy-requests.test.ts).
    expect(sha(await readFile(source, "/etc/target.conf", { core, probeSize: FOOTER_PROBE }))).toBe(sha(target));
    expect(source.stats.requests).toBe(3);
    // The footer probe, the TOC frame alone (the tar-split after it is not needed), the file.
    expect(source.stats.bytes).toBe(FOOTER_PROBE + (8 + ref.tocPosition.length) + (span.end - span.start));
    expect(tocStart + 8 + ref.tocPosition.length).toBeLessThan(blob.length - FOOTER_PROBE);
  });

  it("streams the 1 GiB sparse file: holes are synthesised, not fetched", async () => {
    const source = serve(blob);
    const { entry, stream, index } = await openFile(source, "var/disk.img", { annotations, core });
    expect(index.format).toBe("zstd:chunked");
    expect(index.authenticated).toBe(true);
    expect(entry.chunks.some((c) => c.zeros)).toBe(true);
    const h = createHash("sha256");
    let size = 0;
    const r = stream.getReader();
    for (let x = await r.read(); !x.done; x = await r.read()) {
      h.update(x.value);
      size += x.value.length;
    }
    expect(size).toBe(1024 * MiB);
    expect("sha256:" + h.digest("hex")).toBe(entry.digest);
    // Only the data frames came over the wire: far less than the blob itself.
    expect(source.stats.bytes).toBeLessThan(blob.length);
  }, 300_000);
});

const files = {
  "etc/os-release": text(900, 11),
  "usr/lib/big.bin": text(700 * 1024, 12),
  "usr/lib/holes.bin": new Uint8Array([...text(4000, 13), ...new Uint8Array(200_000), ...text(3000, 14)]),
  "usr/share/empty": new Uint8Array(0),
};
const smallSpecs: Spec[] = [
  { entry: { name: "etc/", type: "dir" } },
  { entry: { name: "etc/os-release", data: files["etc/os-release"] } },
  { entry: { name: "usr/", type: "dir" } },
  { entry: { name: "usr/lib/", type: "dir" } },
  { entry: { name: "usr/lib/big.bin", data: files["usr/lib/big.bin"] } },
  { entry: { name: "usr/lib/holes.bin", data: files["usr/lib/holes.bin"] } },
  { entry: { name: "usr/lib/big-link", type: "hardlink", linkname: "usr/lib/big.bin" } },
  { entry: { name: "usr/lib/sym", type: "symlink", linkname: "big.bin" } },
  { entry: { name: "usr/share/empty", data: files["usr/share/empty"] } },
];

describe("a zstd:chunked layer whose tar-split is far bigger than 1 KiB", () => {
  it("with annotations: the TOC frame, the footer and the file, within file + TOC + footer + 1 KiB", async () => {
    // 3,000 small files: a tar-split of tens of KiB sits between the TOC and the footer.
    const specs: Spec[] = [{ entry: { name: "srv/", type: "dir" } }];
    for (let i = 0; i < 3000; i++) specs.push({ entry: { name: `srv/f${i}.txt`, data: text(100 + (i % 50), i) } });
    specs.push({ entry: { name: "srv/wanted.txt", data: target } });
    const built = await build(specs, { format: "zstd:chunked", core });
    const annotations = built.result.descriptor.annotations ?? {};
    const ref = await readToc(new MemorySource(built.blob), { core, annotations });
    const tarSplitFrame = built.blob.length - 72 - (ref.tocPosition.offset + ref.tocPosition.length);
    expect(tarSplitFrame).toBeGreaterThan(16 * 1024);
    const span = fileSpan(ref.entries.find((e) => e.name === "srv/wanted.txt")!);
    const source = serve(built.blob);
    expect(sha(await readFile(source, "srv/wanted.txt", { annotations, core }))).toBe(sha(target));
    expect(source.stats.requests).toBeLessThanOrEqual(3);
    expect(source.stats.bytes).toBeLessThanOrEqual(span.end - span.start + (8 + ref.tocPosition.length) + 72 + 1024);
    // Without annotations: a footer probe instead, and still no tar-split.
    const bare = serve(built.blob);
    expect(sha(await readFile(bare, "srv/wanted.txt", { core, probeSize: FOOTER_PROBE }))).toBe(sha(target));
    expect(bare.stats.requests).toBeLessThanOrEqual(3);
    expect(bare.stats.bytes).toBeLessThanOrEqual(span.end - span.start + (8 + ref.tocPosition.length) + 72 + 1024);
  });
});

describe("eStargz layers over HTTP", () => {
  let blob: Uint8Array;
  let tocDigest: string;
  beforeAll(async () => {
    const built = await build(smallSpecs, { format: "estargz", chunkSize: 64 * 1024, core });
    blob = built.blob;
    tocDigest = (built.result as { tocDigest: string }).tocDigest;
  }, 120_000);

  it("reads every file with 3 requests: footer probe, TOC member, the file's members", async () => {
    const ref = await readEstargzToc(new MemorySource(blob), { core });
    const tocLength = blob.length - 51 - ref.tocOffset;
    for (const [name, data] of Object.entries(files)) {
      const source = serve(blob);
      const got = await readFile(source, name, {
        core,
        probeSize: FOOTER_PROBE,
        annotations: { [ANNOTATION_ESTARGZ_TOC_DIGEST]: tocDigest },
      });
      expect(sha(got), name).toBe(sha(data));
      const entry = ref.lookup(name)!;
      const fileBytes = entry.chunks.length ? Math.max(...entry.chunks.map((c) => c.end)) - entry.chunks[0]!.offset : 0;
      expect(source.stats.requests, name).toBe(entry.chunks.length ? 3 : 2);
      expect(source.stats.bytes, name).toBe(FOOTER_PROBE + tocLength + fileBytes);
    }
    expect(ref.lookup("usr/lib/big.bin")!.chunks.length).toBeGreaterThan(5); // many members, one request
  });

  it("fetches a big file in bounded windows, one request each", async () => {
    const source = serve(blob);
    const prefetch = new PrefetchSource(source);
    const reader = await readEstargzToc(prefetch, { core });
    const file = reader.lookup("usr/lib/big.bin")!;
    const window = 40 * 1024;
    // Windows: consecutive chunks while the span from the window's first chunk fits.
    let windows = 0;
    let start = -1;
    for (const c of file.chunks) {
      if (start < 0 || c.end - start > window) {
        windows++;
        start = c.offset;
      }
    }
    expect(windows).toBeGreaterThan(2);
    const before = source.stats.requests;
    const parts: Uint8Array[] = [];
    for await (const chunk of estargzFileChunks(reader, prefetch, file, window)) parts.push(chunk);
    expect(sha(Buffer.concat(parts))).toBe(sha(files["usr/lib/big.bin"]));
    expect(source.stats.requests - before).toBe(windows);
  });

  it("follows hardlinks, streams with openFile, and authenticates the TOC by its annotation", async () => {
    const source = serve(blob);
    const { entry, index, stream } = await openFile(source, "./usr/lib/big-link", {
      core,
      annotations: { [ANNOTATION_ESTARGZ_TOC_DIGEST]: tocDigest },
    });
    expect(entry.name).toBe("usr/lib/big.bin");
    expect(index.format).toBe("estargz");
    expect(index.authenticated).toBe(true);
    expect(sha(await bytesOf(stream))).toBe(sha(files["usr/lib/big.bin"]));
    const wrong = "sha256:" + "0".repeat(64);
    await expectCode(
      readFile(serve(blob), "etc/os-release", { core, annotations: { [ANNOTATION_ESTARGZ_TOC_DIGEST]: wrong } }),
      "DIGEST_MISMATCH",
    );
  });

  it("reads an eStargz layer written by upstream's estargz.Build (Go harness)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "layerkit-lazy-"));
    try {
      const harness = execFileSync("bash", [join(import.meta.dirname, "../go/build-estargz.sh"), join(dir, "bin")], { encoding: "utf8" })
        .trim().split("\n").pop()!;
      writeFileSync(join(dir, "in.tar"), await bytesOf(tarStream(smallSpecs)));
      const out = JSON.parse(
        execFileSync(harness, ["build", "--chunk-size", String(64 * 1024), join(dir, "in.tar"), join(dir, "out.gz")], {
          encoding: "utf8",
          env: { ...process.env, GOMAXPROCS: "1" },
        }),
      ) as { tocDigest: string };
      const upstream = new Uint8Array(readFileSync(join(dir, "out.gz")));
      const annotations = { [ANNOTATION_ESTARGZ_TOC_DIGEST]: out.tocDigest };
      const source = serve(upstream);
      const index = await openLayerIndex(source, { core, annotations, probeSize: FOOTER_PROBE });
      expect(index.format).toBe("estargz");
      expect(index.authenticated).toBe(true);
      expect(source.stats.requests).toBe(2);
      for (const [name, data] of Object.entries(files)) {
        const before = source.stats.requests;
        expect(sha(await readFile(source, name, { core, index })), name).toBe(sha(data));
        expect(source.stats.requests - before, name).toBe(data.length ? 1 : 0);
      }
      expect(sha(await readFile(source, "usr/lib/big-link", { core, index }))).toBe(sha(files["usr/lib/big.bin"]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe("zstd:chunked and eStargz against misbehaving servers and bad input", () => {
  let zc: { blob: Uint8Array; annotations: Record<string, string> };
  let gz: Uint8Array;
  beforeAll(async () => {
    const a = await build(smallSpecs, { format: "zstd:chunked", core });
    zc = { blob: a.blob, annotations: a.result.descriptor.annotations ?? {} };
    gz = (await build(smallSpecs, { format: "estargz", chunkSize: 64 * 1024, core })).blob;
  }, 120_000);

  it.each<[string, BlobBehaviour]>([
    ["a server that ignores Range", { ignoreRange: true }],
    ["resets", { transient: { fault: "reset", times: 2 } }],
    ["503s", { transient: { fault: "503", times: 2 } }],
    ["cut bodies", { transient: { fault: "short-body", times: 1 } }],
  ])("reads correct bytes from %s", async (_label, behaviour) => {
    for (const blob of [zc.blob, gz]) {
      for (const name of ["usr/lib/big.bin", "usr/lib/holes.bin"] as const) {
        expect(sha(await readFile(serve(blob, behaviour), name, { core })), name).toBe(sha(files[name]));
      }
    }
  });

  it("zeros chunks are not fetched", async () => {
    const source = serve(zc.blob);
    const index = await openLayerIndex(source, { core, annotations: zc.annotations });
    const holes = index.entries.find((e) => e.name === "usr/lib/holes.bin")!;
    expect(holes.chunks.some((c) => c.zeros)).toBe(true);
    const before = source.stats.bytes;
    expect(sha(await readFile(source, "usr/lib/holes.bin", { core, index }))).toBe(sha(files["usr/lib/holes.bin"]));
    expect(source.stats.bytes - before).toBe(fileSpan(holes).end - fileSpan(holes).start);
  });

  it("gives typed errors for missing, unsafe and non-regular paths and over-large files", async () => {
    for (const blob of [zc.blob, gz]) {
      await expectCode(readFile(serve(blob), "etc/passwd", { core }), "NOT_FOUND");
      await expectCode(readFile(serve(blob), "../etc/os-release", { core }), "UNSAFE_PATH");
      await expectCode(readFile(serve(blob), "usr/lib", { core }), "BAD_ARGUMENT");
      await expectCode(readFile(serve(blob), "usr/lib/sym", { core }), "BAD_ARGUMENT");
      await expectCode(readFile(serve(blob), "usr/lib/big.bin", { core, maxSize: 1000 }), "LIMIT_EXCEEDED");
    }
  });

  it("refuses blobs that are not seekable layers", async () => {
    const plain = (await build(smallSpecs, { format: "zstd", core })).blob;
    await expectCode(readFile(serve(plain), "etc/os-release", { core }), "UNSUPPORTED_FORMAT");
    await expectCode(readFile(serve(enc.encode("tiny")), "etc/os-release", { core }), "UNSUPPORTED_FORMAT");
  });

  it("refuses a TOC that does not match its annotation", async () => {
    const annotations = { ...zc.annotations };
    // Every manifest-checksum key (current and old: the writer's default has both, and they must agree).
    for (const key of Object.keys(annotations).filter((k) => k.endsWith("manifest-checksum"))) {
      annotations[key] = "sha256:" + "1".repeat(64);
    }
    await expectCode(readFile(serve(zc.blob), "etc/os-release", { core, annotations }), "DIGEST_MISMATCH");
  });

  it("hands out nothing when the content does not match the TOC's digests", async () => {
    for (const blob of [zc.blob, gz]) {
      // A TOC that lies about a file's digest (single-chunk file: whole-file check first).
      const source = serve(blob);
      const index = await openLayerIndex(source, { core });
      const small = index.entries.find((e) => e.name === "etc/os-release")!;
      small.digest = "sha256:" + "2".repeat(64);
      await expectCode(readFile(source, "etc/os-release", { core, index }), "DIGEST_MISMATCH");
      // A lying chunk digest on the first chunk of a multi-chunk file: the stream errors before any byte.
      const big = index.entries.find((e) => e.name === "usr/lib/big.bin")!;
      expect(big.chunks.length).toBeGreaterThan(1);
      big.chunks[0]!.digest = "sha256:" + "3".repeat(64);
      const { stream } = await openFile(source, "usr/lib/big.bin", { core, index });
      const reader = stream.getReader();
      await expectCode(reader.read(), "DIGEST_MISMATCH");
    }
  });

  it("refuses a payload altered on the server", async () => {
    for (
      const [blob, code] of [
        [zc.blob, "ZSTD_CORRUPT"],
        [gz, "GZIP_CORRUPT"],
      ] as const
    ) {
      const ref = await openLayerIndex(new MemorySource(blob), { core });
      const entry = ref.entries.find((e) => e.name === "etc/os-release")!;
      const bad = blob.slice();
      const mid = (entry.chunks[0]!.offset + entry.chunks[0]!.end) >> 1;
      bad[mid] = bad[mid]! ^ 0x55;
      await expectCode(readFile(serve(bad), "etc/os-release", { core }), code);
    }
  });
});
