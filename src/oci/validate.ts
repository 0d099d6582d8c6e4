/**
 * Strict parsing of untrusted manifests, indexes and image configs: bounded size and JSON depth
 * (`LIMIT_EXCEEDED`), the right `mediaType` (`BAD_MANIFEST`), every required field present with
 * the right type, and every digest in layerkit's accepted form. Errors carry the JSON path of the
 * offending field in `details.path`.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { parseJsonLimited } from "../util/json-limits.js";
import { isDigest } from "../layer/digest.js";
import {
  baseMediaType,
  DOCKER_CONFIG,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST_V1,
  DOCKER_MANIFEST_V1_SIGNED,
  isIndexType,
  isManifestType,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
} from "./media-types.js";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "./types.js";

/** Largest manifest, index or config accepted (the limit containers/image uses too). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Largest image config accepted. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Deepest JSON nesting accepted in manifests and configs (real ones need < 10). */
export const MAX_JSON_DEPTH = 32;

export interface ParseOptions {
  /**
   * The media type the document is expected to have: a `Content-Type` header or the `mediaType`
   * of the descriptor that pointed at it. A known manifest/index type that differs from the
   * document's own `mediaType` is an error; other values (`application/json`, …) are ignored.
   */
  mediaType?: string | null;
  /** Size limit in bytes (default {@link MAX_MANIFEST_BYTES}). */
  maxBytes?: number;
  /** Depth limit (default {@link MAX_JSON_DEPTH}). */
  maxDepth?: number;
}

/** A parsed manifest document with its effective media type. */
export type ParsedManifest =
  | { kind: "manifest"; mediaType: string; manifest: ImageManifest }
  | { kind: "index"; mediaType: string; manifest: ImageIndex };

const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

function bad(message: string, path: string, extra: Record<string, unknown> = {}): LayerkitError {
  return new LayerkitError("BAD_MANIFEST", `${message} (at ${path})`, { path, ...extra });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseDoc(bytes: Uint8Array | string, what: string, options: ParseOptions, maxDefault: number): Record<string, unknown> {
  const doc = parseJsonLimited(bytes, {
    maxBytes: options.maxBytes ?? maxDefault,
    maxDepth: options.maxDepth ?? MAX_JSON_DEPTH,
    code: "BAD_MANIFEST",
    what,
  });
  if (!isObject(doc)) throw bad(`${what} is not a JSON object`, "$");
  return doc;
}

function str(o: Record<string, unknown>, key: string, path: string, required: boolean): string | undefined {
  const v = o[key];
  if (v === undefined) {
    if (required) throw bad(`missing required field ${key}`, `${path}.${key}`);
    return undefined;
  }
  if (typeof v !== "string") throw bad(`${key} must be a string`, `${path}.${key}`);
  return v;
}

function stringArray(v: unknown, path: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw bad("expected an array of strings", path);
  return v as string[];
}

function annotationsOf(v: unknown, path: string): Record<string, string> {
  if (!isObject(v)) throw bad("annotations must be an object", path);
  for (const [k, x] of Object.entries(v)) if (typeof x !== "string") throw bad(`annotation ${JSON.stringify(k)} must be a string`, path);
  return v as Record<string, string>;
}

function checkMediaTypeSyntax(t: string, path: string): void {
  if (!MEDIA_TYPE_RE.test(t)) throw bad(`invalid media type ${JSON.stringify(t.slice(0, 200))}`, path);
}

/** Validates a platform object. */
export function validatePlatform(v: unknown, path = "platform"): Platform {
  if (!isObject(v)) throw bad("platform must be an object", path);
  str(v, "architecture", path, true);
  str(v, "os", path, true);
  str(v, "variant", path, false);
  str(v, "os.version", path, false);
  if (v["os.features"] !== undefined) stringArray(v["os.features"], `${path}.os.features`);
  if (v.features !== undefined) stringArray(v.features, `${path}.features`);
  return v as unknown as Platform;
}

/** Validates a descriptor: media type, `sha256:` digest, non-negative safe-integer size, optional fields. */
export function validateDescriptor(v: unknown, path = "descriptor"): Descriptor {
  if (!isObject(v)) throw bad("descriptor must be an object", path);
  const mt = str(v, "mediaType", path, true)!;
  checkMediaTypeSyntax(mt, `${path}.mediaType`);
  const digest: string = str(v, "digest", path, true)!;
  if (!isDigest(digest)) {
    const shown = (digest as string).slice(0, 100);
    throw bad(`invalid digest ${JSON.stringify(shown)}: expected sha256: followed by 64 lower-case hex digits`, `${path}.digest`, {
      digest: shown,
    });
  }
  const size = v.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw bad("size must be a non-negative integer", `${path}.size`, { size });
  }
  if (v.urls !== undefined) stringArray(v.urls, `${path}.urls`);
  if (v.annotations !== undefined) annotationsOf(v.annotations, `${path}.annotations`);
  if (v.platform !== undefined) validatePlatform(v.platform, `${path}.platform`);
  if (v.artifactType !== undefined) checkMediaTypeSyntax(str(v, "artifactType", path, false)!, `${path}.artifactType`);
  str(v, "data", path, false);
  return v as unknown as Descriptor;
}

/** Decides the effective media type of a manifest document and checks it against `expected`. */
function effectiveType(doc: Record<string, unknown>, expected: string | null | undefined): string {
  const bodyType = str(doc, "mediaType", "$", false);
  const hinted = baseMediaType(expected);
  if (
    doc.schemaVersion === 1 || bodyType === DOCKER_MANIFEST_V1 || bodyType === DOCKER_MANIFEST_V1_SIGNED || hinted === DOCKER_MANIFEST_V1 ||
    hinted === DOCKER_MANIFEST_V1_SIGNED
  ) {
    throw new LayerkitError("UNSUPPORTED_FORMAT", "Docker schema 1 manifests are not supported", { mediaType: bodyType ?? hinted });
  }
  if (doc.schemaVersion !== 2) throw bad(`schemaVersion must be 2, found ${JSON.stringify(doc.schemaVersion)}`, "$.schemaVersion");
  const hintKnown = hinted !== undefined && (isManifestType(hinted) || isIndexType(hinted));
  if (bodyType !== undefined) {
    if (!isManifestType(bodyType) && !isIndexType(bodyType)) {
      throw bad(`mediaType ${JSON.stringify(bodyType.slice(0, 200))} is not a manifest or index media type`, "$.mediaType", {
        mediaType: bodyType.slice(0, 200),
      });
    }
    if (hintKnown && hinted !== bodyType) {
      throw bad(`document has mediaType ${bodyType} but was served/referenced as ${hinted}`, "$.mediaType", {
        mediaType: bodyType,
        expected: hinted,
      });
    }
    return bodyType;
  }
  // OCI documents may omit mediaType; Docker ones must not.
  if (hintKnown) {
    if (hinted === DOCKER_MANIFEST || hinted === DOCKER_MANIFEST_LIST) {
      throw bad(`a ${hinted} document must have a mediaType field`, "$.mediaType");
    }
    return hinted!;
  }
  if (doc.manifests !== undefined) return OCI_INDEX;
  if (doc.config !== undefined || doc.layers !== undefined) return OCI_MANIFEST;
  throw bad("cannot tell whether the document is a manifest or an index (no mediaType)", "$.mediaType");
}

function checkManifest(doc: Record<string, unknown>, mediaType: string): ImageManifest {
  if (doc.manifests !== undefined) throw bad("an image manifest must not have a manifests field", "$.manifests");
  doc.config = validateDescriptor(doc.config, "$.config");
  if (!Array.isArray(doc.layers)) throw bad("layers must be an array", "$.layers");
  doc.layers.forEach((l, i) => validateDescriptor(l, `$.layers[${i}]`));
  if (doc.subject !== undefined) validateDescriptor(doc.subject, "$.subject");
  if (doc.annotations !== undefined) annotationsOf(doc.annotations, "$.annotations");
  if (doc.artifactType !== undefined) checkMediaTypeSyntax(str(doc, "artifactType", "$", false)!, "$.artifactType");
  if (mediaType === DOCKER_MANIFEST) {
    const ct = (doc.config as Descriptor).mediaType;
    if (ct !== DOCKER_CONFIG) throw bad(`a Docker schema 2 manifest's config must be ${DOCKER_CONFIG}, found ${ct}`, "$.config.mediaType");
  }
  return doc as unknown as ImageManifest;
}

function checkIndex(doc: Record<string, unknown>): ImageIndex {
  if (doc.config !== undefined || doc.layers !== undefined) throw bad("an image index must not have config or layers fields", "$");
  if (!Array.isArray(doc.manifests)) throw bad("manifests must be an array", "$.manifests");
  doc.manifests.forEach((m, i) => validateDescriptor(m, `$.manifests[${i}]`));
  if (doc.subject !== undefined) validateDescriptor(doc.subject, "$.subject");
  if (doc.annotations !== undefined) annotationsOf(doc.annotations, "$.annotations");
  return doc as unknown as ImageIndex;
}

/** Parses and validates a manifest or index; which one is decided by its `mediaType` (or `options.mediaType`). */
export function parseManifestDocument(bytes: Uint8Array | string, options: ParseOptions = {}): ParsedManifest {
  const doc = parseDoc(bytes, "manifest", options, MAX_MANIFEST_BYTES);
  const mediaType = effectiveType(doc, options.mediaType);
  if (isIndexType(mediaType)) return { kind: "index", mediaType, manifest: checkIndex(doc) };
  return { kind: "manifest", mediaType, manifest: checkManifest(doc, mediaType) };
}

/** Parses and validates an image manifest (OCI or Docker schema 2); an index is `BAD_MANIFEST`. */
export function parseManifest(bytes: Uint8Array | string, options: ParseOptions = {}): ImageManifest {
  const p = parseManifestDocument(bytes, options);
  if (p.kind !== "manifest") throw bad(`expected an image manifest, found ${p.mediaType}`, "$.mediaType", { mediaType: p.mediaType });
  return p.manifest;
}

/** Parses and validates an index (OCI index or Docker manifest list); a manifest is `BAD_MANIFEST`. */
export function parseIndex(bytes: Uint8Array | string, options: ParseOptions = {}): ImageIndex {
  const p = parseManifestDocument(bytes, options);
  if (p.kind !== "index") throw bad(`expected an image index, found ${p.mediaType}`, "$.mediaType", { mediaType: p.mediaType });
  return p.manifest;
}

/** Parses and validates an image config (OCI or Docker): `architecture`, `os`, `rootfs.diff_ids`. */
export function parseConfig(bytes: Uint8Array | string, options: Omit<ParseOptions, "mediaType"> = {}): ImageConfig {
  const doc = parseDoc(bytes, "image config", { ...options, maxBytes: options.maxBytes ?? MAX_CONFIG_BYTES }, MAX_CONFIG_BYTES);
  str(doc, "architecture", "$", true);
  str(doc, "os", "$", true);
  str(doc, "created", "$", false);
  if (doc.config !== undefined && doc.config !== null && !isObject(doc.config)) throw bad("config must be an object", "$.config");
  const rootfs = doc.rootfs;
  if (!isObject(rootfs)) throw bad("missing required field rootfs", "$.rootfs");
  if (rootfs.type !== "layers") throw bad(`rootfs.type must be "layers"`, "$.rootfs.type");
  if (!Array.isArray(rootfs.diff_ids)) throw bad("rootfs.diff_ids must be an array", "$.rootfs.diff_ids");
  rootfs.diff_ids.forEach((d, i) => {
    if (!isDigest(d)) throw bad(`invalid diff ID ${JSON.stringify(String(d).slice(0, 100))}`, `$.rootfs.diff_ids[${i}]`);
  });
  if (doc.history !== undefined && doc.history !== null) {
    if (!Array.isArray(doc.history) || !doc.history.every(isObject)) throw bad("history must be an array of objects", "$.history");
  }
  return doc as unknown as ImageConfig;
}

/** Media types of image configs layerkit reads. */
export const CONFIG_TYPES: readonly string[] = [OCI_CONFIG, DOCKER_CONFIG];
