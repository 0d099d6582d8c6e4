/**
 * The part of the runtime adapters that is the same everywhere: turning a zstd WASM source and a
 * hasher (a WASM source or a native factory) into a {@link Core}, and the `init` / `loadCore`
 * pair every adapter exports. Each adapter only says where its WASM comes from and which hasher
 * it prefers.
 *
 * @module
 */
import { type Core, getCore, type Hasher, setCoreLoader } from "../core.js";
import { LayerkitError } from "../errors.js";
import type { WasmSource } from "../wasm/load.js";
import { loadSha256 } from "../wasm/sha256.js";
import { createDeflate, hasDeflate } from "../wasm/deflate.js";
import { instantiateZstd } from "../wasm/zstd.js";

/** WASM supplied explicitly: a compiled module, the bytes, a URL or a Response (or a promise of one). */
export interface CoreOptions {
  /** `wasm/zstd.wasm`. Default: the adapter's own way of finding it. */
  zstd?: WasmSource | PromiseLike<WasmSource>;
  /** `wasm/sha256.wasm`. Default: the adapter's own way of finding it (unused when a native hasher is chosen). */
  sha256?: WasmSource | PromiseLike<WasmSource>;
}

/** Where the SHA-256 of a {@link Core} comes from: a WASM source, or a native hasher factory. */
export type HasherSource = WasmSource | PromiseLike<WasmSource> | (() => Hasher);

/** Instantiate the zstd WASM and the hasher (in parallel) and assemble a {@link Core}. */
export async function buildCore(zstd: WasmSource | PromiseLike<WasmSource>, sha256: HasherSource): Promise<Core> {
  const hasherFactory = async (): Promise<() => Hasher> => {
    if (typeof sha256 === "function") return sha256 as () => Hasher;
    const mod = await loadSha256(await settle(sha256, "sha256.wasm"));
    return () => mod.create();
  };
  const codecs = async () => {
    const { zstd: engine, exports } = await instantiateZstd(await settle(zstd, "zstd.wasm"));
    if (!hasDeflate(exports)) {
      throw new LayerkitError("WASM_LOAD_FAILED", "this zstd.wasm has no DEFLATE engine: use the wasm/zstd.wasm of this layerkit version");
    }
    return { zstd: engine, deflate: createDeflate(exports) };
  };
  const [{ zstd: engine, deflate }, hasher] = await Promise.all([codecs(), hasherFactory()]);
  return Object.freeze({ zstd: engine, deflate, sha256: hasher });
}

/** Await a source (a file read, say); its failure becomes WASM_LOAD_FAILED. */
async function settle(source: WasmSource | PromiseLike<WasmSource>, name: string): Promise<WasmSource> {
  try {
    return await source;
  } catch (e) {
    if (e instanceof LayerkitError) throw e;
    throw new LayerkitError("WASM_LOAD_FAILED", `cannot read ${name}: ${(e as Error)?.message ?? e}`, { name }, { cause: e });
  }
}

/**
 * `locate()` (an adapter's `new URL("../../wasm/x.wasm", import.meta.url)`, kept literal there so
 * bundlers can see and copy the file), or a WASM_LOAD_FAILED saying how to supply the file when
 * `import.meta.url` is unusable (e.g. a bundle converted to CommonJS or a classic script).
 */
export function locateWasm(name: string, locate: () => URL): URL {
  try {
    return locate();
  } catch (e) {
    throw new LayerkitError(
      "WASM_LOAD_FAILED",
      `cannot locate ${name} relative to layerkit's module (import.meta.url is not usable here): ` +
        "call init({ zstd, sha256 }) with URLs, bytes or WebAssembly modules",
      { name },
      { cause: e },
    );
  }
}

/** The `init` / `loadCore` pair of one adapter. */
export interface RuntimeEntry<O> {
  init(options: O): void;
  loadCore(options?: O): Promise<Core>;
}

/**
 * Register `build` as the core loader now (so library code calling `getCore()` works as soon as
 * the adapter is imported) and return the adapter's `init` / `loadCore`.
 *
 * `init(options)` replaces the options the loader builds with (the core is rebuilt on next use);
 * `loadCore(options?)` does the same when given options, then returns the (shared) core.
 */
export function runtimeEntry<O>(build: (options: O | undefined) => Promise<Core>): RuntimeEntry<O> {
  // async: whatever `build` throws becomes a rejection of getCore(), never a synchronous throw.
  const register = (options: O | undefined): void => setCoreLoader(async () => build(options));
  register(undefined);
  return {
    init(options: O): void {
      register(options);
    },
    loadCore(options?: O): Promise<Core> {
      if (options !== undefined) register(options);
      return getCore();
    },
  };
}
