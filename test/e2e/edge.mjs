#!/usr/bin/env node
/**
 * End-to-end test of the edge worker (examples/edge) in real workerd: builds the worker with its
 * .wasm imported as modules, serves zstd:chunked and eStargz test layers (createLayer, plus
 * tampered copies) from a local Range-capable server on 127.0.0.1, runs the worker twice in one
 * workerd (URL mode, and with LAYER_ORIGIN configured) and checks what it answers: the right
 * bytes, 404 for a missing path, 502 with a JSON error for layers failing verification, 400 for
 * bad requests, and that a file read after the TOC is cached fetches only that file's range.
 *
 *   node test/e2e/edge.mjs        (WORKERD=/path/to/workerd to use another binary)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildEdgeWorker, workerdConfig } from "../../examples/edge/build.mjs";
import { serveHttp } from "../support/static-server.mjs";
import { freePort, startWorkerd } from "../support/workerd.mjs";
import { assert, loadTestLayers, runCases, typecheck } from "./support.mjs";

const RUNTIME = "edge (workerd)";

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "layerkit-edge-"));
  const ctx = { dir };
  await buildEdgeWorker(dir);
  Object.assign(ctx, await loadTestLayers());
  const { layers } = ctx;
  const served = new Map(
    [layers.chunked, layers.estargz, layers.tamperedChunked, layers.tamperedEstargz, layers.gzip, ...layers.upstream].map((
      l,
    ) => [`/layers/${l.name}`, l.bytes]),
  );
  ctx.server = await serveHttp((
    path,
  ) => (served.has(path) ? { type: "application/octet-stream", body: served.get(path), ranges: true } : undefined));
  const originPort = await freePort();
  const publicPort = await freePort();
  ctx.worker = await startWorkerd(
    dir,
    (port) =>
      workerdConfig(
        [
          { name: "by-url", port },
          { name: "by-origin", port: originPort, vars: { LAYER_ORIGIN: `${ctx.server.origin}/layers`, MAX_FILE_SIZE: String(1 << 20) } },
          { name: "public-only", port: publicPort, allowPrivate: false },
        ],
        { allowPrivate: true },
      ),
    "/",
  );
  ctx.originWorker = `http://127.0.0.1:${originPort}`;
  ctx.publicWorker = `http://127.0.0.1:${publicPort}`;
  return ctx;
}

async function teardown(ctx) {
  await ctx?.worker?.stop();
  await ctx?.server?.close();
  if (ctx?.dir) rmSync(ctx.dir, { recursive: true, force: true });
}

/** GET a file of `layer` through the URL-mode worker. */
function viaUrl(ctx, layer, path, query = "") {
  return fetch(`${ctx.worker.origin}/${encodeURIComponent(`${ctx.server.origin}/layers/${layer.name}`)}/${path}${query}`);
}

async function expectFile(ctx, res, path) {
  const f = ctx.layers.files.find((x) => x.path === path);
  const body = new Uint8Array(await res.arrayBuffer());
  assert(res.status === 200, `${path}: HTTP ${res.status} ${new TextDecoder().decode(body).slice(0, 500)}`);
  assert(Buffer.from(body).equals(Buffer.from(f.content)), `${path}: ${body.length} bytes differ from the ${f.content.length} expected`);
  const digest = `sha256:${ctx.core.sha256().update(f.content).hex()}`;
  assert(
    res.headers.get("x-content-digest") === digest && res.headers.get("etag") === `"${digest}"`,
    `${path}: digest headers ${res.headers.get("x-content-digest")} ${res.headers.get("etag")}`,
  );
  return res;
}

async function expectError(res, status, codes, what) {
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${what}: HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
  }
  assert(
    res.status === status && res.headers.get("content-type")?.startsWith("application/json"),
    `${what}: HTTP ${res.status} ${res.headers.get("content-type")}, want ${status} JSON: ${text.slice(0, 300)}`,
  );
  assert(
    codes.includes(json.error?.code) && typeof json.error.message === "string",
    `${what}: error ${JSON.stringify(json.error)}, want one of ${codes}`,
  );
  return json.error;
}

const cases = [
  ["the worker's sources type-check (tsc strict, examples/edge)", async () => typecheck("examples/edge/tsconfig.json")],
  [
    "URL mode, zstd:chunked: text and multi-chunk binary files come back byte for byte with their digest as ETag",
    async (ctx) => {
      const l = ctx.layers.chunked;
      const from = ctx.server.log.length;
      const r = await expectFile(ctx, await viaUrl(ctx, l, "etc/os-release"), "etc/os-release");
      // Cold read, no annotations: one suffix read of the tail (64 KiB speculative, so a small TOC
      // comes with the footer), the TOC if it did not fit, the file.
      const cold = ctx.server.log.slice(from);
      const coldBytes = cold.reduce((n, x) => n + x.bytes, 0);
      assert(
        cold.length <= 3 && coldBytes < 65536 + l.bytes.length / 50,
        `cold read of a ${l.bytes.length}-byte layer: ${cold.length} requests, ${coldBytes} bytes`,
      );
      console.log(
        `    cold read of etc/os-release from the ${l.bytes.length}-byte ${l.name}: ${cold.length} request(s) (${
          cold.map((x) => x.method).join(", ")
        }), ${coldBytes} bytes`,
      );
      assert(
        r.headers.get("x-layer-format") === "zstd:chunked" && r.headers.get("x-toc-authenticated") === "false",
        `headers ${[...r.headers]}`,
      );
      await expectFile(ctx, await viaUrl(ctx, l, "usr/lib/big.bin"), "usr/lib/big.bin");
      await expectFile(ctx, await viaUrl(ctx, l, "var/empty.txt"), "var/empty.txt");
    },
  ],
  [
    "URL mode, eStargz: files come back byte for byte",
    async (ctx) => {
      const l = ctx.layers.estargz;
      const r = await expectFile(ctx, await viaUrl(ctx, l, "usr/share/doc/layerkit/README.txt"), "usr/share/doc/layerkit/README.txt");
      assert(r.headers.get("x-layer-format") === "estargz", `format header ${r.headers.get("x-layer-format")}`);
      await expectFile(ctx, await viaUrl(ctx, l, "usr/bin/tool"), "usr/bin/tool");
    },
  ],
  [
    "a layer written by upstream (c/storage ZstdCompressor): files come back byte for byte, TOC authenticated by upstream's annotations",
    async (ctx) => {
      const l = ctx.layers.upstream.find((x) => x.name === "upstream-cstorage.zst");
      const query = `?annotations=${encodeURIComponent(JSON.stringify(l.annotations))}`;
      const r = await expectFile(
        ctx,
        await viaUrl(ctx, l, "usr/share/doc/layerkit/README.txt", query),
        "usr/share/doc/layerkit/README.txt",
      );
      assert(r.headers.get("x-toc-authenticated") === "true", "TOC not authenticated");
      await expectFile(ctx, await viaUrl(ctx, l, "usr/lib/big.bin", query), "usr/lib/big.bin");
    },
  ],
  [
    "with the TOC cached, a file costs only requests inside its own compressed range",
    async (ctx) => {
      for (const l of [ctx.layers.chunked, ctx.layers.estargz]) {
        const path = "usr/bin/tool";
        await (await viaUrl(ctx, l, "etc/motd")).arrayBuffer(); // TOC cached by now
        const from = ctx.server.log.length;
        await expectFile(ctx, await viaUrl(ctx, l, path), path);
        const { start, end } = await ctx.fileRange(l, path);
        const reqs = ctx.server.log.slice(from);
        assert(reqs.length >= 1, `${l.name}: no request for ${path}`);
        for (const r of reqs) {
          const m = /^bytes=(\d+)-(\d+)$/.exec(r.range ?? "");
          assert(
            r.path === `/layers/${l.name}` && m && Number(m[1]) >= start && Number(m[2]) < end,
            `${l.name}: request ${JSON.stringify(r)} outside ${path}'s range ${start}-${end - 1}`,
          );
        }
        const bytes = reqs.reduce((n, r) => n + r.bytes, 0);
        assert(bytes <= end - start, `${l.name}: fetched ${bytes} bytes, ${path}'s compressed range is ${end - start}`);
        console.log(`    ${l.name} ${path}: ${reqs.length} request(s), ${bytes} bytes (compressed range ${end - start} bytes)`);
      }
    },
  ],
  [
    "annotations authenticate the TOC; annotations naming another TOC give 502 DIGEST_MISMATCH",
    async (ctx) => {
      const l = ctx.layers.chunked;
      const good = await expectFile(
        ctx,
        await viaUrl(ctx, l, "etc/motd", `?annotations=${encodeURIComponent(JSON.stringify(l.result.annotations))}`),
        "etc/motd",
      );
      assert(good.headers.get("x-toc-authenticated") === "true", "TOC not reported authenticated");
      // Both key sets (current and c/storage 1.43's): a descriptor whose sets disagree is BAD_ANNOTATION.
      const wrong = `sha256:${"1".repeat(64)}`;
      const bad = {
        ...l.result.annotations,
        "io.github.containers.zstd-chunked.manifest-checksum": wrong,
        "io.containers.zstd-chunked.manifest-checksum": wrong,
      };
      await expectError(await viaUrl(ctx, l, "etc/motd", `?annotations=${encodeURIComponent(JSON.stringify(bad))}`), 502, [
        "DIGEST_MISMATCH",
      ], "wrong TOC digest");
      const est = ctx.layers.estargz;
      const estBad = { "containerd.io/snapshot/stargz/toc.digest": `sha256:${"2".repeat(64)}` };
      await expectError(await viaUrl(ctx, est, "etc/motd", `?annotations=${encodeURIComponent(JSON.stringify(estBad))}`), 502, [
        "DIGEST_MISMATCH",
      ], "wrong eStargz TOC digest");
    },
  ],
  [
    "tampered layers: the damaged file gives 502 with a JSON verification error, an intact file of the same layer still 200",
    async (ctx) => {
      await expectError(await viaUrl(ctx, ctx.layers.tamperedChunked, "usr/lib/big.bin"), 502, [
        "DIGEST_MISMATCH",
        "ZSTD_CORRUPT",
        "ZSTD_TRUNCATED",
        "SIZE_MISMATCH",
      ], "tampered zstd:chunked");
      await expectFile(ctx, await viaUrl(ctx, ctx.layers.tamperedChunked, "etc/os-release"), "etc/os-release");
      await expectError(await viaUrl(ctx, ctx.layers.tamperedEstargz, "etc/os-release"), 502, [
        "DIGEST_MISMATCH",
        "GZIP_CORRUPT",
        "SIZE_MISMATCH",
        "TRUNCATED",
      ], "tampered eStargz");
    },
  ],
  [
    "missing path is 404 NOT_FOUND; a directory, a path climbing out and a non-URL layer are 400; a missing layer is 502 HTTP, a non-seekable one 502 UNSUPPORTED_FORMAT",
    async (ctx) => {
      await expectError(await viaUrl(ctx, ctx.layers.chunked, "etc/shadow"), 404, ["NOT_FOUND"], "missing path");
      await expectError(await viaUrl(ctx, ctx.layers.estargz, "no/such/file"), 404, ["NOT_FOUND"], "missing path (eStargz)");
      await expectError(await viaUrl(ctx, ctx.layers.chunked, "usr/bin"), 400, ["BAD_ARGUMENT"], "directory");
      await expectError(await viaUrl(ctx, ctx.layers.chunked, "usr/..%2F..%2Fetc/passwd"), 400, ["UNSAFE_PATH"], "path climbing out");
      await expectError(await fetch(`${ctx.worker.origin}/not-a-url/etc/motd`), 400, ["BAD_ARGUMENT"], "non-URL layer");
      await expectError(
        await fetch(`${ctx.worker.origin}/${encodeURIComponent(`${ctx.server.origin}/layers/missing.zst`)}/etc/motd`),
        502,
        ["HTTP"],
        "missing layer",
      );
      await expectError(await fetch(`${ctx.worker.origin}/x/y?annotations=%7B`), 400, ["BAD_ARGUMENT"], "bad annotations");
      await expectError(await viaUrl(ctx, ctx.layers.gzip, "etc/motd"), 502, ["UNSUPPORTED_FORMAT"], "plain gzip layer (no TOC)");
    },
  ],
  [
    "LAYER_ORIGIN mode: layers by name under the configured origin; URLs are refused; MAX_FILE_SIZE gives 413",
    async (ctx) => {
      await expectFile(ctx, await fetch(`${ctx.originWorker}/${ctx.layers.chunked.name}/etc/os-release`), "etc/os-release");
      await expectFile(ctx, await fetch(`${ctx.originWorker}/${ctx.layers.estargz.name}/usr/bin/tool`), "usr/bin/tool");
      await expectError(
        await fetch(`${ctx.originWorker}/${ctx.layers.estargz.name}/usr/lib/big.bin`),
        413,
        ["LIMIT_EXCEEDED"],
        "file over MAX_FILE_SIZE",
      );
      await expectError(await fetch(`${ctx.originWorker}/${ctx.layers.chunked.name}/nope`), 404, ["NOT_FOUND"], "missing path");
      const r = await fetch(`${ctx.originWorker}/${encodeURIComponent("http://127.0.0.1:1/x")}/etc/motd`);
      await expectError(r, 400, ["BAD_ARGUMENT"], "URL in origin mode");
    },
  ],
  [
    "without --allow-private a local origin is a clear 403 at once (no fetch, no retries), naming the flag",
    async (ctx) => {
      for (const origin of [ctx.server.origin, "http://localhost:1", "http://10.1.2.3", "http://[::1]:8080"]) {
        const from = ctx.server.log.length;
        const t0 = Date.now();
        const err = await expectError(
          await fetch(`${ctx.publicWorker}/${encodeURIComponent(`${origin}/layers/${ctx.layers.chunked.name}`)}/etc/os-release`),
          403,
          ["BAD_ARGUMENT"],
          `private origin ${origin}`,
        );
        assert(err.message.includes("--allow-private") && err.message.includes("private address"), `message: ${err.message}`);
        assert(ctx.server.log.length === from, `the worker fetched ${ctx.server.log.length - from} time(s) from ${origin}`);
        assert(Date.now() - t0 < 2000, `403 took ${Date.now() - t0} ms`);
      }
    },
  ],
];

process.exitCode = await runCases(RUNTIME, setup, cases, teardown);
