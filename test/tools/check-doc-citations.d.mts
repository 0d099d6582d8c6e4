// Types for test/tools/check-doc-citations.mjs, so that its unit test (TypeScript) can import it.

/** One citation of a format note: the note's file name, the sections cited, the 1-based line. */
export interface Citation {
  note: string;
  sections: string[];
  line: number;
}

export interface BadCitation {
  file: string;
  line: number;
  note: string;
  problem: string;
}

export function sectionsOf(markdown: string): Set<string>;
export function citationsOf(text: string): Citation[];
export function badCitations(dirs: string[], notesDir: string): { bad: BadCitation[]; count: number };
