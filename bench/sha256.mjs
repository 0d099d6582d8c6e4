// SHA-256 throughput: layerkit's WASM vs hash-wasm (also WASM) vs node:crypto (native, SHA-NI
// where the CPU has it). Part of `npm run bench` (bench/run.mjs), which runs after `npm run build`:
// this file imports the compiled loader from dist/. Run alone with `node bench/sha256.mjs`
// (hashes a generated 256 MiB buffer).
//
// Every implementation hashes the same bytes in the same piece size, in alternating passes, and
// keeps its best pass, so a noisy machine affects all of them alike. Ratios only compare numbers
// from the same run.
import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { createSHA256 } from "hash-wasm";
import { loadSha256 } from "../dist/wasm/sha256.js";

const PIECE = 64 * 1024;
const PASSES = 3;

/** @param {{ data: Uint8Array, wasmDir: string }} ctx */
export default async function bench(ctx) {
  const { data, wasmDir } = ctx;
  const sha = await loadSha256(await readFile(join(wasmDir, "sha256.wasm")));
  const hw = await createSHA256();

  const stream = {
    "layerkit WASM": () => {
      const h = sha.create();
      for (let o = 0; o < data.length; o += PIECE) h.update(data.subarray(o, o + PIECE));
      return h.hex();
    },
    "hash-wasm": () => {
      hw.init();
      for (let o = 0; o < data.length; o += PIECE) hw.update(data.subarray(o, o + PIECE));
      return hw.digest("hex");
    },
    "node:crypto": () => {
      const h = createHash("sha256");
      for (let o = 0; o < data.length; o += PIECE) h.update(data.subarray(o, o + PIECE));
      return h.digest("hex");
    },
  };
  const best = await measure(stream, data.length);

  // Many small messages, as when hashing every file and chunk of a layer: 4 KiB each.
  const SMALL = 4096;
  const smallBytes = Math.min(data.length, 32 * 2 ** 20) - (Math.min(data.length, 32 * 2 ** 20) % SMALL);
  const small = {
    "layerkit WASM": () => {
      let x = 0;
      for (let o = 0; o < smallBytes; o += SMALL) x ^= sha.create().update(data.subarray(o, o + SMALL)).digest()[0];
      return x;
    },
    "hash-wasm": () => {
      let x = 0;
      for (let o = 0; o < smallBytes; o += SMALL) {
        hw.init();
        hw.update(data.subarray(o, o + SMALL));
        x ^= hw.digest("binary")[0];
      }
      return x;
    },
    "node:crypto": () => {
      let x = 0;
      for (let o = 0; o < smallBytes; o += SMALL) x ^= createHash("sha256").update(data.subarray(o, o + SMALL)).digest()[0];
      return x;
    },
  };
  const bestSmall = await measure(small, smallBytes);

  const ours = best.get("layerkit WASM");
  const oursSmall = bestSmall.get("layerkit WASM");
  const piece = `${PIECE / 1024} KiB pieces`;
  return [
    {
      group: "sha256",
      name: `layerkit WASM (stream, ${piece})`,
      mbPerSec: ours,
      baseline: "vs hash-wasm",
      ratio: ours / best.get("hash-wasm"),
    },
    { group: "sha256", name: `hash-wasm (stream, ${piece})`, mbPerSec: best.get("hash-wasm") },
    { group: "sha256", name: `node:crypto (stream, ${piece})`, mbPerSec: best.get("node:crypto") },
    {
      group: "sha256",
      name: "layerkit WASM vs node:crypto (stream)",
      mbPerSec: ours,
      baseline: "vs node:crypto",
      ratio: ours / best.get("node:crypto"),
    },
    {
      group: "sha256",
      name: "layerkit WASM (4 KiB messages)",
      mbPerSec: oursSmall,
      baseline: "vs hash-wasm",
      ratio: oursSmall / bestSmall.get("hash-wasm"),
    },
    { group: "sha256", name: "hash-wasm (4 KiB messages)", mbPerSec: bestSmall.get("hash-wasm") },
    { group: "sha256", name: "node:crypto (4 KiB messages)", mbPerSec: bestSmall.get("node:crypto") },
  ];
}

/** Best MB/s of each function over PASSES alternating passes; checks they agree. */
async function measure(fns, bytes) {
  const best = new Map();
  let expected;
  for (let pass = 0; pass < PASSES; pass++) {
    for (const [name, fn] of Object.entries(fns)) {
      const t0 = performance.now();
      const result = fn();
      const seconds = (performance.now() - t0) / 1000;
      if (expected === undefined) expected = result;
      else if (result !== expected) throw new Error(`sha256 bench: ${name} gave ${result}, expected ${expected}`);
      best.set(name, Math.max(best.get(name) ?? 0, bytes / 1e6 / seconds));
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  return best;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Alone: 256 MiB of pseudo-random bytes (not compressible, not all-zero).
  const data = new Uint8Array(256 * 2 ** 20);
  const words = new Uint32Array(data.buffer);
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  const wasmDir = fileURLToPath(new URL("../wasm/", import.meta.url));
  for (const r of await bench({ data, wasmDir })) {
    const ratio = r.ratio !== undefined ? `  ${r.ratio.toFixed(2)}× ${r.baseline}` : "";
    console.log(`${r.name.padEnd(44)} ${r.mbPerSec.toFixed(1).padStart(8)} MB/s${ratio}`);
  }
}
