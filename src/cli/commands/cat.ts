import { openFile } from "../../lazy/read-file.js";
import type { Command } from "../command.js";
import { EXIT_OK } from "../errors.js";
import { openSource, SOURCE_HELP, SOURCE_OPTIONS } from "../source-arg.js";
import { warningsJson } from "../source-warnings.js";
import { IMAGE_FS_HELP, IMAGE_FS_OPTIONS, isImageArg, runImageCat } from "../image-commands.js";

export const cat: Command = {
  name: "cat",
  summary: "Print one file of a seekable layer, fetching only its frames (verified first)",
  usage: "cat SOURCE PATH [--layer N|DIGEST] [--blob] [--annotations JSON|FILE]",
  help: [...SOURCE_HELP, ...IMAGE_FS_HELP],
  example: "layerkit cat docker://localhost:5000/app:v1 --layer 0 usr/lib/os-release",
  options: { ...SOURCE_OPTIONS, ...IMAGE_FS_OPTIONS },
  positionals: [2, 2],
  async run(values, [arg, path], ctx) {
    if (isImageArg(arg!, values)) return runImageCat(arg!, path!, values, ctx);
    const { source, annotations } = await openSource(arg!, values);
    try {
      const { entry, stream } = await openFile(source, path!, annotations ? { annotations } : {});
      if (ctx.json) {
        // With --json, report what was read instead of dumping bytes into the JSON stream.
        const reader = stream.getReader();
        let size = 0;
        for (let r = await reader.read(); !r.done; r = await reader.read()) size += r.value.length;
        ctx.printJson({
          path: entry.name,
          size,
          digest: entry.digest,
          requests: source.stats.requests,
          bytesFetched: source.stats.bytes,
          ...warningsJson(),
        });
      } else {
        await stream.pipeTo(ctx.stdout, { preventClose: true });
      }
      return EXIT_OK;
    } finally {
      await source.close?.();
    }
  },
};
