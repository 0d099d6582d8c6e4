import { nodeDiffFs } from "../../diff/node.js";
import { diffLayer } from "../../diff/diff-layer.js";
import type { TreeChange } from "../../diff/tree-diff.js";
import { resultWithoutToc } from "../../layer/result.js";
import { withAtomicFile } from "../atomic-file.js";
import { type Command, contextForOutput } from "../command.js";
import { EXIT_OK, UsageError } from "../errors.js";
import { LAYER_WRITE_HELP, LAYER_WRITE_OPTIONS, layerWriteOptions } from "../layer-write-flags.js";
import { parseFormat } from "./create.js";

export const diff: Command = {
  name: "diff",
  summary: "Write the changes from one directory tree to another as a layer",
  usage: "diff LOWER UPPER -o LAYER --format zstd:chunked|estargz|zstd|gzip [--level N] [--allow-devices] [--no-xattrs] [--list]",
  help: [
    ["-o, --output LAYER", "the layer blob to write (appears only when complete; - for stdout)"],
    ["--format FORMAT", "zstd:chunked, estargz, zstd or gzip"],
    ...LAYER_WRITE_HELP,
    ["--allow-devices", "write character/block devices (default: only as root; otherwise skipped with a note)"],
    ["--no-xattrs", "neither compare nor write extended attributes (they need getfattr, Debian's attr package)"],
    ["--list", "print each change (A added, C changed, D deleted, O opaque directory, P parent, L hardlink kept whole)"],
  ],
  example: "layerkit diff rootfs/ rootfs-after/ -o changes.zst --format zstd:chunked",
  options: {
    output: { type: "string", short: "o" },
    format: { type: "string" },
    ...LAYER_WRITE_OPTIONS,
    "allow-devices": { type: "boolean" },
    "no-xattrs": { type: "boolean" },
    list: { type: "boolean" },
  },
  positionals: [2, 2],
  async run(values, [lowerDir, upperDir], parentCtx) {
    if (typeof values.output !== "string") throw new UsageError("-o LAYER is required (- for stdout)");
    const ctx = contextForOutput(parentCtx, values.output);
    const format = parseFormat(values.format, "--format");
    const write = layerWriteOptions(values, format);
    const xattrs = values["no-xattrs"] !== true;
    const [lower, upper] = await Promise.all([nodeDiffFs(lowerDir!, { xattrs }), nodeDiffFs(upperDir!, { xattrs })]);
    const counts = { add: 0, modify: 0, delete: 0, opaque: 0, parent: 0, link: 0 };
    const skipped: string[] = [];
    const letter: Record<TreeChange["kind"], string> = { add: "A", modify: "C", delete: "D", opaque: "O", parent: "P", link: "L" };
    const writer = diffLayer(lower, upper, {
      format,
      ...write,
      xattrs,
      includeDevices: values["allow-devices"] === true || process.getuid?.() === 0,
      onSkip: (p, reason) => {
        skipped.push(p);
        if (!ctx.quiet && !ctx.json) process.stderr.write(`layerkit: skipping ${reason} ${p}\n`);
      },
      onChange: (c) => {
        counts[c.kind]++;
        if (values.list) ctx.log(`${letter[c.kind]} /${c.path}`);
      },
    });
    const result = await withAtomicFile(values.output, async (file) => {
      await file.writeAll(writer.stream);
      return await writer.result;
    });
    ctx.printJson({ output: values.output, changes: counts, ...resultWithoutToc(result), ...(skipped.length ? { skipped } : {}) });
    ctx.log(
      `${values.output}: ${result.format} ${result.size} bytes; ${counts.add} added, ${counts.modify} changed, ${counts.delete} deleted, ${counts.opaque} opaque`,
    );
    ctx.log(`digest   ${result.digest}`);
    ctx.log(`diffID   ${result.diffID}`);
    for (const [k, v] of Object.entries(result.annotations)) ctx.log(`${k}=${v}`);
    return EXIT_OK;
  },
};
