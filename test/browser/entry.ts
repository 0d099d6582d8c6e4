/**
 * The page side of the Chromium runner (bundled by test/browser/run.mjs with esbuild, platform
 * browser, conditions ["browser"]): the shared suite plus the browser adapter, which fetches
 * wasm/*.wasm relative to this bundle and stream-compiles it. The runner calls
 * `layerkitSuite.run(i)` once per case and checks the returned artifacts with the native zstd CLI.
 * The blob server (test/support/blob-server.mjs) is mounted on the page's own origin.
 */
import { loadCore } from "../../src/runtime/browser.js";
import { cases } from "../conformance/index.js";
import { assertBytesEqual, assertEqual, type ConformanceCase, textBytes } from "../conformance/harness.js";
import { runCase, toWire, type WireOutcome } from "./suite.js";

/** Run after the suite: it re-points the adapter at URLs served as application/octet-stream. */
const fallbackCase: ConformanceCase = {
  name: "adapter: compiles from bytes when the server does not send application/wasm",
  async run() {
    const core = await loadCore({
      zstd: new URL("/octet/wasm/zstd.wasm", location.href),
      sha256: new URL("/octet/wasm/sha256.wasm", location.href),
    });
    const data = textBytes(100_000, 7);
    assertBytesEqual(core.zstd.decompress(core.zstd.compress(data)), data, "zstd round trip");
    assertEqual(
      core.sha256().update(new TextEncoder().encode("abc")).hex(),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      "sha256(abc)",
    );
  },
};

const all = [...cases, fallbackCase];

const suite = {
  names: all.map((c) => c.name),
  userAgent: navigator.userAgent,
  async run(i: number): Promise<WireOutcome> {
    return toWire(await runCase(() => loadCore(), all[i]!, location.origin));
  },
};

(globalThis as unknown as { layerkitSuite: typeof suite }).layerkitSuite = suite;
