#!/usr/bin/env node
/**
 * `npm test`: the four runtimes in sequence, output streamed as it comes —
 *   1. Node     vitest (test/node: the conformance suite + the Node-only unit and interop tests)
 *   2. Deno     deno test -A test/deno/ (the TypeScript sources imported directly)
 *   3. Chromium test/browser/run.mjs (headless Debian chromium via playwright-core)
 *   4. workerd  test/workerd/run.mjs
 *   then the end-to-end runners of the examples (test/e2e/*.mjs: the web page in Chromium, the edge worker in workerd)
 * It carries on after a failure and ends with exactly one line `N passed, M failed` (test cases
 * over all runtimes; a runner that crashes or exits non-zero without failed cases adds one
 * failure), exiting non-zero if anything failed. A missing runtime is a failure, never a skip.
 *
 * Env: RUNNER_TIMEOUT_MS (default 45 min per runner).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = (name) => join(ROOT, "node_modules/.bin", name);
const TIMEOUT_MS = Number(process.env.RUNNER_TIMEOUT_MS ?? 45 * 60_000);
const tmp = mkdtempSync(join(tmpdir(), "layerkit-run-all-"));

/** Counts from vitest's JSON report; a test file that failed to load counts as one failure. */
function vitestCounts(file) {
  const r = JSON.parse(readFileSync(file, "utf8"));
  let failed = r.numFailedTests;
  const notes = [];
  for (const f of r.testResults ?? []) {
    if (f.status === "failed" && (f.assertionResults ?? []).length === 0) {
      failed++;
      notes.push(`${f.name.replace(ROOT, "")}: ${String(f.message ?? "failed to run").split("\n")[0]}`);
    }
  }
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  return { passed: r.numPassedTests, failed, skipped, notes };
}

/** Counts a runner of ours wrote to LAYERKIT_RESULTS (test/host-checks.mjs finish()). */
function ownCounts(file) {
  const r = JSON.parse(readFileSync(file, "utf8"));
  return { passed: r.passed, failed: r.failed, skipped: 0, notes: [] };
}

const runners = [
  {
    title: "Node (vitest)",
    key: "node",
    bin: BIN("vitest"),
    args: (out) => ["run", "--reporter=verbose", "--reporter=json", `--outputFile.json=${out}`],
    counts: vitestCounts,
  },
  {
    title: "Deno (deno test)",
    key: "deno",
    bin: BIN("deno"),
    args: () => ["test", "-A", "test/deno/"],
    counts: ownCounts,
  },
  {
    title: "Chromium (playwright-core, headless)",
    key: "chromium",
    bin: process.execPath,
    args: () => ["test/browser/run.mjs"],
    counts: ownCounts,
  },
  {
    title: "workerd",
    key: "workerd",
    bin: process.execPath,
    args: () => ["test/workerd/run.mjs"],
    counts: ownCounts,
  },
  {
    title: "Web example (chromium, end to end)",
    key: "e2e-web",
    bin: process.execPath,
    args: () => ["test/e2e/web.mjs"],
    counts: ownCounts,
  },
  {
    title: "Edge worker example (workerd, end to end)",
    key: "e2e-edge",
    bin: process.execPath,
    args: () => ["test/e2e/edge.mjs"],
    counts: ownCounts,
  },
];

let current;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    if (current) killGroup(current, "SIGTERM");
    rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function run(bin, args, env) {
  return new Promise((resolve) => {
    // Own process group, so a hung runner can be stopped with everything it started.
    const child = spawn(bin, args, { cwd: ROOT, stdio: "inherit", env: { ...process.env, ...env }, detached: true });
    current = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGTERM");
      setTimeout(() => killGroup(child, "SIGKILL"), 10_000).unref();
    }, TIMEOUT_MS);
    child.once("error", (e) => {
      clearTimeout(timer);
      current = undefined;
      resolve({ code: null, error: e.message });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      resolve({ code, signal, error: timedOut ? `timed out after ${TIMEOUT_MS / 1000} s` : undefined });
    });
  });
}

const summary = [];
for (const [i, r] of runners.entries()) {
  const out = join(tmp, `${r.key}.json`);
  const args = r.args(out);
  console.log(
    `\n${"=".repeat(100)}\n[${i + 1}/${runners.length}] ${r.title}: ${[r.bin.replace(ROOT, ""), ...args].join(" ")}\n${"=".repeat(100)}`,
  );
  const t0 = Date.now();
  let res;
  if (!existsSync(r.bin)) res = { code: null, error: `${r.bin} is missing (run npm ci)` };
  else res = await run(r.bin, args, { LAYERKIT_RESULTS: out });
  let counts = { passed: 0, failed: 0, skipped: 0, notes: [] };
  const problems = [];
  if (existsSync(out)) {
    try {
      counts = r.counts(out);
    } catch (e) {
      problems.push(`unreadable results (${e.message})`);
    }
  } else {
    problems.push("no results reported");
  }
  if (res.error) problems.push(res.error);
  else if (res.code !== 0) problems.push(`exited with ${res.signal ?? `code ${res.code}`}`);
  // A runner that failed without a failed case to show for it (crash, load error, timeout, no
  // results) is one failure.
  const bad = problems.length > 0 || res.code !== 0;
  if (bad && counts.failed === 0) counts.failed += 1;
  summary.push({ title: r.title, ...counts, problems: bad ? problems : [], seconds: (Date.now() - t0) / 1000 });
}
rmSync(tmp, { recursive: true, force: true });

console.log(`\n${"=".repeat(100)}\nSummary\n${"=".repeat(100)}`);
for (const s of summary) {
  const skipped = s.skipped ? `, ${s.skipped} skipped` : "";
  console.log(
    `  ${s.title.padEnd(40)} ${String(s.passed).padStart(4)} passed, ${String(s.failed).padStart(3)} failed${skipped}  (${
      s.seconds.toFixed(0)
    } s)`,
  );
  for (const n of s.notes) console.log(`      ${n}`);
  for (const p of s.problems) console.log(`      runner: ${p}`);
}
const passed = summary.reduce((n, s) => n + s.passed, 0);
const failed = summary.reduce((n, s) => n + s.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
