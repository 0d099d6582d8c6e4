/**
 * A bounded, seeded slice of the fuzz campaign (test/fuzz/): a fixed number of inputs per run
 * (so it stops by itself and is the same every run), every oracle on each: no untyped error, no
 * lazy read of bytes the TOC does not commit to, no layer that verify passes while a lazy read
 * or extraction disagrees, our decoders agreeing with native zstd/gzip on a sample.
 * `npm run fuzz -- --seconds N` runs the long campaign.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Core } from "../../src/core.js";
import { loadCore } from "../../src/runtime/node.js";
import { type Bases, makeBases, runInput } from "../fuzz/campaign.js";

const SEED = 18;
const INPUTS = Number(process.env["LAYERKIT_FUZZ_SLICE"] ?? 900);

let core: Core;
let bases: Bases;
beforeAll(async () => {
  core = await loadCore();
  bases = await makeBases(core, SEED, 3);
}, 120_000);

describe("fuzz campaign slice (seeded, bounded)", () => {
  it(`${INPUTS} inputs across the four formats: every oracle holds`, async () => {
    const tally = new Map<string, number>();
    const problems: string[] = [];
    for (let i = 0; i < INPUTS; i++) {
      const res = await runInput(core, bases, SEED, i, { nativeEvery: 40, tarStreamEvery: 4, goEvery: 0 });
      for (const t of res.tags) tally.set(t, (tally.get(t) ?? 0) + 1);
      for (const f of res.findings) problems.push(`#${i} ${res.input.format} [${res.input.ops.join(" ")}] ${f.kind}: ${f.message}`);
    }
    console.log(JSON.stringify(Object.fromEntries([...tally].sort())));
    // The slice must reach deep code: verified layers, lazy reads and refusals all occur.
    expect(tally.get("verify:ok") ?? 0).toBeGreaterThan(INPUTS / 20);
    expect(tally.get("read:ok") ?? 0).toBeGreaterThan(INPUTS / 10);
    expect(problems.slice(0, 20)).toEqual([]);
  }, 600_000);
});
