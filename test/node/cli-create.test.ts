/**
 * `layerkit create DIR` through the real bin (child process): every format read back by upstream
 * code (c/storage 1.43's partial-pull ApplyDiff, stargz-snapshotter's estargz.Open + VerifyTOC)
 * and by native zstd/gzip + GNU tar; determinism with and without --mtime; owners, devices.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runHarness } from "../support/go-harness.js";
import { buildCli, listTree, makeTree, ROOT, runCli, sha256, type TreeFile } from "./cli-run.js";

let work: string;
let tree: string;
let expected: TreeFile[];

beforeAll(() => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-cli-create-"));
  tree = join(work, "tree");
  mkdirSync(tree);
  makeTree(tree);
  expected = listTree(tree);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface CreateJson {
  output: string;
  format: string;
  digest: string;
  diffID: string;
  size: number;
  uncompressedSize: number;
  annotations: Record<string, string>;
  tocDigest?: string;
  skipped?: string[];
}

function create(args: string[], env: Record<string, string> = {}): CreateJson {
  const r = runCli(["create", ...args, "--json"], { env });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as CreateJson;
}

/** Extracts a tar stream with GNU tar and lists the result. */
function extractWithTar(tarBytes: Buffer, name: string): TreeFile[] {
  const dest = join(work, `x-${name}`);
  mkdirSync(dest);
  execFileSync("tar", ["-x", "-C", dest], { input: tarBytes, maxBuffer: 1 << 28 });
  return listTree(dest);
}

describe("create DIR in each format, read back by upstream and native tools", () => {
  it("zstd: native zstd decompresses it to a tar whose digest is the diffID, GNU tar extracts the same tree", () => {
    const out = join(work, "layer.zstd");
    const res = create([tree, "-o", out, "--format", "zstd"]);
    const blob = readFileSync(out);
    expect(res.digest).toBe(sha256(blob));
    expect(res.size).toBe(blob.length);
    const tar = execFileSync("zstd", ["-dc", out], { maxBuffer: 1 << 28 });
    expect(sha256(tar)).toBe(res.diffID);
    expect(tar.length).toBe(res.uncompressedSize);
    expect(extractWithTar(tar, "zstd")).toEqual(expected);
  });

  it("zstd:chunked: c/storage's partial pull (GetDiffer + ApplyDiff) extracts the same files; native zstd reads it whole", () => {
    const out = join(work, "layer.zstd-chunked");
    const res = create([tree, "-o", out, "--format", "zstd:chunked"]);
    expect(Object.keys(res.annotations)).toContain("io.github.containers.zstd-chunked.manifest-checksum");
    const annPath = join(work, "chunked.annotations.json");
    writeFileSync(annPath, JSON.stringify(res.annotations));
    const dest = join(work, "x-cstorage");
    const up = runHarness<{ files: Array<{ name: string; type: string; digest?: string; linkName?: string; mode: string }> }>([
      "cstorage-apply",
      "--map-current-keys",
      out,
      annPath,
      dest,
    ]);
    const theirs = up.files.map((f) => ({ name: f.name, type: f.type, digest: f.digest, linkname: f.linkName, mode: parseInt(f.mode, 8) }));
    // c/storage 1.43's partial pull ignores FIFOs and devices (storage_linux.go: "Ignore.").
    const ours = expected.filter((f) => f.type !== "fifo").map((f) => ({
      name: f.name,
      type: f.type,
      digest: f.digest,
      linkname: f.linkname,
      mode: f.mode,
    }));
    expect(theirs).toEqual(ours);
    // The same tar as plain zstd (same diffID), and a full-pull client still reads it.
    const tar = execFileSync("zstd", ["-dc", out], { maxBuffer: 1 << 28 });
    expect(sha256(tar)).toBe(res.diffID);
    expect(extractWithTar(tar, "chunked")).toEqual(expected);
  });

  it("estargz: stargz-snapshotter's estargz.Open + VerifyTOC read every file; gzip -d gives the diffID", () => {
    const out = join(work, "layer.estargz");
    const res = create([tree, "-o", out, "--format", "estargz", "--prioritize", "etc/os-release"]);
    const harness = execFileSync("bash", [join(ROOT, "test/go/build-estargz.sh"), join(work, "go-bin")], { encoding: "utf8" }).trim().split(
      "\n",
    ).pop()!;
    const r = spawnSync(harness, ["verify", out, res.tocDigest!], { encoding: "utf8", maxBuffer: 1 << 28 });
    expect(r.stderr).toBe("");
    const up = JSON.parse(r.stdout) as {
      diffID: string;
      tarEntries: string[];
      files: Array<{ name: string; type: string; sha256?: string; linkName?: string; size: number }>;
    };
    expect(up.diffID).toBe(res.diffID);
    // Upstream resolves the hardlink to its target's content, so both names list as files.
    const regs = up.files.filter((f) => f.type === "reg" && f.name !== ".prefetch.landmark").map((
      f,
    ) => [f.name, "sha256:" + (f.sha256 ?? "").replace(/^sha256:/, "")]);
    const wantRegs = expected.filter((f) => f.type === "reg").map((f) => [f.name, f.digest]);
    expect(regs.sort()).toEqual(wantRegs.sort());
    const links = up.files.filter((f) => f.type === "symlink").map((f) => [f.name, f.linkName]);
    expect(links.sort()).toEqual(expected.filter((f) => f.type === "symlink").map((f) => [f.name, f.linkname]).sort());
    // Prioritized files (with their parent directory) come first, then the landmark.
    expect(up.tarEntries.slice(0, 3)).toEqual(["etc/", "etc/os-release", ".prefetch.landmark"]);
    const tar = execFileSync("gzip", ["-dc", out], { maxBuffer: 1 << 28 });
    expect(sha256(tar)).toBe(res.diffID);
  });

  it("gzip: pigz and gzip decompress it to the diffID's tar, GNU tar extracts the same tree", () => {
    const out = join(work, "layer.gz");
    const res = create([tree, "-o", out, "--format", "gzip", "--level", "9"]);
    expect(res.digest).toBe(sha256(readFileSync(out)));
    for (const tool of ["gzip", "pigz"]) {
      const tar = execFileSync(tool, ["-dc", out], { maxBuffer: 1 << 28 });
      expect(sha256(tar)).toBe(res.diffID);
    }
    expect(extractWithTar(execFileSync("gzip", ["-dc", out], { maxBuffer: 1 << 28 }), "gzip")).toEqual(expected);
  });

  it("the same tree gives the same tar (diffID) for zstd, zstd:chunked and gzip", () => {
    const a = create([tree, "-o", join(work, "d1.zst"), "--format", "zstd", "--mtime", "0"]);
    const b = create([tree, "-o", join(work, "d2.zst"), "--format", "zstd:chunked", "--mtime", "0"]);
    const c = create([tree, "-o", join(work, "d3.gz"), "--format", "gzip", "--mtime", "0"]);
    expect(a.diffID).toBe(b.diffID);
    expect(c.diffID).toBe(a.diffID);
  });
});

describe("determinism", () => {
  it("two runs give byte-identical layers", () => {
    for (const format of ["zstd:chunked", "estargz", "zstd", "gzip"]) {
      const a = join(work, `det-a.${format}`);
      const b = join(work, `det-b.${format}`);
      create([tree, "-o", a, "--format", format]);
      create([tree, "-o", b, "--format", format]);
      expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    }
  });

  it("--mtime (and SOURCE_DATE_EPOCH) pin times: changed file mtimes give the same bytes; without it they do not", () => {
    const copy = join(work, "tree-mtime");
    execFileSync("cp", ["-a", tree, copy]);
    const before = create([copy, "-o", join(work, "m1"), "--format", "zstd:chunked", "--mtime", "2024-01-02T03:04:05Z"]);
    const plainBefore = create([copy, "-o", join(work, "p1"), "--format", "zstd:chunked"]);
    utimesSync(join(copy, "etc/os-release"), 1_000_000, 1_000_000);
    utimesSync(join(copy, "usr/share/big.bin"), 2_000_000, 2_000_000);
    const after = create([copy, "-o", join(work, "m2"), "--format", "zstd:chunked", "--mtime", "1704164645"]);
    const viaEnv = create([copy, "-o", join(work, "m3"), "--format", "zstd:chunked"], { SOURCE_DATE_EPOCH: "1704164645" });
    const plainAfter = create([copy, "-o", join(work, "p2"), "--format", "zstd:chunked"]);
    expect(readFileSync(join(work, "m1")).equals(readFileSync(join(work, "m2")))).toBe(true);
    expect(readFileSync(join(work, "m1")).equals(readFileSync(join(work, "m3")))).toBe(true);
    expect(after.digest).toBe(before.digest);
    expect(viaEnv.digest).toBe(before.digest);
    expect(plainAfter.diffID).not.toBe(plainBefore.diffID);
    const tar = execFileSync("zstd", ["-dc", join(work, "m2")], { maxBuffer: 1 << 28 });
    const listing = execFileSync("tar", ["--full-time", "-tv"], { input: tar, encoding: "utf8" });
    for (const line of listing.trim().split("\n")) expect(line).toContain("2024-01-02 03:04:05");
  });
});

describe("owners, devices, sockets", () => {
  it("owners are 0/0 unless --keep-owners; devices only with --devices", () => {
    const dir = join(work, "owners");
    mkdirSync(dir);
    writeFileSync(join(dir, "owned"), "x");
    chownSync(join(dir, "owned"), 1234, 5678);
    const mk = spawnSync("mknod", ["-m", "0666", join(dir, "null"), "c", "1", "3"]);
    expect(mk.status).toBe(0);
    const list = (file: string): string =>
      execFileSync("tar", ["--numeric-owner", "-tv"], {
        input: execFileSync("zstd", ["-dc", file], { maxBuffer: 1 << 28 }),
        encoding: "utf8",
      });

    const plain = create([dir, "-o", join(work, "o1"), "--format", "zstd", "--quiet"]);
    expect(plain.skipped).toEqual(["null"]);
    expect(list(join(work, "o1"))).toMatch(/^-rw-r--r-- 0\/0 +1 .* owned\n$/);

    create([dir, "-o", join(work, "o2"), "--format", "zstd", "--keep-owners", "--devices"]);
    const l2 = list(join(work, "o2"));
    expect(l2).toMatch(/^crw-rw-rw- 0\/0 +1,3 .* null$/m);
    expect(l2).toMatch(/^-rw-r--r-- 1234\/5678 +1 .* owned$/m);

    // Without --quiet the skipped device is named on stderr.
    const r = runCli(["create", dir, "-o", join(work, "o3"), "--format", "zstd"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`layerkit: skipping char device null\n`);
  });
});

describe("bad input", () => {
  it("a missing input: exit 3, one line, no output file", () => {
    const out = join(work, "never");
    const r = runCli(["create", join(work, "no-such-dir"), "-o", out, "--format", "zstd"]);
    expect(r.status).toBe(3);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^layerkit: cannot read .*no-such-dir/);
    expect(readdirSync(work).filter((n) => n.startsWith("never") || n.startsWith(".never"))).toEqual([]);
  });

  it("wrong arguments print usage and exit 2 (--json: an error object)", () => {
    const r = runCli(["create", tree, "-o", join(work, "x"), "--format", "lz4"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--format must be one of");
    // Short usage errors (issue 17.10): the message, then one line pointing at --help.
    expect(r.stderr).toContain("Run 'layerkit create --help'");
    const j = runCli(["create", tree, "--format", "zstd", "--json"]);
    expect(j.status).toBe(2);
    expect(JSON.parse(j.stdout)).toEqual({ error: { code: "USAGE", message: "-o OUT is required (- for stdout)" } });
    const m = runCli(["create", tree, "-o", join(work, "x"), "--format", "zstd", "--mtime", "yesterday"]);
    expect(m.status).toBe(2);
    expect(m.stderr).toContain("--mtime takes Unix seconds or an RFC 3339 time");
  });
});
