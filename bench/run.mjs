#!/usr/bin/env node
// `npm run bench`: every benchmark in one run, so ratios compare numbers measured on the same
// machine under the same load. Writes bench/RESULTS.md. Not a test: nothing here fails on speed.
import { readFile, writeFile } from "node:fs/promises";
import { cpus, release, totalmem } from "node:os";
import { execFileSync } from "node:child_process";
import { corpus } from "./corpus.mjs";

const SUITES = ["./sha256.mjs", "./zstd.mjs", "./zstd-chunked.mjs", "./estargz.mjs", "./convert.mjs", "./verify.mjs", "./lazy-read.mjs"];

const only = process.argv.slice(2);
const tarPath = await corpus();
const data = new Uint8Array(await readFile(tarPath));
console.log(`corpus: ${tarPath} (${(data.length / 2 ** 20).toFixed(1)} MiB)`);

const rows = [];
for (const suite of SUITES) {
  if (only.length && !only.some((o) => suite.includes(o))) continue;
  let mod;
  try {
    mod = await import(suite);
  } catch (e) {
    if (e?.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes(suite.slice(2))) continue;
    throw e;
  }
  console.log(`\n## ${suite}`);
  for (const row of await mod.default({ tarPath, data, wasmDir: new URL("../wasm/", import.meta.url).pathname })) {
    rows.push(row);
    console.log(formatRow(row));
  }
}

function formatRow(r) {
  const value = r.mbPerSec !== undefined ? `${r.mbPerSec.toFixed(1)} MB/s` : `${r.value} ${r.unit ?? ""}`;
  const ratio = r.ratio !== undefined ? `${r.ratio.toFixed(2)}× ${r.baseline ?? ""}` : "";
  return `${r.group.padEnd(14)} ${r.name.padEnd(44)} ${value.padStart(14)}  ${ratio}`;
}

function machine() {
  const cpu = cpus();
  let zstdVersion = "";
  try {
    zstdVersion = execFileSync("zstd", ["--version"]).toString().trim();
  } catch {
    zstdVersion = "zstd CLI not found";
  }
  return [
    `- CPU: ${cpu[0]?.model ?? "unknown"} × ${cpu.length}`,
    `- Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB; kernel ${release()}`,
    `- Node ${process.version}; ${zstdVersion}`,
    `- Corpus: ${(data.length / 2 ** 20).toFixed(1)} MiB tar of real files (bench/corpus.mjs)`,
  ].join("\n");
}

const table = [
  "| group | measurement | value | ratio |",
  "| --- | --- | ---: | --- |",
  ...rows.map((r) =>
    `| ${r.group} | ${r.name} | ${r.mbPerSec !== undefined ? r.mbPerSec.toFixed(1) + " MB/s" : `${r.value} ${r.unit ?? ""}`} | ${
      r.ratio !== undefined ? `${r.ratio.toFixed(2)}× ${r.baseline ?? ""}` : ""
    } |`
  ),
].join("\n");

// Everything from "## Notes" on is written by people (choices made from these numbers) and kept.
let notes = "";
try {
  const old = await readFile(new URL("./RESULTS.md", import.meta.url), "utf8");
  const at = old.indexOf("\n## Notes");
  if (at >= 0) notes = old.slice(at);
} catch { /* first run */ }
const md = `# Benchmark results\n\nWritten by \`npm run bench\` on ${
  new Date().toISOString().slice(0, 10)
}. Ratios compare numbers measured in the same run.\n\n## Machine\n${machine()}\n\n## Results\n${table}\n${notes}`;
if (!only.length) await writeFile(new URL("./RESULTS.md", import.meta.url), md);
console.log(only.length ? "\n(partial run: bench/RESULTS.md not written)" : "\nwrote bench/RESULTS.md");
