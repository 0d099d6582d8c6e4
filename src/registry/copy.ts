/**
 * Copying images between a registry and an OCI image layout, index and all: every blob is
 * verified on the way (pulled blobs get their final layout name only after their digest
 * matched; pushed ones are checked by the upload), and children are copied before the
 * manifests and indexes that point at them, so neither side ever references missing content.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { blobPath, type OciLayout } from "../oci/layout.js";
import { selectPlatform } from "../oci/platform.js";
import type { Descriptor, Platform } from "../oci/types.js";
import { MAX_MANIFEST_BYTES } from "../oci/validate.js";
import type { PulledManifest, RegistryClient } from "./client.js";

export interface CopyOptions {
  /** Copy only the image for this platform when the reference names an index. */
  platform?: Platform;
}

/** Nesting of indexes we follow (real images use one level). */
const MAX_DEPTH = 4;

/**
 * Pulls `repository:reference` into `layout` and names it `ref` in `index.json` (default: the
 * tag, when `reference` is one). Returns the top descriptor written.
 */
export async function pullToLayout(
  client: RegistryClient,
  repository: string,
  reference: string,
  layout: OciLayout,
  options: CopyOptions & { ref?: string } = {},
): Promise<Descriptor> {
  let top = await client.getManifest(repository, reference);
  if (options.platform && top.parsed.kind === "index") {
    const chosen = selectPlatform(top.parsed.manifest, options.platform);
    top = await client.getManifest(repository, chosen.digest, chosen);
  }
  const copyBlob = async (d: Descriptor): Promise<void> => {
    if ((await layout.fs.size(blobPath(d.digest))) === d.size) return; // already there (verified when it was written)
    await layout.writeBlob(await client.openBlob(repository, d), { digest: d.digest, size: d.size });
  };
  const copyManifest = async ({ bytes, parsed, descriptor }: PulledManifest, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw new LayerkitError("BAD_MANIFEST", "indexes nested too deeply", { repository });
    if (parsed.kind === "index") {
      for (const child of parsed.manifest.manifests) {
        const c = await client.getManifest(repository, child.digest, child);
        await copyManifest(c, depth + 1);
      }
    } else {
      await copyBlob(parsed.manifest.config);
      for (const l of parsed.manifest.layers) await copyBlob(l);
    }
    await layout.writeBlob(bytes, { digest: descriptor.digest, size: descriptor.size });
  };
  await copyManifest(top, 0);
  const ref = options.ref ?? (reference.startsWith("sha256:") ? undefined : reference);
  await layout.addToIndex(top.descriptor, ref);
  return top.descriptor;
}

/**
 * Pushes the layout's image named `ref` (index and all) to `repository`, tagged `tag` (default:
 * `ref`). Blobs the repository has are skipped. Returns the top descriptor.
 */
export async function pushFromLayout(
  layout: OciLayout,
  ref: string | undefined,
  client: RegistryClient,
  repository: string,
  tag?: string,
): Promise<Descriptor> {
  const top = await layout.resolve(ref);
  const pushBlob = async (d: Descriptor): Promise<void> => {
    if ((await client.hasBlob(repository, d.digest)) === d.size) return;
    await client.pushBlob(repository, await layout.openBlob(d.digest, { size: d.size }), { digest: d.digest, size: d.size });
  };
  const pushManifest = async (d: Descriptor, reference: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw new LayerkitError("BAD_MANIFEST", "indexes nested too deeply", { digest: d.digest });
    const parsed = await layout.readManifest(d);
    if (parsed.kind === "index") {
      for (const child of parsed.manifest.manifests) await pushManifest(child, child.digest, depth + 1);
    } else {
      await pushBlob(parsed.manifest.config);
      for (const l of parsed.manifest.layers) await pushBlob(l);
    }
    const bytes = await layout.readBlob(d.digest, { size: d.size, maxBytes: MAX_MANIFEST_BYTES });
    await client.pushManifest(repository, reference, bytes, parsed.mediaType);
  };
  const name = tag ?? ref ?? top.digest;
  await pushManifest(top, name, 0);
  return top;
}
