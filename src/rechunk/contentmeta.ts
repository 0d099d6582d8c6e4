/**
 * contentmeta v1: the JSON file that says which layer each file of a root file system goes to,
 * as ostree-rs-ext's `container encapsulate --contentmeta` reads it (bootc's
 * `crates/ostree-ext`, `RawMeta`):
 *
 * ```json
 * { "version": 1, "created": "2024-05-01T00:00:00Z", "labels": { "k": "v" },
 *   "layers": { "id": "human name" }, "mapping": { "key": "id" }, "ordered": false }
 * ```
 *
 * - `version` (required) must be 1. `created` (RFC 3339), `labels` and `ordered` (default false)
 *   are optional, as upstream. Other top-level members are ignored, as upstream (serde's default).
 * - `layers` (required): layer id → human name, in layer order (bottom first); at most
 *   {@link MAX_CONTENTMETA_LAYERS}. Every layer must be named by at least one mapping entry.
 * - `mapping` (required): key → layer id. A key is either a file content digest
 *   (`sha256:` + 64 lowercase hex digits: SHA-256 of a regular file's bytes; it maps every file
 *   with those bytes) or an absolute clean path (`/usr/bin/foo`: no `.`, `..` or empty
 *   components, no trailing `/`, no NUL). When both a path key and a digest key match a file,
 *   **the path key wins** (it names one file, the digest names all copies). ostree-rs-ext's own
 *   keys are ostree object checksums (64 hex digits, no prefix), which hash file metadata too;
 *   they are refused with a message saying so.
 * - With `ordered: true` each layer's entries follow the mapping's order (files that change
 *   together sit together, so a zstd:chunked partial pull needs fewer ranges); otherwise path
 *   order.
 *
 * The reader refuses, with a `BAD_CONTENTMETA` error naming the entry: bad JSON, wrong types,
 * duplicate keys anywhere (JSON.parse would keep the last silently), invalid UTF-8 or lone
 * surrogates, an unknown version, a mapping to an undeclared layer, a declared layer no mapping
 * entry names, and more than `maxEntries` entries. The writer ({@link formatContentMeta}) is
 * deterministic and its output reads back to the same value.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { compareGoStrings } from "../go/strings.js";
import { parseRfc3339 } from "../go/time.js";
import { type JsonMember, type JsonValue, scanJson } from "./json-scan.js";

/** Docker's overlay limit on image layers; a contentmeta may declare no more. */
export const MAX_CONTENTMETA_LAYERS = 127;
/** Default bound on mapping + labels + layers entries (about 10× a Fedora CoreOS file count). */
export const DEFAULT_MAX_CONTENTMETA_ENTRIES = 500_000;
/** Default bound on the file's size. */
export const DEFAULT_MAX_CONTENTMETA_BYTES = 128 * 1024 * 1024;

export interface ContentMetaLayer {
  /** Machine-readable id, unique. */
  id: string;
  /** Human-readable name (goes into a layer annotation). */
  name: string;
}

export interface ContentMetaEntry {
  /** `sha256:<hex>` content digest or absolute path. */
  key: string;
  /** Id of a declared layer. */
  layer: string;
}

/** A contentmeta v1 document, with every order the file gives kept. */
export interface ContentMeta {
  version: 1;
  /** RFC 3339 creation time for the image config. */
  created?: string;
  /** Image config labels and manifest annotations, in file order. */
  labels: Array<[string, string]>;
  /** Layers, bottom first. */
  layers: ContentMetaLayer[];
  /** Key → layer, in file order (the order `ordered` honours). */
  mapping: ContentMetaEntry[];
  ordered: boolean;
}

export interface ParseContentMetaOptions {
  /** Most entries (labels + layers + mapping members; default {@link DEFAULT_MAX_CONTENTMETA_ENTRIES}). */
  maxEntries?: number;
  /** Largest file accepted (default {@link DEFAULT_MAX_CONTENTMETA_BYTES}). */
  maxBytes?: number;
}

/** How a mapping key matches files. */
export type ContentMetaKey = { kind: "digest"; digest: string } | { kind: "path"; path: string };

const DIGEST_KEY = /^sha256:[0-9a-f]{64}$/;
const OSTREE_CHECKSUM = /^[0-9a-f]{64}$/;

const LONE_SURROGATE = /\p{Cs}/u;

function bad(message: string, details: Record<string, unknown> = {}): never {
  throw new LayerkitError("BAD_CONTENTMETA", `contentmeta: ${message}`, details);
}

/**
 * Classifies a mapping key: a content digest, or an absolute path returned without its leading
 * `/` (the form archive entries use). Refuses anything else.
 */
export function classifyContentMetaKey(key: string): ContentMetaKey {
  const entry = { entry: key };
  if (LONE_SURROGATE.test(key)) bad(`mapping key ${JSON.stringify(key)} is not valid Unicode text (a lone surrogate)`, entry);
  if (key.startsWith("sha256:")) {
    if (!DIGEST_KEY.test(key)) {
      bad(`mapping key ${JSON.stringify(key)} is not a sha256 digest (sha256: and 64 lowercase hex digits)`, entry);
    }
    return { kind: "digest", digest: key };
  }
  if (OSTREE_CHECKSUM.test(key)) {
    bad(
      `mapping key ${
        JSON.stringify(key)
      } looks like an ostree object checksum, which hashes file metadata too; use the file's content digest (sha256:<hex>) or its path`,
      entry,
    );
  }
  if (key.includes("\0")) bad(`mapping key ${JSON.stringify(key)} contains a NUL byte`, entry);
  if (!key.startsWith("/")) bad(`mapping key ${JSON.stringify(key)} is neither a sha256:<hex> digest nor an absolute path`, entry);
  const rel = key.slice(1);
  if (rel === "") bad(`mapping key "/" names the root, which is not a file`, entry);
  for (const part of rel.split("/")) {
    if (part === "..") bad(`mapping key ${JSON.stringify(key)} contains a ".." component`, entry);
    if (part === "" || part === ".") {
      bad(`mapping key ${JSON.stringify(key)} is not a clean path (empty or "." component, or a trailing "/")`, entry);
    }
  }
  return { kind: "path", path: rel };
}

/**
 * Checks a {@link ContentMeta} value (the reader's result, or one built in code before
 * {@link formatContentMeta} writes it): the rules in the module notes, less the JSON ones.
 */
export function checkContentMeta(meta: ContentMeta, options: ParseContentMetaOptions = {}): ContentMeta {
  if (meta.version !== 1) bad(`unsupported version ${JSON.stringify(meta.version)} (supported: 1)`, { entry: "version" });
  if (meta.created !== undefined) {
    if (typeof meta.created !== "string") bad(`"created" must be a string`, { entry: "created" });
    try {
      parseRfc3339(meta.created, "BAD_CONTENTMETA");
    } catch {
      bad(`"created" ${JSON.stringify(meta.created)} is not an RFC 3339 time`, { entry: "created" });
    }
  }
  if (typeof meta.ordered !== "boolean") bad(`"ordered" must be true or false`, { entry: "ordered" });
  const max = options.maxEntries ?? DEFAULT_MAX_CONTENTMETA_ENTRIES;
  const total = meta.labels.length + meta.layers.length + meta.mapping.length;
  if (total > max) bad(`${total} entries, more than the limit of ${max}`, { entries: total, limit: max });

  const labels = new Set<string>();
  for (const [k, v] of meta.labels) {
    if (typeof k !== "string" || typeof v !== "string") {
      bad(`label ${JSON.stringify(k)} must map a string to a string`, { entry: `labels.${String(k)}` });
    }
    if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) {
      bad(`label ${JSON.stringify(k)} is not valid Unicode text (a lone surrogate)`, { entry: `labels.${k}` });
    }
    if (labels.has(k)) bad(`duplicate label ${JSON.stringify(k)}`, { entry: `labels.${k}` });
    labels.add(k);
  }
  if (meta.layers.length === 0) bad(`"layers" declares no layer`, { entry: "layers" });
  if (meta.layers.length > MAX_CONTENTMETA_LAYERS) {
    bad(`"layers" declares ${meta.layers.length} layers, more than ${MAX_CONTENTMETA_LAYERS}`, { entry: "layers" });
  }
  const used = new Map<string, number>();
  for (const l of meta.layers) {
    if (typeof l.id !== "string" || typeof l.name !== "string") {
      bad(`layer ${JSON.stringify(l.id)} must map a string id to a string name`, { entry: `layers.${String(l.id)}` });
    }
    if (LONE_SURROGATE.test(l.id) || LONE_SURROGATE.test(l.name)) {
      bad(`layer ${JSON.stringify(l.id)} is not valid Unicode text (a lone surrogate)`, { entry: `layers.${l.id}` });
    }
    if (l.id === "") bad(`a layer id is empty`, { entry: "layers" });
    if (used.has(l.id)) bad(`duplicate layer id ${JSON.stringify(l.id)}`, { entry: `layers.${l.id}` });
    used.set(l.id, 0);
  }
  const keys = new Set<string>();
  for (const m of meta.mapping) {
    if (typeof m.key !== "string" || typeof m.layer !== "string") {
      bad(`mapping entry ${JSON.stringify(m.key)} must map a string key to a string layer id`, { entry: m.key });
    }
    if (keys.has(m.key)) bad(`duplicate mapping key ${JSON.stringify(m.key)}`, { entry: m.key });
    keys.add(m.key);
    classifyContentMetaKey(m.key);
    const n = used.get(m.layer);
    if (n === undefined) {
      bad(`mapping key ${JSON.stringify(m.key)} names layer ${JSON.stringify(m.layer)}, which "layers" does not declare`, {
        entry: m.key,
        layer: m.layer,
      });
    }
    used.set(m.layer, n + 1);
  }
  for (const [id, n] of used) {
    if (n === 0) bad(`layer ${JSON.stringify(id)} is left empty: no mapping entry names it`, { entry: `layers.${id}`, layer: id });
  }
  return meta;
}

function stringMembers(v: JsonValue, field: string): Array<[string, string]> {
  if (v.kind !== "object") bad(`"${field}" must be an object, not ${v.kind === "null" ? "null" : `a ${v.kind}`}`, { entry: field });
  return v.members.map((m: JsonMember): [string, string] => {
    if (m.value.kind !== "string") {
      bad(`${field} entry ${JSON.stringify(m.key)} must be a string, not ${m.value.kind === "null" ? "null" : `a ${m.value.kind}`}`, {
        entry: `${field}.${m.key}`,
      });
    }
    return [m.key, m.value.value];
  });
}

/** Reads a contentmeta file (its bytes: invalid UTF-8 must be seen, not replaced). */
export function parseContentMeta(bytes: Uint8Array, options: ParseContentMetaOptions = {}): ContentMeta {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_CONTENTMETA_BYTES;
  if (bytes.length > maxBytes) {
    bad(`file is ${bytes.length} bytes, more than the limit of ${maxBytes}`, { size: bytes.length, limit: maxBytes });
  }
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_CONTENTMETA_ENTRIES;
  // +16: the top-level members; the exact entry limit is checked below on the typed value.
  const root = scanJson(bytes, { code: "BAD_CONTENTMETA", what: "contentmeta", maxItems: maxEntries + 16, maxDepth: 8 });
  if (root.kind !== "object") bad("the document must be a JSON object", { entry: "" });
  const field = (name: string): JsonValue | undefined => root.members.find((m) => m.key === name)?.value;

  const version = field("version");
  if (version === undefined) bad(`"version" is missing`, { entry: "version" });
  if (version.kind !== "number" || !Number.isInteger(version.value)) bad(`"version" must be an integer`, { entry: "version" });
  if (version.value !== 1) bad(`unsupported version ${version.value} (supported: 1)`, { entry: "version" });

  const created = field("created");
  if (created !== undefined && created.kind !== "null" && created.kind !== "string") {
    bad(`"created" must be a string`, { entry: "created" });
  }
  const labels = field("labels");
  const ordered = field("ordered");
  if (ordered !== undefined && ordered.kind !== "null" && ordered.kind !== "bool") {
    bad(`"ordered" must be true or false`, { entry: "ordered" });
  }
  const layers = field("layers");
  if (layers === undefined) bad(`"layers" is missing`, { entry: "layers" });
  const mapping = field("mapping");
  if (mapping === undefined) bad(`"mapping" is missing`, { entry: "mapping" });

  const meta: ContentMeta = {
    version: 1,
    labels: labels === undefined || labels.kind === "null" ? [] : stringMembers(labels, "labels"),
    layers: stringMembers(layers, "layers").map(([id, name]) => ({ id, name })),
    mapping: stringMembers(mapping, "mapping").map(([key, layer]) => ({ key, layer })),
    ordered: ordered?.kind === "bool" ? ordered.value : false,
  };
  if (created?.kind === "string") meta.created = created.value;
  return checkContentMeta(meta, options);
}

/**
 * Writes `meta` as contentmeta v1 JSON: fixed member order, labels sorted by key (they are
 * unordered), layers and mapping in the given order, one entry per line, a final newline.
 */
export function formatContentMeta(meta: ContentMeta, options: ParseContentMetaOptions = {}): string {
  checkContentMeta(meta, options);
  const q = (s: string): string => JSON.stringify(s);
  const block = (pairs: Array<[string, string]>): string =>
    pairs.length === 0 ? "{}" : `{\n${pairs.map(([k, v]) => `    ${q(k)}: ${q(v)}`).join(",\n")}\n  }`;
  const lines = [`  "version": 1`];
  if (meta.created !== undefined) lines.push(`  "created": ${q(meta.created)}`);
  lines.push(`  "labels": ${block([...meta.labels].sort((a, b) => compareGoStrings(a[0], b[0])))}`);
  lines.push(`  "layers": ${block(meta.layers.map((l) => [l.id, l.name]))}`);
  lines.push(`  "mapping": ${block(meta.mapping.map((m) => [m.key, m.layer]))}`);
  lines.push(`  "ordered": ${meta.ordered}`);
  return `{\n${lines.join(",\n")}\n}\n`;
}
