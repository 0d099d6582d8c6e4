/**
 * The Deno example (examples/deno/inspect.ts) run as a user would, with real Deno: layers are
 * written here with createLayer (test/e2e/layers.ts, the same layers the web and edge runners
 * use), then `deno run -A examples/deno/inspect.ts …` is spawned on files and on URLs served
 * from 127.0.0.1 (test/support/static-server.mjs under Deno's node:http), and its output and
 * exit code are checked: good layers verify (exit 0), tampered ones fail naming the file (exit
 * 1), wrong arguments exit 2, unreachable sources exit 3 with one line.
 *
 * When LAYERKIT_RESULTS names a file (test/run-all.mjs), the counts are added to the ones the
 * conformance test wrote there, so `deno test -A test/deno/` reports both.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadCore } from "../../src/runtime/deno.ts";
import { makeTestLayers, type TestLayer } from "../e2e/layers.ts";
import { printCase } from "../host-checks.mjs";
import { serveHttp } from "../support/static-server.mjs";

const ROOT = new URL("../..", import.meta.url).pathname;
const RUNTIME = `deno ${Deno.version.deno} example`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function inspect(...args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "examples/deno/inspect.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

interface Summary {
  ok: boolean;
  format?: string;
  tocDigest?: string;
  tocAuthenticated?: boolean;
  entries: Record<string, number>;
  checks: { name: string; state: string; detail: string }[];
  error?: { code: string; message: string };
}

function parse(run: Run): Summary {
  try {
    return JSON.parse(run.stdout) as Summary;
  } catch {
    throw new Error(`not JSON (exit ${run.code}): ${run.stdout.slice(0, 500)} ${run.stderr.slice(0, 500)}`);
  }
}

function check(s: Summary, name: string): { state: string; detail: string } {
  const c = s.checks.find((x) => x.name === name);
  assert(c, `no ${name} check in ${JSON.stringify(s.checks)}`);
  return c;
}

/** Add this file's counts to the runner's results file (the conformance test writes it first). */
function report(results: { name: string; ok: boolean; error?: string; ms: number }[]): void {
  const file = Deno.env.get("LAYERKIT_RESULTS");
  if (!file) return;
  const prev = existsSync(file)
    ? JSON.parse(readFileSync(file, "utf8"))
    : { runtime: RUNTIME, passed: 0, failed: 0, results: [], errors: [] };
  const passed = results.filter((r) => r.ok).length;
  prev.passed += passed;
  prev.failed += results.length - passed;
  prev.results.push(...results);
  writeFileSync(file, JSON.stringify(prev, null, 2));
}

Deno.test("examples/deno/inspect.ts [deno]", async (t) => {
  const core = await loadCore();
  const layers = await makeTestLayers(core);
  const dir = await Deno.makeTempDir({ prefix: "layerkit-deno-example-" });
  const pathOf = (l: TestLayer) => `${dir}/${l.name}`;
  for (const l of [layers.chunked, layers.estargz, layers.tamperedChunked, layers.tamperedEstargz, layers.truncated, layers.gzip]) {
    await Deno.writeFile(pathOf(l), l.bytes);
  }
  await Deno.writeTextFile(`${dir}/not-a-layer.txt`, "just text, no layer ".repeat(20));
  const served = new Map([layers.chunked, layers.tamperedEstargz].map((l) => [`/${l.name}`, l.bytes]));
  const server = await serveHttp((
    path: string,
  ) => (served.has(path) ? { type: "application/octet-stream", body: served.get(path)!, ranges: true } : undefined));

  const results: { name: string; ok: boolean; error?: string; ms: number }[] = [];
  const step = async (name: string, fn: () => Promise<void>) => {
    const t0 = performance.now();
    let error: string | undefined;
    await t.step(name, async () => {
      try {
        await fn();
      } catch (e) {
        error = String((e as Error)?.stack ?? e);
        throw e;
      }
    });
    const r = { name, ok: error === undefined, ms: performance.now() - t0, ...(error ? { error } : {}) };
    printCase(RUNTIME, r);
    results.push(r);
  };

  try {
    await step("deno check examples/deno/inspect.ts", async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["check", "examples/deno/inspect.ts"],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(out.code === 0, `deno check failed:\n${new TextDecoder().decode(out.stderr)}`);
    });
    await step("zstd:chunked file with digest, diffID and annotations: verified (exit 0), TOC authenticated, entries counted", async () => {
      const l = layers.chunked;
      const run = await inspect(
        pathOf(l),
        "--json",
        "--digest",
        l.result.digest,
        "--size",
        String(l.result.size),
        "--diff-id",
        l.result.diffID,
        "--annotations",
        JSON.stringify(l.result.annotations),
      );
      const s = parse(run);
      assert(run.code === 0 && s.ok, `exit ${run.code}: ${run.stdout}`);
      assert(
        s.format === "zstd:chunked" && s.tocDigest === l.result.tocDigest && s.tocAuthenticated === true,
        `summary ${JSON.stringify(s)}`,
      );
      assert(s.entries.reg === 6 && s.entries.symlink === 1 && s.entries.dir === 8, `entries ${JSON.stringify(s.entries)}`);
      for (
        const name of [
          "blob-size",
          "blob-digest",
          "decompress",
          "diff-id",
          "toc",
          "toc-vs-tar",
          "file-digests",
          "chunk-digests",
          "chunk-layout",
          "toc-vs-tar-split",
          "tar-split-vs-tar",
        ]
      ) {
        assert(check(s, name).state === "pass", `${name}: ${JSON.stringify(check(s, name))}`);
      }
    });
    await step("eStargz file, text output: verified with the largest files listed", async () => {
      const run = await inspect(pathOf(layers.estargz));
      assert(run.code === 0, `exit ${run.code}: ${run.stdout}${run.stderr}`);
      assert(
        /^format {3}estargz$/m.test(run.stdout) && /usr\/lib\/big\.bin/.test(run.stdout) && /\nverified\n$/.test(run.stdout),
        run.stdout,
      );
    });
    await step("plain gzip file with digest and diffID: verified, no TOC", async () => {
      const l = layers.gzip;
      const s = parse(await inspect(pathOf(l), "--json", "--digest", l.result.digest, "--diff-id", l.result.diffID));
      assert(s.ok && s.format === "gzip" && s.tocDigest === undefined && Object.keys(s.entries).length === 0, JSON.stringify(s));
      for (const name of ["blob-digest", "decompress", "diff-id"]) {
        assert(check(s, name).state === "pass", `${name}: ${JSON.stringify(check(s, name))}`);
      }
    });
    await step("zstd:chunked over HTTP from 127.0.0.1: verified", async () => {
      const run = await inspect(`${server.origin}/${layers.chunked.name}`, "--json");
      const s = parse(run);
      assert(
        run.code === 0 && s.ok && s.format === "zstd:chunked" && check(s, "file-digests").state === "pass",
        `exit ${run.code}: ${run.stdout}`,
      );
      const wrong = await inspect(`${server.origin}/${layers.chunked.name}`, "--json", "--diff-id", layers.estargz.result.diffID);
      assert(wrong.code === 1 && check(parse(wrong), "diff-id").state === "fail", `wrong diffID: exit ${wrong.code}: ${wrong.stdout}`);
    });
    await step("tampered layers (file and URL): exit 1, the file-digests check names the damaged file", async () => {
      const a = parse(await inspect(pathOf(layers.tamperedChunked), "--json", "--digest", layers.chunked.result.digest));
      assert(
        !a.ok && check(a, "blob-digest").state === "fail" && check(a, "file-digests").state === "fail" &&
          check(a, "file-digests").detail.includes("usr/lib/big.bin"),
        JSON.stringify(a.checks),
      );
      const run = await inspect(`${server.origin}/${layers.tamperedEstargz.name}`);
      assert(
        run.code === 1 && /^FAIL .*file-digests: .*etc\/os-release/m.test(run.stdout) && /VERIFICATION FAILED/.test(run.stdout),
        `exit ${run.code}: ${run.stdout}`,
      );
    });
    await step("bad input: a truncated layer and a text file fail with typed codes (exit 1)", async () => {
      const t1 = await inspect(pathOf(layers.truncated), "--json", "--annotations", JSON.stringify(layers.chunked.result.annotations));
      const s1 = parse(t1);
      assert(
        t1.code === 1 && check(s1, "toc").state === "fail" && check(s1, "toc").detail.startsWith("OUT_OF_RANGE: "),
        `truncated, annotated: ${t1.stdout}`,
      );
      const t3 = parse(await inspect(pathOf(layers.truncated), "--json"));
      assert(!t3.ok && check(t3, "decompress").detail.startsWith("ZSTD_TRUNCATED: "), `truncated: ${JSON.stringify(t3.checks)}`);
      const t2 = await inspect(`${dir}/not-a-layer.txt`, "--json");
      const s2 = parse(t2);
      assert(t2.code === 1 && check(s2, "decompress").detail.startsWith("BAD_MAGIC: "), `text file: ${t2.stdout}`);
    });
    await step(
      "bad input: no SOURCE or an unknown flag exit 2 with usage; a missing file or unreachable URL exit 3 with one line",
      async () => {
        const none = await inspect();
        assert(none.code === 2 && none.stderr.startsWith("usage:"), `no args: ${none.code} ${none.stderr}`);
        const flag = await inspect("x", "--bogus");
        assert(flag.code === 2 && /usage:/.test(flag.stderr), `unknown flag: ${flag.code} ${flag.stderr}`);
        const digest = await inspect(pathOf(layers.chunked), "--digest", "md5:abc");
        assert(digest.code === 2 && /^inspect: BAD_ARGUMENT: /.test(digest.stderr), `bad --digest: ${digest.code} ${digest.stderr}`);
        const size = await inspect(pathOf(layers.chunked), "--size", "12x");
        assert(size.code === 2 && /^inspect: BAD_ARGUMENT: --size/.test(size.stderr), `bad --size: ${size.code} ${size.stderr}`);
        const missing = await inspect(`${dir}/nope.zst`);
        assert(
          missing.code === 3 && /^inspect: IO: /.test(missing.stderr) && missing.stderr.trim().split("\n").length === 1,
          `missing file: ${missing.code} ${missing.stderr}`,
        );
        const gone = await inspect(`${server.origin}/gone.zst`, "--json");
        const s = parse(gone);
        assert(gone.code === 3 && s.error?.code === "HTTP", `404 URL: ${gone.code} ${gone.stdout}`);
      },
    );
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
    report(results);
  }
});
