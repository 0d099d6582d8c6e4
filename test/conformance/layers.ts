/**
 * Layer conformance: the same cases in Node, Deno, Chromium and workerd. Each creates layers of
 * every format from the fixture tars (./layer-fixtures.ts), reads their TOCs, reads files lazily
 * through an in-memory source and through HTTP (the runner's blob server on 127.0.0.1), verifies
 * them, converts between every pair of formats, and requires the blob digests to equal the golden
 * ones in ./golden.ts: the same tar and options give the same bytes in every runtime.
 */
import type { Core } from "../../src/core.js";
import { createLayer, type CreateLayerOptions } from "../../src/create-layer.js";
import { convertLayer } from "../../src/convert/convert-layer.js";
import { decompressLayer } from "../../src/formats/decompress.js";
import { detectLayerFormat } from "../../src/formats/detect.js";
import { compressionOf } from "../../src/formats/registry.js";
import type { LayerIndex } from "../../src/formats/format.js";
import type { LayerFormat, LayerResult } from "../../src/layer/result.js";
import { openLayerIndex } from "../../src/lazy/layer-index.js";
import { readFile } from "../../src/lazy/read-file.js";
import type { BlobSource } from "../../src/source/blob-source.js";
import { memorySource } from "../../src/source/memory.js";
import { verifyLayer } from "../../src/verify/verify-layer.js";
import { assert, assertBytesEqual, assertEqual, assertThrowsCode, type ConformanceCase, type ConformanceContext } from "./harness.js";
import {
  blobName,
  bytesOf,
  FORMATS,
  golden,
  httpBlob,
  layerName,
  sha256,
  type TarFile,
  tarFiles,
  TARS,
  unevenStream,
  wholeStream,
} from "./layer-fixtures.js";

/** eStargz's own entries: in its tar, and (the landmarks) in its TOC, never in the source tar. */
const ESTARGZ_ENTRIES = new Set(["stargz.index.json", ".prefetch.landmark", ".no.prefetch.landmark"]);

interface Layer {
  blob: Uint8Array;
  result: LayerResult;
}

/** Creates a layer, requiring the writer's result to describe the blob it streamed. */
async function create(core: Core, tar: ReadableStream<Uint8Array>, options: CreateLayerOptions): Promise<Layer> {
  const w = createLayer(tar, { ...options, core });
  const blob = await bytesOf(w.stream);
  const result = await w.result;
  assertEqual(result.format, options.format, "result.format");
  assertEqual(result.digest, sha256(core, blob), "result.digest is the sha256 of the streamed blob");
  assertEqual(result.size, blob.length, "result.size");
  assertEqual(result.descriptor.digest, result.digest, "descriptor.digest");
  assertEqual(result.descriptor.size, blob.length, "descriptor.size");
  return { blob, result };
}

/** The tar a blob decompresses to. */
async function tarOf(core: Core, blob: Uint8Array, format: LayerFormat): Promise<Uint8Array> {
  return bytesOf(decompressLayer(wholeStream(blob), compressionOf(format), { core }));
}

function describeFailures(r: Awaited<ReturnType<typeof verifyLayer>>): string {
  return r.failures.map((f) => `${f.check}: ${f.code} ${f.message}`).join("; ");
}

/** verifyLayer passes every check and reports the digests the writer gave. */
async function expectVerified(core: Core, source: BlobSource, layer: Layer, what: string): Promise<void> {
  const { result } = layer;
  const r = await verifyLayer(source, result.descriptor, { core, diffID: result.diffID });
  assert(r.ok, `${what}: verify failed: ${describeFailures(r)}`);
  assertEqual(r.format, result.format, `${what}: verify format`);
  assertEqual(r.digest, result.digest, `${what}: verify digest`);
  assertEqual(r.diffID, result.diffID, `${what}: verify diffID`);
  assertEqual(r.uncompressedSize, result.uncompressedSize, `${what}: verify uncompressedSize`);
  for (const c of r.checks) assert(c.status !== "failed", `${what}: check ${c.name} failed`);
  if (result.tocDigest !== undefined) {
    assertEqual(r.tocDigest, result.tocDigest, `${what}: verify tocDigest`);
    assertEqual(r.tocAuthenticated, true, `${what}: TOC authenticated by the annotations`);
  }
}

/** The TOC lists every tar entry with its type, size and link; extra TOC entries are eStargz's own or directories. */
function expectTocMatchesTar(index: LayerIndex, files: readonly TarFile[], what: string): void {
  const toc = new Map(index.entries.map((e) => [layerName(e.name), e]));
  for (const f of files) {
    if (ESTARGZ_ENTRIES.has(f.name)) continue;
    const e = toc.get(f.name);
    assert(e, `${what}: ${f.name} is not in the TOC`);
    assertEqual(e.type, f.type, `${what}: TOC type of ${f.name}`);
    if (f.type === "reg") assertEqual(e.size, f.size, `${what}: TOC size of ${f.name}`);
    if (f.type === "symlink" || f.type === "hardlink") {
      assertEqual(layerName(e.linkName ?? ""), layerName(f.linkname), `${what}: TOC link of ${f.name}`);
    }
  }
  const names = new Set(files.map((f) => f.name));
  for (const [name, e] of toc) {
    assert(names.has(name) || e.type === "dir" || ESTARGZ_ENTRIES.has(name), `${what}: TOC entry ${name} (${e.type}) is not in the tar`);
  }
}

/** Every regular file (and hardlink to one) read lazily equals its bytes in the tar. */
async function expectLazyReads(core: Core, source: BlobSource, index: LayerIndex, files: readonly TarFile[], what: string): Promise<void> {
  const content = new Map(files.filter((f) => f.type === "reg").map((f) => [f.name, f.data]));
  for (const f of files) {
    if (ESTARGZ_ENTRIES.has(f.name)) continue;
    const data = f.type === "reg" ? f.data : f.type === "hardlink" ? content.get(layerName(f.linkname)) : undefined;
    if (!data) continue;
    assertBytesEqual(await readFile(source, f.name, { core, index }), data, `${what}: lazy read of ${f.name}`);
  }
}

/** The seekable format's index through `source`, checked against the tar; every file read lazily. */
async function expectSeekable(core: Core, source: BlobSource, layer: Layer, files: readonly TarFile[], what: string): Promise<void> {
  const index = await openLayerIndex(source, { core, annotations: layer.result.annotations });
  assertEqual(index.authenticated, true, `${what}: TOC authenticated by the annotations`);
  assertEqual(index.blobSize, layer.blob.length, `${what}: index blobSize`);
  expectTocMatchesTar(index, files, what);
  await expectLazyReads(core, source, index, files, what);
}

/** The biggest regular file of the tar: its bytes span several chunks or members. */
function biggestFile(files: readonly TarFile[]): TarFile {
  return files.filter((f) => f.type === "reg").reduce((a, b) => (b.size > a.size ? b : a));
}

/** Create options per layer made in a case: the format's defaults, plus one eStargz variant with small chunks and a prioritized file. */
function variants(tarName: string, format: LayerFormat): { key: string; options: CreateLayerOptions }[] {
  const out = [{ key: "default", options: { format } as CreateLayerOptions }];
  if (format === "estargz" && tarName === "mixed") {
    out.push({ key: "chunk64k-prioritized", options: { format, chunkSize: 65536, prioritizedFiles: ["usr/share/text.txt"] } });
  }
  if (format === "zstd" || format === "gzip") out.push({ key: "level1", options: { format, level: 1 } });
  return out;
}

function createCase(tarName: string, format: LayerFormat): ConformanceCase {
  return {
    name: `layers [${tarName}]: ${format}: create (whole and in uneven writes), TOC, lazy reads (memory and HTTP), verify, golden digests`,
    async run(ctx) {
      const { core } = ctx;
      const tar = TARS[tarName]!();
      const files = await tarFiles(tar);
      const g = golden(ctx, `create/${tarName}/${format}/`);
      g.check("tar", sha256(core, tar));
      for (const { key, options } of variants(tarName, format)) {
        const what = `${tarName} ${format} ${key}`;
        const layer = await create(core, wholeStream(tar), options);
        const uneven = await create(core, unevenStream(tar), options);
        assertEqual(uneven.result.digest, layer.result.digest, `${what}: the same tar written in uneven pieces gives the same blob`);
        g.check(key, layer.result.digest);

        // The blob decompresses to the tar the result describes; plain formats and zstd:chunked keep the input tar.
        const out = await tarOf(core, layer.blob, format);
        assertEqual(sha256(core, out), layer.result.diffID, `${what}: diffID is the sha256 of the decompressed blob`);
        assertEqual(out.length, layer.result.uncompressedSize, `${what}: uncompressedSize`);
        if (format !== "estargz") assertBytesEqual(out, tar, `${what}: the layer's tar is the input tar`);

        const detected = await detectLayerFormat(memorySource(layer.blob), layer.result.annotations);
        assertEqual(detected.format, format, `${what}: detected from blob and annotations`);
        const bare = await detectLayerFormat(memorySource(layer.blob));
        assertEqual(bare.format, format, `${what}: detected from the blob alone`);

        const http = await httpBlob(ctx, blobName(tarName, format, key), layer.blob);
        if (format === "zstd:chunked" || format === "estargz") {
          await expectSeekable(core, memorySource(layer.blob), layer, files, `${what} (memory)`);
          await expectSeekable(core, http, layer, files, `${what} (HTTP)`);
          // One file from a fresh source, with the blob size known: within the lazy reader's
          // request budget (src/lazy/read-file.ts: footer or tail, TOC, file; zstd:chunked saves
          // the footer request only when its tar-split is tiny).
          const big = biggestFile(files);
          const fresh = await httpBlob(ctx, blobName(tarName, format, key, "fresh"), layer.blob);
          assertBytesEqual(
            await readFile(fresh, big.name, { core, annotations: layer.result.annotations }),
            big.data,
            `${what}: ${big.name} over HTTP`,
          );
          const budget = 3;
          assert(fresh.stats.requests <= budget, `${what}: one file cost ${fresh.stats.requests} requests, budget ${budget}`);
        } else {
          await assertThrowsCode(
            () => openLayerIndex(memorySource(layer.blob), { core }),
            "UNSUPPORTED_FORMAT",
            `${what}: no TOC in a plain layer`,
          );
        }
        await expectVerified(core, memorySource(layer.blob), layer, `${what} (memory)`);
        await expectVerified(core, http, layer, `${what} (HTTP)`);
        const unsized = await httpBlob(ctx, blobName(tarName, format, key, "unsized"), layer.blob, false);
        assertEqual(await unsized.size(), layer.blob.length, `${what}: size over HTTP`);
      }
      g.done();
    },
  };
}

function convertCase(tarName: string, from: LayerFormat): ConformanceCase {
  return {
    name: `layers [${tarName}]: convert ${from} to every format (HTTP source), verify, lazy reads, golden digests`,
    async run(ctx) {
      const { core } = ctx;
      const tar = TARS[tarName]!();
      const files = await tarFiles(tar);
      const g = golden(ctx, `convert/${tarName}/${from}/`);
      const source = await create(core, wholeStream(tar), { format: from });
      const sourceTar = await tarOf(core, source.blob, from);
      const http = await httpBlob(ctx, blobName(tarName, "convert", from), source.blob);
      for (const to of FORMATS) {
        const what = `${tarName} ${from} -> ${to}`;
        const w = convertLayer(http, { to, core, annotations: source.result.annotations });
        const blob = await bytesOf(w.stream);
        const result = await w.result;
        assertEqual(result.digest, sha256(core, blob), `${what}: result.digest`);
        assertEqual(result.sourceFormat, from, `${what}: source format detected`);
        assertEqual(result.sourceDiffID, source.result.diffID, `${what}: sourceDiffID`);
        g.check(to, result.digest);
        const layer = { blob, result };

        if (from !== "estargz") {
          // The source's tar is the input tar, so converting is creating from it.
          const direct = await create(core, wholeStream(tar), { format: to });
          assertEqual(result.digest, direct.result.digest, `${what}: same blob as creating ${to} from the tar`);
          assertEqual(result.diffIDChanged, to === "estargz", `${what}: diffIDChanged`);
        } else if (to === "estargz") {
          assertEqual(result.digest, source.result.digest, `${what}: rebuilding with the same options gives the same layer`);
        } else if (to === "zstd:chunked") {
          assert(result.stripped.includes("stargz.index.json"), `${what}: eStargz entries stripped (${result.stripped.join(", ")})`);
        } else {
          assertEqual(result.diffID, source.result.diffID, `${what}: the tar is kept byte for byte`);
          assertEqual(result.diffIDChanged, false, `${what}: diffIDChanged`);
        }
        if (to === "gzip" || to === "zstd") {
          assertBytesEqual(await tarOf(core, blob, to), sourceTar, `${what}: the tar is kept byte for byte`);
        }

        await expectVerified(core, memorySource(blob), layer, what);
        if (to === "zstd:chunked" || to === "estargz") await expectSeekable(core, memorySource(blob), layer, files, what);
      }
      g.done();
    },
  };
}

/** Flips one byte of a copy of `blob`. */
function flipped(blob: Uint8Array, at: number): Uint8Array {
  const out = blob.slice();
  out[at]! ^= 0x40;
  return out;
}

/** The codes a verify report gives, as `check:CODE` in report order (deduplicated). */
function failureCodes(r: Awaited<ReturnType<typeof verifyLayer>>): string {
  return [...new Set(r.failures.map((f) => `${f.check}:${f.code}`))].join(",");
}

/** Runs `fn` and returns the LayerkitError code it rejects with ("none" when it resolves). */
async function errorCode(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return "none";
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== "string") {
      throw new Error(`expected a LayerkitError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
    return code;
  }
}

function badInputCase(format: LayerFormat): ConformanceCase {
  return {
    name: `layers [mixed]: ${format}: truncated and flipped blobs give the same typed errors (decompress, lazy read, verify, convert)`,
    async run(ctx: ConformanceContext) {
      const { core } = ctx;
      const tar = TARS.mixed!();
      const files = await tarFiles(tar);
      const g = golden(ctx, `bad/mixed/${format}/`);
      const layer = await create(core, wholeStream(tar), { format });
      const { blob, result } = layer;
      const seekable = format === "zstd:chunked" || format === "estargz";

      // Cut in the middle: decompression and conversion fail with a typed code, verify reports it.
      const truncated = blob.subarray(0, blob.length >> 1);
      const cutDecompress = await errorCode(() => tarOf(core, truncated, format));
      const cutConvert = await errorCode(() => bytesOf(convertLayer(memorySource(truncated), { to: "zstd", from: format, core }).stream));
      assert(cutDecompress !== "none" && cutConvert === cutDecompress, `truncated: decompress ${cutDecompress}, convert ${cutConvert}`);
      g.check("truncated/decompress", cutDecompress);
      const cutReport = await verifyLayer(memorySource(truncated), result.descriptor, { core, diffID: result.diffID });
      assert(!cutReport.ok && cutReport.failures.some((f) => f.check === "blob-size"), `truncated: verify ${failureCodes(cutReport)}`);
      g.check("truncated/verify", failureCodes(cutReport));

      // One flipped byte in the biggest file's compressed bytes.
      const big = biggestFile(files);
      let at = blob.length >> 1;
      let index: LayerIndex | undefined;
      if (seekable) {
        index = await openLayerIndex(memorySource(blob), { core, annotations: result.annotations });
        const e = index.entries.find((x) => layerName(x.name) === big.name)!;
        at = (e.offset! + e.endOffset!) >> 1;
      }
      const bad = flipped(blob, at);
      const badReport = await verifyLayer(memorySource(bad), result.descriptor, { core, diffID: result.diffID });
      assert(
        !badReport.ok && badReport.failures.some((f) => f.check === "blob-digest" && f.code === "DIGEST_MISMATCH"),
        `flipped: verify ${failureCodes(badReport)}`,
      );
      g.check("flipped/verify", failureCodes(badReport));
      const badDecompress = await errorCode(() => tarOf(core, bad, format));
      g.check("flipped/decompress", badDecompress);
      if (index) {
        // The TOC is intact, so the index opens; the lazy reader never hands out the bad bytes,
        // and the other files still read.
        const badSource = memorySource(bad);
        const badIndex = await openLayerIndex(badSource, { core, annotations: result.annotations });
        const lazy = await errorCode(() => readFile(badSource, big.name, { core, index: badIndex }));
        assert(lazy !== "none", `flipped: lazy read of ${big.name} returned bytes`);
        g.check("flipped/lazy-read", lazy);
        const small = files.find((f) => f.name === "etc/hostname")!;
        assertBytesEqual(
          await readFile(badSource, small.name, { core, index: badIndex }),
          small.data,
          "flipped: an untouched file still reads",
        );
        // A TOC that is not the one the annotations commit to is refused.
        const other = await create(core, wholeStream(TARS["kitchen-sink"]!()), { format });
        const wrongToc = await errorCode(() =>
          openLayerIndex(memorySource(blob), { core, annotations: { ...result.annotations, ...tocAnnotationsOf(other.result) } })
        );
        g.check("wrong-toc-digest/open-index", wrongToc);
      } else {
        assert(badDecompress !== "none", `flipped: decompress of a plain ${format} layer succeeded`);
      }
      g.done();
    },
  };
}

/** Only the TOC digest annotation of a layer (the one that authenticates its TOC). */
function tocAnnotationsOf(r: LayerResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.annotations)) if (k.endsWith("toc.digest") || k.endsWith("manifest-checksum")) out[k] = v;
  return out;
}

export const layerCases: ConformanceCase[] = [
  ...Object.keys(TARS).flatMap((t) => FORMATS.map((f) => createCase(t, f))),
  ...Object.keys(TARS).flatMap((t) => FORMATS.map((f) => convertCase(t, f))),
  ...FORMATS.map((f) => badInputCase(f)),
];
