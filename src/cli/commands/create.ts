import { createLayer } from "../../create-layer.js";
import { type LayerFormat, resultWithoutToc } from "../../layer/result.js";
import { withAtomicFile } from "../atomic-file.js";
import { type Command, contextForOutput } from "../command.js";
import { EXIT_OK, UsageError } from "../errors.js";
import { createProgress } from "../progress.js";
import { openTarInput, TAR_INPUT_HELP, TAR_INPUT_OPTIONS } from "../tar-input.js";
import { LAYER_WRITE_HELP, LAYER_WRITE_OPTIONS, layerWriteOptions } from "../layer-write-flags.js";

export const FORMATS: readonly LayerFormat[] = ["zstd:chunked", "estargz", "zstd", "gzip"];

export function parseFormat(value: unknown, flag: string): LayerFormat {
  if (typeof value !== "string" || !(FORMATS as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${FORMATS.join(", ")}`);
  }
  return value as LayerFormat;
}

export { ANNOTATION_KEYS_HELP, parseAnnotationKeysArg, parseLevel } from "../layer-write-flags.js";

export const create: Command = {
  name: "create",
  summary: "Compress a directory or a tar into a layer",
  usage:
    "create DIR|TAR -o OUT --format zstd:chunked|estargz|zstd|gzip [--level N] [--prioritize FILE]... [--chunk-size N] [--mtime SECONDS] [--allow-unsafe-paths]",
  help: [
    ["-o, --output OUT", "the layer blob to write (appears only when complete; - for stdout)"],
    ["--format FORMAT", "zstd:chunked, estargz, zstd or gzip"],
    ...LAYER_WRITE_HELP,
    ["--allow-unsafe-paths", "write entries named with '..', '/' or NUL and hardlinks leaving the root (refused by default)"],
    ...TAR_INPUT_HELP,
  ],
  example: "layerkit create rootfs/ -o layer.zst --format zstd:chunked --level 3",
  options: {
    output: { type: "string", short: "o" },
    format: { type: "string" },
    ...LAYER_WRITE_OPTIONS,
    "allow-unsafe-paths": { type: "boolean" },
    ...TAR_INPUT_OPTIONS,
  },
  positionals: [1, 1],
  async run(values, [input], parentCtx) {
    if (typeof values.output !== "string") throw new UsageError("-o OUT is required (- for stdout)");
    const ctx = contextForOutput(parentCtx, values.output);
    const format = parseFormat(values.format, "--format");
    const write = layerWriteOptions(values, format);
    const progress = createProgress("create", ctx.tty);
    const { tar, skipped } = await openTarInput(input!, values, ctx, progress);
    const writer = createLayer(tar, {
      ...write,
      format,
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
