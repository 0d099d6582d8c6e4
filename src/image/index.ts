/**
 * Whole images: references, sources and targets (registry repositories and OCI layouts), and
 * image-level conversion. Runtime-neutral; `./open-image.js` opens references on Node and Deno.
 *
 * @module
 */
export { formatImageRef, type ImageRef, looksLikeImageRef, parseImageRef } from "./image-ref.js";
export { type ImageSource, type ImageTarget, type ManifestDocument, OciLayoutImage, RegistryImage } from "./image-source.js";
export { type ImagePlace, placeError } from "./image-error.js";
export {
  type ImageCheckName,
  type ImageFailure,
  type LayerVerifyResult,
  type VerifiedImage,
  verifyImage,
  type VerifyImageOptions,
  type VerifyImageReport,
} from "./verify-image.js";
export {
  type ConvertedImage,
  type ConvertedLayer,
  convertImage,
  type ConvertImageOptions,
  type ConvertImageResult,
  type ConvertProgress,
  type SourceLayerFormat,
} from "./convert-image.js";
export {
  type AppendBlobLayer,
  type AppendedLayer,
  appendImage,
  type AppendImageOptions,
  type AppendImageResult,
  type AppendLayer,
  type AppendTarLayer,
} from "./append-image.js";
export { applyConfigChanges, type ConfigChanges } from "./config-changes.js";
export { type EntryType, type LayerEntry, MAX_SYMLINK_HOPS, type MergedEntry, MergedTree, pathComponents } from "./merged-fs.js";
export { type EntryRef, ImageFs, type ImageFsLayer, openImageFs, type OpenImageFsOptions } from "./image-fs.js";
