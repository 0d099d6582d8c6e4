/**
 * The worker side of the workerd runner (bundled by test/workerd/run.mjs with esbuild,
 * conditions ["workerd"], the .wasm imports left as they are): it imports the two WASM modules
 * the way edge users do, hands them to the workerd adapter's init(), and serves the shared suite.
 *
 *   GET /cases  -> { names }
 *   GET /run/N?blobs=ORIGIN  -> the outcome of case N, artifacts base64 (checked by the host with
 *                               zstd -d), HTTP blob sources on the runner's blob server at ORIGIN
 */
import zstdWasm from "./zstd.wasm";
import sha256Wasm from "./sha256.wasm";
import { init, loadCore } from "../../src/runtime/workerd.js";
import { isLayerkitError, type LayerkitError } from "../../src/errors.js";
import { cases } from "../conformance/index.js";
import { assert, assertEqual, assertThrowsCode, type ConformanceCase } from "../conformance/harness.js";
import { runCase, toWire } from "../browser/suite.js";

// Before init(): the adapter has nothing it may compile, and must say so.
const beforeInit: Promise<unknown> = loadCore().then(
  () => "resolved",
  (e: unknown) => e,
);

init({ zstd: zstdWasm, sha256: sha256Wasm });

const adapterCases: ConformanceCase[] = [
  {
    name: "adapter: loadCore() before init() rejects with WASM_LOAD_FAILED telling to import the modules",
    async run() {
      const e = await beforeInit;
      assert(isLayerkitError(e, "WASM_LOAD_FAILED"), `expected LayerkitError WASM_LOAD_FAILED, got ${String(e)}`);
      const message = (e as LayerkitError).message;
      assert(
        message.includes("init({ zstd, sha256 })") && message.includes('import zstd from "layerkit/wasm/zstd.wasm"'),
        `message: ${message}`,
      );
    },
  },
  {
    name: "adapter: init() refuses bytes with BAD_ARGUMENT; workerd refuses to compile bytes; imported modules work",
    async run() {
      const bytes = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
      await assertThrowsCode(
        () => init({ zstd: bytes as unknown as WebAssembly.Module, sha256: sha256Wasm }),
        "BAD_ARGUMENT",
        "init with bytes",
      );
      let refused = false;
      try {
        await WebAssembly.compile(bytes);
      } catch {
        refused = true;
      }
      assert(refused, "workerd compiled WebAssembly from bytes: the premise of the workerd adapter no longer holds");
      assert(zstdWasm instanceof WebAssembly.Module && sha256Wasm instanceof WebAssembly.Module, "imports are WebAssembly.Module");
      const core = await loadCore();
      assertEqual(await loadCore(), core, "one shared core");
      assertEqual(
        core.sha256().update(new TextEncoder().encode("abc")).hex(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha256(abc)",
      );
    },
  },
];

const all = [...cases, ...adapterCases];

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === "/cases") return Response.json({ names: all.map((c) => c.name) });
    const m = /^\/run\/(\d+)$/.exec(path);
    const c = m ? all[Number(m[1])] : undefined;
    const blobs = url.searchParams.get("blobs");
    if (c && blobs) return Response.json(toWire(await runCase(() => loadCore(), c, blobs)));
    if (c) return new Response("missing ?blobs=ORIGIN", { status: 400 });
    return new Response("not found", { status: 404 });
  },
};
