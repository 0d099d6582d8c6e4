/**
 * Shared by the web page, the edge worker and the Deno script (runtime-neutral: Web APIs only).
 *
 * One view of a layer, whatever its format: the format, the TOC entries (seekable formats),
 * whether the TOC was authenticated by the descriptor's annotations, and a verified lazy read of
 * one file through the TOC already fetched (so reading a file costs only its byte ranges).
 *
 * @module
 */
// In an application: `from "layerkit"` (this repository's runtime-neutral surface, src/index.ts).
import {
  type BlobSource,
  detectLayerFormat,
  getCore,
  isLayerkitError,
  LayerkitError,
  openLayerIndex,
  readFile,
  type SeekableFormat,
  type TocFile,
} from "../../src/index.js";

export interface LayerView {
  format: SeekableFormat | "zstd" | "gzip";
  /** The TOC digest (zstd:chunked: of the compressed TOC; eStargz: of the TOC JSON); seekable formats only. */
  tocDigest?: string;
  /** True when the TOC matched a digest from the annotations. */
  authenticated: boolean;
  /** TOC entries in TOC order (empty for plain zstd/gzip, which have no TOC). */
  entries: readonly TocFile[];
  /** One regular file, every chunk and the file digest checked against the TOC before it returns. */
  readFile(path: string): Promise<Uint8Array>;
}

/** Read the TOC of a seekable layer; a plain zstd/gzip layer gives a view without entries. */
export async function openLayer(source: BlobSource, annotations?: Record<string, string>): Promise<LayerView> {
  const core = await getCore();
  try {
    const index = await openLayerIndex(source, { core, ...(annotations ? { annotations } : {}) });
    return {
      format: index.format,
      tocDigest: index.detail.kind === "zstd-chunked" ? index.detail.toc.tocDigest : index.detail.reader.tocDigest,
      authenticated: index.authenticated,
      entries: index.entries,
      readFile: (path) => readFile(source, path, { core, index }),
    };
  } catch (e) {
    if (!isLayerkitError(e, "UNSUPPORTED_FORMAT")) throw e;
    // No seekable footer: say which plain format it is (or why it is no layer at all).
    const { format } = await detectLayerFormat(source, annotations);
    if (format !== "zstd" && format !== "gzip") throw e;
    return {
      format,
      authenticated: false,
      entries: [],
      readFile: () =>
        Promise.reject(
          new LayerkitError("UNSUPPORTED_FORMAT", `a plain ${format} layer has no TOC: its files cannot be read lazily`, { format }),
        ),
    };
  }
}
