/**
 * The differential oracles: one input goes through verifyLayer, the lazy readers
 * (openLayerIndex + readFile of every file) and a full extraction (decompressLayer + the tar
 * reader, with tar -x's hardlink semantics), and the three must agree:
 *
 * - `untyped`: anything but a LayerkitError escaped (verify throws nothing at all for bad input);
 * - `uncommitted`: a lazy read returned bytes whose digest is not the TOC entry's;
 * - `disagree`: verify passed, yet a lazy read failed, or returned other bytes than extraction,
 *   or extraction could not produce the file (or failed);
 * - `native`: on a sample, our decoder and `zstd -dc` / `gzip -dc` disagree on the same bytes;
 * - `go-tar` / `tar-stream`: on the decompressed tar (sampled), our tar reader and Go's
 *   archive/tar (the reference) or tar-stream read other entries, or Go refuses a tar we accept;
 * - `apply`: verify passed, yet src/extract's applyLayer (into memory) failed or gave a file
 *   other bytes than the lazy read and the tar-x model.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import type { Core } from "../../src/core.js";
import { LayerkitError } from "../../src/errors.js";
import { applyLayer } from "../../src/extract/apply.js";
import { entriesFromIndex, entriesFromTar } from "../../src/extract/sources.js";
import { isEstargzEntryName } from "../../src/convert/strip-estargz.js";
import { checkTarSplit } from "../../src/formats/zstd-chunked/check-tar-split.js";
import { readToc } from "../../src/formats/zstd-chunked/read-toc.js";
import { decompressLayer } from "../../src/formats/decompress.js";
import { cleanEntryName } from "../../src/go/path.js";
import { findEntry, readFile } from "../../src/lazy/read-file.js";
import { layerIndexFromToc, openLayerIndex } from "../../src/lazy/layer-index.js";
import type { LayerFormat } from "../../src/layer/result.js";
import { MemorySource } from "../../src/source/memory.js";
import { TarReader } from "../../src/tar/index.js";
import { verifyLayer } from "../../src/verify/verify-layer.js";
import type { Mutated } from "./mutators.js";
import { MemoryExtractFs } from "./memory-fs.js";
import { sha } from "./reseal.js";
import { collect, streamOf } from "./samples.js";
import { type GoTarLister, listDiff, ourTarList, STALLED, type TarList, tarStreamList } from "./tar-diff.js";

export type FindingKind = "untyped" | "uncommitted" | "disagree" | "native" | "go-tar" | "tar-stream" | "apply";

/** Which of the sampled, more expensive oracles run on this input. */
export interface OracleChoice {
  native: boolean;
  tarStream: boolean;
  /** Go's archive/tar, when given. */
  goTar?: GoTarLister;
}

export interface Finding {
  kind: FindingKind;
  message: string;
}

export interface Outcome {
  verifyOk: boolean;
  findings: Finding[];
  /** Tally keys: what each stage ended with. */
  tags: string[];
}

const compressionOf = (f: LayerFormat): "gzip" | "zstd" => (f === "estargz" || f === "gzip" ? "gzip" : "zstd");

function codeOf(e: unknown): string | undefined {
  return e instanceof LayerkitError && typeof e.code === "string" && e.code.length > 0 ? e.code : undefined;
}

function untyped(what: string, e: unknown): Finding {
  return { kind: "untyped", message: `${what}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}` };
}

/** What `tar -x` leaves: regular files by cleaned name (hardlinks as copies of their target then), names it could not create. */
interface Extracted {
  files: Map<string, Uint8Array>;
  failed: Set<string>;
}

async function extract(tar: Uint8Array): Promise<Extracted> {
  const files = new Map<string, Uint8Array>();
  const failed = new Set<string>();
  const tr = new TarReader(tar);
  for (let e = await tr.next(); e; e = await tr.next()) {
    const name = cleanEntryName(e.header.name);
    const data = await tr.readAll();
    const t = e.header.typeflag;
    files.delete(name);
    failed.delete(name);
    if (t === "0" || t === "\0" || t === "7") files.set(name, data.slice());
    else if (t === "1") {
      const target = files.get(cleanEntryName(e.header.linkname));
      if (target) files.set(name, target);
      else failed.add(name);
    }
  }
  for await (const piece of tr.trailing()) void piece;
  return { files, failed };
}

/** src/extract's applyLayer into memory, entries as extractLayer takes them for the format. */
async function applyExtract(core: Core, format: LayerFormat, blob: Uint8Array, tar: Uint8Array, annotations: Record<string, string>) {
  const fs = new MemoryExtractFs();
  const source = new MemorySource(blob);
  let entries;
  if (format === "zstd:chunked") {
    const toc = await readToc(source, { core, tarSplit: true, annotations });
    if (toc.tarSplit) await checkTarSplit(toc.toc.entries, toc.tarSplit);
    const index = layerIndexFromToc(core, source, toc);
    entries = entriesFromIndex(index, index.format === "zstd:chunked" ? undefined : isEstargzEntryName);
  } else if (format === "estargz") {
    entries = entriesFromIndex(await openLayerIndex(source, { core, annotations }), isEstargzEntryName);
  } else entries = entriesFromTar(streamOf(tar));
  await applyLayer(entries, fs, () => core.sha256());
  return fs.files();
}

/** Our tar reader vs Go's archive/tar and tar-stream on the decompressed tar. */
async function tarDiffs(tar: Uint8Array, choice: OracleChoice, findings: Finding[], tags: string[]): Promise<void> {
  if (!choice.goTar && !choice.tarStream) return;
  const ours = await ourTarList(tar);
  if (choice.goTar) {
    const go = await choice.goTar.list(tar);
    tags.push(`go-tar:${ours.error ?? "ok"}:${go.error === undefined ? "ok" : "fail"}`);
    const d = listDiff(ours, go);
    if (d) findings.push({ kind: "go-tar", message: `our tar reader and Go's archive/tar differ: ${d}` });
    // Go ends some cut archives silently (see src/tar/reader.ts): our TRUNCATED is deliberate.
    if (ours.error === undefined && go.error !== undefined) {
      findings.push({ kind: "go-tar", message: `we accept a tar Go refuses (${go.error})` });
    } else if (ours.error !== undefined && ours.error !== "TRUNCATED" && go.error === undefined) {
      findings.push({ kind: "go-tar", message: `we refuse (${ours.error}) a tar Go reads (${go.entries.length} entries)` });
    }
  }
  if (choice.tarStream) {
    const ts = await tarStreamList(tar);
    tags.push(`tar-stream:${ours.error ?? "ok"}:${ts.error === undefined ? "ok" : ts.error === STALLED ? "stalled" : "fail"}`);
    // tar-stream is not the reference: where both read a whole archive they must agree.
    if (ours.error === undefined && ts.error === undefined) {
      // tar-stream names only the standard types; others (e.g. "a") it reads as files.
      const known = (l: TarList): TarList => ({
        entries: l.entries.map((e) => (/^[0-7]$/.test(e.typeflag) ? e : { ...e, typeflag: "?" })),
      });
      const theirs = known({ entries: ts.entries.filter((e) => e.typeflag !== "g") });
      const d = listDiff(known(ours), {
        entries: theirs.entries.map((
          e,
          i,
        ) => (ours.entries[i] && !/^[0-7]$/.test(ours.entries[i]!.typeflag) ? { ...e, typeflag: "?" } : e)),
      });
      if (d) findings.push({ kind: "tar-stream", message: `our tar reader and tar-stream differ: ${d}` });
    }
  }
}

/** Runs every oracle on one input; `choice` says which sampled ones too. */
export async function check(core: Core, input: Mutated, choice: OracleChoice): Promise<Outcome> {
  const findings: Finding[] = [];
  const tags: string[] = [];
  const { format, blob, annotations } = input;
  const source = new MemorySource(blob);

  let verifyOk = false;
  try {
    const report = await verifyLayer(source, { size: blob.length, digest: sha(blob), annotations }, { core, format, maxFailures: 4 });
    verifyOk = report.ok;
    tags.push(report.ok ? "verify:ok" : `verify:${report.failures[0]?.code ?? "?"}`);
  } catch (e) {
    findings.push(
      codeOf(e)
        ? { kind: "untyped", message: `verifyLayer threw ${codeOf(e)} for bad input (it reports, never throws)` }
        : untyped("verifyLayer", e),
    );
  }

  let tar: Uint8Array | undefined;
  let extracted: Extracted | undefined;
  let extractCode: string | undefined;
  try {
    tar = await collect(decompressLayer(streamOf(blob), compressionOf(format), { core, maxOutput: 64 << 20 }));
    extracted = await extract(tar);
    tags.push("extract:ok");
  } catch (e) {
    if (!codeOf(e)) findings.push(untyped("extraction", e));
    extractCode = codeOf(e);
    tags.push(`extract:${extractCode}`);
  }
  if (verifyOk && !extracted) findings.push({ kind: "disagree", message: `verify passed, extraction failed (${extractCode})` });

  if (choice.native && extracted !== undefined === verifyOk) await compareNative(core, format, blob, findings, tags);
  if (tar) await tarDiffs(tar, choice, findings, tags);

  let applied: Map<string, Uint8Array> | undefined;
  if (verifyOk && tar) {
    try {
      applied = await applyExtract(core, format, blob, tar, annotations);
      tags.push("apply:ok");
    } catch (e) {
      if (!codeOf(e)) findings.push(untyped("applyLayer", e));
      tags.push(`apply:${codeOf(e)}`);
      findings.push({ kind: "apply", message: `verify passed, src/extract applyLayer failed (${codeOf(e)}: ${(e as Error).message})` });
    }
  }
  if (applied && extracted) {
    for (const [name, want] of extracted.files) {
      if (format === "estargz" && isEstargzEntryName(name)) continue; // format metadata, not extracted
      const got = applied.get(name);
      if (got === undefined || sha(got) !== sha(want)) {
        findings.push({
          kind: "apply",
          message: `verify passed; applyLayer gives ${JSON.stringify(name)} ${
            got ? got.length + " other bytes" : "no file"
          }, the tar has ${want.length}`,
        });
      }
    }
  }

  if (format !== "zstd:chunked" && format !== "estargz") return { verifyOk, findings, tags };

  let index;
  try {
    index = await openLayerIndex(source, { core, annotations });
    tags.push("index:ok");
  } catch (e) {
    if (!codeOf(e)) findings.push(untyped("openLayerIndex", e));
    tags.push(`index:${codeOf(e)}`);
    if (verifyOk) findings.push({ kind: "disagree", message: `verify passed, openLayerIndex failed (${codeOf(e)})` });
    return { verifyOk, findings, tags };
  }
  const names = new Set<string>();
  for (const e of index.entries) if (e.type === "reg" || e.type === "hardlink") names.add(cleanEntryName(e.name));
  for (const name of names) {
    let bytes: Uint8Array | undefined;
    let code: string | undefined;
    try {
      bytes = await readFile(source, name, { core, index, maxSize: 64 << 20 });
    } catch (e) {
      code = codeOf(e);
      if (!code) findings.push(untyped(`readFile ${name}`, e));
    }
    tags.push(`read:${code ?? "ok"}`);
    if (bytes) {
      const entry = findEntry(index.entries, name);
      if (entry.digest === undefined || sha(bytes) !== entry.digest) {
        findings.push({
          kind: "uncommitted",
          message: `readFile ${JSON.stringify(name)} returned ${bytes.length} bytes with digest ${
            sha(bytes)
          }, the TOC commits to ${entry.digest}`,
        });
      }
    }
    if (!verifyOk || !extracted) continue;
    const want = extracted.files.get(name);
    const fromApply = applied?.get(name);
    if (
      bytes && applied && !(format === "estargz" && isEstargzEntryName(name)) && (fromApply === undefined || sha(fromApply) !== sha(bytes))
    ) {
      findings.push({
        kind: "apply",
        message: `verify passed; readFile ${JSON.stringify(name)} returned ${bytes.length} bytes, applyLayer ${
          fromApply ? `wrote ${fromApply.length} other bytes` : "wrote no such file"
        }`,
      });
    }
    if (bytes && want === undefined) {
      findings.push({
        kind: "disagree",
        message: `verify passed; readFile ${JSON.stringify(name)} returned ${bytes.length} bytes, extraction ${
          extracted.failed.has(name) ? "cannot create it" : "has no such regular file"
        }`,
      });
    } else if (bytes && want && sha(bytes) !== sha(want)) {
      findings.push({
        kind: "disagree",
        message: `verify passed; readFile ${
          JSON.stringify(name)
        } returned ${bytes.length} bytes, extraction gives ${want.length} other bytes`,
      });
    } else if (!bytes && code !== "BAD_ARGUMENT" && code !== "NOT_FOUND") {
      findings.push({ kind: "disagree", message: `verify passed; readFile ${JSON.stringify(name)} failed with ${code}` });
    } else if (!bytes && want !== undefined) {
      findings.push({
        kind: "disagree",
        message: `verify passed; readFile ${JSON.stringify(name)} failed with ${code}, extraction has it (${want.length} bytes)`,
      });
    }
  }
  return { verifyOk, findings, tags };
}

/** Our decoder vs the native one on the same blob: both fail, or both give the same bytes. */
async function compareNative(core: Core, format: LayerFormat, blob: Uint8Array, findings: Finding[], tags: string[]): Promise<void> {
  const tool = compressionOf(format);
  const r = spawnSync(tool, ["-dc"], { input: blob, maxBuffer: 1 << 27, timeout: 20_000 });
  if (r.error) return; // no native tool here: nothing to compare
  let ours: Uint8Array | undefined;
  try {
    ours = await collect(decompressLayer(streamOf(blob), tool, { core, maxOutput: 1 << 27 }));
  } catch (e) {
    if (!codeOf(e)) findings.push(untyped("decompressLayer", e));
  }
  const nativeOk = r.status === 0;
  tags.push(`native:${nativeOk ? "ok" : "fail"}:${ours ? "ok" : "fail"}`);
  if (nativeOk && ours && sha(ours) !== sha(new Uint8Array(r.stdout))) {
    findings.push({ kind: "native", message: `${tool} -dc and decompressLayer give different bytes` });
  } else if (nativeOk !== (ours !== undefined)) {
    // gzip -dc accepts trailing zeros after the last member ("decompression OK, trailing garbage ignored", exit 2);
    // only a success/failure split in the other direction, or with exit 0, is a finding.
    if (!(tool === "gzip" && r.status === 2)) {
      findings.push({
        kind: "native",
        message: `${tool} -dc ${nativeOk ? "accepts" : `refuses (${String(r.stderr).trim().slice(0, 200)})`}, decompressLayer ${
          ours ? "accepts" : "refuses"
        }`,
      });
    }
  }
}
