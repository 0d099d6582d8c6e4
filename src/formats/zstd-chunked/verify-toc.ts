/**
 * Loading a zstd:chunked TOC (or stargz-snapshotter's zstd variant) for verification: readToc,
 * then the tar-split on its own, with every problem reported instead of thrown.
 *
 * @module
 */
import type { LoadTocForVerifyOptions, TocPlan } from "../format.js";
import type { BlobSource } from "../../source/blob-source.js";
import { readReporting, tocNote } from "../../verify/findings.js";
import { jtocRules } from "../estargz/rules.js";
import { readTarSplit, readToc } from "./read-toc.js";
import { zstdChunkedRules } from "./rules.js";

export async function loadZstdChunkedToc(
  source: BlobSource,
  { core, annotations, tocDigest, findings }: LoadTocForVerifyOptions,
): Promise<TocPlan | undefined> {
  const toc = await readReporting(
    findings,
    annotations !== undefined,
    (checked) => readToc(source, checked && annotations ? { annotations, core } : { core }),
  );
  if (!toc) return undefined;
  let authenticated = toc.authenticated;
  if (tocDigest !== undefined) {
    const matches = tocDigest === toc.tocDigest || tocDigest === toc.estargzTocDigest;
    if (!matches) findings.fail("toc", "DIGEST_MISMATCH", `TOC digest ${toc.tocDigest} does not match the expected ${tocDigest}`);
    authenticated ||= matches;
  }
  if (findings.failed("toc")) authenticated = false;
  findings.ran("toc", tocNote(authenticated, findings.failed("toc")));
  const jtoc = toc.format === "estargz-zstd";
  const plan: TocPlan = {
    format: toc.format,
    rules: jtoc ? jtocRules : zstdChunkedRules,
    files: toc.entries,
    rawEntries: toc.toc.entries,
    tocDigest: jtoc && toc.estargzTocDigest ? toc.estargzTocDigest : toc.tocDigest,
    authenticated,
  };
  if (toc.tarSplitPosition) {
    try {
      plan.tarSplit = await readTarSplit(source, toc, { core });
    } catch (e) {
      findings.error("tar-split-vs-tar", e);
    }
  }
  return plan;
}
