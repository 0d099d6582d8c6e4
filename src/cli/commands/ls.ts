import { openLayerIndex } from "../../lazy/layer-index.js";
import { normalizeLayerPath } from "../../lazy/read-file.js";
import { LayerkitError } from "../../errors.js";
import type { Command } from "../command.js";
import { EXIT_OK } from "../errors.js";
import { openSource, SOURCE_HELP, SOURCE_OPTIONS } from "../source-arg.js";
import { IMAGE_FS_HELP, IMAGE_FS_OPTIONS, isImageArg, runImageLs } from "../image-commands.js";

export const ls: Command = {
  name: "ls",
  summary: "List the entries of a seekable layer (optionally under PATH)",
  usage: "ls SOURCE [PATH] [--layer N|DIGEST] [--blob] [--annotations JSON|FILE]",
  help: [...SOURCE_HELP, ...IMAGE_FS_HELP],
  example: "layerkit ls layer.zst usr/bin",
  options: { ...SOURCE_OPTIONS, ...IMAGE_FS_OPTIONS },
  positionals: [1, 2],
  async run(values, [arg, path], ctx) {
    if (isImageArg(arg!, values)) return runImageLs(arg!, path, values, ctx);
    const { source, annotations } = await openSource(arg!, values);
    try {
      const index = await openLayerIndex(source, annotations ? { annotations } : {});
      const prefix = path === undefined ? "" : normalizeLayerPath(path);
      const rows = index.entries.filter((e) => {
        const n = normalizeLayerPath(e.name);
        return prefix === "" || n === prefix || n.startsWith(prefix + "/");
      });
      if (prefix !== "" && rows.length === 0) throw new LayerkitError("NOT_FOUND", `${path}: no such entry in the layer`, { path });
      ctx.printJson(
        rows.map((e) => ({
          type: e.type,
          name: e.name,
          size: e.size,
          mode: e.mode,
          uid: e.uid,
          gid: e.gid,
          modtime: e.modtime,
          linkName: e.linkName,
          digest: e.digest,
        })),
      );
      for (const e of rows) {
        const mode = (e.mode & 0o7777).toString(8).padStart(4, "0");
        const link = e.linkName !== undefined ? ` -> ${e.linkName}` : "";
        ctx.log(
          `${e.type.padEnd(8)} ${mode} ${String(e.uid).padStart(5)}:${String(e.gid).padEnd(5)} ${
            String(e.size).padStart(12)
          }  ${e.name}${link}`,
        );
      }
      return EXIT_OK;
    } finally {
      await source.close?.();
    }
  },
};
