/**
 * Node entry for the end-to-end runners (bundled by test/e2e/support.mjs): the Node core, with
 * the WASM read from the repository (the bundle does not sit where the adapter looks), the test
 * layers, and the same tree written by upstream Go code through the interop harness.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Core } from "../../src/core.js";
import { loadCore } from "../../src/runtime/node.js";
import { runHarness } from "../support/go-harness.js";
import { testTar } from "./layers.js";

export { fileRange, makeTestLayers, type TestLayer, type TestLayers } from "./layers.js";

/** The Node core (node:crypto SHA-256), zstd WASM from `<root>/wasm/zstd.wasm`. */
export async function nodeCore(root: string): Promise<Core> {
  return loadCore({ zstd: await readFile(join(root, "wasm/zstd.wasm")) });
}

/** A layer written by upstream code, with the descriptor fields upstream reported. */
export interface UpstreamLayer {
  name: string;
  producer: string;
  bytes: Uint8Array;
  digest: string;
  size: number;
  annotations: Record<string, string>;
}

/**
 * The test tree written by containers/storage's zstd:chunked compressor and by
 * stargz-snapshotter's estargz.Build with its zstdchunked compressor (Debian's Go packages).
 */
export function upstreamLayers(): UpstreamLayer[] {
  const dir = mkdtempSync(join(tmpdir(), "layerkit-e2e-upstream-"));
  try {
    const tar = join(dir, "tree.tar");
    writeFileSync(tar, testTar());
    return [
      ["cstorage-write", "upstream-cstorage.zst"],
      ["stargz-zstd-write", "upstream-stargz.zst"],
    ].map(([command, name]) => {
      const out = join(dir, name!);
      const r = runHarness<{ producer: string; annotations: Record<string, string>; size: number; digest: string }>([command!, tar, out]);
      return {
        name: name!,
        producer: r.producer,
        bytes: new Uint8Array(readFileSync(out)),
        digest: r.digest,
        size: r.size,
        annotations: r.annotations,
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
