// The import-cycle check (test/tools/check-cycles.mjs) on tiny module graphs written to a
// temporary folder: which imports count as runtime edges, which as type edges, what it reports
// and the exit code .ci/run relies on.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findCycles, importGraph, importsOf } from "../tools/check-cycles.mjs";

const SCRIPT = join(import.meta.dirname, "../tools/check-cycles.mjs");

function writeTree(root: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
}

describe("importsOf", () => {
  it("reads imports, re-exports and dynamic imports, and tells type-only ones apart", () => {
    const text = [
      `import { a } from "./a.js";`,
      `import type { B } from "../b.js";`,
      `import { type C } from "./c.js";`, // emits `import {} from "./c.js"` under verbatimModuleSyntax
      `import "./side-effect.js";`,
      `export * from "./d.js";`,
      `export type { E } from "./e.js";`,
      `import { pkg } from "vitest";`, // not relative: not ours
      `// import { no } from "./comment.js";`,
      `const s = 'import { no } from "./string.js"';`,
      `export async function load() { return import("./lazy.js"); }`,
      `export type F = import("./f.js").F;`,
    ].join("\n");
    expect(importsOf(text)).toEqual([
      { specifier: "./a.js", typeOnly: false },
      { specifier: "../b.js", typeOnly: true },
      { specifier: "./c.js", typeOnly: false },
      { specifier: "./side-effect.js", typeOnly: false },
      { specifier: "./d.js", typeOnly: false },
      { specifier: "./e.js", typeOnly: true },
      { specifier: "./lazy.js", typeOnly: false },
      { specifier: "./f.js", typeOnly: true },
    ]);
  });
});

describe("check-cycles on a fixture graph", () => {
  let root: string;
  let cyclic: string;
  let acyclic: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "layerkit-cycles-"));
    cyclic = join(root, "cyclic");
    acyclic = join(root, "acyclic");
    writeTree(cyclic, {
      // runtime cycle of two
      "a.ts": `import { b } from "./b.js";\nexport const a = () => b;\n`,
      "b.ts": `import { a } from "./a.js";\nexport const b = () => a;\n`,
      // closed only by a type edge
      "c.ts": `import type { D } from "./d.js";\nexport const c = (d: D) => d;\n`,
      "d.ts": `import { c } from "./c.js";\nexport type D = typeof c;\n`,
      // `import { type T }` and `export *` are runtime edges
      "e.ts": `import { type F } from "./sub/f.js";\nexport type E = F;\n`,
      "sub/f.ts": `export * from "../e.js";\nexport type F = number;\n`,
      // a module importing itself
      "s.ts": `import "./s.js";\n`,
      // an import naming no file
      "k.ts": `import { gone } from "./missing.js";\nexport const k = gone;\n`,
      // acyclic neighbours of the cycles
      "leaf.ts": `import { a } from "./a.js";\nimport type { D } from "./d.js";\nexport const leaf = [a] as D[] | unknown[];\n`,
    });
    writeTree(acyclic, {
      "x.ts": `import { y } from "./y.js";\nimport type { Z } from "./z.js";\nexport const x: Z = y;\n`,
      "y.ts": `import type { Z } from "./z.js";\nexport const y: Z = 1;\n`,
      "z.ts": `export type Z = number;\n`,
    });
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("finds the runtime cycles, the type-only cycle and the unresolved import", () => {
    const { files, edges, unresolved } = importGraph([cyclic]);
    expect(files.map((f) => f.slice(cyclic.length + 1))).toEqual([
      "a.ts",
      "b.ts",
      "c.ts",
      "d.ts",
      "e.ts",
      "k.ts",
      "leaf.ts",
      "s.ts",
      "sub/f.ts",
    ]);
    expect(unresolved).toEqual([{ from: join(cyclic, "k.ts"), specifier: "./missing.js" }]);

    const { runtime, typeOnly } = findCycles(edges);
    const at = (p: string) => join(cyclic, p);
    expect(runtime).toEqual([
      { members: [at("a.ts"), at("b.ts")], example: [at("a.ts"), at("b.ts"), at("a.ts")] },
      { members: [at("e.ts"), at("sub/f.ts")], example: [at("e.ts"), at("sub/f.ts"), at("e.ts")] },
      { members: [at("s.ts")], example: [at("s.ts"), at("s.ts")] },
    ]);
    expect(typeOnly).toEqual([{ members: [at("c.ts"), at("d.ts")], example: [at("c.ts"), at("d.ts"), at("c.ts")] }]);
  });

  it("a type-only cycle around a runtime one is reported with a cycle through its type edge", () => {
    const p = (n: string) => `/m/${n}.ts`;
    const edges = new Map([
      [p("a"), new Map([[p("b"), false]])],
      [p("b"), new Map([[p("a"), false], [p("c"), false]])],
      [p("c"), new Map([[p("a"), true]])],
    ]);
    const { runtime, typeOnly } = findCycles(edges);
    expect(runtime).toEqual([{ members: [p("a"), p("b")], example: [p("a"), p("b"), p("a")] }]);
    expect(typeOnly).toEqual([{ members: [p("a"), p("b"), p("c")], example: [p("c"), p("a"), p("b"), p("c")] }]);
  });

  it("the command exits 1 naming each cycle, and 0 on an acyclic graph", () => {
    const bad = spawnSync(process.execPath, [SCRIPT, cyclic], { cwd: root, encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("runtime import cycle (2 modules): cyclic/a.ts -> cyclic/b.ts -> cyclic/a.ts");
    expect(bad.stderr).toContain("runtime import cycle (1 modules): cyclic/s.ts -> cyclic/s.ts");
    expect(bad.stderr).toContain("type-only import cycle (2 modules): cyclic/c.ts -> cyclic/d.ts -> cyclic/c.ts");
    expect(bad.stderr).toContain(`unresolved import: cyclic/k.ts imports "./missing.js", which names no .ts file under ${cyclic}`);
    expect(bad.stderr).toContain("check-cycles: 3 runtime and 1 type-only cycle(s), 1 unresolved import(s) in 9 modules");

    const good = spawnSync(process.execPath, [SCRIPT, acyclic], { cwd: root, encoding: "utf8" });
    expect(good.stderr).toBe("");
    expect(good.status).toBe(0);
    expect(good.stdout).toContain("check-cycles: no import cycles in 3 modules (3 import edges)");
  });
});
