/**
 * `extract`: layers of every format and OCI layout images extracted the way containers/storage
 * applies layers, and the bad input of issue 16 (never a write outside DIR, never a wrong file
 * under its final name, DIR only when complete). Runs as root in CI (owners, devices, trusted.*
 * xattrs); the non-root behaviour is exercised with `asRoot: false`.
 */
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Core } from "../../src/core.js";
import { applyLayer } from "../../src/extract/apply.js";
import { extractImage, extractLayer } from "../../src/extract/extract-node.js";
import { NodeExtractFs } from "../../src/extract/node-fs.js";
import { buildFooterV3, skippableFrameHeader } from "../../src/formats/zstd-chunked/footer.js";
import { ANNOTATION_MANIFEST_POSITION, ANNOTATION_TARSPLIT_POSITION } from "../../src/layer/annotations.js";
import type { LayerFormat } from "../../src/layer/result.js";
import { loadCore } from "../../src/runtime/node.js";
import { buildTar, type TarWriteEntry } from "../../src/tar/index.js";
import { concatBytes } from "../../src/util/bytes.js";
import { BIN } from "./cli-run.js";
import { expectCode, makeLayer } from "../support/registry.js";

const enc = new TextEncoder();
let core: Core;
let work: string;
let n = 0;
const fresh = (): string => join(work, `out-${++n}`);

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("extract.test needs root (owners, devices, trusted.* xattrs); CI runs as root");
  core = await loadCore();
  work = mkdtempSync(join(tmpdir(), "lk-extract-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function layerFile(tar: Uint8Array, format: LayerFormat | "tar"): Promise<string> {
  const path = join(work, `layer-${++n}.${format.replace(":", "-")}`);
  // Malicious layers are written as they are: the extractor, not createLayer, must refuse them.
  writeFileSync(path, format === "tar" ? tar : (await makeLayer(tar, format, { allowUnsafePaths: true })).blob);
  return path;
}

function xattrsOf(path: string): Record<string, string> {
  const out = execFileSync("getfattr", ["-h", "-d", "-m", "-", "-e", "hex", path], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const r: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^([^#=][^=]*)=0x([0-9a-f]*)$/.exec(line);
    if (m) r[m[1]!] = Buffer.from(m[2]!, "hex").toString();
  }
  return r;
}

/** Everything outside `root` that extraction could have touched: nothing must appear there. */
function outsideListing(): string[] {
  return readdirSync(work).filter((f) => !f.startsWith("out-") && !f.startsWith("layer-") && !f.startsWith(".out-"));
}

const T = { sec: 1700000000, nsec: 123456789 };
const KITCHEN: TarWriteEntry[] = [
  { name: "etc/", type: "dir", mode: 0o750, uid: 3, gid: 4, mtime: T },
  {
    name: "etc/conf",
    data: enc.encode("conf\n"),
    mode: 0o640,
    uid: 1000,
    gid: 1001,
    mtime: T,
    xattrs: { "user.note": "hello", "trusted.t": "root-only" },
  },
  { name: "bin/", type: "dir", mtime: T },
  { name: "bin/su", data: enc.encode("#!/bin/sh\n"), mode: 0o4755, mtime: T },
  { name: "bin/su-link", type: "hardlink", linkname: "bin/su", mtime: T },
  { name: "bin/sh", type: "symlink", linkname: "/bin/su", mtime: T },
  { name: "dev/", type: "dir", mtime: T },
  { name: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666, mtime: T },
  { name: "dev/fifo", type: "fifo", mode: 0o600, mtime: T },
  { name: "big", data: new Uint8Array(3 << 20).map((_, i) => (i * 7) & 0xff), mtime: T },
  { name: "empty", data: new Uint8Array(0), mtime: T },
];

describe("extract: every format gives the same tree, with metadata", () => {
  for (const format of ["zstd:chunked", "estargz", "zstd", "gzip", "tar"] as const) {
    it(format, async () => {
      const dir = fresh();
      const report = await extractLayer(await layerFile(buildTar(KITCHEN), format), dir, { core });
      expect(report.layers[0]!.by).toBe(format === "zstd:chunked" || format === "estargz" ? "toc" : "stream");
      expect(report.owners).toEqual([]);
      expect(readdirSync(dir).sort()).toEqual(["big", "bin", "dev", "empty", "etc"]);
      const conf = lstatSync(join(dir, "etc/conf"), { bigint: true });
      expect([Number(conf.mode & 0o7777n), conf.uid, conf.gid]).toEqual([0o640, 1000n, 1001n]);
      // Nanoseconds through a double: within a microsecond. eStargz's TOC keeps whole seconds (RFC 3339 without a fraction).
      const ns = format === "estargz" ? 1700000000000000000n : 1700000000123456789n;
      expect(Math.abs(Number(conf.mtimeNs - ns))).toBeLessThan(1000);
      expect(Math.abs(Number(lstatSync(join(dir, "etc"), { bigint: true }).mtimeNs - ns)), "directory mtime set after its contents")
        .toBeLessThan(1000);
      expect(lstatSync(join(dir, "etc")).mode & 0o7777).toBe(0o750);
      expect(xattrsOf(join(dir, "etc/conf"))).toEqual({ "user.note": "hello", "trusted.t": "root-only" });
      expect(lstatSync(join(dir, "bin/su")).mode & 0o7777).toBe(0o4755);
      expect(lstatSync(join(dir, "bin/su-link")).ino).toBe(lstatSync(join(dir, "bin/su")).ino);
      expect(readlinkSync(join(dir, "bin/sh"))).toBe("/bin/su");
      const dev = lstatSync(join(dir, "dev/null"));
      expect(dev.isCharacterDevice()).toBe(true);
      expect([Math.floor(dev.rdev / 256), dev.rdev % 256]).toEqual([1, 3]);
      expect(lstatSync(join(dir, "dev/fifo")).isFIFO()).toBe(true);
      expect(readFileSync(join(dir, "big")).equals(Buffer.from(KITCHEN[9]!.data!)), "big file content").toBe(true);
      expect(readFileSync(join(dir, "empty")).length).toBe(0);
      expect(readdirSync(work).some((f) => f.includes("layerkit-partial")), "no staging directory left").toBe(false);
    }, 400_000);
  }

  it("not root: owners reported (not applied), devices and privileged xattrs skipped and reported", async () => {
    const dir = fresh();
    const report = await extractLayer(await layerFile(buildTar(KITCHEN), "zstd"), dir, { core, asRoot: false });
    expect(report.owners).toEqual(expect.arrayContaining([{ name: "etc/conf", uid: 1000, gid: 1001 }, { name: "etc", uid: 3, gid: 4 }]));
    expect(report.skipped.map((s) => s.what).sort()).toEqual(["char device 1:3", "xattr trusted.t"]);
    expect(existsSync(join(dir, "dev/null"))).toBe(false);
    expect(lstatSync(join(dir, "etc/conf")).uid).toBe(0);
  });
});

describe("extract: images (OCI layout), whiteouts and opaque directories", () => {
  it("applies the layers in order through the CLI", async () => {
    const lower = buildTar([
      { name: "a/", type: "dir" },
      { name: "a/old", data: enc.encode("old") },
      { name: "a/keep-not", data: enc.encode("x") },
      { name: "gone", data: enc.encode("gone") },
      { name: "d/", type: "dir" },
      { name: "d/z", data: enc.encode("v1") },
    ]);
    const upper = buildTar([
      { name: "a/", type: "dir" },
      { name: "a/new", data: enc.encode("new") },
      { name: "a/.wh..wh..opq", data: new Uint8Array(0) },
      { name: ".wh.gone", data: new Uint8Array(0) },
      { name: "d/z", data: enc.encode("v2") },
    ]);
    const lowerPath = join(work, "layer-lower.tar");
    const upperPath = join(work, "layer-upper.tar");
    writeFileSync(lowerPath, lower);
    writeFileSync(upperPath, upper);
    const layout = join(work, "layer-oci");
    execFileSync(process.execPath, [
      BIN,
      "image",
      "build",
      "--layer",
      lowerPath,
      "--layer",
      upperPath,
      "--format",
      "zstd:chunked",
      "--format",
      "gzip",
      "-o",
      layout,
      "--tag",
      "v1",
    ]);
    const dir = fresh();
    const out = JSON.parse(execFileSync(process.execPath, [BIN, "extract", layout, dir, "--tag", "v1", "--json"], { encoding: "utf8" }));
    expect(out.layers.map((l: { format: string; by: string }) => `${l.format}/${l.by}`)).toEqual(["zstd:chunked/toc", "gzip/stream"]);
    expect(readdirSync(dir).sort()).toEqual(["a", "d"]);
    expect(readdirSync(join(dir, "a"))).toEqual(["new"]);
    expect(readFileSync(join(dir, "d/z"), "utf8")).toBe("v2");
    // The same through the library
    const dir2 = fresh();
    await extractImage(layout, dir2, { core, tag: "v1" });
    expect(readdirSync(join(dir2, "a"))).toEqual(["new"]);
  }, 400_000);
});

describe("extract: bad input never writes outside DIR and never leaves a wrong file in place", () => {
  const bad = async (entries: TarWriteEntry[], code: string, format: LayerFormat | "tar" = "tar") => {
    const dir = fresh();
    const before = outsideListing();
    await expectCode(extractLayer(await layerFile(buildTar(entries), format), dir, { core }), code);
    expect(existsSync(dir), "DIR appears only when complete").toBe(false);
    expect(readdirSync(work).some((f) => f.includes("layerkit-partial")), "rolled back").toBe(false);
    expect(outsideListing()).toEqual(before);
  };

  it("`..` and absolute names (UNSAFE_PATH)", async () => {
    await bad([{ name: "ok", data: enc.encode("ok") }, { name: "../escaped", data: enc.encode("evil") }], "UNSAFE_PATH");
    await bad([{ name: "a/../../escaped", data: enc.encode("evil") }], "UNSAFE_PATH");
    await bad([{ name: `/${work}/escaped`, data: enc.encode("evil") }], "UNSAFE_PATH", "zstd");
    await bad([{ name: "x", type: "hardlink", linkname: "../outside" }], "UNSAFE_PATH");
  });

  it("a symlink, then a file written through it: resolved inside DIR (as RESOLVE_IN_ROOT)", async () => {
    const victim = join(work, "victim");
    mkdirSync(victim, { recursive: true });
    for (const format of ["tar", "zstd:chunked"] as const) {
      const dir = fresh();
      await extractLayer(
        await layerFile(
          buildTar([
            { name: "abs", type: "symlink", linkname: victim },
            { name: "rel", type: "symlink", linkname: "../../../../../../.." + victim },
            { name: "abs/pwned", data: enc.encode("evil") },
            { name: "rel/pwned2", data: enc.encode("evil") },
          ]),
          format,
        ),
        dir,
        { core },
      );
      expect(readdirSync(victim), format).toEqual([]);
      expect(readFileSync(join(dir, victim, "pwned"), "utf8")).toBe("evil");
      expect(readFileSync(join(dir, victim, "pwned2"), "utf8")).toBe("evil");
      expect(readlinkSync(join(dir, "abs"))).toBe(victim);
    }
  });

  it("hardlinks to a path outside DIR (through a symlink) or to a path not there yet (UNSAFE_PATH)", async () => {
    await bad([{ name: "early", type: "hardlink", linkname: "later" }, { name: "later", data: enc.encode("x") }], "UNSAFE_PATH");
    await bad(
      [{ name: "etc", type: "symlink", linkname: "/etc" }, { name: "pw", type: "hardlink", linkname: "etc/passwd" }],
      "UNSAFE_PATH",
    );
    await bad([{ name: "d/", type: "dir" }, { name: "h", type: "hardlink", linkname: "d" }], "UNSAFE_PATH");
  });

  it("a directory replaced by a file, and a file by a directory", async () => {
    const dir = fresh();
    await extractLayer(
      await layerFile(
        buildTar([
          { name: "d/", type: "dir" },
          { name: "d/inner", data: enc.encode("inner") },
          { name: "d", data: enc.encode("now a file") },
          { name: "f", data: enc.encode("file") },
          { name: "f/", type: "dir" },
          { name: "f/x", data: enc.encode("x") },
        ]),
        "zstd",
      ),
      dir,
      { core },
    );
    expect(readFileSync(join(dir, "d"), "utf8")).toBe("now a file");
    expect(readFileSync(join(dir, "f/x"), "utf8")).toBe("x");
  });

  it("a file whose bytes do not match its TOC digest: DIGEST_MISMATCH, nothing under its name, no temp file", async () => {
    const dir = join(work, "out-digest");
    mkdirSync(dir);
    const fs = new NodeExtractFs(dir);
    const entry = {
      name: "etc/passwd",
      type: "reg" as const,
      mode: 0o644,
      uid: 0,
      gid: 0,
      devMajor: 0,
      devMinor: 0,
      size: 4,
      digest: "sha256:" + "0".repeat(64),
      content: async function* () {
        yield enc.encode("evil");
      },
    };
    await expectCode(
      applyLayer(
        (async function* () {
          yield entry;
        })(),
        fs,
        () => core.sha256(),
      ),
      "DIGEST_MISMATCH",
    );
    expect(readdirSync(join(dir, "etc"))).toEqual([]);
    // A payload byte changed in a zstd:chunked blob: its frame check refuses it, the staging dir is dropped.
    const tar = buildTar([{ name: "f", data: new Uint8Array(100000).fill(7) }]);
    const made = await makeLayer(tar, "zstd:chunked");
    const blob = made.blob.slice();
    blob[600] = blob[600]! ^ 0xff;
    const path = join(work, "layer-corrupt.zst");
    writeFileSync(path, blob);
    const out = fresh();
    await expect(extractLayer(path, out, { core })).rejects.toMatchObject({ name: "LayerkitError" });
    expect(existsSync(out)).toBe(false);
  });

  it("a TOC that disagrees with the tar-split (INCONSISTENT) before anything is written", async () => {
    const tar = buildTar([{ name: "f", data: enc.encode("content"), mode: 0o644 }]);
    const made = await makeLayer(tar, "zstd:chunked");
    const [off, len] = made.result.annotations[ANNOTATION_MANIFEST_POSITION]!.split(":").map(Number) as [number, number];
    const [tsOff, tsLen, tsUlen] = made.result.annotations[ANNOTATION_TARSPLIT_POSITION]!.split(":").map(Number) as [
      number,
      number,
      number,
    ];
    const json = execFileSync("zstd", ["-q", "-d", "-c"], { input: made.blob.subarray(off, off + len) }).toString();
    expect(json).toContain('"mode":420');
    const forged = Buffer.from(json.replace('"mode":420', '"mode":493'));
    const toc = new Uint8Array(execFileSync("zstd", ["-q", "-c"], { input: forged }));
    const tarSplitFrame = made.blob.subarray(tsOff - 8, tsOff + tsLen);
    const newTocOff = off;
    const newTsOff = off + toc.length + 8;
    const blob = concatBytes([
      made.blob.subarray(0, off - 8),
      skippableFrameHeader(toc.length),
      toc,
      tarSplitFrame,
      buildFooterV3({
        tocOffset: newTocOff,
        tocLength: toc.length,
        tocUncompressedLength: forged.length,
        tarSplitOffset: newTsOff,
        tarSplitLength: tsLen,
        tarSplitUncompressedLength: tsUlen,
      }),
    ]);
    const path = join(work, "layer-forged.zst");
    writeFileSync(path, blob);
    const out = fresh();
    await expectCode(extractLayer(path, out, { core }), "INCONSISTENT");
    expect(existsSync(out)).toBe(false);
  });

  it("DIR that exists and is not empty is refused", async () => {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, "precious"), "keep");
    await expectCode(extractLayer(await layerFile(buildTar([{ name: "x", data: enc.encode("x") }]), "tar"), dir, { core }), "BAD_ARGUMENT");
    expect(readdirSync(dir)).toEqual(["precious"]);
  });
});
