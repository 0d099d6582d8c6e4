/**
 * eStargz as stargz-snapshotter writes and reads it: one gzip member per chunk, the TOC
 * (`stargz.index.json`) as a tar entry in its own member, a 51-byte footer (47 for legacy stargz),
 * and the TOC digest annotation.
 *
 * @module
 */
import { isLayerkitError, LayerkitError } from "../../errors.js";
import { OCI_LAYER_GZIP } from "../../oci/media-types.js";
import { ANNOTATION_ESTARGZ_TOC_DIGEST } from "../../layer/annotations.js";
import { readReporting, tocNote } from "../../verify/findings.js";
import type { Format, SeekableFormat } from "../format.js";
import { FOOTER_SIZE } from "./constants.js";
import { estargzFileChunks } from "./file-chunks.js";
import { findFooter } from "./footer.js";
import { readEstargzToc } from "./reader.js";
import { jtocRules } from "./rules.js";
import { createEstargzLayer } from "./writer.js";

function hasOwn(o: Record<string, string> | undefined, k: string): boolean {
  return o !== undefined && Object.prototype.hasOwnProperty.call(o, k);
}

/**
 * The eStargz/stargz footer at the end of a gzip blob, or undefined when the tail is no footer
 * (a plain gzip). A footer whose magic is right but whose TOC offset lies outside the blob is
 * OUT_OF_RANGE.
 */
function footerOf(tail: Uint8Array, size: number): { tocOffset: number; size: number } | undefined {
  let footer;
  try {
    footer = findFooter(tail);
  } catch (e) {
    if (isLayerkitError(e, "BAD_FOOTER") || isLayerkitError(e, "BAD_MAGIC")) return undefined;
    throw e;
  }
  if (footer.tocOffset >= size - footer.size) {
    throw new LayerkitError("OUT_OF_RANGE", `eStargz footer points at a TOC offset ${footer.tocOffset} outside the ${size}-byte blob`, {
      tocOffset: footer.tocOffset,
      size,
    });
  }
  return footer;
}

export const estargzSeekable: SeekableFormat = {
  name: "estargz",
  layerFormat: "estargz",
  compression: "gzip",
  footerSize: FOOTER_SIZE,
  detect({ tail, blobSize, annotations }) {
    if (footerOf(tail, blobSize)) return "footer";
    if (hasOwn(annotations, ANNOTATION_ESTARGZ_TOC_DIGEST)) {
      throw new LayerkitError(
        "INCONSISTENT",
        `the descriptor has the ${ANNOTATION_ESTARGZ_TOC_DIGEST} annotation but the blob has no eStargz footer`,
        {
          key: ANNOTATION_ESTARGZ_TOC_DIGEST,
        },
      );
    }
    return undefined;
  },
  // The TOC digest annotation authenticates the TOC but does not say where it is: the footer does.
  locatesToc: () => false,
  async openIndex(source, { core, annotations, maxTocSize }) {
    const tocDigest = annotations?.[ANNOTATION_ESTARGZ_TOC_DIGEST];
    const reader = await readEstargzToc(source, {
      core,
      ...(maxTocSize !== undefined ? { maxTocSize } : {}),
      ...(tocDigest !== undefined ? { tocDigest } : {}),
    });
    source.drop();
    return {
      format: "estargz",
      entries: reader.files,
      authenticated: tocDigest !== undefined,
      blobSize: reader.blobSize,
      detail: { kind: "estargz", reader },
      // A file without chunks needs no window; the reader still checks its (empty) digest.
      fileChunks: (entry) => (entry.chunks.length === 0 ? reader.fileChunks(entry) : estargzFileChunks(reader, source, entry)),
    };
  },
  async loadTocForVerify(source, { core, annotations, tocDigest, findings }) {
    const expected = hasOwn(annotations, ANNOTATION_ESTARGZ_TOC_DIGEST) ? annotations![ANNOTATION_ESTARGZ_TOC_DIGEST] : tocDigest;
    const reader = await readReporting(
      findings,
      expected !== undefined,
      (checked) => readEstargzToc(source, checked && expected !== undefined ? { core, tocDigest: expected } : { core }),
    );
    if (!reader) return undefined;
    if (tocDigest !== undefined && expected !== tocDigest && tocDigest !== reader.tocDigest) {
      findings.fail("toc", "DIGEST_MISMATCH", `TOC digest ${reader.tocDigest} does not match the expected ${tocDigest}`);
    }
    const authenticated = expected !== undefined && !findings.failed("toc");
    findings.ran("toc", tocNote(authenticated, findings.failed("toc")));
    return {
      format: "estargz",
      rules: jtocRules,
      files: reader.files,
      rawEntries: reader.toc.entries,
      tocDigest: reader.tocDigest,
      authenticated,
    };
  },
  rules: jtocRules,
};

export const estargz: Format = {
  name: "estargz",
  compression: "gzip",
  mediaType: OCI_LAYER_GZIP,
  create: (core, input, { level, chunkSize, prioritizedFiles }) =>
    createEstargzLayer(core, input, {
      ...(level === undefined ? {} : { level }),
      ...(chunkSize === undefined ? {} : { chunkSize }),
      ...(prioritizedFiles === undefined ? {} : { prioritizedFiles }),
    }),
  seekable: estargzSeekable,
};
