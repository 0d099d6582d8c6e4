/**
 * layerkit's runtime-neutral public API: every name here is deliberate (the declaration files'
 * export list is checked against docs/api.txt in CI). Runtime entries (src/runtime/*.ts) re-export
 * this list and add how the WASM core is loaded in their runtime (and, in Node/Deno, file
 * sources). Lower-level modules have subpath entries: `layerkit/tar`, `layerkit/gzip`.
 *
 * @module
 */

// Errors
export { isLayerkitError, LayerkitError, type ErrorCode } from "./errors.js";

// The WASM core (zstd + SHA-256); each runtime entry adds `init` and `loadCore`
export { digestOf, getCore, type Core, type Hasher } from "./core.js";
export type { WasmSource } from "./wasm/load.js";
export type { Zstd, ZstdCompressOptions, ZstdCompressor, ZstdCompressorOptions, ZstdDecompressOptions, ZstdDecompressor } from "./wasm/zstd.js";

// Reading byte streams through one reused buffer
export { ByteReader, type ByteReaderOptions, type ByteSource } from "./util/bytes.js";

// Layer formats: detect, create, convert, decompress
export type { LayerCompression, SeekableFormatName } from "./formats/format.js";
export { detectLayerFormat, type DetectedLayerFormat, type DetectLayerFormatOptions } from "./formats/detect.js";
export { createLayer, type CreateLayerOptions } from "./create-layer.js";
export { mediaTypeOf, resultWithoutToc, type LayerFormat, type LayerResult, type LayerWriter } from "./layer/result.js";
export { convertLayer, type ConvertLayerOptions, type ConvertResult, type ConvertWriter } from "./convert/convert-layer.js";
export { decompressLayer, type DecompressLayerOptions } from "./formats/decompress.js";

// Seekable layers: TOCs, annotations
export { readTarSplit, readToc, type ReadTarSplitOptions, type ReadTocOptions, type ReadTocResult } from "./formats/zstd-chunked/read-toc.js";
export { checkTarSplit } from "./formats/zstd-chunked/check-tar-split.js";
export { formatZstdChunkedAnnotations, readZstdChunkedAnnotations, withZstdChunkedAnnotationKeys, type ZstdChunkedAnnotationKeys } from "./formats/zstd-chunked/annotations.js";
export { EstargzReader, readEstargzToc, type ReadEstargzTocOptions } from "./formats/estargz/reader.js";
export type { Generation, TocFormat } from "./layer/classify.js";
export type { Toc, TocEntry } from "./layer/toc.js";
export type { TocFile } from "./layer/toc-parse.js";
export type { ChunkRange } from "./layer/ranges.js";

// Lazy single-file reads
export { openLayerIndex, type LayerIndex, type OpenLayerIndexOptions, type SeekableFormat } from "./lazy/layer-index.js";
export { normalizeLayerPath, openFile, readFile, type ReadFileOptions } from "./lazy/read-file.js";

// Verifying layers
export {
  verifyLayer,
  type VerifyCheck,
  type VerifyCheckName,
  type VerifyCheckStatus,
  type VerifyDescriptor,
  type VerifyFailure,
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
export { directoryTar, directoryTarPieces, type DirectoryFs, type DirectoryStat, type DirectoryTarOptions } from "./tar/from-directory.js";

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
export { checkDigest, isDigest, parseDigest, type ParsedDigest } from "./layer/digest.js";
export { canonicalJson, canonicalJsonBytes } from "./oci/canonical-json.js";
export { parseConfig, parseIndex, parseManifest, parseManifestDocument, type ParsedManifest, type ParseOptions } from "./oci/validate.js";
export { buildImage, buildIndex, type BuildImageOptions, type BuildIndexOptions, type BuildLayer, type BuiltDocument, type BuiltImage } from "./oci/build.js";
export { DEFAULT_PLATFORM, formatPlatform, parsePlatform, platformMatches, selectPlatform } from "./oci/platform.js";
export { OciLayout, REF_NAME_ANNOTATION, type LayoutFs, type LayoutImage, type OciLayoutOptions, type ReadBlobOptions, type TempFile } from "./oci/layout.js";

// Registries
export { formatReference, parseReference, type ImageReference } from "./registry/reference.js";
export type { RegistryCredentials } from "./registry/auth.js";
export { openReference, RegistryClient, type PulledImage, type PulledManifest, type PushLayer, type RegistryClientOptions } from "./registry/client.js";
export type { PushBlobOptions, PushBlobResult } from "./registry/upload.js";
export { pullToLayout, pushFromLayout, type CopyOptions } from "./registry/copy.js";
export { RegistryBlobSource, type RegistryBlobSourceOptions } from "./source/registry.js";

// Images whose layers follow their content: contentmeta v1 (ostree-rs-ext's) and building from it
export {
  checkContentMeta,
  classifyContentMetaKey,
  DEFAULT_MAX_CONTENTMETA_BYTES,
  DEFAULT_MAX_CONTENTMETA_ENTRIES,
  formatContentMeta,
  MAX_CONTENTMETA_LAYERS,
  parseContentMeta,
  type ContentMeta,
  type ContentMetaEntry,
  type ContentMetaKey,
  type ContentMetaLayer,
  type ParseContentMetaOptions,
} from "./rechunk/contentmeta.js";
export { directoryRootfs, type RootfsEntry, type RootfsSource } from "./rechunk/rootfs.js";
export { tarRootfs } from "./rechunk/tar-rootfs.js";
export { planLayers, UNMAPPED_LAYER_NAME, type PlannedEntry, type PlannedLayer, type PlanOptions, type RechunkPlan } from "./rechunk/plan.js";
export { buildImageFromContent, LAYER_NAME_ANNOTATION, type BuildFromContentOptions, type BuiltContentLayer, type BuiltFromContent } from "./rechunk/build.js";
export { imageDiffSize, type DiffSize, type DiffSizeOptions, type LayerCost } from "./rechunk/diff-size.js";

// Whole images: references, sources/targets (registry, OCI layout), convert, verify, merged file system
export { formatImageRef, looksLikeImageRef, parseImageRef, type ImageRef } from "./image/image-ref.js";
export { OciLayoutImage, RegistryImage, type ImageSource, type ImageTarget, type ManifestDocument } from "./image/image-source.js";
export type { ImagePlace } from "./image/image-error.js";
export { convertImage, type ConvertImageOptions, type ConvertImageResult, type ConvertProgress, type ConvertedImage, type ConvertedLayer, type SourceLayerFormat } from "./image/convert-image.js";
export { type AppendBlobLayer, appendImage, type AppendedLayer, type AppendImageOptions, type AppendImageResult, type AppendLayer, type AppendTarLayer } from "./image/append-image.js";
export { applyConfigChanges, type ConfigChanges } from "./image/config-changes.js";
export { verifyImage, type ImageCheckName, type ImageFailure, type LayerVerifyResult, type VerifiedImage, type VerifyImageOptions, type VerifyImageReport } from "./image/verify-image.js";
export { MAX_SYMLINK_HOPS, MergedTree, type EntryType, type LayerEntry, type MergedEntry } from "./image/merged-fs.js";
export { ImageFs, openImageFs, type EntryRef, type ImageFsLayer, type OpenImageFsOptions } from "./image/image-fs.js";
