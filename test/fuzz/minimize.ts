/**
 * Shrinks a failing input before it is saved: delta debugging (ddmin) over a byte string, keeping
 * a candidate while the same kind of finding still occurs on it. Plain layers are shrunk at the
 * tar level first (decompressed, cut, compressed again), where a reproduction is readable; then
 * every input over its blob bytes. Bounded by a number of oracle runs.
 *
 * @module
 */
import type { Core } from "../../src/core.js";
import { decompressLayer } from "../../src/formats/decompress.js";
import { gzipMember } from "../../src/gzip/index.js";
import type { Mutated } from "./mutators.js";
import { check, type FindingKind, type OracleChoice } from "./oracle.js";
import { concat } from "./reseal.js";
import { collect, streamOf } from "./samples.js";

/** ddmin: the smallest `data` (by removing chunks) for which `fails` holds, within `budget` calls. */
export async function ddmin(data: Uint8Array, fails: (b: Uint8Array) => Promise<boolean>, budget: { runs: number }): Promise<Uint8Array> {
  let cur = data;
  let n = 2;
  while (cur.length >= 2 && budget.runs > 0) {
    const size = Math.ceil(cur.length / n);
    let reduced = false;
    for (let i = 0; i < n && budget.runs > 0; i++) {
      const without = concat([cur.subarray(0, i * size), cur.subarray((i + 1) * size)]);
      if (without.length === cur.length) continue;
      budget.runs--;
      if (await fails(without)) {
        cur = without;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= cur.length) break;
      n = Math.min(cur.length, n * 2);
    }
  }
  return cur;
}

/** The smallest input found that still shows a finding of `kind`. */
export async function minimize(core: Core, input: Mutated, kind: FindingKind, choice: OracleChoice, maxRuns = 400): Promise<Mutated> {
  const budget = { runs: maxRuns };
  const failsWith = async (m: Mutated): Promise<boolean> => (await check(core, m, choice)).findings.some((f) => f.kind === kind);
  let best = input;
  if (input.format === "zstd" || input.format === "gzip") {
    let tar: Uint8Array | undefined;
    try {
      tar = await collect(decompressLayer(streamOf(input.blob), input.format, { core, maxOutput: 64 << 20 }));
    } catch {
      tar = undefined;
    }
    const pack = (t: Uint8Array): Mutated => ({
      ...input,
      blob: input.format === "zstd" ? core.zstd.compress(t, { level: 1 }) : gzipMember(t, 1),
      ops: [...input.ops, "minimized:tar"],
    });
    if (tar && (await failsWith(pack(tar)))) {
      const small = await ddmin(tar, (t) => failsWith(pack(t)), budget);
      best = pack(small);
    }
  }
  const blob = await ddmin(best.blob, (b) => failsWith({ ...best, blob: b }), budget);
  return blob.length < best.blob.length ? { ...best, blob, ops: [...best.ops, "minimized:bytes"] } : best;
}
