/**
 * OCI image-spec support: media types, digests, descriptors, manifests, indexes and configs
 * (strictly validated when read, canonical JSON when written), image building and the OCI image
 * layout. Runtime-neutral; the Node file system for layouts is in `./layout-node.js`.
 *
 * @module
 */
export {
  baseMediaType,
  DOCKER_CONFIG,
  DOCKER_LAYER_FOREIGN_GZIP,
  DOCKER_LAYER_GZIP,
  DOCKER_LAYER_TAR,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST_V1,
  DOCKER_MANIFEST_V1_SIGNED,
  INDEX_TYPES,
  isIndexType,
  isManifestType,
  layerCompression,
  MANIFEST_ACCEPT,
  MANIFEST_TYPES,
  type MediaTypeCompression,
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
} from "./media-types.js";
export type { AnyManifest, ContainerConfig, Descriptor, History, ImageConfig, ImageIndex, ImageManifest, Platform } from "./types.js";
export { checkDigest, isDigest, type ParsedDigest, parseDigest, sha256Digest, type Sha256Factory, sha256Factory } from "../layer/digest.js";
export { canonicalJson, canonicalJsonBytes } from "./canonical-json.js";
export {
  CONFIG_TYPES,
  MAX_CONFIG_BYTES,
  MAX_JSON_DEPTH,
  MAX_MANIFEST_BYTES,
  parseConfig,
  type ParsedManifest,
  parseIndex,
  parseManifest,
  parseManifestDocument,
  type ParseOptions,
  validateDescriptor,
  validatePlatform,
} from "./validate.js";
export {
  buildImage,
  type BuildImageOptions,
  buildIndex,
  type BuildIndexOptions,
  type BuildLayer,
  type BuiltDocument,
  type BuiltImage,
  isZstdLayer,
  mergeAnnotations,
} from "./build.js";
export { DEFAULT_PLATFORM, formatPlatform, parsePlatform, platformMatches, selectPlatform } from "./platform.js";
export { type ExpectedBlob, readAllLimited, verifyingStream } from "./verify.js";
export {
  blobPath,
  checkRefName,
  IMAGE_LAYOUT_VERSION,
  type LayoutFs,
  type LayoutImage,
  OciLayout,
  type OciLayoutOptions,
  type ReadBlobOptions,
  REF_NAME_ANNOTATION,
  safeLayoutPath,
  type TempFile,
} from "./layout.js";
