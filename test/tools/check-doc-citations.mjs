#!/usr/bin/env node
// Checks that every citation of the format notes in the code names a note that exists and sections
// that note has (run by .ci/run). A citation is `docs/formats/NAME.md` followed, up to the next `)`
// or the end of the sentence, by section marks: `§4`, `§2.5`, `§1.3–§1.4`, `§2, §2.6` (a comment
// may wrap between them). Sections are the note's numbered headings: `## 4. …`, `### 2.5 …`.
//
// Usage: node test/tools/check-doc-citations.mjs [dir …]   (default: src test bench examples;
// exit 1 on a citation that names a missing note or section.)
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const SOURCE = /\.(m?[jt]s|cjs)$/;

/** The section numbers of a note: "4", "2.5", … from its numbered `##`/`###` headings. */
export function sectionsOf(markdown) {
  const out = new Set();
  for (const m of markdown.matchAll(/^#{2,6}\s+(\d+(?:\.\d+)*)\.?\s/gm)) out.add(m[1]);
  return out;
}

/** The text a citation's sections are in: up to a `)` closing a paren opened before it, `;`, or a sentence end. */
function citationScope(rest) {
  let depth = 0;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (c === "(") depth++;
    else if (c === ")" && --depth < 0) return rest.slice(0, i);
    else if (c === ";" || ((c === "." || c === ":") && (i + 1 === rest.length || /\s/.test(rest[i + 1])))) return rest.slice(0, i);
  }
  return rest;
}

/**
 * The citations in one source text: `{ note, sections, line }` for each `docs/formats/NAME.md`,
 * with the sections cited after it (empty when it cites the whole note).
 */
export function citationsOf(text) {
  const out = [];
  for (const m of text.matchAll(/docs\/formats\/([a-z0-9-]+\.md)/g)) {
    const line = text.slice(0, m.index).split("\n").length;
    // What follows the note's name up to `)` or a sentence end, comment continuations removed.
    const rest = text.slice(m.index + m[0].length, m.index + m[0].length + 200).replace(/\n\s*(\*|\/\/)?/g, " ");
    const scope = citationScope(rest);
    const sections = [...scope.matchAll(/§(\d+(?:\.\d+)*)/g)].map((s) => s[1]);
    out.push({ note: m[1], sections, line });
  }
  return out;
}

function listSources(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === "node_modules" || name === "dist" || name === "out") continue;
    if (statSync(p).isDirectory()) listSources(p, out);
    else if (SOURCE.test(name)) out.push(p);
  }
  return out;
}

/** Every citation under `dirs` that names a note missing from `notesDir` or a section the note lacks. */
export function badCitations(dirs, notesDir) {
  const notes = new Map();
  const sectionsIn = (note) => {
    if (!notes.has(note)) {
      const path = join(notesDir, note);
      notes.set(note, existsSync(path) ? sectionsOf(readFileSync(path, "utf8")) : undefined);
    }
    return notes.get(note);
  };
  const bad = [];
  let count = 0;
  for (const file of dirs.flatMap((d) => listSources(resolve(d)))) {
    for (const c of citationsOf(readFileSync(file, "utf8"))) {
      count++;
      const have = sectionsIn(c.note);
      if (have === undefined) bad.push({ file, line: c.line, note: c.note, problem: "no such note" });
      else for (const s of c.sections) if (!have.has(s)) bad.push({ file, line: c.line, note: c.note, problem: `no section §${s}` });
    }
  }
  return { bad, count };
}

function main(argv) {
  const dirs = argv.length > 0 ? argv : ["src", "test", "bench", "examples"].map((d) => join(ROOT, d));
  const { bad, count } = badCitations(dirs, join(ROOT, "docs/formats"));
  const rel = (p) => relative(process.cwd(), p).split(sep).join("/");
  for (const b of bad) console.error(`${rel(b.file)}:${b.line}: cites docs/formats/${b.note}: ${b.problem}`);
  if (bad.length > 0) {
    console.error(`check-doc-citations: ${bad.length} bad citation(s) of ${count}`);
    return 1;
  }
  console.log(`check-doc-citations: ${count} citations of docs/formats/, all found`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
