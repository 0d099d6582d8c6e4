/**
 * eStargz interoperability with upstream stargz-snapshotter (Debian 12's estargz 0.12, through
 * the Go harness test/go/src/layerkit-estargz), both directions, on edge-case tars:
 *
 * - ours → upstream: `estargz.Open` + `VerifyTOC(our TOC digest)` + every regular file read
 *   through its chunk verifier gives the input's contents; Go's gzip+tar reading of the whole blob
 *   gives our diffID and uncompressed size; Go re-marshals our TOC to the same bytes (same digest).
 * - upstream → ours: blobs from `estargz.Build` (GOMAXPROCS 1 and 2) open with our reader under
 *   Go's TOC digest, and every file reads and verifies, file for file.
 * - Our TOC has the same entries as Build's for the same tar (offsets aside).
 *
 * The harness is built offline from Debian's Go packages; missing Go or packages fail the suite.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Core } from "../../src/core.js";
import {
  buildFooter,
  createEstargzLayer,
  type EstargzLayerOptions,
  type EstargzToc,
  readEstargzToc,
} from "../../src/formats/estargz/index.js";
import { cleanEntryName } from "../../src/go/path.js";
import { goRegHeader } from "../../src/tar/writer.js";
import { goGzipHeader, gunzip } from "../../src/gzip/index.js";
import { MemorySource } from "../../src/source/memory.js";
import { loadCore } from "../../src/runtime/node.js";
import { rng } from "../fixtures/tars.js";
import { bytesOf } from "../support/streams.js";

const TIMEOUT = 300_000;

// ---- core, helpers ------------------------------------------------------------------------------

// The real core (zstd + libdeflate WASM) with node:crypto's SHA-256.
const core: Core = await loadCore();

const sha = (b: Uint8Array) => "sha256:" + createHash("sha256").update(b).digest("hex");
const enc = new TextEncoder();

/** Compressible pseudo-random content. */
function content(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  const words = ["alpha ", "beta ", "gamma\n", "delta ", "/usr/lib/", "0123456789"].map((w) => enc.encode(w));
  let i = 0;
  while (i < n) {
    if (r() < 0.15) {
      out[i++] = Math.floor(r() * 256);
      continue;
    }
    const w = words[Math.floor(r() * words.length)]!;
    for (let j = 0; j < w.length && i < n; j++) out[i++] = w[j]!;
  }
  return out;
}

// ---- a tar builder (independent of src/tar) -----------------------------------------------------

interface TarSpec {
  name: string;
  type: "file" | "dir" | "symlink" | "link" | "char" | "block" | "fifo";
  data?: Uint8Array;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records (values as bytes or strings). */
  pax?: Record<string, Uint8Array | string>;
}

const TYPEFLAG = { file: "0", link: "1", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6" } as const;

function octal(b: Uint8Array, off: number, len: number, v: number): void {
  const s = v.toString(8).padStart(len - 1, "0");
  b.set(enc.encode(s), off);
}

function header(name: Uint8Array, typeflag: string, size: number, s: Partial<TarSpec>, linkname: Uint8Array): Uint8Array {
  const b = new Uint8Array(512);
  b.set(name.subarray(0, 100), 0);
  octal(b, 100, 8, s.mode ?? 0o644);
  octal(b, 108, 8, Math.min(s.uid ?? 0, 0o7777777));
  octal(b, 116, 8, Math.min(s.gid ?? 0, 0o7777777));
  octal(b, 124, 12, size);
  octal(b, 136, 12, s.mtime ?? 1_700_000_000);
  b[156] = typeflag.charCodeAt(0);
  b.set(linkname.subarray(0, 100), 157);
  b.set(enc.encode("ustar\0"), 257);
  b.set(enc.encode("00"), 263);
  b.set(enc.encode(s.uname ?? "").subarray(0, 32), 265);
  b.set(enc.encode(s.gname ?? "").subarray(0, 32), 297);
  octal(b, 329, 8, s.devmajor ?? 0);
  octal(b, 337, 8, s.devminor ?? 0);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  octal(b, 148, 7, sum);
  b[155] = 0x20;
  return b;
}

function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const body = Buffer.concat([enc.encode(" " + key + "="), value, enc.encode("\n")]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([enc.encode(String(len)), body]);
}

function pad(n: number): Uint8Array {
  return new Uint8Array((512 - (n % 512)) % 512);
}

function buildTar(specs: TarSpec[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of specs) {
    const data = s.data ?? new Uint8Array(0);
    const name = enc.encode(s.name);
    const link = enc.encode(s.linkname ?? "");
    const records: Uint8Array[] = [];
    if (name.length > 100) records.push(paxRecord("path", name));
    if (link.length > 100) records.push(paxRecord("linkpath", link));
    if ((s.uid ?? 0) > 0o7777777) records.push(paxRecord("uid", enc.encode(String(s.uid))));
    if ((s.gid ?? 0) > 0o7777777) records.push(paxRecord("gid", enc.encode(String(s.gid))));
    for (const [k, v] of Object.entries(s.pax ?? {})) records.push(paxRecord(k, typeof v === "string" ? enc.encode(v) : v));
    if (records.length > 0) {
      const body = Buffer.concat(records);
      parts.push(header(enc.encode("PaxHeaders/" + s.name.slice(0, 80)), "x", body.length, {}, new Uint8Array(0)), body, pad(body.length));
    }
    parts.push(header(name, TYPEFLAG[s.type], data.length, s, link), data, pad(data.length));
  }
  parts.push(new Uint8Array(1024));
  return new Uint8Array(Buffer.concat(parts));
}

/** name (cleaned) → sha256 of content, for the regular files of `specs` (last one wins). */
function expectedFiles(specs: TarSpec[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of specs) {
    const k = cleanEntryName(s.name);
    if (s.type === "file") m.set(k, sha(s.data ?? new Uint8Array(0)));
    else m.delete(k);
  }
  return m;
}

// ---- fixtures -----------------------------------------------------------------------------------

function edgeFixture(): TarSpec[] {
  const long150 = "dir/" + "l".repeat(146);
  const long300 = "dir/" + "deep/".repeat(40) + "z".repeat(90);
  return [
    { name: "./", type: "dir", mode: 0o755 },
    { name: "dir/", type: "dir", mode: 0o755, uname: "root", gname: "root" },
    { name: "dir/hello.txt", type: "file", data: enc.encode("hello world\n"), uname: "user", gname: "grp", uid: 1000, gid: 1000 },
    { name: "dir/empty", type: "file", uid: 1000, gid: 1000, uname: "user", gname: "grp" },
    { name: "dir/empty2", type: "file", mtime: 0 },
    { name: long150, type: "file", data: content(3000, 1) },
    { name: long300, type: "file", data: content(10, 2) },
    { name: "dir/ünïcødé-名前.txt", type: "file", data: enc.encode("ü\n"), pax: { path: "dir/ünïcødé-名前.txt" } },
    { name: "dir/raw-ütf8", type: "file", data: enc.encode("x") },
    { name: "dir/link", type: "symlink", linkname: "hello.txt", mode: 0o777 },
    { name: "dir/longlink", type: "symlink", linkname: "../" + "t".repeat(140), mode: 0o777 },
    { name: "dir/hard", type: "link", linkname: "dir/hello.txt" },
    { name: "dev/", type: "dir", mode: 0o755 },
    { name: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666 },
    { name: "dev/sda", type: "block", devmajor: 8, devminor: 0, mode: 0o660 },
    { name: "fifo", type: "fifo", mode: 0o600 },
    {
      name: "dir/xattrs",
      type: "file",
      data: enc.encode("with xattrs"),
      pax: {
        "SCHILY.xattr.user.foo": "bar",
        "SCHILY.xattr.security.capability": Uint8Array.of(1, 0, 0, 2, 0xff, 0, 0, 0),
        "SCHILY.xattr.user.empty": "",
      },
    },
    { name: "dir/setuid", type: "file", data: enc.encode("#!/bin/sh\n"), mode: 0o4755 },
    { name: "dir/bigids", type: "file", uid: 3_000_000, gid: 4_000_000, uname: "big", gname: "big" },
    { name: "dir/frac-time", type: "file", data: enc.encode("t"), pax: { mtime: "1700000000.7" } },
    { name: "dir/old-time", type: "file", data: enc.encode("o"), mtime: 1 },
    { name: 'dir/json<&>chars "q"', type: "file", data: enc.encode("j") },
    { name: "dir/exact-512", type: "file", data: content(512, 3) },
  ];
}

function manySmallFixture(): TarSpec[] {
  const r = rng(42);
  const specs: TarSpec[] = [];
  for (let d = 0; d < 30; d++) {
    specs.push({ name: `d${d}/`, type: "dir", mode: 0o755 });
    for (let f = 0; f < 70; f++) {
      const n = Math.floor(r() * r() * 4000);
      specs.push({
        name: `d${d}/f${f}.txt`,
        type: "file",
        data: content(n, d * 1000 + f),
        uid: f % 3,
        gid: f % 2,
        uname: `u${f % 3}`,
        gname: `g${f % 2}`,
      });
    }
  }
  return specs;
}

function bigFixture(): TarSpec[] {
  return [
    { name: "bin/", type: "dir", mode: 0o755 },
    { name: "bin/small", type: "file", data: content(1000, 7) },
    { name: "bin/big", type: "file", data: content(10 * 1024 * 1024 + 12345, 8), mode: 0o755 },
    { name: "bin/exact-4m", type: "file", data: content(4 * 1024 * 1024, 9) },
    { name: "bin/after", type: "file", data: content(100, 10) },
    { name: "bin/link-to-big", type: "link", linkname: "bin/big" },
  ];
}

// ---- the harness --------------------------------------------------------------------------------

let dir: string;
let harness: string;

function go(args: string[], env: Record<string, string> = {}): unknown {
  const r = spawnSync(harness, args, { encoding: "utf8", maxBuffer: 1 << 28, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`layerkit-estargz ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

interface GoFile {
  name: string;
  type: string;
  size: number;
  sha256?: string;
  chunks?: number;
  linkName?: string;
  mode: number;
  uid: number;
  gid: number;
  xattrs?: Record<string, string>;
  devMajor?: number;
  devMinor?: number;
}
interface GoVerify {
  tocDigest: string;
  diffID: string;
  uncompressedSize: number;
  gzipMembers: number;
  tarEntries: string[];
  files: GoFile[];
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "layerkit-estargz-interop-"));
  // Fails loudly (no skip) when Go or Debian's packages are missing.
  harness = execFileSync("bash", [join(__dirname, "../go/build-estargz.sh"), join(dir, "bin")], { encoding: "utf8" }).trim().split("\n")
    .pop()!;
}, TIMEOUT);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const fixtures: [string, () => TarSpec[]][] = [
  ["edge cases", edgeFixture],
  ["2100 small files", manySmallFixture],
  ["a >10 MiB file", bigFixture],
];

function stripOffsets(toc: EstargzToc): unknown[] {
  return (toc.entries ?? []).map((e) => {
    const c = { ...e } as Record<string, unknown>;
    delete c["offset"];
    delete c["innerOffset"];
    return c;
  });
}

describe("ours → upstream (estargz.Open + VerifyTOC + chunk verifiers)", () => {
  for (const [label, make] of fixtures) {
    const variants: [string, EstargzLayerOptions, (specs: TarSpec[]) => EstargzLayerOptions][] = [
      ["defaults", {}, () => ({})],
      [
        "prioritized files",
        {},
        (specs) => ({ prioritizedFiles: specs.filter((s) => s.type === "file").slice(-3).map((s) => s.name).reverse() }),
      ],
      ["64 KiB chunks, level 1", { chunkSize: 65536, level: 1 }, () => ({ chunkSize: 65536, level: 1 })],
    ];
    for (const [vlabel, , opts] of variants) {
      it(`${label}, ${vlabel}`, async () => {
        const specs = make();
        const tar = buildTar(specs);
        const options = opts(specs);
        const w = createEstargzLayer(core, new MemorySource(tar), options);
        const blob = await bytesOf(w.stream);
        const res = await w.result;
        expect(res.size).toBe(blob.length);
        expect(res.digest).toBe(sha(blob));
        const path = join(dir, `ours-${label.replace(/\W/g, "_")}-${vlabel.replace(/\W/g, "_")}.esgz`);
        writeFileSync(path, blob);

        const v = go(["verify", path, res.tocDigest]) as GoVerify;
        expect(v.tocDigest).toBe(res.tocDigest);
        expect(v.diffID).toBe(res.diffID);
        expect(v.uncompressedSize).toBe(res.uncompressedSize);
        expect(res.annotations["io.containers.estargz.uncompressed-size"]).toBe(String(res.uncompressedSize));
        expect(v.tarEntries[v.tarEntries.length - 1]).toBe("stargz.index.json");
        const want = expectedFiles(specs);
        const got = new Map(v.files.filter((f) => f.type === "reg").map((f) => [f.name, f.sha256]));
        for (const [name, digest] of want) expect(got.get(name), name).toBe(digest);
        // Landmark first or after the prioritized files.
        const prio = options.prioritizedFiles ?? [];
        if (prio.length === 0) expect(v.tarEntries[0]).toBe(".no.prefetch.landmark");
        if (prio.length > 0) {
          const lm = v.tarEntries.indexOf(".prefetch.landmark");
          expect(lm).toBeGreaterThan(0);
          const before = v.tarEntries.slice(0, lm).map(cleanEntryName);
          for (const p of prio) expect(before).toContain(cleanEntryName(p));
          expect(before.filter((n) => prio.map(cleanEntryName).includes(n))).toEqual(prio.map(cleanEntryName));
        }
        // Go's MarshalIndent of our TOC is our TOC, byte for byte.
        const t = go(["toc", path]) as { remarshaledDigest: string; tocDigest: string };
        expect(t.remarshaledDigest).toBe(res.tocDigest);

        // And our own reader agrees.
        const rd = await readEstargzToc(new MemorySource(blob), { core, tocDigest: res.tocDigest });
        for (const f of rd.regularFiles()) expect(sha(await rd.readFile(f))).toBe(f.digest);
      }, TIMEOUT);
    }
  }

  it("stream input gives the same bytes as a BlobSource, with and without prioritized files", async () => {
    const specs = edgeFixture();
    const tar = buildTar(specs);
    for (const prioritizedFiles of [undefined, ["dir/xattrs", "fifo", "dir/hello.txt", "dir/hard"]]) {
      const a = await bytesOf(createEstargzLayer(core, new MemorySource(tar), { prioritizedFiles }).stream);
      const b = await bytesOf(createEstargzLayer(core, new Blob([tar as Uint8Array<ArrayBuffer>]).stream(), { prioritizedFiles }).stream);
      expect(Buffer.compare(a, b)).toBe(0);
    }
  }, TIMEOUT);

  it("native gzip engine blobs verify too", async () => {
    const tar = buildTar(edgeFixture());
    const w = createEstargzLayer(core, new MemorySource(tar), { gzip: "native" });
    const blob = await bytesOf(w.stream);
    const res = await w.result;
    const path = join(dir, "ours-native.esgz");
    writeFileSync(path, blob);
    const v = go(["verify", path, res.tocDigest]) as GoVerify;
    expect(v.diffID).toBe(res.diffID);
  }, TIMEOUT);
});

describe("upstream → ours (estargz.Build blobs read and verified by readEstargzToc)", () => {
  for (const [label, make] of fixtures) {
    for (const procs of ["1", "2"]) {
      it(`${label}, GOMAXPROCS=${procs}`, async () => {
        const specs = make();
        const tar = buildTar(specs);
        const tarPath = join(dir, `in-${label.replace(/\W/g, "_")}.tar`);
        const blobPath = join(dir, `go-${label.replace(/\W/g, "_")}-${procs}.esgz`);
        writeFileSync(tarPath, tar);
        const b = go(["build", tarPath, blobPath], { GOMAXPROCS: procs }) as { tocDigest: string; diffID: string; size: number };
        const blob = new Uint8Array(readFileSync(blobPath));
        const rd = await readEstargzToc(new MemorySource(blob), { core, tocDigest: b.tocDigest });
        expect(rd.tocDigest).toBe(b.tocDigest);
        // The bytes we write ourselves match Go's: footer, member header, landmark and TOC headers.
        expect(Buffer.compare(blob.subarray(blob.length - 51), buildFooter(rd.tocOffset))).toBe(0);
        expect(Buffer.compare(blob.subarray(0, 10), goGzipHeader(9))).toBe(0);
        expect(
          Buffer.compare(
            gunzip(blob.subarray(0, rd.files[0]!.chunks[0]!.offset)).subarray(0, 512),
            goRegHeader(".no.prefetch.landmark", 1),
          ),
        ).toBe(0);
        const tocTar = gunzip(blob.subarray(rd.tocOffset, blob.length - 51));
        expect(Buffer.compare(tocTar.subarray(0, 512), goRegHeader("stargz.index.json", rd.tocJson.length))).toBe(0);
        expect(tocTar.length).toBe(512 + rd.tocJson.length + ((512 - (rd.tocJson.length % 512)) % 512) + 1024);
        const want = expectedFiles(specs);
        const seen = new Set<string>();
        for (const f of rd.regularFiles()) {
          const data = await rd.readFile(f);
          const k = cleanEntryName(f.name);
          seen.add(k);
          if (want.has(k)) expect(sha(data), k).toBe(want.get(k));
        }
        for (const k of want.keys()) expect(seen.has(k), k).toBe(true);
        // File for file with Go's own view of the same blob.
        const v = go(["verify", blobPath, b.tocDigest]) as GoVerify;
        for (const gf of v.files.filter((f) => f.type === "reg")) {
          const ours = rd.lookup(gf.name);
          expect(ours, gf.name).toBeDefined();
          expect(ours!.size).toBe(gf.size);
          expect(ours!.chunks.length).toBe(gf.chunks ?? 0);
          expect(ours!.digest).toBe(gf.sha256);
        }
      }, TIMEOUT);
    }
  }

  it("upstream's lossless writer (raw headers, end-of-archive blocks before the TOC)", async () => {
    for (const [label, make] of fixtures) {
      const specs = make();
      const tar = buildTar(specs);
      const tarPath = join(dir, `lossless-${label.replace(/\W/g, "_")}.tar`);
      const blobPath = join(dir, `lossless-${label.replace(/\W/g, "_")}.esgz`);
      writeFileSync(tarPath, tar);
      const b = go(["write-lossless", tarPath, blobPath]) as { tocDigest: string; diffID: string };
      const blob = new Uint8Array(readFileSync(blobPath));
      const rd = await readEstargzToc(new MemorySource(blob), { core, tocDigest: b.tocDigest });
      const want = expectedFiles(specs);
      for (const f of rd.regularFiles()) {
        const data = await rd.readFile(f);
        expect(sha(data), f.name).toBe(want.get(cleanEntryName(f.name)));
      }
      expect(sha(gunzip(blob))).toBe(b.diffID);
    }
  }, TIMEOUT);

  it("our TOC has Build's entries (offsets aside) for the same tar", async () => {
    for (const [label, make] of fixtures) {
      const specs = make();
      const tar = buildTar(specs);
      const tarPath = join(dir, `same-${label.replace(/\W/g, "_")}.tar`);
      const blobPath = join(dir, `same-${label.replace(/\W/g, "_")}.esgz`);
      writeFileSync(tarPath, tar);
      for (const prio of [[], specs.filter((s) => s.type === "file").slice(0, 2).map((s) => s.name)]) {
        const args = prio.length ? ["build", "--prioritized", prio.join(","), tarPath, blobPath] : ["build", tarPath, blobPath];
        const b = go(args, { GOMAXPROCS: "1" }) as { tocDigest: string };
        const goReader = await readEstargzToc(new MemorySource(new Uint8Array(readFileSync(blobPath))), { core, tocDigest: b.tocDigest });
        const w = createEstargzLayer(core, new MemorySource(tar), { prioritizedFiles: prio });
        await bytesOf(w.stream);
        const ours = await w.result;
        expect(stripOffsets(ours.toc), label).toEqual(stripOffsets(goReader.toc));
      }
    }
  }, TIMEOUT);
});
