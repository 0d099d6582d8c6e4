/**
 * The tar layer: a streaming reader with Go `archive/tar` semantics (raw accounting for
 * tar-split) and a deterministic writer.
 *
 * @module
 */
export { isHeaderOnlyType, PAX_SCHILY_XATTR, TypeFlag, xattrsOf, type Instant, type TarBlockFormat, type TarFormat, type TarHeader } from "./types.js";
export { TarReader, readTar, readTarHeaderBytes, type TarEntry, type TarReaderOptions, type TarContents, type HeaderBytesResult } from "./reader.js";
export { BLOCK_SIZE, MAX_SPECIAL_FILE_SIZE, blockPadding, checkSafeName, type NextOptions } from "./header.js";
export {
  TarWriter,
  buildTar,
  encodeTarEnd,
  encodeTarHeader,
  tarStream,
  type TarEntryKind,
  type TarFinishOptions,
  type TarTimeInput,
  type TarWriteEntry,
  type TarWriterOptions,
} from "./writer.js";
export { cleanPath } from "../go/path.js";
