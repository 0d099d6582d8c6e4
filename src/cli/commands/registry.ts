import { type Descriptor, parsePlatform } from "../../oci/index.js";
import { openLayout } from "../../oci/layout-node.js";
import { RegistryClient } from "../../registry/index.js";
import type { Command } from "../command.js";
import { EXIT_OK, UsageError } from "../errors.js";
import { withLayoutOutput } from "../layout-output.js";
import { countingStream, createProgress } from "../progress.js";
import { parseImageArg, parseRegistryArg } from "../image-ref.js";
import { REGISTRY_HELP, REGISTRY_OPTIONS, registryOptions } from "../registry-options.js";

function platformArg(value: unknown) {
  if (value === undefined) return undefined;
  try {
    return parsePlatform(String(value));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** `-o LAYOUT` / `oci:DIR[:TAG]` for pull; a layout SOURCE for push: `DIR`, or `oci:DIR[:TAG]`. */
function layoutArg(arg: string): { dir: string; tag?: string } {
  if (!arg.startsWith("oci:")) return { dir: arg };
  const parsed = parseImageArg(arg);
  if (parsed.kind !== "layout") throw new UsageError(`${arg} is not oci:DIR[:TAG]`);
  return parsed.tag === undefined ? { dir: parsed.dir } : { dir: parsed.dir, tag: parsed.tag };
}

export const pull: Command = {
  name: "pull",
  summary: "Copy an image from a registry into an OCI image layout (every blob verified)",
  usage: "pull [docker://]HOST/REPO[:TAG|@DIGEST] -o LAYOUT|oci:DIR[:TAG] [--tag NAME] [--platform OS/ARCH[/VARIANT]]",
  help: [
    ["-o, --output LAYOUT", "the OCI layout directory (created; or added to); oci:DIR:TAG names the image too"],
    ["--tag NAME", "the image's name in index.json (default: the reference's tag, else latest)"],
    ["--platform P", "from a multi-platform index: os/architecture[/variant] (default linux/amd64)"],
    ...REGISTRY_HELP,
  ],
  example: "layerkit pull localhost:5000/app:v1 -o ./oci && layerkit inspect ./oci/blobs/sha256/<layer digest>",
  options: { output: { type: "string", short: "o" }, tag: { type: "string" }, platform: { type: "string" }, ...REGISTRY_OPTIONS },
  positionals: [1, 1],
  async run(values, [arg], ctx) {
    if (typeof values.output !== "string") throw new UsageError("-o LAYOUT is required");
    const ref = parseRegistryArg(arg!);
    const out = layoutArg(values.output);
    const platform = platformArg(values.platform);
    const tag = typeof values.tag === "string" ? values.tag : (out.tag ?? ref.tag ?? "latest");
    const client = new RegistryClient(ref.registry, registryOptions(values, ref.registry, ref.repository, ctx));
    const image = await client.pullImage(ref.repository, ref.reference, platform ? { platform } : {});
    const manifest = await client.getManifest(ref.repository, image.descriptor.digest, image.descriptor);
    const blobs: Descriptor[] = [image.manifest.config, ...image.manifest.layers];
    const total = blobs.reduce((n, d) => n + d.size, 0);
    const progress = createProgress("pull", ctx.tty);
    let done = 0;
    await withLayoutOutput(out.dir, async (layout) => {
      for (const d of blobs) {
        if (await layout.hasBlob(d.digest)) continue;
        // The registry client verifies size and digest as the blob flows; the layout checks again before renaming.
        const stream = (await client.openBlob(ref.repository, d)).pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(piece, c) {
              done += piece.length;
              progress.update(done, total);
              c.enqueue(piece);
            },
          }),
        );
        await layout.writeBlob(stream, { digest: d.digest, size: d.size });
      }
      progress.finish();
      await layout.writeBlob(manifest.bytes, { digest: image.descriptor.digest, size: image.descriptor.size });
      const entry: Descriptor = { mediaType: manifest.descriptor.mediaType, digest: image.descriptor.digest, size: image.descriptor.size };
      if (image.descriptor.platform) entry.platform = image.descriptor.platform;
      await layout.addToIndex(entry, tag);
    });
    ctx.printJson({ layout: out.dir, tag, manifest: image.descriptor, layers: image.manifest.layers, bytes: total });
    ctx.log(`${out.dir}: ${tag} ${image.descriptor.digest} (${image.manifest.layers.length} layer(s), ${total} bytes)`);
    return EXIT_OK;
  },
};

export const push: Command = {
  name: "push",
  summary: "Push an image from an OCI image layout to a registry (blobs the registry has are skipped)",
  usage: "push LAYOUT|oci:DIR[:TAG] [docker://]HOST/REPO[:TAG] [--tag NAME] [--platform OS/ARCH[/VARIANT]]",
  help: [
    ["LAYOUT", "an OCI image layout directory; oci:DIR:TAG picks its image named TAG"],
    ["HOST/REPO[:TAG]", "the destination; without a tag the image is pushed as latest"],
    ["--tag NAME", "which image of the layout (its org.opencontainers.image.ref.name; default: the only one)"],
    ["--platform P", "when the layout entry is an index: os/architecture[/variant]"],
    ...REGISTRY_HELP,
  ],
  example: "layerkit push ./oci localhost:5000/app:v1",
  options: { tag: { type: "string" }, platform: { type: "string" }, ...REGISTRY_OPTIONS },
  positionals: [2, 2],
  async run(values, [dirArg, arg], ctx) {
    const ref = parseRegistryArg(arg!);
    if (ref.digest !== undefined && ref.tag === undefined) {
      throw new UsageError("push to REPO@DIGEST is not supported: give a tag (or none, for latest)");
    }
    const src = layoutArg(dirArg!);
    if (src.tag !== undefined && typeof values.tag === "string" && values.tag !== src.tag) {
      throw new UsageError(`oci:${src.dir}:${src.tag} and --tag ${values.tag} disagree`);
    }
    const platform = platformArg(values.platform);
    const layout = await openLayout(src.dir);
    const image = await layout.readImage(
      src.tag ?? (typeof values.tag === "string" ? values.tag : undefined),
      platform ? { platform } : {},
    );
    const manifestBytes = await layout.readBlob(image.descriptor.digest, { size: image.descriptor.size });
    const client = new RegistryClient(ref.registry, registryOptions(values, ref.registry, ref.repository, ctx));
    const blobs: Descriptor[] = [...image.manifest.layers, image.manifest.config];
    const total = blobs.reduce((n, d) => n + d.size, 0);
    const progress = createProgress("push", ctx.tty);
    const how: Record<string, string> = {};
    for (const d of blobs) {
      const r = await client.pushBlob(
        ref.repository,
        (await layout.openBlob(d.digest, { size: d.size })).pipeThrough(countingStream(progress, d.size)),
        { digest: d.digest, size: d.size },
      );
      how[d.digest] = r.how;
    }
    progress.finish();
    const pushed = await client.pushManifest(ref.repository, ref.tag!, manifestBytes, image.descriptor.mediaType);
    ctx.printJson({ reference: arg, manifest: pushed, blobs: how, bytes: total });
    ctx.log(`${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}: ${pushed.digest}`);
    for (const d of blobs) ctx.log(`  ${how[d.digest]!.padEnd(10)} ${d.digest} ${d.size} bytes`);
    return EXIT_OK;
  },
};
