import { existsSync } from "node:fs";
import { join } from "node:path";
import { extractImage, extractLayer } from "../../extract/extract-node.js";
import type { Command } from "../command.js";
import { EXIT_OK } from "../errors.js";

export const extract: Command = {
  name: "extract",
  summary: "Extract a layer blob or an OCI layout image into a new directory (as containers/storage applies layers)",
  usage: "extract LAYER|LAYOUT DIR [--tag NAME]",
  help: [
    ["LAYER", "a zstd:chunked, eStargz, zstd, gzip or tar layer blob"],
    ["LAYOUT", "an OCI image layout directory: its image's layers in order, whiteouts applied"],
    ["--tag NAME", "which image of the layout (default: the only one)"],
    ["DIR", "must not exist or be empty; appears only when the extraction is complete"],
  ],
  example: "layerkit extract ./oci rootfs/ --tag v1",
  options: { tag: { type: "string" } },
  positionals: [2, 2],
  async run(values, [src, dir], ctx) {
    const tag = typeof values.tag === "string" ? values.tag : undefined;
    const report = existsSync(join(src!, "oci-layout"))
      ? await extractImage(src!, dir!, tag ? { tag } : {})
      : await extractLayer(src!, dir!);
    ctx.printJson(report);
    for (const l of report.layers) {
      ctx.log(
        `${l.digest ?? src}: ${l.format} (${l.by}) ${l.entries} entries, ${l.files} files, ${l.bytes} bytes, ${l.whiteouts} whiteouts`,
      );
    }
    if (report.owners.length) ctx.log(`${report.owners.length} owner(s) not applied (not root): see --json`);
    for (const s of report.skipped) ctx.log(`skipped ${s.what} of ${s.name}: ${s.reason}`);
    return EXIT_OK;
  },
};
