import { createLayer } from "../../create-layer.js";
import { type LayerFormat, resultWithoutToc } from "../../layer/result.js";
import { ZSTD_CHUNKED_ANNOTATION_KEYS, type ZstdChunkedAnnotationKeys } from "../../formats/zstd-chunked/annotations.js";
import { withAtomicFile } from "../atomic-file.js";
import { type Command, contextForOutput } from "../command.js";
import { EXIT_OK, UsageError } from "../errors.js";
import { createProgress } from "../progress.js";
import { openTarInput, TAR_INPUT_HELP, TAR_INPUT_OPTIONS } from "../tar-input.js";

export const FORMATS: readonly LayerFormat[] = ["zstd:chunked", "estargz", "zstd", "gzip"];

export function parseFormat(value: unknown, flag: string): LayerFormat {
  if (typeof value !== "string" || !(FORMATS as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${FORMATS.join(", ")}`);
  }
  return value as LayerFormat;
}

export function parseLevel(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < -7 || n > 22) throw new UsageError(`--level must be an integer (zstd -7..22, gzip 0..9, estargz 0..12)`);
  return n;
}

/** `--annotation-keys current|legacy|both` (zstd:chunked descriptors; default both). */
export const ANNOTATION_KEYS_HELP: [string, string] = [
  "--annotation-keys K",
  "zstd:chunked descriptor keys: current, legacy (c/storage <= 1.43) or both (default)",
];

export function parseAnnotationKeysArg(value: unknown): ZstdChunkedAnnotationKeys | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !(ZSTD_CHUNKED_ANNOTATION_KEYS as readonly string[]).includes(value)) {
    throw new UsageError(`--annotation-keys must be one of ${ZSTD_CHUNKED_ANNOTATION_KEYS.join(", ")}`);
  }
  return value as ZstdChunkedAnnotationKeys;
}

export const create: Command = {
  name: "create",
  summary: "Compress a directory or a tar into a layer",
  usage:
    "create DIR|TAR -o OUT --format zstd:chunked|estargz|zstd|gzip [--level N] [--prioritize FILE]... [--mtime SECONDS] [--allow-unsafe-paths]",
  help: [
    ["-o, --output OUT", "the layer blob to write (appears only when complete; - for stdout)"],
    ["--format FORMAT", "zstd:chunked, estargz, zstd or gzip"],
    ["--level N", "compression level (default: zstd 3, gzip 6, estargz 6 with libdeflate, 0–12)"],
    ["--prioritize FILE", "eStargz: put FILE first and mark it for prefetch (repeatable)"],
    ANNOTATION_KEYS_HELP,
    ["--allow-unsafe-paths", "write entries named with '..', '/' or NUL and hardlinks leaving the root (refused by default)"],
    ...TAR_INPUT_HELP,
  ],
  example: "layerkit create rootfs/ -o layer.zst --format zstd:chunked --level 3",
  options: {
    output: { type: "string", short: "o" },
    format: { type: "string" },
    level: { type: "string" },
    prioritize: { type: "string", multiple: true },
    "annotation-keys": { type: "string" },
    "allow-unsafe-paths": { type: "boolean" },
    ...TAR_INPUT_OPTIONS,
  },
  positionals: [1, 1],
  async run(values, [input], parentCtx) {
    if (typeof values.output !== "string") throw new UsageError("-o OUT is required (- for stdout)");
    const ctx = contextForOutput(parentCtx, values.output);
    const format = parseFormat(values.format, "--format");
    const level = parseLevel(values.level);
    const prioritizedFiles = values.prioritize as string[] | undefined;
    if (prioritizedFiles && format !== "estargz") throw new UsageError("--prioritize applies to --format estargz only");
    const annotationKeys = parseAnnotationKeysArg(values["annotation-keys"]);
    const progress = createProgress("create", ctx.tty);
    const { tar, skipped } = await openTarInput(input!, values, ctx, progress);
    const writer = createLayer(tar, {
      format,
      ...(level === undefined ? {} : { level }),
      ...(prioritizedFiles === undefined ? {} : { prioritizedFiles }),
      ...(annotationKeys === undefined ? {} : { annotationKeys }),
      ...(values["allow-unsafe-paths"] === true ? { allowUnsafePaths: true } : {}),
    });
    const result = await withAtomicFile(values.output, async (file) => {
      await file.writeAll(writer.stream);
      return await writer.result;
    });
    ctx.printJson({ output: values.output, ...resultWithoutToc(result), ...(skipped.length ? { skipped } : {}) });
    ctx.log(`${values.output}: ${result.format} ${result.size} bytes`);
    ctx.log(`digest   ${result.digest}`);
    ctx.log(`diffID   ${result.diffID}`);
    for (const [k, v] of Object.entries(result.annotations)) ctx.log(`${k}=${v}`);
    return EXIT_OK;
  },
};
