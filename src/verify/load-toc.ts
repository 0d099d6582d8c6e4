/**
 * Loads the TOC of a seekable layer for verification with the existing readers, turning their
 * errors into report failures: a TOC whose digest does not match is reported and then read
 * unauthenticated (from the footer), so the rest of the report still says what else is wrong.
 *
 * @module
 */
import type { Core } from "../core.js";
import { isLayerkitError } from "../errors.js";
import { readEstargzToc } from "../formats/estargz/reader.js";
import { ANNOTATION_ESTARGZ_TOC_DIGEST } from "../layer/annotations.js";
import { readTarSplit, readToc } from "../formats/zstd-chunked/read-toc.js";
import type { RawTocEntry, TocFile } from "../layer/toc-parse.js";
import type { BlobSource } from "../source/blob-source.js";
import type { Findings } from "./findings.js";

/** What verification needs from a TOC. */
export interface TocPlan {
  /** Which metadata rules the entries follow: c/storage's schema, or eStargz's JTOC (also in zstd framing). */
  schema: "zstd:chunked" | "estargz";
  files: TocFile[];
  /** The TOC entries as written (zstd:chunked: `endOffset`s and the tar-split rule). */
  rawEntries: RawTocEntry[] | null;
  tocDigest: string;
  authenticated: boolean;
  /** zstd:chunked: the decompressed, digest-checked tar-split, when the layer has one. */
  tarSplit?: Uint8Array;
}

function hasOwn(o: Record<string, string> | undefined, k: string): boolean {
  return o !== undefined && Object.prototype.hasOwnProperty.call(o, k);
}

/**
 * Reads a TOC with its expected digest checked; a failure is reported, and after a digest
 * mismatch the TOC is read again unchecked (what the footer says), to report what else is wrong.
 */
async function readReporting<T>(findings: Findings, hasExpected: boolean, read: (checked: boolean) => Promise<T>): Promise<T | undefined> {
  try {
    return await read(true);
  } catch (e) {
    findings.error("toc", e);
    if (!hasExpected || !isLayerkitError(e, "DIGEST_MISMATCH")) return undefined;
    try {
      return await read(false);
    } catch {
      return undefined;
    }
  }
}

/** zstd:chunked (and stargz-snapshotter's zstd variant): readToc, then the tar-split on its own. */
export async function loadZstdChunkedToc(
  source: BlobSource,
  core: Core,
  annotations: Record<string, string> | undefined,
  tocDigest: string | undefined,
  findings: Findings,
): Promise<TocPlan | undefined> {
  const toc = await readReporting(findings, annotations !== undefined, (checked) => readToc(source, checked && annotations ? { annotations, core } : { core }));
  if (!toc) return undefined;
  let authenticated = toc.authenticated;
  if (tocDigest !== undefined) {
    const matches = tocDigest === toc.tocDigest || tocDigest === toc.estargzTocDigest;
    if (!matches) findings.fail("toc", "DIGEST_MISMATCH", `TOC digest ${toc.tocDigest} does not match the expected ${tocDigest}`);
    authenticated ||= matches;
  }
  if (findings.failed("toc")) authenticated = false;
  findings.ran("toc", authenticated ? "TOC digest matched" : "TOC not authenticated: no expected digest in the annotations or options");
  const plan: TocPlan = {
    schema: toc.format === "estargz-zstd" ? "estargz" : "zstd:chunked",
    files: toc.entries,
    rawEntries: toc.toc.entries,
    tocDigest: toc.format === "estargz-zstd" && toc.estargzTocDigest ? toc.estargzTocDigest : toc.tocDigest,
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

/** eStargz: the footer and the TOC member, checked against the annotation's or the option's digest. */
export async function loadEstargzToc(
  source: BlobSource,
  core: Core,
  annotations: Record<string, string> | undefined,
  tocDigest: string | undefined,
  findings: Findings,
): Promise<TocPlan | undefined> {
  const expected = hasOwn(annotations, ANNOTATION_ESTARGZ_TOC_DIGEST) ? annotations![ANNOTATION_ESTARGZ_TOC_DIGEST] : tocDigest;
  const reader = await readReporting(findings, expected !== undefined, (checked) => readEstargzToc(source, checked && expected !== undefined ? { core, tocDigest: expected } : { core }));
  if (!reader) return undefined;
  if (tocDigest !== undefined && expected !== tocDigest && tocDigest !== reader.tocDigest) {
    findings.fail("toc", "DIGEST_MISMATCH", `TOC digest ${reader.tocDigest} does not match the expected ${tocDigest}`);
  }
  const authenticated = expected !== undefined && !findings.failed("toc");
  findings.ran("toc", authenticated ? "TOC digest matched" : "TOC not authenticated: no expected digest in the annotations or options");
  return { schema: "estargz", files: reader.files, rawEntries: reader.toc.entries, tocDigest: reader.tocDigest, authenticated };
}
