/**
 * Shared by the end-to-end runners (test/e2e/web.mjs, test/e2e/edge.mjs): the test layers made
 * in this Node process (test/e2e/layers.ts bundled with esbuild and imported), and a tiny case
 * runner that prints PASS/FAIL lines and writes the counts like every other runner
 * (test/host-checks.mjs finish()).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { finish, printCase } from "../host-checks.mjs";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Make the test layers with createLayer (Node core), and `layers.upstream`: the same tree written
 * by upstream Go code (test/support/go-harness.ts).
 * @returns {Promise<{ core: any, layers: import("./layers.ts").TestLayers, fileRange: (layer: any, path: string) => Promise<{ start: number, end: number }> }>}
 */
export async function loadTestLayers() {
  const dir = mkdtempSync(join(tmpdir(), "layerkit-e2e-"));
  try {
    const outfile = join(dir, "make-layers.mjs");
    await esbuild.build({
      entryPoints: [join(ROOT, "test/e2e/make-layers.ts")],
      outfile,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      // go-harness.ts finds the repository from its own directory.
      define: { "import.meta.dirname": JSON.stringify(join(ROOT, "test/support")) },
      logLevel: "warning",
    });
    const mod = await import(pathToFileURL(outfile).href);
    const core = await mod.nodeCore(ROOT);
    const layers = await mod.makeTestLayers(core);
    layers.upstream = mod.upstreamLayers();
    return { core, layers, fileRange: (layer, path) => mod.fileRange(core, layer, path) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Type-check an example with its tsconfig (strict, as the library); throws with tsc's output. */
export function typecheck(project) {
  const r = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, project)], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`tsc -p ${project} failed:\n${r.stdout}${r.stderr}`);
}

/** Throw `message` unless `cond`. */
export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/**
 * Run `cases` ([name, fn] pairs) in order, each after `setup` succeeded; print a line per case
 * and return finish()'s exit code. A failing setup fails the runner (one runner error).
 * @param {string} runtime
 * @param {() => Promise<any>} setup returns the context handed to every case
 * @param {[string, (ctx: any) => Promise<void>][]} cases
 * @param {(ctx: any) => Promise<void>} teardown
 */
export async function runCases(runtime, setup, cases, teardown) {
  const results = [];
  const errors = [];
  let ctx;
  try {
    ctx = await setup();
    for (const [name, fn] of cases) {
      const t0 = performance.now();
      let result;
      try {
        await fn(ctx);
        result = { name, ok: true, ms: performance.now() - t0 };
      } catch (e) {
        result = { name, ok: false, error: String(e?.stack ?? e), ms: performance.now() - t0 };
      }
      printCase(runtime, result);
      results.push(result);
    }
  } catch (e) {
    errors.push(String(e?.stack ?? e));
  } finally {
    await teardown(ctx).catch((e) => errors.push(`teardown: ${e?.stack ?? e}`));
  }
  return finish(runtime, results, errors);
}
