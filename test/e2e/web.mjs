#!/usr/bin/env node
/**
 * End-to-end test of the web example (examples/web) in headless Debian Chromium (playwright-core):
 * builds the page, writes zstd:chunked and eStargz test layers with createLayer (plus tampered
 * and truncated copies), serves page and layers from 127.0.0.1 with Range support and a request
 * log, then drives the page as a user would: enter a URL, read the checks and the tree, click
 * files (asserting that only the clicked file's compressed range was fetched), drop files via
 * the file input, and see tampered layers fail. Screenshots go to test/out/ (gitignored).
 *
 *   node test/e2e/web.mjs        (CHROMIUM=/path/to/chromium to use another binary)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildWebExample } from "../../examples/web/build.mjs";
import { launchChromium } from "../support/chromium.mjs";
import { serveHttp } from "../support/static-server.mjs";
import { assert, loadTestLayers, ROOT, runCases, typecheck } from "./support.mjs";

const RUNTIME = "web (chromium)";
const OUT = join(ROOT, "test/out");
const WAIT_MS = 120_000;
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".wasm": "application/wasm",
};

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "layerkit-web-"));
  const ctx = { dir };
  await buildWebExample(dir);
  Object.assign(ctx, await loadTestLayers());
  const { layers } = ctx;
  const served = new Map(
    [layers.chunked, layers.estargz, layers.tamperedChunked, layers.tamperedEstargz, layers.zstd, layers.gzip, ...layers.upstream].map((
      l,
    ) => [`/layers/${l.name}`, l.bytes]),
  );
  ctx.server = await serveHttp((path) => {
    if (served.has(path)) return { type: "application/octet-stream", body: served.get(path), ranges: true };
    if (path === "/not-a-layer.txt") {
      return { type: "text/plain", body: "this is not a layer, just some text that is long enough to be probed".repeat(4), ranges: true };
    }
    const file = path === "/" ? "index.html" : path.slice(1);
    const ext = /\.[a-z]+$/.exec(file)?.[0];
    if (!/^[a-z0-9.]+$/.test(file) || !TYPES[ext]) return undefined;
    try {
      return { type: TYPES[ext], body: readFileSync(join(dir, file)) };
    } catch {
      return undefined;
    }
  });
  ctx.browser = await launchChromium();
  ctx.page = ctx.browser.page;
  await ctx.page.goto(`${ctx.server.origin}/`);
  await ctx.page.waitForSelector("body[data-ready=true]", { timeout: WAIT_MS });
  mkdirSync(OUT, { recursive: true });
  return ctx;
}

async function teardown(ctx) {
  await ctx?.browser?.close();
  await ctx?.server?.close();
  if (ctx?.dir) rmSync(ctx.dir, { recursive: true, force: true });
}

/** What the page shows once a run finished. */
async function shown(page) {
  await page.waitForSelector("body[data-state=done], body[data-state=error]", { timeout: WAIT_MS });
  return page.evaluate(() => ({
    state: document.body.dataset.state,
    ok: document.body.dataset.ok,
    error: document.getElementById("error").hidden ? undefined : document.getElementById("error").textContent,
    checks: Object.fromEntries(
      [...document.querySelectorAll("#checks li")].map((li) => [li.dataset.check, { state: li.dataset.state, text: li.textContent }]),
    ),
    files: [...document.querySelectorAll("#tree button.file")].map((b) => b.dataset.path).sort(),
    tree: document.getElementById("tree").textContent,
    progress: document.getElementById("progress-text").textContent,
  }));
}

async function enterUrl(page, url, { digest = "", size = "", diffID = "", annotations } = {}) {
  await page.evaluate(() => (document.body.dataset.state = "idle"));
  await page.fill("#layer-url", url);
  await page.fill("#digest", digest);
  await page.fill("#size", String(size));
  await page.fill("#diff-id", diffID);
  await page.fill("#annotations", annotations ? JSON.stringify(annotations) : "");
  await page.click("#load");
  return shown(page);
}

async function dropFile(page, name, bytes, { annotations } = {}) {
  await page.evaluate(() => (document.body.dataset.state = "idle"));
  await page.fill("#digest", "");
  await page.fill("#size", "");
  await page.fill("#diff-id", "");
  await page.fill("#annotations", annotations ? JSON.stringify(annotations) : "");
  await page.setInputFiles("#file", { name, mimeType: "application/octet-stream", buffer: Buffer.from(bytes) });
  return shown(page);
}

/** Click a file in the tree and return what the viewer shows. */
async function clickFile(page, path) {
  // Open the collapsed directories on the way, as a user would.
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join("/");
    if (!(await page.$eval(`#tree details[data-dir="${dir}"]`, (d) => d.open))) {
      await page.click(`#tree details[data-dir="${dir}"] > summary`);
    }
  }
  await page.click(`#tree button.file[data-path="${path}"]`);
  await page.waitForSelector(`#viewer[data-path="${path}"][data-state=done], #viewer[data-path="${path}"][data-state=error]`, {
    timeout: WAIT_MS,
  });
  return page.evaluate(() => ({
    state: document.getElementById("viewer").dataset.state,
    text: document.getElementById("file-text")?.textContent,
    size: document.getElementById("file-size")?.textContent,
    digest: document.getElementById("file-digest")?.textContent,
    error: document.getElementById("file-error")?.textContent,
    stats: document.getElementById("fetch-stats")?.textContent,
  }));
}

/** eStargz adds a landmark file (a regular file in the TOC) that the tar did not have. */
const LANDMARK = /^\.(no\.)?prefetch\.landmark$/;

/** Every verifyLayer check the page shows passed (descriptor checks are info without a digest). */
function expectPassing(s, { authenticated, diffID = false, size = authenticated, digest = authenticated }) {
  assert(s.state === "done" && s.ok === "true", `page did not verify the layer: ${JSON.stringify(s)}`);
  const want = {
    "blob-size": size ? "pass" : "info",
    "blob-digest": digest ? "pass" : "info",
    decompress: "pass",
    "diff-id": diffID ? "pass" : "info",
    toc: "pass",
    "toc-vs-tar": "pass",
    "file-digests": "pass",
    "chunk-digests": "pass",
    "chunk-layout": "pass",
  };
  for (const [name, state] of Object.entries(want)) {
    assert(s.checks[name]?.state === state, `${name} check: ${JSON.stringify(s.checks[name])}, want ${state}`);
  }
  assert(
    s.checks.toc.text.includes(authenticated ? "(authenticated by the annotations)" : "(not authenticated"),
    `toc check: ${s.checks.toc.text}`,
  );
  assert(s.checks["file-digests"].text.includes(`${s.files.length} files`), `file-digests check counts: ${s.checks["file-digests"].text}`);
}

function expectTree(ctx, s) {
  const want = ctx.layers.files.map((f) => f.path).sort();
  const got = s.files.filter((f) => !LANDMARK.test(f));
  assert(
    s.files.length - got.length <= 1 && JSON.stringify(got) === JSON.stringify(want),
    `tree files ${JSON.stringify(s.files)}, want ${JSON.stringify(want)}`,
  );
  assert(s.tree.includes("tool-link → tool"), `tree does not show the symlink: ${s.tree}`);
}

/** Click `path` in the layer served at `/layers/<layer.name>` and check only its range was fetched. */
async function clickAndCount(ctx, layer, path) {
  const from = ctx.server.log.length;
  const shown = await clickFile(ctx.page, path);
  const requests = ctx.server.log.slice(from).filter((l) => l.path === `/layers/${layer.name}`);
  const { start, end } = await ctx.fileRange(layer, path);
  assert(requests.length >= 1, `no request for ${path}`);
  let bytes = 0;
  for (const r of requests) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(r.range ?? "");
    assert(r.method === "GET" && r.status === 206 && m, `unexpected request for ${path}: ${JSON.stringify(r)}`);
    assert(Number(m[1]) >= start && Number(m[2]) < end, `request ${r.range} is outside ${path}'s compressed range ${start}-${end - 1}`);
    bytes += r.bytes;
  }
  assert(bytes <= end - start, `fetched ${bytes} bytes for ${path}, its compressed range is ${end - start}`);
  console.log(`    ${layer.name} ${path}: ${requests.length} request(s), ${bytes} bytes (compressed range ${end - start} bytes)`);
  return { shown, requests: requests.length, bytes };
}

function expectFile(ctx, path, shown) {
  const f = ctx.layers.files.find((x) => x.path === path);
  assert(shown.state === "done", `viewer for ${path}: ${JSON.stringify(shown)}`);
  if (f.text) {
    assert(shown.text === new TextDecoder().decode(f.content), `text of ${path} differs: ${JSON.stringify(shown.text?.slice(0, 200))}`);
  } else {
    const digest = `sha256:${ctx.core.sha256().update(f.content).hex()}`;
    assert(
      shown.size === `${f.content.length} bytes` && shown.digest === digest,
      `binary ${path}: shown ${shown.size} ${shown.digest}, want ${f.content.length} bytes ${digest}`,
    );
  }
}

const cases = [
  [
    "the page's sources type-check (tsc strict, examples/shared and examples/web)",
    async () => {
      typecheck("examples/shared/tsconfig.json");
      typecheck("examples/web/tsconfig.json");
    },
  ],
  [
    "zstd:chunked by URL with digest, diffID and annotations: every check passes (tar-split too), the tree lists the files",
    async (ctx) => {
      const l = ctx.layers.chunked;
      const s = await enterUrl(ctx.page, `${ctx.server.origin}/layers/${l.name}`, {
        digest: l.result.digest,
        size: l.result.size,
        diffID: l.result.diffID,
        annotations: l.result.annotations,
      });
      expectPassing(s, { authenticated: true, diffID: true });
      assert(
        s.checks["toc-vs-tar-split"]?.state === "pass" && s.checks["tar-split-vs-tar"]?.state === "pass",
        `tar-split checks: ${JSON.stringify(s.checks)}`,
      );
      assert(
        s.checks.toc.text.includes("zstd:chunked") && s.checks.toc.text.includes(l.result.tocDigest),
        `toc check text: ${s.checks.toc.text}`,
      );
      assert(s.checks["diff-id"].text.includes(l.result.diffID), `diff-id check text: ${s.checks["diff-id"].text}`);
      expectTree(ctx, s);
    },
  ],
  [
    "zstd:chunked: clicking a text file shows it, fetching only that file's compressed range",
    async (ctx) => {
      const r = await clickAndCount(ctx, ctx.layers.chunked, "usr/share/doc/layerkit/README.txt");
      expectFile(ctx, "usr/share/doc/layerkit/README.txt", r.shown);
      assert(r.requests === 1, `${r.requests} requests for one small file`);
      await ctx.page.screenshot({ path: join(OUT, "e2e-web-zstd-chunked.png"), fullPage: true });
    },
  ],
  [
    "zstd:chunked: clicking a multi-chunk binary file shows its size and digest, fetching only its range",
    async (ctx) => {
      const r = await clickAndCount(ctx, ctx.layers.chunked, "usr/lib/big.bin");
      expectFile(ctx, "usr/lib/big.bin", r.shown);
    },
  ],
  [
    "eStargz by URL without annotations: checks pass (TOC not authenticated), files open lazily",
    async (ctx) => {
      const l = ctx.layers.estargz;
      const s = await enterUrl(ctx.page, `${ctx.server.origin}/layers/${l.name}`);
      expectPassing(s, { authenticated: false });
      assert(s.checks.toc.text.includes("estargz"), `toc check text: ${s.checks.toc.text}`);
      expectTree(ctx, s);
      for (const path of ["etc/os-release", "usr/bin/tool"]) expectFile(ctx, path, (await clickAndCount(ctx, l, path)).shown);
    },
  ],
  [
    "dropping a file (setInputFiles): an eStargz layer read through Blob.slice, no HTTP request for it",
    async (ctx) => {
      const from = ctx.server.log.length;
      const s = await dropFile(ctx.page, "layer.esgz", ctx.layers.estargz.bytes);
      expectPassing(s, { authenticated: false });
      expectTree(ctx, s);
      const shown = await clickFile(ctx.page, "etc/motd");
      expectFile(ctx, "etc/motd", shown);
      assert(/fetched \d+ bytes in [1-9]\d* request/.test(shown.stats ?? ""), `fetch stats: ${shown.stats}`);
      const http = ctx.server.log.slice(from).filter((l) => l.path.startsWith("/layers/"));
      assert(http.length === 0, `dropped file caused HTTP requests: ${JSON.stringify(http)}`);
    },
  ],
  [
    "layers written by upstream Go (c/storage ZstdCompressor, stargz-snapshotter estargz.Build zstdchunked) verify with their annotations and show their tree; c/storage's opens lazily",
    async (ctx) => {
      for (const l of ctx.layers.upstream) {
        const s = await enterUrl(ctx.page, `${ctx.server.origin}/layers/${l.name}`, {
          digest: l.digest,
          size: l.size,
          annotations: l.annotations,
        });
        try {
          expectPassing(s, { authenticated: true });
          expectTree(ctx, s);
          const r = await clickAndCount(ctx, l, "usr/share/doc/layerkit/README.txt");
          expectFile(ctx, "usr/share/doc/layerkit/README.txt", r.shown);
        } catch (e) {
          throw new Error(`${l.producer}: ${e.message}`);
        }
      }
    },
  ],
  [
    "plain zstd and gzip layers by URL: digest, size, decompression and diffID verified; no TOC to browse",
    async (ctx) => {
      for (const l of [ctx.layers.zstd, ctx.layers.gzip]) {
        const s = await enterUrl(ctx.page, `${ctx.server.origin}/layers/${l.name}`, {
          digest: l.result.digest,
          size: l.result.size,
          diffID: l.result.diffID,
        });
        assert(s.state === "done" && s.ok === "true", `${l.name}: ${JSON.stringify(s)}`);
        for (const name of ["blob-size", "blob-digest", "decompress", "diff-id"]) {
          assert(s.checks[name]?.state === "pass", `${l.name} ${name}: ${JSON.stringify(s.checks[name])}`);
        }
        assert(s.files.length === 0 && s.tree.includes(`plain ${l.format} layer has no TOC`), `${l.name} tree: ${s.tree}`);
        assert(
          s.checks["diff-id"].text.includes(ctx.layers.chunked.result.diffID),
          `${l.name}: same tar, same diffID as the zstd:chunked layer: ${s.checks["diff-id"].text}`,
        );
      }
    },
  ],
  [
    "tampered zstd:chunked by URL: blob digest, decompression and file digests fail, the bad file names itself, clicking it shows a typed error",
    async (ctx) => {
      const good = ctx.layers.chunked;
      const s = await enterUrl(ctx.page, `${ctx.server.origin}/layers/${ctx.layers.tamperedChunked.name}`, {
        digest: good.result.digest,
        size: good.result.size,
        annotations: good.result.annotations,
      });
      assert(s.checks["blob-size"]?.state === "pass", `blob-size (same size): ${JSON.stringify(s.checks["blob-size"])}`);
      assert(s.state === "done" && s.ok === "false", `tampered layer not flagged: ${JSON.stringify(s)}`);
      assert(
        s.checks["blob-digest"]?.state === "fail" && s.checks["blob-digest"].text.includes("DIGEST_MISMATCH"),
        `blob-digest: ${JSON.stringify(s.checks["blob-digest"])}`,
      );
      assert(s.checks.toc?.state === "pass", `toc (untouched) should still authenticate: ${JSON.stringify(s.checks.toc)}`);
      assert(s.checks.decompress?.state === "fail", `decompress: ${JSON.stringify(s.checks.decompress)}`);
      const fd = s.checks["file-digests"];
      assert(
        fd?.state === "fail" && fd.text.includes("usr/lib/big.bin") && !fd.text.includes("etc/os-release"),
        `file-digests: ${JSON.stringify(fd)}`,
      );
      const shown = await clickFile(ctx.page, "usr/lib/big.bin");
      assert(
        shown.state === "error" && /^(DIGEST_MISMATCH|ZSTD_[A-Z_]+|SIZE_MISMATCH):/.test(shown.error ?? ""),
        `clicking the tampered file: ${JSON.stringify(shown)}`,
      );
      await ctx.page.screenshot({ path: join(OUT, "e2e-web-tampered.png"), fullPage: true });
    },
  ],
  [
    "a real drop event (DataTransfer with a File) on the drop zone: the zstd:chunked layer verifies and opens",
    async (ctx) => {
      const l = ctx.layers.chunked;
      await ctx.page.evaluate(() => (document.body.dataset.state = "idle"));
      for (const id of ["#digest", "#size", "#diff-id"]) await ctx.page.fill(id, "");
      await ctx.page.fill("#annotations", JSON.stringify(l.result.annotations));
      const dataTransfer = await ctx.page.evaluateHandle((b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "dropped.zst"));
        return dt;
      }, Buffer.from(l.bytes).toString("base64"));
      await ctx.page.dispatchEvent("#drop", "dragover", { dataTransfer });
      await ctx.page.dispatchEvent("#drop", "drop", { dataTransfer });
      const s = await shown(ctx.page);
      expectPassing(s, { authenticated: true, size: false, digest: false });
      expectTree(ctx, s);
      expectFile(ctx, "etc/os-release", await clickFile(ctx.page, "etc/os-release"));
    },
  ],
  [
    "tampered eStargz dropped: the file digests check fails naming etc/os-release",
    async (ctx) => {
      const s = await dropFile(ctx.page, "tampered.esgz", ctx.layers.tamperedEstargz.bytes);
      const fd = s.checks["file-digests"];
      assert(
        s.ok === "false" && fd?.state === "fail" && fd.text.includes("etc/os-release") &&
          /GZIP_CORRUPT|DIGEST_MISMATCH|SIZE_MISMATCH/.test(fd.text),
        `file-digests: ${JSON.stringify(fd)}`,
      );
    },
  ],
  [
    "annotations naming another TOC: the toc check fails with DIGEST_MISMATCH and no tree is shown",
    async (ctx) => {
      const l = ctx.layers.chunked;
      // Both key sets (current and c/storage 1.43's): a descriptor whose sets disagree is BAD_ANNOTATION.
      const wrong = `sha256:${"0".repeat(64)}`;
      const annotations = {
        ...l.result.annotations,
        "io.github.containers.zstd-chunked.manifest-checksum": wrong,
        "io.containers.zstd-chunked.manifest-checksum": wrong,
      };
      const s = await enterUrl(ctx.page, `${ctx.server.origin}/layers/${l.name}`, { annotations });
      assert(
        s.ok === "false" && s.checks.toc?.state === "fail" && s.checks.toc.text.includes("DIGEST_MISMATCH"),
        `toc: ${JSON.stringify(s.checks.toc)}`,
      );
      assert(s.files.length === 0, `tree shown for an unauthenticated TOC: ${s.files}`);
    },
  ],
  [
    "bad input: truncated layers dropped (with and without annotations) and a URL that is no layer fail with typed codes",
    async (ctx) => {
      const t = await dropFile(ctx.page, "truncated.zst", ctx.layers.truncated.bytes, {
        annotations: ctx.layers.chunked.result.annotations,
      });
      assert(
        t.ok === "false" && t.checks.toc?.state === "fail" && /^toc OUT_OF_RANGE: /.test(t.checks.toc.text),
        `truncated, annotated: ${JSON.stringify(t.checks.toc)}`,
      );
      const u = await dropFile(ctx.page, "truncated.zst", ctx.layers.truncated.bytes);
      assert(
        u.ok === "false" && u.checks.decompress?.state === "fail" && u.checks.decompress.text.includes("ZSTD_TRUNCATED"),
        `truncated: ${JSON.stringify(u.checks)}`,
      );
      const n = await enterUrl(ctx.page, `${ctx.server.origin}/not-a-layer.txt`);
      assert(
        n.ok === "false" && n.checks.decompress?.state === "fail" && n.checks.decompress.text.includes("BAD_MAGIC"),
        `not a layer: ${JSON.stringify(n.checks)}`,
      );
    },
  ],
  [
    "bad input: a URL that answers 404 shows one error line with the HTTP code",
    async (ctx) => {
      const s = await enterUrl(ctx.page, `${ctx.server.origin}/layers/missing.zst`);
      assert(s.state === "error" && /^HTTP: /.test(s.error ?? ""), `404 layer: ${JSON.stringify(s)}`);
    },
  ],
];

process.exitCode = await runCases(RUNTIME, setup, cases, teardown);
