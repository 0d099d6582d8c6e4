/**
 * `convert` and `verify` through the real bin: a layer made by GNU tar + gzip (no layerkit
 * involved) converted to every format and read back by upstream code / native tools; verify's
 * exit codes and reports on good, tampered and mislabelled layers.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runHarness } from "../support/go-harness.js";
import { buildCli, listTree, makeTree, ROOT, runCli, sha256, type TreeFile } from "./cli-run.js";

let work: string;
let tree: string;
let expected: TreeFile[];
let gz: string;
let tarDigest: string;

beforeAll(() => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-cli-convert-"));
  tree = join(work, "tree");
  mkdirSync(tree);
  makeTree(tree);
  expected = listTree(tree);
  // The source layer comes from native tools only.
  const tar = execFileSync("tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-C", tree, "-cf", "-", "."], {
    maxBuffer: 1 << 28,
  });
  tarDigest = sha256(tar);
  gz = join(work, "native.tar.gz");
  writeFileSync(gz, execFileSync("gzip", ["-6", "-n"], { input: tar, maxBuffer: 1 << 28 }));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Converted {
  format: string;
  sourceFormat: string;
  digest: string;
  diffID: string;
  sourceDiffID: string;
  diffIDChanged: boolean;
  annotations: Record<string, string>;
  tocDigest?: string;
}

function convert(input: string, to: string, out: string): Converted {
  const r = runCli(["convert", input, "-o", out, "--to", to, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Converted;
}

describe("convert", () => {
  it("gzip (GNU tar + gzip) → zstd:chunked: c/storage's partial pull extracts the same files; the tar is unchanged", () => {
    const out = join(work, "c.zstd-chunked");
    const res = convert(gz, "zstd:chunked", out);
    expect(res).toMatchObject({
      sourceFormat: "gzip",
      format: "zstd:chunked",
      sourceDiffID: tarDigest,
      diffID: tarDigest,
      diffIDChanged: false,
    });
    const ann = join(work, "c.ann.json");
    writeFileSync(ann, JSON.stringify(res.annotations));
    const up = runHarness<{ files: Array<{ name: string; type: string; digest?: string }> }>([
      "cstorage-apply",
      "--map-current-keys",
      out,
      ann,
      join(work, "x-c"),
    ]);
    const regs = up.files.filter((f) => f.type === "reg").map((f) => [f.name, f.digest]);
    expect(regs).toEqual(expected.filter((f) => f.type === "reg").map((f) => [f.name, f.digest]));
  });

  it("gzip → estargz: stargz-snapshotter verifies the TOC and every file; estargz → zstd:chunked drops the eStargz entries again", () => {
    const out = join(work, "c.estargz");
    const res = convert(gz, "estargz", out);
    expect(res.diffIDChanged).toBe(true);
    const harness = execFileSync("bash", [join(ROOT, "test/go/build-estargz.sh"), join(work, "go-bin")], { encoding: "utf8" }).trim().split(
      "\n",
    ).pop()!;
    const r = spawnSync(harness, ["verify", out, res.tocDigest!], { encoding: "utf8", maxBuffer: 1 << 28 });
    expect(r.stderr).toBe("");
    const up = JSON.parse(r.stdout) as { diffID: string; files: Array<{ name: string; type: string; sha256?: string }> };
    expect(up.diffID).toBe(res.diffID);
    const regs = up.files.filter((f) => f.type === "reg" && !f.name.includes("landmark")).map((f) => f.name);
    expect(regs.sort()).toEqual(expected.filter((f) => f.type === "reg").map((f) => f.name).sort());

    const back = convert(out, "zstd:chunked", join(work, "c.back"));
    expect(back.sourceFormat).toBe("estargz");
    expect(back.diffIDChanged).toBe(true);
    const names = execFileSync("tar", ["-t"], {
      input: execFileSync("zstd", ["-dc", join(work, "c.back")], { maxBuffer: 1 << 28 }),
      encoding: "utf8",
    });
    expect(names).not.toContain("stargz.index.json");
    expect(names).not.toContain("landmark");
  });

  it("zstd:chunked → zstd and → gzip: native zstd/gzip give back the original tar", () => {
    const chunked = join(work, "c.zstd-chunked");
    const z = convert(chunked, "zstd", join(work, "c.zst"));
    expect(sha256(execFileSync("zstd", ["-dc", join(work, "c.zst")], { maxBuffer: 1 << 28 }))).toBe(tarDigest);
    expect(z.diffID).toBe(tarDigest);
    convert(chunked, "gzip", join(work, "c.gz"));
    expect(sha256(execFileSync("gzip", ["-dc", join(work, "c.gz")], { maxBuffer: 1 << 28 }))).toBe(tarDigest);
  });

  it("bad input: a non-layer exits non-zero with one line and no output; a bad --to is a usage error", () => {
    const junk = join(work, "junk");
    writeFileSync(junk, "not a layer at all\n".repeat(100));
    const r = runCli(["convert", junk, "-o", join(work, "junk.out"), "--to", "zstd", "--json"]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: "BAD_MAGIC" } });
    expect(readdirSync(work).filter((n) => n.includes("junk.out"))).toEqual([]);
    const u = runCli(["convert", gz, "-o", join(work, "x"), "--to", "bzip2"]);
    expect(u.status).toBe(2);
    expect(u.stderr).toContain("Run 'layerkit convert --help'");
  });
});

interface Report {
  ok: boolean;
  format: string;
  checks: Array<{ name: string; status: string }>;
  failures: Array<{ check: string; code: string }>;
  diffID?: string;
}

function verify(args: string[]): { status: number | null; report: Report; stderr: string } {
  const r = runCli(["verify", ...args, "--json"]);
  return { status: r.status, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

describe("verify", () => {
  it("good layers of every format pass with the right diffID (exit 0)", () => {
    for (const f of ["c.zstd-chunked", "c.estargz", "c.zst", "c.gz", "native.tar.gz"]) {
      const want = f === "c.estargz" ? undefined : tarDigest;
      const { status, report } = verify([join(work, f), ...(want ? ["--diff-id", want] : [])]);
      expect(report.failures).toEqual([]);
      expect(status).toBe(0);
      expect(report.checks.find((c) => c.name === "diff-id")!.status).toBe(want ? "ok" : "skipped");
    }
  });

  it("a wrong diffID, a flipped byte and a layout blob whose name is not its digest fail (exit 1)", () => {
    const wrong = verify([join(work, "c.zstd-chunked"), "--diff-id", `sha256:${"1".repeat(64)}`]);
    expect(wrong.status).toBe(1);
    expect(wrong.report.failures.map((f) => [f.check, f.code])).toEqual([["diff-id", "DIGEST_MISMATCH"]]);

    const bytes = readFileSync(join(work, "c.zstd-chunked"));
    bytes[1000] = bytes[1000]! ^ 0x20;
    writeFileSync(join(work, "tampered"), bytes);
    const t = verify([join(work, "tampered")]);
    expect(t.status).toBe(1);
    expect(t.report.ok).toBe(false);
    expect(t.report.failures.length).toBeGreaterThan(0);

    const dir = join(work, "blobs");
    mkdirSync(dir);
    const named = join(dir, "ab".repeat(32));
    copyFileSync(join(work, "c.zst"), named);
    const n = verify([named]);
    expect(n.status).toBe(1);
    expect(n.report.failures.map((f) => [f.check, f.code])).toEqual([["blob-digest", "DIGEST_MISMATCH"]]);
    const good = join(dir, sha256(readFileSync(join(work, "c.zst"))).slice(7));
    copyFileSync(join(work, "c.zst"), good);
    expect(verify([good]).report.checks.find((c) => c.name === "blob-digest")!.status).toBe("ok");
  });

  it("--quiet prints one line on failure; bad arguments exit 2; a missing file exits 3", () => {
    const q = runCli(["verify", join(work, "tampered"), "--quiet"]);
    expect(q.status).toBe(1);
    expect(q.stdout).toBe("");
    expect(q.stderr.trim().split("\n")).toHaveLength(1);
    expect(q.stderr).toMatch(/^layerkit: verification failed: /);
    const bad = runCli(["verify", join(work, "c.zst"), "--diff-id", "abc"]);
    expect(bad.status).toBe(2);
    const missing = runCli(["verify", join(work, "nope")]);
    expect(missing.status).toBe(3);
    expect(existsSync(join(work, "nope"))).toBe(false);
  });
});
