/**
 * `appendImage`: a base image (one manifest, or one platform of an index) with new layers on top,
 * its config edited ({@link ConfigChanges}), published at a target (what `crane append` does).
 *
 * - Base layers are copied to the target when it lacks them (verified streams), never changed.
 * - New layers: a tar stream is compressed into any format as it is written (`createLayer`); an
 *   existing layer blob is copied byte for byte with its known descriptor and diffID.
 * - The config keeps everything of the base's (history included) and gets one `rootfs.diff_ids`
 *   entry and one history entry per new layer.
 * - The output is always an OCI manifest (a Docker schema 2 base becomes OCI, as `image convert`
 *   does), so zstd and zstd:chunked layers can go on any base. Only the platform picked is
 *   published: the result is a single-platform manifest, never an index.
 * - Publishing is last: every blob written and checked present, then the manifest is named.
 *
 * Same base, layers and options give the same manifest digest.
 *
 * @module
 */
import { type Core, getCore } from "../core.js";
import { createLayer } from "../create-layer.js";
import { LayerkitError } from "../errors.js";
import { sha256Digest } from "../layer/digest.js";
import type { LayerFormat } from "../layer/result.js";
import { canonicalJsonBytes } from "../oci/canonical-json.js";
import {
  DOCKER_LAYER_GZIP,
  DOCKER_LAYER_TAR,
  layerCompression,
  OCI_CONFIG,
  OCI_LAYER_GZIP,
  OCI_LAYER_TAR,
  OCI_MANIFEST,
} from "../oci/media-types.js";
import { formatPlatform, platformMatches } from "../oci/platform.js";
import type { Descriptor, History, ImageConfig, ImageManifest, Platform } from "../oci/types.js";
import { CONFIG_TYPES, MAX_CONFIG_BYTES, parseConfig } from "../oci/validate.js";
import type { ByteSource } from "../util/bytes.js";
import type { FormatWriteOptions } from "../formats/format.js";
import { applyConfigChanges, checkConfigChanges, type ConfigChanges } from "./config-changes.js";
import { type ImagePlace, placeError } from "./image-error.js";
import type { ImageSource, ImageTarget, ManifestDocument } from "./image-source.js";

/** A new layer made from an uncompressed tar, compressed into `format` as it is written (with the writer options given: level, eStargz chunk size and prioritized files, zstd:chunked annotation keys). */
export interface AppendTarLayer extends FormatWriteOptions {
  kind: "tar";
  /** The tar, or a function opening it when the layer's turn comes (inputs are read one at a time). */
  tar: ReadableStream<Uint8Array> | (() => Promise<ReadableStream<Uint8Array>>);
  format: LayerFormat;
  /** The history entry's `created_by` (default `layerkit append`). */
  createdBy?: string;
}

/** An existing layer blob, copied as is: its descriptor and diffID are the caller's (checked on copy: digest and size). */
export interface AppendBlobLayer {
  kind: "blob";
  open(): Promise<ByteSource>;
  descriptor: Descriptor;
  diffID: string;
  createdBy?: string;
}

export type AppendLayer = AppendTarLayer | AppendBlobLayer;

export interface AppendImageOptions extends ConfigChanges {
  /** With an index base: the platform to append to (required when it has several images). */
  platform?: Platform;
  /** Manifest annotations (merged over the base manifest's). */
  annotations?: Record<string, string>;
  core?: Core;
}

export interface AppendedLayer {
  descriptor: Descriptor;
  diffID: string;
  format?: LayerFormat;
}

export interface AppendImageResult {
  /** The base manifest appended to. */
  base: Descriptor;
  platform: Platform;
  descriptor: Descriptor;
  config: Descriptor;
  /** The new layers, in order. */
  layers: AppendedLayer[];
}

/**
 * Appends `layers` to the image `base` names and publishes the result at `target`.
 *
 * Errors: BAD_ARGUMENT (no layers, an env entry not K=V, a bad `created`), NOT_FOUND (the base
 * reference, or the platform in an index; several platforms and none picked), BAD_MANIFEST (a
 * base that is not an image, diff_ids count ≠ layers), the layer writers' and the target's
 * errors; each names the image (and layer) in `details`. Nothing is published on error.
 */
export async function appendImage(
  base: ImageSource,
  target: ImageTarget,
  layers: AppendLayer[],
  options: AppendImageOptions = {},
): Promise<AppendImageResult> {
  if (layers.length === 0) throw new LayerkitError("BAD_ARGUMENT", "append needs at least one layer", { image: base.name });
  checkConfigChanges(options);
  const core = options.core ?? (await getCore());
  const top = await base.top().catch((e) => {
    throw placeError(e, { image: base.name });
  });
  const { doc, platform: picked } = await pickManifest(base, top, options.platform);
  const place: ImagePlace = { image: base.name, ...(picked ? { platform: formatPlatform(picked) } : {}) };
  const manifest = doc.parsed.manifest as ImageManifest;
  let config: ImageConfig;
  try {
    if (!CONFIG_TYPES.includes(manifest.config.mediaType)) {
      throw new LayerkitError("BAD_MANIFEST", `config media type ${manifest.config.mediaType} is not an image config`, {
        mediaType: manifest.config.mediaType,
      });
    }
    config = parseConfig(await base.readBlob(manifest.config, MAX_CONFIG_BYTES));
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new LayerkitError(
        "BAD_MANIFEST",
        `the config lists ${config.rootfs.diff_ids.length} diff_ids for ${manifest.layers.length} layers`,
        {
          diffIDs: config.rootfs.diff_ids.length,
          layers: manifest.layers.length,
        },
      );
    }
  } catch (e) {
    throw placeError(e, { ...place, digest: doc.descriptor.digest });
  }

  // Base layers: copied where the target lacks them, media types made OCI.
  const baseLayers: Descriptor[] = [];
  for (const [i, layer] of manifest.layers.entries()) {
    try {
      if (layerCompression(layer.mediaType) === undefined) {
        throw new LayerkitError("BAD_MANIFEST", `layer ${i} has media type ${layer.mediaType}, not a layer media type`, {
          mediaType: layer.mediaType,
        });
      }
      if (!(await target.hasBlob(layer))) await target.putBlob(await base.openBlob(layer), { digest: layer.digest, size: layer.size });
    } catch (e) {
      throw placeError(e, { ...place, layer: i, digest: layer.digest });
    }
    const d: Descriptor = { mediaType: ociLayerType(layer.mediaType), digest: layer.digest, size: layer.size };
    if (layer.annotations) d.annotations = layer.annotations;
    baseLayers.push(d);
  }

  // New layers, in order.
  const added: AppendedLayer[] = [];
  for (const [n, layer] of layers.entries()) {
    const at = manifest.layers.length + n;
    try {
      added.push(await writeLayer(target, layer, core));
    } catch (e) {
      throw placeError(e, { image: target.name, layer: at });
    }
  }

  const edited = applyConfigChanges(config, options);
  const created = options.created;
  const history: History[] = edited.history ? [...edited.history] : manifest.layers.map(() => ({}));
  for (const layer of layers) history.push({ ...(created ? { created } : {}), created_by: layer.createdBy ?? "layerkit append" });
  const out: ImageConfig = {
    ...edited,
    rootfs: { type: "layers", diff_ids: [...config.rootfs.diff_ids, ...added.map((a) => a.diffID)] },
    history,
  };
  const configBytes = canonicalJsonBytes(out);
  const configDescriptor: Descriptor = {
    mediaType: OCI_CONFIG,
    digest: sha256Digest(() => core.sha256(), configBytes),
    size: configBytes.length,
  };
  await target.putBlob(configBytes, { digest: configDescriptor.digest, size: configDescriptor.size }).catch((e) => {
    throw placeError(e, { image: target.name, digest: configDescriptor.digest });
  });

  const result: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configDescriptor,
    layers: [...baseLayers, ...added.map((a) => a.descriptor)],
  };
  const annotations = { ...(manifest.annotations ?? {}), ...(options.annotations ?? {}) };
  if (Object.keys(annotations).length > 0) result.annotations = annotations;
  for (const blob of [configDescriptor, ...result.layers]) {
    if (!(await target.hasBlob(blob))) {
      throw new LayerkitError("NOT_FOUND", `blob ${blob.digest} is not at the target after it was written`, {
        image: target.name,
        digest: blob.digest,
      });
    }
  }
  const bytes = canonicalJsonBytes(result);
  const descriptor: Descriptor = { mediaType: OCI_MANIFEST, digest: sha256Digest(() => core.sha256(), bytes), size: bytes.length };
  await target.publish(bytes, descriptor).catch((e) => {
    throw placeError(e, { image: target.name, digest: descriptor.digest });
  });
  const platform: Platform = picked ?? { os: out.os, architecture: out.architecture, ...(out.variant ? { variant: out.variant } : {}) };
  return { base: doc.descriptor, platform, descriptor, config: configDescriptor, layers: added };
}

function ociLayerType(mediaType: string): string {
  if (mediaType === DOCKER_LAYER_GZIP) return OCI_LAYER_GZIP;
  if (mediaType === DOCKER_LAYER_TAR) return OCI_LAYER_TAR;
  return mediaType;
}

async function writeLayer(target: ImageTarget, layer: AppendLayer, core: Core): Promise<AppendedLayer> {
  if (layer.kind === "blob") {
    await target.putBlob(await layer.open(), { digest: layer.descriptor.digest, size: layer.descriptor.size });
    return { descriptor: layer.descriptor, diffID: layer.diffID };
  }
  const tar = typeof layer.tar === "function" ? await layer.tar() : layer.tar;
  const { kind: _k, tar: _t, createdBy: _c, ...write } = layer;
  const writer = createLayer(tar, { ...write, core });
  const put = await target.putBlob(writer.stream);
  const result = await writer.result;
  if (put.digest !== result.digest || put.size !== result.size) {
    throw new LayerkitError(
      "INCONSISTENT",
      `wrote ${put.digest} (${put.size} bytes), the writer reported ${result.digest} (${result.size} bytes)`,
      {
        expected: result.digest,
        got: put.digest,
      },
    );
  }
  return { descriptor: result.descriptor, diffID: result.diffID, format: result.format };
}

/** The base's image manifest: the top one, or the index entry for `wanted` (or its only image). */
async function pickManifest(
  base: ImageSource,
  top: ManifestDocument,
  wanted: Platform | undefined,
): Promise<{ doc: ManifestDocument; platform?: Platform }> {
  if (top.parsed.kind === "manifest") {
    if (wanted !== undefined) {
      const config = parseConfig(await base.readBlob(top.parsed.manifest.config, MAX_CONFIG_BYTES));
      const own: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
      if (!platformMatches(own, wanted)) {
        throw new LayerkitError("NOT_FOUND", `${base.name} is a ${formatPlatform(own)} image, not ${formatPlatform(wanted)}`, {
          image: base.name,
          platform: formatPlatform(own),
        });
      }
    }
    return { doc: top };
  }
  const images = top.parsed.manifest.manifests.filter((m) => m.platform && m.platform.os !== "unknown");
  const available = images.map((m) => formatPlatform(m.platform!));
  let entry: Descriptor | undefined;
  if (wanted !== undefined) entry = images.find((m) => platformMatches(m.platform!, wanted));
  else if (images.length === 1) entry = images[0];
  else {
    throw new LayerkitError(
      "NOT_FOUND",
      `${base.name} is an index of ${images.length} images: pick one with a platform (available: ${available.join(", ") || "none"})`,
      {
        image: base.name,
        available,
      },
    );
  }
  if (entry === undefined) {
    throw new LayerkitError(
      "NOT_FOUND",
      `${base.name}: no image for ${formatPlatform(wanted!)} in the index (available: ${available.join(", ") || "none"})`,
      {
        image: base.name,
        available,
      },
    );
  }
  const doc = await base.manifest(entry).catch((e) => {
    throw placeError(e, { image: base.name, platform: formatPlatform(entry.platform!), digest: entry.digest });
  });
  if (doc.parsed.kind !== "manifest") {
    throw new LayerkitError("BAD_MANIFEST", "expected an image manifest in the index, got an index", {
      image: base.name,
      digest: entry.digest,
    });
  }
  return { doc, platform: entry.platform! };
}
