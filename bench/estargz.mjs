// eStargz creation: layerkit's writer (libdeflate by default, and pako; one thread, deterministic) vs upstream's
// `estargz.Build` (stargz-snapshotter 0.12 from Debian, through test/go/src/layerkit-estargz),
// on the same tar: Build at its default gzip level 9, layerkit at its default and at level 9. Part of `npm run bench`
// (bench/run.mjs), which runs after `npm run build`: this file imports from dist/. Run alone
// with `node bench/estargz.mjs [TAR]`.
//
// The Go number is the wall time of the harness process (`build IN.tar OUT.blob`), which
// includes process start-up and writing the blob to a temp file. Build compresses GOMAXPROCS
// parts in parallel (all cores of this machine); layerkit uses one thread. MB/s are input tar
// MB (10^6 bytes) per second. Also: layerkit reading back and verifying every file of its blob.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEstargzLayer, readEstargzToc } from "../dist/formats/estargz/index.js";
import { MemorySource } from "../dist/source/memory.js";
import { openFileSource } from "../dist/source/node-file.js";
import { loadCore } from "../dist/runtime/node.js";

const here = dirname(fileURLToPath(import.meta.url));

/** The Node core: zstd + libdeflate WASM, SHA-256 from node:crypto (this bench measures gzip and format work). */
const core = await loadCore();

/** The engines compared: the default (libdeflate at its default level), libdeflate 9, and pako 9 (the default before). */
const CONFIGS = [
  { name: "libdeflate level 6, default", options: {} },
  { name: "libdeflate level 9", options: { level: 9 } },
  { name: "pako level 9", options: { gzip: "pako", level: 9 } },
];

async function drain(stream) {
  const reader = stream.getReader();
  let n = 0;
  const parts = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    n += value.length;
    parts.push(value);
  }
  return { size: n, bytes: Buffer.concat(parts) };
}

function buildHarness(dir) {
  try {
    return execFileSync("bash", [join(here, "../test/go/build-estargz.sh"), join(dir, "bin")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    })
      .trim()
      .split("\n")
      .pop();
  } catch (e) {
    console.error(`estargz bench: Go harness unavailable (${String(e.stderr ?? e.message).trim()})`);
    return undefined;
  }
}

/** @param {{ tarPath: string, data: Uint8Array }} ctx */
export default async function bench(ctx) {
  const { tarPath, data } = ctx;
  const mb = data.length / 1e6;
  const rows = [];
  const dir = mkdtempSync(join(tmpdir(), "layerkit-bench-estargz-"));
  try {
    // layerkit: from a file (two passes: headers, then payloads), one thread, each engine.
    let size = 0;
    let bytes;
    let res;
    let ours = 0;
    for (const [i, c] of CONFIGS.entries()) {
      const source = await openFileSource(tarPath);
      const t0 = performance.now();
      const w = createEstargzLayer(core, source, c.options);
      const out = await drain(w.stream);
      const r = await w.result;
      const secs = (performance.now() - t0) / 1000;
      await source.close?.();
      rows.push({ group: "estargz", name: `create, layerkit (${c.name}, 1 thread)`, mbPerSec: mb / secs });
      rows.push({ group: "estargz", name: `compressed size, layerkit ${c.name}`, value: out.size, unit: "bytes" });
      if (i === 0) ({ size, bytes, res, ours } = { size: out.size, bytes: out.bytes, res: r, ours: secs });
    }

    // layerkit: read the TOC and every file back (default blob), verifying chunk and file digests.
    let t = performance.now();
    const rd = await readEstargzToc(new MemorySource(bytes), { core, tocDigest: res.tocDigest });
    let read = 0;
    for (const f of rd.regularFiles()) read += (await rd.readFile(f)).length;
    const readSecs = (performance.now() - t) / 1000;
    rows.push({ group: "estargz", name: "read + verify all files, layerkit", mbPerSec: read / 1e6 / readSecs });

    const harness = buildHarness(dir);
    if (harness) {
      const out = join(dir, "go.esgz");
      t = performance.now();
      const r = spawnSync(harness, ["build", tarPath, out], { encoding: "utf8" });
      const goSecs = (performance.now() - t) / 1000;
      if (r.status !== 0) throw new Error(`harness build failed: ${r.stderr}`);
      const goSize = statSync(out).size;
      rows.push({
        group: "estargz",
        name: `create, Go estargz.Build (level 9, GOMAXPROCS=${cpus().length})`,
        mbPerSec: mb / goSecs,
      });
      rows.push({
        group: "estargz",
        name: "layerkit (default) create speed vs Go Build",
        value: +(goSecs / ours).toFixed(3),
        unit: "×",
        baseline: "Go Build",
        ratio: goSecs / ours,
      });
      rows.push({ group: "estargz", name: "compressed size, Go Build", value: goSize, unit: "bytes" });
      rows.push({
        group: "estargz",
        name: "layerkit (default) size vs Go Build",
        value: +(size / goSize).toFixed(4),
        unit: "×",
        baseline: "Go Build size",
        ratio: size / goSize,
      });
      // Our blob must verify upstream (a sanity check, not timed).
      const blobPath = join(dir, "ours.esgz");
      writeFileSync(blobPath, bytes);
      const v = spawnSync(harness, ["verify", blobPath, res.tocDigest], { encoding: "utf8", maxBuffer: 1 << 30 });
      if (v.status !== 0) throw new Error(`upstream could not verify layerkit's blob: ${v.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tarPath = process.argv[2];
  if (!tarPath) {
    console.error("usage: node bench/estargz.mjs TAR");
    process.exit(2);
  }
  const data = new Uint8Array(readFileSync(tarPath));
  for (const row of await bench({ tarPath, data })) console.log(JSON.stringify(row));
}
