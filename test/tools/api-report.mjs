#!/usr/bin/env node
/**
 * The public API as the declaration files state it: for every entry point in package.json's
 * `exports` (its `types` file), each exported name with its kind, sorted. `--check` compares with
 * the committed report (docs/api.txt) and fails on any difference, so an addition or removal is a
 * visible diff in review; `--write` regenerates it. Needs `npm run build` (dist/*.d.ts) first.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const REPORT = join(ROOT, "docs/api.txt");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

function typesOf(target) {
  if (typeof target === "string") return target.endsWith(".d.ts") ? target : undefined;
  return target?.types;
}

const entries = Object.entries(pkg.exports).flatMap(([sub, target]) => {
  const types = typesOf(target);
  return types ? [[sub, join(ROOT, types)]] : [];
});

const program = ts.createProgram(entries.map(([, f]) => f), {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  noEmit: true,
  skipLibCheck: true,
});
const checker = program.getTypeChecker();

function kindOf(symbol) {
  const s = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const f = s.flags;
  if (f & ts.SymbolFlags.Class) return "class";
  if (f & ts.SymbolFlags.Function) return "function";
  if (f & ts.SymbolFlags.Interface) return "interface";
  if (f & ts.SymbolFlags.TypeAlias) return "type";
  if (f & ts.SymbolFlags.Enum) return "enum";
  if (f & ts.SymbolFlags.Variable) return "const";
  return "other";
}

const lines = [];
for (const [sub, file] of entries) {
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`api-report: ${file} not found; run npm run build first`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  const names = moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : [];
  lines.push(`## ${pkg.name}${sub === "." ? "" : sub.slice(1)} (${names.length})`);
  for (const n of [...names].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) lines.push(`${kindOf(n)} ${n.name}`);
  lines.push("");
}
const text = lines.join("\n");

const mode = process.argv[2];
if (mode === "--write") {
  writeFileSync(REPORT, text);
  console.log(`api-report: wrote docs/api.txt (${entries.length} entry points)`);
} else if (mode === "--check") {
  let committed = "";
  try {
    committed = readFileSync(REPORT, "utf8");
  } catch {
    // no report committed yet: every line shows as added
  }
  if (committed !== text) {
    const a = new Set(committed.split("\n"));
    const b = new Set(text.split("\n"));
    for (const l of b) if (!a.has(l)) console.error(`+ ${l}`);
    for (const l of a) if (!b.has(l)) console.error(`- ${l}`);
    console.error("api-report: the public API differs from docs/api.txt; if that is intended, run `npm run api:report` and commit it");
    process.exit(1);
  }
  console.log(`api-report: the public API matches docs/api.txt`);
} else {
  process.stdout.write(text);
}
