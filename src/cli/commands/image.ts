import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { LayerkitError } from "../../errors.js";
import { createLayer } from "../../create-layer.js";
import type { LayerFormat, LayerResult } from "../../layer/result.js";
import { buildImage, buildIndex, type BuildLayer, type BuiltImage } from "../../oci/index.js";
import { parseBuildPlatforms } from "../build-platforms.js";
import { layerWriteOptions } from "../layer-write-flags.js";
import type { OciLayout } from "../../oci/layout.js";
import type { CliContext, Command } from "../command.js";
import { EXIT_OK, UsageError } from "../errors.js";
import { describeLayerBlob, isCompressedBlob } from "../layer-blob.js";
import { withLayoutOutput } from "../layout-output.js";
import { isDirectory, openFileStream } from "../node-io.js";
import { createProgress } from "../progress.js";
import { openTarInput, TAR_INPUT_HELP, TAR_INPUT_OPTIONS } from "../tar-input.js";
import { ANNOTATION_KEYS_HELP, parseAnnotationKeysArg, parseFormat, parseLevel } from "./create.js";
import { diffSizeCli } from "./image-diff-size.js";
import { buildFromContentCli, CONTENT_BUILD_HELP, CONTENT_BUILD_OPTIONS } from "./image-content.js";
import { IMAGE_OPTIONS, runImageConvert, runImageVerify } from "../image-commands.js";
import { CONFIG_HELP, CONFIG_OPTIONS, configChangesFrom, manifestAnnotationsFrom } from "../image-config-flags.js";
import { applyConfigChanges } from "../../image/config-changes.js";
import { createdBy, runImageAppend } from "./image-append.js";

/** A platform's own layer (`--platform P=PATH`) is compressed with the one `--format` given (a blob keeps its own). */
function formatForOwnLayers(formats: string[] | undefined): LayerFormat | undefined {
  if (!formats || formats.length === 0) return undefined;
  if (formats.length !== 1) throw new UsageError("with --platform P=PATH, give --format once (it applies to every layer)");
  return parseFormat(formats[0], "--format");
}

/** `--format` given once applies to every layer; given per layer, in the order of `--layer`. */
function formatsFor(layers: string[], formats: string[] | undefined): Array<LayerFormat | undefined> {
  if (!formats || formats.length === 0) return layers.map(() => undefined);
  if (formats.length !== 1 && formats.length !== layers.length) {
    throw new UsageError(`give --format once or once per --layer (${layers.length}), not ${formats.length} times`);
  }
  return layers.map((_, i) => parseFormat(formats[formats.length === 1 ? 0 : i], "--format"));
}

async function addLayer(
  layout: OciLayout,
  path: string,
  format: LayerFormat | undefined,
  values: Record<string, unknown>,
  ctx: CliContext,
): Promise<LayerResult> {
  const progress = createProgress(basename(path), ctx.tty);
  const annotationKeys = parseAnnotationKeysArg(values["annotation-keys"]);
  if (!(await isDirectory(path)) && (await isCompressedBlob(path))) {
    // An existing layer blob: kept byte for byte, in its own format.
    const described = await describeLayerBlob(path, progress, annotationKeys);
    if (format !== undefined && format !== described.format) {
      throw new UsageError(`--layer ${path} is already a ${described.format} layer; use convert to change its format`);
    }
    await layout.writeBlob((await openFileStream(path)).stream, { digest: described.digest, size: described.size });
    return described;
  }
  if (format === undefined) {
    throw new UsageError(`--layer ${path} is a ${(await isDirectory(path)) ? "directory" : "tar"}: --format is required to compress it`);
  }
  const { tar } = await openTarInput(path, values, ctx, progress, false);
  const writer = createLayer(tar, { ...layerWriteOptions(values, format), format });
  await layout.writeBlob(writer.stream);
  return await writer.result;
}

export const image: Command = {
  name: "image",
  summary: "Build an OCI image layout from layers (directories, tars or existing layer blobs)",
  usage: "image build --layer DIR|TAR|BLOB... -o LAYOUT [--format FORMAT]... [--tag REF] [--platform OS/ARCH[/VARIANT][=PATH]]...\n" +
    "       layerkit image build --rootfs DIR|TAR --contentmeta FILE [--strict] --format FORMAT -o LAYOUT [--tag REF]\n" +
    "       layerkit image append BASE --layer DIR|TAR|BLOB... -t DST [--format FORMAT] [--platform P] [config flags]\n" +
    "       layerkit image convert SRC DST --format FORMAT [--platform P]... [--force] [--manifest-type oci|docker]\n" +
    "       layerkit image verify SRC [--platform P]...\n" +
    "       layerkit image diff-size [oci:]OLD[:TAG] [oci:]NEW[:TAG] [--json]",
  help: [
    [
      "--layer PATH",
      "a layer, bottom first (repeatable): a directory or tar is compressed with --format; a gzip/zstd layer blob is added as is",
    ],
    ["-o, --output LAYOUT", "the OCI image layout directory (created; or added to when it exists)"],
    ["--format FORMAT", "zstd:chunked, estargz, zstd or gzip: once for all layers, or once per --layer"],
    ["--level N", "compression level for layers made here"],
    ["-t, --tag REF", "build: the image's name in index.json (org.opencontainers.image.ref.name; default latest); append: DST"],
    [
      "BASE, DST",
      "append: docker://HOST/REPO:TAG, HOST/REPO:TAG or oci:DIR[:TAG]; the result is always an OCI manifest of one platform (--platform picks it from an index)",
    ],
    [
      "--platform P[=PATH]",
      "os/architecture[/variant] (default linux/amd64); build: repeat it for an OCI index of one manifest per platform, all sharing the --layer list; P=PATH adds PATH as that platform's own top layer",
    ],
    ANNOTATION_KEYS_HELP,
    ["--created T", "RFC 3339 creation time for the config and new history entries (default: none, so digests are reproducible)"],
    ...CONFIG_HELP,
    ["SRC, DST", "convert/verify: docker://HOST/REPO:TAG, HOST/REPO:TAG or oci:DIR[:TAG]"],
    ["--force", "convert: convert layers already in the target format too"],
    ["--concurrency N", "convert: layers converted at once (default 2)"],
    ["--manifest-type T", "convert: oci (default) or docker (gzip/estargz only)"],
    ["--prioritize FILE", "estargz (build, append, convert): files to put first and prefetch (repeatable)"],
    ["--chunk-size N", "estargz (build, append, convert): uncompressed chunk size in bytes (default 4 MiB)"],
    ...TAR_INPUT_HELP,
    ...CONTENT_BUILD_HELP,
  ],
  example: "layerkit image build --layer rootfs/ --layer app.tar --format zstd:chunked -o ./oci --tag v1 && skopeo inspect oci:./oci:v1",
  options: {
    layer: { type: "string", multiple: true },
    output: { type: "string", short: "o" },
    format: { type: "string", multiple: true },
    level: { type: "string" },
    tag: { type: "string", short: "t" },
    platform: { type: "string", multiple: true },
    created: { type: "string" },
    "annotation-keys": { type: "string" },
    ...TAR_INPUT_OPTIONS,
    ...CONTENT_BUILD_OPTIONS,
    ...IMAGE_OPTIONS,
    ...CONFIG_OPTIONS,
  },
  positionals: [1, 3],
  async run(values, [sub, ...rest], ctx) {
    if (sub === "convert") return runImageConvert(values, rest, ctx);
    if (sub === "append") return runImageAppend(values, rest, ctx);
    if (sub === "verify") return runImageVerify(values, rest, ctx);
    if (sub === "diff-size") return diffSizeCli(rest[0], rest[1], ctx);
    if (sub !== "build") {
      throw new UsageError(`unknown image subcommand ${JSON.stringify(sub)} (expected build, append, convert, verify or diff-size)`);
    }
    if (rest.length > 0) throw new UsageError("image build takes no positional arguments");
    const layers = (values.layer as string[] | undefined) ?? [];
    const fromContent = values.rootfs !== undefined || values.contentmeta !== undefined;
    const platformLayers = ((values.platform as string[] | undefined) ?? []).some((p) => p.includes("="));
    if (layers.length === 0 && !fromContent && !platformLayers) {
      throw new UsageError("at least one --layer (or --rootfs with --contentmeta) is required");
    }
    if (typeof values.output !== "string") throw new UsageError("-o LAYOUT is required");
    const tag = typeof values.tag === "string" ? values.tag : "latest";
    const targets = parseBuildPlatforms(values.platform as string[] | undefined);
    if (fromContent) {
      if (targets.length > 1 || targets[0]!.layer !== undefined) {
        throw new UsageError("--rootfs with --contentmeta builds one platform: give --platform once, without =PATH");
      }
      return buildFromContentCli(values, values.output, tag, targets[0]!.platform, ctx);
    }
    if (values.strict) throw new UsageError("--strict applies to --rootfs with --contentmeta");
    const formats = formatsFor(layers, values.format as string[] | undefined);
    const own = targets.filter((t) => t.layer !== undefined);
    const ownFormat = own.length === 0 ? undefined : formatForOwnLayers(values.format as string[] | undefined);
    if (layers.length === 0 && own.length < targets.length) {
      throw new UsageError("at least one --layer is required for a --platform without =PATH");
    }
    parseLevel(values.level);
    parseAnnotationKeysArg(values["annotation-keys"]);
    const changes = configChangesFrom(values);
    const annotations = manifestAnnotationsFrom(values);
    for (const path of [...layers, ...own.map((t) => t.layer!)]) {
      if ((await stat(path).catch(() => undefined)) === undefined) {
        throw new LayerkitError("NOT_FOUND", `--layer ${path} does not exist`, { path });
      }
    }

    const out = values.output;
    const created = typeof values.created === "string" ? values.created : undefined;
    const { builds, results, manifest } = await withLayoutOutput(out, async (layout) => {
      // Shared layers are written once; each platform's own layer after them.
      const shared: LayerResult[] = [];
      for (const [i, path] of layers.entries()) shared.push(await addLayer(layout, path, formats[i], values, ctx));
      const results = [...shared];
      const builds: BuiltImage[] = [];
      for (const t of targets) {
        const mine = t.layer === undefined ? [] : [await addLayer(layout, t.layer, ownFormat, values, ctx)];
        const paths = [...layers, ...(t.layer === undefined ? [] : [t.layer])];
        const config = applyConfigChanges(
          { architecture: t.platform.architecture, os: t.platform.os, rootfs: { type: "layers", diff_ids: [] } },
          changes,
        );
        const { rootfs: _r, ...base } = config;
        builds.push(
          await buildImage({
            layers: [...shared, ...mine].map((r, i): BuildLayer => ({
              descriptor: r.descriptor,
              diffID: r.diffID,
              history: { ...(created ? { created } : {}), created_by: createdBy("image build", paths[i]!, r.format) },
            })),
            platform: t.platform,
            config: base,
            ...(annotations ? { annotations } : {}),
            ...(created ? { created } : {}),
          }),
        );
        results.push(...mine);
      }
      if (builds.length === 1) return { builds, results, manifest: await layout.writeImage(builds[0]!, tag) };
      // Several platforms: manifests first, then the index that names them, then its tag.
      for (const b of builds) {
        await layout.writeBlob(b.config.bytes, { digest: b.config.descriptor.digest, size: b.config.descriptor.size });
        await layout.writeBlob(b.manifest.bytes, { digest: b.manifest.descriptor.digest, size: b.manifest.descriptor.size });
      }
      const index = await buildIndex(builds.map((b) => b.manifest.descriptor), annotations ? { annotations } : {});
      await layout.writeBlob(index.bytes, { digest: index.descriptor.digest, size: index.descriptor.size });
      await layout.addToIndex(index.descriptor, tag);
      return { builds, results, manifest: index.descriptor };
    });
    const built = builds[0]!;
    ctx.printJson({
      layout: out,
      tag,
      manifest,
      config: built.config.descriptor,
      layers: results.map((r) => ({ format: r.format, descriptor: r.descriptor, diffID: r.diffID })),
      ...(builds.length > 1
        ? {
          manifests: builds.map((b) => ({
            platform: b.manifest.descriptor.platform,
            manifest: b.manifest.descriptor,
            config: b.config.descriptor,
          })),
        }
        : {}),
    });
    ctx.log(
      `${out}: ${tag} ${manifest.digest} (${builds.length > 1 ? `index of ${builds.length} platforms, ` : ""}${results.length} layer${
        results.length === 1 ? "" : "s"
      })`,
    );
    for (const r of results) ctx.log(`  ${r.format.padEnd(12)} ${r.digest} ${r.size} bytes`);
    return EXIT_OK;
  },
};
