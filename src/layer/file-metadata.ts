/**
 * `fileMetadataFromHeader`: the TOC entry fields c/storage's `minimal.NewFileMetadata(hdr)`
 * derives from a tar header (current upstream, ≥ 1.55): type from the typeflag, name and
 * linkName verbatim, mode/size/uid/gid/devMajor/devMinor as numbers, times in RFC 3339 with
 * nanoseconds but omitted when they are Go's zero time (`timeIfNotZero`), and xattrs from the
 * `SCHILY.xattr.*` PAX records (empty values included) as standard base64.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { base64Encode } from "../go/base64.js";
import { PAX_SCHILY_XATTR, type TarHeader } from "../tar/types.js";
import { formatGoTime, type Instant, isGoZero } from "../go/time.js";
import type { TocEntry, TocEntryType } from "./toc.js";

const TYPES: Record<string, TocEntryType> = {
  "0": "reg",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

/** The TOC type of a typeflag, or undefined for types upstream rejects ("unknown tarball type"). */
export function tocTypeOf(typeflag: string): TocEntryType | undefined {
  return TYPES[typeflag];
}

function time(t: Instant | undefined, field: string, name: string): string | undefined {
  if (t === undefined || isGoZero(t)) return undefined;
  try {
    return formatGoTime(t.sec, t.nsec);
  } catch (e) {
    throw new LayerkitError("OUT_OF_RANGE", `${field} of ${JSON.stringify(name)} cannot be written to a TOC (year outside 0000-9999)`, {
      name,
      field,
    }, { cause: e });
  }
}

/**
 * The TOC entry for a tar header, without digest/offsets/chunk fields (the writer adds those).
 * Throws TAR_UNSUPPORTED for typeflags upstream cannot write and OUT_OF_RANGE for times Go
 * cannot marshal.
 */
export function fileMetadataFromHeader(hdr: TarHeader): TocEntry {
  const type = TYPES[hdr.typeflag];
  if (!type) {
    throw new LayerkitError(
      "TAR_UNSUPPORTED",
      `tar entry ${JSON.stringify(hdr.name)} has typeflag ${JSON.stringify(hdr.typeflag)}, which zstd:chunked cannot represent`,
      {
        name: hdr.name,
        typeflag: hdr.typeflag,
      },
    );
  }
  const e: TocEntry = { type, name: hdr.name };
  if (hdr.linkname) e.linkName = hdr.linkname;
  if (hdr.mode) e.mode = hdr.mode;
  if (hdr.size) e.size = hdr.size;
  if (hdr.uid) e.uid = hdr.uid;
  if (hdr.gid) e.gid = hdr.gid;
  const modtime = time(hdr.mtime, "modtime", hdr.name);
  if (modtime !== undefined) e.modtime = modtime;
  const accesstime = time(hdr.atime, "accesstime", hdr.name);
  if (accesstime !== undefined) e.accesstime = accesstime;
  const changetime = time(hdr.ctime, "changetime", hdr.name);
  if (changetime !== undefined) e.changetime = changetime;
  if (hdr.devmajor) e.devMajor = hdr.devmajor;
  if (hdr.devminor) e.devMinor = hdr.devminor;
  if (hdr.pax) {
    let xattrs: Record<string, string> | undefined;
    for (const [k, v] of hdr.pax) {
      if (!k.startsWith(PAX_SCHILY_XATTR)) continue;
      // defineProperty: a key like "__proto__" must stay an ordinary property.
      Object.defineProperty(xattrs ??= {}, k.slice(PAX_SCHILY_XATTR.length), {
        value: base64Encode(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (xattrs) e.xattrs = xattrs;
  }
  return e;
}
