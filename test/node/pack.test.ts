/**
 * Packaging: `npm pack` ships the built JS, the types and the .wasm files; the tarball installs
 * into a fresh project (from the npm cache where it holds the dependency; the registry answers for
 * what a fresh cache lacks, such as pako's metadata) and its `layerkit` bin works there. The
 * CLI entry also runs under real Deno.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, makeTree, ROOT, sha256 } from "./cli-run.js";

let work: string;
let tarball: string;
let files: string[];

beforeAll(() => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-pack-"));
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const info = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, info[0]!.filename);
  files = info[0]!.files.map((f) => f.path);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("npm pack", () => {
  it("includes the bin, the runtime entries with types, both .wasm files, README and LICENSE; no tests or sources", () => {
    for (
      const f of [
        "dist/cli/bin.js",
        "dist/runtime/node.js",
        "dist/runtime/node.d.ts",
        "dist/index.d.ts",
        "wasm/zstd.wasm",
        "wasm/sha256.wasm",
        "README.md",
        "LICENSE",
        "package.json",
      ]
    ) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.startsWith("test/") || f.startsWith("src/") || f.startsWith("node_modules/"))).toEqual([]);
    // The shipped wasm is byte-identical to the repository's.
    const list = execFileSync("tar", ["-xOzf", tarball, "package/wasm/zstd.wasm"], { maxBuffer: 1 << 26 });
    expect(sha256(list)).toBe(sha256(readFileSync(join(ROOT, "wasm/zstd.wasm"))));
  });

  it("installs into a temp project from the npm cache; `npx layerkit` creates and inspects a layer there", () => {
    const project = join(work, "project");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "pack-test", version: "1.0.0", private: true, type: "module" }));
    const install = spawnSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], {
      cwd: project,
      encoding: "utf8",
    });
    expect(install.stderr.replace(/npm warn Unknown user config.*\n/gi, "").replace(/npm warn .*nodedir.*\n/gi, "")).not.toMatch(/ERR/);
    expect(install.status).toBe(0);

    const help = spawnSync("npx", ["--offline", "layerkit", "--help"], { cwd: project, encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("usage: layerkit <command> [options]");

    const tree = join(project, "rootfs");
    mkdirSync(tree);
    makeTree(tree);
    const created = spawnSync("npx", [
      "--offline",
      "layerkit",
      "create",
      "rootfs",
      "-o",
      "layer.zst",
      "--format",
      "zstd:chunked",
      "--mtime",
      "0",
      "--json",
    ], { cwd: project, encoding: "utf8" });
    expect(created.status).toBe(0);
    const res = JSON.parse(created.stdout) as { digest: string; annotations: Record<string, string> };
    expect(res.digest).toBe(sha256(readFileSync(join(project, "layer.zst"))));

    const inspected = spawnSync("npx", [
      "--offline",
      "layerkit",
      "inspect",
      "layer.zst",
      "--annotations",
      JSON.stringify(res.annotations),
      "--json",
    ], { cwd: project, encoding: "utf8" });
    expect(inspected.status).toBe(0);
    const summary = JSON.parse(inspected.stdout) as { format: string; authenticated: boolean; largest: Array<{ name: string }> };
    expect(summary).toMatchObject({ format: "zstd:chunked", authenticated: true });
    expect(summary.largest[0]!.name).toBe("usr/share/big.bin");

    // The library entry resolves from the installed package too.
    const lib = spawnSync(process.execPath, [
      "--input-type=module",
      "-e",
      "const m = await import('layerkit'); const c = await m.loadCore(); console.log(typeof c.zstd.compress)",
    ], { cwd: project, encoding: "utf8" });
    expect(lib.stdout.trim()).toBe("function");
  });
});

describe("Deno", () => {
  it("`deno run -A` of the CLI entry lists and prints a file of a layer", () => {
    const tree = join(work, "deno-tree");
    mkdirSync(tree);
    makeTree(tree);
    const layer = join(work, "deno.zst");
    execFileSync(process.execPath, [join(ROOT, "dist/cli/bin.js"), "create", tree, "-o", layer, "--format", "zstd:chunked", "--quiet"]);
    const deno = join(ROOT, "node_modules/.bin/deno");
    const env = { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };
    const ls = spawnSync(deno, ["run", "-A", join(ROOT, "src/cli/bin.ts"), "ls", layer, "etc", "--json"], {
      cwd: ROOT,
      encoding: "utf8",
      env,
    });
    expect(ls.status).toBe(0);
    const names = (JSON.parse(ls.stdout) as Array<{ name: string }>).map((e) => e.name);
    expect(names).toContain("etc/os-release");
    expect(names).toContain("etc/abs-link");
    const cat = spawnSync(deno, ["run", "-A", join(ROOT, "src/cli/bin.ts"), "cat", layer, "etc/os-release"], {
      cwd: ROOT,
      encoding: "utf8",
      env,
    });
    expect(cat.status).toBe(0);
    expect(cat.stdout).toBe(readFileSync(join(tree, "etc/os-release"), "utf8"));
    // A failure is one line and the documented exit code under Deno as well.
    // create from a directory under Deno (node:fs through its compatibility layer) gives the same bytes as under Node.
    const denoLayer = join(work, "deno-made.zst");
    const made = spawnSync(deno, [
      "run",
      "-A",
      join(ROOT, "src/cli/bin.ts"),
      "create",
      tree,
      "-o",
      denoLayer,
      "--format",
      "zstd:chunked",
      "--quiet",
    ], { cwd: ROOT, encoding: "utf8", env });
    expect(made.stderr).toBe("");
    expect(made.status).toBe(0);
    expect(readFileSync(denoLayer).equals(readFileSync(layer))).toBe(true);
    const missing = spawnSync(deno, ["run", "-A", join(ROOT, "src/cli/bin.ts"), "cat", layer, "no/such/file"], {
      cwd: ROOT,
      encoding: "utf8",
      env,
    });
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toContain("no such entry in the layer [NOT_FOUND]");
    expect(missing.status).toBe(4); // NOT_FOUND (the one exit-code table, src/cli/errors.ts)
  });

  it("`deno publish --dry-run` accepts the package (library and ./cli exports)", () => {
    const deno = join(ROOT, "node_modules/.bin/deno");
    const r = spawnSync(deno, ["publish", "--dry-run", "--allow-dirty"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    });
    expect(r.stderr + r.stdout).toContain("Dry run complete");
    expect(r.stderr + r.stdout).toContain("src/cli/bin.ts");
    expect(r.status).toBe(0);
  });
});
