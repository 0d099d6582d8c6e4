// Types for test/tools/check-cycles.mjs, so that its unit test (TypeScript) can import it.

/** One relative import of a source file. */
export interface RelativeImport {
  specifier: string;
  /** `import type` / `export type … from` / `import("…").T` in a type position. */
  typeOnly: boolean;
}

/** A strongly connected component of the import graph and one shortest cycle in it. */
export interface ImportCycle {
  /** Absolute paths of its modules, sorted. */
  members: string[];
  /** One cycle, first module repeated at the end. */
  example: string[];
}

export function importsOf(sourceText: string, fileName?: string): RelativeImport[];

export function importGraph(dirs: string[]): {
  files: string[];
  /** file → (imported file → whether every import of it is type-only) */
  edges: Map<string, Map<string, boolean>>;
  unresolved: { from: string; specifier: string }[];
};

export function findCycles(edges: Map<string, Map<string, boolean>>): { runtime: ImportCycle[]; typeOnly: ImportCycle[] };
