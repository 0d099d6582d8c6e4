/**
 * `buildImageFromContent`: an OCI image whose layers follow a contentmeta, one layer per
 * declared layer (bottom first) plus, when some entries are unmapped, a final "unmapped" layer.
 * The plan is {@link planLayers}'s; each layer's tar is written from the root file system in a
 * pass of its own and compressed by {@link createLayer} in any format.
 *
 * Image metadata: `labels` go into the config's `Labels` and the manifest's annotations;
 * `created` into the config (and its history); each layer's human name into the layer
 * descriptor's `ostree.components` annotation (the key ostree-rs-ext writes, so its tooling
 * shows it too) and into the layer's history `created_by`.
 *
 * Deterministic: the tar bytes depend only on the root file system's entries and the plan, and
 * the JSON documents are canonical, so the same inputs give the same digests.
 *
 * @module
 */
import type { Core } from "../core.js";
import { createLayer } from "../create-layer.js";
import { LayerkitError } from "../errors.js";
import { type Sha256Factory, sha256Factory } from "../layer/digest.js";
import type { LayerFormat, LayerResult } from "../layer/result.js";
import { buildImage, type BuildLayer, type BuiltImage } from "../oci/build.js";
import type { ImageConfig, Platform } from "../oci/types.js";
import { filePayload } from "../tar/from-directory.js";
import { encodeTarEnd, encodeTarHeader, type TarWriteEntry } from "../tar/writer.js";
import { streamFromGenerator } from "../util/async-queue.js";
import { type ByteSource, iterateSource } from "../util/bytes.js";
import type { ContentMeta } from "./contentmeta.js";
import { planLayers, type PlannedLayer, type RechunkPlan } from "./plan.js";
import type { RootfsEntry, RootfsSource } from "./rootfs.js";

/** Layer annotation holding the layer's human name (ostree-rs-ext's key for a layer's components). */
export const LAYER_NAME_ANNOTATION = "ostree.components";

export interface BuildFromContentOptions {
  /** Layer format of every layer. */
  format: LayerFormat;
  /** Compression level. */
  level?: number;
  /** Unmapped entries are an error instead of a final layer. */
  strict?: boolean;
  /** Where each layer blob goes (an {@link OciLayout}'s `writeBlob`, say); called once per layer, in order. */
  writeBlob: (blob: ReadableStream<Uint8Array>) => Promise<unknown>;
  /** Target platform (default linux/amd64). */
  platform?: Platform;
  /** Base config (`config.Env`, `Cmd`, …); `Labels` are merged with the contentmeta's, which win. */
  config?: Partial<ImageConfig>;
  /** Called as each layer is finished. */
  onLayer?: (layer: BuiltContentLayer, index: number) => void;
  core?: Core;
  sha256?: Sha256Factory;
}

export interface BuiltContentLayer extends LayerResult {
  /** contentmeta layer id (undefined for the unmapped layer). */
  id?: string;
  name: string;
  /** Tar entries in the layer, parent directories included. */
  entries: number;
}

export interface BuiltFromContent {
  image: BuiltImage;
  layers: BuiltContentLayer[];
  plan: RechunkPlan;
}

/** The tar of one planned layer: headers from the root file system, payloads read again from it. */
export async function* layerTarPieces(rootfs: RootfsSource, layer: PlannedLayer): AsyncGenerator<Uint8Array, void, void> {
  let length = 0;
  for (const planned of layer.entries) {
    const e = planned.rootfs;
    const header: TarWriteEntry = { ...e.entry };
    if (planned.linkTo !== undefined) {
      header.type = "hardlink";
      header.linkname = planned.linkTo;
      delete header.size;
    }
    const h = encodeTarHeader(header);
    length += h.length;
    yield h;
    if (header.type === "file") {
      for await (const piece of filePayload(await rootfs.read(e), e.size, e.path)) {
        length += piece.length;
        yield piece;
      }
    }
  }
  yield encodeTarEnd(length);
}

async function contentDigest(rootfs: RootfsSource, e: RootfsEntry, sha: Sha256Factory): Promise<string> {
  const h = sha();
  let n = 0;
  const source: ByteSource = await rootfs.read(e);
  for await (const piece of iterateSource(source)) {
    n += piece.length;
    h.update(piece);
  }
  if (n !== e.size) {
    throw new LayerkitError("SIZE_MISMATCH", `${e.path} changed while it was read (${e.size} bytes expected, ${n} read)`, {
      path: e.path,
      size: e.size,
    });
  }
  return `sha256:${h.hex()}`;
}

/**
 * Builds an image from `rootfs` split as `contentmeta` says (rules: src/rechunk/plan.ts). Layer
 * blobs go to `options.writeBlob` as they are made; the config and manifest are returned for the
 * caller to store (e.g. `OciLayout.writeImage`).
 *
 * @example
 * ```ts
 * const meta = parseContentMeta(await Deno.readFile("contentmeta.json"));
 * const layout = await openLayout("oci", { create: true });
 * const { image } = await buildImageFromContent(directoryRootfs(nodeDirectoryFs("rootfs"), { mtime: 0 }), meta, {
 *   format: "zstd:chunked",
 *   writeBlob: (b) => layout.writeBlob(b),
 * });
 * await layout.writeImage(image, "latest");
 * ```
 */
export async function buildImageFromContent(
  rootfs: RootfsSource,
  contentmeta: ContentMeta,
  options: BuildFromContentOptions,
): Promise<BuiltFromContent> {
  const sha = await sha256Factory(options.sha256);
  const plan = await planLayers(rootfs, contentmeta, { strict: options.strict ?? false, digestOf: (e) => contentDigest(rootfs, e, sha) });
  if (plan.layers.length > 127) {
    throw new LayerkitError(
      "LIMIT_EXCEEDED",
      `the image would have ${plan.layers.length} layers (127 declared plus the unmapped one); Docker's overlay limit is 127`,
      { layers: plan.layers.length },
    );
  }
  const layers: BuiltContentLayer[] = [];
  for (const [i, layer] of plan.layers.entries()) {
    const writer = createLayer(streamFromGenerator(layerTarPieces(rootfs, layer)), {
      format: options.format,
      ...(options.level === undefined ? {} : { level: options.level }),
      ...(options.core ? { core: options.core } : {}),
    });
    await options.writeBlob(writer.stream);
    const result = await writer.result;
    const built: BuiltContentLayer = {
      ...result,
      ...(layer.id === undefined ? {} : { id: layer.id }),
      name: layer.name,
      entries: layer.entries.length,
    };
    layers.push(built);
    options.onLayer?.(built, i);
  }

  const labels = Object.fromEntries(contentmeta.labels);
  const base = structuredClone(options.config ?? {});
  const mergedLabels = { ...(base.config?.Labels ?? {}), ...labels };
  if (Object.keys(mergedLabels).length > 0) base.config = { ...(base.config ?? {}), Labels: mergedLabels };
  const created = contentmeta.created;
  const image = await buildImage({
    layers: layers.map(
      (l): BuildLayer => ({
        descriptor: l.descriptor,
        diffID: l.diffID,
        annotations: { [LAYER_NAME_ANNOTATION]: l.name },
        history: { ...(created === undefined ? {} : { created }), created_by: l.name },
      }),
    ),
    config: base,
    ...(options.platform ? { platform: options.platform } : {}),
    ...(Object.keys(labels).length > 0 ? { annotations: labels } : {}),
    ...(created === undefined ? {} : { created }),
    sha256: sha,
  });
  // Report the descriptors as the manifest has them (with the name annotation).
  const final = layers.map((l, i) => ({ ...l, descriptor: image.manifest.value.layers[i]! }));
  return { image, layers: final, plan };
}
