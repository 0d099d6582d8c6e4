#!/usr/bin/env node
/**
 * `npm run fuzz -- --seconds N [--seed S] [--out DIR] [--from I] [--inputs K] [--timeout MS]`:
 * a long fuzz campaign in one worker process (one core). The worker (./cli.ts, bundled with
 * esbuild) runs the inputs; this watcher restarts it past an input that hangs (no progress for
 * --timeout ms, default 30 s) or takes the worker's RSS above 256 MiB, and records both as
 * findings. Reproductions go to DIR (default test/out/fuzz). Exit code 1 when anything was found.
 */
import { spawn } from "node:child_process";
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
const out = resolve(opt("out", join(root, "test/out/fuzz")));
const timeout = Number(opt("timeout", "30000"));
const inputs = Number(opt("inputs", "Infinity"));
const RSS_LIMIT = 256 * 1024 * 1024;
let next = Number(opt("from", "0"));

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
});

const until = Date.now() + seconds * 1000;
const findings = [];
const tally = {};
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

/** One worker run: resolves with the index to restart from, or undefined when the campaign is over. */
function runWorker() {
  return new Promise((resolveRun) => {
    const left = inputs - done;
    const child = spawn(process.execPath, [
      bundle,
      "--seed",
      String(seed),
      "--from",
      String(next),
      "--until",
      String(until),
      "--out",
      out,
      ...(Number.isFinite(left) ? ["--inputs", String(left)] : []),
    ], {
      env: { ...process.env, LAYERKIT_ROOT: root },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let current = next;
    let last = Date.now();
    let peak = 0;
    let killed;
    let buf = "";
    const base = { ...tally };
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
          for (const [k, v] of Object.entries(s.tally)) tally[k] = (base[k] ?? 0) + v;
          console.log(`${new Date().toISOString()} inputs ${done + workerDone}, peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`);
        }
      }
    });
    child.on("exit", () => {
      clearInterval(watch);
      done += workerDone;
      tally.peakRssMiB = Math.max(tally.peakRssMiB ?? 0, Math.round(peak / 2 ** 20));
      if (killed) {
        findings.push({
          index: current,
          kind: killed.kind,
          findings: [killed.message],
          replay: `npm run fuzz -- --seed ${seed} --from ${current} --inputs 1`,
        });
        console.log(`finding: ${killed.message}`);
        done += 1;
        next = current + 1;
        resolveRun(Date.now() < until && done < inputs ? next : undefined);
      } else resolveRun(undefined);
    });
  });
}

for (let more = await runWorker(); more !== undefined; more = await runWorker()) void more;
rmSync(dir, { recursive: true, force: true });
const summary = { seed, seconds, inputs: done, findings: findings.length, tally };
writeFileSync(join(out, `summary-s${seed}.json`), JSON.stringify({ ...summary, findingList: findings }, null, 2));
console.log(JSON.stringify(summary));
process.exit(findings.length > 0 ? 1 : 0);
