#!/usr/bin/env node
/**
 * Runs the shared conformance suite in Cloudflare's workerd (node_modules/.bin/workerd): bundles
 * test/workerd/worker.ts with esbuild (conditions ["workerd"], `import x from "./x.wasm"` left as
 * is), writes a config.capnp into a temp dir embedding worker.js and the two .wasm files as wasm
 * modules, serves it on a free 127.0.0.1 port (with outbound access to 127.0.0.1 for the blob
 * server the layer cases read HTTP sources from, test/support/blob-server.mjs), requests every case, checks the artifacts with the
 * native zstd CLI, stops workerd and exits non-zero on any failure (including a missing workerd).
 *
 *   node test/workerd/run.mjs        (WORKERD=/path/to/workerd to use another binary)
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { finish, requireZstdCli, settleWireOutcome } from "../host-checks.mjs";
import { startWorkerd, WORKERD } from "../support/workerd.mjs";
import { serveBlobs } from "../support/blob-server.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const COMPATIBILITY_DATE = "2025-09-01";
const CASE_TIMEOUT_MS = 300_000;
const RUNTIME = "workerd";

async function bundle(dir) {
  await esbuild.build({
    entryPoints: [join(ROOT, "test/workerd/worker.ts")],
    outfile: join(dir, "worker.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker"],
    target: "es2022",
    external: ["*.wasm"],
    logLevel: "warning",
  });
  for (const f of ["zstd.wasm", "sha256.wasm"]) copyFileSync(join(ROOT, "wasm", f), join(dir, f));
}

function config(port) {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .suite),
    # The blob server is on 127.0.0.1, which workerd's default outbound network refuses.
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);

const suite :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "zstd.wasm", wasm = embed "zstd.wasm"),
    (name = "sha256.wasm", wasm = embed "sha256.wasm"),
  ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  globalOutbound = "net",
);
`;
}

/** Start workerd serving the suite; resolves once GET /cases answers. */
async function start(dir) {
  const w = await startWorkerd(dir, config, "/cases");
  return { ...w, names: (await w.ready.json()).names };
}

async function main() {
  const results = [];
  const errors = [];
  let dir, w, blobs;
  try {
    requireZstdCli();
    blobs = await serveBlobs();
    dir = mkdtempSync(join(tmpdir(), "layerkit-workerd-"));
    await bundle(dir);
    w = await start(dir);
    console.log(`workerd (${WORKERD}), ${w.names.length} cases, serving on ${w.origin}`);
    for (let i = 0; i < w.names.length; i++) {
      let outcome;
      try {
        const r = await fetch(`${w.origin}/run/${i}?blobs=${encodeURIComponent(blobs.origin)}`, {
          signal: AbortSignal.timeout(CASE_TIMEOUT_MS),
        });
        if (!r.ok) throw new Error(`HTTP ${r.status}: ${(await r.text()).slice(0, 2000)}`);
        outcome = await r.json();
      } catch (e) {
        const tail = w.output().trim().split("\n").slice(-20).join("\n");
        outcome = {
          name: w.names[i],
          ok: false,
          error: `${e?.message ?? e}${tail ? `\nworkerd output:\n${tail}` : ""}`,
          ms: 0,
          artifacts: [],
        };
      }
      results.push(settleWireOutcome(RUNTIME, outcome));
    }
  } catch (e) {
    errors.push(e?.stack ?? String(e));
  } finally {
    if (w) await w.stop();
    await blobs?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  return finish(RUNTIME, results, errors);
}

process.exitCode = await main();
