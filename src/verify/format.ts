/**
 * Which format verifyLayer treats a blob as: the caller's choice, else what
 * {@link detectLayerFormat} finds. When detection fails (the blob is damaged) the failure is
 * reported and the media type decides, so the blob is still hashed and tried.
 *
 * @module
 */
import { isLayerkitError } from "../errors.js";
import { compressionOfMagic, detectLayerFormat } from "../formats/detect.js";
import { ANNOTATION_ESTARGZ_TOC_DIGEST } from "../layer/annotations.js";
import type { LayerFormat } from "../layer/result.js";
import type { BlobSource } from "../source/blob-source.js";
import type { Findings } from "./findings.js";

export async function resolveFormat(
  source: BlobSource,
  annotations: Record<string, string> | undefined,
  mediaType: string | undefined,
  forced: LayerFormat | undefined,
  findings: Findings,
): Promise<LayerFormat> {
  if (forced !== undefined) return forced;
  try {
    return (await detectLayerFormat(source, annotations)).format;
  } catch (e) {
    // The source failing, the blob not being a layer, or its footer/annotations being wrong.
    const code = isLayerkitError(e) ? e.code : undefined;
    findings.error(
      code === "IO" || code === "HTTP" ? "blob-digest" : code === "BAD_MAGIC" || code === "UNSUPPORTED_FORMAT" ? "decompress" : "toc",
      e,
    );
    return guess(annotations, await magicCompression(source), mediaType);
  }
}

/** The compression the blob's first bytes name, when they name one (a damaged footer leaves the head intact). */
async function magicCompression(source: BlobSource): Promise<"gzip" | "zstd" | undefined> {
  try {
    return compressionOfMagic(await source.read(0, Math.min(16, await source.size())));
  } catch {
    return undefined;
  }
}

/**
 * The format for a blob whose footer could not be read: the descriptor's annotations, else the
 * plain format of the magic's compression (so a zstd:chunked blob with a damaged footer is still
 * decompressed as zstd, never as gzip), else the media type.
 */
function guess(
  annotations: Record<string, string> | undefined,
  magic: "gzip" | "zstd" | undefined,
  mediaType: string | undefined,
): LayerFormat {
  const keys = Object.keys(annotations ?? {});
  if (keys.some((k) => k.includes("zstd-chunked"))) return "zstd:chunked";
  if (keys.includes(ANNOTATION_ESTARGZ_TOC_DIGEST)) return "estargz";
  if (magic !== undefined) return magic;
  return mediaType !== undefined && /zstd/i.test(mediaType) ? "zstd" : "gzip";
}
