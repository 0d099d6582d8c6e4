/**
 * Issue 17.12: the README is true and runnable. Every code block whose info string is `sh test`
 * is run with bash (`layerkit` = the built bin, in a temporary directory holding a small
 * `rootfs/`) and must exit 0; the claims a reader acts on are checked against the repository.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, buildCli, ROOT } from "./cli-run.js";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
let work: string;

/** The bodies of the fenced blocks with info string `lang …flags`. */
function blocks(flag: string): string[] {
  return [...README.matchAll(/^```(\S+)([^\n]*)\n([\s\S]*?)^```$/gm)].filter((m) => m[2]!.trim().split(/\s+/).includes(flag)).map((m) =>
    m[3]!
  );
}

beforeAll(() => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-readme-"));
  mkdirSync(join(work, "rootfs/usr/lib"), { recursive: true });
  mkdirSync(join(work, "rootfs/etc"), { recursive: true });
  writeFileSync(join(work, "rootfs/usr/lib/os-release"), 'NAME="layerkit readme"\nID=readme\n');
  writeFileSync(join(work, "rootfs/usr/lib/data.txt"), "data\n".repeat(1000));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("README code blocks marked `sh test`", () => {
  const runnable = blocks("test");

  it("there are some: the demo and the local CLI walk-through", () => {
    expect(runnable.some((b) => b.includes("npm run demo"))).toBe(true);
    expect(runnable.some((b) => b.includes("layerkit create"))).toBe(true);
  });

  for (const [i, body] of runnable.entries()) {
    it(`block ${i + 1}: ${body.split("\n")[0]}`, () => {
      const script = `set -euo pipefail\nlayerkit() { ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"; }\n${body}`;
      const inRoot = body.startsWith("npm ");
      const r = spawnSync("bash", ["-c", script], { cwd: inRoot ? ROOT : work, encoding: "utf8", maxBuffer: 1 << 26 });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      if (body.includes("layerkit cat")) expect(r.stdout).toContain('NAME="layerkit readme"');
      if (body.includes("npm run demo")) {
        expect(r.stdout).toMatch(/read {5}usr\/share\/doc\/layerkit\/LICENSE lazily: \d+ bytes in 2 request\(s\)/);
      }
    });
  }
});

describe("README claims", () => {
  it("names pako (the gzip library in package.json), not fflate; no install command for an unpublished package", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies)).toContain("pako");
    expect(README).not.toMatch(/fflate/i);
    expect(README).toContain("pako");
    // `npm i layerkit` appears only where the README says it does not work yet.
    for (const m of README.matchAll(/npm (i|install) layerkit|npm:layerkit/g)) {
      const around = README.slice(Math.max(0, m.index! - 300), m.index! + 200);
      expect(around).toMatch(/not published|[Oo]nce (it is )?published|do not work/);
    }
    expect(pkg.scripts.prepack).toBe("npm run build");
    expect(pkg.scripts.demo).toContain("demo");
  });

  it("examples do not read etc/os-release (a symlink on real distributions)", () => {
    expect(README).not.toContain("etc/os-release");
    const help = spawnSync(process.execPath, [BIN, "help", "cat"], { encoding: "utf8" }).stdout;
    expect(help).not.toContain("etc/os-release");
  });
});
