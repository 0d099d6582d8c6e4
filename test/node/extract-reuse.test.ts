/**
 * `extract --reuse` (issue 16 item 3, whole files): v1 extracted, then v2 (a few files changed)
 * extracted from a loopback HTTP blob server reusing v1's tree. Only the changed files' ranges
 * and the TOC are fetched; the tree equals a plain extraction of v2; a local file changed after
 * it was indexed is skipped (inode/size/mtime) or, when its mtime was put back, refused by its
 * digest and fetched: a stale index never leaves a wrong file.
 */
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, lstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Core } from "../../src/core.js";
import { extractLayer } from "../../src/extract/extract-node.js";
import { reuseIndexPath } from "../../src/extract/reuse-index.js";
import { openLayerIndex } from "../../src/lazy/layer-index.js";
import { loadCore } from "../../src/runtime/node.js";
import { HttpSource } from "../../src/source/http.js";
import { MemorySource } from "../../src/source/memory.js";
import { buildTar, type TarWriteEntry } from "../../src/tar/index.js";
import { listTree, noise, runCliAsync } from "./cli-run.js";
import { makeLayer } from "../support/registry.js";

interface LogEntry {
  method: string;
  path: string;
  range?: string;
  status: number;
  bytes: number;
}
interface BlobServer {
  origin: string;
  log: LogEntry[];
  close(): Promise<void>;
}
const { serveBlobs } = (await import(new URL("../support/blob-server.mjs", import.meta.url).href)) as { serveBlobs(): Promise<BlobServer> };

const T = { sec: 1700000000, nsec: 123456789 };
const NAMES = Array.from({ length: 24 }, (_, i) => `usr/lib/file-${String(i).padStart(2, "0")}.so`);
const CHANGED = new Set([NAMES[3]!, NAMES[17]!]);

function tree(version: 1 | 2): TarWriteEntry[] {
  const out: TarWriteEntry[] = [{ name: "usr/", type: "dir", mtime: T }, { name: "usr/lib/", type: "dir", mtime: T }];
  NAMES.forEach((name, i) => {
    const seed = version === 2 && CHANGED.has(name) ? 1000 + i : i + 1;
    out.push({ name, data: noise(64 * 1024 + i * 1000, seed), mode: 0o644, mtime: T });
  });
  if (version === 2) out.push({ name: "usr/lib/new.so", data: noise(30000, 77), mode: 0o644, mtime: T });
  return out;
}

let core: Core;
let work: string;
let server: BlobServer;
let v1: Uint8Array;
let v2: Uint8Array;
let v1Dir: string;
let n = 0;
const fresh = () => join(work, `out-${++n}`);

beforeAll(async () => {
  core = await loadCore();
  work = mkdtempSync(join(tmpdir(), "lk-reuse-"));
  v1 = (await makeLayer(buildTar(tree(1)), "zstd:chunked")).blob;
  v2 = (await makeLayer(buildTar(tree(2)), "zstd:chunked")).blob;
  server = await serveBlobs();
  for (const [name, blob] of [["v2", v2]] as const) {
    const r = await fetch(`${server.origin}/blobs/${name}`, { method: "PUT", body: blob as Uint8Array<ArrayBuffer> });
    expect(r.status).toBe(201);
  }
  writeFileSync(join(work, "v1.zst"), v1);
  v1Dir = join(work, "v1");
  await extractLayer(join(work, "v1.zst"), v1Dir, { core });
});
afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Extracts v2 over HTTP reusing `trees`; returns the report and the log entries of this extraction. */
async function extractV2(trees: string[]) {
  const from = server.log.length;
  const dir = fresh();
  const report = await extractLayer(new HttpSource(`${server.origin}/blobs/v2`), dir, { core, reuse: trees });
  return { dir, report, log: server.log.slice(from) };
}

/** The compressed payload ranges of v2's files, by name. */
async function v2Ranges(): Promise<Map<string, [number, number]>> {
  const index = await openLayerIndex(new MemorySource(v2), { core });
  const out = new Map<string, [number, number]>();
  for (const f of index.entries) if (f.type === "reg" && f.offset !== undefined) out.set(f.name, [f.offset, f.endOffset!]);
  return out;
}

function fetchedRanges(log: LogEntry[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const e of log) {
    if (e.bytes === 0) continue; // the HEAD that learns the size
    expect(e.range, `every request is a range request: ${JSON.stringify(log)}`).toBeDefined();
    for (const part of e.range!.replace(/^bytes=/, "").split(",")) {
      const [a, b] = part.split("-");
      out.push([Number(a), Number(b) + 1]);
    }
  }
  return out;
}

describe("extract --reuse: whole files from an earlier extraction", () => {
  it("writes the reuse index beside the tree, never inside it", () => {
    expect(existsSync(reuseIndexPath(v1Dir))).toBe(true);
    expect(reuseIndexPath(v1Dir)).toBe(join(work, ".v1.layerkit-index.json"));
    expect(listTree(v1Dir).map((f) => f.name).some((f) => f.includes("layerkit"))).toBe(false);
    const index = JSON.parse(readFileSync(reuseIndexPath(v1Dir), "utf8"));
    expect(index.files.map((f: { path: string }) => f.path)).toEqual(NAMES);
  });

  it("v2 over HTTP reusing v1: only the changed and new files' ranges (and the TOC) are fetched; same tree as a plain extraction", async () => {
    const { dir, report, log } = await extractV2([v1Dir]);
    const plain = fresh();
    writeFileSync(join(work, "v2.zst"), v2);
    await extractLayer(join(work, "v2.zst"), plain, { core });
    expect(listTree(dir)).toEqual(listTree(plain));
    const layer = report.layers[0]!;
    expect(layer.reuse.files.map((f) => f.name).sort()).toEqual(NAMES.filter((f) => !CHANGED.has(f)));
    for (const f of layer.reuse.files) expect(["reflink", "copy"]).toContain(f.how);
    expect(layer.reuse.refused).toEqual([]);

    const ranges = await v2Ranges();
    // The TOC reads are tail reads (footer, then a 64 KiB suffix that holds the TOC): whatever
    // payload rides along in them is not what reuse decides; every other range must be a changed file's.
    const fetched = fetchedRanges(log).filter(([, y]) => y !== v2.length);
    for (const [name, [a, b]] of ranges) {
      const overlap = fetched.reduce((s, [x, y]) => s + Math.max(0, Math.min(b, y) - Math.max(a, x)), 0);
      // Format detection reads the blob's first 512 bytes (a tar header?): nothing else of an unchanged file.
      if (CHANGED.has(name) || name === "usr/lib/new.so") expect(overlap, name).toBe(b - a);
      else expect(overlap, name).toBeLessThanOrEqual(a < 512 ? 512 : 0);
    }
    const needed = [...CHANGED, "usr/lib/new.so"].reduce((s, name) => s + ranges.get(name)![1] - ranges.get(name)![0], 0);
    const tocAndTail = v2.length - Math.max(...[...ranges.values()].map((r) => r[1]));
    const bytes = log.reduce((s, e) => s + e.bytes, 0);
    expect(layer.reuse.fetched.bytes).toBe(bytes);
    expect(bytes).toBeLessThanOrEqual(needed + tocAndTail + 64 * 1024);
    expect(bytes).toBeLessThan(v2.length / 4);
    // Side by side for the report: bytes fetched with reuse vs the blob.
    console.log(
      `reuse: fetched ${bytes} bytes in ${log.length} requests; changed files ${needed} B + TOC/tail ${tocAndTail} B; blob ${v2.length} B`,
    );
  });

  it("a local file changed after indexing is skipped (stale), or refused by its digest when its mtime was put back; v2 is still right", async () => {
    const copy = fresh();
    await extractLayer(join(work, "v1.zst"), copy, { core });
    const edited = join(copy, NAMES[0]!);
    const sneaky = join(copy, NAMES[1]!);
    writeFileSync(edited, noise(lstatSync(edited).size, 999)); // new mtime: stale
    const before = lstatSync(sneaky, { bigint: true });
    const fd = openSync(sneaky, "r+"); // same inode and size, one byte changed, mtime put back
    writeSync(fd, new Uint8Array([0x42]), 0, 1, 100);
    closeSync(fd);
    execFileSync("touch", ["-h", "-r", join(copy, NAMES[2]!), sneaky]);
    expect(lstatSync(sneaky, { bigint: true }).mtimeNs).toBe(before.mtimeNs);

    const { dir, report } = await extractV2([copy]);
    expect(report.stale.map((s) => s.path)).toContain(edited);
    expect(report.layers[0]!.reuse.refused).toEqual([{ name: NAMES[1], from: sneaky }]);
    const reused = report.layers[0]!.reuse.files.map((f) => f.name);
    expect(reused).not.toContain(NAMES[0]);
    expect(reused).not.toContain(NAMES[1]);
    const plain = join(work, "plain-v2");
    if (!existsSync(plain)) await extractLayer(new MemorySource(v2), plain, { core });
    expect(listTree(dir)).toEqual(listTree(plain));
  });

  it("the CLI: extract URL DIR --reuse TREE --json reports what was reused and fetched", async () => {
    const dir = fresh();
    const r = await runCliAsync(["extract", `${server.origin}/blobs/v2`, dir, "--reuse", v1Dir, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.layers[0].reuse.files.length).toBe(NAMES.length - CHANGED.size);
    expect(report.layers[0].reuse.fetched.bytes).toBeLessThan(v2.length / 4);
    expect(existsSync(reuseIndexPath(dir))).toBe(true);
  });

  it("a directory without a reuse index is refused (BAD_ARGUMENT) and nothing is extracted", async () => {
    const dir = fresh();
    await expect(extractLayer(new MemorySource(v2), dir, { core, reuse: [work] })).rejects.toMatchObject({ code: "BAD_ARGUMENT" });
    expect(existsSync(dir)).toBe(false);
  });
});
