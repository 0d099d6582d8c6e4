/**
 * Byte-exact JSON for zstd:chunked metadata.
 *
 * {@link serializeToc} writes a {@link Toc} as c/storage does (`jsoniter.ConfigCompatibleWithStandardLibrary.Marshal`):
 * compact, no trailing newline, struct field order, `omitempty` on every entry field but `type`
 * and `name`, top level `version`, `entries` (`null` when nil), `tarSplitDigest` (omitempty),
 * xattr keys sorted by their Go (UTF-8 byte) order.

 *
 * @module
 */
import { LayerkitError } from "../../errors.js";
import { compareGoStrings } from "../../go/strings.js";
import type { Toc, TocEntry } from "../../layer/toc.js";
import { goJsonString } from "../../go/json-string.js";

function int(v: number, field: string): string {
  if (!Number.isSafeInteger(v)) {
    throw new LayerkitError("BAD_ARGUMENT", `TOC field ${field} must be a safe integer, got ${v}`, { field, value: v });
  }
  return v === 0 ? "0" : String(v);
}

const str = (s: string): string => goJsonString(s);

/** One TOC entry object, fields in upstream order with `omitempty`. */
export function serializeTocEntry(e: TocEntry): string {
  let o = '{"type":' + str(e.type) + ',"name":' + str(e.name);
  if (e.linkName) o += ',"linkName":' + str(e.linkName);
  if (e.mode) o += ',"mode":' + int(e.mode, "mode");
  if (e.size) o += ',"size":' + int(e.size, "size");
  if (e.uid) o += ',"uid":' + int(e.uid, "uid");
  if (e.gid) o += ',"gid":' + int(e.gid, "gid");
  if (e.modtime !== undefined) o += ',"modtime":' + str(e.modtime);
  if (e.accesstime !== undefined) o += ',"accesstime":' + str(e.accesstime);
  if (e.changetime !== undefined) o += ',"changetime":' + str(e.changetime);
  if (e.devMajor) o += ',"devMajor":' + int(e.devMajor, "devMajor");
  if (e.devMinor) o += ',"devMinor":' + int(e.devMinor, "devMinor");
  if (e.xattrs) {
    const keys = Object.keys(e.xattrs);
    if (keys.length > 0) {
      keys.sort(compareXattrKeys);
      o += ',"xattrs":{';
      keys.forEach((k, i) => {
        o += (i ? "," : "") + str(k) + ":" + str(e.xattrs![k]!);
      });
      o += "}";
    }
  }
  if (e.digest) o += ',"digest":' + str(e.digest);
  if (e.offset) o += ',"offset":' + int(e.offset, "offset");
  if (e.endOffset) o += ',"endOffset":' + int(e.endOffset, "endOffset");
  if (e.chunkSize) o += ',"chunkSize":' + int(e.chunkSize, "chunkSize");
  if (e.chunkOffset) o += ',"chunkOffset":' + int(e.chunkOffset, "chunkOffset");
  if (e.chunkDigest) o += ',"chunkDigest":' + str(e.chunkDigest);
  if (e.chunkType) o += ',"chunkType":' + str(e.chunkType);
  return o + "}";
}

/**
 * json-iterator sorts map keys by their decoded form: invalid bytes have become U+FFFD by then,
 * so compare with lone surrogates replaced (then by UTF-8 byte order).
 */
function compareXattrKeys(a: string, b: string): number {
  return compareGoStrings(fixLone(a), fixLone(b));
}

function fixLone(s: string): string {
  return /[\ud800-\udfff]/.test(s) ? s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\uFFFD") : s;
}

/** The whole TOC document, byte-identical to upstream's for the same entries (UTF-8 encode it). */
export function serializeToc(toc: Toc): string {
  let o = '{"version":' + int(toc.version, "version") + ',"entries":';
  if (toc.entries === null) o += "null";
  else {
    o += "[";
    for (let i = 0; i < toc.entries.length; i++) {
      if (i) o += ",";
      o += serializeTocEntry(toc.entries[i]!);
    }
    o += "]";
  }
  if (toc.tarSplitDigest) o += ',"tarSplitDigest":' + str(toc.tarSplitDigest);
  return o + "}";
}

/** {@link serializeToc} as UTF-8 bytes. */
export function encodeToc(toc: Toc): Uint8Array {
  return new TextEncoder().encode(serializeToc(toc));
}
