#!/usr/bin/env node
// zstd level-3 throughput on the real-files corpus: layerkit's WASM (streaming, 1 MiB pieces) vs
// the native zstd CLI (-3 -T1, file → /dev/null) vs @bokuweb/zstd-wasm (one-shot: it has no
// streaming API). Best of REPEAT runs each; MB/s are of uncompressed bytes (1 MB = 10^6 bytes).
// Needs `npm run build` (imports ../dist/wasm/zstd.js). Runnable alone: `node bench/zstd.mjs`.
import { spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const PIECE = 1 << 20;
const LEVEL = 3;
const here = dirname(fileURLToPath(import.meta.url));

export default async function bench(ctx) {
  const { tarPath, data } = ctx;
  const wasmDir = ctx.wasmDir ?? join(here, "..", "wasm");
  const { loadZstd } = await import("../dist/wasm/zstd.js");
  const zstd = await loadZstd(readFileSync(join(wasmDir, "zstd.wasm")));
  const mb = data.length / 1e6;
  const rows = [];

  // ---- ours: streaming, the way layers are written and read ----
  const oursCompress = () => {
    const c = zstd.createCompressor({ level: LEVEL, checksum: true });
    const parts = [];
    for (let i = 0; i < data.length; i += PIECE) parts.push(c.write(data.subarray(i, i + PIECE)));
    parts.push(c.endFrame());
    c.free();
    return parts;
  };
  let ourParts;
  const tOursC = best(() => (ourParts = oursCompress()));
  const ours = concat(ourParts);
  ourParts = undefined;
  const oursDecompress = () => {
    const d = zstd.createDecompressor();
    let n = 0;
    for (let i = 0; i < ours.length; i += PIECE) n += d.write(ours.subarray(i, i + PIECE)).length;
    d.end();
    d.free();
    if (n !== data.length) throw new Error(`decompressed ${n} bytes, expected ${data.length}`);
  };
  const tOursD = best(oursDecompress);

  // ---- native CLI ----
  const zst = join(dirname(tarPath), "real.tar.native.zst");
  const run = (args, out) => {
    const fd = openSync(out, "w");
    try {
      const t0 = performance.now();
      const r = spawnSync("zstd", args, { stdio: ["ignore", fd, "inherit"] });
      const t = performance.now() - t0;
      if (r.status !== 0) throw new Error(`zstd ${args.join(" ")} failed: ${r.error ?? r.status}`);
      return t;
    } finally {
      closeSync(fd);
    }
  };
  let native = null;
  let tNatC = NaN, tNatD = NaN;
  try {
    run(["-q", `-${LEVEL}`, "-T1", "-f", "-c", tarPath], zst);
    native = readFileSync(zst);
    tNatC = best(() => run(["-q", `-${LEVEL}`, "-T1", "-c", tarPath], "/dev/null"), true);
    tNatD = best(() => run(["-q", "-d", "-c", zst], "/dev/null"), true);
  } catch (e) {
    console.error(`native zstd unavailable: ${e.message}`);
  } finally {
    rmSync(zst, { force: true });
  }

  // ---- @bokuweb/zstd-wasm (one-shot only) ----
  let tBokC = NaN, tBokD = NaN, bokSize = NaN;
  try {
    const bok = await import("@bokuweb/zstd-wasm");
    await bok.init();
    let out;
    tBokC = best(() => (out = bok.compress(data, LEVEL)));
    bokSize = out.length;
    tBokD = best(() => {
      if (bok.decompress(out).length !== data.length) throw new Error("bokuweb round trip size");
    });
  } catch (e) {
    console.error(`@bokuweb/zstd-wasm unavailable: ${e.message}`);
  }

  const rate = (ms) => mb / (ms / 1000);
  const row = (name, ms, baseName, baseMs) => {
    const r = { group: "zstd", name, mbPerSec: rate(ms) };
    if (baseName && Number.isFinite(baseMs)) Object.assign(r, { baseline: baseName, ratio: baseMs / ms });
    return r;
  };
  rows.push(row(`compress L${LEVEL}: layerkit wasm, streaming`, tOursC, `native zstd -${LEVEL} -T1`, tNatC));
  if (Number.isFinite(tNatC)) rows.push(row(`compress L${LEVEL}: native zstd -${LEVEL} -T1`, tNatC));
  if (Number.isFinite(tBokC)) rows.push(row(`compress L${LEVEL}: @bokuweb/zstd-wasm, one-shot`, tBokC, `native zstd -${LEVEL} -T1`, tNatC));
  if (Number.isFinite(tBokC)) rows.push(row(`compress L${LEVEL}: layerkit vs @bokuweb/zstd-wasm`, tOursC, "@bokuweb/zstd-wasm", tBokC));
  rows.push(row(`decompress: layerkit wasm, streaming`, tOursD, "native zstd -d", tNatD));
  if (Number.isFinite(tNatD)) rows.push(row(`decompress: native zstd -d`, tNatD));
  if (Number.isFinite(tBokD)) rows.push(row(`decompress: @bokuweb/zstd-wasm, one-shot`, tBokD, "native zstd -d", tNatD));
  if (Number.isFinite(tBokD)) rows.push(row(`decompress: layerkit vs @bokuweb/zstd-wasm`, tOursD, "@bokuweb/zstd-wasm", tBokD));
  rows.push({
    group: "zstd",
    name: `compressed size L${LEVEL}: layerkit`,
    value: ((100 * ours.length) / data.length).toFixed(2),
    unit: "% of input",
  });
  if (native) {
    rows.push({
      group: "zstd",
      name: `compressed size L${LEVEL}: native`,
      value: ((100 * native.length) / data.length).toFixed(2),
      unit: "% of input",
    });
  }
  if (Number.isFinite(bokSize)) {
    rows.push({
      group: "zstd",
      name: `compressed size L${LEVEL}: @bokuweb`,
      value: ((100 * bokSize) / data.length).toFixed(2),
      unit: "% of input",
    });
  }
  const wasm = readFileSync(join(wasmDir, "zstd.wasm"));
  const { gzipSync } = await import("node:zlib");
  rows.push({
    group: "zstd",
    name: "zstd.wasm size (raw / gzip -9)",
    value: `${(wasm.length / 1024).toFixed(1)} / ${(gzipSync(wasm, { level: 9 }).length / 1024).toFixed(1)}`,
    unit: "KiB",
  });
  return rows;
}

/** Best (smallest) time of REPEAT runs, after one warm-up run for in-process code. */
function best(fn, external = false) {
  if (!external) fn();
  let min = Infinity;
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    const r = fn();
    const t = typeof r === "number" && external ? r : performance.now() - t0;
    min = Math.min(min, t);
  }
  return min;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { corpus } = await import("./corpus.mjs");
  const tarPath = await corpus();
  const data = new Uint8Array(await readFile(tarPath));
  console.log(`corpus: ${tarPath} (${(data.length / 2 ** 20).toFixed(1)} MiB)`);
  for (const r of await bench({ tarPath, data })) {
    const v = r.mbPerSec !== undefined ? `${r.mbPerSec.toFixed(1)} MB/s` : `${r.value} ${r.unit ?? ""}`;
    console.log(`${r.name.padEnd(50)} ${v.padStart(16)}  ${r.ratio !== undefined ? `${r.ratio.toFixed(2)}× ${r.baseline}` : ""}`);
  }
}
