/**
 * HTTP SOURCEs through the real bin (a Range-serving server on 127.0.0.1), and progress output:
 * drawn on a terminal (run under script(1) for a pty), never when stderr is a pipe or with --json.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultServer } from "../support/http-server.js";
import { BIN, buildCli, makeTree, noise, runCli, runCliAsync } from "./cli-run.js";

let work: string;
let tree: string;
let server: FaultServer;
let layer: { digest: string; diffID: string; annotations: Record<string, string> };
let url: string;

beforeAll(async () => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-cli-http-"));
  tree = join(work, "tree");
  mkdirSync(tree);
  makeTree(tree);
  writeFileSync(join(tree, "usr/share/more.bin"), noise(24 * 1024 * 1024, 3));
  const r = runCli(["create", tree, "-o", join(work, "layer.zst"), "--format", "zstd:chunked", "--json"]);
  expect(r.status).toBe(0);
  layer = JSON.parse(r.stdout);
  server = await FaultServer.start();
  url = server.serve("/layer.zst", readFileSync(join(work, "layer.zst")));
});

afterAll(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("http(s):// SOURCE", async () => {
  it("cat fetches one small file with a few range requests, verified against the TOC the annotations authenticate", async () => {
    const r = await runCliAsync(["cat", url, "etc/os-release", "--annotations", JSON.stringify(layer.annotations), "--json"]);
    expect(r.status).toBe(0);
    const res = JSON.parse(r.stdout) as { size: number; requests: number; bytesFetched: number };
    expect(res.size).toBe(readFileSync(join(tree, "etc/os-release")).length);
    const size = readFileSync(join(work, "layer.zst")).length;
    expect(res.bytesFetched).toBeLessThan(size / 20);
    const text = await runCliAsync(["cat", url, "etc/os-release"]);
    expect(text.stdout).toBe(readFileSync(join(tree, "etc/os-release"), "utf8"));
  });

  it("verify and convert read a URL whole", async () => {
    const v = await runCliAsync([
      "verify",
      url,
      "--diff-id",
      layer.diffID,
      "--digest",
      layer.digest,
      "--annotations",
      JSON.stringify(layer.annotations),
      "--json",
    ]);
    expect(v.status, v.stdout + v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, tocAuthenticated: true, diffID: layer.diffID });
    const c = await runCliAsync(["convert", url, "-o", join(work, "from-url.gz"), "--to", "gzip", "--json"]);
    expect(c.status).toBe(0);
    expect(JSON.parse(c.stdout).diffID).toBe(layer.diffID);
  });

  it("a URL that 404s is one line and exit 3", async () => {
    const r = await runCliAsync(["inspect", server.url("/missing.zst")]);
    expect(r.status).toBe(3);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("progress", () => {
  /** Runs the bin with stdin/stdout/stderr on a pseudo-terminal; returns what the terminal got. */
  function onTty(args: string[]): string {
    const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    // stdin must reach EOF, or script(1) keeps the session open.
    return execFileSync("script", ["-qefc", cmd, "/dev/null"], { encoding: "utf8", maxBuffer: 1 << 26, input: "", timeout: 120_000 });
  }

  it("a terminal gets a redrawn progress line with bytes, percentage, ETA and rate; it is cleared at the end", () => {
    const out = onTty(["verify", join(work, "layer.zst")]);
    // deno-lint-ignore no-control-regex -- the progress line is redrawn with ESC [K
    expect(out).toMatch(/\r\x1b\[Kverify \d+(\.\d)? [KMG]?i?B\/\d+(\.\d)? MiB \[#*-*\] \d+% ETA \S+ \d+(\.\d)? [KMG]?i?B\/s/);
    expect(out).toContain("OK: zstd:chunked");
  });

  it("nothing is drawn with --json or --quiet, even on a terminal", () => {
    expect(onTty(["verify", join(work, "layer.zst"), "--json"])).not.toContain("\x1b[K");
    expect(onTty(["verify", join(work, "layer.zst"), "--quiet"])).toBe("");
  });

  it("nothing is drawn when stderr is a pipe", () => {
    const r = spawnSync(process.execPath, [BIN, "verify", join(work, "layer.zst")], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
  });
});
