/**
 * Parsing and validating a decompressed zstd:chunked TOC (docs/formats/zstd-chunked.md §2, §2.6), and
 * stargz-snapshotter's eStargz JTOC inside zstd:chunked framing (§9.4), into typed file entries
 * with exact compressed ranges.
 *
 * Upstream's reader rules kept: keys matched case-insensitively, unknown keys skipped, only
 * whitespace allowed after the JSON, `chunk` only right after `reg`/`chunk`, `reg` with payload
 * needs a valid digest, empty `reg` gets the empty digest, times must be RFC 3339, `entries: null`
 * allowed. Added: names with NUL or `..` components are UNSAFE_PATH; every number is a
 * non-negative safe integer; payload offsets lie before the TOC and never overlap; chunk sizes add
 * up to the file size; `chunkOffset` matches the chunk's position; xattr values are base64;
 * every hardlink's target is an earlier entry that is not defined again later (./link-rules.ts:
 * otherwise extraction and lazy reads resolve the link differently). These are BAD_TOC: the TOC
 * alone is wrong, whatever the tar says (INCONSISTENT is kept for a TOC and a tar that disagree).
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { isDigest } from "./digest.js";
import { JsonReader } from "../util/json-limits.js";
import { goString } from "../go/strings.js";
import { parseRfc3339 } from "../go/time.js";
import { classifyToc, ESTARGZ_LANDMARKS, type TocFormat, type TocShape } from "./classify.js";
import { LinkRules } from "./link-rules.js";
import { assignChunkRanges, type ChunkRange, type PendingChunk, type PendingFile } from "./ranges.js";
import type { Toc, TocEntry, TocEntryType } from "./toc.js";

/** sha256 of zero bytes: the digest upstream gives empty regular files. */
export const EMPTY_DIGEST = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** A TOC entry as parsed, with the eStargz JTOC fields the c/storage schema lacks. */
export interface RawTocEntry extends TocEntry {
  userName?: string;
  groupName?: string;
  innerOffset?: number;
}

export interface RawToc extends Toc {
  entries: RawTocEntry[] | null;
}

/** A non-chunk TOC entry with typed, checked metadata and (for files with payload) its chunks. */
export interface TocFile {
  type: Exclude<TocEntryType, "chunk">;
  name: string;
  linkName?: string;
  mode: number;
  size: number;
  uid: number;
  gid: number;
  /** RFC 3339 strings as in the TOC (nanoseconds kept). */
  modtime?: string;
  accesstime?: string;
  changetime?: string;
  devMajor: number;
  devMinor: number;
  xattrs?: Record<string, string>;
  /** eStargz JTOC only. */
  userName?: string;
  groupName?: string;
  /** `reg`: `sha256:<hex>` of the content (the empty digest for empty files). */
  digest?: string;
  /** `reg` with payload: compressed range `[offset, endOffset)` of all its chunks. */
  offset?: number;
  endOffset?: number;
  /** `reg` with payload: its chunks in order (one for an unchunked file); empty otherwise. */
  chunks: ChunkRange[];
  /** Index of this entry in `toc.entries`. */
  index: number;
}

export interface ParseTocOptions {
  /**
   * Where the payload area ends: the absolute offset of the TOC's skippable frame (TOC offset − 8),
   * or of the first metadata frame when that comes earlier. Every payload range must end by it.
   */
  payloadEnd: number;
  /** Force a schema instead of classifying the TOC. */
  format?: TocFormat;
}

export interface ParsedToc {
  format: TocFormat;
  toc: RawToc;
  files: TocFile[];
}

const TYPES: ReadonlySet<string> = new Set(["reg", "dir", "symlink", "hardlink", "char", "block", "fifo", "chunk"]);
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

type FieldKind = "string" | "int" | "time" | "digest" | "xattrs" | "extra-string" | "extra-int";

/** Lower-cased JSON key → [canonical field, kind]. */
const FIELD_LIST: Record<string, [keyof RawTocEntry, FieldKind]> = {
  type: ["type", "string"],
  name: ["name", "string"],
  linkname: ["linkName", "string"],
  mode: ["mode", "int"],
  size: ["size", "int"],
  uid: ["uid", "int"],
  gid: ["gid", "int"],
  modtime: ["modtime", "time"],
  accesstime: ["accesstime", "time"],
  changetime: ["changetime", "time"],
  devmajor: ["devMajor", "int"],
  devminor: ["devMinor", "int"],
  xattrs: ["xattrs", "xattrs"],
  digest: ["digest", "digest"],
  offset: ["offset", "int"],
  endoffset: ["endOffset", "int"],
  chunksize: ["chunkSize", "int"],
  chunkoffset: ["chunkOffset", "int"],
  chunkdigest: ["chunkDigest", "digest"],
  chunktype: ["chunkType", "string"],
  // eStargz JTOC; unknown to c/storage, so taken only when they have the expected type.
  username: ["userName", "extra-string"],
  groupname: ["groupName", "extra-string"],
  inneroffset: ["innerOffset", "extra-int"],
};

// Exact-case fast path: the canonical spellings map to themselves.
/** JSON key (canonical spelling or lower-cased) → [canonical field, kind]. A Map: keys such as `constructor` must not hit Object.prototype. */
const FIELDS = new Map<string, [keyof RawTocEntry, FieldKind]>();
for (const [k, v] of Object.entries(FIELD_LIST)) {
  FIELDS.set(k, v);
  FIELDS.set(v[0], v);
}

const CSTORAGE_ONLY: ReadonlySet<string> = new Set(["endOffset", "accesstime", "changetime", "chunkType"]);
const ESTARGZ_ONLY: ReadonlySet<string> = new Set(["userName", "groupName", "innerOffset"]);
const COPIED_FIELDS = ["linkName", "modtime", "accesstime", "changetime", "xattrs", "userName", "groupName"] as const;
const PAYLOAD_FIELDS = ["offset", "endOffset", "chunkSize", "chunkOffset", "chunkDigest", "chunkType", "innerOffset"] as const;

/** Recently validated times: TOCs repeat the same few timestamps many times. */
const validTimes = new Set<string>();

/** True for a time Go's `time.Parse(time.RFC3339, s)` accepts. */
export function isRfc3339(s: string): boolean {
  if (validTimes.has(s)) return true;
  try {
    parseRfc3339(s);
  } catch {
    return false;
  }
  if (validTimes.size >= 4096) validTimes.clear();
  validTimes.add(s);
  return true;
}

/** Throws UNSAFE_PATH for NUL bytes or `..` components in a path taken from the TOC. */
export function checkTocPath(path: string, field: string, index: number, allowDotDot = false): void {
  if (path.includes("\0")) {
    throw new LayerkitError("UNSAFE_PATH", `TOC entry ${index}: ${field} contains a NUL byte`, { index, field, value: path });
  }
  if (!allowDotDot && path.includes("..") && (path === ".." || path.startsWith("../") || path.endsWith("/..") || path.includes("/../"))) {
    throw new LayerkitError("UNSAFE_PATH", `TOC entry ${index}: ${field} ${JSON.stringify(path)} has a ".." component`, {
      index,
      field,
      value: path,
    });
  }
}

/** Parses the TOC JSON text into raw entries (no cross-entry checks yet). */
export function parseRawToc(text: string): { toc: RawToc; shape: Omit<TocShape, "payloadFiles" | "withEndOffset"> } {
  const r = new JsonReader(text, { code: "BAD_TOC", what: "TOC" });
  let kind;
  try {
    kind = r.peek();
  } catch (e) {
    throw new LayerkitError("BAD_TOC", "TOC is not JSON", { start: text.slice(0, 32) }, { cause: e });
  }
  if (kind !== "object") throw new LayerkitError("BAD_TOC", `TOC is not a JSON object (found ${kind})`, { start: text.slice(0, 32) });
  const toc: RawToc = { version: 0, entries: null };
  let estargzSignals = false;
  let cstorageSignals = false;
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) {
    switch (key.toLowerCase()) {
      case "version":
        toc.version = r.readInteger("version");
        break;
      case "entries": {
        if (r.readNullIf()) {
          toc.entries = null;
          break;
        }
        if (r.peek() !== "array") throw r.error("entries must be an array or null");
        toc.entries = [];
        r.beginArray();
        const seen = { estargz: false, cstorage: false };
        while (r.nextItem()) {
          const e = readEntry(r, toc.entries.length, seen);
          if (ESTARGZ_LANDMARKS.has(e.name)) seen.estargz = true;
          toc.entries.push(e);
        }
        if (seen.estargz) estargzSignals = true;
        if (seen.cstorage) cstorageSignals = true;
        break;
      }
      case "tarsplitdigest": {
        if (r.readNullIf()) break;
        const at = r.pos;
        const v = r.readString();
        if (v !== "") {
          if (!isDigest(v)) {
            r.pos = at;
            throw r.error(`tarSplitDigest is not a sha256 digest: ${JSON.stringify(v)}`, { field: "tarSplitDigest", value: v });
          }
          toc.tarSplitDigest = v;
          cstorageSignals = true;
        }
        break;
      }
      default:
        r.skip();
    }
  }
  r.end();
  return { toc, shape: { estargzSignals, cstorageSignals } };
}

function readEntry(r: JsonReader, index: number, seen: { estargz: boolean; cstorage: boolean }): RawTocEntry {
  if (r.peek() !== "object") throw r.error(`entry ${index} is not an object`, { index });
  const e: Record<string, unknown> = {};
  r.beginObject();
  for (let key = r.nextKey(); key !== undefined; key = r.nextKey()) {
    const f = FIELDS.get(key) ?? FIELDS.get(key.toLowerCase());
    if (!f) {
      r.skip();
      continue;
    }
    const [field, kind] = f;
    if (CSTORAGE_ONLY.has(field)) seen.cstorage = true;
    else if (ESTARGZ_ONLY.has(field)) seen.estargz = true;
    if (r.readNullIf()) {
      delete e[field];
      continue;
    }
    const at = r.pos;
    const where = `entry ${index} ${field}`;
    switch (kind) {
      case "string":
        e[field] = r.readString();
        break;
      case "int":
        e[field] = r.readInteger(`${where}`, { nonNegative: true });
        break;
      case "time": {
        const v = r.readString();
        if (!isRfc3339(v)) {
          r.pos = at;
          throw r.error(`${where} is not an RFC 3339 time: ${JSON.stringify(v)}`, { index, field, value: v });
        }
        e[field] = v;
        break;
      }
      case "digest": {
        const v = r.readString();
        if (v === "") {
          delete e[field];
          break;
        }
        if (!isDigest(v)) {
          r.pos = at;
          throw r.error(`${where} is not a sha256 digest: ${JSON.stringify(v)}`, { index, field, value: v });
        }
        e[field] = v;
        break;
      }
      case "xattrs": {
        if (r.peek() !== "object") throw r.error(`${where} must be an object`, { index, field });
        const x: Record<string, string> = {};
        r.beginObject();
        for (let k = r.nextKey(); k !== undefined; k = r.nextKey()) {
          const vat = r.pos;
          const v = r.readString();
          if (k === "" || k.includes("\0") || !BASE64_RE.test(v)) {
            r.pos = vat;
            throw r.error(`${where}: invalid xattr ${JSON.stringify(k)} (name must be non-empty without NUL, value standard base64)`, {
              index,
              field,
              key: k,
              value: v,
            });
          }
          Object.defineProperty(x, k, { value: v, enumerable: true, writable: true, configurable: true });
        }
        e["xattrs"] = x;
        break;
      }
      case "extra-string":
        if (r.peek() === "string") e[field] = r.readString();
        else r.skip();
        break;
      case "extra-int":
        if (r.peek() === "number") e[field] = r.readInteger(where, { nonNegative: true });
        else r.skip();
        break;
    }
  }
  const { type, name, chunkType } = e;
  if (typeof type !== "string" || !TYPES.has(type)) {
    throw new LayerkitError("BAD_TOC", `TOC entry ${index} has an unknown type ${JSON.stringify(type)}`, {
      index,
      field: "type",
      value: type,
    });
  }
  if (typeof name !== "string" || name === "") {
    throw new LayerkitError("BAD_TOC", `TOC entry ${index} has no name`, { index, field: "name", value: name });
  }
  if (chunkType !== undefined && chunkType !== "" && chunkType !== "zeros") {
    throw new LayerkitError("BAD_TOC", `TOC entry ${index} has an unknown chunkType ${JSON.stringify(chunkType)}`, {
      index,
      field: "chunkType",
      value: chunkType,
    });
  }
  if (chunkType === "") delete e["chunkType"];
  return e as unknown as RawTocEntry;
}

/**
 * Parses the decompressed TOC JSON and validates it against a blob whose payload area ends at
 * `options.payloadEnd`. Errors: BAD_TOC (not JSON, trailing data, bad types/structure, overlapping
 * or non-increasing offsets, sizes that do not add up, ambiguous hardlinks), OUT_OF_RANGE (unsafe or negative numbers,
 * payload past the TOC), UNSAFE_PATH (names with NUL or `..`).
 */
export function parseToc(json: string | Uint8Array, options: ParseTocOptions): ParsedToc {
  // Go byte-string decoding: each invalid UTF-8 byte in a string then reads as one U+FFFD, as in
  // Go's encoding/json (TextDecoder would merge a cut-short sequence into a single U+FFFD).
  const text = typeof json === "string" ? json : goString(json);
  const { payloadEnd } = options;
  if (!Number.isSafeInteger(payloadEnd) || payloadEnd < 0) {
    throw new LayerkitError("BAD_ARGUMENT", `invalid payloadEnd ${payloadEnd}`, { payloadEnd });
  }
  const { toc, shape } = parseRawToc(text);
  const entries = toc.entries ?? [];

  let payloadFiles = 0;
  let withEndOffset = 0;
  for (const e of entries) {
    if (e.type === "reg" && (e.size ?? 0) > 0) {
      payloadFiles++;
      if (e.endOffset !== undefined) withEndOffset++;
    }
  }
  const format = options.format ?? classifyToc({ ...shape, payloadFiles, withEndOffset }, text);
  // Keys of the other schema are unknown keys to this schema's upstream reader: drop them.
  const foreign = format === "zstd:chunked" ? ESTARGZ_ONLY : CSTORAGE_ONLY;
  for (const e of entries) for (const k of foreign) delete (e as unknown as Record<string, unknown>)[k];
  if (format === "estargz-zstd") delete toc.tarSplitDigest;

  const files: TocFile[] = [];
  const pending: PendingFile[] = [];
  const pendingOwner: TocFile[] = [];
  let current: { file: TocFile; pending: PendingFile | undefined; remaining: number } | undefined;

  const finishCurrent = () => {
    if (!current) return;
    const { file, pending: p, remaining } = current;
    if (remaining !== 0) {
      throw new LayerkitError(
        "BAD_TOC",
        `chunk sizes of ${JSON.stringify(file.name)} add up to ${file.size - remaining}, file size is ${file.size}`,
        {
          index: file.index,
          name: file.name,
          size: file.size,
          chunkTotal: file.size - remaining,
        },
      );
    }
    if (p && p.chunks.length === 1 && p.chunks[0]!.digest === undefined) p.chunks[0]!.digest = file.digest;
    current = undefined;
  };

  const addChunk = (e: RawTocEntry, index: number) => {
    const cur = current!;
    const { file } = cur;
    const p = cur.pending!;
    if (e.offset === undefined || e.offset === 0) {
      throw new LayerkitError("BAD_TOC", `TOC entry ${index}: a chunk of ${JSON.stringify(file.name)} has no offset`, {
        index,
        name: file.name,
      });
    }
    const fileOffset = file.size - cur.remaining;
    if ((e.chunkOffset ?? 0) !== fileOffset) {
      throw new LayerkitError(
        "BAD_TOC",
        `TOC entry ${index}: chunkOffset ${e.chunkOffset ?? 0} of ${JSON.stringify(file.name)}, expected ${fileOffset}`,
        {
          index,
          name: file.name,
          chunkOffset: e.chunkOffset ?? 0,
          expected: fileOffset,
        },
      );
    }
    const size = e.chunkSize !== undefined && e.chunkSize > 0 ? e.chunkSize : cur.remaining;
    if (size === 0 || size > cur.remaining) {
      throw new LayerkitError(
        "BAD_TOC",
        `TOC entry ${index}: chunk of ${size} bytes at ${fileOffset} does not fit in ${JSON.stringify(file.name)} (${file.size} bytes)`,
        {
          index,
          name: file.name,
          chunkSize: e.chunkSize,
          chunkOffset: fileOffset,
          size: file.size,
        },
      );
    }
    cur.remaining -= size;
    const c: PendingChunk = { offset: e.offset, fileOffset, size, zeros: e.chunkType === "zeros", innerOffset: e.innerOffset ?? 0 };
    if (e.chunkDigest !== undefined) c.digest = e.chunkDigest;
    if (e.type === "chunk" && e.endOffset !== undefined) c.endOffset = e.endOffset;
    p.chunks.push(c);
  };

  const links = new LinkRules();
  for (let index = 0; index < entries.length; index++) {
    const e = entries[index]!;
    checkTocPath(e.name, "name", index);
    if (e.linkName !== undefined) checkTocPath(e.linkName, "linkName", index, e.type === "symlink");

    if (e.type === "chunk") {
      if (!current?.pending) {
        throw new LayerkitError("BAD_TOC", `TOC entry ${index}: chunk without a regular file with payload before it`, {
          index,
          name: e.name,
        });
      }
      if (e.name !== current.file.name) {
        throw new LayerkitError(
          "BAD_TOC",
          `TOC entry ${index}: chunk named ${JSON.stringify(e.name)} follows ${JSON.stringify(current.file.name)}`,
          {
            index,
            name: e.name,
            expected: current.file.name,
          },
        );
      }
      addChunk(e, index);
      continue;
    }
    finishCurrent();
    links.add(e.type, e.name, e.linkName, index);

    const file: TocFile = {
      type: e.type,
      name: e.name,
      mode: e.mode ?? 0,
      size: e.size ?? 0,
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      devMajor: e.devMajor ?? 0,
      devMinor: e.devMinor ?? 0,
      chunks: [],
      index,
    };
    for (const k of COPIED_FIELDS) {
      if (e[k] !== undefined) (file as unknown as Record<string, unknown>)[k] = e[k];
    }
    const payloadFields = e.type !== "reg" || e.size === undefined || e.size === 0
      ? PAYLOAD_FIELDS.filter((k) => e[k] !== undefined && e[k] !== 0)
      : [];
    if (e.type !== "reg") {
      if (payloadFields.length > 0) {
        throw new LayerkitError(
          "BAD_TOC",
          `TOC entry ${index} (${e.type} ${JSON.stringify(e.name)}) has payload fields ${payloadFields.join(", ")}`,
          {
            index,
            name: e.name,
            fields: payloadFields,
          },
        );
      }
      files.push(file);
      continue;
    }

    if (file.size === 0) {
      if (payloadFields.length > 0) {
        throw new LayerkitError(
          "BAD_TOC",
          `TOC entry ${index}: empty file ${JSON.stringify(e.name)} has payload fields ${payloadFields.join(", ")}`,
          {
            index,
            name: e.name,
            fields: payloadFields,
          },
        );
      }
      file.digest = e.digest ?? EMPTY_DIGEST;
      files.push(file);
      current = { file, pending: undefined, remaining: 0 };
      continue;
    }
    if (e.digest === undefined) {
      throw new LayerkitError("BAD_TOC", `TOC entry ${index}: regular file ${JSON.stringify(e.name)} of ${file.size} bytes has no digest`, {
        index,
        name: e.name,
        size: file.size,
      });
    }
    file.digest = e.digest;
    const p: PendingFile = { index, name: e.name, chunks: [] };
    if (e.endOffset !== undefined) p.endOffset = e.endOffset;
    files.push(file);
    pending.push(p);
    pendingOwner.push(file);
    current = { file, pending: p, remaining: file.size };
    addChunk(e, index);
  }
  finishCurrent();

  const ranges = assignChunkRanges(pending, format, payloadEnd);
  for (let i = 0; i < pending.length; i++) {
    const f = pendingOwner[i]!;
    const rs = ranges[i]!;
    f.chunks = rs;
    f.offset = rs[0]!.offset;
    f.endOffset = rs[rs.length - 1]!.end;
  }
  return { format, toc, files };
}
