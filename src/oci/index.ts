/**
 * OCI image-spec support: media types, digests, descriptors, manifests, indexes and configs
 * (strictly validated when read, canonical JSON when written), image building and the OCI image
 * layout. Runtime-neutral; the Node file system for layouts is in `./layout-node.js`.
 *
 * @module
 */
export {
  DOCKER_CONFIG,
  DOCKER_LAYER_FOREIGN_GZIP,
  DOCKER_LAYER_GZIP,
  DOCKER_LAYER_TAR,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST_V1,
  DOCKER_MANIFEST_V1_SIGNED,
  INDEX_TYPES,
  MANIFEST_ACCEPT,
  MANIFEST_TYPES,
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
  baseMediaType,
  isIndexType,
  isManifestType,
  layerCompression,
  type MediaTypeCompression,
} from "./media-types.js";
export type { AnyManifest, ContainerConfig, Descriptor, History, ImageConfig, ImageIndex, ImageManifest, Platform } from "./types.js";
export { isDigest, parseDigest, checkDigest, sha256Digest, sha256Factory, type ParsedDigest, type Sha256Factory } from "../layer/digest.js";
export { canonicalJson, canonicalJsonBytes } from "./canonical-json.js";
export {
  MAX_CONFIG_BYTES,
  MAX_JSON_DEPTH,
  MAX_MANIFEST_BYTES,
  CONFIG_TYPES,
  parseConfig,
  parseIndex,
  parseManifest,
  parseManifestDocument,
  validateDescriptor,
  validatePlatform,
  type ParseOptions,
  type ParsedManifest,
} from "./validate.js";
export { buildImage, buildIndex, mergeAnnotations, isZstdLayer, type BuildImageOptions, type BuildIndexOptions, type BuildLayer, type BuiltDocument, type BuiltImage } from "./build.js";
export { DEFAULT_PLATFORM, formatPlatform, parsePlatform, platformMatches, selectPlatform } from "./platform.js";
export { verifyingStream, readAllLimited, type ExpectedBlob } from "./verify.js";
export {
  OciLayout,
  IMAGE_LAYOUT_VERSION,
  REF_NAME_ANNOTATION,
  blobPath,
  checkRefName,
  safeLayoutPath,
  type LayoutFs,
  type LayoutImage,
  type OciLayoutOptions,
  type ReadBlobOptions,
  type TempFile,
} from "./layout.js";
