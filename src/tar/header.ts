/**
 * The heart of the tar reader: Go `archive/tar` `Reader.Next()` (tar-split's fork, with
 * `RawAccounting`) as a generator that asks for bytes and returns either the next entry's header
 * with every raw byte it consumed, or the end of the archive. Both the async {@link TarReader}
 * and the synchronous {@link parseTarHeaderBytes} drive it.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { GO_ZERO_UNIX, instant } from "../go/time.js";
import { concatBytes } from "../util/bytes.js";
import { goString } from "../go/strings.js";
import { cString, FieldParser, goParseInt, parsePaxData, parsePaxTime } from "./strconv.js";
import {
  oldGnuSparseExtension,
  oldGnuSparseHeader,
  paxSparseMap01,
  paxSparseMap10,
  paxSparseSize,
  paxSparseVersion,
  type SparseFragment,
  validSparseMap,
} from "./sparse.js";
import { type Instant, isHeaderOnlyType, type TarBlockFormat, type TarHeader } from "./types.js";

export const BLOCK_SIZE = 512;
/** Go's `maxSpecialFileSize`: the largest PAX header data or GNU long name/link accepted. */
export const MAX_SPECIAL_FILE_SIZE = 1 << 20;

/** Options of the header state machine (see {@link TarReaderOptions}). */
export interface NextOptions {
  /** Reject `g`, `7` and unknown typeflags (default true). Sparse entries: see `allowSparse`. */
  strictTypes?: boolean;
  /**
   * Accept GNU and PAX sparse entries (default false: TAR_UNSUPPORTED). Their sparse maps are read
   * and checked as Go reads them; the payload stays the stored (physical) bytes.
   */
  allowSparse?: boolean;
  /** Reject names (and hardlink targets) with `..` components (default false). */
  safeNames?: boolean;
  /** Limit on the raw header bytes of one entry (extension headers included; default 8 MiB). */
  maxHeaderBytes?: number;
}

/** What one `Next()` produced. */
export type NextResult =
  | {
    kind: "entry";
    header: TarHeader;
    /** Padding after the payload, consumed by the next call (Go's `ExpectedPadding()`). */
    pad: number;
    /** Everything consumed: previous padding, extension headers and data, the header block. */
    raw: Uint8Array;
    /** Payload bytes that follow (0 for header-only types, whatever the size field says). */
    dataSize: number;
  }
  | {
    kind: "end";
    /** Previous padding and the end-of-archive block(s) consumed. */
    raw: Uint8Array;
  };

// Go Format bits.
const F_V7 = 1;
const F_USTAR = 2;
const F_PAX = 4;
const F_GNU = 8;
const F_STAR = 16;

const ASCII = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const MAGIC_USTAR = ASCII("ustar\0");
const MAGIC_GNU = ASCII("ustar ");
const VERSION_GNU = ASCII(" \0");
const TRAILER_STAR = ASCII("tar\0");

function eq(b: Uint8Array, off: number, want: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if (b[off + i] !== want[i]) return false;
  return true;
}

function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Go's `blockPadding`. */
export function blockPadding(n: number): number {
  return (BLOCK_SIZE - (n % BLOCK_SIZE)) % BLOCK_SIZE;
}

/** Unsigned and signed header checksums (checksum field counted as spaces). */
export function headerChecksums(b: Uint8Array): [unsigned: number, signed: number] {
  let u = 0;
  let s = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
    u += c;
    s += c >= 0x80 ? c - 256 : c;
  }
  return [u, s];
}

/** Go's `block.GetFormat()` bits, or 0 for a bad checksum. */
export function blockFormatBits(b: Uint8Array): number {
  const p = new FieldParser();
  const value = p.octal(b.subarray(148, 156));
  const [u, s] = headerChecksums(b);
  if (p.err || (value !== u && value !== s)) return 0;
  if (eq(b, 257, MAGIC_USTAR) && eq(b, 508, TRAILER_STAR)) return F_STAR;
  if (eq(b, 257, MAGIC_USTAR)) return F_USTAR | F_PAX;
  if (eq(b, 257, MAGIC_GNU) && eq(b, 263, VERSION_GNU)) return F_GNU;
  return F_V7;
}

/** A header as `readHeader` returns it, before extension headers are merged. */
interface BlockHeader {
  typeflag: string;
  nameBytes: Uint8Array;
  linknameBytes: Uint8Array;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: Instant;
  atime?: Instant;
  ctime?: Instant;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** Go's `hdr.Format` as readHeader leaves it (0 for V7/STAR). */
  formatBits: number;
  blockFormat: TarBlockFormat;
}

function corrupt(message: string, offset: number, details: Record<string, unknown> = {}): LayerkitError {
  return new LayerkitError("TAR_CORRUPT", `tar: ${message} at offset ${offset}`, { offset, ...details });
}

function unsupported(message: string, offset: number, details: Record<string, unknown> = {}): LayerkitError {
  return new LayerkitError("TAR_UNSUPPORTED", `tar: ${message}`, { offset, ...details });
}

function unixSeconds(sec: number): Instant {
  return { sec, nsec: 0 };
}

/** Go's `readHeader` on one non-zero block. Throws TAR_CORRUPT (with `offset`) where Go returns ErrHeader. */
export function parseHeaderBlock(b: Uint8Array, offset: number): BlockHeader {
  const bits = blockFormatBits(b);
  if (bits === 0) throw corrupt("invalid header (bad checksum)", offset);
  const p = new FieldParser();
  const typeflag = String.fromCharCode(b[156]!);
  const nameBytes = cString(b.subarray(0, 100));
  const linknameBytes = cString(b.subarray(157, 257));
  const size = p.numeric(b.subarray(124, 136));
  const mode = p.numeric(b.subarray(100, 108));
  const uid = p.numeric(b.subarray(108, 116));
  const gid = p.numeric(b.subarray(116, 124));
  const mtime = unixSeconds(p.numeric(b.subarray(136, 148)));
  const h: BlockHeader = {
    typeflag,
    nameBytes,
    linknameBytes,
    size,
    mode,
    uid,
    gid,
    mtime,
    uname: "",
    gname: "",
    devmajor: 0,
    devminor: 0,
    formatBits: 0,
    blockFormat: bits === F_STAR ? "star" : bits === F_GNU ? "gnu" : bits === F_V7 ? "v7" : "ustar",
  };
  if (bits > F_V7) {
    h.uname = goString(cString(b.subarray(265, 297)));
    h.gname = goString(cString(b.subarray(297, 329)));
    h.devmajor = p.numeric(b.subarray(329, 337));
    h.devminor = p.numeric(b.subarray(337, 345));
    let prefix: Uint8Array | undefined;
    if (bits & (F_USTAR | F_PAX)) {
      h.formatBits = bits;
      prefix = cString(b.subarray(345, 500));
      for (let i = 0; i < BLOCK_SIZE; i++) {
        if (b[i]! >= 0x80) {
          h.formatBits = 0; // non-ASCII characters in the block
          break;
        }
      }
      // Numeric fields must end in NUL for a block to count as USTAR.
      if (b[135] !== 0 || b[107] !== 0 || b[115] !== 0 || b[123] !== 0 || b[147] !== 0 || b[336] !== 0 || b[344] !== 0) h.formatBits = 0;
    } else if (bits & F_STAR) {
      prefix = cString(b.subarray(345, 476));
      h.atime = unixSeconds(p.numeric(b.subarray(476, 488)));
      h.ctime = unixSeconds(p.numeric(b.subarray(488, 500)));
    } else if (bits & F_GNU) {
      h.formatBits = bits;
      const p2 = new FieldParser();
      if (b[345] !== 0) h.atime = unixSeconds(p2.numeric(b.subarray(345, 357)));
      if (b[357] !== 0) h.ctime = unixSeconds(p2.numeric(b.subarray(357, 369)));
      if (p2.err) {
        // Pre-Go 1.8 writers put a USTAR prefix here (golang.org/issue/12594).
        delete h.atime;
        delete h.ctime;
        const s = cString(b.subarray(345, 500));
        if (s.every((c) => c < 0x80)) prefix = s;
        h.formatBits = 0;
      } else if (p2.unsafe) {
        throw unsupported(`GNU atime/ctime at offset ${offset} is not representable`, offset);
      }
    }
    if (prefix && prefix.length > 0) {
      const joined = new Uint8Array(prefix.length + 1 + nameBytes.length);
      joined.set(prefix, 0);
      joined[prefix.length] = 0x2f;
      joined.set(nameBytes, prefix.length + 1);
      h.nameBytes = joined;
    }
  }
  if (p.err) throw corrupt("invalid numeric field in header", offset);
  if (p.unsafe) throw unsupported(`numeric field of header at offset ${offset} is too large to represent exactly`, offset);
  return h;
}

/** Bytes in, header out: the request protocol of {@link nextEntry}. A reply shorter than asked means end of input. */
export type ByteRequest = number;

/**
 * One `Next()` of Go's tar reader. `pad` is the previous entry's padding still to be consumed;
 * `position` the stream offset where this call starts reading. Yields byte counts to read and
 * expects the bytes back (shorter only at end of input).
 */
export function* nextEntry(pad: number, position: number, options: NextOptions = {}): Generator<ByteRequest, NextResult, Uint8Array> {
  const strict = options.strictTypes ?? true;
  const maxRaw = options.maxHeaderBytes ?? 8 << 20;
  const raw: Uint8Array[] = [];
  let rawLen = 0;
  let pos = position;
  let format = F_USTAR | F_PAX | F_GNU;
  let pax: Map<string, Uint8Array> | undefined;
  let longName: Uint8Array | undefined;
  let longLink: Uint8Array | undefined;
  let lastName = "";

  const record = (b: Uint8Array): void => {
    if (b.length === 0) return;
    raw.push(b);
    rawLen += b.length;
    pos += b.length;
    if (rawLen > maxRaw) {
      throw new LayerkitError("LIMIT_EXCEEDED", `tar: headers of one entry exceed ${maxRaw} bytes at offset ${pos}`, {
        offset: pos,
        limit: maxRaw,
        name: lastName,
      });
    }
  };
  const truncated = (what: string, at: number): LayerkitError =>
    new LayerkitError("TRUNCATED", `tar: unexpected end of input in ${what} at offset ${at}`, { offset: at, name: lastName || undefined });
  const end = (): NextResult => ({ kind: "end", raw: concatBytes(raw) });

  for (;;) {
    if (pad > 0) {
      const at = pos;
      const b: Uint8Array = yield pad;
      // Input ends right after the payload (or an extension header): Go's clean EOF, nothing lost.
      if (b.length === 0) return end();
      if (b.length < pad) throw truncated("padding", at);
      record(b);
      pad = 0;
    }

    const hdrAt = pos;
    const blk: Uint8Array = yield BLOCK_SIZE;
    // No end-of-archive blocks: Go accepts this (even after dangling extension headers, which
    // then belong to the end bytes).
    if (blk.length === 0) return end();
    if (blk.length < BLOCK_SIZE) throw truncated("a header block", hdrAt);
    record(blk);
    if (isZeroBlock(blk)) {
      const at2 = pos;
      const blk2: Uint8Array = yield BLOCK_SIZE;
      if (blk2.length > 0 && blk2.length < BLOCK_SIZE) throw truncated("the end-of-archive block", at2);
      record(blk2);
      if (blk2.length > 0 && !isZeroBlock(blk2)) throw corrupt("zero block followed by a non-zero block", at2);
      return end();
    }

    const h = parseHeaderBlock(blk, hdrAt);
    lastName = goString(h.nameBytes);
    let dataSize = isHeaderOnlyType(h.typeflag) ? 0 : h.size;
    if (dataSize < 0) throw corrupt(`negative size ${h.size} in header of ${JSON.stringify(lastName)}`, hdrAt, { name: lastName });
    pad = blockPadding(dataSize);
    format &= h.formatBits;

    const tf = h.typeflag;
    if (tf === "x" || tf === "g" || tf === "L" || tf === "K") {
      format &= tf === "L" || tf === "K" ? F_GNU : F_PAX;
      if (dataSize > MAX_SPECIAL_FILE_SIZE) {
        throw new LayerkitError(
          "LIMIT_EXCEEDED",
          `tar: ${
            tf === "x" || tf === "g" ? "PAX header data" : "GNU long name"
          } of ${dataSize} bytes exceeds ${MAX_SPECIAL_FILE_SIZE} at offset ${hdrAt}`,
          { offset: hdrAt, size: dataSize, limit: MAX_SPECIAL_FILE_SIZE },
        );
      }
      const dataAt = pos;
      const data: Uint8Array = dataSize > 0 ? yield dataSize : new Uint8Array(0);
      if (data.length < dataSize) throw truncated(`extension header data`, dataAt);
      record(data);
      if (tf === "x" || tf === "g") {
        const parsed = parsePaxData(data, goString);
        if (!(parsed instanceof Map)) {
          if (parsed.unsafePath) {
            throw new LayerkitError("UNSAFE_PATH", `tar: PAX ${parsed.unsafePath} contains a NUL byte at offset ${hdrAt}`, {
              offset: hdrAt,
              field: parsed.unsafePath,
            });
          }
          throw corrupt(`invalid PAX header (${parsed.error})`, hdrAt);
        }
        if (tf === "g") {
          if (strict) {
            throw unsupported(`global PAX header ${JSON.stringify(lastName)} at offset ${hdrAt} is not supported`, hdrAt, {
              name: lastName,
              typeflag: "g",
            });
          }
          // Go merges the records (validating them) and returns a header with only these fields.
          const merged = finishHeader(h, parsed, undefined, undefined, hdrAt, format);
          const header: TarHeader = {
            typeflag: "g",
            name: merged.name,
            linkname: "",
            size: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            uname: "",
            gname: "",
            mtime: { sec: GO_ZERO_UNIX, nsec: 0 },
            devmajor: 0,
            devminor: 0,
            pax: parsed,
            format: format === F_PAX ? "pax" : "unknown",
            blockFormat: h.blockFormat,
          };
          return { kind: "entry", header, raw: concatBytes(raw), dataSize: 0, pad };
        }
        pax = parsed;
        const p = pax.get("path");
        if (p && p.length > 0) lastName = goString(p);
      } else {
        const s = cString(data);
        if (tf === "L") {
          longName = s;
          if (s.length > 0) lastName = goString(s);
        } else longLink = s;
      }
      continue;
    }

    // A real entry.
    const header = finishHeader(h, pax, longName, longLink, hdrAt, format);
    let sparseData: number | undefined;
    if (options.allowSparse) {
      const physical = isHeaderOnlyType(header.typeflag) ? 0 : header.size;
      const version = tf === "S" ? "gnu" : pax ? paxSparseVersion(pax) : undefined;
      if (version) {
        const map: SparseFragment[] = [];
        let mapBytes = 0;
        const bad = (why: string): LayerkitError =>
          corrupt(`invalid sparse map of ${JSON.stringify(header.name)} (${why})`, hdrAt, { name: header.name });
        if (version === "gnu") {
          // Go: the STAR format has a sparse header of another layout under the same typeflag.
          if (h.blockFormat !== "gnu") throw bad("typeflag S in a non-GNU header");
          const p = new FieldParser();
          let { realSize, extended } = oldGnuSparseHeader(blk, p, map);
          while (extended && !p.err) {
            const extAt = pos;
            const ext: Uint8Array = yield BLOCK_SIZE;
            if (ext.length < BLOCK_SIZE) throw truncated("a sparse extension block", extAt);
            record(ext);
            extended = oldGnuSparseExtension(ext, p, map);
          }
          if (p.err || p.unsafe) throw bad("bad numeric field");
          header.size = realSize;
        } else {
          const size = paxSparseSize(pax!);
          if (size === null) throw bad("bad GNU.sparse.size");
          if (pax!.get("GNU.sparse.name")?.length) header.name = goString(pax!.get("GNU.sparse.name")!);
          if (size !== undefined) header.size = size;
          if (version === "0.1") {
            const m = paxSparseMap01(pax!);
            if (!m) throw bad("bad GNU.sparse.map");
            map.push(...m);
          } else {
            // 1.0: the map is in whole blocks at the start of the data.
            const blocks: Uint8Array[] = [];
            for (;;) {
              if (mapBytes + BLOCK_SIZE > physical) throw bad("the map runs past the data");
              if (mapBytes >= MAX_SPECIAL_FILE_SIZE) {
                throw new LayerkitError(
                  "LIMIT_EXCEEDED",
                  `tar: sparse map of ${JSON.stringify(header.name)} exceeds ${MAX_SPECIAL_FILE_SIZE} bytes`,
                  { offset: hdrAt },
                );
              }
              const at = pos;
              const b: Uint8Array = yield BLOCK_SIZE;
              if (b.length < BLOCK_SIZE) throw truncated("a sparse map", at);
              record(b);
              blocks.push(b);
              mapBytes += BLOCK_SIZE;
              const m = paxSparseMap10(concatBytes(blocks));
              if (m === null) throw bad("bad map record");
              if (m !== "more") {
                map.push(...m);
                break;
              }
            }
          }
        }
        if (isHeaderOnlyType(header.typeflag) || !validSparseMap(map, header.size)) {
          throw bad("fragments out of order or past the real size");
        }
        sparseData = physical - mapBytes;
        const stored = map.reduce((n, f) => n + f.length, 0);
        // Go's reader fails at the end of such an entry (missing or unreferenced data).
        if (stored !== sparseData) throw bad(`its fragments hold ${stored} bytes, the archive stores ${sparseData}`);
        header.sparse = map;
      }
    } else if (tf === "S" || (pax && [...pax.keys()].some((k) => k.startsWith("GNU.sparse.")))) {
      throw unsupported(`sparse file ${JSON.stringify(header.name)} at offset ${hdrAt} is not supported`, hdrAt, {
        name: header.name,
        typeflag: tf,
      });
    }
    dataSize = sparseData ?? (isHeaderOnlyType(header.typeflag) ? 0 : header.size);
    if (dataSize < 0) {
      throw corrupt(`negative size ${header.size} in header of ${JSON.stringify(header.name)}`, hdrAt, { name: header.name });
    }
    pad = blockPadding(dataSize);
    if (strict && !(header.typeflag >= "0" && header.typeflag <= "6")) {
      const what = header.typeflag === "7" ? "contiguous file (typeflag '7')" : `typeflag ${JSON.stringify(header.typeflag)}`;
      throw unsupported(`${what} of ${JSON.stringify(header.name)} at offset ${hdrAt} is not supported`, hdrAt, {
        name: header.name,
        typeflag: header.typeflag,
      });
    }
    if (options.safeNames) {
      checkSafeName(header.name, "name", hdrAt);
      if (header.typeflag === "1") checkSafeName(header.linkname, "linkname", hdrAt);
    }
    return { kind: "entry", header, raw: concatBytes(raw), dataSize, pad };
  }
}

/** Throws UNSAFE_PATH when `name` has a `..` component. */
export function checkSafeName(name: string, field: string, offset?: number): void {
  if (name.includes("\0")) {
    throw new LayerkitError("UNSAFE_PATH", `tar: ${field} ${JSON.stringify(name)} contains a NUL byte`, { name, field, offset });
  }
  if (name.includes("..") && name.split("/").includes("..")) {
    throw new LayerkitError("UNSAFE_PATH", `tar: ${field} ${JSON.stringify(name)} has a ".." component`, { name, field, offset });
  }
}

function paxInstant(v: Uint8Array, key: string, offset: number): Instant {
  const t = parsePaxTime(goString(v));
  if (t === null) throw corrupt(`invalid PAX ${key} ${JSON.stringify(goString(v))}`, offset);
  try {
    return instant(t.sec, t.nsec);
  } catch {
    throw unsupported(`PAX ${key} ${goString(v)} at offset ${offset} is out of range`, offset);
  }
}

function paxInt(v: Uint8Array, key: string, offset: number): number {
  const n = goParseInt(goString(v));
  if (n === null) throw corrupt(`invalid PAX ${key} ${JSON.stringify(goString(v))}`, offset);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw unsupported(`PAX ${key} ${n} at offset ${offset} is too large to represent exactly`, offset);
  }
  return Number(n);
}

/** mergePAX + GNU long names + the `\0` typeflag rule + the final format guess. */
function finishHeader(
  h: BlockHeader,
  pax: Map<string, Uint8Array> | undefined,
  longName: Uint8Array | undefined,
  longLink: Uint8Array | undefined,
  offset: number,
  formatBits: number,
): TarHeader {
  const hdr: TarHeader = {
    typeflag: h.typeflag,
    name: goString(h.nameBytes),
    linkname: goString(h.linknameBytes),
    size: h.size,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    uname: h.uname,
    gname: h.gname,
    mtime: h.mtime,
    devmajor: h.devmajor,
    devminor: h.devminor,
    format: "unknown",
    blockFormat: h.blockFormat,
  };
  if (h.atime) hdr.atime = h.atime;
  if (h.ctime) hdr.ctime = h.ctime;
  if (pax) {
    for (const [k, v] of pax) {
      if (v.length === 0) continue; // keep the header value
      switch (k) {
        case "path":
          hdr.name = goString(v);
          break;
        case "linkpath":
          hdr.linkname = goString(v);
          break;
        case "uname":
          hdr.uname = goString(v);
          break;
        case "gname":
          hdr.gname = goString(v);
          break;
        case "uid":
          hdr.uid = paxInt(v, k, offset);
          break;
        case "gid":
          hdr.gid = paxInt(v, k, offset);
          break;
        case "size":
          hdr.size = paxInt(v, k, offset);
          break;
        case "atime":
          hdr.atime = paxInstant(v, k, offset);
          break;
        case "mtime":
          hdr.mtime = paxInstant(v, k, offset);
          break;
        case "ctime":
          hdr.ctime = paxInstant(v, k, offset);
          break;
      }
    }
    hdr.pax = pax;
  }
  if (longName && longName.length > 0) hdr.name = goString(longName);
  if (longLink && longLink.length > 0) hdr.linkname = goString(longLink);
  if (hdr.typeflag === "\0") hdr.typeflag = hdr.name.endsWith("/") ? "5" : "0";
  let f = formatBits;
  if (f & F_USTAR && f & F_PAX) f = F_USTAR;
  hdr.format = f === F_USTAR ? "ustar" : f === F_PAX ? "pax" : f === F_GNU ? "gnu" : "unknown";
  return hdr;
}
