/**
 * Types of {@link verifyLayer}'s options and report.
 *
 * @module
 */
import type { Core } from "../core.js";
import type { ErrorCode } from "../errors.js";
import type { LayerFormat } from "../layer/result.js";

/** The layer descriptor as the manifest gives it. */
export interface VerifyDescriptor {
  /**
   * `sha256:<hex>` of the blob. Without it the blob-digest check is reported as skipped and
   * everything else is checked; the report's `digest` is the one computed either way.
   */
  digest?: string;
  /** Blob size in bytes. */
  size: number;
  mediaType?: string;
  /** Layer annotations (zstd:chunked TOC position/digest, eStargz TOC digest). */
  annotations?: Record<string, string>;
}

export interface VerifyOptions {
  /** Expected `sha256:` of the decompressed tar (the image config's `rootfs.diff_ids` entry). */
  diffID?: string;
  /** Expected TOC digest when the descriptor's annotations lack it (zstd:chunked: of the compressed TOC; eStargz: of the JSON). */
  tocDigest?: string;
  /** Skip detection and treat the blob as this format. */
  format?: LayerFormat;
  /** Called after each piece of the blob is read: bytes read so far and the blob size. */
  onProgress?(done: number, total: number): void;
  /** WASM core; default {@link getCore}. */
  core?: Core;
  /** Failures listed before the rest are only counted (default 100). */
  maxFailures?: number;
  /** Bytes read from the source at a time (default 4 MiB). */
  readSize?: number;
  /** Limit for the decompressed tar (default: no limit; the stream is never held in memory). */
  maxUncompressedSize?: number;
}

/** The checks verifyLayer runs; each appears once in {@link VerifyReport.checks}. */
export type VerifyCheckName =
  /** Blob size equals `descriptor.size`. */
  | "blob-size"
  /** sha256 of the blob equals `descriptor.digest`. */
  | "blob-digest"
  /** The blob decompresses completely into a readable tar. */
  | "decompress"
  /** sha256 of the decompressed tar equals the diffID. */
  | "diff-id"
  /** The TOC is found, parsed and (when a digest is known) authenticated. */
  | "toc"
  /** Every TOC entry matches the tar entry of the same name, and vice versa. */
  | "toc-vs-tar"
  /** Every file digest in the TOC matches the file's bytes in the tar. */
  | "file-digests"
  /** Every chunk digest (and `zeros` chunk) matches the bytes in the tar. */
  | "chunk-digests"
  /** Every TOC chunk offset is where the chunk's bytes begin in the compressed stream (frame / gzip member start). */
  | "chunk-layout"
  /** zstd:chunked: upstream's TOC ↔ tar-split rule (containers/storage checkTarSplit). */
  | "toc-vs-tar-split"
  /** zstd:chunked: the tar-split reproduces the tar byte for byte (headers, sizes, CRC-64s, trailer). */
  | "tar-split-vs-tar"
  /**
   * No tar entry name has a `..` component, a NUL byte or a leading `/`, and no hardlink target
   * leaves the root (UNSAFE_PATH); symlinks whose relative target climbs above the root are warnings.
   */
  | "safe-paths";

export type VerifyCheckStatus = "ok" | "failed" | "skipped";

export interface VerifyCheck {
  name: VerifyCheckName;
  status: VerifyCheckStatus;
  /** Why a check was skipped, or what it covered. */
  note?: string;
}

/** Something worth knowing that does not make the layer bad (e.g. a symlink pointing out of the root). */
export interface VerifyWarning {
  check: VerifyCheckName;
  message: string;
  path?: string;
  /** Uncompressed tar offset of the entry. */
  offset?: number;
}

/** One problem found. Failures do not stop verification, except where noted in `message`. */
export interface VerifyFailure {
  check: VerifyCheckName;
  code: ErrorCode;
  message: string;
  /** The tar/TOC path concerned. */
  path?: string;
  /** Compressed blob offset (chunk layout, blob reads) or uncompressed tar offset (tar entries), see `offsetKind`. */
  offset?: number;
  offsetKind?: "blob" | "tar";
}

export interface VerifyReport {
  /** True when every check that ran passed. */
  ok: boolean;
  format: LayerFormat;
  checks: VerifyCheck[];
  /** The first `maxFailures` failures, in the order found. */
  failures: VerifyFailure[];
  /** Failures found beyond `maxFailures` (counted, not listed). */
  failuresOmitted: number;
  /** Warnings (at most `maxFailures`; they do not affect `ok`). */
  warnings: VerifyWarning[];
  /** `sha256:` of the blob as read. */
  digest: string;
  /** Bytes of the blob as read. */
  size: number;
  /** `sha256:` of the decompressed tar, when it decompressed completely. */
  diffID?: string;
  /** Bytes of the decompressed tar, when it decompressed completely. */
  uncompressedSize?: number;
  /** Seekable formats: the TOC digest computed from the blob. */
  tocDigest?: string;
  /** Seekable formats: whether the TOC digest matched one from the descriptor or the options. */
  tocAuthenticated?: boolean;
  /** Tar entries read. */
  entries: number;
  /** Regular files whose content was checked against a TOC digest. */
  filesChecked: number;
  /** TOC chunks checked (digest and layout). */
  chunksChecked: number;
}
