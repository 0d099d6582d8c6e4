import { exportAls } from "../../als/export-als.js";
import { ALS_KEYS, type AlsKey } from "../../als/layout.js";
import { parseImageRef } from "../../image/image-ref.js";
import { parsePlatform } from "../../oci/platform.js";
import type { Command } from "../command.js";
import { EXIT_OK, UsageError } from "../errors.js";
import { REGISTRY_HELP, REGISTRY_OPTIONS, registryOptions } from "../registry-options.js";

export const als: Command = {
  name: "als",
  summary: "Export an image's layers as a containers/storage additional layer store (ready-made overlay layers)",
  usage: "als export SRC STORE [--key layer-digest|toc-digest] [--ref REF] [--no-blob] [--platform P]",
  help: [
    ["SRC", "docker://HOST/REPO:TAG, HOST/REPO:TAG or oci:DIR[:TAG]"],
    ["STORE", 'an existing directory: storage.conf\'s additionallayerstores = ["STORE"] (or "STORE:ref" with --ref)'],
    ["--key layer-digest", "name layer directories by blob digest (default; c/storage 1.43, Debian 12's podman 4.3)"],
    ["--key toc-digest", "name them by TOC digest (current c/storage; seekable layers only)"],
    ["--ref REF", "write under STORE/base64(REF)/ for a STORE:ref store; REF as podman prints it, e.g. HOST/REPO:TAG"],
    ["--no-blob", "leave out the compressed blob (c/storage 1.43 then ignores the layer)"],
    ["--platform P", "with an image index: os/arch[/variant] (default linux/amd64)"],
    ...REGISTRY_HELP,
  ],
  example: "layerkit als export oci:./img:v1 /var/lib/als --ref 127.0.0.1:5000/app:v1",
  options: {
    key: { type: "string" },
    ref: { type: "string" },
    "no-blob": { type: "boolean" },
    platform: { type: "string" },
    ...REGISTRY_OPTIONS,
  },
  positionals: [3, 3],
  async run(values, [verb, src, store], ctx) {
    if (verb !== "export") throw new UsageError(`unknown als subcommand ${JSON.stringify(verb)} (expected export)`);
    const key = values.key === undefined ? "layer-digest" : String(values.key);
    if (!ALS_KEYS.includes(key as AlsKey)) throw new UsageError(`--key must be ${ALS_KEYS.join(" or ")}, not ${JSON.stringify(key)}`);
    const parsed = parseImageRef(src!);
    const report = await exportAls(src!, store!, {
      key: key as AlsKey,
      ...(typeof values.ref === "string" ? { ref: values.ref } : {}),
      blob: values["no-blob"] !== true,
      ...(typeof values.platform === "string" ? { platform: parsePlatform(values.platform) } : {}),
      open: { registry: parsed.transport === "docker" ? registryOptions(values, parsed.image.registry, parsed.image.repository, ctx) : {} },
    });
    ctx.printJson(report);
    for (const l of report.layers) ctx.log(`${l.digest}: ${l.status} ${l.path} (${l.format})`);
    return EXIT_OK;
  },
};
