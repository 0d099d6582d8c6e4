/**
 * layerkit's runtime-neutral public API: every name here is deliberate (the declaration files'
 * export list is checked against docs/api.txt in CI). Runtime entries (src/runtime/*.ts) re-export
 * this list and add how the WASM core is loaded in their runtime (and, in Node/Deno, file
 * sources). Lower-level modules have subpath entries: `layerkit/tar`, `layerkit/gzip`.
 *
 * @module
 */

// Errors
export { type ErrorCode, isLayerkitError, LayerkitError } from "./errors.js";

// The WASM core (zstd + SHA-256); each runtime entry adds `init` and `loadCore`
export { type Core, digestOf, getCore, type Hasher } from "./core.js";
export type { WasmSource } from "./wasm/load.js";
export type {
  Zstd,
  ZstdCompressOptions,
  ZstdCompressor,
  ZstdCompressorOptions,
  ZstdDecompressOptions,
  ZstdDecompressor,
} from "./wasm/zstd.js";

// Reading byte streams through one reused buffer
export { ByteReader, type ByteReaderOptions, type ByteSource } from "./util/bytes.js";

// Layer formats: detect, create, convert, decompress
export type { LayerCompression, SeekableFormatName } from "./formats/format.js";
export { type DetectedLayerFormat, detectLayerFormat, type DetectLayerFormatOptions } from "./formats/detect.js";
export { createLayer, type CreateLayerOptions } from "./create-layer.js";
export { type LayerFormat, type LayerResult, type LayerWriter, mediaTypeOf, resultWithoutToc } from "./layer/result.js";
export { convertLayer, type ConvertLayerOptions, type ConvertResult, type ConvertWriter } from "./convert/convert-layer.js";
export { decompressLayer, type DecompressLayerOptions } from "./formats/decompress.js";

// Seekable layers: TOCs, annotations
export {
  readTarSplit,
  type ReadTarSplitOptions,
  readToc,
  type ReadTocOptions,
  type ReadTocResult,
} from "./formats/zstd-chunked/read-toc.js";
export { checkTarSplit } from "./formats/zstd-chunked/check-tar-split.js";
export {
  formatZstdChunkedAnnotations,
  readZstdChunkedAnnotations,
  withZstdChunkedAnnotationKeys,
  type ZstdChunkedAnnotationKeys,
} from "./formats/zstd-chunked/annotations.js";
export { EstargzReader, readEstargzToc, type ReadEstargzTocOptions } from "./formats/estargz/reader.js";
export type { Generation, TocFormat } from "./layer/classify.js";
export type { Toc, TocEntry } from "./layer/toc.js";
export type { TocFile } from "./layer/toc-parse.js";
export type { ChunkRange } from "./layer/ranges.js";

// Lazy single-file reads
export { type LayerIndex, openLayerIndex, type OpenLayerIndexOptions, type SeekableFormat } from "./lazy/layer-index.js";
export { normalizeLayerPath, openFile, readFile, type ReadFileOptions } from "./lazy/read-file.js";

// Verifying layers
export {
  type VerifyCheck,
  type VerifyCheckName,
  type VerifyCheckStatus,
  type VerifyDescriptor,
  type VerifyFailure,
  verifyLayer,
  type VerifyOptions,
  type VerifyReport,
} from "./verify/index.js";

// Blob sources (bytes, HTTP, registry blobs; files come from the Node/Deno entries)
export type { BlobSource, ByteRange, SourceStats } from "./source/blob-source.js";
export { BlobFileSource } from "./source/blob-file.js";
export { MemorySource, memorySource } from "./source/memory.js";
export { HttpSource, httpSource, type HttpSourceOptions, type SourceWarning } from "./source/http.js";
export type { RetryPolicy } from "./source/retry.js";

// Deterministic tar of a directory tree (the file system behind DirectoryFs; Node's: nodeDirectoryFs)
export { type DirectoryFs, type DirectoryStat, directoryTar, type DirectoryTarOptions, directoryTarPieces } from "./tar/from-directory.js";

// OCI images: types, media types, digests, documents, layouts
export type { AnyManifest, ContainerConfig, Descriptor, History, ImageConfig, ImageIndex, ImageManifest, Platform } from "./oci/types.js";
export {
  DOCKER_CONFIG,
  DOCKER_LAYER_FOREIGN_GZIP,
  DOCKER_LAYER_GZIP,
  DOCKER_LAYER_TAR,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_LAYER_NONDIST_GZIP,
  OCI_LAYER_NONDIST_TAR,
  OCI_LAYER_NONDIST_ZSTD,
  OCI_LAYER_TAR,
  OCI_LAYER_ZSTD,
  OCI_MANIFEST,
} from "./oci/media-types.js";
export { baseMediaType, isIndexType, isManifestType, layerCompression, type MediaTypeCompression } from "./oci/media-types.js";
export { checkDigest, isDigest, type ParsedDigest, parseDigest } from "./layer/digest.js";
export { canonicalJson, canonicalJsonBytes } from "./oci/canonical-json.js";
export { parseConfig, type ParsedManifest, parseIndex, parseManifest, parseManifestDocument, type ParseOptions } from "./oci/validate.js";
export {
  buildImage,
  type BuildImageOptions,
  buildIndex,
  type BuildIndexOptions,
  type BuildLayer,
  type BuiltDocument,
  type BuiltImage,
} from "./oci/build.js";
export { DEFAULT_PLATFORM, formatPlatform, parsePlatform, platformMatches, selectPlatform } from "./oci/platform.js";
export {
  type LayoutFs,
  type LayoutImage,
  OciLayout,
  type OciLayoutOptions,
  type ReadBlobOptions,
  REF_NAME_ANNOTATION,
  type TempFile,
} from "./oci/layout.js";

// Registries
export { formatReference, type ImageReference, parseReference } from "./registry/reference.js";
export type { RegistryCredentials } from "./registry/auth.js";
export {
  openReference,
  type PulledImage,
  type PulledManifest,
  type PushLayer,
  RegistryClient,
  type RegistryClientOptions,
} from "./registry/client.js";
export type { PushBlobOptions, PushBlobResult } from "./registry/upload.js";
export { type CopyOptions, pullToLayout, pushFromLayout } from "./registry/copy.js";
export { RegistryBlobSource, type RegistryBlobSourceOptions } from "./source/registry.js";

// Images whose layers follow their content: contentmeta v1 (ostree-rs-ext's) and building from it
export {
  checkContentMeta,
  classifyContentMetaKey,
  type ContentMeta,
  type ContentMetaEntry,
  type ContentMetaKey,
  type ContentMetaLayer,
  DEFAULT_MAX_CONTENTMETA_BYTES,
  DEFAULT_MAX_CONTENTMETA_ENTRIES,
  formatContentMeta,
  MAX_CONTENTMETA_LAYERS,
  parseContentMeta,
  type ParseContentMetaOptions,
} from "./rechunk/contentmeta.js";
export { directoryRootfs, type RootfsEntry, type RootfsSource } from "./rechunk/rootfs.js";
export { tarRootfs } from "./rechunk/tar-rootfs.js";
export {
  planLayers,
  type PlannedEntry,
  type PlannedLayer,
  type PlanOptions,
  type RechunkPlan,
  UNMAPPED_LAYER_NAME,
} from "./rechunk/plan.js";
export {
  type BuildFromContentOptions,
  buildImageFromContent,
  type BuiltContentLayer,
  type BuiltFromContent,
  LAYER_NAME_ANNOTATION,
} from "./rechunk/build.js";
export { type DiffSize, type DiffSizeOptions, imageDiffSize, type LayerCost } from "./rechunk/diff-size.js";

// Tree diffs: the changes between two directory trees as one layer (Node's trees with xattrs: nodeDiffFs)
export { diffLayer, type DiffLayerOptions, type TreeChange, treeDiff, type TreeDiffOptions, treeDiffTar } from "./diff/index.js";

// Whole images: references, sources/targets (registry, OCI layout), convert, verify, merged file system
export { formatImageRef, type ImageRef, looksLikeImageRef, parseImageRef } from "./image/image-ref.js";
export { type ImageSource, type ImageTarget, type ManifestDocument, OciLayoutImage, RegistryImage } from "./image/image-source.js";
export type { ImagePlace } from "./image/image-error.js";
export {
  type ConvertedImage,
  type ConvertedLayer,
  convertImage,
  type ConvertImageOptions,
  type ConvertImageResult,
  type ConvertProgress,
  type SourceLayerFormat,
} from "./image/convert-image.js";
export {
  type AppendBlobLayer,
  type AppendedLayer,
  appendImage,
  type AppendImageOptions,
  type AppendImageResult,
  type AppendLayer,
  type AppendTarLayer,
} from "./image/append-image.js";
export { applyConfigChanges, type ConfigChanges } from "./image/config-changes.js";
export {
  type ImageCheckName,
  type ImageFailure,
  type LayerVerifyResult,
  type VerifiedImage,
  verifyImage,
  type VerifyImageOptions,
  type VerifyImageReport,
} from "./image/verify-image.js";
export { type EntryType, type LayerEntry, MAX_SYMLINK_HOPS, type MergedEntry, MergedTree } from "./image/merged-fs.js";
export { type EntryRef, ImageFs, type ImageFsLayer, openImageFs, type OpenImageFsOptions } from "./image/image-fs.js";
