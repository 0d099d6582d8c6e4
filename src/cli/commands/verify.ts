import { basename } from "node:path";
import type { LayerFormat } from "../../layer/result.js";
import { verifyLayer, type VerifyReport } from "../../verify/index.js";
import type { Command } from "../command.js";
import { EXIT_BAD_CONTENT, EXIT_OK, UsageError } from "../errors.js";
import { createProgress } from "../progress.js";
import { openSource, SOURCE_HELP, SOURCE_OPTIONS } from "../source-arg.js";
import { parseFormat } from "./create.js";

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

function digestArg(value: unknown, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !DIGEST_RE.test(value)) throw new UsageError(`${flag} must be sha256:<64 hex digits>`);
  return value;
}

/** What an `OK` did not cover: skipped checks, and a TOC that was read but not authenticated. */
export function notChecked(report: VerifyReport): string[] {
  const out: string[] = report.checks.filter((c) => c.status === "skipped").map((c) => c.name);
  const toc = report.checks.find((c) => c.name === "toc");
  if (toc?.status === "ok" && toc.note?.startsWith("TOC not authenticated")) out.push("toc authenticity");
  return out;
}

export const verify: Command = {
  name: "verify",
  summary: "Check a layer completely: digest, size, decompression, diffID, TOC vs tar, every file and chunk digest (exit 1 on failure)",
  usage: "verify SOURCE [--diff-id D] [--toc-digest D] [--digest D] [--layer N|DIGEST] [--blob] [--annotations JSON|FILE]",
  help: [
    ...SOURCE_HELP,
    ["--diff-id D", "expected sha256 of the uncompressed tar (a registry SOURCE with --layer takes it from the image config)"],
    ["--toc-digest D", "expected TOC digest when the annotations lack it"],
    ["--digest D", "expected blob digest (default: the registry descriptor's, or a layout blob's file name)"],
    ["--format FORMAT", "skip detection and check the blob as this format"],
  ],
  example: "layerkit verify layer.zst --diff-id sha256:4f1e… --annotations desc.json",
  options: {
    ...SOURCE_OPTIONS,
    "diff-id": { type: "string" },
    "toc-digest": { type: "string" },
    digest: { type: "string" },
    format: { type: "string" },
  },
  positionals: [1, 1],
  async run(values, [arg], ctx) {
    let diffID = digestArg(values["diff-id"], "--diff-id");
    const tocDigest = digestArg(values["toc-digest"], "--toc-digest");
    let digest = digestArg(values.digest, "--digest");
    const format: LayerFormat | undefined = values.format === undefined ? undefined : parseFormat(values.format, "--format");
    const opened = await openSource(arg!, values);
    const { source, annotations } = opened;
    try {
      digest ??= opened.descriptor?.digest;
      diffID ??= opened.diffID;
      // A blob in an OCI layout is named by its digest.
      if (digest === undefined && /^[0-9a-f]{64}$/.test(basename(arg!))) digest = `sha256:${basename(arg!)}`;
      const size = opened.descriptor?.size ?? (await source.size());
      const progress = createProgress("verify", ctx.tty);
      const report = await verifyLayer(source, { ...(digest ? { digest } : {}), size, ...(annotations ? { annotations } : {}) }, {
        ...(diffID ? { diffID } : {}),
        ...(tocDigest ? { tocDigest } : {}),
        ...(format ? { format } : {}),
        onProgress: (done, total) => progress.update(done, total),
      });
      progress.finish();
      ctx.printJson(report);
      const width = Math.max(...report.checks.map((c) => c.name.length));
      for (const c of report.checks) {
        ctx.log(
          `${c.status === "ok" ? "ok     " : c.status === "failed" ? "FAILED " : "skipped"} ${c.name.padEnd(width)}${
            c.note ? `  ${c.note}` : ""
          }`.trimEnd(),
        );
      }
      for (const f of report.failures) ctx.log(`  ${f.check}: ${f.message} [${f.code}]${f.path ? ` (${f.path})` : ""}`);
      if (report.failuresOmitted) ctx.log(`  … and ${report.failuresOmitted} more failure(s)`);
      const unchecked = notChecked(report);
      ctx.log(
        `${report.ok ? "OK" : "FAILED"}: ${report.format} ${report.digest} diffID ${
          report.diffID ?? "?"
        }, ${report.entries} entries, ${report.filesChecked} files and ${report.chunksChecked} chunks checked` +
          (unchecked.length ? `; not checked: ${unchecked.join(", ")}` : ""),
      );
      if (!report.ok && ctx.quiet && !ctx.json) {
        const first = report.failures[0];
        process.stderr.write(`layerkit: verification failed${first ? `: ${first.check}: ${first.message} [${first.code}]` : ""}\n`);
      }
      return report.ok ? EXIT_OK : EXIT_BAD_CONTENT;
    } finally {
      await source.close?.();
    }
  },
};
