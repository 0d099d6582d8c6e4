/**
 * Whole images: references, sources and targets (registry repositories and OCI layouts), and
 * image-level conversion. Runtime-neutral; `./open-image.js` opens references on Node and Deno.
 *
 * @module
 */
export { parseImageRef, formatImageRef, looksLikeImageRef, type ImageRef } from "./image-ref.js";
export { LayoutImage, RegistryImage, type ImageSource, type ImageTarget, type ManifestDocument } from "./image-source.js";
export { placeError, type ImagePlace } from "./image-error.js";
export { verifyImage, type ImageCheckName, type ImageFailure, type LayerVerifyResult, type VerifiedImage, type VerifyImageOptions, type VerifyImageReport } from "./verify-image.js";
export { convertImage, type ConvertImageOptions, type ConvertImageResult, type ConvertProgress, type ConvertedImage, type ConvertedLayer, type SourceLayerFormat } from "./convert-image.js";
export { MergedTree, MAX_SYMLINK_HOPS, pathComponents, type EntryType, type LayerEntry, type MergedEntry } from "./merged-fs.js";
export { ImageFs, openImageFs, type EntryRef, type ImageFsLayer, type OpenImageFsOptions } from "./image-fs.js";
