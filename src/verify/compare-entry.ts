/**
 * A tar header against the TOC entry of the same name: the fields a lazy reader takes from the
 * TOC and a full reader from the tar. Returns every field that differs (not only the first), so
 * the report can list them all.
 *
 * zstd:chunked compares what upstream's TOC ↔ tar-split rule compares (c/storage ≥ 1.55): type,
 * linkName, mode, size, uid, gid, devMajor, devMinor, xattrs (an empty value counting as absent:
 * c/storage 1.43 leaves such xattrs out of its TOC), and the three times as instants.
 * eStargz compares what its writer records: type, linkName (links), mode, uid, gid, size (regular
 * files), devMajor/devMinor (devices), xattrs, and modtime rounded to the second.
 *
 * @module
 */
import { formatModtime } from "../formats/estargz/toc.js";
import { fileMetadataFromHeader, tocTypeOf } from "../layer/file-metadata.js";
import { tocTimesMatch } from "../go/time.js";
import type { TocFile } from "../layer/toc-parse.js";
import type { TocEntry } from "../layer/toc.js";
import { base64Encode } from "../go/base64.js";
import { type TarHeader, xattrsOf } from "../tar/types.js";

/** One differing field: what the tar says and what the TOC says. */
export interface FieldDifference {
  field: string;
  tar: unknown;
  toc: unknown;
}

function timesMatch(a: string | undefined, b: string | undefined): boolean {
  try {
    return tocTimesMatch(a, b);
  } catch {
    return false; // an unparsable time cannot match
  }
}

/** `emptyIsAbsent`: an xattr with an empty value equals a missing one (containers/storage 1.43 drops them from its TOC). */
function compareXattrs(tar: Record<string, string>, toc: Record<string, string>, out: FieldDifference[], emptyIsAbsent = false): void {
  const keys = new Set([...Object.keys(tar), ...Object.keys(toc)]);
  const get = (o: Record<string, string>, k: string): string | undefined => {
    const v = Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
    return emptyIsAbsent && v === "" ? undefined : v;
  };
  for (const k of keys) {
    const a = get(tar, k);
    const b = get(toc, k);
    if (a !== b) out.push({ field: `xattrs[${JSON.stringify(k)}]`, tar: a, toc: b });
  }
}

/** zstd:chunked: differences between `hdr` and `file` (throws TAR_UNSUPPORTED for typeflags a TOC cannot hold). */
export function compareZstdChunked(hdr: TarHeader, file: TocFile): FieldDifference[] {
  const fromTar: TocEntry = fileMetadataFromHeader(hdr);
  const out: FieldDifference[] = [];
  const scalar = (field: string, a: unknown, b: unknown): void => {
    if (a !== b) out.push({ field, tar: a, toc: b });
  };
  scalar("type", fromTar.type, file.type);
  scalar("linkName", fromTar.linkName ?? "", file.linkName ?? "");
  scalar("mode", fromTar.mode ?? 0, file.mode);
  scalar("size", fromTar.size ?? 0, file.size);
  scalar("uid", fromTar.uid ?? 0, file.uid);
  scalar("gid", fromTar.gid ?? 0, file.gid);
  scalar("devMajor", fromTar.devMajor ?? 0, file.devMajor);
  scalar("devMinor", fromTar.devMinor ?? 0, file.devMinor);
  for (const k of ["modtime", "accesstime", "changetime"] as const) {
    if (!timesMatch(fromTar[k], file[k])) out.push({ field: k, tar: fromTar[k], toc: file[k] });
  }
  compareXattrs(fromTar.xattrs ?? {}, file.xattrs ?? {}, out, true);
  return out;
}

/** eStargz: differences between `hdr` and `file`. */
export function compareEstargz(hdr: TarHeader, file: TocFile): FieldDifference[] {
  const out: FieldDifference[] = [];
  const scalar = (field: string, a: unknown, b: unknown): void => {
    if (a !== b) out.push({ field, tar: a, toc: b });
  };
  const type = tocTypeOf(hdr.typeflag) ?? `typeflag ${JSON.stringify(hdr.typeflag)}`;
  scalar("type", type, file.type);
  if (type === "symlink" || type === "hardlink") scalar("linkName", hdr.linkname, file.linkName ?? "");
  scalar("mode", hdr.mode, file.mode);
  scalar("uid", hdr.uid, file.uid);
  scalar("gid", hdr.gid, file.gid);
  if (type === "reg") scalar("size", hdr.size, file.size);
  if (type === "char" || type === "block") {
    scalar("devMajor", hdr.devmajor, file.devMajor);
    scalar("devMinor", hdr.devminor, file.devMinor);
  }
  const modtime = formatModtime(hdr.mtime.sec, hdr.mtime.nsec) || undefined;
  if (!timesMatch(modtime, file.modtime)) out.push({ field: "modtime", tar: modtime, toc: file.modtime });
  const xattrs: Record<string, string> = {};
  for (const [k, v] of xattrsOf(hdr) ?? []) {
    Object.defineProperty(xattrs, k, { value: base64Encode(v), enumerable: true, writable: true, configurable: true });
  }
  compareXattrs(xattrs, file.xattrs ?? {}, out);
  return out;
}

/** "mode: tar 420, TOC 493; uid: …" */
export function describeDifferences(diffs: readonly FieldDifference[]): string {
  return diffs.map((d) => `${d.field}: tar ${JSON.stringify(d.tar)}, TOC ${JSON.stringify(d.toc)}`).join("; ");
}
