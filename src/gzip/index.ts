/**
 * gzip members: deterministic compression (zlib/libdeflate in WASM, or pako) with an opt-in native engine, and bounded,
 * exact decompression. See ./gzip.ts.
 *
 * @module
 */
export { crc32 } from "./crc32.js";
export {
  createGzipCompressor,
  goGzipHeader,
  Gunzip,
  gunzip,
  gunzipMember,
  type GunzipMemberOptions,
  type GunzipOptions,
  type GzipCompressOptions,
  type GzipCompressor,
  type GzipEngine,
  type GzipHeader,
  gzipMember,
  type GzipMemberWriter,
  parseGzipHeader,
} from "./gzip.js";
