// The citation check (test/tools/check-doc-citations.mjs): which section marks belong to a
// citation, which headings count as sections, what it reports on a fixture tree, and that the
// repository's own citations all resolve.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { badCitations, citationsOf, sectionsOf } from "../tools/check-doc-citations.mjs";

const SCRIPT = join(import.meta.dirname, "../tools/check-doc-citations.mjs");
// Built from parts so that this file's fixtures are not themselves citations the check reads.
const DOCS = "docs/" + "formats/";

describe("sectionsOf / citationsOf", () => {
  it("numbered headings are sections, others are not", () => {
    const md = "# Title\n\n## 1. Layout\n\n### 1.2 Frames\n\n## 2. TOC\n\n#### 2.6.1 Deep\n\n## Notes\n\ntext 3. not a heading\n";
    expect([...sectionsOf(md)]).toEqual(["1", "1.2", "2", "2.6.1"]);
  });

  it("takes the marks after the note up to the closing paren or sentence end, across comment lines", () => {
    const text = [
      `/**`,
      ` * Reading (${DOCS}fmt.md §7,`,
      ` * §10), then more text §99 that is not part of it.`,
      ` * Format: ${DOCS}fmt.md §1.2 (segmentation), §2 (TOC), §5. Later §42.`,
      ` */`,
      `// whole note: ${DOCS}other.md; §3 is not cited`,
      `const s = "see ${DOCS}fmt.md §1.3–§1.4";`,
    ].join("\n");
    expect(citationsOf(text)).toEqual([
      { note: "fmt.md", sections: ["7", "10"], line: 2 },
      { note: "fmt.md", sections: ["1.2", "2", "5"], line: 4 },
      { note: "other.md", sections: [], line: 6 },
      { note: "fmt.md", sections: ["1.3", "1.4"], line: 7 },
    ]);
  });
});

describe("check-doc-citations on a fixture tree", () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "layerkit-citations-"));
    mkdirSync(join(root, "notes"));
    mkdirSync(join(root, "src/sub"), { recursive: true });
    writeFileSync(join(root, "notes/fmt.md"), "# fmt\n\n## 1. One\n\n### 1.1 One one\n\n## 2. Two\n");
    writeFileSync(join(root, "src/good.ts"), `// (${DOCS}fmt.md §1, §1.1) and ${DOCS}fmt.md §2.\nexport {};\n`);
    writeFileSync(join(root, "src/sub/bad.mjs"), `// ${DOCS}fmt.md §1.2\n// ${DOCS}gone.md §1\n`);
    writeFileSync(join(root, "src/notes.txt"), `${DOCS}gone.md §1 (not a source file)\n`);
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("reports a missing section and a missing note, with file and line", () => {
    const { bad, count } = badCitations([join(root, "src")], join(root, "notes"));
    expect(count).toBe(4);
    expect(bad).toEqual([
      { file: join(root, "src/sub/bad.mjs"), line: 1, note: "fmt.md", problem: "no section §1.2" },
      { file: join(root, "src/sub/bad.mjs"), line: 2, note: "gone.md", problem: "no such note" },
    ]);
  });

  it("the command exits 1 naming each bad citation (against the repository's notes)", () => {
    const r = spawnSync(process.execPath, [SCRIPT, join(root, "src")], { cwd: root, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`src/good.ts:1: cites ${DOCS}fmt.md: no such note`);
    expect(r.stderr).toContain(`src/sub/bad.mjs:2: cites ${DOCS}gone.md: no such note`);
    expect(r.stderr).toContain("check-doc-citations: 4 bad citation(s) of 4");
  });

  it("the repository's citations all name notes and sections that exist", () => {
    const r = spawnSync(process.execPath, [SCRIPT], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/check-doc-citations: \d+ citations of docs\/formats\/, all found/);
    expect(Number(/(\d+) citations/.exec(r.stdout)![1])).toBeGreaterThanOrEqual(20);
  });
});
