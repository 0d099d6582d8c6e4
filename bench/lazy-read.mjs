// Lazy single-file reads over HTTP: requests and bytes fetched to read one file out of a layer
// built from the bench corpus, for zstd:chunked (with and without annotations) and eStargz,
// served by a plain Range-capable node:http server on 127.0.0.1. Part of `npm run bench`
// (imports from dist/, so run `npm run build` first); alone: `node bench/lazy-read.mjs [TAR]`.
//
// Reported per file: HTTP requests, bytes fetched, and the overhead over the file's own
// compressed bytes (TOC region + footer probe). Time is wall time of readFile, loopback only.
// Last, the zstd:chunked layer is pushed to Debian's docker-registry on 127.0.0.1 and one file
// is read through the registry blob API.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const { loadCore } = await import(new URL("../dist/runtime/node.js", import.meta.url).href);
const { createLayer } = await import(new URL("../dist/create-layer.js", import.meta.url).href);
const { HttpSource } = await import(new URL("../dist/source/http.js", import.meta.url).href);
const { MemorySource } = await import(new URL("../dist/source/memory.js", import.meta.url).href);
const { openLayerIndex, readFile } = await import(new URL("../dist/lazy/index.js", import.meta.url).href);
const { RegistryClient } = await import(new URL("../dist/registry/index.js", import.meta.url).href);

const ESTARGZ_TOC_DIGEST = "containerd.io/snapshot/stargz/toc.digest";

async function drain(stream) {
  const parts = [];
  const r = stream.getReader();
  for (let x = await r.read(); !x.done; x = await r.read()) parts.push(x.value);
  return new Uint8Array(Buffer.concat(parts));
}

function tarStream(bytes) {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.subarray(at, at += 1 << 20));
    },
  });
}

/** A minimal single-range server over in-memory blobs. */
async function startServer(blobs) {
  const server = createServer((req, res) => {
    const blob = blobs.get(req.url);
    if (!blob) return res.writeHead(404).end();
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (!m) return res.writeHead(200, { "content-length": String(blob.length) }).end(blob);
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), blob.length - 1);
    res.writeHead(206, { "content-range": `bytes ${start}-${end}/${blob.length}`, "content-length": String(end - start + 1) }).end(
      blob.subarray(start, end + 1),
    );
  });
  server.keepAliveTimeout = 120_000;
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

const fmtBytes = (n) => (n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

export default async function lazyReadBench({ data }) {
  const core = await loadCore();
  const layers = [];
  const zc = createLayer(tarStream(data), { format: "zstd:chunked", core });
  const zcBlob = await drain(zc.stream);
  const zcAnn = (await zc.result).descriptor.annotations;
  layers.push({ label: "zstd:chunked + annotations", path: "/zc", blob: zcBlob, annotations: zcAnn });
  layers.push({ label: "zstd:chunked, no annotations", path: "/zc", blob: zcBlob, annotations: undefined });
  const gz = createLayer(tarStream(data), { format: "estargz", level: 6, core });
  const gzBlob = await drain(gz.stream);
  layers.push({
    label: "eStargz + toc.digest",
    path: "/gz",
    blob: gzBlob,
    annotations: { [ESTARGZ_TOC_DIGEST]: (await gz.result).tocDigest },
  });

  const { server, base } = await startServer(new Map([["/zc", zcBlob], ["/gz", gzBlob]]));
  const rows = [];
  try {
    for (const layer of layers) {
      const index = await openLayerIndex(new MemorySource(layer.blob), {
        core,
        ...(layer.annotations ? { annotations: layer.annotations } : {}),
      });
      const regs = index.entries.filter((e) => e.type === "reg" && e.size > 0).sort((a, b) =>
        a.size - b.size || (a.name < b.name ? -1 : 1)
      );
      const picks = [["small", regs[Math.floor(regs.length * 0.1)]], ["median", regs[regs.length >> 1]], [
        "largest",
        regs[regs.length - 1],
      ]];
      for (const [which, entry] of picks) {
        const source = new HttpSource(base + layer.path, { size: layer.blob.length });
        const t0 = performance.now();
        const bytes = await readFile(source, entry.name, { core, ...(layer.annotations ? { annotations: layer.annotations } : {}) });
        const ms = performance.now() - t0;
        if (bytes.length !== entry.size) throw new Error(`read ${bytes.length} bytes of ${entry.name}, expected ${entry.size}`);
        const compressed = Math.max(...entry.chunks.filter((c) => !c.zeros).map((c) => c.end)) -
          Math.min(...entry.chunks.filter((c) => !c.zeros).map((c) => c.offset));
        rows.push({
          group: "lazy-read",
          name: `${layer.label}: ${which} file (${fmtBytes(entry.size)})`,
          value: `${source.stats.requests} requests, ${fmtBytes(source.stats.bytes)} fetched (file ${fmtBytes(compressed)} + ${
            fmtBytes(source.stats.bytes - compressed)
          } TOC/footer) of a ${fmtBytes(layer.blob.length)} layer, ${ms.toFixed(0)} ms`,
          unit: "",
        });
      }
    }
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  rows.push(...(await registryRows(core, layers[0])));
  return rows;
}

/** Debian's docker-registry on 127.0.0.1 with a temporary storage directory (stopped after use). */
async function startRegistry() {
  const dir = mkdtempSync(join(tmpdir(), "layerkit-bench-registry-"));
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${
      join(dir, "storage")
    }\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const proc = spawn("setpriv", ["--pdeathsig", "KILL", "/usr/bin/docker-registry", "serve", config], { stdio: "ignore" });
  const host = `127.0.0.1:${port}`;
  for (const deadline = Date.now() + 15_000;;) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited with ${proc.exitCode}`);
    const ok = await fetch(`http://${host}/v2/`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error("docker-registry did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    stop: async () => {
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The zstd:chunked layer pushed to a local registry, one file read lazily through the blob API. */
async function registryRows(core, layer) {
  const reg = await startRegistry();
  try {
    const client = new RegistryClient(reg.host);
    const digest = "sha256:" + createHash("sha256").update(layer.blob).digest("hex");
    await client.pushBlob("bench/lazy", layer.blob, { digest, size: layer.blob.length });
    const index = await openLayerIndex(new MemorySource(layer.blob), { core, annotations: layer.annotations });
    const regs = index.entries.filter((e) => e.type === "reg" && e.size > 0).sort((a, b) => a.size - b.size || (a.name < b.name ? -1 : 1));
    const entry = regs[regs.length >> 1];
    const source = client.blobSource("bench/lazy", { digest, size: layer.blob.length });
    const t0 = performance.now();
    const bytes = await readFile(source, entry.name, { core, annotations: layer.annotations });
    const ms = performance.now() - t0;
    if (bytes.length !== entry.size) throw new Error(`read ${bytes.length} bytes of ${entry.name}, expected ${entry.size}`);
    return [
      {
        group: "lazy-read",
        name: `local docker-registry, zstd:chunked + annotations: median file (${fmtBytes(entry.size)})`,
        value: `${source.stats.requests} requests, ${fmtBytes(source.stats.bytes)} fetched of a ${fmtBytes(layer.blob.length)} blob, ${
          ms.toFixed(0)
        } ms`,
        unit: "",
      },
    ];
  } finally {
    await reg.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const tarPath = process.argv[2] ?? (await import("./corpus.mjs").then((m) => m.corpus()));
  for (const row of await lazyReadBench({ data: new Uint8Array(readFileSync(tarPath)) })) console.log(`${row.name}: ${row.value}`);
}
