/**
 * An existing compressed layer blob as an image needs it: format, descriptor with the format's
 * annotations, and diffID (the blob is decompressed once, streaming, to hash the tar).
 */
import { getCore } from "../core.js";
import { isLayerkitError, LayerkitError } from "../errors.js";
import { decompressLayer } from "../formats/decompress.js";
import { compressionOfMagic, detectLayerFormat } from "../formats/detect.js";
import { readEstargzToc } from "../formats/estargz/index.js";
import { type LayerFormat, type LayerResult, mediaTypeOf } from "../layer/result.js";
import { formatZstdChunkedAnnotations, type ZstdChunkedAnnotationKeys } from "../formats/zstd-chunked/annotations.js";
import { ANNOTATION_ESTARGZ_TOC_DIGEST, ANNOTATION_ESTARGZ_UNCOMPRESSED_SIZE } from "../layer/annotations.js";
import { readToc } from "../formats/zstd-chunked/read-toc.js";
import { iterateSource } from "../util/bytes.js";
import { FileSource } from "../source/node-file.js";
import { openFileStream } from "./node-io.js";
import { countingStream, type Progress } from "./progress.js";

/** True when the file starts like a gzip or zstd blob; false for an uncompressed tar; other files throw. */
export async function isCompressedBlob(path: string): Promise<boolean> {
  const source = await FileSource.open(path);
  try {
    const size = await source.size();
    const head = await source.read(0, Math.min(512, size));
    try {
      compressionOfMagic(head);
      return true;
    } catch (e) {
      if (isLayerkitError(e, "UNSUPPORTED_FORMAT") && e.details.detected === "tar") return false;
      throw e;
    }
  } finally {
    await source.close();
  }
}

/** Describes the layer blob at `path` (read twice: the footer/TOC, then the whole blob for the digests). */
export async function describeLayerBlob(
  path: string,
  progress: Progress,
  annotationKeys?: ZstdChunkedAnnotationKeys,
): Promise<LayerResult> {
  const source = await FileSource.open(path);
  let format: LayerFormat;
  let compression: "gzip" | "zstd";
  let annotations: Record<string, string> = {};
  let tocDigest: string | undefined;
  try {
    ({ format, compression } = await detectLayerFormat(source));
    if (format === "zstd:chunked") {
      const index = await readToc(source);
      if (index.format !== "zstd:chunked") {
        throw new LayerkitError(
          "UNSUPPORTED_FORMAT",
          `${path} is ${index.format}; only zstd:chunked, estargz, zstd and gzip layers can be added`,
          { path },
        );
      }
      tocDigest = index.tocDigest;
      annotations = formatZstdChunkedAnnotations({
        tocDigest: index.tocDigest,
        manifestPosition: index.tocPosition,
        ...(index.tarSplitPosition ? { tarSplitPosition: index.tarSplitPosition } : {}),
      }, annotationKeys);
    } else if (format === "estargz") {
      tocDigest = (await readEstargzToc(source)).tocDigest;
    }
  } finally {
    await source.close();
  }
  const core = await getCore();
  const blobHash = core.sha256();
  const tarHash = core.sha256();
  let size = 0;
  let uncompressedSize = 0;
  const { stream, size: fileSize } = await openFileStream(path);
  // One pass: the blob is hashed on its way into the decompressor (no tee, so memory stays bounded).
  const hashing = new TransformStream<Uint8Array, Uint8Array>({
    transform(piece, controller) {
      blobHash.update(piece);
      size += piece.length;
      controller.enqueue(piece);
    },
  });
  const tar = decompressLayer(stream.pipeThrough(countingStream(progress, fileSize)).pipeThrough(hashing), compression);
  for await (const piece of iterateSource(tar)) {
    tarHash.update(piece);
    uncompressedSize += piece.length;
  }
  const diffID = "sha256:" + tarHash.hex();
  if (format === "estargz") {
    annotations = { [ANNOTATION_ESTARGZ_TOC_DIGEST]: tocDigest!, [ANNOTATION_ESTARGZ_UNCOMPRESSED_SIZE]: String(uncompressedSize) };
  }
  const digest = "sha256:" + blobHash.hex();
  const descriptor = { mediaType: mediaTypeOf(format), digest, size, ...(Object.keys(annotations).length ? { annotations } : {}) };
  return { format, descriptor, digest, size, diffID, uncompressedSize, annotations, ...(tocDigest ? { tocDigest } : {}) };
}
