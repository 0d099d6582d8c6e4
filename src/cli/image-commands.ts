/**
 * CLI glue for whole images: `image convert`, `image verify`, and `ls`/`cat`/`inspect` of an
 * image's merged file system. The work is in src/image/; this only maps arguments and prints.
 */
import { convertImage, type ConvertImageOptions } from "../image/convert-image.js";
import { type ImageFs, openImageFs } from "../image/image-fs.js";
import { looksLikeImageRef, parseImageRef } from "../image/image-ref.js";
import { openImage } from "../image/open-image.js";
import { verifyImage } from "../image/verify-image.js";
import { parsePlatform } from "../oci/platform.js";
import type { Platform } from "../oci/types.js";
import type { CliContext } from "./command.js";
import { EXIT_BAD_CONTENT, EXIT_OK, UsageError } from "./errors.js";
import { formatBytes } from "./progress.js";
import { registryOptions } from "./registry-options.js";
import type { RegistryClientOptions } from "../registry/client.js";
import { parseFormat, parseLevel } from "./commands/create.js";

/** Options `image convert`/`verify` and the image forms of ls/cat/inspect add. */
export const IMAGE_OPTIONS = {
  force: { type: "boolean" },
  concurrency: { type: "string" },
  "manifest-type": { type: "string" },
  prioritize: { type: "string", multiple: true },
  "chunk-size": { type: "string" },
} as const;

export const IMAGE_FS_OPTIONS = {
  platform: { type: "string", multiple: true },
  "no-follow": { type: "boolean" },
} as const;

export const IMAGE_FS_HELP: Array<[string, string]> = [
  [
    "IMAGE",
    "instead of a layer: docker://HOST/REPO:TAG, HOST/REPO:TAG (without --layer) or oci:DIR[:TAG]: the merged file system of its layers",
  ],
  ["--platform P", "with an image index: os/arch[/variant] (default linux/amd64)"],
  ["--no-follow", "with an image: the symlink itself, not what it points at"],
];

/**
 * True when SOURCE names a whole image (not one layer): see {@link IMAGE_FS_HELP}. `--layer` and
 * `--blob` pick a layer instead; `@digest` names a manifest or index, so it is an image too.
 */
export function isImageArg(arg: string, values: Record<string, unknown>): boolean {
  if (values.layer !== undefined || values.blob === true) return false;
  if (arg.startsWith("oci:") || arg.startsWith("docker://")) return true;
  return looksLikeImageRef(arg);
}

/** The registry client options (flags, environment, auth files) for the registry `arg` names. */
function clientOptionsFor(arg: string, values: Record<string, unknown>, ctx: CliContext): RegistryClientOptions {
  const ref = parseImageRef(arg);
  return ref.transport === "docker" ? registryOptions(values, ref.image.registry, ref.image.repository, ctx) : {};
}

function positiveInt(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} takes a positive integer`);
  return n;
}

function platforms(values: Record<string, unknown>): Platform[] | undefined {
  const list = values.platform as string[] | undefined;
  if (!list || list.length === 0) return undefined;
  try {
    return list.map(parsePlatform);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export async function runImageConvert(values: Record<string, unknown>, [src, dst]: string[], ctx: CliContext): Promise<number> {
  if (src === undefined || dst === undefined) throw new UsageError("image convert takes SRC and DST");
  if (typeof values.format !== "object" || (values.format as string[]).length !== 1) {
    throw new UsageError("image convert needs --format FORMAT once");
  }
  const options: ConvertImageOptions = { format: parseFormat((values.format as string[])[0], "--format") };
  const wanted = platforms(values);
  if (wanted) options.platforms = wanted;
  if (values.force) options.force = true;
  const concurrency = positiveInt(values.concurrency, "--concurrency");
  if (concurrency !== undefined) options.concurrency = concurrency;
  const mt = values["manifest-type"];
  if (mt !== undefined && mt !== "oci" && mt !== "docker") throw new UsageError("--manifest-type is oci or docker");
  if (mt !== undefined) options.manifestType = mt;
  const level = parseLevel(values.level);
  if (level !== undefined) options.level = level;
  if (values.prioritize) options.prioritizedFiles = values.prioritize as string[];
  const chunk = positiveInt(values["chunk-size"], "--chunk-size");
  if (chunk !== undefined) options.chunkSize = chunk;
  options.onProgress = (e) => {
    if (e.phase === "done") {
      process.stderr.write(ctx.quiet || ctx.json ? "" : `${e.platform ?? ""} layer ${e.layer} ${e.digest.slice(7, 19)} ${e.action}\n`);
    }
  };
  const source = await openImage(src, { registry: clientOptionsFor(src, values, ctx) });
  const target = await openImage(dst, { registry: clientOptionsFor(dst, values, ctx), create: true });
  const r = await convertImage(source, target, options);
  ctx.printJson({
    source: r.source,
    descriptor: r.descriptor,
    skipped: r.skipped,
    images: r.images.map((i) => ({ platform: i.platform, manifest: i.manifest, config: i.config, layers: i.layers })),
  });
  ctx.log(`${dst}: ${r.descriptor.digest} (${r.descriptor.mediaType})`);
  for (const i of r.images) {
    for (const l of i.layers) {
      ctx.log(
        `  ${(i.platform ? `${i.platform.os}/${i.platform.architecture}` : "").padEnd(12)} ${l.layer} ${
          l.action.padEnd(9)
        } ${l.from.format} ${l.from.digest.slice(7, 19)} ${formatBytes(l.from.size)} -> ${l.to.format} ${l.to.digest.slice(7, 19)} ${
          formatBytes(l.to.size)
        }`,
      );
    }
  }
  for (const s of r.skipped) ctx.log(`  skipped ${s.digest}: ${s.reason}`);
  return EXIT_OK;
}

export async function runImageVerify(values: Record<string, unknown>, [src]: string[], ctx: CliContext): Promise<number> {
  if (src === undefined) throw new UsageError("image verify takes SRC");
  const wanted = platforms(values);
  const source = await openImage(src, { registry: clientOptionsFor(src, values, ctx) });
  const r = await verifyImage(source, {
    ...(wanted ? { platforms: wanted } : {}),
    onLayer: (l) =>
      ctx.log(
        `${l.ok ? "ok  " : "FAIL"} ${(l.platform ?? "").padEnd(12)} layer ${l.layer} ${l.digest} ${l.format ?? "?"} ${formatBytes(l.size)}${
          l.ok ? "" : `: ${l.failures[0]?.message ?? ""}`
        }`,
      ),
  });
  for (const f of r.failures.filter((f) => f.check !== "layer")) {
    ctx.log(`FAIL ${f.check}${f.platform ? " " + f.platform : ""}${f.digest ? " " + f.digest : ""}: ${f.message} [${f.code}]`);
  }
  ctx.log(r.ok ? `${src}: ok` : `${src}: verification failed (${r.failures.length} problem(s))`);
  ctx.printJson(r);
  return r.ok ? EXIT_OK : EXIT_BAD_CONTENT;
}

async function openFs(arg: string, values: Record<string, unknown>, ctx: CliContext): Promise<ImageFs> {
  const wanted = platforms(values);
  if (wanted && wanted.length > 1) throw new UsageError("give --platform once to browse an image");
  return openImageFs(await openImage(arg, { registry: clientOptionsFor(arg, values, ctx) }), wanted ? { platform: wanted[0]! } : {});
}

function notes(fs: ImageFs): void {
  for (const n of fs.notes) process.stderr.write(`layerkit: note: ${n}\n`);
}

export async function runImageLs(arg: string, path: string | undefined, values: Record<string, unknown>, ctx: CliContext): Promise<number> {
  const fs = await openFs(arg, values, ctx);
  notes(fs);
  const rows = fs.list(path ?? "");
  ctx.printJson(
    rows.map((m) => ({
      path: m.path,
      type: m.entry.type,
      size: m.entry.size,
      mode: m.entry.mode,
      uid: m.entry.uid,
      gid: m.entry.gid,
      linkName: m.entry.linkName,
      layer: m.layer,
      digest: m.entry.digest,
    })),
  );
  for (const m of rows) {
    const e = m.entry;
    const link = e.linkName !== undefined ? ` -> ${e.linkName}` : "";
    ctx.log(
      `${e.type.padEnd(8)} ${(e.mode & 0o7777).toString(8).padStart(4, "0")} ${String(e.uid).padStart(5)}:${String(e.gid).padEnd(5)} ${
        String(e.size).padStart(12)
      }  L${m.layer < 0 ? "-" : m.layer} ${m.path}${link}`,
    );
  }
  return EXIT_OK;
}

export async function runImageCat(arg: string, path: string, values: Record<string, unknown>, ctx: CliContext): Promise<number> {
  const fs = await openFs(arg, values, ctx);
  notes(fs);
  const { entry, stream } = await fs.openFile(path, { follow: !values["no-follow"] });
  if (ctx.json) {
    let size = 0;
    for await (const p of stream as unknown as AsyncIterable<Uint8Array>) size += p.length;
    ctx.printJson({
      path: entry.path,
      resolved: (entry.target ?? entry).path,
      size,
      layer: entry.layer,
      digest: (entry.target ?? entry).entry.digest,
    });
  } else {
    await stream.pipeTo(ctx.stdout, { preventClose: true });
  }
  return EXIT_OK;
}

export async function runImageInspect(arg: string, values: Record<string, unknown>, ctx: CliContext): Promise<number> {
  const fs = await openFs(arg, values, ctx);
  notes(fs);
  ctx.printJson({
    image: fs.source.name,
    manifest: fs.descriptor,
    platform: fs.platform,
    config: {
      digest: fs.manifest.config.digest,
      created: fs.config.created,
      cmd: fs.config.config?.Cmd,
      entrypoint: fs.config.config?.Entrypoint,
      env: fs.config.config?.Env,
    },
    layers: fs.layers.map((l) => ({
      digest: l.descriptor.digest,
      size: l.descriptor.size,
      mediaType: l.descriptor.mediaType,
      format: l.format,
      seekable: l.seekable,
      entries: l.entries,
    })),
    entries: fs.list().length,
    notes: fs.notes,
  });
  ctx.log(`image     ${fs.source.name}`);
  ctx.log(`manifest  ${fs.descriptor.digest} (${fs.platform})`);
  for (const [i, l] of fs.layers.entries()) {
    ctx.log(
      `layer ${i}   ${l.format.padEnd(12)} ${l.seekable ? "seekable " : "streamed "} ${
        formatBytes(l.descriptor.size).padStart(10)
      } ${l.entries} entries ${l.descriptor.digest}`,
    );
  }
  ctx.log(`merged    ${fs.list().length} entries`);
  return EXIT_OK;
}
