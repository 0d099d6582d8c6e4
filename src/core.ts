/**
 * The WASM core as the rest of the library sees it: zstd and DEFLATE engines and a SHA-256 hasher factory.
 *
 * Runtime adapters (src/runtime/) build a {@link Core} from whatever that runtime allows (file
 * bytes, a URL, an imported module) and register a loader with {@link setCoreLoader}; library
 * code calls {@link getCore} and never learns where the WASM came from.
 *
 * @module
 */
import { LayerkitError } from "./errors.js";
import type { Deflate } from "./wasm/deflate.js";
import type { Zstd } from "./wasm/zstd.js";

/** A streaming hash. `digest()`/`hex()` finish it; it cannot be updated afterwards. */
export interface Hasher {
  update(data: Uint8Array): this;
  digest(): Uint8Array;
  hex(): string;
  /** An independent hasher in the same state (the digest of a prefix without hashing it twice). */
  clone(): Hasher;
}

/** What the formats need from the runtime. */
export interface Core {
  readonly zstd: Zstd;
  /** Raw DEFLATE and CRC-32 (libdeflate, in the same WASM module as zstd). */
  readonly deflate: Deflate;
  /** A new SHA-256 hasher: WASM in browsers and workerd, node:crypto where that is faster. */
  sha256(): Hasher;
}

let loader: (() => Promise<Core>) | undefined;
let pending: Promise<Core> | undefined;

/** Called once by a runtime adapter; replaces any earlier loader. */
export function setCoreLoader(load: () => Promise<Core>): void {
  loader = load;
  pending = undefined;
}

/** The core for this runtime, loaded on first use and shared afterwards. */
export function getCore(): Promise<Core> {
  if (!pending) {
    if (!loader) {
      return Promise.reject(
        new LayerkitError(
          "WASM_LOAD_FAILED",
          "layerkit core not initialised: import layerkit through its runtime entry, or call init({ zstd, sha256 }) with the WASM modules first",
        ),
      );
    }
    pending = loader().catch((e) => {
      pending = undefined; // let a later call retry
      throw e;
    });
  }
  return pending;
}

/** `sha256:<hex>` of `data`, the digest form used by OCI. */
export function digestOf(core: Core, data: Uint8Array): string {
  return "sha256:" + core.sha256().update(data).hex();
}
