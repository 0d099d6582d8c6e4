/**
 * c/storage's TOC schema against the tar: entries matched by their exact name, every metadata
 * field compared as upstream's TOC ↔ tar-split rule does (see ../../verify/compare-entry.ts).
 *
 * @module
 */
import { compareZstdChunked } from "../../verify/compare-entry.js";
import type { TocRules } from "../format.js";

export const zstdChunkedRules: TocRules = {
  schema: "zstd:chunked",
  entryKey: (name) => name,
  isMetadataEntry: () => false,
  compare: compareZstdChunked,
};
