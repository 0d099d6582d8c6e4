/**
 * `diff` / `diffLayer`: the layer of the changes from LOWER to UPPER, applied on top of LOWER's
 * own layer, gives UPPER exactly (content, modes, owners, links, xattrs, devices, mtimes in
 * whole seconds), with our extractor and with containers/storage's `archive.ApplyLayer` (Go
 * harness), in every format; the changed paths equal c/storage's `archive.ChangesDirs` plus the
 * documented extra (hardlinks kept whole); bad input. Runs as root (owners, devices, trusted.*).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffLayer } from "../../src/diff/diff-layer.js";
import { nodeDiffFs } from "../../src/diff/node.js";
import { type TreeChange, treeDiff } from "../../src/diff/tree-diff.js";
import { extractImage } from "../../src/extract/extract-node.js";
import type { LayerFormat, LayerResult } from "../../src/layer/result.js";
import { buildImage } from "../../src/oci/build.js";
import { openLayout } from "../../src/runtime/node.js";
import type { DirectoryFs } from "../../src/tar/from-directory.js";
import { BIN } from "./cli-run.js";
import { runHarness } from "../support/go-harness.js";
import { expectCode } from "../support/registry.js";
import { writeLayoutImage } from "../support/images.js";

let work: string;
let lower: string;
let upper: string;
let n = 0;
const fresh = (name: string): string => join(work, `${name}-${++n}`);
const sh = (cmd: string, ...args: string[]): void => void execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
const T0 = 1_600_000_000;

/** Whole-second mtimes everywhere (tar times are whole seconds), deepest first so parents keep theirs. */
function pinTimes(root: string, t: number): void {
  const walk = (rel: string): void => {
    const p = join(root, rel);
    if (lstatSync(p).isDirectory()) { for (const name of readdirSync(p)) walk(join(rel, name)); }
    if (rel !== "") sh("touch", "-h", "-d", `@${t}`, p);
  };
  walk("");
}

function makeLower(dir: string): void {
  for (const d of ["etc/sub", "keep/deep", "opq", "gone/nested", "dir2file/x", "perm"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  for (const f of ["mode", "owner", "mtime", "content", "xattr", "cap", "same"]) writeFileSync(join(dir, `etc/${f}`), `${f}\n`);
  writeFileSync(join(dir, "keep/deep/untouched"), "untouched\n");
  writeFileSync(join(dir, "opq/a"), "a\n");
  writeFileSync(join(dir, "opq/b"), "b\n");
  writeFileSync(join(dir, "gone/nested/f"), "f\n");
  writeFileSync(join(dir, "dir2file/x/y"), "y\n");
  writeFileSync(join(dir, "file2dir"), "was a file\n");
  writeFileSync(join(dir, "setuid"), "#!/bin/sh\n", { mode: 0o4755 });
  writeFileSync(join(dir, "h1"), "linked\n");
  linkSync(join(dir, "h1"), join(dir, "h2"));
  writeFileSync(join(dir, "f"), "plain\n");
  symlinkSync("target-a", join(dir, "retarget"));
  symlinkSync("/etc/passwd", join(dir, "abs-link"));
  sh("mkfifo", join(dir, "fifo-gone"));
  sh("setfattr", "-n", "user.a", "-v", "one", join(dir, "etc/xattr"));
  sh("setfattr", "-n", "trusted.t", "-v", "dir", join(dir, "etc/sub"));
  sh("chown", "1000:1000", join(dir, "etc/sub"));
  chmodSync(join(dir, "perm"), 0o750);
  pinTimes(dir, T0);
}

/** UPPER: a copy of LOWER with every kind of change. */
function makeUpper(from: string, dir: string): void {
  sh("cp", "-a", from, dir);
  chmodSync(join(dir, "etc/mode"), 0o600);
  sh("chown", "123:456", join(dir, "etc/owner"));
  sh("touch", "-d", `@${T0 + 60}`, join(dir, "etc/mtime"));
  writeFileSync(join(dir, "etc/content"), "content, longer now\n");
  sh("setfattr", "-n", "user.a", "-v", "two", join(dir, "etc/xattr"));
  sh("setcap", "cap_net_raw+ep", join(dir, "etc/cap"));
  rmSync(join(dir, "opq/a"));
  rmSync(join(dir, "opq/b"));
  writeFileSync(join(dir, "opq/c"), "c\n");
  rmSync(join(dir, "gone"), { recursive: true });
  rmSync(join(dir, "dir2file"), { recursive: true });
  writeFileSync(join(dir, "dir2file"), "now a file\n");
  rmSync(join(dir, "file2dir"));
  mkdirSync(join(dir, "file2dir/inner"), { recursive: true });
  writeFileSync(join(dir, "file2dir/inner/z"), "z\n");
  writeFileSync(join(dir, "h1"), "linked, rewritten in place\n"); // both names change (one inode)
  linkSync(join(dir, "f"), join(dir, "f-link")); // a new name for an unchanged file
  rmSync(join(dir, "retarget"));
  symlinkSync("target-b", join(dir, "retarget"));
  sh("touch", "-h", "-d", `@${T0 + 5}`, join(dir, "retarget"));
  rmSync(join(dir, "fifo-gone"));
  sh("mkfifo", join(dir, "fifo-new"));
  sh("mknod", join(dir, "null"), "c", "1", "3");
  mkdirSync(join(dir, "new-dir/a/b"), { recursive: true });
  writeFileSync(join(dir, "new-dir/a/b/file"), "new\n");
  sh("setfattr", "-n", "user.new", "-v", "0x00ff10", join(dir, "new-dir/a/b/file"));
  chmodSync(join(dir, "perm"), 0o755);
  for (const p of ["etc", "opq", "", "file2dir", "file2dir/inner", "new-dir", "new-dir/a", "new-dir/a/b"]) {
    sh("touch", "-h", "-d", `@${T0 + 100}`, join(dir, p));
  }
  for (const p of ["etc/content", "etc/xattr", "opq/c", "dir2file", "file2dir/inner/z", "h1", "fifo-new", "null", "new-dir/a/b/file"]) {
    sh("touch", "-h", "-d", `@${T0 + 100}`, join(dir, p));
  }
}

function xattrDump(root: string): Map<string, string> {
  const out = execFileSync("getfattr", ["-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", "."], {
    cwd: root,
    encoding: "utf8",
  });
  const map = new Map<string, string>();
  let file = "";
  for (const line of out.split("\n")) {
    if (line.startsWith("# file: ")) file = line.slice(8);
    else if (line !== "") map.set(file, `${map.get(file) ?? ""}${line};`);
  }
  return map;
}

/** Everything a tree holds, comparable across trees (inodes as groups of names). */
function snapshot(root: string, ignore: (rel: string) => boolean = () => false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const inodes = new Map<string, string[]>();
  const xattrs = xattrDump(root);
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      if (ignore(r)) continue;
      const p = join(root, r);
      const st = lstatSync(p, { bigint: true });
      const e: Record<string, unknown> = {
        mode: st.mode.toString(8),
        owner: `${st.uid}:${st.gid}`,
        mtime: Number(st.mtimeNs / 1_000_000_000n),
        xattrs: xattrs.get(`./${r}`) ?? "",
      };
      if (st.isFile()) {
        e.sha = createHash("sha256").update(readFileSync(p)).digest("hex");
        const key = `${st.dev}:${st.ino}`;
        inodes.set(key, [...(inodes.get(key) ?? []), r]);
        e.inode = key;
      }
      if (st.isSymbolicLink()) e.target = readlinkSync(p);
      if (st.isCharacterDevice() || st.isBlockDevice()) e.rdev = st.rdev.toString();
      out[r] = e;
      if (st.isDirectory()) walk(r);
    }
  };
  walk("");
  for (const e of Object.values(out) as Array<Record<string, unknown>>) {
    if (e.inode) e.inode = inodes.get(e.inode as string)!.join(",");
  }
  return out;
}

async function blobOf(l: DirectoryFs, u: DirectoryFs, format: LayerFormat): Promise<{ blob: Uint8Array; result: LayerResult }> {
  const w = diffLayer(l, u, { format, includeDevices: true });
  const parts: Uint8Array[] = [];
  for await (const p of w.stream as unknown as AsyncIterable<Uint8Array>) parts.push(p);
  return { blob: Buffer.concat(parts), result: await w.result };
}

const ESTARGZ_OWN = new Set(["stargz.index.json", ".prefetch.landmark", ".no.prefetch.landmark"]);

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error("diff.test needs root (owners, devices, trusted.* xattrs, setcap); CI runs as root");
  work = mkdtempSync(join(tmpdir(), "lk-diff-"));
  lower = join(work, "lower");
  upper = join(work, "upper");
  makeLower(lower);
  makeUpper(lower, upper);
  mkdirSync(join(work, "empty"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("diff: LOWER's layer then the diff layer give UPPER", () => {
  for (const format of ["zstd:chunked", "estargz", "zstd", "gzip"] as const) {
    it(`${format}: with our extractor and with c/storage's ApplyLayer`, async () => {
      const [emptyFs, lowerFs, upperFs] = await Promise.all([nodeDiffFs(join(work, "empty")), nodeDiffFs(lower), nodeDiffFs(upper)]);
      const base = await blobOf(emptyFs, lowerFs, format);
      const diff = await blobOf(lowerFs, upperFs, format);
      const expected = snapshot(upper);

      // Ours: an OCI layout image of the two layers, extracted bottom first.
      const layoutDir = fresh("layout");
      const layout = await openLayout(layoutDir, { create: true });
      const built = await buildImage({
        layers: [base, diff].map((l) => ({ descriptor: l.result.descriptor, diffID: l.result.diffID })),
        platform: { os: "linux", architecture: "amd64" },
      });
      await writeLayoutImage(layout, "v1", { built, layers: [base, diff], platform: { os: "linux", architecture: "amd64" } });
      const ours = fresh("ours");
      await extractImage(layoutDir, ours, { tag: "v1" });
      expect(snapshot(ours)).toEqual(expected);

      // Upstream's applier, on the same two blobs.
      const theirs = fresh("theirs");
      const baseBlob = join(work, `base-${n}`);
      const diffBlob = join(work, `diff-${n}`);
      writeFileSync(baseBlob, base.blob);
      writeFileSync(diffBlob, diff.blob);
      runHarness(["apply-diff", theirs, baseBlob, diffBlob]);
      // c/storage's plain tar applier writes eStargz's own entries (TOC, landmark) as files.
      const ignore = format === "estargz" ? (r: string) => ESTARGZ_OWN.has(r) : undefined;
      expect(snapshot(theirs, ignore)).toEqual(expected);
    }, 120_000);
  }

  it("the snapshot sees what it must: xattrs, capability, owners, hardlinks, a device (not vacuous)", () => {
    const s = snapshot(upper) as Record<string, Record<string, string>>;
    expect(s["etc/xattr"]!.xattrs).toContain("user.a=0x74776f");
    expect(s["etc/cap"]!.xattrs).toContain("security.capability=");
    expect(s["etc/sub"]!.xattrs).toContain("trusted.t=");
    expect(s["etc/owner"]!.owner).toBe("123:456");
    expect(s["h1"]!.inode).toBe("h1,h2");
    expect(s["f"]!.inode).toBe("f,f-link");
    expect(s["null"]!.rdev).toBeDefined();
  });
});

describe("diff: the changed paths", () => {
  it("equal c/storage's archive.ChangesDirs, plus the unchanged name of a hardlinked file kept whole", async () => {
    const changes: TreeChange[] = [];
    for await (const c of treeDiff(await nodeDiffFs(lower), await nodeDiffFs(upper), { includeDevices: true })) changes.push(c);
    const ours = new Set<string>();
    for (const c of changes) {
      if (c.kind === "opaque") {
        // One marker stands for deleting every LOWER entry of the directory.
        for (const name of readdirSync(join(lower, c.path))) ours.add(`D /${c.path === "" ? "" : c.path + "/"}${name}`);
      } else if (c.kind !== "link") ours.add(`${c.kind === "add" ? "A" : c.kind === "delete" ? "D" : "C"} /${c.path}`);
    }
    const go = runHarness<{ changes: Array<{ path: string; kind: string }> }>(["changes-dirs", lower, upper]);
    expect([...ours].sort()).toEqual(go.changes.map((c) => `${c.kind} ${c.path}`).sort());
    expect(changes.filter((c) => c.kind === "link").map((c) => c.path)).toEqual(["f"]);
    // The opaque marker is written right after its directory; whiteouts sit among their siblings.
    const order = changes.map((c) => c.entry.name);
    expect(order.indexOf("opq/.wh..wh..opq")).toBe(order.indexOf("opq/") + 1);
    expect(order).toContain(".wh.gone");
    expect(order).toContain(".wh.fifo-gone");
    expect(order).not.toContain("opq/.wh.a");
    // The hardlinked file goes in once; its other names are tar hardlinks to the first.
    const f = changes.find((c) => c.path === "f")!;
    const fl = changes.find((c) => c.path === "f-link")!;
    expect([f.entry.type, fl.entry.type, fl.entry.linkname]).toEqual(["file", "hardlink", "f"]);
  });

  it("an mtime-only change of a file counts; of a directory it does not (as upstream); identical trees give an empty layer", async () => {
    const a = fresh("a");
    const b = fresh("b");
    mkdirSync(join(a, "d"), { recursive: true });
    writeFileSync(join(a, "d/f"), "x");
    pinTimes(a, T0);
    sh("cp", "-a", a, b);
    const none: string[] = [];
    for await (const c of treeDiff(await nodeDiffFs(a), await nodeDiffFs(b))) none.push(c.path);
    expect(none).toEqual([]);
    sh("touch", "-h", "-d", `@${T0 + 1}`, join(b, "d"));
    for await (const c of treeDiff(await nodeDiffFs(a), await nodeDiffFs(b))) none.push(c.path);
    expect(none).toEqual([]);
    sh("touch", "-h", "-d", `@${T0 + 1}`, join(b, "d/f"));
    const some: string[] = [];
    for await (const c of treeDiff(await nodeDiffFs(a), await nodeDiffFs(b))) some.push(`${c.kind} ${c.path}`);
    expect(some).toEqual(["parent d", "modify d/f"]);
    const go = runHarness<{ changes: Array<{ path: string; kind: string }> }>(["changes-dirs", a, b]);
    expect(go.changes.map((c) => `${c.kind} ${c.path}`)).toEqual(["C /d", "C /d/f"]);
  });
});

describe("diff: the CLI", () => {
  const cli = (args: string[], prefix: string[] = []) =>
    spawnSync(prefix[0] ?? process.execPath, [...prefix.slice(1), ...(prefix.length ? [process.execPath] : []), BIN, ...args], {
      encoding: "utf8",
    });

  it("writes one blob whose digests equal the library's, deterministically, with --json counts", async () => {
    const out = fresh("layer");
    const r = cli(["diff", lower, upper, "-o", out, "--format", "zstd:chunked", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    const lib = await blobOf(await nodeDiffFs(lower), await nodeDiffFs(upper), "zstd:chunked");
    expect(j.digest).toBe(lib.result.digest);
    expect(createHash("sha256").update(readFileSync(out)).digest("hex")).toBe(lib.result.digest.slice(7));
    expect(j.changes).toMatchObject({ delete: 2, opaque: 1, link: 1 });
    const again = fresh("layer");
    expect(cli(["diff", lower, upper, "-o", again, "--format", "zstd:chunked"]).status).toBe(0);
    expect(readFileSync(again).equals(readFileSync(out))).toBe(true);
    expect(readdirSync(work).filter((f) => f.includes(".tmp") || f.includes("partial"))).toEqual([]);
  });

  it("eStargz options pass through: --chunk-size splits files, --prioritize orders them (CLI = library with the options)", async () => {
    const big = fresh("big");
    mkdirSync(big);
    writeFileSync(join(big, "a"), Buffer.alloc(3000, 1));
    writeFileSync(join(big, "z"), "z");
    pinTimes(big, T0);
    const emptyFs = await nodeDiffFs(join(work, "empty"));
    const lib = diffLayer(emptyFs, await nodeDiffFs(big), { format: "estargz", chunkSize: 1000, prioritizedFiles: ["z"] });
    await lib.stream.pipeTo(new WritableStream());
    const result = await lib.result;
    const entries = result.toc!.entries!;
    expect(entries.filter((e) => e.name === "a").map((e) => [e.type, e.chunkOffset ?? 0, e.chunkSize])).toEqual([
      ["reg", 0, 1000],
      ["chunk", 1000, 1000],
      ["chunk", 2000, 1000],
    ]);
    const names = entries.map((e) => e.name).filter((x) => x !== "a" || true);
    expect(names.indexOf("z")).toBeLessThan(names.indexOf(".prefetch.landmark"));
    expect(names.indexOf(".prefetch.landmark")).toBeLessThan(names.indexOf("a"));
    const out = fresh("layer");
    const r = cli([
      "diff",
      join(work, "empty"),
      big,
      "-o",
      out,
      "--format",
      "estargz",
      "--chunk-size",
      "1000",
      "--prioritize",
      "z",
      "--json",
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).digest).toBe(result.digest);
    const plain = cli(["diff", join(work, "empty"), big, "-o", fresh("layer"), "--format", "estargz", "--json"]);
    expect(JSON.parse(plain.stdout).digest).not.toBe(result.digest);
  });

  it("streams: a 256 MiB file goes into one blob in bounded memory (peak RSS well under the file's size)", () => {
    const u = fresh("big-tree");
    mkdirSync(u);
    execFileSync("sh", ["-c", `head -c ${256 << 20} /dev/urandom > "${join(u, "big")}"`]);
    const out = fresh("big.zst");
    const r = spawnSync("/usr/bin/time", [
      "-f",
      "%M",
      process.execPath,
      BIN,
      "diff",
      join(work, "empty"),
      u,
      "-o",
      out,
      "--format",
      "zstd:chunked",
      "--level",
      "1",
    ], {
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    const peakKiB = Number(r.stderr.trim().split("\n").at(-1));
    expect(lstatSync(out).size).toBeGreaterThan(256 << 20); // random bytes do not compress
    expect(peakKiB).toBeGreaterThan(0);
    expect(peakKiB * 1024).toBeLessThan(200 << 20);
    rmSync(u, { recursive: true });
    rmSync(out);
  }, 300_000);

  it("symlinks in UPPER are stored, never followed, even ones that point outside it", () => {
    const u = fresh("links");
    mkdirSync(u);
    symlinkSync("/", join(u, "escape"));
    symlinkSync("/etc/shadow", join(u, "shadow"));
    const out = fresh("layer.tar.gz");
    expect(cli(["diff", join(work, "empty"), u, "-o", out, "--format", "gzip"]).status).toBe(0);
    const listing = execFileSync("tar", ["-tvzf", out], { encoding: "utf8" }).trim().split("\n");
    expect(listing.map((l) => l.replace(/^\S+ \S+ +\d+ \S+ \S+ /, ""))).toEqual(["escape -> /", "shadow -> /etc/shadow"]);
  });

  it("bad input: an unreadable file is an IO error and nothing appears at -o; missing trees, non-directories and .wh. names are typed", async () => {
    const u = fresh("unreadable");
    mkdirSync(u);
    writeFileSync(join(u, "secret"), "secret");
    chmodSync(join(u, "secret"), 0);
    const out = fresh("layer");
    // Root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH cannot read a mode-0 file.
    const r = cli(["diff", join(work, "empty"), u, "-o", out, "--format", "zstd", "--json"], [
      "setpriv",
      "--bounding-set=-dac_override,-dac_read_search",
    ]);
    expect(r.status).not.toBe(0);
    expect(JSON.parse(r.stdout).error.code).toBe("IO");
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).filter((f) => f.startsWith(".layer") || f.includes(".tmp"))).toEqual([]);

    await expectCode(nodeDiffFs(join(work, "no-such-tree")), "NOT_FOUND");
    writeFileSync(join(work, "plain-file"), "x");
    const drain = async (l: string, u2: string) => {
      for await (const _ of treeDiff(await nodeDiffFs(l), await nodeDiffFs(u2))) { /* drain */ }
    };
    await expectCode(drain(join(work, "plain-file"), upper), "BAD_ARGUMENT");
    const wh = fresh("wh");
    mkdirSync(wh);
    writeFileSync(join(wh, ".wh.sneaky"), "");
    await expectCode(drain(join(work, "empty"), wh), "UNSAFE_PATH");
  });
});
