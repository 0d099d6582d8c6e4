/**
 * The shared conformance suite (test/conformance) under Deno, importing the TypeScript sources
 * directly through the Deno runtime adapter: one test step per case, artifacts checked with the
 * native `zstd -d` CLI, HTTP blob sources served by test/support/blob-server.mjs on 127.0.0.1. Run with `deno test -A test/deno/` (deno.json enables sloppy imports so
 * the sources' `./x.js` specifiers resolve to `./x.ts`).
 *
 * When LAYERKIT_RESULTS names a file, the counts are written there for test/run-all.mjs.
 */
import { getCore } from "../../src/core.ts";
import { NodeSha256 } from "../../src/runtime/node-hash.ts";
import { loadCore } from "../../src/runtime/deno.ts";
import { cases } from "../conformance/index.ts";
import { sha256Cases } from "../conformance/sha256.ts";
import type { ConformanceCase } from "../conformance/harness.ts";
import { runCase } from "../browser/suite.ts";
import { checkArtifacts, finish, requireZstdCli } from "../host-checks.mjs";
import { serveBlobs } from "../support/blob-server.mjs";

const RUNTIME = `deno ${Deno.version.deno}`;

interface Result {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
  artifacts?: number;
}

let blobOrigin = "";

async function runChecked(getCore: () => ReturnType<typeof loadCore>, c: ConformanceCase, label = c.name): Promise<Result> {
  const o = await runCase(getCore, c, blobOrigin);
  const problems: string[] = o.ok ? checkArtifacts(o.artifacts) : [];
  const ok = o.ok && problems.length === 0;
  const error = o.ok ? (problems.length ? `native zstd check failed:\n${problems.join("\n")}` : undefined) : o.error;
  return { name: label, ok, error, ms: o.ms, artifacts: o.artifacts.length };
}

const adapterCase: ConformanceCase = {
  name: "adapter: loadCore() builds one shared core, registered for getCore(), hashing with node:crypto",
  async run() {
    const core = await loadCore();
    if ((await loadCore()) !== core) throw new Error("loadCore() returned a different core the second time");
    if ((await getCore()) !== core) throw new Error("getCore() is not the adapter's core");
    if (!(core.sha256() instanceof NodeSha256)) throw new Error("the default Deno hasher is not node:crypto");
  },
};

Deno.test("conformance [deno]", async (t) => {
  requireZstdCli();
  const blobs = await serveBlobs();
  blobOrigin = blobs.origin;
  const results: Result[] = [];
  const step = async (run: () => Promise<Result>, name: string) => {
    let result: Result | undefined;
    await t.step(name, async () => {
      result = await run();
      if (!result.ok) throw new Error(result.error);
    });
    results.push(result ?? { name, ok: false, error: "step did not run", ms: 0 });
  };
  for (const c of cases) await step(() => runChecked(() => loadCore(), c), c.name);
  await step(() => runChecked(() => loadCore(), adapterCase), adapterCase.name);
  for (const c of sha256Cases) {
    const name = `${c.name} [WASM hasher]`;
    await step(() => runChecked(() => loadCore({ hasher: "wasm" }), c, name), name);
  }
  await blobs.close();
  const artifacts = results.reduce((n, r) => n + (r.artifacts ?? 0), 0);
  console.log(`${artifacts} artifacts checked with the native zstd -d`);
  if (finish(RUNTIME, results) !== 0) throw new Error(`${results.filter((r) => !r.ok).length} conformance case(s) failed`);
});
