/**
 * `diffLayer` under Deno (its node: compatibility for the file system, getfattr for xattrs)
 * writes the very bytes the Node CLI writes for the same two trees, in every format.
 */
import { diffLayer, nodeDiffFs } from "../../src/runtime/deno.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

async function run(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

Deno.test("diffLayer under Deno equals the Node CLI's layer, every format", async () => {
  const work = await Deno.makeTempDir({ prefix: "lk-deno-diff-" });
  try {
    const lower = `${work}/lower`;
    const upper = `${work}/upper`;
    await Deno.mkdir(`${lower}/etc/gone`, { recursive: true });
    await Deno.writeTextFile(`${lower}/etc/a`, "a\n");
    await Deno.writeTextFile(`${lower}/etc/gone/x`, "x\n");
    await run("touch", "-d", "@1600000000", `${lower}/etc/a`, `${lower}/etc/gone/x`, `${lower}/etc/gone`, `${lower}/etc`);
    await run("cp", "-a", lower, upper);
    await Deno.writeTextFile(`${upper}/etc/a`, "changed\n");
    await Deno.remove(`${upper}/etc/gone`, { recursive: true });
    await Deno.writeTextFile(`${upper}/new`, "new\n");
    await Deno.link(`${upper}/new`, `${upper}/new-link`);
    await run("setfattr", "-n", "user.k", "-v", "v", `${upper}/new`);
    await run("touch", "-d", "@1600000100", `${upper}/etc/a`, `${upper}/new`, `${upper}/etc`, upper);
    for (const format of ["zstd:chunked", "estargz", "zstd", "gzip"] as const) {
      const w = diffLayer(await nodeDiffFs(lower), await nodeDiffFs(upper), { format });
      await w.stream.pipeTo(new WritableStream());
      const ours = (await w.result).digest;
      const node = JSON.parse(
        await run("node", `${ROOT}dist/cli/bin.js`, "diff", lower, upper, "-o", `${work}/out`, "--format", format, "--json"),
      );
      if (ours !== node.digest) throw new Error(`${format}: Deno ${ours}, Node ${node.digest}`);
      if (node.changes.delete !== 1 || node.changes.add !== 2) {
        throw new Error(`${format}: unexpected changes ${JSON.stringify(node.changes)}`);
      }
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
