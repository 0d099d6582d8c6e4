/**
 * layerkit for Deno: the WASM files are read relative to this module (`Deno.readFile` for a
 * local checkout or npm install, streaming compilation when the module was loaded over HTTPS,
 * as from JSR). SHA-256 defaults to node:crypto: under Deno 2.9 it streamed ~1650 MiB/s against
 * ~380 MiB/s for the WASM hasher (1 MiB updates; small one-shot hashes were on a par), so
 * `hasher: "wasm"` is there for tests and for hosts without node:crypto.
 *
 * @example
 * ```ts
 * import { loadCore } from "jsr:@layerkit/layerkit";
 * const core = await loadCore();
 * core.sha256().update(bytes).hex();
 * ```
 *
 * @module
 */
import type { Core } from "../core.js";
import { nodeSha256 } from "./node-hash.js";
import { buildCore, type CoreOptions, locateWasm, runtimeEntry } from "./shared.js";

export * from "../index.js";
export { FileSource, openFileSource } from "../source/node-file.js";
export { NodeLayoutFs, openLayout } from "../oci/layout-node.js";
export { nodeDirectoryFs } from "../tar/from-directory-node.js";
export { nodeDiffFs, type NodeDiffFsOptions } from "../diff/node.js";
export { openImage, type OpenImageOptions } from "../image/open-image.js";
export type { CoreOptions } from "./shared.js";

/** Options for the Deno adapter. */
export interface DenoCoreOptions extends CoreOptions {
  /** `"native"` (default): node:crypto. `"wasm"`: the WASM hasher (`sha256` or `wasm/sha256.wasm`). */
  hasher?: "native" | "wasm";
}

/** The one Deno API used, typed here so the file also type-checks outside Deno. */
const deno = (globalThis as unknown as { Deno?: { readFile(path: URL): Promise<Uint8Array> } }).Deno;

/** Local files are read; remote ones (JSR, https) are fetched and compiled while streaming. */
function wasmFile(url: URL): Promise<Uint8Array> | URL {
  return url.protocol === "file:" && deno ? deno.readFile(url) : url;
}

const entry = runtimeEntry<DenoCoreOptions>((o = {}) =>
  buildCore(
    o.zstd ?? wasmFile(locateWasm("zstd.wasm", () => new URL("../../wasm/zstd.wasm", import.meta.url))),
    o.hasher === "wasm"
      ? (o.sha256 ?? wasmFile(locateWasm("sha256.wasm", () => new URL("../../wasm/sha256.wasm", import.meta.url))))
      : nodeSha256,
  )
);

/** Use these WASM sources / hasher from now on (the core is rebuilt on next use). */
export function init(options: DenoCoreOptions): void {
  entry.init(options);
}

/** The core (zstd + SHA-256), loaded once and shared; with options, as {@link init} then load. */
export function loadCore(options?: DenoCoreOptions): Promise<Core> {
  return entry.loadCore(options);
}
