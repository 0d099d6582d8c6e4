/**
 * Issue 17.9/17.10: one exit-code table for every command (checked for every library error code,
 * printed by --help, copied into the README), and the messages a user sees on bad input: one
 * line, no stack trace, no partial output left behind — through the real bin.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_FOR_CODE } from "../../src/cli/errors.js";
import { buildCli, noise, ROOT, runCli } from "./cli-run.js";

let work: string;
let tree: string;

/** The meaning of each exit code, written out here independently of src/cli/errors.ts. */
const EXPECTED: Record<number, string[]> = {
  1: [
    "ZSTD_CORRUPT",
    "ZSTD_TRUNCATED",
    "ZSTD_FRAME_TOO_LARGE",
    "ZSTD_WINDOW_TOO_LARGE",
    "OUT_OF_RANGE",
    "LIMIT_EXCEEDED",
    "TRUNCATED",
    "TAR_CORRUPT",
    "TAR_DUPLICATE_PATH",
    "BAD_TAR_SPLIT",
    "UNSAFE_PATH",
    "BAD_MAGIC",
    "BAD_FOOTER",
    "BAD_TOC",
    "BAD_ANNOTATION",
    "DIGEST_MISMATCH",
    "SIZE_MISMATCH",
    "INCONSISTENT",
    "GZIP_CORRUPT",
    "BAD_MANIFEST",
  ],
  2: ["BAD_ARGUMENT", "BAD_CONTENTMETA"],
  3: [
    "WASM_LOAD_FAILED",
    "ZSTD_BAD_USAGE",
    "ZSTD_OUT_OF_MEMORY",
    "ZSTD_INTERNAL",
    "HASH_BAD_USAGE",
    "IO",
    "HTTP",
    "UNAUTHORIZED",
    "TIMEOUT",
  ],
  4: ["TAR_UNSUPPORTED", "NOT_FOUND", "UNSUPPORTED_FORMAT"],
};

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

beforeAll(() => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-cli-errors-"));
  tree = join(work, "tree");
  mkdirSync(join(tree, "usr/lib"), { recursive: true });
  writeFileSync(join(tree, "usr/lib/os-release"), 'NAME="layerkit test"\n');
  for (let i = 0; i < 6; i++) writeFileSync(join(tree, `usr/lib/f${i}.bin`), noise(200_000, i + 1));
  for (const f of ["zstd:chunked", "estargz", "gzip"]) {
    const r = runCli(["create", tree, "-o", join(work, `layer.${f.replace(":", "-")}`), "--format", f, "--quiet"]);
    expect(r.status, r.stderr).toBe(0);
  }
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the exit-code table", () => {
  it("maps every library error code, as documented", () => {
    const union = [...readFileSync(join(ROOT, "src/errors.ts"), "utf8").matchAll(/^\s+\| "([A-Z0-9_]+)"/gm)].map((m) => m[1]!);
    expect(Object.keys(EXIT_FOR_CODE).sort()).toEqual([...union].sort());
    const got: Record<number, string[]> = {};
    for (const [code, exit] of Object.entries(EXIT_FOR_CODE)) (got[exit] ??= []).push(code);
    for (const k of Object.keys(got)) got[Number(k)]!.sort();
    expect(got).toEqual(Object.fromEntries(Object.entries(EXPECTED).map(([k, v]) => [k, [...v].sort()])));
  });

  it("--help prints it once, and the README has the same lines", () => {
    const help = runCli(["--help"]).stdout;
    const table = help.slice(help.indexOf("exit codes (every command):")).trimEnd().split("\n").slice(1);
    expect(table.map((l) => l.trim().slice(0, 1))).toEqual(["0", "1", "2", "3", "4"]);
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const line of table) expect(readme).toContain(line);
  });
});

describe("exit codes of real failures", () => {
  it("eStargz corruption exits 1 like zstd:chunked corruption (GZIP_CORRUPT is bad content)", () => {
    for (const f of ["estargz", "zstd-chunked"]) {
      const blob = readFileSync(join(work, `layer.${f}`));
      // Inside the compressed bytes of the first big file.
      for (let i = 0; i < 64; i++) blob[4000 + i * 7]! ^= 0x5a;
      const bad = join(work, `bad.${f}`);
      writeFileSync(bad, blob);
      const cat = runCli(["cat", bad, "usr/lib/f0.bin"]);
      expect(cat.status, cat.stderr).toBe(1);
      expect(oneLine(cat.stderr)).toMatch(/\[(GZIP_CORRUPT|ZSTD_CORRUPT|DIGEST_MISMATCH)\]$/);
      const verify = runCli(["verify", bad]);
      expect(verify.status).toBe(1);
    }
  });

  it("ls of a gzip layer, a missing path in a layer, inspect of a plain tar exit 4", () => {
    const ls = runCli(["ls", join(work, "layer.gzip")]);
    expect(ls.status).toBe(4);
    expect(oneLine(ls.stderr)).toContain("[UNSUPPORTED_FORMAT]");
    const missing = runCli(["ls", join(work, "layer.zstd-chunked"), "no/such/dir"]);
    expect(missing.status).toBe(4);
    expect(oneLine(missing.stderr)).toBe("layerkit: no/such/dir: no such entry in the layer [NOT_FOUND]");
    expect(missing.stdout).toBe("");
    const tar = join(work, "plain.tar");
    writeFileSync(tar, Buffer.alloc(1024));
    const head = Buffer.alloc(512);
    head.write("a.txt");
    head.write("ustar", 257);
    writeFileSync(tar, Buffer.concat([head, Buffer.alloc(1024)]));
    const inspect = runCli(["inspect", tar]);
    expect(inspect.status).toBe(4);
    const line = oneLine(inspect.stderr);
    expect(line).toContain("uncompressed tar");
    expect(line).not.toMatch(/createLayer|[a-z][A-Za-z]+\(\)/); // no library function as a hint
  });
});

describe("usage errors: two short lines, exit 2", () => {
  it("a typo'd option gets a suggestion and a pointer at --help, nothing else", () => {
    const r = runCli(["create", tree, "--formt", "zstd", "-o", join(work, "never.zst")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("layerkit create: unknown option --formt (did you mean --format?)\nRun 'layerkit create --help' for usage.\n");
    expect(r.stdout).toBe("");
    expect(existsSync(join(work, "never.zst"))).toBe(false);
  });

  it("--level -5 is read as a level: valid for zstd, a clear range error for gzip", () => {
    const gz = runCli(["create", tree, "--format", "gzip", "--level", "-5", "-o", join(work, "never.gz")]);
    expect(gz.status).toBe(2);
    expect(gz.stderr.split("\n")[0]).toBe("layerkit create: gzip level must be an integer 0–9, got -5 [BAD_ARGUMENT]");
    expect(gz.stderr).not.toContain("ambiguous");
    expect(readdirSync(work).filter((n) => n.includes("never"))).toEqual([]);
    const zst = runCli(["create", tree, "--format", "zstd", "--level", "-5", "-o", join(work, "fast.zst"), "--quiet"]);
    expect(zst.status, zst.stderr).toBe(0);
  });

  it("a value-taking option at the end, and --json=maybe", () => {
    const r = runCli(["create", tree, "-o"]);
    expect(r.status).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe("layerkit create: option -o needs a value");
    const b = runCli(["ls", "x", "--json=maybe"]);
    expect(b.status).toBe(2);
    expect(b.stderr).toContain("--json takes no value, or =true / =false");
  });
});

describe("output errors leave nothing behind", () => {
  it("a missing output directory is named as given, not by a temporary name", () => {
    const out = join(work, "no-such-dir", "layer.zst");
    const r = runCli(["create", tree, "--format", "zstd", "-o", out]);
    expect(r.status).toBe(3);
    expect(oneLine(r.stderr)).toBe(`layerkit: cannot write ${out}: directory ${join(work, "no-such-dir")} does not exist [IO]`);
    const layout = runCli(["image", "build", "--layer", tree, "--format", "zstd", "-o", join(work, "no-such-dir", "oci")]);
    expect(layout.status).toBe(3);
    expect(oneLine(layout.stderr)).toContain(`cannot write ${join(work, "no-such-dir", "oci")}: directory`);
    expect(existsSync(join(work, "no-such-dir"))).toBe(false);
    expect(readdirSync(work).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});

describe("verify says what it checked", () => {
  it("a zstd:chunked blob with a damaged footer is not reported as gzip", () => {
    const blob = readFileSync(join(work, "layer.zstd-chunked"));
    blob[blob.length - 20]! ^= 0xff; // inside the footer's numbers
    const bad = join(work, "footer.zst");
    writeFileSync(bad, blob);
    const r = runCli(["verify", bad]);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toMatch(/gzip/i);
    expect(r.stdout).toMatch(/FAILED {2}toc/);
    expect(r.stdout).toMatch(/^FAILED: zstd /m);
  });

  it("a given but wrong manifest-checksum is a mismatch, not 'no expected digest'", () => {
    const layer = join(work, "layer.zstd-chunked");
    const created = JSON.parse(runCli(["create", tree, "--format", "zstd:chunked", "-o", join(work, "again.zst"), "--json"]).stdout) as {
      annotations: Record<string, string>;
    };
    // Both key sets (current and c/storage 1.43's): a descriptor whose sets disagree is refused earlier.
    const wrong = `sha256:${"0".repeat(64)}`;
    const annotations = {
      ...created.annotations,
      "io.github.containers.zstd-chunked.manifest-checksum": wrong,
      "io.containers.zstd-chunked.manifest-checksum": wrong,
    };
    const r = runCli(["verify", layer, "--annotations", JSON.stringify(annotations)]);
    expect(r.status).toBe(1);
    const toc = r.stdout.split("\n").find((l) => /^FAILED\s+toc/.test(l))!;
    expect(toc).toContain("does not match the expected one");
    expect(r.stdout).not.toContain("no expected digest in the annotations");
  });

  it("OK names the checks it did not run", () => {
    const r = runCli(["verify", join(work, "layer.zstd-chunked")]);
    expect(r.status).toBe(0);
    const last = r.stdout.trimEnd().split("\n").pop()!;
    expect(last).toMatch(/^OK: zstd:chunked .*; not checked: blob-digest, diff-id, toc authenticity$/);
  });
});
