/**
 * Lazy single-file reads from a seekable layer (zstd:chunked, stargz zstd or gzip eStargz): the
 * TOC is fetched with one or two requests (see ./layer-index.ts), then only the frames or gzip
 * members of the wanted file, verified against the TOC before use. Hardlinks are followed inside
 * the layer; zstd:chunked `zeros` chunks are synthesised, never fetched.
 *
 * Request budget, for files whose compressed bytes fit one 32 MiB window: with annotations 2
 * requests (TOC region, file); without, 2 when the TOC lies in the speculative tail probe (64 KiB:
 * a small layer) and 3 otherwise (probe, TOC, file). The blob size need not be known: the probe is
 * a suffix range that tells it. Each request is bounded as `HttpSource` documents (per range:
 * attempts × (1 + redirects)), so a lazy read sends at most 3 × that in all.
 *
 * @module
 */
import { type Core, getCore } from "../core.js";
import { LayerkitError } from "../errors.js";
import type { BlobSource } from "../source/blob-source.js";
import type { TocFile } from "../layer/toc-parse.js";
import type { ReadTocResult } from "../formats/zstd-chunked/read-toc.js";
import { type LayerIndex, layerIndexFromToc, openLayerIndex } from "./layer-index.js";

export interface ReadFileOptions {
  /** The layer descriptor's annotations: they authenticate the TOC and save a probe request. */
  annotations?: Record<string, string>;
  core?: Core;
  /** Refuse files larger than this (default 1 GiB) for {@link readFile}, which buffers. */
  maxSize?: number;
  /** An index already opened on this source with {@link openLayerIndex} or `readToc` (skips fetching the TOC). */
  index?: LayerIndex | ReadTocResult;
  /** Limit for the TOC (default 150 MiB). */
  maxTocSize?: number;
  /** Bytes of the tail the first request fetches (default 64 KiB; see {@link openLayerIndex}). */
  probeSize?: number;
}

/** Canonical form of a layer path for lookups: no leading `./` or `/`, no trailing `/`. */
export function normalizeLayerPath(path: string): string {
  const parts: string[] = [];
  for (const p of path.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") throw new LayerkitError("UNSAFE_PATH", `path ${JSON.stringify(path)} climbs out of the layer`, { path });
    parts.push(p);
  }
  return parts.join("/");
}

/** Finds `path` among the TOC entries, following hardlinks inside the layer. */
export function findEntry(entries: readonly TocFile[], path: string): TocFile {
  const byName = new Map<string, TocFile>();
  for (const e of entries) byName.set(normalizeLayerPath(e.name), e); // last one wins, as in tar extraction
  let want = normalizeLayerPath(path);
  for (let hops = 0; hops < 64; hops++) {
    const entry = byName.get(want);
    if (!entry) throw new LayerkitError("NOT_FOUND", `${path}: no such entry in the layer`, { path });
    if (entry.type !== "hardlink") return entry;
    if (entry.linkName === undefined) throw new LayerkitError("BAD_TOC", `${entry.name}: hardlink without a target`, { path: entry.name });
    want = normalizeLayerPath(entry.linkName);
  }
  throw new LayerkitError("BAD_TOC", `${path}: hardlink chain too long`, { path });
}

/**
 * Opens one regular file of a seekable layer as a stream of verified bytes. Each chunk is checked
 * against its digest before it is enqueued and the file digest before the last one; a file that
 * only has a whole-file digest is checked whole before anything is enqueued. A failed check
 * errors the stream (DIGEST_MISMATCH / SIZE_MISMATCH) instead of handing out bad bytes.
 *
 * Errors: NOT_FOUND (no such path), BAD_ARGUMENT (not a regular file), UNSAFE_PATH, and those of
 * {@link openLayerIndex} and the source.
 */
export async function openFile(
  source: BlobSource,
  path: string,
  options: ReadFileOptions = {},
): Promise<{ entry: TocFile; index: LayerIndex; stream: ReadableStream<Uint8Array> }> {
  const core = options.core ?? (await getCore());
  const given = options.index;
  const index = given === undefined
    ? await openLayerIndex(source, indexOptions(core, options))
    : "fileChunks" in given
    ? given
    : layerIndexFromToc(core, source, given);
  const entry = findEntry(index.entries, path);
  if (entry.type !== "reg") {
    throw new LayerkitError("BAD_ARGUMENT", `${path} is a ${entry.type}, not a regular file`, { path, type: entry.type });
  }
  const chunks = index.fileChunks(entry);
  let seen = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await chunks.next();
        if (done) {
          if (seen !== entry.size) throw sizeMismatch(entry, seen);
          controller.close();
          return;
        }
        seen += value.length;
        if (seen > entry.size) throw sizeMismatch(entry, seen);
        controller.enqueue(value);
      },
      async cancel() {
        await chunks.return();
      },
    },
    { highWaterMark: 0 },
  );
  return { entry, index, stream };
}

/**
 * Reads one regular file of a seekable layer, verified against the TOC (nothing is returned
 * unless every chunk digest and the file digest matched).
 *
 * @example
 * ```ts
 * const source = new HttpSource("https://example.com/layer.zst", { size: descriptor.size });
 * const bytes = await readFile(source, "etc/os-release", { annotations: descriptor.annotations });
 * ```
 */
export async function readFile(source: BlobSource, path: string, options: ReadFileOptions = {}): Promise<Uint8Array> {
  const { entry, stream } = await openFile(source, path, options);
  const max = options.maxSize ?? 1 << 30;
  if (entry.size > max) {
    await stream.cancel();
    throw new LayerkitError("LIMIT_EXCEEDED", `${path} is ${entry.size} bytes, over the ${max}-byte limit; use openFile to stream it`, {
      path,
      size: entry.size,
      max,
    });
  }
  let out: Uint8Array;
  try {
    out = new Uint8Array(entry.size);
  } catch (e) {
    await stream.cancel();
    throw new LayerkitError("LIMIT_EXCEEDED", `${path}: cannot allocate ${entry.size} bytes for it; use openFile to stream it`, {
      path,
      size: entry.size,
    }, { cause: e });
  }
  let at = 0;
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out.set(value, at); // the stream refuses more than entry.size bytes
    at += value.length;
  }
  return out;
}

function indexOptions(core: Core, o: ReadFileOptions) {
  return {
    core,
    ...(o.annotations ? { annotations: o.annotations } : {}),
    ...(o.maxTocSize !== undefined ? { maxTocSize: o.maxTocSize } : {}),
    ...(o.probeSize !== undefined ? { probeSize: o.probeSize } : {}),
  };
}

function sizeMismatch(entry: TocFile, actual: number): LayerkitError {
  return new LayerkitError("SIZE_MISMATCH", `${entry.name}: content is ${actual}+ bytes, the TOC says ${entry.size}`, {
    path: entry.name,
    expected: entry.size,
    actual,
  });
}
