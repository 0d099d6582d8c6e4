/**
 * Building image configs, manifests and indexes from layers written by layerkit.
 *
 * Layer descriptors keep every annotation the layer writer put on them (zstd:chunked's TOC
 * position and checksum, eStargz's TOC digest); extra annotations are merged in, never replacing
 * an existing key with a different value (`annotationKeys` can rewrite the zstd:chunked key set,
 * current / legacy / both, of descriptors made elsewhere). zstd layers need an OCI manifest: a Docker schema 2
 * manifest is refused for them, as containers/image does.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { canonicalJsonBytes } from "./canonical-json.js";
import { checkDigest, sha256Digest, type Sha256Factory, sha256Factory } from "../layer/digest.js";
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_LAYER_TAR,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  layerCompression,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_LAYER_TAR,
  OCI_LAYER_ZSTD,
  OCI_MANIFEST,
} from "./media-types.js";
import type { Descriptor, History, ImageConfig, ImageIndex, ImageManifest, Platform } from "./types.js";
import { validateDescriptor, validatePlatform } from "./validate.js";
import { parseAnnotationKeys, withZstdChunkedAnnotationKeys, type ZstdChunkedAnnotationKeys } from "../formats/zstd-chunked/annotations.js";

/** One layer of an image being built. */
export interface BuildLayer {
  /** The layer blob's descriptor (media type, digest, size, the writer's annotations). */
  descriptor: Descriptor;
  /** `sha256:` of the uncompressed tar. */
  diffID: string;
  /** Extra annotations for this layer, merged into the descriptor's. */
  annotations?: Record<string, string>;
  /** History entry for this layer (default `{ created_by: "layerkit" }`). */
  history?: History;
}

export interface BuildImageOptions {
  layers: BuildLayer[];
  /**
   * Base image config: everything but `rootfs` is kept (`config`, `author`, `created`, labels,
   * …). A `history` given here must have exactly one non-empty entry per layer.
   */
  config?: Partial<ImageConfig>;
  /** Target platform (default: the base config's, else linux/amd64). */
  platform?: Platform;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
  /** Annotations merged into every layer descriptor. */
  layerAnnotations?: Record<string, string>;
  /**
   * Rewrites the zstd:chunked annotation keys of every layer descriptor to this set (`current`,
   * `legacy` or `both`), after checking that the sets it has agree. Default: kept as given (the
   * layer writers already write `both` by default).
   */
  annotationKeys?: ZstdChunkedAnnotationKeys;
  /** `created` timestamp (RFC 3339) for the config and generated history; omitted by default for reproducible digests. */
  created?: string;
  /** `"oci"` (default) or `"docker"` (schema 2; refused for zstd layers). */
  format?: "oci" | "docker";
  /** SHA-256 factory (default: the runtime core's). */
  sha256?: Sha256Factory;
}

/** A JSON document with its serialised bytes and descriptor. */
export interface BuiltDocument<T> {
  value: T;
  bytes: Uint8Array;
  descriptor: Descriptor;
}

export interface BuiltImage {
  config: BuiltDocument<ImageConfig>;
  manifest: BuiltDocument<ImageManifest>;
}

/**
 * Merges `extra` into `base` (new object). A key present in both with different values is a
 * `BAD_ANNOTATION` error: annotations written by a layer writer are never replaced.
 */
export function mergeAnnotations(
  base: Record<string, string> | undefined,
  extra: Record<string, string> | undefined,
  what = "annotations",
): Record<string, string> | undefined {
  if (!extra || Object.keys(extra).length === 0) return base ? { ...base } : undefined;
  const out: Record<string, string> = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(extra)) {
    if (typeof v !== "string") {
      throw new LayerkitError("BAD_ANNOTATION", `${what}: annotation ${JSON.stringify(k)} must be a string`, { key: k });
    }
    if (k in out && out[k] !== v) {
      throw new LayerkitError(
        "BAD_ANNOTATION",
        `${what}: annotation ${JSON.stringify(k)} is already ${JSON.stringify(out[k])}; refusing to replace it with ${JSON.stringify(v)}`,
        {
          key: k,
          existing: out[k],
          value: v,
        },
      );
    }
    out[k] = v;
  }
  return out;
}

const ZSTD_CHUNKED_PREFIXES = ["io.github.containers.zstd-chunked.", "io.containers.zstd-chunked."];

function layerMediaType(d: Descriptor, format: "oci" | "docker", index: number): string {
  const c = layerCompression(d.mediaType);
  if (format === "docker") {
    const chunked = Object.keys(d.annotations ?? {}).some((k) => ZSTD_CHUNKED_PREFIXES.some((p) => k.startsWith(p)));
    if (c === "zstd" || chunked) {
      throw new LayerkitError(
        "UNSUPPORTED_FORMAT",
        `layer ${index} is ${
          chunked ? "zstd:chunked" : "zstd"
        }-compressed: Docker schema 2 manifests cannot carry zstd layers; build an OCI manifest (format: "oci")`,
        { layer: index, mediaType: d.mediaType },
      );
    }
    if (c === "gzip") return DOCKER_LAYER_GZIP;
    if (c === "none") return DOCKER_LAYER_TAR;
    throw new LayerkitError("BAD_ARGUMENT", `layer ${index}: media type ${d.mediaType} cannot be used in a Docker schema 2 manifest`, {
      layer: index,
      mediaType: d.mediaType,
    });
  }
  if (c === "gzip" && d.mediaType === DOCKER_LAYER_GZIP) return OCI_LAYER_GZIP;
  if (c === "none" && d.mediaType === DOCKER_LAYER_TAR) return OCI_LAYER_TAR;
  return d.mediaType; // OCI layer types (and other, e.g. encrypted, types) are kept
}

/** Builds the image config and manifest for `layers`; both are canonical JSON, so digests are reproducible. */
export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  const sha = await sha256Factory(options.sha256);
  const format = options.format ?? "oci";
  if (format !== "oci" && format !== "docker") throw new LayerkitError("BAD_ARGUMENT", `unknown manifest format ${JSON.stringify(format)}`);
  if (!Array.isArray(options.layers)) throw new LayerkitError("BAD_ARGUMENT", "layers must be an array");

  const layers: Descriptor[] = options.layers.map((l, i) => {
    const d = validateDescriptor(structuredClone(l.descriptor), `layers[${i}].descriptor`);
    checkDigest(l.diffID, `diff ID of layer ${i}`);
    const given = options.annotationKeys === undefined
      ? d.annotations
      : withZstdChunkedAnnotationKeys(d.annotations, parseAnnotationKeys(options.annotationKeys));
    let ann = mergeAnnotations(given, options.layerAnnotations, `layer ${i}`);
    ann = mergeAnnotations(ann, l.annotations, `layer ${i}`);
    const out: Descriptor = { mediaType: layerMediaType(d, format, i), digest: d.digest, size: d.size };
    if (d.urls) out.urls = d.urls;
    if (ann && Object.keys(ann).length > 0) out.annotations = ann;
    return out;
  });

  const base = structuredClone(options.config ?? {}) as Partial<ImageConfig>;
  const platform = validatePlatform(
    options.platform ??
      (base.os && base.architecture
        ? { os: base.os, architecture: base.architecture, ...(base.variant ? { variant: base.variant } : {}) }
        : { os: "linux", architecture: "amd64" }),
  );
  const created = options.created ?? base.created;
  let history: History[];
  if (base.history !== undefined) {
    const nonEmpty = base.history.filter((h) => !h.empty_layer).length;
    if (nonEmpty !== layers.length) {
      throw new LayerkitError("BAD_ARGUMENT", `config.history has ${nonEmpty} non-empty entries for ${layers.length} layers`, {
        history: nonEmpty,
        layers: layers.length,
      });
    }
    history = base.history;
  } else {
    history = options.layers.map((l) => l.history ?? { ...(created ? { created } : {}), created_by: "layerkit" });
  }
  const config: ImageConfig = {
    ...base,
    architecture: platform.architecture,
    os: platform.os,
    rootfs: { type: "layers", diff_ids: options.layers.map((l) => l.diffID) },
    history,
  };
  if (created !== undefined) config.created = created;
  if (platform.variant !== undefined) config.variant = platform.variant;
  else delete config.variant;
  if (platform["os.version"] !== undefined) config["os.version"] = platform["os.version"];
  if (platform["os.features"] !== undefined) config["os.features"] = platform["os.features"];

  const configBytes = canonicalJsonBytes(config);
  const configDescriptor: Descriptor = {
    mediaType: format === "oci" ? OCI_CONFIG : DOCKER_CONFIG,
    digest: sha256Digest(sha, configBytes),
    size: configBytes.length,
  };

  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: format === "oci" ? OCI_MANIFEST : DOCKER_MANIFEST,
    config: configDescriptor,
    layers,
  };
  if (options.annotations && Object.keys(options.annotations).length > 0) {
    if (format === "docker") throw new LayerkitError("BAD_ARGUMENT", 'Docker schema 2 manifests have no annotations; use format: "oci"');
    manifest.annotations = mergeAnnotations(undefined, options.annotations, "manifest")!;
  }
  const manifestBytes = canonicalJsonBytes(manifest);
  const platformOut: Platform = { architecture: platform.architecture, os: platform.os };
  if (platform.variant !== undefined) platformOut.variant = platform.variant;
  if (platform["os.version"] !== undefined) platformOut["os.version"] = platform["os.version"];
  return {
    config: { value: config, bytes: configBytes, descriptor: configDescriptor },
    manifest: {
      value: manifest,
      bytes: manifestBytes,
      descriptor: {
        mediaType: manifest.mediaType!,
        digest: sha256Digest(sha, manifestBytes),
        size: manifestBytes.length,
        platform: platformOut,
      },
    },
  };
}

export interface BuildIndexOptions {
  /** `"oci"` (default) or `"docker"` (manifest list). */
  format?: "oci" | "docker";
  annotations?: Record<string, string>;
  sha256?: Sha256Factory;
}

/** Builds an index (or Docker manifest list) over manifest descriptors (give each a `platform`). */
export async function buildIndex(manifests: Descriptor[], options: BuildIndexOptions = {}): Promise<BuiltDocument<ImageIndex>> {
  const sha = await sha256Factory(options.sha256);
  const format = options.format ?? "oci";
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: format === "oci" ? OCI_INDEX : DOCKER_MANIFEST_LIST,
    manifests: manifests.map((m, i) => validateDescriptor(structuredClone(m), `manifests[${i}]`)),
  };
  if (options.annotations && Object.keys(options.annotations).length > 0) {
    if (format === "docker") throw new LayerkitError("BAD_ARGUMENT", 'Docker manifest lists have no annotations; use format: "oci"');
    index.annotations = { ...options.annotations };
  }
  const bytes = canonicalJsonBytes(index);
  return { value: index, bytes, descriptor: { mediaType: index.mediaType!, digest: sha256Digest(sha, bytes), size: bytes.length } };
}

/** Whether a layer media type is zstd (plain or zstd:chunked); such layers need an OCI manifest. */
export function isZstdLayer(mediaType: string): boolean {
  return mediaType === OCI_LAYER_ZSTD || layerCompression(mediaType) === "zstd";
}
