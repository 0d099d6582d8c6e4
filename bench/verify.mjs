// verifyLayer throughput per format on the bench corpus (≥ 128 MiB tar), against the native
// tools doing the minimum a verifier must do on the same blob file: `sha256sum` of the blob plus
// native decompression piped into `sha256sum` (the diffID), run in the same process tree and the
// same run so the ratio compares like with like. Part of `npm run bench` (bench/run.mjs, after
// `npm run build`: this file imports from dist/). Run alone with `node bench/verify.mjs [TAR]`.
//
// MB/s are uncompressed tar MB (10^6 bytes) per second: what a verifier walks. Our number covers
// everything verifyLayer checks (blob digest and size, diffID, TOC vs tar, every file and chunk
// digest, chunk layout, tar-split), single-threaded, reading the blob from a file. The native
// baseline uses two processes (decompressor and sha256sum run in parallel on the 2 cores), and
// checks only the two digests.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/", import.meta.url);
const { loadCore } = await import(new URL("runtime/node.js", dist).href);
const { createLayer } = await import(new URL("create-layer.js", dist).href);
const { verifyLayer } = await import(new URL("verify/index.js", dist).href);
const { openFileSource } = await import(new URL("source/node-file.js", dist).href);

function streamOf(data, piece = 1 << 20) {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= data.length) return c.close();
      c.enqueue(data.subarray(at, at + piece));
      at += piece;
    },
  });
}

async function collect(stream) {
  const parts = [];
  const r = stream.getReader();
  for (let x = await r.read(); !x.done; x = await r.read()) parts.push(x.value);
  return new Uint8Array(Buffer.concat(parts));
}

function seconds(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Best of `n` runs of an async function, in seconds. */
async function best(n, fn) {
  let b = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    b = Math.min(b, (performance.now() - t0) / 1000);
  }
  return b;
}

/** @param {{ tarPath: string, data: Uint8Array }} ctx */
export default async function bench({ tarPath, data }) {
  const core = await loadCore();
  const mb = data.length / 1e6;
  const diffID = "sha256:" + createHash("sha256").update(data).digest("hex");
  const rows = [];
  const dir = mkdtempSync(join(tmpdir(), "layerkit-bench-verify-"));
  try {
    const layers = [];
    for (const format of ["zstd:chunked", "estargz", "zstd"]) {
      const w = createLayer(streamOf(data), { format, core });
      const blob = await collect(w.stream);
      const res = await w.result;
      layers.push({ format, blob, descriptor: res.descriptor, diffID: res.diffID, native: format === "estargz" ? "gzip -d" : "zstd -d" });
    }
    const gz = new Uint8Array(execFileSync("gzip", ["-6", "-n", "-c", tarPath], { maxBuffer: 1 << 30 }));
    layers.push({
      format: "gzip",
      blob: gz,
      descriptor: {
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: "sha256:" + createHash("sha256").update(gz).digest("hex"),
        size: gz.length,
      },
      diffID,
      native: "gzip -d",
    });

    for (const l of layers) {
      const path = join(dir, l.format.replace(":", "-") + ".blob");
      writeFileSync(path, l.blob);
      let report;
      const ours = await best(2, async () => {
        const source = await openFileSource(path);
        try {
          report = await verifyLayer(source, l.descriptor, { diffID: l.diffID, core });
        } finally {
          await source.close?.();
        }
      });
      if (!report.ok) throw new Error(`${l.format}: our own layer did not verify: ${JSON.stringify(report.failures.slice(0, 3))}`);
      const cmd = `sha256sum "${path}" > /dev/null && ${l.native} -c "${path}" | sha256sum > /dev/null`;
      const native = Math.min(
        seconds(() => execFileSync("sh", ["-c", cmd])),
        seconds(() => execFileSync("sh", ["-c", cmd])),
      );
      rows.push({ group: "verify", name: `${l.format}: verifyLayer (all checks)`, mbPerSec: mb / ours });
      rows.push({ group: "verify", name: `${l.format}: sha256sum + ${l.native} | sha256sum`, mbPerSec: mb / native });
      rows.push({
        group: "verify",
        name: `${l.format}: ours / native`,
        value: (native / ours).toFixed(2),
        unit: "×",
        ratio: native / ours,
        baseline: "native",
      });
      if (report.filesChecked) {
        rows.push({
          group: "verify",
          name: `${l.format}: files / chunks checked`,
          value: `${report.filesChecked} / ${report.chunksChecked}`,
          unit: "",
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { corpus } = await import("./corpus.mjs");
  const tarPath = process.argv[2] ?? (await corpus());
  const data = new Uint8Array(readFileSync(tarPath));
  for (const row of await bench({ tarPath, data })) console.log(JSON.stringify(row));
}
