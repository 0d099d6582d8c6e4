/**
 * The campaign loop: seeded base layers of every format, then inputs derived from (seed, index)
 * alone: mutations of a base (./mutators.ts), or a fresh seeded tar with ambiguous links or
 * duplicates written by createLayer (a writer must never emit a layer its own verify rejects),
 * each run through the oracles (./oracle.ts). Deterministic: the same seed gives the same inputs
 * and findings in any run.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Core } from "../../src/core.js";
import { LayerkitError } from "../../src/errors.js";
import type { LayerFormat } from "../../src/layer/result.js";
import { buildTar, readTar } from "../../src/tar/index.js";
import { type Mutated, mutatePlain, mutateSeekable } from "./mutators.js";
import { check, type Finding } from "./oracle.js";
import type { GoTarLister } from "./tar-diff.js";
import { type SeekableParts, split } from "./reseal.js";
import { inputSeed, type Rng, rng } from "./rng.js";
import { type BaseLayer, buildLayer, FORMATS, sampleTar } from "./samples.js";

export interface Base extends BaseLayer {
  parts?: SeekableParts;
}

export type Bases = Map<LayerFormat, Base[]>;

export async function makeBases(core: Core, seed: number, perFormat: number): Promise<Bases> {
  const r = rng(seed);
  const out: Bases = new Map();
  for (let i = 0; i < perFormat; i++) {
    const tar = sampleTar(r);
    for (const f of FORMATS) {
      const b: Base = await buildLayer(core, tar, f, r);
      if (f === "zstd:chunked" || f === "estargz") b.parts = await split(core, b);
      if (!out.has(f)) out.set(f, []);
      out.get(f)!.push(b);
    }
  }
  return out;
}

export interface InputResult {
  index: number;
  input: Mutated;
  findings: Finding[];
  tags: string[];
}

/** A seeded tar whose entry list was reordered or extended into ambiguous links, then createLayer. */
async function createInput(core: Core, r: Rng, base: Base, format: LayerFormat): Promise<Mutated | undefined> {
  const entries = (await readTar(base.tar)).entries;
  const list = entries.map((e) => ({ header: e.header, data: e.data }));
  const op = r.int(3);
  let what: string;
  if (op === 0 && list.length > 1) {
    const i = r.int(list.length);
    const [e] = list.splice(i, 1);
    list.splice(r.int(list.length + 1), 0, e!);
    what = `create:move#${i}`;
  } else if (op === 1) {
    const regs = list.filter((e) => e.header.typeflag === "0");
    if (regs.length === 0) return undefined;
    const t = r.pick(regs);
    list.push({ header: { ...t.header }, data: new TextEncoder().encode("again") });
    what = "create:redefine";
  } else {
    const regs = list.filter((e) => e.header.typeflag === "0");
    if (regs.length === 0) return undefined;
    const t = r.pick(regs);
    list.splice(0, 0, {
      header: { ...t.header, name: "x/forward", typeflag: "1", linkname: t.header.name, size: 0 },
      data: new Uint8Array(0),
    });
    what = "create:forward-link";
  }
  const tar = buildTar(
    list.map((e) => ({
      name: e.header.name,
      typeflag: e.header.typeflag,
      data: e.data,
      linkname: e.header.linkname,
      mode: e.header.mode,
      mtime: e.header.mtime,
    })),
  );
  try {
    const l = await buildLayer(core, tar, format, r);
    return { format, blob: l.blob, annotations: l.annotations, ops: [what, "created"] };
  } catch (e) {
    if (!(e instanceof LayerkitError)) throw e;
    return { format, blob: new Uint8Array(0), annotations: {}, ops: [what, `refused:${e.code}`] };
  }
}

/** How often the expensive differential oracles run (every Nth input; 0: never). */
export interface Sampling {
  nativeEvery: number;
  tarStreamEvery: number;
  goEvery: number;
  goTar?: GoTarLister;
}

/** The mutator family of an op ("toc:set#3.name" → "toc:set", "flip@12" → "flip"). */
export const familyOf = (op: string): string => op.replace(/[#@].*$/, "").replace(/:(no-annotations|before|after)$/, "");

/** Input `index` of the campaign `seed`, through every oracle (the expensive ones as `sampling` says). */
export async function runInput(core: Core, bases: Bases, seed: number, index: number, sampling: Sampling): Promise<InputResult> {
  const r = rng(inputSeed(seed, index));
  // From the input's seed, not index % 4: a worker striding the indices still gets every format.
  const pick = rng(inputSeed(seed, index) ^ 0x5bd1e995);
  const format = FORMATS[pick.int(FORMATS.length)]!;
  const list = bases.get(format)!;
  const base = r.pick(list);
  let input: Mutated | undefined;
  if (pick.int(25) === 7 && (format === "zstd:chunked" || format === "estargz")) {
    input = await createInput(core, r, base, format);
    if (input && input.ops[1]!.startsWith("refused")) return { index, input, findings: [], tags: [input.ops[1]!] };
  }
  input ??= base.parts ? mutateSeekable(r, core, base.parts, base.annotations, base.blob) : mutatePlain(r, core, format, base);
  const every = (n: number): boolean => n > 0 && index % n === 0;
  const outcome = await check(core, input, {
    native: every(sampling.nativeEvery),
    tarStream: every(sampling.tarStreamEvery),
    ...(sampling.goTar && every(sampling.goEvery) ? { goTar: sampling.goTar } : {}),
  });
  const findings = outcome.findings;
  if (input.ops[1] === "created" && !outcome.verifyOk) {
    findings.push({ kind: "disagree", message: `createLayer wrote a ${format} layer its own verify rejects (${outcome.tags[0]})` });
  }
  return { index, input, findings, tags: [...outcome.tags, ...input.ops.slice(0, 2).map((op) => "mut:" + familyOf(op))] };
}

/** Saves a reproduction: the blob, its annotations and what was done. */
export function saveReproduction(dir: string, seed: number, res: InputResult): string {
  const name = `${res.input.format.replace(":", "-")}-s${seed}-i${res.index}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name + ".blob"), res.input.blob);
  writeFileSync(
    join(dir, name + ".json"),
    JSON.stringify(
      {
        seed,
        index: res.index,
        format: res.input.format,
        ops: res.input.ops,
        annotations: res.input.annotations,
        findings: res.findings,
        replay: `npm run fuzz -- --seed ${seed} --from ${res.index} --inputs 1`,
      },
      null,
      2,
    ),
  );
  return join(dir, name);
}
