// zstd:chunked benchmarks: creation throughput vs the native zstd CLI on the same tar, TOC parse
// time for a 100,000-entry layer, and peak RSS while converting a 1 GiB tar (in a child process,
// so the number is that conversion's own). Imports ../dist (run `npm run build` first).
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/", import.meta.url);
const { loadCore } = await import(new URL("runtime/node.js", dist).href);
const { createLayer } = await import(new URL("create-layer.js", dist).href);
const { parseToc } = await import(new URL("formats/zstd-chunked/toc-parse.js", dist).href);
const { encodeToc } = await import(new URL("formats/zstd-chunked/toc-json.js", dist).href);

function streamOf(data, piece = 1 << 20) {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= data.length) return c.close();
      c.enqueue(data.subarray(at, at + piece));
      at += piece;
    },
  });
}

async function drain(stream) {
  const r = stream.getReader();
  let n = 0;
  for (let x = await r.read(); !x.done; x = await r.read()) n += x.value.length;
  return n;
}

function nativeSeconds(args, file) {
  const t0 = process.hrtime.bigint();
  execFileSync("sh", ["-c", `zstd ${args} -c "${file}" > /dev/null`]);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** A TOC of `n` small files, as the writer would produce, for the parse benchmark. */
function syntheticToc(n) {
  const entries = [];
  let off = 1000;
  for (let i = 0; i < n; i++) {
    const size = 100 + (i % 5000);
    entries.push({
      type: "reg",
      name: `usr/share/pkg${i % 300}/file-${i}.txt`,
      mode: 0o644,
      size,
      uid: 0,
      gid: 0,
      modtime: "2024-05-01T10:20:30.123456789Z",
      digest: "sha256:" + (i.toString(16).padStart(8, "0")).repeat(8),
      offset: off,
      endOffset: off + 60,
    });
    off += 600;
  }
  return { toc: { version: 1, entries, tarSplitDigest: "sha256:" + "ab".repeat(32) }, payloadEnd: off + 1000 };
}

export default async function bench({ tarPath, data }) {
  const rows = [];
  const core = await loadCore();
  const mb = data.length / 1e6;

  // Creation: best of 2 (first run warms up the JIT and the WASM).
  const create = async (format) => {
    let best = Infinity;
    let size = 0;
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      const w = createLayer(streamOf(data), { format, level: 3, core });
      size = await drain(w.stream);
      await w.result;
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    return { best, size };
  };
  const { best, size } = await create("zstd:chunked");
  // The same tar as one plain zstd stream through the same WASM: what the chunking costs on top.
  const plain = await create("zstd");
  const native = Math.min(nativeSeconds("-3 -T1 -q", tarPath), nativeSeconds("-3 -T1 -q", tarPath));
  rows.push({ group: "zstd:chunked", name: "create level 3 (ours)", mbPerSec: mb / best });
  rows.push({ group: "zstd:chunked", name: "create level 3 (ours), seconds", value: best.toFixed(2), unit: "s" });
  rows.push({ group: "zstd:chunked", name: "plain zstd layer, same WASM, level 3", mbPerSec: mb / plain.best });
  rows.push({ group: "zstd:chunked", name: "native zstd -3 -T1 (plain zstd, same tar)", mbPerSec: mb / native });
  rows.push({ group: "zstd:chunked", name: "native zstd -3 -T1, seconds", value: native.toFixed(2), unit: "s" });
  rows.push({ group: "zstd:chunked", name: "create: ours / native plain zstd", value: (native / best).toFixed(2), unit: "×" });
  rows.push({
    group: "zstd:chunked",
    name: "compressed size: ours zstd:chunked / native zstd -3",
    value: (size / Number(execFileSync("sh", ["-c", `zstd -3 -T1 -q -c "${tarPath}" | wc -c`]).toString())).toFixed(3),
    unit: "×",
  });

  // TOC parse, 100,000 entries.
  const { toc, payloadEnd } = syntheticToc(100_000);
  const json = encodeToc(toc);
  let parseBest = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    parseToc(json, { payloadEnd });
    parseBest = Math.min(parseBest, performance.now() - t0);
  }
  const jsonBest = (() => {
    const text = new TextDecoder().decode(json);
    let b = Infinity;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      JSON.parse(text);
      b = Math.min(b, performance.now() - t0);
    }
    return b;
  })();
  rows.push({
    group: "zstd:chunked",
    name: `TOC parse+validate, 100,000 entries (${(json.length / 1e6).toFixed(1)} MB)`,
    value: parseBest.toFixed(0),
    unit: "ms",
  });
  rows.push({ group: "zstd:chunked", name: "TOC parse: ours / bare JSON.parse time", value: (parseBest / jsonBest).toFixed(1), unit: "×" });

  // Peak RSS converting a 1 GiB tar file to a layer file, each in its own process: the library,
  // the CLI, and Node streaming the same bytes without converting them (the floor).
  const { bigCorpus } = await import("./corpus.mjs");
  const bigTar = await bigCorpus();
  const out = join(tmpdir(), `layerkit-bench-${process.pid}.zst`);
  const peakFile = join(tmpdir(), `layerkit-bench-${process.pid}.rss`);
  const peakRss = fileURLToPath(new URL("./peak-rss.cjs", import.meta.url));
  /** Runs node with `args` (peak-rss.cjs preloaded); its stdout and its peak RSS in MiB. */
  const run = (args) => {
    const child = spawnSync(process.execPath, ["-r", peakRss, ...args], {
      encoding: "utf8",
      maxBuffer: 1 << 20,
      env: { ...process.env, LAYERKIT_PEAK_RSS_FILE: peakFile },
    });
    if (child.status !== 0) throw new Error(`${args.join(" ")}: ${child.stderr.slice(0, 300)}`);
    return { stdout: child.stdout, maxRssMiB: Number(readFileSync(peakFile, "utf8")) };
  };
  try {
    const rssScript = fileURLToPath(new URL("./zstd-chunked-rss.mjs", import.meta.url));
    const base = run([rssScript, "baseline", bigTar, out]);
    const libRun = run([rssScript, "library", bigTar, out]);
    const lib = { ...JSON.parse(libRun.stdout), maxRssMiB: libRun.maxRssMiB };
    const cli = run([
      fileURLToPath(new URL("../dist/cli/bin.js", import.meta.url)),
      "create",
      bigTar,
      "-o",
      out,
      "--format",
      "zstd:chunked",
      "--quiet",
    ]);
    const gib = (lib.tarBytes / 2 ** 30).toFixed(2);
    // Verify of the layer the CLI just wrote, as a user runs it (issue 13 item 4: target ≤ 150 MiB).
    const v0 = performance.now();
    const verify = run([fileURLToPath(new URL("../dist/cli/bin.js", import.meta.url)), "verify", out, "--quiet"]);
    rows.push({
      group: "zstd:chunked",
      name: `peak RSS verifying the ${gib} GiB tar's zstd:chunked layer (layerkit verify; target ≤ 150 MiB), ${
        ((performance.now() - v0) / 1000).toFixed(1)
      } s`,
      value: verify.maxRssMiB.toFixed(0),
      unit: "MiB",
    });
    rows.push({
      group: "zstd:chunked",
      name: `peak RSS converting a ${gib} GiB tar file, library (target ≤ 150 MiB)`,
      value: lib.maxRssMiB.toFixed(0),
      unit: "MiB",
    });
    rows.push({
      group: "zstd:chunked",
      name: `peak RSS, same with the CLI (layerkit create)`,
      value: cli.maxRssMiB.toFixed(0),
      unit: "MiB",
    });
    rows.push({
      group: "zstd:chunked",
      name: "peak RSS, baseline: Node streaming the same file unconverted",
      value: base.maxRssMiB.toFixed(0),
      unit: "MiB",
    });
    rows.push({
      group: "zstd:chunked",
      name: "peak RSS over the baseline (library)",
      value: (lib.maxRssMiB - base.maxRssMiB).toFixed(0),
      unit: "MiB",
    });
    rows.push({
      group: "zstd:chunked",
      name: `${gib} GiB file conversion throughput (library)`,
      mbPerSec: lib.tarBytes / 1e6 / lib.seconds,
    });
  } catch (e) {
    rows.push({ group: "zstd:chunked", name: "peak RSS converting 1 GiB", value: `failed: ${String(e).slice(0, 300)}`, unit: "" });
  } finally {
    rmSync(out, { force: true });
    rmSync(peakFile, { force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { corpus } = await import("./corpus.mjs");
  const tarPath = await corpus();
  for (const r of await bench({ tarPath, data: new Uint8Array(readFileSync(tarPath)) })) console.log(r);
}
