/**
 * `image build --rootfs DIR|TAR --contentmeta FILE`: the CLI glue over
 * {@link buildImageFromContent} (src/rechunk/build.ts); all rules live there.
 */
import { readFile } from "node:fs/promises";
import type { Platform } from "../../oci/types.js";
import { buildImageFromContent } from "../../rechunk/build.js";
import { parseContentMeta } from "../../rechunk/contentmeta.js";
import { directoryRootfs, type RootfsSource } from "../../rechunk/rootfs.js";
import { tarRootfs } from "../../rechunk/tar-rootfs.js";
import { openFileSource } from "../../source/node-file.js";
import { nodeDirectoryFs } from "../../tar/from-directory-node.js";
import type { CliContext } from "../command.js";
import { EXIT_OK, UsageError } from "../errors.js";
import { withLayoutOutput } from "../layout-output.js";
import { isDirectory } from "../node-io.js";
import { parseMtime } from "../tar-input.js";
import { parseFormat, parseLevel } from "./create.js";

export const CONTENT_BUILD_OPTIONS = {
  rootfs: { type: "string" },
  contentmeta: { type: "string" },
  strict: { type: "boolean" },
} as const;

export const CONTENT_BUILD_HELP: Array<[string, string]> = [
  ["--rootfs DIR|TAR", "with --contentmeta: a root file system to split into the layers the contentmeta declares"],
  ["--contentmeta FILE", "contentmeta v1 JSON (ostree-rs-ext's): layers, file → layer mapping, labels, created, ordered"],
  ["--strict", 'with --contentmeta: files no key maps are an error (default: they go to a final "unmapped" layer)'],
];

async function openRootfs(
  path: string,
  values: Record<string, unknown>,
  ctx: CliContext,
): Promise<{ rootfs: RootfsSource; close: () => Promise<void> }> {
  if (await isDirectory(path)) {
    const mtime = parseMtime(values.mtime, process.env.SOURCE_DATE_EPOCH);
    const rootfs = directoryRootfs(nodeDirectoryFs(path), {
      ...(mtime === undefined ? {} : { mtime }),
      keepOwners: Boolean(values["keep-owners"]),
      includeDevices: Boolean(values.devices),
      onSkip: (p, reason) => {
        if (!ctx.quiet && !ctx.json) process.stderr.write(`layerkit: skipping ${reason} ${p}\n`);
      },
    });
    return { rootfs, close: async () => {} };
  }
  if (values.mtime !== undefined || values["keep-owners"] || values.devices) {
    throw new UsageError("--mtime, --keep-owners and --devices apply to a directory --rootfs only");
  }
  const file = await openFileSource(path);
  try {
    return { rootfs: await tarRootfs(file), close: () => file.close() };
  } catch (e) {
    await file.close();
    throw e;
  }
}

/** Runs `image build --rootfs … --contentmeta …` once image.ts has checked the shared flags. */
export async function buildFromContentCli(
  values: Record<string, unknown>,
  out: string,
  tag: string,
  platform: Platform,
  ctx: CliContext,
): Promise<number> {
  if (typeof values.rootfs !== "string" || typeof values.contentmeta !== "string") {
    throw new UsageError("--rootfs and --contentmeta go together");
  }
  if (values.layer !== undefined) throw new UsageError("--layer cannot be combined with --rootfs");
  if (values.created !== undefined) throw new UsageError('with --contentmeta the creation time is the contentmeta\'s "created"');
  const formats = (values.format as string[] | undefined) ?? [];
  if (formats.length !== 1) throw new UsageError("with --rootfs give --format exactly once (it applies to every layer)");
  const format = parseFormat(formats[0], "--format");
  const level = parseLevel(values.level);
  const meta = parseContentMeta(await readFile(values.contentmeta));
  const { rootfs, close } = await openRootfs(values.rootfs, values, ctx);

  let result;
  try {
    result = await withLayoutOutput(out, async (layout) => {
      const built = await buildImageFromContent(rootfs, meta, {
        format,
        ...(level === undefined ? {} : { level }),
        strict: Boolean(values.strict),
        platform,
        writeBlob: (blob) => layout.writeBlob(blob),
        onLayer: (l, i) => ctx.log(`  layer ${i + 1}: ${l.name} (${l.entries} entries) ${l.digest} ${l.size} bytes`),
      });
      return { built, manifest: await layout.writeImage(built.image, tag) };
    });
  } finally {
    await close();
  }
  const { built, manifest } = result;
  ctx.printJson({
    layout: out,
    tag,
    manifest,
    config: built.image.config.descriptor,
    unmapped: built.plan.unmapped,
    layers: built.layers.map((l) => ({
      ...(l.id === undefined ? {} : { id: l.id }),
      name: l.name,
      entries: l.entries,
      format: l.format,
      descriptor: l.descriptor,
      diffID: l.diffID,
    })),
  });
  ctx.log(
    `${out}: ${tag} ${manifest.digest} (${built.layers.length} layers${
      built.plan.unmapped > 0 ? `, ${built.plan.unmapped} unmapped entries in the last` : ""
    })`,
  );
  return EXIT_OK;
}
