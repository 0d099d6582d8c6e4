/**
 * Opening the index (TOC) of a seekable layer, whichever format it is: zstd:chunked (and
 * stargz-snapshotter's zstd variant) or gzip eStargz, with as few requests as the layout allows.
 *
 * - zstd:chunked annotations (`manifest-position`, `manifest-checksum`): the TOC, tar-split and
 *   footer are fetched with one request from the TOC start to the end of the blob, and the TOC is
 *   authenticated by its digest.
 * - Otherwise one probe request fetches the last {@link FOOTER_PROBE} bytes, whose footer says
 *   the format (zstd skippable frame with the GNUlInUx magic, or gzip member with STARGZ) and
 *   where the TOC is; one more request fetches the TOC. An eStargz TOC is authenticated when the
 *   `containerd.io/snapshot/stargz/toc.digest` annotation is given.
 *
 * @module
 */
import { getCore, type Core } from "../core.js";
import { LayerkitError } from "../errors.js";
import type { BlobSource } from "../source/blob-source.js";
import type { LayerIndex, SeekableFormatName } from "../formats/format.js";
import { SEEKABLE_FORMATS } from "../formats/registry.js";
import { zstdChunkedIndex } from "../formats/zstd-chunked/format.js";
import type { ReadTocResult } from "../formats/zstd-chunked/read-toc.js";
import { PrefetchSource } from "./prefetch-source.js";

export type { LayerIndex } from "../formats/format.js";
export type SeekableFormat = SeekableFormatName;

/** Bytes read from the end to find any seekable format's footer (the largest of them). */
export const FOOTER_PROBE: number = Math.max(...SEEKABLE_FORMATS.map((f) => f.footerSize));

export interface OpenLayerIndexOptions {
  /** The layer descriptor's annotations: they authenticate the TOC and may save a request. */
  annotations?: Record<string, string>;
  core?: Core;
  /** Limit for the TOC (compressed and uncompressed; default 150 MiB, upstream's). */
  maxTocSize?: number;
}

/**
 * Finds the format and reads the TOC of a seekable layer. Errors: UNSUPPORTED_FORMAT (no
 * seekable format's footer), plus those of the format's TOC reader and the source.
 */
export async function openLayerIndex(source: BlobSource, options: OpenLayerIndexOptions = {}): Promise<LayerIndex> {
  const core = options.core ?? (await getCore());
  const annotations = options.annotations;
  const prefetch = new PrefetchSource(source);
  const open = { core, probeSize: FOOTER_PROBE, ...(annotations ? { annotations } : {}), ...(options.maxTocSize !== undefined ? { maxTocSize: options.maxTocSize } : {}) };
  // Annotations that locate the TOC save the footer probe.
  const located = SEEKABLE_FORMATS.find((f) => f.locatesToc(annotations));
  if (located) return located.openIndex(prefetch, open);

  const size = await source.size();
  const n = Math.min(size, FOOTER_PROBE);
  await prefetch.prefetch(size - n, n);
  const tail = await prefetch.read(size - n, n);
  for (const f of SEEKABLE_FORMATS) {
    if (hasFooter(f, tail, size)) return f.openIndex(prefetch, open);
  }
  throw new LayerkitError("UNSUPPORTED_FORMAT", "the blob ends in no seekable format's footer (not a seekable layer?)", { blobSize: size });
}

/** Whether `tail` ends in `format`'s footer (a footer whose numbers are wrong counts: its reader then says what is wrong). */
function hasFooter(format: (typeof SEEKABLE_FORMATS)[number], tail: Uint8Array, blobSize: number): boolean {
  try {
    return format.detect({ tail, blobSize, annotations: undefined }) === "footer";
  } catch {
    return true;
  }
}

/** A {@link LayerIndex} over a TOC already read with `readToc` from `source`. */
export function layerIndexFromToc(core: Core, source: BlobSource, toc: ReadTocResult): LayerIndex {
  return zstdChunkedIndex(core, new PrefetchSource(source), toc);
}
