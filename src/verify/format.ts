/**
 * Which format verifyLayer treats a blob as: the caller's choice, else what
 * {@link detectLayerFormat} finds. When detection fails (the blob is damaged) the failure is
 * reported and the media type decides, so the blob is still hashed and tried.
 *
 * @module
 */
import { isLayerkitError } from "../errors.js";
import { detectLayerFormat } from "../formats/detect.js";
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
    findings.error(code === "IO" || code === "HTTP" ? "blob-digest" : code === "BAD_MAGIC" || code === "UNSUPPORTED_FORMAT" ? "decompress" : "toc", e);
    return guess(annotations, mediaType);
  }
}

/** The format the descriptor claims, for a blob whose own bytes could not tell. */
function guess(annotations: Record<string, string> | undefined, mediaType: string | undefined): LayerFormat {
  const keys = Object.keys(annotations ?? {});
  if (keys.some((k) => k.includes("zstd-chunked"))) return "zstd:chunked";
  if (keys.includes(ANNOTATION_ESTARGZ_TOC_DIGEST)) return "estargz";
  return mediaType !== undefined && /zstd/i.test(mediaType) ? "zstd" : "gzip";
}
