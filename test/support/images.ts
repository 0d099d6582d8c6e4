/**
 * Test images: gzip (or any format) images built with layerkit's own writers and pushed to a
 * registry or written to an OCI layout, single-platform or as an index.
 */
import { buildImage, buildIndex, type BuiltImage } from "../../src/oci/build.js";
import type { OciLayout } from "../../src/oci/layout.js";
import type { Descriptor, Platform } from "../../src/oci/types.js";
import type { RegistryClient } from "../../src/registry/client.js";
import type { LayerFormat } from "../../src/layer/result.js";
import { type MadeLayer, makeLayer } from "./registry.js";

export interface TestImage {
  built: BuiltImage;
  layers: MadeLayer[];
  platform: Platform;
}

/** One image of `tars` compressed as `format`, with a history entry per layer. */
export async function makeImage(
  tars: Uint8Array[],
  format: LayerFormat,
  options: { platform?: Platform; docker?: boolean; annotations?: Record<string, string> } = {},
): Promise<TestImage> {
  const layers: MadeLayer[] = [];
  for (const t of tars) layers.push(await makeLayer(t, format));
  const platform = options.platform ?? { os: "linux", architecture: "amd64" };
  const built = await buildImage({
    layers: layers.map((l) => ({ descriptor: l.result.descriptor, diffID: l.result.diffID })),
    platform,
    config: { config: { Env: ["PATH=/usr/bin"], Cmd: ["/bin/sh"] }, history: layers.map((_, i) => ({ created_by: `layer ${i}` })) },
    ...(options.docker ? { format: "docker" as const } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  });
  return { built, layers, platform };
}

/** Pushes images (an index over them when there are several, or `index: true`) under `tag`. */
export async function pushImages(
  client: RegistryClient,
  repository: string,
  tag: string,
  images: TestImage[],
  options: { index?: boolean; docker?: boolean } = {},
): Promise<Descriptor> {
  const pushed: Descriptor[] = [];
  for (const img of images) {
    const single = images.length === 1 && !options.index;
    const d = await client.pushImage(
      repository,
      img.built,
      img.layers.map((l) => ({ descriptor: img.built.manifest.value.layers[img.layers.indexOf(l)]!, data: () => l.blob })),
      single ? tag : undefined,
    );
    pushed.push({ ...d, platform: img.platform });
  }
  if (images.length === 1 && !options.index) return pushed[0]!;
  const index = await buildIndex(pushed, options.docker ? { format: "docker" } : {});
  return client.pushManifest(repository, tag, index.bytes, index.descriptor.mediaType);
}

/** Writes one image into a layout under `tag`. */
export async function writeLayoutImage(layout: OciLayout, tag: string, image: TestImage): Promise<Descriptor> {
  for (const l of image.layers) await layout.writeBlob(l.blob);
  return layout.writeImage(image.built, tag);
}
