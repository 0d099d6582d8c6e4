/**
 * convertLayer between every pair of gzip, zstd, zstd:chunked and eStargz on the hand-built tars:
 * native gzip/zstd restore the tar the result's diffID names, the files are the fixture's, our
 * readers and upstream's (c/storage through the Go harness, stargz-snapshotter's estargz) accept
 * the seekable results, the diffID stays when the tar is kept, bad input is a typed error, and a
 * 512 MiB conversion runs in a child process with a 128 MiB heap and bounded RSS.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/runtime/node.js";
import type { Core } from "../../src/core.js";
import { createLayer } from "../../src/create-layer.js";
import { convertLayer, type ConvertLayerOptions } from "../../src/convert/convert-layer.js";
import { isEstargzEntryName } from "../../src/convert/strip-estargz.js";
import { detectLayerFormat } from "../../src/formats/detect.js";
import { readEstargzToc } from "../../src/formats/estargz/reader.js";
import { cleanEntryName } from "../../src/go/path.js";
import type { LayerFormat } from "../../src/layer/result.js";
import { readToc } from "../../src/formats/zstd-chunked/read-toc.js";
import { MemorySource } from "../../src/source/memory.js";
import { TarReader } from "../../src/tar/reader.js";
import * as tars from "../fixtures/tars.js";
import { bytesOf, streamOf } from "../support/streams.js";
import { runHarness } from "../support/go-harness.js";

const root = resolve(import.meta.dirname, "../..");
const TIMEOUT = 300_000;
/** The machine is shared: the big runs get room. */
const LONG_TIMEOUT = 900_000;
/** The pair matrix uses fast levels on both sides (source and target), so it stays quick. */
const LEVEL = 1;
let core: Core;
let work: string;
let estargzHarness: string;
beforeAll(async () => {
  core = await loadCore();
  work = mkdtempSync(join(tmpdir(), "layerkit-convert-"));
  // Fails loudly (no skip) when Go or Debian's packages are missing.
  estargzHarness = execFileSync("bash", [join(root, "test/go/build-estargz.sh"), join(work, "bin")], { encoding: "utf8" }).trim().split(
    "\n",
  ).pop()!;
}, TIMEOUT);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha = (b: Uint8Array): string => "sha256:" + createHash("sha256").update(b).digest("hex");
const native = (format: LayerFormat, blob: Uint8Array): Uint8Array =>
  new Uint8Array(
    format === "gzip" || format === "estargz"
      ? execFileSync("gzip", ["-dc"], { input: blob, maxBuffer: 1 << 28 })
      : execFileSync("zstd", ["-dcq"], { input: blob, maxBuffer: 1 << 28 }),
  );

function estargzGo(args: string[]): unknown {
  const r = spawnSync(estargzHarness, args, { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`layerkit-estargz ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Entries of a tar as comparable strings (cleaned name, type, link, content digest), eStargz's own left out. */
async function entriesOf(tar: Uint8Array): Promise<string[]> {
  const out: string[] = [];
  const r = new TarReader(tar, { strictTypes: false });
  for (let e = await r.next(); e; e = await r.next()) {
    if (isEstargzEntryName(e.header.name)) continue;
    const type = e.header.typeflag === "\0" ? "0" : e.header.typeflag;
    out.push([cleanEntryName(e.header.name), type, e.header.linkname, sha(await r.readAll())].join("|"));
  }
  return out;
}

async function make(
  tar: Uint8Array,
  format: LayerFormat,
  level?: number,
): Promise<{ blob: Uint8Array; annotations: Record<string, string> }> {
  const w = createLayer(streamOf(tar), { format, core, ...(level === undefined ? {} : { level }) });
  const blob = await bytesOf(w.stream);
  return { blob, annotations: (await w.result).annotations };
}

const FORMATS: LayerFormat[] = ["gzip", "zstd", "zstd:chunked", "estargz"];
const FIXTURES: Record<string, () => Uint8Array> = {
  kitchenSink: tars.kitchenSinkTar,
  manySmall: () => tars.manySmallFiles(300),
  holes: tars.holesTar,
  longNames: tars.longNamesTar,
  unicodeNames: tars.unicodeNamesTar,
  xattrs: tars.xattrsTar,
  paxTimes: tars.paxTimesTar,
};

describe("convertLayer: every pair of formats", () => {
  for (const [name, fixture] of Object.entries(FIXTURES)) {
    it(
      name,
      async () => {
        const tar = fixture();
        const want = await entriesOf(tar);
        for (const from of FORMATS) {
          const src = await make(tar, from, LEVEL);
          const srcTar = native(from, src.blob);
          for (const to of FORMATS) {
            const label = `${name}: ${from} → ${to}`;
            const w = convertLayer(new MemorySource(src.blob), { to, annotations: src.annotations, level: LEVEL, core });
            const blob = await bytesOf(w.stream);
            const r = await w.result;
            const plain = native(to, blob);

            // The result describes the blob and the tar native tools get out of it.
            expect(r.format, label).toBe(to);
            expect(r.sourceFormat, label).toBe(from);
            expect(r.digest, label).toBe(sha(blob));
            expect(r.size, label).toBe(blob.length);
            expect(r.diffID, label).toBe(sha(plain));
            expect(r.uncompressedSize, label).toBe(plain.length);
            expect(r.sourceDiffID, label).toBe(sha(srcTar));
            expect((await detectLayerFormat(new MemorySource(blob), r.annotations)).format, label).toBe(to);
            expect(await entriesOf(plain), label).toEqual(want);

            // diffID kept exactly when the tar is kept.
            if (to === "gzip" || to === "zstd" || (to === "zstd:chunked" && from !== "estargz")) {
              expect(r.diffIDChanged, label).toBe(false);
              expect(sha(plain), label).toBe(sha(srcTar));
              expect(r.stripped, label).toEqual([]);
            } else if (to === "estargz" && from === "estargz") {
              // Landmark and TOC dropped and rebuilt with the same options: the same layer again.
              expect(r.diffIDChanged, label).toBe(false);
              expect(r.digest, label).toBe(sha(src.blob));
            } else {
              expect(r.diffIDChanged, label).toBe(true);
            }
            if (to === "zstd:chunked" && from === "estargz") {
              expect(r.stripped.map(cleanEntryName), label).toEqual([".no.prefetch.landmark", "stargz.index.json"]);
            }

            if (to === "zstd:chunked") {
              const index = await readToc(new MemorySource(blob), { annotations: r.annotations, core, tarSplit: true });
              expect(index.format, label).toBe("zstd:chunked");
              expect(index.generation, label).toBe("G4");
              expect(index.authenticated, label).toBe(true);
              const base = join(work, `${name}-${from}-to-zstd-chunked`.replace(/\W/g, "_"));
              writeFileSync(`${base}.zst`, blob);
              writeFileSync(`${base}.json`, JSON.stringify(r.annotations));
              const up = runHarness<{ entries: { type: string; name: string }[] }>([
                "cstorage-read",
                "--map-current-keys",
                `${base}.zst`,
                `${base}.json`,
              ]);
              expect(up.entries.filter((e) => e.type !== "chunk").map((e) => e.name), label).toEqual(
                r.toc!.entries!.filter((e) => e.type !== "chunk").map((e) => e.name),
              );
            }
            if (to === "estargz") {
              const path = join(work, `${name}-${from}-to.esgz`.replace(/[^\w.]/g, "_"));
              writeFileSync(path, blob);
              const v = estargzGo(["verify", path, r.tocDigest!]) as {
                diffID: string;
                files: { type: string; name: string; sha256: string }[];
              };
              expect(v.diffID, label).toBe(r.diffID);
              const rd = await readEstargzToc(new MemorySource(blob), { core, tocDigest: r.tocDigest! });
              for (const f of rd.regularFiles()) expect(sha(await rd.readFile(f)), `${label} ${f.name}`).toBe(f.digest);
            }
          }
        }
      },
      LONG_TIMEOUT,
    );
  }
});

describe("convertLayer: sources written by upstream", () => {
  it(
    "stargz-snapshotter's estargz.Build and zstdchunked, c/storage's zstd:chunked: detected, converted, diffID kept where the tar is",
    async () => {
      const tar = tars.kitchenSinkTar();
      const tarPath = join(work, "up.tar");
      writeFileSync(tarPath, tar);
      const want = await entriesOf(tar);

      const esgzPath = join(work, "up.esgz");
      const built = estargzGo(["build", tarPath, esgzPath]) as { tocDigest: string; diffID: string };
      const szPath = join(work, "up-stargz.zst");
      const sz = runHarness<{ annotations: Record<string, string>; tocDigest: string; diffID: string }>([
        "stargz-zstd-write",
        tarPath,
        szPath,
      ]);
      // stargz-snapshotter's converter puts the eStargz TOC digest next to the old zstd:chunked keys.
      const szAnnotations = { ...sz.annotations, "containerd.io/snapshot/stargz/toc.digest": sz.tocDigest };
      const csPath = join(work, "up-cstorage.zst");
      const cs = runHarness<{ annotations: Record<string, string> }>(["cstorage-write", "--level", "3", tarPath, csPath]);
      const { readFileSync } = await import("node:fs");
      const sources: [string, Uint8Array, Record<string, string>, LayerFormat, string][] = [
        [
          "estargz.Build",
          new Uint8Array(readFileSync(esgzPath)),
          { "containerd.io/snapshot/stargz/toc.digest": built.tocDigest },
          "estargz",
          built.diffID,
        ],
        ["stargz zstdchunked", new Uint8Array(readFileSync(szPath)), szAnnotations, "zstd:chunked", sz.diffID],
        // c/storage 1.43 drops the tar's trailing padding (docs/formats/zstd-chunked.md §1.5): its diffID is
        // that of what it wrote, which native zstd tells.
        [
          "c/storage zstd:chunked",
          new Uint8Array(readFileSync(csPath)),
          cs.annotations,
          "zstd:chunked",
          sha(native("zstd", new Uint8Array(readFileSync(csPath)))),
        ],
      ];
      for (const [label, blob, annotations, format, diffID] of sources) {
        const detected = await detectLayerFormat(new MemorySource(blob), annotations);
        expect(detected.format, label).toBe(format);
        if (label === "stargz zstdchunked") expect(detected.variant, label).toBe("estargz-zstd");
        expect(sha(native(format, blob)), label).toBe(diffID);
        for (const to of FORMATS) {
          const w = convertLayer(new MemorySource(blob), { to, annotations, core });
          const out = await bytesOf(w.stream);
          const r = await w.result;
          const plain = native(to, out);
          expect(r.sourceDiffID, `${label} → ${to}`).toBe(diffID);
          expect(r.diffID, `${label} → ${to}`).toBe(sha(plain));
          expect(await entriesOf(plain), `${label} → ${to}`).toEqual(want);
          if (to === "gzip" || to === "zstd") expect(r.diffID, `${label} → ${to}`).toBe(diffID);
          if (to === "zstd:chunked") {
            const index = await readToc(new MemorySource(out), { annotations: r.annotations, core });
            expect(index.format, `${label} → ${to}`).toBe("zstd:chunked");
            expect(r.diffIDChanged, `${label} → ${to}`).toBe(label !== "c/storage zstd:chunked");
          }
          if (to === "estargz") {
            const path = join(work, `up-${label.replace(/\W/g, "_")}.esgz`);
            writeFileSync(path, out);
            expect((estargzGo(["verify", path, r.tocDigest!]) as { diffID: string }).diffID, `${label} → ${to}`).toBe(r.diffID);
          }
        }
      }
    },
    TIMEOUT,
  );
});

describe("convertLayer: options and streams", () => {
  it("a stream source: the format comes from the magic; the result is the same as from a BlobSource", async () => {
    const tar = tars.kitchenSinkTar();
    for (const from of FORMATS) {
      const src = await make(tar, from);
      const a = convertLayer(streamOf(src.blob), { to: "zstd", core });
      const blobA = await bytesOf(a.stream);
      const b = convertLayer(new MemorySource(src.blob), { to: "zstd", core });
      const blobB = await bytesOf(b.stream);
      expect(sha(blobA)).toBe(sha(blobB));
      expect((await a.result).sourceFormat).toBe(from === "estargz" ? "gzip" : from === "zstd:chunked" ? "zstd" : from);
      expect((await a.result).diffID).toBe((await b.result).diffID);
    }
  });

  it("eStargz → gzip keeps stargz.index.json and the landmark unless stripEstargz", async () => {
    const tar = tars.kitchenSinkTar();
    const src = await make(tar, "estargz");
    const kept = convertLayer(new MemorySource(src.blob), { to: "gzip", core });
    const keptTar = native("gzip", await bytesOf(kept.stream));
    expect(sha(keptTar)).toBe(sha(native("estargz", src.blob)));
    const names = async (t: Uint8Array) => {
      const out: string[] = [];
      const r = new TarReader(t, { strictTypes: false });
      for (let e = await r.next(); e; e = await r.next()) out.push(cleanEntryName(e.header.name));
      return out;
    };
    expect(await names(keptTar)).toContain("stargz.index.json");
    const stripped = convertLayer(new MemorySource(src.blob), { to: "gzip", stripEstargz: true, core });
    const strippedTar = native("gzip", await bytesOf(stripped.stream));
    const r = await stripped.result;
    expect(r.diffIDChanged).toBe(true);
    expect(r.diffID).toBe(sha(strippedTar));
    expect((await names(strippedTar)).filter(isEstargzEntryName)).toEqual([]);
    expect(await entriesOf(strippedTar)).toEqual(await entriesOf(tar));
    // eStargz → eStargz: the landmark and TOC are rebuilt, not doubled.
    const again = convertLayer(new MemorySource(src.blob), { to: "estargz", core });
    const againTar = native("gzip", await bytesOf(again.stream));
    expect((await names(againTar)).filter(isEstargzEntryName)).toEqual([".no.prefetch.landmark", "stargz.index.json"]);
  });

  it("level, prioritizedFiles and chunkSize reach the target writer", async () => {
    const tar = tars.kitchenSinkTar();
    const src = await make(tar, "zstd");
    const w = convertLayer(new MemorySource(src.blob), {
      to: "estargz",
      prioritizedFiles: ["./bin/tool"],
      chunkSize: 65536,
      level: 1,
      core,
    });
    const blob = await bytesOf(w.stream);
    const r = await w.result;
    const rd = await readEstargzToc(new MemorySource(blob), { core, tocDigest: r.tocDigest! });
    const names = (r.toc!.entries ?? []).filter((e) => e.type !== "chunk").map((e) => cleanEntryName(e.name));
    expect(names.indexOf("bin/tool")).toBeGreaterThanOrEqual(0);
    expect(names.indexOf("bin/tool")).toBeLessThan(names.indexOf(".prefetch.landmark"));
    expect((r.toc!.entries ?? []).filter((e) => cleanEntryName(e.name) === "bin/tool").length).toBe(4); // 200 kB in 64 KiB chunks
    for (const f of rd.regularFiles()) expect(sha(await rd.readFile(f))).toBe(f.digest);
    const g1 = convertLayer(new MemorySource(src.blob), { to: "gzip", level: 1, core });
    expect((await bytesOf(g1.stream))[8]).toBe(4); // XFL of level 1
  });
});

describe("convertLayer: bad input", () => {
  const codeOf = async (w: { stream: ReadableStream<Uint8Array>; result: Promise<unknown> }): Promise<string> => {
    const [s, r] = await Promise.allSettled([bytesOf(w.stream), w.result]);
    expect(s.status).toBe("rejected");
    expect(r.status).toBe("rejected");
    const a = (s as PromiseRejectedResult).reason as { code?: string };
    const b = (r as PromiseRejectedResult).reason as { code?: string };
    expect(a.code).toBe(b.code);
    return a.code ?? String(a);
  };

  it("truncated, corrupt and wrong-magic sources are typed errors on stream and result", async () => {
    const tar = tars.kitchenSinkTar();
    const gz = (await make(tar, "gzip")).blob;
    const zs = (await make(tar, "zstd:chunked")).blob;
    // A truncated gzip is no longer an eStargz/plain gzip with a footer: stream it.
    expect(await codeOf(convertLayer(streamOf(gz.subarray(0, gz.length - 100)), { to: "zstd", core }))).toBe("TRUNCATED");
    expect(await codeOf(convertLayer(streamOf(zs.subarray(0, 5000)), { to: "gzip", from: "zstd", core }))).toBe("ZSTD_TRUNCATED");
    const flipped = gz.slice();
    flipped[Math.floor(gz.length / 2)]! ^= 0x55;
    expect(await codeOf(convertLayer(new MemorySource(flipped), { to: "zstd", core }))).toBe("GZIP_CORRUPT");
    expect(await codeOf(convertLayer(new MemorySource(gz), { to: "gzip", from: "zstd", core }))).toBe("ZSTD_CORRUPT");
    expect(await codeOf(convertLayer(new MemorySource(tars.randomBytes(10_000, 4)), { to: "zstd", core }))).toBe("BAD_MAGIC");
    expect(await codeOf(convertLayer(streamOf(tars.randomBytes(10_000, 4)), { to: "zstd", core }))).toBe("BAD_MAGIC");
    expect(await codeOf(convertLayer(new MemorySource(tar), { to: "zstd", core }))).toBe("UNSUPPORTED_FORMAT");
    expect(await codeOf(convertLayer(streamOf(new Uint8Array(0)), { to: "zstd", core }))).toBe("TRUNCATED");
  });

  it("a corrupt tar inside valid compression: TAR_CORRUPT for every target (a writer never emits a layer its own verify rejects)", async () => {
    const bad = tars.badChecksumTar();
    // createLayer refuses such a tar, so gzip it directly: the layer a tool that does not look
    // inside would produce.
    const gz = new Uint8Array(gzipSync(bad));
    for (const to of ["zstd", "gzip", "zstd:chunked", "estargz"] as const) {
      expect(await codeOf(convertLayer(new MemorySource(gz), { to, core })), to).toBe("TAR_CORRUPT");
    }
  });

  it("maxUncompressedSize: LIMIT_EXCEEDED; unknown formats: UNSUPPORTED_FORMAT at the call", async () => {
    const gz = (await make(tars.kitchenSinkTar(), "gzip")).blob;
    expect(await codeOf(convertLayer(new MemorySource(gz), { to: "zstd", maxUncompressedSize: 4096, core }))).toBe("LIMIT_EXCEEDED");
    expect(() => convertLayer(new MemorySource(gz), { to: "lz4" } as unknown as ConvertLayerOptions)).toThrow(
      expect.objectContaining({ code: "UNSUPPORTED_FORMAT" }),
    );
    expect(() => convertLayer(new MemorySource(gz), { to: "zstd", from: "tar" } as unknown as ConvertLayerOptions)).toThrow(
      expect.objectContaining({ code: "UNSUPPORTED_FORMAT" }),
    );
  });
});

describe("convertLayer: bounded memory", () => {
  it(
    "512 MiB of generated tar, gzip → zstd:chunked, in a child with a 128 MiB heap: RSS stays far below the data size",
    async () => {
      const out = join(work, "mem");
      mkdirSync(out, { recursive: true });
      const child = join(out, "child.mjs");
      await build({
        entryPoints: [join(root, "test/node/convert-memory-child.ts")],
        bundle: true,
        platform: "node",
        format: "esm",
        outfile: child,
        logLevel: "error",
      });
      const r = spawnSync(process.execPath, ["--max-old-space-size=128", child, join(root, "wasm/zstd.wasm"), String(512 << 20)], {
        encoding: "utf8",
        maxBuffer: 1 << 20,
        timeout: LONG_TIMEOUT - 10_000,
      });
      if (r.status !== 0) throw new Error(`child failed (${r.status} ${r.signal}): ${r.stderr}`);
      const m = JSON.parse(r.stdout) as {
        tarBytes: number;
        gzipBytes: number;
        outBytes: number;
        maxRssMiB: number;
        sourceDiffID: string;
        tarDiffID: string;
        diffID: string;
      };
      expect(m.tarBytes).toBeGreaterThanOrEqual(512 << 20);
      expect(m.gzipBytes).toBeGreaterThan(0);
      expect(m.outBytes).toBeGreaterThan(0);
      // The tar went through unchanged: the same diffID on both sides of the conversion.
      expect(m.sourceDiffID).toBe(m.tarDiffID);
      expect(m.diffID).toBe(m.tarDiffID);
      // Nothing held the whole layer: peak RSS (node + WASM heap included) is well under 512 MiB.
      expect(m.maxRssMiB).toBeLessThan(320);
    },
    LONG_TIMEOUT,
  );
});
