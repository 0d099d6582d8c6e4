/**
 * `convertLayer`: re-compress a layer into another of the four formats, streaming (decompress →
 * optional eStargz-entry filter → the target's writer), in bounded memory.
 *
 * What happens to the tar (and so to the diffID):
 * - to `gzip` / `zstd`: the decompressed tar is kept byte for byte, so the diffID is the source's.
 *   From eStargz this includes its `stargz.index.json` entry and landmark files (they are part of
 *   the eStargz layer's diffID, and keeping them keeps the image config valid); pass
 *   `stripEstargz: true` to drop them (the diffID then changes).
 * - to `zstd:chunked`: eStargz's entries are dropped by default (`stripEstargz` defaults to true),
 *   as stargz-snapshotter's own zstdchunked converter does (it runs `estargz.Build`, which skips
 *   them); left in, readers would take the TOC for the eStargz schema. A source without such
 *   entries (gzip, zstd, zstd:chunked) keeps its exact tar and diffID.
 * - to `estargz`: the eStargz writer drops existing TOC/landmark entries and adds its own landmark
 *   and TOC entry, so the diffID changes; except eStargz → eStargz with the options the source was
 *   made with (and a source made by a Build-compatible writer), which rebuilds the same layer.
 * `result.diffIDChanged` says which case happened; `result.sourceDiffID` is the source's diffID.
 *
 * @module
 */
import { type Core, getCore } from "../core.js";
import { createLayer, type CreateLayerOptions } from "../create-layer.js";
import { decompressLayer } from "../formats/decompress.js";
import { compressionOfMagic, detectLayerFormat } from "../formats/detect.js";
import { compressionOf, formatOf, plainFormatOf } from "../formats/registry.js";
import type { LayerFormat, LayerResult, LayerWriter } from "../layer/result.js";
import type { BlobSource } from "../source/blob-source.js";
import type { ZstdChunkedAnnotationKeys } from "../formats/zstd-chunked/annotations.js";
import { deferredWriter } from "../util/deferred-writer.js";
import { DigestCounter } from "../util/digest-counter.js";
import { peekStream, streamSource } from "./source-stream.js";
import { stripEstargzEntries } from "./strip-estargz.js";

export interface ConvertLayerOptions {
  /** Target format. */
  to: LayerFormat;
  /**
   * Source format. Default: detected (a BlobSource: annotations, footer and magic; a stream: the
   * magic only, so a gzip stream counts as `gzip` and a zstd one as `zstd`).
   */
  from?: LayerFormat;
  /** Target compression level (createLayer's defaults). */
  level?: number;
  /** The source descriptor's annotations, used to detect its format. */
  annotations?: Record<string, string>;
  /** eStargz target: files to put first. */
  prioritizedFiles?: string[];
  /** eStargz target: chunk size. */
  chunkSize?: number;
  /** zstd:chunked target: which annotation keys (default `both`: current and old keys). */
  annotationKeys?: ZstdChunkedAnnotationKeys;
  /** Drop `stargz.index.json` and the landmark files (default: true for zstd:chunked, else false). */
  stripEstargz?: boolean;
  /** Refuse sources whose tar is bigger than this (LIMIT_EXCEEDED). Default: unbounded. */
  maxUncompressedSize?: number;
  core?: Core;
}

/** The target layer's result plus what the conversion did to the tar. */
export interface ConvertResult extends LayerResult {
  /** The source's format (given, detected, or from the magic of a stream). */
  sourceFormat: LayerFormat;
  /** sha256 of the source's decompressed tar: the source layer's diffID. */
  sourceDiffID: string;
  /** Size of the source's decompressed tar. */
  sourceUncompressedSize: number;
  /** `diffID !== sourceDiffID`: eStargz entries were added or removed. */
  diffIDChanged: boolean;
  /** Names of the entries the eStargz filter dropped, in order. */
  stripped: string[];
}

/** A conversion in progress: read `stream` to the end; `result` settles after the last byte. */
export interface ConvertWriter extends LayerWriter {
  readonly result: Promise<ConvertResult>;
}

function isBlobSource(s: BlobSource | ReadableStream<Uint8Array>): s is BlobSource {
  return typeof (s as BlobSource).read === "function" && typeof (s as BlobSource).size === "function";
}

/**
 * Converts a layer to `options.to`; see the module doc for when the diffID changes.
 *
 * Errors: UNSUPPORTED_FORMAT (unknown `to`/`from`, an uncompressed tar), the detection errors
 * (BAD_MAGIC, INCONSISTENT, …), the decompression errors (GZIP_CORRUPT, TRUNCATED,
 * ZSTD_CORRUPT, ZSTD_TRUNCATED, LIMIT_EXCEEDED), the tar errors of the filter and the target
 * writer (TAR_CORRUPT, …) and the source's own. They reject `result` and error `stream`.
 *
 * @example
 * ```ts
 * const { stream, result } = convertLayer(await openFileSource("layer.tar.gz"), { to: "zstd:chunked" });
 * await stream.pipeTo(out);
 * const { descriptor, diffID, diffIDChanged } = await result;
 * ```
 */
export function convertLayer(source: BlobSource | ReadableStream<Uint8Array>, options: ConvertLayerOptions): ConvertWriter {
  formatOf(options.to, "target");
  if (options.from !== undefined) formatOf(options.from, "source");
  // Nothing is read until the caller pulls, as with createLayer.
  return deferredWriter(() => start(source, options));
}

async function start(input: BlobSource | ReadableStream<Uint8Array>, options: ConvertLayerOptions): Promise<ConvertWriter> {
  const core = options.core ?? (await getCore());
  let from = options.from;
  let blob: ReadableStream<Uint8Array>;
  if (isBlobSource(input)) {
    from ??= (await detectLayerFormat(input, options.annotations)).format;
    blob = streamSource(input);
  } else if (from === undefined) {
    const peeked = await peekStream(input, 512);
    from = plainFormatOf(compressionOfMagic(peeked.head)).name;
    blob = peeked.stream;
  } else {
    blob = input;
  }

  const sourceTar = new DigestCounter(core);
  const stripped: string[] = [];
  let tar = decompressLayer(blob, compressionOf(from), {
    core,
    ...(options.maxUncompressedSize === undefined ? {} : { maxOutput: options.maxUncompressedSize }),
  }).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>(
      {
        transform(chunk, controller) {
          sourceTar.update(chunk);
          controller.enqueue(chunk);
        },
      },
      undefined,
      { highWaterMark: 0 },
    ),
  );
  if (options.stripEstargz ?? options.to === "zstd:chunked") tar = stripEstargzEntries(tar, (name) => stripped.push(name));

  const create: CreateLayerOptions = { format: options.to, core };
  if (options.level !== undefined) create.level = options.level;
  if (options.prioritizedFiles !== undefined) create.prioritizedFiles = options.prioritizedFiles;
  if (options.chunkSize !== undefined) create.chunkSize = options.chunkSize;
  if (options.annotationKeys !== undefined) create.annotationKeys = options.annotationKeys;
  const target = createLayer(tar, create);
  const sourceFormat = from;
  const result = target.result.then((r): ConvertResult => {
    const sourceDiffID = sourceTar.digest();
    // Added to r itself: a spread would parse zstd:chunked's lazily parsed TOC right away.
    return Object.assign(r, {
      sourceFormat,
      sourceDiffID,
      sourceUncompressedSize: sourceTar.size,
      diffIDChanged: r.diffID !== sourceDiffID,
      stripped,
    });
  });
  result.catch(() => {});
  return { stream: target.stream, result };
}
