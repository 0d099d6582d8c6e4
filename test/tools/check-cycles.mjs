#!/usr/bin/env node
// Import-cycle check over the relative imports of src/**/*.ts (run by .ci/run).
//
// Two graphs are built from the same files. Runtime edges are imports that stay in the emitted
// JavaScript: under tsconfig's verbatimModuleSyntax that is every `import`/`export … from` not
// written `import type`/`export type`, including `import { type A }` (which emits `import {}`)
// and `import("…")`. Type edges are `import type`/`export type … from`. A cycle of runtime edges
// makes module evaluation order matter; a cycle that needs a type edge still ties the modules
// together for every reader. Both fail the check.
//
// Usage: node test/tools/check-cycles.mjs [dir …]   (default: src; exit 1 on a cycle or on a
// relative import of a .js/.ts module that resolves to no .ts file under the folders checked.)
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * The relative imports of one TypeScript source: `{ specifier, typeOnly }` for each import,
 * re-export and dynamic import whose specifier starts with "./" or "../".
 */
export function importsOf(sourceText, fileName = "module.ts") {
  const sf = ts.createSourceFile(fileName, sourceText, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found = [];
  const add = (node, typeOnly) => {
    if (node && ts.isStringLiteralLike(node) && /^\.\.?\//.test(node.text)) found.push({ specifier: node.text, typeOnly });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, node.importClause?.isTypeOnly === true);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true); // `import("./x.js").T` in a type position
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The .ts file an import names, as Node-style ESM with tsc resolves it: "./x.js" → x.ts. */
function resolveImport(fromFile, specifier, files) {
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [base.replace(/\.js$/, ".ts"), base.replace(/\.mjs$/, ".mts"), base, `${base}.ts`, join(base, "index.ts")];
  return candidates.find((c) => files.has(c));
}

function listTs(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) listTs(p, out);
    else if (/\.m?ts$/.test(name) && !/\.d\.m?ts$/.test(name)) out.push(p);
  }
  return out;
}

/**
 * The import graph of every .ts file under `dirs`: `edges` maps a file to the files it imports
 * with whether every import of that file is type-only, `unresolved` lists imports naming no file.
 */
export function importGraph(dirs) {
  const files = new Set(dirs.flatMap((d) => listTs(resolve(d))));
  const edges = new Map();
  const unresolved = [];
  for (const file of [...files].sort()) {
    const to = new Map();
    for (const { specifier, typeOnly } of importsOf(readFileSync(file, "utf8"), file)) {
      const target = resolveImport(file, specifier, files);
      if (target === undefined) {
        if (/\.(m?js|m?ts)$/.test(specifier) || !/\.\w+$/.test(specifier)) unresolved.push({ from: file, specifier });
        continue;
      }
      to.set(target, (to.get(target) ?? true) && typeOnly);
    }
    edges.set(file, to);
  }
  return { files: [...files].sort(), edges, unresolved };
}

/** Strongly connected components (Tarjan) that hold a cycle: more than one node, or a self-import. */
function cyclicComponents(nodes, next) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  const strong = (v) => {
    // Iterative, so a long import chain cannot overflow the call stack.
    const work = [[v, next(v)[Symbol.iterator]()]];
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    while (work.length > 0) {
      const [node, it] = work[work.length - 1];
      const step = it.next();
      if (!step.done) {
        const w = step.value;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push([w, next(w)[Symbol.iterator]()]);
        } else if (onStack.has(w)) {
          low.set(node, Math.min(low.get(node), index.get(w)));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(node)));
      }
      if (low.get(node) === index.get(node)) {
        const comp = [];
        let w;
        do {
          w = stack.pop();
          onStack.delete(w);
          comp.push(w);
        } while (w !== node);
        if (comp.length > 1 || next(node).includes(node)) out.push(comp.sort());
      }
    }
  };
  for (const v of nodes) if (!index.has(v)) strong(v);
  return out;
}

/** One shortest path from `from` to `to` through nodes of `members` (breadth-first), or undefined. */
function shortestPath(from, to, members, next) {
  const prev = new Map([[from, undefined]]);
  const queue = [from];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i];
    if (v === to) {
      const path = [v];
      while (prev.get(path[0]) !== undefined) path.unshift(prev.get(path[0]));
      return path;
    }
    for (const w of next(v)) {
      if (members.has(w) && !prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return undefined;
}

/**
 * The cycles of a graph given as `edges` (file → Map(target → typeOnly)). `runtime` lists the
 * cycles of runtime edges alone; `typeOnly` the components that only type edges close. Each is
 * `{ members, example }`: the sorted files of one strongly connected component and one shortest
 * cycle in it (for a type-only one, a cycle through a type edge), ending where it starts.
 */
export function findCycles(edges) {
  const nodes = [...edges.keys()].sort();
  const out = (v) => [...(edges.get(v) ?? new Map())].sort(([a], [b]) => (a < b ? -1 : 1));
  const runtimeNext = (v) => out(v).filter(([, typeOnly]) => !typeOnly).map(([w]) => w);
  const allNext = (v) => out(v).map(([w]) => w);
  // The shortest cycle that starts with one of the edges `first` allows, within the component.
  const cycleVia = (members, next, first) => {
    let best;
    for (const u of members) {
      for (const [w, typeOnly] of out(u)) {
        if (!members.has(w) || !first(typeOnly)) continue;
        const back = shortestPath(w, u, members, next);
        if (back && (!best || back.length + 1 < best.length)) best = [u, ...back.slice(0, -1), u];
      }
    }
    return best;
  };
  const runtime = cyclicComponents(nodes, runtimeNext).map((members) => ({
    members,
    example: cycleVia(new Set(members), runtimeNext, (typeOnly) => !typeOnly),
  }));
  const runtimeKeys = new Set(runtime.map((c) => c.members.join("\n")));
  const typeOnly = cyclicComponents(nodes, allNext)
    .filter((members) => !runtimeKeys.has(members.join("\n")))
    .map((members) => ({ members, example: cycleVia(new Set(members), allNext, (typeOnly) => typeOnly) }));
  const byFirst = (a, b) => (a.members[0] < b.members[0] ? -1 : 1);
  return { runtime: runtime.sort(byFirst), typeOnly: typeOnly.sort(byFirst) };
}

function main(argv) {
  const dirs = argv.length > 0 ? argv : ["src"];
  const { files, edges, unresolved } = importGraph(dirs);
  const { runtime, typeOnly } = findCycles(edges);
  const rel = (p) => relative(process.cwd(), p).split(sep).join("/");
  for (const u of unresolved) {
    console.error(`unresolved import: ${rel(u.from)} imports "${u.specifier}", which names no .ts file under ${dirs.join(", ")}`);
  }
  const show = (kind, c) => {
    console.error(`${kind} import cycle (${c.members.length} modules): ${c.example.map(rel).join(" -> ")}`);
    if (c.members.length > c.example.length - 1) console.error(`  all modules in it: ${c.members.map(rel).join(", ")}`);
  };
  for (const c of runtime) show("runtime", c);
  for (const c of typeOnly) show("type-only", c);
  const edgeCount = [...edges.values()].reduce((n, m) => n + m.size, 0);
  if (unresolved.length + runtime.length + typeOnly.length > 0) {
    console.error(
      `check-cycles: ${runtime.length} runtime and ${typeOnly.length} type-only cycle(s), ${unresolved.length} unresolved import(s) in ${files.length} modules`,
    );
    return 1;
  }
  console.log(`check-cycles: no import cycles in ${files.length} modules (${edgeCount} import edges) under ${dirs.join(", ")}`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
