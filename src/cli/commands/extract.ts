import { existsSync } from "node:fs";
import { join } from "node:path";
import { extractImage, extractLayer } from "../../extract/extract-node.js";
import { HttpSource } from "../../source/http.js";
import type { Command } from "../command.js";
import { onSourceWarning } from "../source-warnings.js";
import { EXIT_OK } from "../errors.js";

export const extract: Command = {
  name: "extract",
  summary: "Extract a layer blob or an OCI layout image into a new directory (as containers/storage applies layers)",
  usage: "extract LAYER|URL|LAYOUT DIR [--tag NAME] [--reuse TREE]...",
  help: [
    ["LAYER", "a zstd:chunked, eStargz, zstd, gzip or tar layer blob"],
    ["URL", "an http(s) URL of a layer blob (ranges fetched as needed)"],
    ["LAYOUT", "an OCI image layout directory: its image's layers in order, whiteouts applied"],
    ["--tag NAME", "which image of the layout (default: the only one)"],
    [
      "DIR",
      "must not exist or be empty; appears only when the extraction is complete (with its reuse index .DIR.layerkit-index.json beside it)",
    ],
    [
      "--reuse TREE",
      "an earlier extraction: its files are reused by digest (reflink, else copy; checked against the TOC) instead of fetched",
    ],
  ],
  example: "layerkit extract ./oci rootfs/ --tag v1",
  options: { tag: { type: "string" }, reuse: { type: "string", multiple: true } },
  positionals: [2, 2],
  async run(values, [src, dir], ctx) {
    const tag = typeof values.tag === "string" ? values.tag : undefined;
    const reuse = (values.reuse as string[] | undefined) ?? [];
    const options = reuse.length > 0 ? { reuse } : {};
    const report = existsSync(join(src!, "oci-layout"))
      ? await extractImage(src!, dir!, tag ? { tag, ...options } : options)
      : /^https?:\/\//.test(src!)
      ? await extractLayer(new HttpSource(src!, { onWarning: onSourceWarning }), dir!, options)
      : await extractLayer(src!, dir!, options);
    ctx.printJson(report);
    for (const l of report.layers) {
      ctx.log(
        `${l.digest ?? src}: ${l.format} (${l.by}) ${l.entries} entries, ${l.files} files, ${l.bytes} bytes, ${l.whiteouts} whiteouts`,
      );
      const r = l.reuse;
      if (reuse.length > 0) {
        ctx.log(
          `  reused ${r.files.length} files (${
            r.files.reduce((n, f) => n + f.bytes, 0)
          } bytes), ${r.refused.length} refused; fetched ${r.fetched.bytes} bytes in ${r.fetched.requests} requests`,
        );
      }
    }
    if (report.stale.length) ctx.log(`${report.stale.length} local file(s) changed since indexed, not reused: see --json`);
    if (report.owners.length) ctx.log(`${report.owners.length} owner(s) not applied (not root): see --json`);
    for (const s of report.skipped) ctx.log(`skipped ${s.what} of ${s.name}: ${s.reason}`);
    return EXIT_OK;
  },
};
