/**
 * Interop with upstream Go code, through test/go/src/layerkit-harness (Debian 12's
 * containers/storage 1.43 and stargz-snapshotter estargz 0.12, built offline).
 *
 * Reading side: blobs written by upstream's compressors from edge-case tars built here must be
 * read by our readToc exactly (generation, entries, ranges, contents), and agree with what
 * upstream's own reader (readZstdChunkedManifest + unmarshalToc + mergeTocEntries, and the whole
 * GetDiffer/ApplyDiff partial pull) finds in them.
 *
 * The harness must build: a missing Go toolchain or Debian package fails this file loudly.
 */
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Core, Hasher } from "../../src/core.js";
import type { Deflate } from "../../src/wasm/deflate.js";
import { LayerkitError } from "../../src/errors.js";
import { NodeSha256 } from "../../src/runtime/node-hash.js";
import type { Zstd } from "../../src/wasm/zstd.js";
import { MemorySource } from "../../src/source/memory.js";
import { FileSource } from "../../src/source/node-file.js";
import {
  ANNOTATION_ESTARGZ_TOC_DIGEST,
  ANNOTATION_MANIFEST_CHECKSUM,
  ANNOTATION_MANIFEST_POSITION,
  OLD_ANNOTATION_MANIFEST_CHECKSUM,
  OLD_ANNOTATION_MANIFEST_POSITION,
} from "../../src/layer/annotations.js";
import { readToc, type ReadTocResult } from "../../src/formats/zstd-chunked/read-toc.js";
import { readFile } from "../../src/lazy/read-file.js";
import { loadCore } from "../../src/runtime/node.js";

const APT_PACKAGES =
  "golang-go golang-github-containers-storage-dev golang-github-containerd-stargz-snapshotter-dev golang-github-ulikunitz-xz-dev";

const sha = (b: Uint8Array) => "sha256:" + createHash("sha256").update(b).digest("hex");
const enc = new TextEncoder();

// ---- a Core for tests: native zstd CLI + node:crypto (independent of the WASM build) ---------

function zstdDecompress(data: Uint8Array): Uint8Array {
  try {
    return new Uint8Array(execFileSync("zstd", ["-q", "-d", "-c"], { input: data, maxBuffer: 1 << 28, stdio: ["pipe", "pipe", "ignore"] }));
  } catch (e) {
    throw new LayerkitError("ZSTD_CORRUPT", "zstd CLI failed", {}, { cause: e });
  }
}

/** Decodes the frames of `data` until `want` bytes came out (for inexact ranges that run into a following frame). */
function zstdDecompressPrefix(data: Uint8Array, want: number): Uint8Array {
  const r = spawnSync("zstd", ["-q", "-d", "-c"], { input: data, maxBuffer: 1 << 28 });
  const out = new Uint8Array(r.stdout);
  if (out.length < want) throw new Error(`range decoded to ${out.length} bytes, wanted ${want}`);
  return out;
}

const core: Core = {
  // zstd:chunked only: DEFLATE is never reached, and touching it fails the test.
  deflate: new Proxy({}, {
    get: () => {
      throw new Error("DEFLATE is not used by this test");
    },
  }) as Deflate,
  zstd: {
    decompress(data: Uint8Array, options?: { maxOutput?: number }) {
      const out = zstdDecompress(data);
      if (options?.maxOutput !== undefined && out.length > options.maxOutput) {
        throw new LayerkitError("ZSTD_FRAME_TOO_LARGE", "output over maxOutput", {});
      }
      return out;
    },
  } as unknown as Zstd,
  sha256: (): Hasher => new NodeSha256(),
};

// ---- tar builder: ustar + PAX, written by hand so every edge case is under our control -------

interface TarEntry {
  name: string;
  type: "reg" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";
  content?: Uint8Array;
  linkName?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  devMajor?: number;
  devMinor?: number;
  /** Extra PAX records (e.g. SCHILY.xattr.*, mtime with nanoseconds). */
  pax?: Record<string, string>;
}

const TYPEFLAG: Record<TarEntry["type"], string> = { reg: "0", hardlink: "1", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6" };

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

function header(
  name: string,
  e: {
    typeflag: string;
    size: number;
    mode: number;
    uid: number;
    gid: number;
    mtime: number;
    linkName?: string;
    devMajor?: number;
    devMinor?: number;
  },
): Uint8Array {
  const h = new Uint8Array(512);
  const put = (s: string | Uint8Array, at: number, len: number) => {
    const b = typeof s === "string" ? enc.encode(s) : s;
    h.set(b.subarray(0, len), at);
  };
  put(name, 0, 100);
  put(octal(e.mode, 8), 100, 8);
  put(octal(e.uid, 8), 108, 8);
  put(octal(e.gid, 8), 116, 8);
  put(octal(e.size, 12), 124, 12);
  put(octal(e.mtime, 12), 136, 12);
  put("        ", 148, 8);
  put(e.typeflag, 156, 1);
  if (e.linkName) put(e.linkName, 157, 100);
  put("ustar\u000000", 257, 8);
  put("root", 265, 32);
  put("root", 297, 32);
  put(octal(e.devMajor ?? 0, 8), 329, 8);
  put(octal(e.devMinor ?? 0, 8), 337, 8);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
  return h;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = enc.encode(body).length;
  for (;;) {
    const total = enc.encode(String(len)).length + enc.encode(body).length;
    if (total === len) return String(len) + body;
    len = total;
  }
}

function pad512(n: number): Uint8Array {
  return new Uint8Array((512 - (n % 512)) % 512);
}

function buildTar(entries: TarEntry[], trailing = 0): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const content = e.content ?? new Uint8Array(0);
    const pax: Record<string, string> = { ...e.pax };
    let name = e.name;
    if (enc.encode(name).length > 100) {
      pax.path = name;
      name = name.slice(0, 50);
    }
    if (e.linkName && enc.encode(e.linkName).length > 100) pax.linkpath = e.linkName;
    const base = { mode: e.mode ?? (e.type === "dir" ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: e.mtime ?? 1700000000 };
    if (Object.keys(pax).length > 0) {
      const data = enc.encode(Object.entries(pax).map(([k, v]) => paxRecord(k, v)).join(""));
      parts.push(header("PaxHeaders/" + name.slice(0, 80), { ...base, typeflag: "x", size: data.length }), data, pad512(data.length));
    }
    const h: Parameters<typeof header>[1] = { ...base, typeflag: TYPEFLAG[e.type], size: e.type === "reg" ? content.length : 0 };
    if (e.linkName) h.linkName = e.linkName;
    if (e.devMajor !== undefined) h.devMajor = e.devMajor;
    if (e.devMinor !== undefined) h.devMinor = e.devMinor;
    parts.push(header(name, h));
    if (e.type === "reg") parts.push(content, pad512(content.length));
  }
  parts.push(new Uint8Array(1024 + trailing));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function random(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const longName = "deep/" + "d".repeat(120) + "/file-with-a-long-name.txt";
const edgeEntries: TarEntry[] = [
  { name: "./", type: "dir" },
  { name: "./etc/", type: "dir" },
  { name: "./etc/hosts", type: "reg", content: enc.encode("127.0.0.1 localhost\n") },
  { name: "./empty", type: "reg" },
  { name: "./big.bin", type: "reg", content: random(400_000, 1) },
  { name: "./holes.bin", type: "reg", content: cat(random(100_000, 2), new Uint8Array(5000), random(60_000, 3)) },
  { name: "./zeros-1023.bin", type: "reg", content: cat(random(2000, 4), new Uint8Array(1023), random(2000, 5)) },
  { name: "./all-zeros.bin", type: "reg", content: new Uint8Array(70_000) },
  { name: "./text.txt", type: "reg", content: enc.encode("lorem ipsum dolor sit amet\n".repeat(5000)) },
  { name: "./" + longName, type: "reg", content: enc.encode("long name\n") },
  { name: "./ünïcödé/日本語.txt", type: "reg", content: enc.encode("unicode\n") },
  { name: "./link", type: "symlink", linkName: "../etc/hosts" },
  { name: "./hosts-link", type: "hardlink", linkName: "./etc/hosts" },
  { name: "./fifo", type: "fifo" },
  { name: "./dev-null", type: "char", devMajor: 1, devMinor: 3, mode: 0o666 },
  {
    name: "./xattr.txt",
    type: "reg",
    content: enc.encode("xattrs\n"),
    pax: { "SCHILY.xattr.user.test": "value", mtime: "1700000000.123456789" },
  },
  { name: "./bigid.txt", type: "reg", content: enc.encode("ids\n"), uid: 100000, gid: 100001, pax: { uid: "100000", gid: "100001" } },
];

// ---- the harness ----------------------------------------------------------------------------

const root = resolve(import.meta.dirname, "../..");
let work: string;
let harness: string;

function run(args: string[]): unknown {
  const r = spawnSync(harness, args, { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`layerkit-harness ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function runFails(args: string[]): string {
  const r = spawnSync(harness, args, { encoding: "utf8" });
  expect(r.status, `harness ${args[0]} should have failed`).not.toBe(0);
  return r.stderr;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "layerkit-interop-"));
  const out = join(work, "bin");
  const r = spawnSync("bash", [join(root, "test/go/build.sh"), out], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(
      `building the Go interop harness failed (exit ${r.status}).\n` +
        `It needs Go and Debian's Go packages, installed with:\n  apt-get install -y ${APT_PACKAGES}\n` +
        `build output:\n${r.stdout}\n${r.stderr}`,
    );
  }
  harness = join(out, "layerkit-harness");
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface UpstreamEntry {
  type: string;
  name: string;
  size: number;
  digest?: string;
  offset: number;
  endOffset: number;
  chunkSize?: number;
  chunkType?: string;
  chunks?: UpstreamEntry[];
}

/** Checks every regular file: its chunk ranges decode to its tar content, digests agree. */
function checkAgainstTar(r: ReadTocResult, blob: Uint8Array, entries: TarEntry[]): void {
  const byName = new Map(entries.map((e) => [e.name, e]));
  for (const f of r.entries) {
    const t = byName.get(f.name);
    if (!t) continue; // eStargz landmark
    expect(f.type, f.name).toBe(t.type);
    if (f.type !== "reg") continue;
    const content = t.content ?? new Uint8Array(0);
    expect(f.size, f.name).toBe(content.length);
    expect(f.digest, f.name).toBe(sha(content));
    const parts: Uint8Array[] = [];
    for (const c of f.chunks) {
      const range = blob.subarray(c.offset, c.end);
      const data = c.exact ? zstdDecompress(range) : zstdDecompressPrefix(range, c.innerOffset + c.size);
      if (c.exact) expect(data.length, `${f.name} chunk at ${c.offset}`).toBe(c.size);
      const chunk = data.subarray(c.innerOffset, c.innerOffset + c.size);
      if (c.digest) expect(sha(chunk), `${f.name} chunk at ${c.offset}`).toBe(c.digest);
      if (c.zeros) expect(chunk.every((b) => b === 0)).toBe(true);
      parts.push(chunk);
    }
    expect(sha(cat(...parts)), f.name).toBe(sha(content));
  }
}

describe("c/storage 1.43 writes, layerkit reads", () => {
  let blobPath: string;
  let annPath: string;
  let blob: Uint8Array;
  let annotations: Record<string, string>;
  const tarBytes = buildTar(edgeEntries, 2048);

  beforeAll(() => {
    const tarPath = join(work, "edge.tar");
    writeFileSync(tarPath, tarBytes);
    blobPath = join(work, "edge.blob");
    const w = run(["cstorage-write", tarPath, blobPath]) as { annotations: Record<string, string>; size: number };
    annotations = w.annotations;
    annPath = join(work, "edge.ann.json");
    writeFileSync(annPath, JSON.stringify(annotations));
    blob = new Uint8Array(readFileSync(blobPath));
    expect(w.size).toBe(blob.length);
    expect(Object.keys(annotations).sort()).toEqual([OLD_ANNOTATION_MANIFEST_CHECKSUM, OLD_ANNOTATION_MANIFEST_POSITION].sort());
  }, 120_000);

  it("reads the blob (G1, old keys, footer v1, authenticated) with one request", async () => {
    const src = await FileSource.open(blobPath);
    try {
      const r = await readToc(src, { annotations, core });
      expect(src.stats.requests).toBe(1);
      expect(r).toMatchObject({ format: "zstd:chunked", generation: "G1", authenticated: true, annotations: { keys: "old" } });
      expect(r.footer?.version).toBe("v1");
      expect(r.tarSplitPosition).toBeUndefined();
      // every tar entry, in tar order, with upstream's verbatim names
      expect(r.entries.map((e) => e.name)).toEqual(edgeEntries.map((e) => e.name));
      expect(r.entries.find((e) => e.name === "./link")?.linkName).toBe("../etc/hosts");
      expect(r.entries.find((e) => e.name === "./hosts-link")?.linkName).toBe("./etc/hosts");
      expect(r.entries.find((e) => e.name === "./dev-null")).toMatchObject({ devMajor: 1, devMinor: 3, mode: 0o666 });
      expect(r.entries.find((e) => e.name === "./xattr.txt")).toMatchObject({
        xattrs: { "user.test": btoa("value") },
        modtime: "2023-11-14T22:13:20.123456789Z",
      });
      expect(r.entries.find((e) => e.name === "./bigid.txt")).toMatchObject({ uid: 100000, gid: 100001 });
      // chunking happened: several chunks, a zeros chunk, and a lone all-zero file without chunk fields
      const big = r.entries.find((e) => e.name === "./big.bin")!;
      expect(big.chunks.length).toBeGreaterThan(1);
      expect(r.entries.find((e) => e.name === "./holes.bin")!.chunks.some((c) => c.zeros)).toBe(true);
      expect(r.entries.find((e) => e.name === "./all-zeros.bin")!.chunks).toHaveLength(1);
      checkAgainstTar(r, blob, edgeEntries);
    } finally {
      await src.close();
    }
  });

  it("finds the same TOC by probing the footer, unauthenticated", async () => {
    const a = await readToc(new MemorySource(blob), { annotations, core });
    const b = await readToc(new MemorySource(blob), { core });
    expect(b).toMatchObject({ generation: "G1", authenticated: false, tocDigest: a.tocDigest });
    expect(b.entries).toEqual(a.entries);
  });

  it("agrees with upstream's reader (readZstdChunkedManifest, unmarshalToc, mergeTocEntries)", async () => {
    const up = run(["cstorage-read", blobPath, annPath]) as {
      tocOffset: number;
      manifestSha256: string;
      entries: UpstreamEntry[];
      merged: UpstreamEntry[];
      requests: { offset: number; length: number }[][];
    };
    const r = await readToc(new MemorySource(blob), { annotations, core });
    expect(up.tocOffset).toBe(r.tocPosition.offset);
    expect(up.entries.length).toBe(r.toc.entries!.length);
    expect(up.merged.map((e) => e.name)).toEqual(r.entries.map((e) => e.name));
    for (let i = 0; i < up.merged.length; i++) {
      const u = up.merged[i]!;
      const ours = r.entries[i]!;
      expect(u.type).toBe(ours.type);
      if (ours.type !== "reg" || ours.size === 0) continue;
      expect(u.digest).toBe(ours.digest);
      expect(u.offset).toBe(ours.offset);
      const uc = u.chunks!;
      expect(uc.map((c) => c.offset)).toEqual(ours.chunks.map((c) => c.offset));
      for (let j = 0; j < uc.length; j++) {
        const last = j === uc.length - 1;
        if (!last || uc.length === 1) expect(uc[j]!.endOffset, `${u.name} chunk ${j}`).toBe(ours.chunks[j]!.end);
        // upstream's last chunk of a chunked file runs on to the next payload (or the TOC): never shorter than ours
        else expect(uc[j]!.endOffset).toBeGreaterThanOrEqual(ours.chunks[j]!.end);
        expect((uc[j]!.chunkType ?? "") === "zeros").toBe(ours.chunks[j]!.zeros);
      }
    }
  });

  it("upstream's whole partial pull (GetDiffer + ApplyDiff) extracts the tar's files", () => {
    const dest = join(work, "apply-edge");
    const up = run(["cstorage-apply", blobPath, annPath, dest]) as {
      files: { name: string; type: string; digest?: string; linkName?: string }[];
    };
    const got = new Map(up.files.map((f) => [f.name, f]));
    for (const e of edgeEntries) {
      const name = e.name.replace(/^\.\//, "").replace(/\/$/, "");
      if (name === "" || e.type === "char" || e.type === "fifo") continue; // not created by ApplyDiff 1.43
      const f = got.get(name);
      expect(f, name).toBeDefined();
      if (e.type === "reg" || e.type === "hardlink") {
        const src = e.type === "hardlink" ? edgeEntries.find((x) => x.name === e.linkName)! : e;
        expect(f!.digest, name).toBe(sha(src.content ?? new Uint8Array(0)));
      }
      if (e.type === "symlink") expect(f!.linkName).toBe(e.linkName);
    }
  });

  it("maps current annotation keys to the old ones when asked, and says so", async () => {
    const current = {
      [ANNOTATION_MANIFEST_CHECKSUM]: annotations[OLD_ANNOTATION_MANIFEST_CHECKSUM]!,
      [ANNOTATION_MANIFEST_POSITION]: annotations[OLD_ANNOTATION_MANIFEST_POSITION]!,
    };
    const p = join(work, "current.ann.json");
    writeFileSync(p, JSON.stringify(current));
    const up = run(["cstorage-read", "--map-current-keys", blobPath, p]) as { keyMapping: string[]; entries: unknown[] };
    expect(up.keyMapping).toHaveLength(2);
    expect(up.keyMapping[0]).toContain("->");
    expect(runFails(["cstorage-read", blobPath, p])).toContain("manifest checksum annotation");
    // ours reads either key set (current keys + footer v1 = G1b)
    expect((await readToc(new MemorySource(blob), { annotations: current, core })).generation).toBe("G1b");
  });

  it("both upstream and layerkit reject a tampered TOC", async () => {
    const r = await readToc(new MemorySource(blob), { annotations, core });
    const bad = blob.slice();
    bad[r.tocPosition.offset + 10]! ^= 0xff;
    const badPath = join(work, "tampered.blob");
    writeFileSync(badPath, bad);
    expect(runFails(["cstorage-read", badPath, annPath])).toContain("invalid manifest checksum");
    await expect(readToc(new MemorySource(bad), { annotations, core })).rejects.toMatchObject({ code: "DIGEST_MISMATCH" });
  });

  it("reads names with JSON escapes, which 1.43's own reader gets wrong", async () => {
    // 1.43's unmarshalToc reads strings without un-escaping (containers/storage#1878, fixed in
    // 1.54) and ignores the iterator's error: at the first escaped string it silently stops, so
    // the rest of the TOC is dropped. Ours must read every entry with the right names.
    const entries: TarEntry[] = [
      { name: "./", type: "dir" },
      { name: './quote"back\\slash<&>.txt', type: "reg", content: enc.encode("escapes\n") },
      { name: "./tab\there.txt", type: "reg", content: enc.encode("tab\n") },
      { name: "./z.txt", type: "reg", content: enc.encode("z\n") },
    ];
    const tarPath = join(work, "escapes.tar");
    writeFileSync(tarPath, buildTar(entries));
    const out = join(work, "escapes.blob");
    const w = run(["cstorage-write", tarPath, out]) as { annotations: Record<string, string> };
    const b = new Uint8Array(readFileSync(out));
    const r = await readToc(new MemorySource(b), { annotations: w.annotations, core });
    expect(r.entries.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    checkAgainstTar(r, b, entries);
    const p = join(work, "escapes.ann.json");
    writeFileSync(p, JSON.stringify(w.annotations));
    const up = run(["cstorage-read", out, p]) as { entries: UpstreamEntry[] };
    expect(up.entries.length).toBeLessThan(entries.length); // the 1.43 bug, pinned
    expect(up.entries[0]!.name).toBe("./");
  });

  it("reads small and empty layers", async () => {
    for (
      const [label, entries] of [
        ["empty tar", []],
        ["only dirs", [{ name: "a/", type: "dir" }, { name: "a/b/", type: "dir" }]],
        ["one empty file", [{ name: "e", type: "reg" }]],
      ] as [string, TarEntry[]][]
    ) {
      const tarPath = join(work, `small-${label.replace(/ /g, "-")}.tar`);
      writeFileSync(tarPath, buildTar(entries));
      const out = tarPath + ".blob";
      const w = run(["cstorage-write", tarPath, out]) as { annotations: Record<string, string> };
      const b = new Uint8Array(readFileSync(out));
      const r = await readToc(new MemorySource(b), { annotations: w.annotations, core });
      expect(r.entries.map((e) => e.name), label).toEqual(entries.map((e) => e.name));
      expect(r.generation).toBe("G1");
    }
  });
});

describe("stargz-snapshotter's zstdchunked writes, layerkit classifies it separately", () => {
  it("reads it as estargz-zstd (G1) with working ranges", async () => {
    const entries = edgeEntries.filter((e) => e.type !== "char" && e.type !== "fifo");
    const tarPath = join(work, "stargz.tar");
    writeFileSync(tarPath, buildTar(entries));
    const out = join(work, "stargz.blob");
    const w = run(["stargz-zstd-write", tarPath, out]) as { annotations: Record<string, string>; tocDigest: string };
    expect(Object.keys(w.annotations).sort()).toEqual([OLD_ANNOTATION_MANIFEST_CHECKSUM, OLD_ANNOTATION_MANIFEST_POSITION].sort());
    const blob = new Uint8Array(readFileSync(out));
    // as stargz-snapshotter's converter annotates it: old keys + the eStargz TOC digest
    const r = await readToc(new MemorySource(blob), {
      annotations: { ...w.annotations, [ANNOTATION_ESTARGZ_TOC_DIGEST]: w.tocDigest },
      core,
    });
    expect(r).toMatchObject({ format: "estargz-zstd", generation: "G1", authenticated: true, estargzTocDigest: w.tocDigest });
    expect(r.footer?.version).toBe("v1");
    expect(r.entries[0]!.name).toBe(".no.prefetch.landmark");
    checkAgainstTar(r, blob, entries);
    // and without annotations, from the footer alone
    expect((await readToc(new MemorySource(blob), { core })).format).toBe("estargz-zstd");
    // Lazy reads: the frame with a file's last bytes also holds the tar padding and the next
    // headers; every regular file still comes back whole and verified (with the real WASM core).
    const wasmCore = await loadCore();
    const annotations = { ...w.annotations, [ANNOTATION_ESTARGZ_TOC_DIGEST]: w.tocDigest };
    let files = 0;
    for (const e of entries) {
      if (e.type !== "reg") continue;
      const got = await readFile(new MemorySource(blob), e.name, { annotations, core: wasmCore });
      expect(sha(got), e.name).toBe(sha(e.content ?? new Uint8Array(0)));
      files++;
    }
    expect(files).toBeGreaterThan(3);
  });
});
