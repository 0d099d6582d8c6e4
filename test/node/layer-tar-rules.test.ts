/**
 * What a layer's tar may hold (src/tar/layer-rules.ts), end to end through createLayer and
 * verifyLayer: plain zstd/gzip layers carry what Go's archive/tar reads (global PAX headers as
 * `git archive` writes them, GNU and PAX sparse files, GNU `D` entries, long names); the seekable
 * writers refuse what upstream refuses, with the reason; no writer emits a layer its own verify
 * rejects (non-tar input, corrupt numeric fields, non-UTF-8 eStargz names); unsafe names are
 * refused at create unless allowed, and reported by verify in every format.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it, vi } from "vitest";

vi.setConfig({ testTimeout: 60_000 });
import { loadCore } from "../../src/runtime/node.js";
import type { Core } from "../../src/core.js";
import { createLayer } from "../../src/create-layer.js";
import { LayerkitError } from "../../src/errors.js";
import { type LayerFormat, mediaTypeOf } from "../../src/layer/result.js";
import { MemorySource } from "../../src/source/memory.js";
import { buildTar, readTar } from "../../src/tar/index.js";
import { PLAIN_TAR_READ } from "../../src/tar/layer-rules.js";
import { verifyLayer } from "../../src/verify/verify-layer.js";
import * as tars from "../fixtures/tars.js";
import { bytesOf, streamOf } from "../support/streams.js";

const FORMATS: LayerFormat[] = ["zstd:chunked", "estargz", "zstd", "gzip"];
const SEEKABLE: LayerFormat[] = ["zstd:chunked", "estargz"];
const PLAIN: LayerFormat[] = ["zstd", "gzip"];
const MTIME = 1700000000;
const enc = new TextEncoder();
const sha = (b: Uint8Array): string => "sha256:" + createHash("sha256").update(b).digest("hex");

let core: Core;
beforeAll(async () => {
  core = await loadCore();
});

async function create(tar: Uint8Array, format: LayerFormat, allowUnsafePaths?: boolean): Promise<Uint8Array> {
  const w = createLayer(streamOf(tar), { format, core, ...(allowUnsafePaths ? { allowUnsafePaths } : {}) });
  const [blob] = await Promise.all([bytesOf(w.stream), w.result]);
  return blob;
}

async function createCode(tar: Uint8Array, format: LayerFormat): Promise<string> {
  try {
    await create(tar, format);
    return "ok";
  } catch (e) {
    if (!(e instanceof LayerkitError)) throw e;
    return e.code;
  }
}

async function verify(blob: Uint8Array, format: LayerFormat) {
  return verifyLayer(new MemorySource(blob), { digest: sha(blob), size: blob.length, mediaType: mediaTypeOf(format) }, { core, format });
}

/** A GNU `D` (dumpdir) entry as GNU tar --incremental writes it: a directory with its listing as payload. */
function dumpDirTar(): Uint8Array {
  return buildTar(
    [
      { name: "d/", typeflag: "D", data: enc.encode("Yfile\0\0"), mtime: MTIME },
      { name: "d/file", data: enc.encode("f"), mtime: MTIME },
    ],
    { format: "gnu" },
  );
}

/** `git archive` output of a one-commit repository (it starts with a global PAX header). */
function gitArchiveTar(): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "layerkit-git-"));
  const git = (...args: string[]): Buffer =>
    execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", ...args], {
      maxBuffer: 1 << 26,
    });
  git("init", "-q");
  writeFileSync(join(dir, "hello.txt"), "hello\n");
  git("add", "hello.txt");
  git("commit", "-q", "-m", "one");
  return new Uint8Array(git("archive", "HEAD"));
}

const goAccepts: Record<string, () => Uint8Array> = {
  "global PAX header": tars.globalHeaderTar,
  "git archive output": gitArchiveTar,
  "old GNU sparse file": tars.gnuSparseTar,
  "PAX 1.0 sparse file": tars.paxSparseTar,
  "PAX 0.1 sparse file": () =>
    buildTar([
      {
        name: "sparse01",
        data: tars.randomBytes(700, 5),
        pax: { "GNU.sparse.numblocks": "2", "GNU.sparse.map": "0,200,4096,500", "GNU.sparse.size": "8192" },
        mtime: MTIME,
      },
    ]),
  "GNU D entry": dumpDirTar,
  "GNU long names and links": () => tars.longNamesTar({ format: "gnu" }),
};

describe("plain layers carry what Go's archive/tar reads", () => {
  for (const [what, make] of Object.entries(goAccepts)) {
    it(`${what}: zstd and gzip create and verify it; the seekable writers refuse it or carry it, never a layer their verify rejects`, async () => {
      const tar = make();
      for (const format of PLAIN) {
        const blob = await create(tar, format);
        const r = await verify(blob, format);
        expect(r.failures, `${what} ${format}`).toEqual([]);
        expect(r.ok).toBe(true);
        expect(r.diffID).toBe(sha(tar));
      }
      // The same bytes through a raw compressor (not our writer) verify as well.
      const gz = new Uint8Array(gzipSync(tar));
      expect((await verify(gz, "gzip")).ok).toBe(true);
      for (const format of SEEKABLE) {
        const code = await createCode(tar, format);
        if (what.startsWith("GNU long")) expect(code, `${what} ${format}`).toBe("ok");
        else expect(code, `${what} ${format}`).toBe("TAR_UNSUPPORTED");
      }
    });
  }

  it("sparse maps are read as Go reads them: logical size and fragments, the stored bytes as payload", async () => {
    const gnu = (await readTar(tars.gnuSparseTar(), PLAIN_TAR_READ)).entries[0]!;
    expect([gnu.header.name, gnu.header.size, gnu.dataSize, gnu.header.sparse]).toEqual(["sparse", 4096, 512, [{
      offset: 0,
      length: 512,
    }]]);
    const pax = (await readTar(tars.paxSparseTar(), PLAIN_TAR_READ)).entries[0]!;
    expect([pax.header.name, pax.header.size, pax.dataSize, pax.header.sparse]).toEqual(["sparse", 4096, 512, [{
      offset: 0,
      length: 512,
    }]]);
    // A map whose fragments do not add up to the stored bytes is TAR_CORRUPT (Go fails reading it).
    const short = buildTar([{
      name: "s",
      data: tars.randomBytes(100, 1),
      pax: { "GNU.sparse.numblocks": "1", "GNU.sparse.map": "0,200", "GNU.sparse.size": "300" },
      mtime: MTIME,
    }]);
    await expect(readTar(short, PLAIN_TAR_READ)).rejects.toMatchObject({ code: "TAR_CORRUPT" });
    const outside = buildTar([{
      name: "s",
      data: tars.randomBytes(100, 1),
      pax: { "GNU.sparse.numblocks": "1", "GNU.sparse.map": "250,100", "GNU.sparse.size": "300" },
      mtime: MTIME,
    }]);
    await expect(readTar(outside, PLAIN_TAR_READ)).rejects.toMatchObject({ code: "TAR_CORRUPT" });
  });

  it("the seekable writers say why they refuse", async () => {
    const w = createLayer(streamOf(tars.globalHeaderTar()), { format: "zstd:chunked", core });
    await expect(bytesOf(w.stream)).rejects.toThrow(/global PAX header/);
    const s = createLayer(streamOf(tars.paxSparseTar()), { format: "estargz", core });
    await expect(bytesOf(s.stream)).rejects.toThrow(/sparse file/);
  });
});

describe("writers never emit a layer their own verify rejects", () => {
  const notTar: Record<string, () => Uint8Array> = {
    "a .tar.gz": () => new Uint8Array(gzipSync(tars.manySmallFiles(20))),
    "/etc/passwd (or another text file)": () => {
      const t = readFileSync("/etc/passwd");
      return new Uint8Array(t.length >= 512 ? t : Buffer.concat([t, Buffer.from("x".repeat(512))]));
    },
    "negative size": tars.negativeSizeTar,
    "bad octal size": tars.badOctalTar,
    "bad checksum": tars.badChecksumTar,
    "zero block then garbage": tars.zeroThenGarbageTar,
  };
  for (const [what, make] of Object.entries(notTar)) {
    it(`${what}: TAR_CORRUPT in every format, as verify says of the same bytes`, async () => {
      const input = make();
      for (const format of FORMATS) expect(await createCode(input, format), format).toBe("TAR_CORRUPT");
      const r = await verify(new Uint8Array(gzipSync(input)), "gzip");
      expect(r.ok).toBe(false);
      expect(r.failures.map((f) => f.code)).toContain("TAR_CORRUPT");
    });
  }

  it("a tar cut short is TRUNCATED in every format", async () => {
    for (const format of FORMATS) expect(await createCode(tars.truncatedTars()["inPayload"]!, format), format).toBe("TRUNCATED");
  });

  it("eStargz create refuses a non-UTF-8 name (its TOC could not name it), zstd and gzip carry it", async () => {
    const tar = buildTar([{ name: "bad-\udcff-name", data: enc.encode("x"), mtime: MTIME }]);
    expect(await createCode(tar, "estargz")).toBe("TAR_UNSUPPORTED");
    expect(await createCode(tar, "zstd:chunked")).toBe("TAR_UNSUPPORTED");
    for (const format of PLAIN) expect((await verify(await create(tar, format), format)).ok, format).toBe(true);
  });
});

describe("unsafe names", () => {
  const unsafe: Record<string, Uint8Array> = {
    "../escape.txt": tars.dotDotTar("../escape.txt"),
    "a/../../b": tars.dotDotTar("a/../../b"),
    "/abs/path.txt": tars.dotDotTar("/abs/path.txt"),
    "hardlink to ../../../etc/shadow": buildTar([
      { name: "ok", data: enc.encode("ok"), mtime: MTIME },
      { name: "h", type: "hardlink", linkname: "../../../etc/shadow", mtime: MTIME },
    ]),
  };
  for (const [what, tar] of Object.entries(unsafe)) {
    it(`${what}: create refuses it (UNSAFE_PATH) in every format; with allowUnsafePaths verify reports it in every format`, async () => {
      for (const format of FORMATS) {
        expect(await createCode(tar, format), format).toBe("UNSAFE_PATH");
        let blob: Uint8Array;
        try {
          blob = await create(tar, format, true);
        } catch (e) {
          // The seekable TOC readers refuse `..` themselves; a writer may refuse as well. A hardlink
          // whose target is no earlier entry is refused by the seekable writers whatever its name
          // (src/layer/link-rules.ts: TAR_UNSUPPORTED, as upstream refuses missing link targets).
          const allowed = what.startsWith("hardlink") && (format === "zstd:chunked" || format === "estargz")
            ? ["UNSAFE_PATH", "TAR_UNSUPPORTED"]
            : ["UNSAFE_PATH"];
          expect(allowed, format).toContain((e as LayerkitError).code);
          continue;
        }
        const r = await verify(blob, format);
        expect(r.ok, format).toBe(false);
        expect(r.failures.filter((f) => f.check === "safe-paths").map((f) => f.code), format).toEqual(["UNSAFE_PATH"]);
      }
    });
  }

  it("a NUL in a name is refused at create", async () => {
    const tar = buildTar([{ name: "x", data: enc.encode("x"), pax: { path: "nul\0name" }, mtime: MTIME }]);
    for (const format of FORMATS) expect(await createCode(tar, format), format).toBe("UNSAFE_PATH");
  });

  it("a symlink climbing out of the root is a warning, not a failure; absolute symlinks and links inside are fine", async () => {
    const tar = buildTar([
      { name: "a/", type: "dir", mtime: MTIME },
      { name: "a/out", type: "symlink", linkname: "../../etc/shadow", mtime: MTIME },
      { name: "a/in", type: "symlink", linkname: "../a/x", mtime: MTIME },
      { name: "a/abs", type: "symlink", linkname: "/etc/os-release", mtime: MTIME },
    ]);
    for (const format of FORMATS) {
      const r = await verify(await create(tar, format), format);
      expect(r.ok, format).toBe(true);
      expect(r.warnings.map((w) => [w.check, w.path]), format).toEqual([["safe-paths", "a/out"]]);
    }
  });
});
