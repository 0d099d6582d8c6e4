/**
 * Layer-descriptor annotation keys of every seekable format, and the TOC size limit they share.
 * The parsers that check their values live with each format.
 *
 * @module
 */

/** Current keys (c/storage ≥ 1.44). */
export const ANNOTATION_MANIFEST_CHECKSUM = "io.github.containers.zstd-chunked.manifest-checksum";
export const ANNOTATION_MANIFEST_POSITION = "io.github.containers.zstd-chunked.manifest-position";
export const ANNOTATION_TARSPLIT_POSITION = "io.github.containers.zstd-chunked.tarsplit-position";
/** 1.47–1.53 only; deprecated, not written by the current writer, never trusted. */
export const ANNOTATION_TARSPLIT_CHECKSUM = "io.github.containers.zstd-chunked.tarsplit-checksum";

/** Old keys (c/storage ≤ 1.43, stargz-snapshotter's zstdchunked). */
export const OLD_ANNOTATION_MANIFEST_CHECKSUM = "io.containers.zstd-chunked.manifest-checksum";
export const OLD_ANNOTATION_MANIFEST_POSITION = "io.containers.zstd-chunked.manifest-position";

/** eStargz TOC digest (sha256 of the uncompressed TOC JSON). */
export const ANNOTATION_ESTARGZ_TOC_DIGEST = "containerd.io/snapshot/stargz/toc.digest";
/** eStargz uncompressed tar size. */
export const ANNOTATION_ESTARGZ_UNCOMPRESSED_SIZE = "io.containers.estargz.uncompressed-size";

/** Upstream's limit on the compressed and the uncompressed TOC: 150 MiB. */
export const MAX_TOC_SIZE = 150 * 1024 * 1024;
