#!/usr/bin/env node
// Layer conversion and its parts on the real-files corpus, streamed from files the way a CLI
// would: the plain gzip layer writer (level 6) vs `gzip -6`, decompressLayer vs `gzip -d` /
// `zstd -d`, and convertLayer gzip→zstd, gzip→zstd:chunked, zstd→gzip vs the native pipelines
// (`gzip -dc | zstd -3 -T1`, `zstd -dc | gzip -6`). One run each (BENCH_REPEAT for best of N);
// MB/s are of uncompressed tar bytes (1 MB = 10^6 bytes). Needs `npm run build`.
// Runnable alone: `node bench/convert.mjs`.
import { spawnSync } from "node:child_process";
import { createReadStream, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";

const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);

const fileStream = (path) => Readable.toWeb(createReadStream(path, { highWaterMark: 1 << 20 }));

async function drain(stream) {
  let n = 0;
  const r = stream.getReader();
  for (let x = await r.read(); !x.done; x = await r.read()) n += x.value.length;
  return n;
}

async function best(f) {
  let t = Infinity;
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    await f();
    t = Math.min(t, performance.now() - t0);
  }
  return t / 1000;
}

function shell(cmd) {
  let t = Infinity;
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    const r = spawnSync("bash", ["-o", "pipefail", "-c", cmd], { stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status})`);
    t = Math.min(t, performance.now() - t0);
  }
  return t / 1000;
}

export default async function bench(ctx) {
  const { tarPath, data } = ctx;
  const { loadCore } = await import("../dist/runtime/node.js");
  const { createLayer } = await import("../dist/create-layer.js");
  const { decompressLayer } = await import("../dist/formats/decompress.js");
  const { convertLayer } = await import("../dist/convert/convert-layer.js");
  const core = await loadCore();
  const mb = data.length / 1e6;
  const rows = [];
  const row = (name, seconds, baselineSeconds, baseline) =>
    rows.push({
      group: "convert",
      name,
      mbPerSec: mb / seconds,
      ...(baselineSeconds ? { ratio: baselineSeconds / seconds, baseline } : {}),
    });

  const gz = join(tmpdir(), `layerkit-bench-${process.pid}.tar.gz`);
  const zs = join(tmpdir(), `layerkit-bench-${process.pid}.tar.zst`);
  try {
    shell(`gzip -6 -c '${tarPath}' > '${gz}' && zstd -3 -q -T1 -c '${tarPath}' > '${zs}'`);

    let ourGzipSize = 0;
    const tCreate = await best(async () => {
      ourGzipSize = await drain(createLayer(fileStream(tarPath), { format: "gzip", level: 6, core }).stream);
    });
    const tNativeGzip = shell(`gzip -6 -c '${tarPath}' > /dev/null`);
    row("gzip layer create, level 6 (zlib 1.2.13 in WASM)", tCreate, tNativeGzip, "of gzip -6 speed");
    const nativeSize = Number(spawnSync("stat", ["-c", "%s", gz], { encoding: "utf8" }).stdout);
    rows.push({
      group: "convert",
      name: "gzip layer size vs gzip -6",
      value: `${(ourGzipSize / 2 ** 20).toFixed(1)} MiB vs ${(nativeSize / 2 ** 20).toFixed(1)} MiB`,
      unit: "",
    });

    const tGunzip = await best(() => drain(decompressLayer(fileStream(gz), "gzip", { core })));
    row("decompressLayer gzip", tGunzip, shell(`gzip -dc '${gz}' > /dev/null`), "of gzip -d speed");
    const tUnzstd = await best(() => drain(decompressLayer(fileStream(zs), "zstd", { core })));
    row("decompressLayer zstd", tUnzstd, shell(`zstd -dcq '${zs}' > /dev/null`), "of zstd -d speed");

    const nativeGzToZstd = shell(`gzip -dc '${gz}' | zstd -3 -q -T1 -c > /dev/null`);
    row(
      "convert gzip → zstd (level 3)",
      await best(() => drain(convertLayer(fileStream(gz), { to: "zstd", from: "gzip", core }).stream)),
      nativeGzToZstd,
      "of gzip -dc | zstd -3",
    );
    row(
      "convert gzip → zstd:chunked (level 3)",
      await best(() => drain(convertLayer(fileStream(gz), { to: "zstd:chunked", from: "gzip", core }).stream)),
      nativeGzToZstd,
      "of gzip -dc | zstd -3",
    );
    row(
      "convert zstd → gzip (level 6)",
      await best(() => drain(convertLayer(fileStream(zs), { to: "gzip", from: "zstd", core }).stream)),
      shell(`zstd -dcq '${zs}' | gzip -6 -c > /dev/null`),
      "of zstd -dc | gzip -6",
    );
  } finally {
    rmSync(gz, { force: true });
    rmSync(zs, { force: true });
  }
  return rows;
}

// Alone: `node bench/convert.mjs` uses the shared corpus.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { corpus } = await import("./corpus.mjs");
  const { readFile } = await import("node:fs/promises");
  const tarPath = await corpus();
  const data = new Uint8Array(await readFile(tarPath));
  for (const r of await bench({ tarPath, data })) console.log(JSON.stringify(r));
}
