import { detectLayerFormat } from "../../formats/detect.js";
import { type LayerIndex, openLayerIndex } from "../../lazy/layer-index.js";
import type { Command } from "../command.js";
import { EXIT_OK } from "../errors.js";
import { formatBytes } from "../progress.js";
import { openSource, SOURCE_HELP, SOURCE_OPTIONS } from "../source-arg.js";
import { warningsJson } from "../source-warnings.js";
import { IMAGE_FS_HELP, IMAGE_FS_OPTIONS, isImageArg, runImageInspect } from "../image-commands.js";

/** Format-specific numbers of a seekable layer's TOC. */
function tocDetails(index: LayerIndex): Record<string, unknown> {
  if (index.detail.kind === "zstd-chunked") {
    const t = index.detail.toc;
    return {
      generation: t.generation,
      tocDigest: t.tocDigest,
      tocPosition: t.tocPosition,
      tarSplitPosition: t.tarSplitPosition,
      tarSplitDigest: t.tarSplitDigest,
      footer: t.footer?.version,
    };
  }
  return { tocDigest: index.detail.reader.tocDigest };
}

export const inspect: Command = {
  name: "inspect",
  summary: "Show a layer's format, generation, annotations, TOC summary and largest files (reads only the TOC)",
  usage: "inspect SOURCE [--layer N|DIGEST] [--blob] [--annotations JSON|FILE]",
  help: [...SOURCE_HELP, ...IMAGE_FS_HELP],
  example: "layerkit inspect localhost:5000/app:v1 --layer 0 --json",
  options: { ...SOURCE_OPTIONS, ...IMAGE_FS_OPTIONS },
  positionals: [1, 1],
  async run(values, [arg], ctx) {
    if (isImageArg(arg!, values)) return runImageInspect(arg!, values, ctx);
    const { source, annotations, descriptor } = await openSource(arg!, values);
    try {
      const detected = await detectLayerFormat(source, annotations);
      const base = {
        format: detected.format,
        compression: detected.compression,
        evidence: detected.evidence,
        blobSize: await source.size(),
        ...(descriptor ? { digest: descriptor.digest } : {}),
        annotations: annotations ?? {},
      };
      if (detected.format === "zstd" || detected.format === "gzip") {
        ctx.printJson({ ...base, seekable: false, requests: source.stats.requests, bytesFetched: source.stats.bytes, ...warningsJson() });
        ctx.log(`format      ${detected.format} (not seekable: no TOC; use verify to read it whole)`);
        ctx.log(`blob        ${base.blobSize} bytes (${formatBytes(base.blobSize)})`);
        return EXIT_OK;
      }
      const index = await openLayerIndex(source, annotations ? { annotations } : {});
      const counts: Record<string, number> = {};
      let bytes = 0;
      let chunks = 0;
      for (const e of index.entries) {
        counts[e.type] = (counts[e.type] ?? 0) + 1;
        if (e.type === "reg") {
          bytes += e.size;
          chunks += e.chunks.length;
        }
      }
      const largest = index.entries
        .filter((e) => e.type === "reg")
        .sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1))
        .slice(0, 10)
        .map((e) => ({ name: e.name, size: e.size, chunks: e.chunks.length }));
      const details = tocDetails(index);
      ctx.printJson({
        ...base,
        format: index.format,
        seekable: true,
        ...details,
        authenticated: index.authenticated,
        entries: counts,
        fileBytes: bytes,
        chunks,
        largest,
        requests: source.stats.requests,
        bytesFetched: source.stats.bytes,
        ...warningsJson(),
      });
      ctx.log(
        `format      ${index.format}${
          details.generation ? ` (${details.generation}${details.footer ? `, footer ${details.footer}` : ""})` : ""
        }`,
      );
      ctx.log(`blob        ${index.blobSize} bytes (${formatBytes(index.blobSize)})`);
      ctx.log(
        `TOC digest  ${details.tocDigest}${
          index.authenticated ? " (matches the annotations)" : " (not authenticated: no annotations given)"
        }`,
      );
      if (details.tarSplitDigest) ctx.log(`tar-split   ${details.tarSplitDigest}`);
      for (const [k, v] of Object.entries(annotations ?? {})) ctx.log(`annotation  ${k}=${v}`);
      ctx.log(`entries     ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ") || "none"}`);
      ctx.log(`content     ${formatBytes(bytes)} in ${chunks} chunk(s)`);
      if (largest.length) {
        ctx.log("largest files:");
        for (const f of largest) ctx.log(`  ${formatBytes(f.size).padStart(10)}  ${f.chunks} chunk(s)  ${f.name}`);
      }
      ctx.log(`fetched     ${source.stats.bytes} bytes in ${source.stats.requests} request(s)`);
      return EXIT_OK;
    } finally {
      await source.close?.();
    }
  },
};
