/**
 * stargz-snapshotter's JTOC against the tar (gzip eStargz and its zstd variant alike): names
 * matched after Go's cleanEntryName, the TOC's own tar entry not listed, the fields its writer
 * records compared (see ../../verify/compare-entry.ts).
 *
 * @module
 */
import { cleanEntryName } from "../../go/path.js";
import { compareEstargz } from "../../verify/compare-entry.js";
import type { TocRules } from "../format.js";
import { TOC_TAR_NAME } from "./constants.js";

export const jtocRules: TocRules = {
  schema: "estargz",
  entryKey: cleanEntryName,
  isMetadataEntry: (name) => name === TOC_TAR_NAME,
  compare: compareEstargz,
};
