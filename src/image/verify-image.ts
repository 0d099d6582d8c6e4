/**
 * `verifyImage`: everything an image claims, checked against its bytes — the index and manifests
 * (digest, size, media type, document shape), the config (digest, media type, JSON, platform),
 * `rootfs.diff_ids` (one per layer, each the layer's diffID), and every layer verified in full by
 * {@link verifyLayer} (all formats; uncompressed tar layers: digest = diffID). Blobs are read as
 * streams or in bounded pieces, so memory stays bounded whatever the image size. Problems are
 * collected into the report, not thrown; a layer shared by several manifests is read once.
 *
 * @module
 */
import { type Core, getCore } from "../core.js";
import { type ErrorCode, LayerkitError } from "../errors.js";
import { layerCompression } from "../oci/media-types.js";
import { formatPlatform } from "../oci/platform.js";
import type { Descriptor, ImageConfig, Platform } from "../oci/types.js";
import { platformMatches } from "../oci/platform.js";
import { CONFIG_TYPES, MAX_CONFIG_BYTES, parseConfig } from "../oci/validate.js";
import type { LayerFormat } from "../layer/result.js";
import { verifyLayer } from "../verify/verify-layer.js";
import type { VerifyCheck, VerifyFailure } from "../verify/types.js";
import type { ImageSource, ManifestDocument } from "./image-source.js";

/** An image-level check. */
export type ImageCheckName = "index" | "manifest" | "config" | "platform" | "diff-ids" | "layer-media-type" | "layer";

/** One image-level problem. */
export interface ImageFailure {
  check: ImageCheckName;
  code: ErrorCode;
  message: string;
  platform?: string;
  layer?: number;
  digest?: string;
}

/** The outcome for one layer. */
export interface LayerVerifyResult {
  platform?: string;
  layer: number;
  digest: string;
  size: number;
  mediaType: string;
  /** The format found (`tar` for an uncompressed layer). */
  format: LayerFormat | "tar" | undefined;
  ok: boolean;
  diffID?: string;
  checks: VerifyCheck[];
  failures: VerifyFailure[];
}

export interface VerifiedImage {
  platform?: string;
  manifest: Descriptor;
  config?: Descriptor;
  ok: boolean;
  layers: LayerVerifyResult[];
}

export interface VerifyImageReport {
  ok: boolean;
  image: string;
  /** The top manifest or index, when it could be read. */
  descriptor?: Descriptor;
  images: VerifiedImage[];
  /** Image-level failures (layer failures are in each layer's result, and counted here too). */
  failures: ImageFailure[];
}

export interface VerifyImageOptions {
  /** Only these platforms of an index (default: all). */
  platforms?: Platform[];
  /** Called when a layer's verification finished (for a summary line as it goes). */
  onLayer?(result: LayerVerifyResult): void;
  /** Failures listed per layer (default 100). */
  maxFailures?: number;
  core?: Core;
}

function failureOf(check: ImageCheckName, e: unknown, where: Omit<ImageFailure, "check" | "code" | "message"> = {}): ImageFailure {
  const code: ErrorCode = e instanceof LayerkitError ? e.code : "IO";
  return { check, code, message: (e as Error)?.message ?? String(e), ...where };
}

/** Verifies the image `source` names; see the module doc. Throws only for a missing core. */
export async function verifyImage(source: ImageSource, options: VerifyImageOptions = {}): Promise<VerifyImageReport> {
  const core = options.core ?? (await getCore());
  const failures: ImageFailure[] = [];
  const report: VerifyImageReport = { ok: false, image: source.name, images: [], failures };
  let top: ManifestDocument;
  try {
    top = await source.top();
  } catch (e) {
    failures.push(failureOf("manifest", e));
    return report;
  }
  report.descriptor = top.descriptor;
  const layerCache = new Map<string, Promise<Omit<LayerVerifyResult, "platform" | "layer">>>();
  const wanted = options.platforms?.length ? options.platforms : undefined;
  if (top.parsed.kind === "manifest") {
    report.images.push(await verifyManifest(source, top, undefined, failures, layerCache, options, core));
  } else {
    for (const entry of top.parsed.manifest.manifests) {
      if (wanted && !(entry.platform && wanted.some((w) => platformMatches(entry.platform!, w)))) continue;
      const platform = entry.platform ? formatPlatform(entry.platform) : undefined;
      let doc: ManifestDocument;
      try {
        doc = await source.manifest(entry);
      } catch (e) {
        failures.push(failureOf("index", e, { digest: entry.digest, ...(platform ? { platform } : {}) }));
        report.images.push({ manifest: entry, ok: false, layers: [], ...(platform ? { platform } : {}) });
        continue;
      }
      if (doc.parsed.kind === "index") {
        failures.push({ check: "index", code: "UNSUPPORTED_FORMAT", message: "nested indexes are not verified", digest: entry.digest });
        continue;
      }
      report.images.push(await verifyManifest(source, doc, entry, failures, layerCache, options, core));
    }
  }
  report.ok = failures.length === 0 && report.images.every((i) => i.ok);
  return report;
}

async function verifyManifest(
  source: ImageSource,
  doc: ManifestDocument,
  entry: Descriptor | undefined,
  failures: ImageFailure[],
  layerCache: Map<string, Promise<Omit<LayerVerifyResult, "platform" | "layer">>>,
  options: VerifyImageOptions,
  core: Core,
): Promise<VerifiedImage> {
  const platform = entry?.platform ? formatPlatform(entry.platform) : undefined;
  const where = platform ? { platform } : {};
  const before = failures.length;
  const image: VerifiedImage = { manifest: doc.descriptor, ok: false, layers: [], ...where };
  if (doc.parsed.kind !== "manifest") return image;
  const manifest = doc.parsed.manifest;
  image.config = manifest.config;
  let config: ImageConfig | undefined;
  if (!CONFIG_TYPES.includes(manifest.config.mediaType)) {
    failures.push({
      check: "config",
      code: "BAD_MANIFEST",
      message: `config media type ${manifest.config.mediaType} is not an image config`,
      digest: manifest.config.digest,
      ...where,
    });
  } else {
    try {
      config = parseConfig(await source.readBlob(manifest.config, MAX_CONFIG_BYTES));
    } catch (e) {
      failures.push(failureOf("config", e, { digest: manifest.config.digest, ...where }));
    }
  }
  if (config && entry?.platform && (config.os !== entry.platform.os || config.architecture !== entry.platform.architecture)) {
    failures.push({
      check: "platform",
      code: "INCONSISTENT",
      message: `the index says ${formatPlatform(entry.platform)}, the config ${config.os}/${config.architecture}`,
      digest: manifest.config.digest,
      ...where,
    });
  }
  if (config && config.rootfs.diff_ids.length !== manifest.layers.length) {
    failures.push({
      check: "diff-ids",
      code: "BAD_MANIFEST",
      message: `the config lists ${config.rootfs.diff_ids.length} diff_ids for ${manifest.layers.length} layers`,
      digest: manifest.config.digest,
      ...where,
    });
  }
  for (const [i, layer] of manifest.layers.entries()) {
    const diffID = config?.rootfs.diff_ids[i];
    const key = `${layer.digest}\0${layer.size}\0${diffID}`;
    let pending = layerCache.get(key);
    if (!pending) {
      pending = verifyOneLayer(source, layer, diffID, options, core);
      layerCache.set(key, pending);
    }
    const result: LayerVerifyResult = { ...(await pending), layer: i, ...where };
    if (!result.ok) {
      failures.push({
        check: "layer",
        code: result.failures[0]?.code ?? "INCONSISTENT",
        message: result.failures[0]?.message ?? "layer verification failed",
        layer: i,
        digest: layer.digest,
        ...where,
      });
    }
    image.layers.push(result);
    options.onLayer?.(result);
  }
  image.ok = failures.length === before;
  return image;
}

async function verifyOneLayer(
  source: ImageSource,
  layer: Descriptor,
  diffID: string | undefined,
  options: VerifyImageOptions,
  core: Core,
): Promise<Omit<LayerVerifyResult, "platform" | "layer">> {
  const base = { digest: layer.digest, size: layer.size, mediaType: layer.mediaType };
  const compression = layerCompression(layer.mediaType);
  if (compression === undefined) {
    const f: VerifyFailure = {
      check: "blob-digest",
      code: "BAD_MANIFEST",
      message: `media type ${layer.mediaType} is not a layer media type`,
    };
    return { ...base, format: undefined, ok: false, checks: [], failures: [f] };
  }
  if (compression === "none") return verifyTarLayer(source, layer, diffID);
  let blob;
  try {
    blob = await source.blobSource(layer);
  } catch (e) {
    const f: VerifyFailure = {
      check: "blob-size",
      code: e instanceof LayerkitError ? e.code : "IO",
      message: (e as Error)?.message ?? String(e),
    };
    return { ...base, format: undefined, ok: false, checks: [], failures: [f] };
  }
  try {
    const r = await verifyLayer(blob, layer, {
      ...(diffID ? { diffID } : {}),
      core,
      ...(options.maxFailures !== undefined ? { maxFailures: options.maxFailures } : {}),
    });
    const out: Omit<LayerVerifyResult, "platform" | "layer"> = {
      ...base,
      format: r.format,
      ok: r.ok && diffID !== undefined,
      checks: r.checks,
      failures: r.failures,
    };
    if (r.diffID) out.diffID = r.diffID;
    if (diffID === undefined) {
      out.failures = [...r.failures, { check: "diff-id", code: "BAD_MANIFEST", message: "the config has no diff_id for this layer" }];
    }
    return out;
  } finally {
    await blob.close?.();
  }
}

/** An uncompressed layer: its blob is its tar, so its digest must be its diffID. */
async function verifyTarLayer(
  source: ImageSource,
  layer: Descriptor,
  diffID: string | undefined,
): Promise<Omit<LayerVerifyResult, "platform" | "layer">> {
  const base = { digest: layer.digest, size: layer.size, mediaType: layer.mediaType, format: "tar" as const };
  const failures: VerifyFailure[] = [];
  try {
    const reader = (await source.openBlob(layer)).getReader();
    while (!(await reader.read()).done) {
      /* the stream verifies digest and size as it ends */
    }
  } catch (e) {
    failures.push({ check: "blob-digest", code: e instanceof LayerkitError ? e.code : "IO", message: (e as Error)?.message ?? String(e) });
  }
  if (diffID !== layer.digest) {
    failures.push({
      check: "diff-id",
      code: "DIGEST_MISMATCH",
      message: `an uncompressed layer's diffID is its digest ${layer.digest}, the config says ${diffID}`,
    });
  }
  const checks: VerifyCheck[] = [
    { name: "blob-digest", status: failures.some((f) => f.check === "blob-digest") ? "failed" : "ok" },
    { name: "diff-id", status: failures.some((f) => f.check === "diff-id") ? "failed" : "ok" },
  ];
  return { ...base, ok: failures.length === 0, checks, failures, diffID: layer.digest };
}
