/**
 * `layerkit demo`: the main job on an embedded default, with nothing to download. Builds a
 * zstd:chunked layer from files the package ships (README.md, LICENSE, package.json), verifies
 * it, serves it from 127.0.0.1 with Range support, and reads one file lazily, printing how many
 * requests and bytes that took and checking the bytes against the original.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLayer } from "../../create-layer.js";
import { LayerkitError } from "../../errors.js";
import { readFile } from "../../lazy/read-file.js";
import { HttpSource } from "../../source/http.js";
import { memorySource } from "../../source/memory.js";
import { tarStream } from "../../tar/writer.js";
import { verifyLayer } from "../../verify/index.js";
import type { Command } from "../command.js";
import { EXIT_BAD_CONTENT, EXIT_OK } from "../errors.js";

const PACKAGE_ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const FILES = ["README.md", "LICENSE", "package.json"];
/** The file read lazily. */
const WANTED = "usr/share/doc/layerkit/LICENSE";

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const reader = stream.getReader();;) {
    const r = await reader.read();
    if (r.done) break;
    parts.push(r.value);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/** A tar of the shipped files under usr/share/doc/layerkit/ (mtime 0: the same layer every time). */
function demoTar(): { tar: ReadableStream<Uint8Array>; files: Map<string, Uint8Array> } {
  const files = new Map(FILES.map((f) => [`usr/share/doc/layerkit/${f}`, new Uint8Array(readFileSync(join(PACKAGE_ROOT, f)))]));
  const dirs = ["usr/", "usr/share/", "usr/share/doc/", "usr/share/doc/layerkit/"].map((name) => ({ name, type: "dir" as const }));
  return { tar: tarStream([...dirs, ...[...files].map(([name, data]) => ({ name, data }))]), files };
}

/** Serves `blob` on 127.0.0.1 with single-range support, counting requests. */
async function serve(blob: Uint8Array): Promise<{ server: Server; url: string; log: string[] }> {
  const log: string[] = [];
  const server = createServer((req, res) => {
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    log.push(`${req.method} ${req.headers.range ?? "(whole blob)"}`);
    if (!range) {
      res.writeHead(200, { "content-length": blob.length, "accept-ranges": "bytes" }).end(req.method === "HEAD" ? undefined : blob);
      return;
    }
    const start = Number(range[1]);
    const end = Math.min(range[2] ? Number(range[2]) : blob.length - 1, blob.length - 1);
    res.writeHead(206, { "content-range": `bytes ${start}-${end}/${blob.length}`, "content-length": end - start + 1 }).end(
      blob.subarray(start, end + 1),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/layer.zst`, log };
}

export const demo: Command = {
  name: "demo",
  summary: "Build a layer from files the package ships, verify it, serve it on 127.0.0.1 and read one file lazily",
  usage: "demo",
  help: [],
  example: "layerkit demo --json",
  options: {},
  positionals: [0, 0],
  async run(_values, _args, ctx) {
    const { tar, files } = demoTar();
    const writer = createLayer(tar, { format: "zstd:chunked" });
    const blob = await collect(writer.stream);
    const result = await writer.result;
    ctx.log(`1. created  zstd:chunked layer of ${files.size} shipped files: ${result.size} bytes, ${result.digest}`);
    const report = await verifyLayer(memorySource(blob), result.descriptor, { diffID: result.diffID });
    ctx.log(
      `2. verified ${report.ok ? "OK" : "FAILED"}: ${
        report.checks.filter((c) => c.status === "ok").length
      } checks passed, ${report.filesChecked} files, ${report.chunksChecked} chunks`,
    );
    if (!report.ok) {
      ctx.printJson({ created: result.descriptor, verify: report });
      return EXIT_BAD_CONTENT;
    }
    const { server, url, log } = await serve(blob);
    try {
      ctx.log(`3. serving  ${url}`);
      const source = new HttpSource(url, { size: result.size });
      const bytes = await readFile(source, WANTED, { annotations: result.annotations });
      const same = Buffer.from(bytes).equals(Buffer.from(files.get(WANTED)!));
      if (!same) throw new LayerkitError("DIGEST_MISMATCH", `${WANTED} read lazily differs from the original`, { path: WANTED });
      ctx.log(
        `4. read     ${WANTED} lazily: ${bytes.length} bytes in ${source.stats.requests} request(s), ${source.stats.bytes} of the blob's ${result.size} bytes fetched, identical to the original`,
      );
      for (const l of log) ctx.log(`             ${l}`);
      ctx.printJson({
        created: result.descriptor,
        diffID: result.diffID,
        verified: report.ok,
        read: { path: WANTED, size: bytes.length, requests: source.stats.requests, bytesFetched: source.stats.bytes },
      });
      return EXIT_OK;
    } finally {
      await new Promise((r) => server.close(r));
    }
  },
};
