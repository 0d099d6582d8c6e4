#!/usr/bin/env node
/**
 * `npm run fuzz -- --seconds N [--workers W] [--seed S] [--out DIR] [--from I] [--inputs K]
 *  [--timeout MS] [--http-every H] [--go-every G] [--tar-stream-every T] [--native-every M] [--no-go]`
 *
 * A long fuzz campaign in W worker processes (default 2, one per core; run it under `nice`).
 * Worker k runs inputs I+k, I+k+W, … (so the inputs of a seed are the same for any W); each
 * input goes through the cheap oracles, and every Gth / Tth / Mth through Go's archive/tar (one
 * long-lived harness process per worker), tar-stream and the native zstd/gzip CLI; every Hth
 * input adds an HTTP fault scenario against a fault server on 127.0.0.1. This watcher restarts a
 * worker past an input that hangs (no progress for --timeout ms, default 30 s) or takes the
 * worker's RSS above 256 MiB, and records both as findings.
 *
 * Reproductions: DIR (default test/out/fuzz) gets, per finding, `<format>-s<seed>-i<index>.blob`
 * (minimized by delta debugging while the same kind of finding holds) and `.json` (seed, index,
 * oracle, mutations, annotations, the replay command), plus `summary-s<seed>.json` with the
 * counts per format, mutator, oracle and outcome. Exit code 1 when anything was found.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const seconds = Number(opt("seconds", "60"));
const seed = Number(opt("seed", "1"));
const workers = Number(opt("workers", "2"));
const out = resolve(opt("out", join(root, "test/out/fuzz")));
const timeout = Number(opt("timeout", "30000"));
const inputs = Number(opt("inputs", "Infinity"));
const passOn = ["http-every", "go-every", "tar-stream-every", "native-every"].flatMap((k) =>
  opt(k, undefined) === undefined ? [] : [`--${k}`, opt(k)]
);
const RSS_LIMIT = 256 * 1024 * 1024;
const from = Number(opt("from", "0"));

const dir = mkdtempSync(join(tmpdir(), "layerkit-fuzz-"));
const bundle = join(dir, "cli.mjs");
await build({
  entryPoints: [join(root, "test/fuzz/cli.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile: bundle,
  logLevel: "error",
  // tar-stream's CommonJS requires Node built-ins at run time.
  banner: { js: 'import { createRequire as __lkRequire } from "node:module"; const require = __lkRequire(import.meta.url);' },
});
let harness;
if (!argv.includes("--no-go")) {
  const b = spawnSync("bash", [join(root, "test/go/build.sh"), join(root, "test/out/go/fuzz")], { encoding: "utf8" });
  if (b.status !== 0) throw new Error(`building the Go harness failed: ${b.stderr}`);
  harness = b.stdout.trim().split("\n").pop();
}

const until = Date.now() + seconds * 1000;
const findings = [];
const tally = {};
const peaks = [];
let done = 0;
mkdirSync(out, { recursive: true });

function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function add(into, from) {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** Worker `k` from input `next` on; resolves when it ends (restarted past a hang or memory kill). */
async function runWorker(k, next, budget) {
  for (;;) {
    const r = await runOnce(k, next, budget);
    budget -= r.done;
    if (!r.killedAt) return;
    next = r.killedAt + workers;
    if (Date.now() >= until || budget <= 0) return;
  }
}

function runOnce(k, next, budget) {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [
      bundle,
      ...["--seed", String(seed), "--from", String(next), "--stride", String(workers), "--until", String(until), "--out", out],
      ...(Number.isFinite(budget) ? ["--inputs", String(budget)] : []),
      ...(harness ? ["--go-harness", harness] : []),
      ...passOn,
    ], { env: { ...process.env, LAYERKIT_ROOT: root }, stdio: ["ignore", "pipe", "inherit"] });
    let current = next;
    let last = Date.now();
    let peak = 0;
    let killed;
    let buf = "";
    let workerTally = {};
    let workerDone = 0;
    const watch = setInterval(() => {
      const rss = rssOf(child.pid);
      peak = Math.max(peak, rss);
      if (rss > RSS_LIMIT && !killed) {
        killed = { kind: "rss", message: `worker RSS ${(rss / 2 ** 20).toFixed(0)} MiB > 256 MiB at input ${current}` };
        child.kill("SIGKILL");
      } else if (Date.now() - last > timeout && !killed) {
        killed = { kind: "hang", message: `input ${current} made no progress for ${timeout} ms` };
        child.kill("SIGKILL");
      }
    }, 250);
    child.stdout.on("data", (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith("B ")) {
          current = Number(line.slice(2));
          last = Date.now();
        } else if (line.startsWith("F ")) {
          const f = JSON.parse(line.slice(2));
          findings.push(f);
          console.log(`finding #${f.index} ${f.format} [${f.ops.join(" ")}]: ${f.findings[0]}`);
        } else if (line.startsWith("S ")) {
          const s = JSON.parse(line.slice(2));
          workerDone = s.done;
          workerTally = s.tally;
          if (k === 0) {
            console.log(`${new Date().toISOString()} worker 0 at ${workerDone} inputs, peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`);
          }
        }
      }
    });
    child.on("exit", (code) => {
      clearInterval(watch);
      if (code !== 0 && !killed) killed = { kind: "crash", message: `worker exited with ${code} at input ${current}` };
      done += workerDone;
      add(tally, workerTally);
      peaks.push(Math.round(peak / 2 ** 20));
      if (killed) {
        findings.push({
          index: current,
          kind: killed.kind,
          findings: [killed.message],
          replay: `npm run fuzz -- --seed ${seed} --from ${current} --inputs 1 --workers 1`,
        });
        console.log(`finding: ${killed.message}`);
        tally[`finding:${killed.kind}`] = (tally[`finding:${killed.kind}`] ?? 0) + 1;
        done += 1;
      }
      resolveRun({ done: workerDone + (killed ? 1 : 0), killedAt: killed ? current : undefined });
    });
  });
}

const perWorker = Number.isFinite(inputs) ? Math.ceil(inputs / workers) : Infinity;
await Promise.all(Array.from({ length: workers }, (_, k) => runWorker(k, from + k, perWorker)));
rmSync(dir, { recursive: true, force: true });
const sorted = Object.fromEntries(Object.entries(tally).sort(([a], [b]) => a.localeCompare(b)));
const summary = {
  seed,
  seconds,
  workers,
  inputs: done,
  findings: findings.length,
  peakRssMiBPerWorker: Math.max(0, ...peaks),
  tally: sorted,
};
writeFileSync(join(out, `summary-s${seed}.json`), JSON.stringify({ ...summary, findingList: findings }, null, 2));
console.log(JSON.stringify(summary));
process.exit(findings.length > 0 ? 1 : 0);
