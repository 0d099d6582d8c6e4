/**
 * `image append BASE --layer DIR|TAR|BLOB... -t DST`: the CLI glue over {@link appendImage}.
 * Every input is checked before anything is written; the layers are read one at a time.
 */
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { appendImage, type AppendLayer } from "../../image/append-image.js";
import { parseImageRef } from "../../image/image-ref.js";
import { openImage } from "../../image/open-image.js";
import { LayerkitError } from "../../errors.js";
import { parsePlatform } from "../../oci/platform.js";
import type { Platform } from "../../oci/types.js";
import type { RegistryClientOptions } from "../../registry/client.js";
import type { CliContext } from "../command.js";
import { EXIT_OK, UsageError } from "../errors.js";
import { configChangesFrom, manifestAnnotationsFrom } from "../image-config-flags.js";
import { describeLayerBlob, isCompressedBlob } from "../layer-blob.js";
import { isDirectory, openFileStream } from "../node-io.js";
import { createProgress } from "../progress.js";
import { registryOptions } from "../registry-options.js";
import { openTarInput } from "../tar-input.js";
import { parseFormat } from "./create.js";
import { layerWriteOptions } from "../layer-write-flags.js";

function clientOptions(arg: string, values: Record<string, unknown>, ctx: CliContext): RegistryClientOptions {
  const ref = parseImageRef(arg);
  return ref.transport === "docker" ? registryOptions(values, ref.image.registry, ref.image.repository, ctx) : {};
}

/** What `created_by` says of a layer: layerkit, the command and the input's name (not its full path, so output does not depend on where it lies). */
export function createdBy(command: string, path: string, format: string): string {
  return `layerkit ${command} --layer ${basename(path) || path} (${format})`;
}

export async function runImageAppend(values: Record<string, unknown>, [base, ...extra]: string[], ctx: CliContext): Promise<number> {
  if (base === undefined || extra.length > 0) throw new UsageError("image append takes BASE (and -t DST)");
  const dst = values.tag;
  if (typeof dst !== "string") throw new UsageError("image append needs -t DST (docker://HOST/REPO:TAG, HOST/REPO:TAG or oci:DIR[:TAG])");
  const paths = (values.layer as string[] | undefined) ?? [];
  if (paths.length === 0) throw new UsageError("image append needs at least one --layer");
  const formats = values.format as string[] | undefined;
  if (formats && formats.length > 1) throw new UsageError("image append takes --format once (for every directory or tar layer)");
  const format = formats?.[0] === undefined ? undefined : parseFormat(formats[0], "--format");
  const write = format === undefined ? {} : layerWriteOptions(values, format);
  const list = values.platform as string[] | undefined;
  if (list && list.length > 1) throw new UsageError("image append takes --platform once: the result is a single-platform image");
  let platform: Platform | undefined;
  try {
    if (list?.[0] !== undefined) platform = parsePlatform(list[0]);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const changes = configChangesFrom(values);
  const annotations = manifestAnnotationsFrom(values);
  parseImageRef(base);
  parseImageRef(dst);

  const layers: AppendLayer[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) throw new LayerkitError("NOT_FOUND", `--layer ${path} does not exist`, { path });
    if (!(await isDirectory(path)) && (await isCompressedBlob(path))) {
      const described = await describeLayerBlob(path, createProgress(basename(path), ctx.tty));
      if (format !== undefined && format !== described.format) {
        throw new UsageError(`--layer ${path} is already a ${described.format} layer; use convert to change its format`);
      }
      layers.push({
        kind: "blob",
        open: async () => (await openFileStream(path)).stream,
        descriptor: described.descriptor,
        diffID: described.diffID,
        createdBy: createdBy("image append", path, described.format),
      });
      continue;
    }
    if (format === undefined) {
      throw new UsageError(`--layer ${path} is a ${(await isDirectory(path)) ? "directory" : "tar"}: --format is required to compress it`);
    }
    layers.push({
      kind: "tar",
      ...write,
      format,
      tar: async () => (await openTarInput(path, values, ctx, createProgress(basename(path), ctx.tty), false)).tar,
      createdBy: createdBy("image append", path, format),
    });
  }

  const source = await openImage(base, { registry: clientOptions(base, values, ctx) });
  const target = await openImage(dst, { registry: clientOptions(dst, values, ctx), create: true });
  const r = await appendImage(source, target, layers, {
    ...changes,
    ...(platform ? { platform } : {}),
    ...(annotations ? { annotations } : {}),
  });
  ctx.printJson({ base: r.base, platform: r.platform, descriptor: r.descriptor, config: r.config, layers: r.layers });
  ctx.log(`${dst}: ${r.descriptor.digest} (${r.descriptor.mediaType}, ${r.platform.os}/${r.platform.architecture})`);
  for (const l of r.layers) ctx.log(`  + ${(l.format ?? "blob").padEnd(12)} ${l.descriptor.digest} ${l.descriptor.size} bytes`);
  return EXIT_OK;
}
