/**
 * The tar layer: a streaming reader with Go `archive/tar` semantics (raw accounting for
 * tar-split) and a deterministic writer.
 *
 * @module
 */
export {
  type Instant,
  isHeaderOnlyType,
  PAX_SCHILY_XATTR,
  type TarBlockFormat,
  type TarFormat,
  type TarHeader,
  TypeFlag,
  xattrsOf,
} from "./types.js";
export {
  type HeaderBytesResult,
  readTar,
  readTarHeaderBytes,
  type TarContents,
  type TarEntry,
  TarReader,
  type TarReaderOptions,
} from "./reader.js";
export { BLOCK_SIZE, blockPadding, checkSafeName, MAX_SPECIAL_FILE_SIZE, type NextOptions } from "./header.js";
export {
  buildTar,
  encodeTarEnd,
  encodeTarHeader,
  type TarEntryKind,
  type TarFinishOptions,
  tarStream,
  type TarTimeInput,
  type TarWriteEntry,
  TarWriter,
  type TarWriterOptions,
} from "./writer.js";
export { cleanPath } from "../go/path.js";
