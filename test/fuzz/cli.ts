/**
 * One campaign worker (run by ./run.mjs, which watches it for hangs and memory): inputs `from`,
 * `from + 1`, … of campaign `seed` until `until` (ms since the epoch) or `inputs` are done. Before
 * each input it prints `B <index>` (so the watcher knows which one hung), every finding as
 * `F <json>` (its reproduction saved under `out`), and `S <json>` statistics now and then.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadCore } from "../../src/runtime/node.js";
import { makeBases, runInput, saveReproduction } from "./campaign.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const root = process.env["LAYERKIT_ROOT"] ?? process.cwd();
const out = process.argv.includes("--out") ? process.argv[process.argv.indexOf("--out") + 1]! : join(root, "test/out/fuzz");
const seed = arg("seed", 1);
const from = arg("from", 0);
const until = arg("until", Date.now() + 60_000);
const inputs = arg("inputs", Number.POSITIVE_INFINITY);
const nativeEvery = arg("native-every", 50);

const core = await loadCore({ zstd: readFileSync(join(root, "wasm/zstd.wasm")) });
const bases = await makeBases(core, seed, 4);
const write = (line: string): void => void process.stdout.write(line + "\n");
const tally: Record<string, number> = {};
let done = 0;
let lastStats = Date.now();
for (let i = from; done < inputs && Date.now() < until; i++) {
  write(`B ${i}`);
  const res = await runInput(core, bases, seed, i, nativeEvery);
  done++;
  tally[res.input.format] = (tally[res.input.format] ?? 0) + 1;
  for (const t of res.tags) tally[t] = (tally[t] ?? 0) + 1;
  if (res.findings.length > 0) {
    const path = saveReproduction(out, seed, res);
    write(
      `F ${
        JSON.stringify({
          index: i,
          format: res.input.format,
          ops: res.input.ops,
          findings: res.findings.map((f) => `${f.kind}: ${f.message.slice(0, 300)}`),
          path,
        })
      }`,
    );
  }
  if (Date.now() - lastStats > 5000) {
    write(`S ${JSON.stringify({ next: i + 1, done, tally })}`);
    lastStats = Date.now();
  }
}
write(`S ${JSON.stringify({ done, tally })}`);
write("E");
