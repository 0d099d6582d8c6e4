/**
 * Opening the index (TOC) of a seekable layer, whichever format it is: zstd:chunked (and
 * stargz-snapshotter's zstd variant) or gzip eStargz, with as few requests as the layout allows.
 *
 * - zstd:chunked annotations (`manifest-position`, `manifest-checksum`): the TOC, tar-split and
 *   footer are fetched with one request from the TOC start to the end of the blob, and the TOC is
 *   authenticated by its digest. (When the blob size is not known yet, a tail probe as below
 *   comes first; a TOC inside it costs no more requests.)
 * - Otherwise one probe request fetches the last {@link TAIL_PROBE} bytes (by default; a suffix
 *   range that also tells the blob size, never a HEAD), whose footer says the format (zstd
 *   skippable frame with the GNUlInUx magic, or gzip member with STARGZ) and where the TOC is. A
 *   TOC inside the probe costs nothing more; a larger one costs one more request. An eStargz TOC
 *   is authenticated when the `containerd.io/snapshot/stargz/toc.digest` annotation is given.
 *
 * So opening costs 1 request for a small layer and at most 2 for any, and a lazy file read one
 * more. The speculative probe trades bytes for a round trip: `probeSize: FOOTER_PROBE` fetches
 * only footer and TOC (1 KiB of slack at most) at the price of the second request.
 *
 * @module
 */
import { type Core, getCore } from "../core.js";
import { LayerkitError } from "../errors.js";
import { type BlobSource, sizeIsKnown } from "../source/blob-source.js";
import type { LayerIndex, SeekableFormatName } from "../formats/format.js";
import { SEEKABLE_FORMATS } from "../formats/registry.js";
import { zstdChunkedIndex } from "../formats/zstd-chunked/format.js";
import type { ReadTocResult } from "../formats/zstd-chunked/read-toc.js";
import { PrefetchSource } from "./prefetch-source.js";

export type { LayerIndex } from "../formats/format.js";
export type SeekableFormat = SeekableFormatName;

/** Bytes read from the end to find any seekable format's footer (the largest of them). */
export const FOOTER_PROBE: number = Math.max(...SEEKABLE_FORMATS.map((f) => f.footerSize));

/** Bytes read from the end by default: the footer, and with it the whole TOC of a small layer. */
export const TAIL_PROBE: number = 64 * 1024;

export interface OpenLayerIndexOptions {
  /** The layer descriptor's annotations: they authenticate the TOC and may save a request. */
  annotations?: Record<string, string>;
  core?: Core;
  /** Limit for the TOC (compressed and uncompressed; default 150 MiB, upstream's). */
  maxTocSize?: number;
  /** Bytes of the tail fetched by the first request (default {@link TAIL_PROBE}; at least {@link FOOTER_PROBE}). */
  probeSize?: number;
}

/**
 * Finds the format and reads the TOC of a seekable layer. Errors: UNSUPPORTED_FORMAT (no
 * seekable format's footer), plus those of the format's TOC reader and the source.
 */
export async function openLayerIndex(source: BlobSource, options: OpenLayerIndexOptions = {}): Promise<LayerIndex> {
  const core = options.core ?? (await getCore());
  const annotations = options.annotations;
  const prefetch = new PrefetchSource(source);
  const probe = Math.max(FOOTER_PROBE, options.probeSize ?? TAIL_PROBE);
  const open = {
    core,
    probeSize: probe,
    ...(annotations ? { annotations } : {}),
    ...(options.maxTocSize !== undefined ? { maxTocSize: options.maxTocSize } : {}),
  };
  // Annotations that locate the TOC save the footer probe (unless the size is unknown: the probe learns it).
  const located = SEEKABLE_FORMATS.find((f) => f.locatesToc(annotations));
  if (located && sizeIsKnown(source)) return located.openIndex(prefetch, open);

  const { bytes, size } = await prefetch.readTail(probe);
  if (located) return located.openIndex(prefetch, open);
  const tail = bytes.subarray(Math.max(0, bytes.length - FOOTER_PROBE));
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
