/**
 * The eStargz TOC (`stargz.index.json`) types and its JSON encoding exactly as Go's
 * `json.MarshalIndent(toc, "", "\t")` writes `estargz.JTOC` (docs/formats/estargz.md §3), so that the TOC
 * digest of a TOC we write is what Go would compute for the same entries.
 *
 * String escaping follows Go's encoding/json (≥ 1.22): `"` `\` `\n` `\r` `\t` `\b` `\f` as short
 * escapes, other control characters and `<` `>` `&` U+2028 U+2029 as `\u00XX`/`\u20XX`, lone
 * surrogates (invalid UTF-8 in Go) as `\ufffd`, everything else raw UTF-8. Go ≤ 1.21 wrote `\b`
 * and `\f` as `\u0008`/`\u000c`; only names containing those bytes are affected.
 *
 * @module
 */
import { compareGoStrings } from "../../go/strings.js";
import type { TocEntryType } from "../../layer/toc.js";
import { goJsonString } from "../../go/json-string.js";

export type EstargzEntryType = TocEntryType;

/** One TOC entry; optional fields are omitted from the JSON when zero/empty (Go `omitempty`). */
export interface EstargzTocEntry {
  name: string;
  type: EstargzEntryType;
  size?: number;
  /** RFC 3339, UTC, whole seconds. */
  modtime?: string;
  linkName?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  userName?: string;
  groupName?: string;
  offset?: number;
  /** Upstream ≥ 0.13 (`WithMinChunkSize`): where the chunk starts inside its decompressed member. */
  innerOffset?: number;
  devMajor?: number;
  devMinor?: number;
  /** xattr name → standard base64 of the value. */
  xattrs?: Record<string, string>;
  digest?: string;
  chunkOffset?: number;
  chunkSize?: number;
  chunkDigest?: string;
}

export interface EstargzToc {
  version: number;
  entries: EstargzTocEntry[] | null;
}

/** JSON field order of Go's `TOCEntry` (upstream HEAD; `innerOffset` is new in 0.13). */
const FIELDS: readonly (keyof EstargzTocEntry)[] = [
  "name",
  "type",
  "size",
  "modtime",
  "linkName",
  "mode",
  "uid",
  "gid",
  "userName",
  "groupName",
  "offset",
  "innerOffset",
  "devMajor",
  "devMinor",
  "xattrs",
  "digest",
  "chunkOffset",
  "chunkSize",
  "chunkDigest",
];
/** Fields Go writes even when empty (no `omitempty`). */
const ALWAYS: ReadonlySet<string> = new Set(["name", "type"]);

/** A JSON string literal as stargz-snapshotter's encoding/json (Go ≥ 1.22) writes it. */
export function jsonString(s: string): string {
  return goJsonString(s, { shortBackspaceFormfeed: true, escapeAllLoneSurrogates: true });
}
const str = jsonString;

function entryJson(e: EstargzTocEntry, ind: string): string {
  const inner = ind + "\t";
  const parts: string[] = [];
  const rec = e as unknown as Record<string, unknown>;
  for (const k of FIELDS) {
    const v = rec[k];
    if (k === "xattrs") {
      const x = v as Record<string, string> | undefined;
      if (!x) continue;
      const keys = Object.keys(x).sort(compareGoStrings); // Go sorts map keys by their bytes
      if (keys.length === 0) continue;
      const xs = keys.map((key) => `${inner}\t${str(key)}: ${str(x[key]!)}`);
      parts.push(`${inner}"xattrs": {\n${xs.join(",\n")}\n${inner}}`);
      continue;
    }
    if (v === undefined || v === null) {
      if (ALWAYS.has(k)) parts.push(`${inner}"${k}": ""`);
      continue;
    }
    if (typeof v === "number") {
      if (v === 0) continue;
      parts.push(`${inner}"${k}": ${v}`);
    } else {
      const s = String(v);
      if (s === "" && !ALWAYS.has(k)) continue;
      parts.push(`${inner}"${k}": ${str(s)}`);
    }
  }
  return `${ind}{\n${parts.join(",\n")}\n${ind}}`;
}

/** The TOC JSON text, byte for byte what Go's MarshalIndent(toc, "", "\t") gives. */
export function marshalTocText(toc: EstargzToc): string {
  let entries: string;
  if (toc.entries === null) entries = "null";
  else if (toc.entries.length === 0) entries = "[]";
  else entries = "[\n" + toc.entries.map((e) => entryJson(e, "\t\t")).join(",\n") + "\n\t]";
  return `{\n\t"version": ${toc.version},\n\t"entries": ${entries}\n}`;
}

/** {@link marshalTocText} as UTF-8 bytes. */
export function marshalToc(toc: EstargzToc): Uint8Array {
  return new TextEncoder().encode(marshalTocText(toc));
}

/**
 * Go's `formatModtime`: "" for the zero time and the Unix epoch, else the time in UTC rounded
 * to the second (halves up) in RFC 3339. `seconds`/`nanos` are Unix time parts.
 */
export function formatModtime(seconds: number, nanos = 0): string {
  if (seconds === 0) return ""; // t.Unix() == 0 (before rounding)
  let s = seconds;
  if (nanos >= 500_000_000) s += 1;
  // Go's zero time (year 1) is "zero" and formats as empty.
  if (s === -62135596800 && nanos === 0) return "";
  return rfc3339(s);
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}

/** RFC 3339 of Unix seconds in UTC, as Go formats years 0–9999. */
export function rfc3339(seconds: number): string {
  const d = new Date(seconds * 1000);
  const y = d.getUTCFullYear();
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : String(y);
  return `${year}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${
    pad(d.getUTCSeconds(), 2)
  }Z`;
}
