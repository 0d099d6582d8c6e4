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
import { FOOTER_SIZE as ESTARGZ_FOOTER_SIZE } from "../formats/estargz/constants.js";
import { findFooter } from "../formats/estargz/footer.js";
import { readEstargzToc, type EstargzReader } from "../formats/estargz/reader.js";
import { ANNOTATION_ESTARGZ_TOC_DIGEST, ANNOTATION_MANIFEST_CHECKSUM, ANNOTATION_MANIFEST_POSITION, OLD_ANNOTATION_MANIFEST_CHECKSUM, OLD_ANNOTATION_MANIFEST_POSITION } from "../layer/annotations.js";
import { fileChunks as zstdFileChunks } from "../formats/zstd-chunked/file-content.js";
import { detectFooterVersion, MAX_FOOTER_FRAME_SIZE } from "../formats/zstd-chunked/footer.js";
import { readToc, type ReadTocResult } from "../formats/zstd-chunked/read-toc.js";
import type { TocFile } from "../layer/toc-parse.js";
import { estargzFileChunks } from "./estargz-file.js";
import { PrefetchSource } from "./prefetch-source.js";

/** Bytes read from the end to find either footer (the larger of the two formats' footers). */
export const FOOTER_PROBE: number = Math.max(MAX_FOOTER_FRAME_SIZE, ESTARGZ_FOOTER_SIZE);

export type SeekableFormat = "zstd:chunked" | "estargz-zstd" | "estargz";

/** The TOC of a seekable layer and verified access to its files' contents. */
export interface LayerIndex {
  format: SeekableFormat;
  /** Non-chunk TOC entries in TOC order; regular files carry their chunk ranges. */
  entries: readonly TocFile[];
  /** True when the TOC matched a digest from the annotations. */
  authenticated: boolean;
  blobSize: number;
  /** The format reader's own result, for format-specific details. */
  detail: { kind: "zstd-chunked"; toc: ReadTocResult } | { kind: "estargz"; reader: EstargzReader };
  /**
   * The verified content of regular file `entry` (one of `entries`), chunk by chunk: each chunk is
   * checked against its digest, and the file digest before the last chunk is handed out.
   */
  fileChunks(entry: TocFile): AsyncGenerator<Uint8Array, void, void>;
}

export interface OpenLayerIndexOptions {
  /** The layer descriptor's annotations: they authenticate the TOC and may save a request. */
  annotations?: Record<string, string>;
  core?: Core;
  /** Limit for the TOC (compressed and uncompressed; default 150 MiB, upstream's). */
  maxTocSize?: number;
}

const ZSTD_CHUNKED_KEYS = [ANNOTATION_MANIFEST_CHECKSUM, ANNOTATION_MANIFEST_POSITION, OLD_ANNOTATION_MANIFEST_CHECKSUM, OLD_ANNOTATION_MANIFEST_POSITION];

/**
 * Finds the format and reads the TOC of a seekable layer. Errors: UNSUPPORTED_FORMAT (no
 * zstd:chunked or eStargz footer), plus those of `readToc` / `readEstargzToc` and the source.
 */
export async function openLayerIndex(source: BlobSource, options: OpenLayerIndexOptions = {}): Promise<LayerIndex> {
  const core = options.core ?? (await getCore());
  const ann = options.annotations;
  const prefetch = new PrefetchSource(source);
  const limits = options.maxTocSize !== undefined ? { maxTocSize: options.maxTocSize } : {};
  const zstdIndex = async () => {
    const toc = await readToc(prefetch, { core, probeSize: FOOTER_PROBE, ...limits, ...(ann ? { annotations: ann } : {}) });
    return zstdChunkedIndex(core, prefetch, toc);
  };
  if (ann && ZSTD_CHUNKED_KEYS.some((k) => Object.prototype.hasOwnProperty.call(ann, k))) return zstdIndex();

  const size = await source.size();
  const n = Math.min(size, FOOTER_PROBE);
  await prefetch.prefetch(size - n, n);
  const tail = await prefetch.read(size - n, n);
  if (detectFooterVersion(tail)) return zstdIndex();
  if (isEstargzTail(tail)) {
    const tocDigest = ann?.[ANNOTATION_ESTARGZ_TOC_DIGEST];
    const reader = await readEstargzToc(prefetch, { core, ...limits, ...(tocDigest !== undefined ? { tocDigest } : {}) });
    prefetch.drop();
    return {
      format: "estargz",
      entries: reader.files,
      authenticated: tocDigest !== undefined,
      blobSize: reader.blobSize,
      detail: { kind: "estargz", reader },
      fileChunks: (entry) => estargzFileChunks(reader, prefetch, entry),
    };
  }
  throw new LayerkitError("UNSUPPORTED_FORMAT", "the blob ends in neither a zstd:chunked nor an eStargz footer (not a seekable layer?)", { blobSize: size });
}

/** A {@link LayerIndex} over a TOC already read with `readToc` from `source`. */
export function layerIndexFromToc(core: Core, source: BlobSource, toc: ReadTocResult): LayerIndex {
  return zstdChunkedIndex(core, new PrefetchSource(source), toc);
}

function zstdChunkedIndex(core: Core, prefetch: PrefetchSource, toc: ReadTocResult): LayerIndex {
  prefetch.drop();
  return {
    format: toc.format,
    entries: toc.entries,
    authenticated: toc.authenticated,
    blobSize: toc.blobSize,
    detail: { kind: "zstd-chunked", toc },
    fileChunks: (entry) => zstdFileChunks(core, prefetch.inner, entry),
  };
}

function isEstargzTail(tail: Uint8Array): boolean {
  try {
    findFooter(tail);
    return true;
  } catch {
    return false;
  }
}
