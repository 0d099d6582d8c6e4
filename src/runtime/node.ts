/**
 * layerkit for Node.js: the WASM files are read next to the package (`wasm/*.wasm`, found
 * relative to this module, so it works from `src/runtime/` and `dist/runtime/` alike) and SHA-256
 * runs on node:crypto, which streams several times faster than the WASM hasher here.
 *
 * @example
 * ```ts
 * import { loadCore } from "layerkit";
 * const core = await loadCore();
 * core.sha256().update(bytes).hex();
 * ```
 *
 * @module
 */
import { readFile } from "node:fs/promises";
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

/** Options for the Node adapter. */
export interface NodeCoreOptions extends CoreOptions {
  /** `"native"` (default): node:crypto. `"wasm"`: the WASM hasher (`sha256` or `wasm/sha256.wasm`). */
  hasher?: "native" | "wasm";
}

const entry = runtimeEntry<NodeCoreOptions>((o = {}) =>
  buildCore(
    o.zstd ?? readFile(locateWasm("zstd.wasm", () => new URL("../../wasm/zstd.wasm", import.meta.url))),
    o.hasher === "wasm"
      ? (o.sha256 ?? readFile(locateWasm("sha256.wasm", () => new URL("../../wasm/sha256.wasm", import.meta.url))))
      : nodeSha256,
  )
);

/** Use these WASM sources / hasher from now on (the core is rebuilt on next use). */
export function init(options: NodeCoreOptions): void {
  entry.init(options);
}

/** The core (zstd + SHA-256), loaded once and shared; with options, as {@link init} then load. */
export function loadCore(options?: NodeCoreOptions): Promise<Core> {
  return entry.loadCore(options);
}
