/**
 * What every layer writer returns, whatever the format: the numbers an OCI descriptor and an
 * image config need, plus the format's own metadata (TOC) for seekable formats.
 *
 * @module
 */
import type { Toc } from "./toc.js";
import { OCI_LAYER_GZIP, OCI_LAYER_ZSTD } from "../oci/media-types.js";
import type { Descriptor } from "../oci/types.js";

/** Layer formats layerkit writes and reads. */
export type LayerFormat = "zstd:chunked" | "estargz" | "zstd" | "gzip";

/** The media type a layer of `format` is published with. */
export function mediaTypeOf(format: LayerFormat): string {
  return format === "zstd:chunked" || format === "zstd" ? OCI_LAYER_ZSTD : OCI_LAYER_GZIP;
}

/** The outcome of writing a layer. */
export interface LayerResult {
  format: LayerFormat;
  /** Descriptor of the compressed blob, annotations included: put it in the image manifest as is. */
  descriptor: Descriptor;
  /** `sha256:` of the compressed blob (= descriptor.digest). */
  digest: string;
  /** Compressed size in bytes (= descriptor.size). */
  size: number;
  /** `sha256:` of the uncompressed tar: the image config's `rootfs.diff_ids` entry. */
  diffID: string;
  /** Uncompressed tar size in bytes. */
  uncompressedSize: number;
  /** Layer descriptor annotations the format defines (empty for plain zstd/gzip). */
  annotations: Record<string, string>;
  /** TOC digest (zstd:chunked: sha256 of the compressed TOC; eStargz: of the TOC JSON). */
  tocDigest?: string;
  /**
   * The TOC as written (seekable formats). zstd:chunked parses it from the compressed TOC frame
   * on first access (so a spread or JSON.stringify of the result pays for it; see
   * {@link resultWithoutToc}).
   */
  toc?: Toc;
}

/** A copy of `result` without its `toc`, which is large and may be parsed on access. */
export function resultWithoutToc<T extends LayerResult>(result: T): Omit<T, "toc"> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(result)) if (key !== "toc") out[key] = (result as Record<string, unknown>)[key];
  return out as Omit<T, "toc">;
}

/** A layer being written: read `stream` to the end; `result` settles after the last byte. */
export interface LayerWriter {
  readonly stream: ReadableStream<Uint8Array>;
  readonly result: Promise<LayerResult>;
}

/** The result of a plain (non-seekable) layer: no annotations, no TOC. Finishes both hashes. */
export function plainLayerResult(
  format: "zstd" | "gzip",
  blob: { digest(): string; size: number },
  tar: { digest(): string; size: number },
): LayerResult {
  const digest = blob.digest();
  return {
    format,
    descriptor: { mediaType: mediaTypeOf(format), digest, size: blob.size },
    digest,
    size: blob.size,
    diffID: tar.digest(),
    uncompressedSize: tar.size,
    annotations: {},
  };
}
