/**
 * One campaign worker (run by ./run.mjs, which watches it for hangs and memory): inputs `from`,
 * `from + stride`, … of campaign `seed` until `until` (ms since the epoch) or `inputs` are done,
 * and every `http-every`th input also an HTTP fault scenario. Before each input it prints
 * `B <index>` (so the watcher knows which one hung), every finding as `F <json>` (minimized and
 * saved under `out`), and `S <json>` statistics now and then.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadCore } from "../../src/runtime/node.js";
import { type InputResult, makeBases, runInput, type Sampling, saveReproduction } from "./campaign.js";
import { HttpScenarios } from "./http-scenarios.js";
import { minimize } from "./minimize.js";
import { inputSeed, rng } from "./rng.js";
import { GoTarLister } from "./tar-diff.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
function sarg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const root = process.env["LAYERKIT_ROOT"] ?? process.cwd();
const out = sarg("out") ?? join(root, "test/out/fuzz");
const seed = arg("seed", 1);
const from = arg("from", 0);
const stride = arg("stride", 1);
const until = arg("until", Date.now() + 60_000);
const inputs = arg("inputs", Number.POSITIVE_INFINITY);
const httpEvery = arg("http-every", 40);
const harness = sarg("go-harness");
const goTar = harness ? new GoTarLister(harness) : undefined;
const sampling: Sampling = {
  nativeEvery: arg("native-every", 200),
  tarStreamEvery: arg("tar-stream-every", 4),
  goEvery: arg("go-every", 4),
  ...(goTar ? { goTar } : {}),
};

const core = await loadCore({ zstd: readFileSync(join(root, "wasm/zstd.wasm")) });
const bases = await makeBases(core, seed, 4);
const http = await HttpScenarios.start(core, [...bases.get("zstd:chunked")!, ...bases.get("estargz")!]);
const write = (line: string): void => void process.stdout.write(line + "\n");
const tally: Record<string, number> = {};
const count = (k: string): void => void (tally[k] = (tally[k] ?? 0) + 1);
let done = 0;
let lastStats = Date.now();

async function report(i: number, res: InputResult): Promise<void> {
  const kind = res.findings[0]!.kind;
  let small = res.input;
  try {
    small = await minimize(core, res.input, kind, { native: true, tarStream: true, ...(goTar ? { goTar } : {}) });
  } catch (e) {
    res.findings.push({ kind, message: `(minimizing failed: ${(e as Error).message})` });
  }
  const path = saveReproduction(out, seed, { ...res, input: small });
  write(`F ${
    JSON.stringify({
      index: i,
      format: res.input.format,
      ops: res.input.ops,
      findings: res.findings.map((f) => `${f.kind}: ${f.message.slice(0, 300)}`),
      bytes: res.input.blob.length,
      minimizedBytes: small.blob.length,
      path,
    })
  }`);
}

for (let i = from; done < inputs && Date.now() < until; i += stride) {
  write(`B ${i}`);
  const res = await runInput(core, bases, seed, i, sampling);
  done++;
  count("inputs");
  count("format:" + res.input.format);
  for (const t of res.tags) count(t);
  for (const f of res.findings) count("finding:" + f.kind);
  if (res.findings.length > 0) await report(i, res);
  if (httpEvery > 0 && i % httpEvery === 0) {
    const h = await http.run(core, rng(inputSeed(seed ^ 0x48545450, i)));
    count("http-scenarios");
    for (const t of h.tags) count(t);
    for (const f of h.findings) count("finding:http-" + f.kind);
    if (h.findings.length > 0) {
      write(`F ${JSON.stringify({ index: i, format: "http", ops: h.tags, findings: h.findings.map((f) => `${f.kind}: ${f.message}`) })}`);
    }
  }
  if (Date.now() - lastStats > 5000) {
    write(`S ${JSON.stringify({ next: i + stride, done, tally })}`);
    lastStats = Date.now();
  }
}
write(`S ${JSON.stringify({ done, tally })}`);
goTar?.close();
await http.close();
write("E");
