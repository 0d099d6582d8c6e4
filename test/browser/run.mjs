#!/usr/bin/env node
/**
 * Runs the shared conformance suite in headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core): bundles test/browser/entry.ts with esbuild, serves it and wasm/*.wasm from a
 * static node:http server on 127.0.0.1 (random port, application/wasm) that also mounts the blob
 * server the layer cases read HTTP sources from (test/support/blob-server.mjs, same origin), runs
 * every case in the page, checks the artifacts with the native zstd CLI, and exits non-zero on any failure
 * (including a missing browser).
 *
 *   node test/browser/run.mjs        (CHROMIUM=/path/to/chromium to use another binary)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { finish, requireZstdCli, settleWireOutcome } from "../host-checks.mjs";
import { CHROMIUM, launchChromium } from "../support/chromium.mjs";
import { serveHttp } from "../support/static-server.mjs";
import { blobRoute } from "../support/blob-server.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CASE_TIMEOUT_MS = 300_000;
const RUNTIME = "chromium";

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function bundle() {
  const r = await esbuild.build({
    entryPoints: [join(ROOT, "test/browser/entry.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    conditions: ["browser"],
    target: "es2022",
    sourcemap: "inline",
    logLevel: "warning",
  });
  return r.outputFiles[0].contents;
}

/** Static server: the page, the bundle at /dist/runtime/ (so ../../wasm/ resolves as in the package), the WASM, /blobs/. */
function serve(script) {
  const blobs = blobRoute();
  const html = `<!doctype html><meta charset="utf-8"><title>layerkit conformance</title>
<script type="module" src="/dist/runtime/conformance.js"></script>`;
  return serveHttp(async (path, req) => {
    const blob = await blobs(path, req);
    if (blob) return blob;
    const wasm = /^\/(octet\/)?wasm\/(zstd|sha256)\.wasm$/.exec(path);
    if (path === "/" || path === "/index.html") return { type: "text/html; charset=utf-8", body: html };
    if (path === "/dist/runtime/conformance.js") return { type: "text/javascript; charset=utf-8", body: script };
    if (wasm) {
      return { type: wasm[1] ? "application/octet-stream" : "application/wasm", body: readFileSync(join(ROOT, "wasm", `${wasm[2]}.wasm`)) };
    }
    if (path === "/favicon.ico") return { status: 204, type: "text/plain", body: "" };
    return undefined;
  });
}

async function main() {
  const results = [];
  const errors = [];
  let s, browser;
  try {
    requireZstdCli();
    const script = await bundle();
    s = await serve(script);
    browser = await launchChromium();
    const { page } = browser;
    await page.goto(`${s.origin}/`);
    await page.waitForFunction(() => "layerkitSuite" in globalThis, null, { timeout: 60_000 });
    const { names, userAgent } = await page.evaluate(() => ({
      names: globalThis.layerkitSuite.names,
      userAgent: globalThis.layerkitSuite.userAgent,
    }));
    const version = /Chrome\/([\d.]+)/.exec(userAgent)?.[1] ?? "?";
    console.log(`Chromium ${version} (${CHROMIUM}), ${names.length} cases, served from ${s.origin}`);
    for (let i = 0; i < names.length; i++) {
      let outcome;
      try {
        outcome = await withTimeout(page.evaluate((i) => globalThis.layerkitSuite.run(i), i), CASE_TIMEOUT_MS, names[i]);
      } catch (e) {
        outcome = { name: names[i], ok: false, error: String(e?.message ?? e), ms: 0, artifacts: [] };
      }
      results.push(settleWireOutcome(RUNTIME, outcome));
    }
    // The adapter found the WASM relative to its bundle, served as application/wasm (so
    // compileStreaming could take it), and the fallback case fetched the octet-stream copies.
    const t0 = performance.now();
    const fetched = (p) => s.log.filter((l) => l.path === p && l.status === 200).length;
    const missing = ["/wasm/zstd.wasm", "/wasm/sha256.wasm", "/octet/wasm/zstd.wasm", "/octet/wasm/sha256.wasm"].filter((p) =>
      fetched(p) === 0
    );
    const adapter = {
      name: "adapter: wasm/*.wasm fetched relative to the bundle (application/wasm) and via the fallback URLs",
      ok: missing.length === 0,
      error: missing.length ? `never requested: ${missing.join(", ")}` : undefined,
      ms: performance.now() - t0,
    };
    results.push(settleWireOutcome(RUNTIME, { ...adapter, artifacts: [] }));
  } catch (e) {
    errors.push(e?.stack ?? String(e));
  } finally {
    await browser?.close().catch((e) => errors.push(`closing Chromium: ${e.message}`));
    await s?.close();
  }
  return finish(RUNTIME, results, errors);
}

process.exitCode = await main();
