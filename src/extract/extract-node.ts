/**
 * `extractLayer` / `extractImage` on Node: a layer blob (any format) or an OCI layout image
 * (its layers in order, whiteouts and opaque directories applied) extracted into a directory.
 *
 * Whole or not at all: everything is extracted into a new sibling directory
 * (`DIR.layerkit-partial-…`) that is renamed to DIR only when every layer applied and checked
 * (file digests against the TOC, blob digests and diffIDs against the image). A failure removes
 * it: extraction is rolled back, not resumed. DIR must not exist or be an empty directory.
 *
 * Seekable layers (zstd:chunked, eStargz) are extracted file by file through their TOC, with
 * the descriptor's annotations authenticating it when there are any; a zstd:chunked TOC that
 * disagrees with its tar-split is refused (INCONSISTENT) before anything is written. Plain gzip,
 * zstd and uncompressed layers stream.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { type Core, getCore } from "../core.js";
import { isLayerkitError, LayerkitError } from "../errors.js";
import { isEstargzEntryName } from "../convert/strip-estargz.js";
import { streamSource } from "../convert/source-stream.js";
import { decompressLayer } from "../formats/decompress.js";
import { detectLayerFormat } from "../formats/detect.js";
import { checkTarSplit } from "../formats/zstd-chunked/check-tar-split.js";
import { readToc } from "../formats/zstd-chunked/read-toc.js";
import { layerIndexFromToc, openLayerIndex } from "../lazy/layer-index.js";
import { openLayout } from "../oci/layout-node.js";
import type { Descriptor, Platform } from "../oci/types.js";
import type { BlobSource } from "../source/blob-source.js";
import { FileSource } from "../source/node-file.js";
import { DigestCounter } from "../util/digest-counter.js";
import { applyLayer, type ApplyLayerResult } from "./apply.js";
import type { ExtractEntry } from "./entry.js";
import { NodeExtractFs, type NodeExtractReport } from "./node-fs.js";
import { buildReuseIndex, writeReuseIndex, type WrittenFiles } from "./reuse-index.js";
import { ReusePool } from "./reuse-pool.js";
import { entriesFromIndex, entriesFromTar } from "./sources.js";

export interface ExtractOptions {
  core?: Core;
  /** Apply owners (default: when running as root). Without, owners other than 0:0 are reported. */
  asRoot?: boolean;
  /**
   * Earlier extractions (trees with a reuse index) whose files are reused by digest instead of
   * fetched, for seekable layers: reflinked where the file system can, else copied, and checked
   * against the TOC digest before they get their name (see ./reuse-pool.ts).
   */
  reuse?: string[];
}

export interface ExtractLayerOptions extends ExtractOptions {
  /** The layer descriptor's annotations (authenticate a seekable layer's TOC). */
  annotations?: Record<string, string>;
}

export interface ExtractImageOptions extends ExtractOptions {
  /** The image's name in the layout's index.json (default: the only image). */
  tag?: string;
  platform?: Platform;
}

/** What one layer reused and fetched. */
export interface LayerReuseReport {
  /** Files placed from local copies. */
  files: Array<{ name: string; from: string; how: "reflink" | "copy"; bytes: number }>;
  /** Local copies whose bytes did not match the TOC (the file was fetched instead). */
  refused: Array<{ name: string; from: string }>;
  /** What the layer's source delivered while the layer was applied (TOC included). */
  fetched: { bytes: number; requests: number };
}

export interface ExtractReport extends NodeExtractReport {
  dir: string;
  layers: Array<ApplyLayerResult & { digest?: string; format: string; by: "toc" | "stream"; reuse: LayerReuseReport }>;
  /** Local candidates skipped because they changed since they were indexed. */
  stale: Array<{ path: string; reason: string }>;
}

/** What every layer of one extraction shares: the reuse pool and the record of files placed. */
interface Run {
  core: Core;
  fs: NodeExtractFs;
  pool: ReusePool | undefined;
  written: WrittenFiles;
}

/** Extracts the layer blob at `blob` (a file, or any {@link BlobSource}, e.g. HTTP) into `dir`. */
export async function extractLayer(blob: string | BlobSource, dir: string, options: ExtractLayerOptions = {}): Promise<ExtractReport> {
  const core = options.core ?? (await getCore());
  return withStaging(dir, core, options, async (run) => {
    const source = typeof blob === "string" ? await FileSource.open(blob) : blob;
    try {
      return [await applyBlob(run, source, options.annotations, undefined)];
    } finally {
      if (typeof blob === "string") await source.close?.();
    }
  });
}

/** Extracts the image `tag` of the OCI layout at `layoutDir` into `dir`, bottom layer first. */
export async function extractImage(layoutDir: string, dir: string, options: ExtractImageOptions = {}): Promise<ExtractReport> {
  const core = options.core ?? (await getCore());
  const layout = await openLayout(layoutDir);
  const image = await layout.readImage(options.tag, options.platform ? { platform: options.platform } : {});
  const diffIDs = image.config.rootfs?.diff_ids ?? [];
  if (diffIDs.length !== image.manifest.layers.length) {
    throw new LayerkitError("BAD_MANIFEST", `the config lists ${diffIDs.length} diff IDs for ${image.manifest.layers.length} layers`, {});
  }
  return withStaging(dir, core, options, async (run) => {
    const out = [];
    for (const [i, d] of image.manifest.layers.entries()) {
      const [alg, hex] = d.digest.split(":");
      const source = await FileSource.open(join(layoutDir, "blobs", alg!, hex!));
      try {
        out.push(await applyBlob(run, source, d.annotations, { descriptor: d, diffID: diffIDs[i]! }));
      } finally {
        await source.close();
      }
    }
    return out;
  });
}

async function applyBlob(
  run: Run,
  source: BlobSource,
  annotations: Record<string, string> | undefined,
  expect: { descriptor: Descriptor; diffID: string } | undefined,
): Promise<ExtractReport["layers"][number]> {
  const before = { ...source.stats };
  let format: string;
  try {
    format = (await detectLayerFormat(source, annotations)).format;
  } catch (e) {
    if (!(isLayerkitError(e, "UNSUPPORTED_FORMAT") && e.details.detected === "tar")) throw e;
    format = "tar";
  }
  const { core, fs } = run;
  const digest = expect?.descriptor.digest;
  const reuse: LayerReuseReport = { files: [], refused: [], fetched: { bytes: 0, requests: 0 } };
  const fetched = (): LayerReuseReport => ({
    ...reuse,
    fetched: { bytes: source.stats.bytes - before.bytes, requests: source.stats.requests - before.requests },
  });
  const onPlaced = (key: string, f: { size: number; digest: string } | undefined) => f ? run.written.set(key, f) : run.written.delete(key);
  if (format === "zstd:chunked" || format === "estargz") {
    const entries = await seekableEntries(core, source, annotations, format);
    const pool = run.pool;
    const applied = await applyLayer(entries, fs, () => core.sha256(), {
      onPlaced,
      ...(pool
        ? {
          reuse: {
            find: (d, size) => pool.find(d, size),
            reused: (name, from, how, bytes) => reuse.files.push({ name, from, how, bytes }),
            refused: (name, from) => reuse.refused.push({ name, from }),
          },
        }
        : {}),
    });
    return { ...applied, format, by: "toc", ...(digest ? { digest } : {}), reuse: fetched() };
  }
  // Plain layers stream: the blob digest and the diffID are checked at the end (the staging
  // directory is dropped when they are wrong).
  const blobHash = new DigestCounter(core);
  const tarHash = new DigestCounter(core);
  const blob = streamSource(source).pipeThrough(tap((b) => blobHash.update(b)));
  const tar = (format === "tar" ? blob : decompressLayer(blob, format === "gzip" ? "gzip" : "zstd", { core })).pipeThrough(
    tap((b) => tarHash.update(b)),
  );
  const result = await applyLayer(entriesFromTar(tar), fs, () => core.sha256(), { onPlaced });
  if (expect) {
    if (blobHash.digest() !== expect.descriptor.digest) {
      throw new LayerkitError(
        "DIGEST_MISMATCH",
        `layer blob digest is ${blobHash.digest()}, the manifest says ${expect.descriptor.digest}`,
        { digest: blobHash.digest(), expected: expect.descriptor.digest },
      );
    }
    if (tarHash.digest() !== expect.diffID) {
      throw new LayerkitError(
        "DIGEST_MISMATCH",
        `layer ${expect.descriptor.digest}: diffID ${tarHash.digest()}, the config says ${expect.diffID}`,
        { diffID: tarHash.digest(), expected: expect.diffID },
      );
    }
  }
  return { ...result, format, by: "stream", ...(digest ? { digest } : {}), reuse: fetched() };
}

/** A seekable layer's entries; zstd:chunked's TOC is checked against its tar-split first. */
async function seekableEntries(
  core: Core,
  source: BlobSource,
  annotations: Record<string, string> | undefined,
  format: string,
): Promise<AsyncIterable<ExtractEntry>> {
  if (format === "zstd:chunked") {
    const toc = await readToc(source, { core, tarSplit: true, ...(annotations ? { annotations } : {}) });
    if (toc.tarSplit) await checkTarSplit(toc.toc.entries, toc.tarSplit);
    const index = layerIndexFromToc(core, source, toc);
    return entriesFromIndex(index, index.format === "zstd:chunked" ? undefined : isEstargzEntryName);
  }
  const index = await openLayerIndex(source, { core, ...(annotations ? { annotations } : {}) });
  // eStargz's own entries (TOC, landmarks) are format metadata, not part of the tree.
  return entriesFromIndex(index, isEstargzEntryName);
}

function tap(f: (b: Uint8Array) => void): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(b, c) {
      f(b);
      c.enqueue(b);
    },
  });
}

async function withStaging(
  dir: string,
  core: Core,
  options: ExtractOptions,
  work: (run: Run) => Promise<ExtractReport["layers"]>,
): Promise<ExtractReport> {
  const target = resolve(dir);
  const existing = await fsp.lstat(target).catch(() => undefined);
  if (existing && (!existing.isDirectory() || (await fsp.readdir(target)).length > 0)) {
    throw new LayerkitError("BAD_ARGUMENT", `${dir} exists and is not an empty directory`, { dir });
  }
  const staging = join(dirname(target), `.${basename(target)}.layerkit-partial-${randomBytes(6).toString("hex")}`);
  await fsp.mkdir(staging, { mode: 0o755 });
  const fs = new NodeExtractFs(staging, options.asRoot === undefined ? {} : { asRoot: options.asRoot });
  try {
    const pool = options.reuse && options.reuse.length > 0 ? await ReusePool.open(options.reuse) : undefined;
    const run: Run = { core, fs, pool, written: new Map() };
    const layers = await work(run);
    const index = await buildReuseIndex(staging, run.written);
    if (existing) await fsp.rmdir(target);
    await fsp.rename(staging, target);
    // After the tree: a crash in between leaves a tree without an index (nothing reused from it), never the reverse.
    await writeReuseIndex(target, index);
    return { dir: target, layers, ...fs.report, stale: pool?.stale ?? [] };
  } catch (e) {
    await fsp.rm(staging, { recursive: true, force: true });
    throw e;
  }
}
