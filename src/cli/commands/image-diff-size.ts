/**
 * `image diff-size OLD NEW`: the CLI glue over {@link imageDiffSize} (src/rechunk/diff-size.ts).
 * OLD and NEW are OCI layouts, `[oci:]DIR[:TAG]` as skopeo spells them (no tag: the layout's only image).
 */
import { join } from "node:path";
import { blobPath } from "../../oci/layout.js";
import { openLayout } from "../../oci/layout-node.js";
import { imageDiffSize } from "../../rechunk/diff-size.js";
import { openFileSource } from "../../source/node-file.js";
import type { CliContext } from "../command.js";
import { EXIT_OK, UsageError } from "../errors.js";

function parseLayoutArg(arg: string): { dir: string; tag?: string } {
  const rest = arg.startsWith("oci:") ? arg.slice(4) : arg;
  const colon = rest.lastIndexOf(":");
  if (colon < 0) return { dir: rest };
  if (colon === 0 || colon === rest.length - 1) throw new UsageError(`${JSON.stringify(arg)}: expected [oci:]DIR[:TAG]`);
  return { dir: rest.slice(0, colon), tag: rest.slice(colon + 1) };
}

export async function diffSizeCli(oldArg: string | undefined, newArg: string | undefined, ctx: CliContext): Promise<number> {
  if (oldArg === undefined || newArg === undefined) throw new UsageError("image diff-size takes OLD and NEW layouts");
  const open = async (arg: string) => {
    const { dir, tag } = parseLayoutArg(arg);
    const img = await (await openLayout(dir)).readImage(tag);
    return { dir, img };
  };
  const oldImg = await open(oldArg);
  const newImg = await open(newArg);
  const dirOf = new Map<string, string>();
  for (const l of oldImg.img.manifest.layers) dirOf.set(l.digest, oldImg.dir);
  for (const l of newImg.img.manifest.layers) if (!dirOf.has(l.digest)) dirOf.set(l.digest, newImg.dir);
  const r = await imageDiffSize(oldImg.img.manifest, newImg.img.manifest, newImg.img.descriptor.size, {
    openBlob: (d) => openFileSource(join(dirOf.get(d.digest)!, blobPath(d.digest))),
  });
  ctx.printJson(r);
  ctx.log(`${r.bytes} bytes in ${r.requests} requests to get ${newArg} from ${oldArg}`);
  for (const l of r.layers) {
    const chunks = l.chunks ? ` (${l.chunks.missing}/${l.chunks.total} chunks missing)` : "";
    ctx.log(
      `  ${l.digest} ${l.fetch.padEnd(7)} ${l.bytes} of ${l.size} bytes, ${l.requests} request${l.requests === 1 ? "" : "s"}${chunks}`,
    );
  }
  return EXIT_OK;
}
