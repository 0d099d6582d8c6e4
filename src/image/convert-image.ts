/**
 * `convertImage`: an image (one manifest, or an index and every platform in it) converted to one
 * layer format, from any {@link ImageSource} to any {@link ImageTarget}.
 *
 * - Each layer blob is read once, as a verified stream, converted as it flows and written as it
 *   is produced (a registry target gets a chunked upload; nothing is held whole, no temporary
 *   blob on disk for a registry); a layer shared by several manifests is converted once.
 * - Layers already in the target format are copied byte for byte unless `force`.
 * - The config's `rootfs.diff_ids` are rewritten where the conversion changed a diffID (eStargz
 *   adds its TOC entry; the rest of the config, history included, is kept; an unchanged config
 *   keeps its exact bytes); each source layer's diffID is checked against the config.
 * - Output is OCI (`manifestType: "docker"` writes Docker schema 2, refused for zstd formats:
 *   c/image and Docker reject zstd there). Manifest and index annotations are kept.
 * - Publishing is last: every blob is written and checked present, then the manifests (by digest),
 *   then the top manifest or index is named (tag). A failure anywhere before that names nothing,
 *   and the error says which image, platform and layer.
 *
 * Output digests depend only on the input and the options (not on concurrency or timing).
 *
 * @module
 */
import { type Core, getCore } from "../core.js";
import { convertLayer } from "../convert/convert-layer.js";
import { createLayer } from "../create-layer.js";
import { LayerkitError } from "../errors.js";
import { detectLayerFormat } from "../formats/detect.js";
import { formatOf } from "../formats/registry.js";
import { sha256Digest } from "../layer/digest.js";
import type { LayerFormat, LayerWriter } from "../layer/result.js";
import { canonicalJsonBytes } from "../oci/canonical-json.js";
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  layerCompression,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
} from "../oci/media-types.js";
import { formatPlatform, platformMatches } from "../oci/platform.js";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "../oci/types.js";
import { CONFIG_TYPES, MAX_CONFIG_BYTES, parseConfig } from "../oci/validate.js";
import { type ImagePlace, placeError } from "./image-error.js";
import type { ImageSource, ImageTarget, ManifestDocument } from "./image-source.js";
import { runBounded } from "./pool.js";

/** A layer's format as found in the source (`tar`: an uncompressed layer). */
export type SourceLayerFormat = LayerFormat | "tar";

export interface ConvertImageOptions {
  /** Target layer format. */
  format: LayerFormat;
  /** Only these platforms of an index (default: every image manifest in it). */
  platforms?: Platform[];
  /** Convert layers that are already in the target format too. */
  force?: boolean;
  /** Layers converted at once (default 2). */
  concurrency?: number;
  /** `oci` (default) or `docker` (schema 2; gzip and eStargz only). */
  manifestType?: "oci" | "docker";
  /** Compression level of converted layers. */
  level?: number;
  /** eStargz: files to put first. */
  prioritizedFiles?: string[];
  /** eStargz: chunk size. */
  chunkSize?: number;
  /** Called as layers start, progress (source bytes read) and finish. */
  onProgress?(event: ConvertProgress): void;
  core?: Core;
}

/** A progress event of one layer. */
export interface ConvertProgress {
  phase: "start" | "bytes" | "done";
  platform?: string;
  layer: number;
  digest: string;
  /** Source bytes read so far, of `total`. */
  done: number;
  total: number;
  action?: "converted" | "copied" | "existed";
}

/** What happened to one layer. */
export interface ConvertedLayer {
  layer: number;
  /** `converted`, `copied` (already in the target format), or `existed` (copied before: the target had it). */
  action: "converted" | "copied" | "existed";
  from: { digest: string; size: number; mediaType: string; format: SourceLayerFormat };
  to: { digest: string; size: number; mediaType: string; format: LayerFormat };
  sourceDiffID: string;
  diffID: string;
}

/** One converted image manifest. */
export interface ConvertedImage {
  platform?: Platform;
  source: Descriptor;
  manifest: Descriptor;
  config: Descriptor;
  layers: ConvertedLayer[];
}

export interface ConvertImageResult {
  /** The source's top manifest or index. */
  source: Descriptor;
  /** The published manifest or index. */
  descriptor: Descriptor;
  images: ConvertedImage[];
  /** Index entries left out (not image manifests: attestations, nested indexes), with why. */
  skipped: { digest: string; reason: string }[];
}

interface Planned {
  doc: ManifestDocument;
  entry?: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  configBytes: Uint8Array;
  place: ImagePlace;
}

interface LayerOutcome {
  descriptor: Descriptor;
  diffID: string;
  report: Omit<ConvertedLayer, "layer">;
}

const ZSTD_FORMATS: ReadonlySet<LayerFormat> = new Set(["zstd", "zstd:chunked"]);

/**
 * Converts the image `source` names into `options.format` and publishes it at `target`.
 *
 * Errors (each a LayerkitError naming image, platform and layer in `details`): BAD_MANIFEST
 * (diff_ids count ≠ layers, a config that is not JSON or not an image config, unknown layer media
 * types), DIGEST_MISMATCH / SIZE_MISMATCH (a manifest, config or layer that is not what its
 * descriptor says; a layer whose diffID is not the config's), UNSUPPORTED_FORMAT (zstd in a
 * Docker manifest; a platform not in the index), the conversion's and the target's errors.
 */
export async function convertImage(source: ImageSource, target: ImageTarget, options: ConvertImageOptions): Promise<ConvertImageResult> {
  const format = formatOf(options.format, "target").name;
  const docker = options.manifestType === "docker";
  if (docker && ZSTD_FORMATS.has(format)) {
    throw new LayerkitError(
      "UNSUPPORTED_FORMAT",
      `${format} layers cannot go in a Docker schema 2 manifest (containers/image and Docker reject zstd there): use an OCI manifest`,
      { image: target.name, format, manifestType: "docker" },
    );
  }
  const core = options.core ?? (await getCore());
  const top = await source.top().catch((e) => {
    throw placeError(e, { image: source.name });
  });
  const skipped: ConvertImageResult["skipped"] = [];
  const planned = await plan(source, top, options.platforms, skipped);

  // Every layer of every image, converted once per source blob (and diffID).
  const jobIndex = new Map<string, number>();
  const jobs: Array<() => Promise<LayerOutcome>> = [];
  const keys: number[][] = planned.map((p) =>
    p.manifest.layers.map((layer, i) => {
      const key = `${layer.digest}\0${p.config.rootfs.diff_ids[i]}`;
      let at = jobIndex.get(key);
      if (at === undefined) {
        at = jobs.length;
        jobIndex.set(key, at);
        jobs.push(() =>
          convertOneLayer(
            source,
            target,
            layer,
            p.config.rootfs.diff_ids[i]!,
            { ...p.place, layer: i, digest: layer.digest },
            format,
            docker,
            options,
            core,
          )
        );
      }
      return at;
    })
  );
  const outcomes = await runBounded(jobs, options.concurrency ?? 2);

  // Configs and manifests, in source order.
  const images: ConvertedImage[] = [];
  const built: { bytes: Uint8Array; descriptor: Descriptor; blobs: Descriptor[] }[] = [];
  for (const [n, p] of planned.entries()) {
    const results = keys[n]!.map((k) => outcomes[k]!);
    const diffIDs = results.map((r) => r.diffID);
    const changed = diffIDs.some((d, i) => d !== p.config.rootfs.diff_ids[i]);
    const configBytes = changed ? canonicalJsonBytes({ ...p.config, rootfs: { ...p.config.rootfs, diff_ids: diffIDs } }) : p.configBytes;
    const configDescriptor: Descriptor = {
      mediaType: docker ? DOCKER_CONFIG : OCI_CONFIG,
      digest: sha256Digest(() => core.sha256(), configBytes),
      size: configBytes.length,
    };
    await target.putBlob(configBytes, { digest: configDescriptor.digest, size: configDescriptor.size }).catch((e) => {
      throw placeError(e, { ...p.place, digest: configDescriptor.digest });
    });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: docker ? DOCKER_MANIFEST : OCI_MANIFEST,
      config: configDescriptor,
      layers: results.map((r) => r.descriptor),
    };
    if (p.manifest.subject !== undefined && !docker) manifest.subject = p.manifest.subject;
    if (p.manifest.annotations !== undefined && !docker) manifest.annotations = p.manifest.annotations;
    const bytes = canonicalJsonBytes(manifest);
    const descriptor: Descriptor = { mediaType: manifest.mediaType!, digest: sha256Digest(() => core.sha256(), bytes), size: bytes.length };
    built.push({ bytes, descriptor, blobs: [configDescriptor, ...manifest.layers] });
    const image: ConvertedImage = {
      source: p.doc.descriptor,
      manifest: descriptor,
      config: configDescriptor,
      layers: results.map((r, i) => ({ layer: i, ...r.report })),
    };
    if (p.entry?.platform) image.platform = p.entry.platform;
    images.push(image);
  }

  // Nothing is named before every blob it references is there.
  for (const [n, b] of built.entries()) {
    for (const blob of b.blobs) {
      if (!(await target.hasBlob(blob))) {
        throw placeError(
          new LayerkitError("NOT_FOUND", `blob ${blob.digest} is not at the target after it was written`, { digest: blob.digest }),
          { ...planned[n]!.place, digest: blob.digest },
        );
      }
    }
  }
  let published: { bytes: Uint8Array; descriptor: Descriptor };
  if (top.parsed.kind === "index") {
    for (const [n, b] of built.entries()) {
      await target.putManifest(b.bytes, b.descriptor).catch((e) => {
        throw placeError(e, { ...planned[n]!.place, digest: b.descriptor.digest });
      });
    }
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: docker ? DOCKER_MANIFEST_LIST : OCI_INDEX,
      manifests: built.map((b, n) => {
        const entry = planned[n]!.entry!;
        const d: Descriptor = { ...b.descriptor };
        if (entry.platform) d.platform = entry.platform;
        if (entry.annotations && !docker) d.annotations = entry.annotations;
        return d;
      }),
    };
    if (top.parsed.manifest.annotations !== undefined && !docker) index.annotations = top.parsed.manifest.annotations;
    const bytes = canonicalJsonBytes(index);
    published = {
      bytes,
      descriptor: { mediaType: index.mediaType!, digest: sha256Digest(() => core.sha256(), bytes), size: bytes.length },
    };
  } else {
    published = built[0]!;
  }
  await target.publish(published.bytes, published.descriptor).catch((e) => {
    throw placeError(e, { image: target.name, digest: published.descriptor.digest });
  });
  return { source: top.descriptor, descriptor: published.descriptor, images, skipped };
}

/** The image manifests to convert (with their configs), every one checked before any layer is read. */
async function plan(
  source: ImageSource,
  top: ManifestDocument,
  platforms: Platform[] | undefined,
  skipped: ConvertImageResult["skipped"],
): Promise<Planned[]> {
  if (top.parsed.kind === "manifest") {
    if (platforms !== undefined && platforms.length > 0) {
      // A single manifest: check it is for a wanted platform once its config is known.
      const p = await planManifest(source, top, undefined, { image: source.name });
      const own: Platform = {
        os: p.config.os,
        architecture: p.config.architecture,
        ...(p.config.variant ? { variant: p.config.variant } : {}),
      };
      if (!platforms.some((w) => platformMatches(own, w))) {
        throw new LayerkitError(
          "NOT_FOUND",
          `${source.name} is a ${formatPlatform(own)} image, not ${platforms.map(formatPlatform).join(" or ")}`,
          { image: source.name, platform: formatPlatform(own) },
        );
      }
      return [p];
    }
    return [await planManifest(source, top, undefined, { image: source.name })];
  }
  const out: Planned[] = [];
  for (const entry of top.parsed.manifest.manifests) {
    const platform = entry.platform ? formatPlatform(entry.platform) : undefined;
    const place: ImagePlace = { image: source.name, ...(platform ? { platform } : {}), digest: entry.digest };
    if (
      platforms !== undefined && platforms.length > 0 && !(entry.platform && platforms.some((w) => platformMatches(entry.platform!, w)))
    ) continue;
    const doc = await source.manifest(entry).catch((e) => {
      throw placeError(e, place);
    });
    if (doc.parsed.kind === "index") {
      skipped.push({ digest: entry.digest, reason: "a nested index" });
      continue;
    }
    const m = doc.parsed.manifest;
    if (!CONFIG_TYPES.includes(m.config.mediaType) || m.layers.some((l) => layerCompression(l.mediaType) === undefined)) {
      skipped.push({ digest: entry.digest, reason: `not an image manifest (config ${m.config.mediaType})` });
      continue;
    }
    const { digest: _d, ...where } = place;
    out.push(await planManifest(source, doc, entry, where));
  }
  if (out.length === 0) {
    const available = top.parsed.manifest.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!));
    throw new LayerkitError(
      "NOT_FOUND",
      `${source.name}: no image ${platforms?.length ? `for ${platforms.map(formatPlatform).join(", ")} ` : ""}in the index (available: ${
        available.join(", ") || "none"
      })`,
      {
        image: source.name,
        available,
      },
    );
  }
  return out;
}

async function planManifest(
  source: ImageSource,
  doc: ManifestDocument,
  entry: Descriptor | undefined,
  place: ImagePlace,
): Promise<Planned> {
  if (doc.parsed.kind !== "manifest") throw new LayerkitError("BAD_MANIFEST", "expected an image manifest", { ...place });
  const manifest = doc.parsed.manifest;
  try {
    if (!CONFIG_TYPES.includes(manifest.config.mediaType)) {
      throw new LayerkitError("BAD_MANIFEST", `config media type ${manifest.config.mediaType} is not an image config`, {
        mediaType: manifest.config.mediaType,
      });
    }
    manifest.layers.forEach((l, i) => {
      if (layerCompression(l.mediaType) === undefined) {
        throw new LayerkitError("BAD_MANIFEST", `layer ${i} has media type ${l.mediaType}, not a layer media type`, {
          layer: i,
          mediaType: l.mediaType,
        });
      }
    });
    const configBytes = await source.readBlob(manifest.config, MAX_CONFIG_BYTES);
    const config = parseConfig(configBytes);
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
    const out: Planned = { doc, manifest, config, configBytes, place };
    if (entry) out.entry = entry;
    return out;
  } catch (e) {
    throw placeError(e, { ...place, digest: doc.descriptor.digest });
  }
}

/** The media type of a layer of `format` in the output manifest. */
function outputMediaType(format: LayerFormat, docker: boolean): string {
  return docker ? DOCKER_LAYER_GZIP : formatOf(format).mediaType;
}

async function convertOneLayer(
  source: ImageSource,
  target: ImageTarget,
  layer: Descriptor,
  configDiffID: string,
  place: ImagePlace,
  format: LayerFormat,
  docker: boolean,
  options: ConvertImageOptions,
  core: Core,
): Promise<LayerOutcome> {
  const report = (e: Omit<ConvertProgress, "layer" | "digest" | "total" | "platform">): void =>
    options.onProgress?.({
      ...e,
      layer: place.layer!,
      digest: layer.digest,
      total: layer.size,
      ...(place.platform ? { platform: place.platform } : {}),
    });
  try {
    const from = await sourceFormat(source, layer);
    const counted = async (): Promise<ReadableStream<Uint8Array>> => {
      let done = 0;
      return (await source.openBlob(layer)).pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, c) {
            done += chunk.length;
            report({ phase: "bytes", done });
            c.enqueue(chunk);
          },
        }),
      );
    };
    const fromMedia = { digest: layer.digest, size: layer.size, mediaType: layer.mediaType, format: from };
    if (from === format && !options.force) {
      const present = await target.hasBlob(layer);
      report({ phase: "start", done: 0, action: present ? "existed" : "copied" });
      if (!present) await target.putBlob(await counted(), { digest: layer.digest, size: layer.size });
      const descriptor: Descriptor = { mediaType: outputMediaType(format, docker), digest: layer.digest, size: layer.size };
      if (layer.annotations) descriptor.annotations = layer.annotations;
      report({ phase: "done", done: layer.size, action: present ? "existed" : "copied" });
      return {
        descriptor,
        diffID: configDiffID,
        report: {
          action: present ? "existed" : "copied",
          from: fromMedia,
          to: { digest: layer.digest, size: layer.size, mediaType: descriptor.mediaType, format },
          sourceDiffID: configDiffID,
          diffID: configDiffID,
        },
      };
    }
    report({ phase: "start", done: 0, action: "converted" });
    const input = await counted();
    const write = {
      ...(options.level !== undefined ? { level: options.level } : {}),
      ...(options.prioritizedFiles ? { prioritizedFiles: options.prioritizedFiles } : {}),
      ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
    };
    const writer: LayerWriter = from === "tar"
      ? createLayer(input, { format, core, ...write })
      : convertLayer(input, { to: format, from, core, ...(layer.annotations ? { annotations: layer.annotations } : {}), ...write });
    const put = await target.putBlob(writer.stream);
    const result = await writer.result;
    const sourceDiffID = "sourceDiffID" in result ? (result.sourceDiffID as string) : from === "tar" ? layer.digest : result.diffID;
    if (sourceDiffID !== configDiffID) {
      throw new LayerkitError("DIGEST_MISMATCH", `the layer decompresses to ${sourceDiffID}, the config's diff_ids say ${configDiffID}`, {
        expected: configDiffID,
        got: sourceDiffID,
      });
    }
    if (put.digest !== result.digest || put.size !== result.size) {
      throw new LayerkitError(
        "INCONSISTENT",
        `wrote ${put.digest} (${put.size} bytes), the writer reported ${result.digest} (${result.size} bytes)`,
        { expected: result.digest, got: put.digest },
      );
    }
    const descriptor: Descriptor = { ...result.descriptor, mediaType: outputMediaType(format, docker) };
    report({ phase: "done", done: layer.size, action: "converted" });
    return {
      descriptor,
      diffID: result.diffID,
      report: {
        action: "converted",
        from: fromMedia,
        to: { digest: result.digest, size: result.size, mediaType: descriptor.mediaType, format },
        sourceDiffID,
        diffID: result.diffID,
      },
    };
  } catch (e) {
    throw placeError(e, place);
  }
}

/** The layer's format: `tar` by media type, else detected from its annotations, head and tail (two small reads). */
async function sourceFormat(source: ImageSource, layer: Descriptor): Promise<SourceLayerFormat> {
  if (layerCompression(layer.mediaType) === "none") return "tar";
  const blob = await source.blobSource(layer);
  try {
    return (await detectLayerFormat(blob, layer.annotations)).format;
  } finally {
    await blob.close?.();
  }
}
