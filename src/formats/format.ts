/**
 * The one interface every layer format implements, so that detection, creation, lazy reads,
 * verification and conversion dispatch through ./registry.ts instead of each knowing every format.
 *
 * A {@link Format} is what a layer blob is as a whole: a compression, a media type and a writer.
 * A seekable format adds a {@link SeekableFormat}: how to recognise it from the blob's tail or the
 * descriptor's annotations, how to open its TOC (with limits) into a {@link LayerIndex} that hands
 * out verified file contents, how verification loads that TOC, and the {@link TocRules} that say
 * how its TOC entries correspond to the tar's entries. Adding a format is one folder with a
 * `format.ts` and one line in ./registry.ts.
 *
 * @module
 */
import type { Core } from "../core.js";
import type { BlobSource } from "../source/blob-source.js";
import type { PrefetchSource } from "../lazy/prefetch-source.js";
import type { LayerFormat, LayerWriter } from "../layer/result.js";
import type { RawTocEntry, TocFile } from "../layer/toc-parse.js";
import type { TarHeader } from "../tar/types.js";
import type { Findings } from "../verify/findings.js";
import type { EstargzReader } from "./estargz/reader.js";
import type { ReadTocResult } from "./zstd-chunked/read-toc.js";
import type { ZstdChunkedAnnotationKeys } from "./zstd-chunked/annotations.js";

/** The compression of a layer blob as a whole. */
export type LayerCompression = "gzip" | "zstd";

/** The seekable layouts layerkit reads: c/storage's zstd:chunked, stargz-snapshotter's zstd variant, gzip eStargz. */
export type SeekableFormatName = "zstd:chunked" | "estargz-zstd" | "estargz";

/** Options every writer understands; each format ignores what it has no use for. */
export interface FormatWriteOptions {
  /** Compression level (zstd: default 3; gzip: default 6; eStargz: default 6, libdeflate 0–12). */
  level?: number;
  /** eStargz: files to put first and prefetch (in this order). */
  prioritizedFiles?: string[];
  /** eStargz: uncompressed chunk size (default 4 MiB). */
  chunkSize?: number;
  /**
   * zstd:chunked: the descriptor's annotation keys, `current`, `legacy` or `both` (default: both,
   * so that c/storage ≤ 1.43, e.g. Debian 12's podman, finds the TOC too).
   */
  annotationKeys?: ZstdChunkedAnnotationKeys;
}

/** A layer format: what `createLayer`, `convertLayer` and detection need of it. */
export interface Format {
  readonly name: LayerFormat;
  readonly compression: LayerCompression;
  /** The OCI media type its layers are published with. */
  readonly mediaType: string;
  /** Writes a layer of this format from a tar stream. Absent for formats layerkit only reads. */
  create?(core: Core, input: ReadableStream<Uint8Array>, options: FormatWriteOptions): LayerWriter;
  /** Present for seekable formats. */
  readonly seekable?: SeekableFormat;
}

/** What a seekable format's detection looks at: the blob's tail and the descriptor's annotations. */
export interface DetectProbe {
  /** The last bytes of the blob (at least the largest footer of its compression). */
  tail: Uint8Array;
  blobSize: number;
  annotations: Record<string, string> | undefined;
}

export interface OpenIndexOptions {
  core: Core;
  /** The layer descriptor's annotations: they authenticate the TOC and may save a request. */
  annotations?: Record<string, string>;
  /** Limit for the TOC (compressed and uncompressed; default 150 MiB, upstream's). */
  maxTocSize?: number;
  /** Bytes of the tail already fetched by the caller's probe (so the TOC read can reuse them). */
  probeSize?: number;
}

/** The TOC of a seekable layer and verified access to its files' contents. */
export interface LayerIndex {
  format: SeekableFormatName;
  /** Non-chunk TOC entries in TOC order; regular files carry their chunk ranges. */
  entries: readonly TocFile[];
  /** True when the TOC matched a digest from the annotations. */
  authenticated: boolean;
  blobSize: number;
  /** The format reader's own result, for format-specific details (a new format adds its kind here). */
  detail: { kind: "zstd-chunked"; toc: ReadTocResult } | { kind: "estargz"; reader: EstargzReader };
  /**
   * The verified content of regular file `entry` (one of `entries`), chunk by chunk: each chunk is
   * checked against its digest, and the file digest before the last chunk is handed out.
   */
  fileChunks(entry: TocFile): AsyncGenerator<Uint8Array, void, void>;
}

/** How a TOC's entries correspond to the tar's: one set per TOC schema. */
export interface TocRules {
  /** c/storage's TOC schema, or stargz-snapshotter's JTOC (in gzip or zstd framing). */
  readonly schema: "zstd:chunked" | "estargz";
  /** The key a tar entry's name is matched to TOC entries with. */
  entryKey(name: string): string;
  /** Tar entries that carry the format's own metadata and are not listed in the TOC. */
  isMetadataEntry(name: string): boolean;
  /** The fields in which a tar header and its TOC entry differ (what lazy and full readers would see differently). */
  compare(header: TarHeader, file: TocFile): { field: string; tar: unknown; toc: unknown }[];
}

/** What verification needs from a TOC. */
export interface TocPlan {
  format: SeekableFormatName;
  rules: TocRules;
  files: TocFile[];
  /** The TOC entries as written (zstd:chunked: `endOffset`s and the tar-split rule). */
  rawEntries: RawTocEntry[] | null;
  tocDigest: string;
  authenticated: boolean;
  /** zstd:chunked: the decompressed, digest-checked tar-split, when the layer has one. */
  tarSplit?: Uint8Array;
}

export interface LoadTocForVerifyOptions {
  core: Core;
  annotations: Record<string, string> | undefined;
  /** An expected TOC digest given by the caller (besides the annotations'). */
  tocDigest: string | undefined;
  /** Where problems are reported: verification collects them instead of throwing. */
  findings: Findings;
}

/** The parts of a seekable format that read it. */
export interface SeekableFormat {
  readonly name: SeekableFormatName;
  /** What {@link Format.name} a blob of this layout is reported as (estargz-zstd is zstd:chunked-framed). */
  readonly layerFormat: LayerFormat;
  readonly compression: LayerCompression;
  /** Bytes of the tail that hold its footer, at most. */
  readonly footerSize: number;
  /**
   * Whether the blob is of this format: `"annotations"` when the descriptor says so (values
   * checked), `"footer"` when the tail ends in its footer (numbers checked), else undefined.
   * Throws INCONSISTENT when the annotations claim it but the blob cannot be (and BAD_FOOTER /
   * OUT_OF_RANGE / BAD_ANNOTATION for a footer or annotation whose values are wrong).
   */
  detect(probe: DetectProbe): "annotations" | "footer" | undefined;
  /** True when the annotations locate and authenticate the TOC, so no footer probe is needed. */
  locatesToc(annotations: Record<string, string> | undefined): boolean;
  /**
   * Reads and checks the TOC (digest when the annotations give one, limits, ranges). `source`
   * may already hold the tail the caller probed; file reads may prefetch windows through it.
   */
  openIndex(source: PrefetchSource, options: OpenIndexOptions): Promise<LayerIndex>;
  /** Loads the TOC for verification, reporting problems to `options.findings`; undefined when no TOC could be read. */
  loadTocForVerify(source: BlobSource, options: LoadTocForVerifyOptions): Promise<TocPlan | undefined>;
  /** The rules its TOC follows. */
  readonly rules: TocRules;
}
