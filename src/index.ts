/**
 * layerkit's runtime-neutral library surface. Runtime entries (src/runtime/*.ts) re-export this
 * and register how the WASM core is loaded in their runtime.
 *
 * @module
 */
export { LayerkitError, isLayerkitError, type ErrorCode } from "./errors.js";
export { getCore, setCoreLoader, digestOf, type Core, type Hasher } from "./core.js";
export { ByteReader, type ByteReaderOptions, type ByteSource } from "./util/bytes.js";
export { compileWasm, instantiateWasm, type WasmSource } from "./wasm/load.js";
export {
  loadZstd,
  type Zstd,
  type ZstdCompressOptions,
  type ZstdCompressorOptions,
  type ZstdDecompressOptions,
  type ZstdCompressor,
  type ZstdDecompressor,
} from "./wasm/zstd.js";
export { loadSha256, Sha256, type Sha256Module } from "./wasm/sha256.js";
export { detectLayerFormat, type DetectedLayerFormat, type DetectLayerFormatOptions, type LayerCompression } from "./formats/detect.js";
export { decompressLayer, type DecompressLayerOptions } from "./formats/decompress.js";

// Writing layers
export { createLayer, type CreateLayerOptions } from "./create-layer.js";
export { mediaTypeOf, resultWithoutToc, type LayerFormat, type LayerResult, type LayerWriter } from "./layer/result.js";
// Reading seekable layers
export { readToc, readTarSplit, type ReadTocOptions, type ReadTocResult, type ReadTarSplitOptions } from "./formats/zstd-chunked/read-toc.js";
export { checkTarSplit } from "./formats/zstd-chunked/check-tar-split.js";
export { formatZstdChunkedAnnotations, readZstdChunkedAnnotations } from "./formats/zstd-chunked/annotations.js";
export type { Generation, TocFormat } from "./layer/classify.js";
export type { Toc, TocEntry } from "./layer/toc.js";
export type { TocFile } from "./layer/toc-parse.js";
export type { ChunkRange } from "./layer/ranges.js";
export { readEstargzToc, EstargzReader, type ReadEstargzTocOptions } from "./formats/estargz/reader.js";
// Blob sources (bytes, HTTP; files come from the Node/Deno entries)
export * from "./source/index.js";
// Lazy single-file reads from seekable layers (zstd:chunked, eStargz)
export * from "./lazy/index.js";
export { convertLayer, type ConvertLayerOptions, type ConvertResult, type ConvertWriter } from "./convert/convert-layer.js";
// Verifying layers
export { verifyLayer, type VerifyCheck, type VerifyCheckName, type VerifyCheckStatus, type VerifyDescriptor, type VerifyFailure, type VerifyOptions, type VerifyReport } from "./verify/index.js";
// Deterministic tar of a directory tree (the file system behind DirectoryFs; Node's: tar/from-directory-node.js)
export { directoryTar, directoryTarPieces, type DirectoryFs, type DirectoryStat, type DirectoryTarOptions } from "./tar/from-directory.js";
// OCI images, layouts and registries
export * from "./oci/index.js";
export * from "./registry/index.js";
