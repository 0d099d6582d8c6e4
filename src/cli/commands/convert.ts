import { convertLayer } from "../../convert/index.js";
import { resultWithoutToc } from "../../layer/result.js";
import { withAtomicFile } from "../atomic-file.js";
import { type Command, contextForOutput } from "../command.js";
import { EXIT_OK, UsageError } from "../errors.js";
import { createProgress } from "../progress.js";
import { openSource, SOURCE_HELP, SOURCE_OPTIONS } from "../source-arg.js";
import { ANNOTATION_KEYS_HELP, parseAnnotationKeysArg, parseFormat, parseLevel } from "./create.js";

export const convert: Command = {
  name: "convert",
  summary: "Convert a layer to another format (gzip, zstd, zstd:chunked, estargz), streaming",
  usage: "convert SOURCE -o OUT --to FORMAT [--level N] [--prioritize FILE]... [--layer N|DIGEST] [--blob] [--annotations JSON|FILE]",
  help: [
    ["-o, --output OUT", "the new layer blob (appears only when complete; - for stdout)"],
    ["--to FORMAT", "zstd:chunked, estargz, zstd or gzip"],
    ["--level N", "compression level of the new layer"],
    ["--prioritize FILE", "eStargz target: put FILE first and mark it for prefetch (repeatable)"],
    ["--keep-estargz-entries", "zstd:chunked target: keep stargz.index.json and landmark files (default: dropped)"],
    ANNOTATION_KEYS_HELP,
    ...SOURCE_HELP,
  ],
  example: "layerkit convert layer.tar.gz -o layer.zst --to zstd:chunked",
  options: {
    ...SOURCE_OPTIONS,
    output: { type: "string", short: "o" },
    to: { type: "string" },
    level: { type: "string" },
    prioritize: { type: "string", multiple: true },
    "keep-estargz-entries": { type: "boolean" },
    "annotation-keys": { type: "string" },
  },
  positionals: [1, 1],
  async run(values, [arg], parentCtx) {
    if (typeof values.output !== "string") throw new UsageError("-o OUT is required (- for stdout)");
    const ctx = contextForOutput(parentCtx, values.output);
    const to = parseFormat(values.to, "--to");
    const level = parseLevel(values.level);
    const prioritizedFiles = values.prioritize as string[] | undefined;
    if (prioritizedFiles && to !== "estargz") throw new UsageError("--prioritize applies to --to estargz only");
    const annotationKeys = parseAnnotationKeysArg(values["annotation-keys"]);
    const { source, annotations } = await openSource(arg!, values);
    try {
      const total = await source.size();
      const progress = createProgress("convert", ctx.tty);
      let done = 0;
      // Progress counts source bytes as the converter reads them.
      const counted = {
        size: () => source.size(),
        stats: source.stats,
        read: async (offset: number, length: number) => {
          const b = await source.read(offset, length);
          done += b.length;
          progress.update(Math.min(done, total), total);
          return b;
        },
      };
      const writer = convertLayer(counted, {
        to,
        ...(level === undefined ? {} : { level }),
        ...(annotations ? { annotations } : {}),
        ...(prioritizedFiles ? { prioritizedFiles } : {}),
        ...(values["keep-estargz-entries"] ? { stripEstargz: false } : {}),
        ...(annotationKeys === undefined ? {} : { annotationKeys }),
      });
      const result = await withAtomicFile(values.output, async (file) => {
        await file.writeAll(writer.stream);
        return await writer.result;
      });
      progress.finish();
      ctx.printJson({ output: values.output, ...resultWithoutToc(result) });
      ctx.log(`${values.output}: ${result.sourceFormat} → ${result.format} ${result.size} bytes`);
      ctx.log(`digest   ${result.digest}`);
      ctx.log(
        `diffID   ${result.diffID}${
          result.diffIDChanged
            ? ` (source ${result.sourceDiffID}; eStargz entries ${result.stripped.length ? "dropped" : "added"})`
            : " (unchanged)"
        }`,
      );
      for (const [k, v] of Object.entries(result.annotations)) ctx.log(`${k}=${v}`);
      return EXIT_OK;
    } finally {
      await source.close?.();
    }
  },
};
