/**
 * Warnings a SOURCE raises while it is read (a server that ignores Range requests): each is
 * printed once on stderr as it happens, and commands add them to their `--json` output.
 */
import type { SourceWarning } from "../source/http.js";

const seen: SourceWarning[] = [];

/** The `onWarning` hook the CLI gives its HTTP and registry sources. */
export function onSourceWarning(w: SourceWarning): void {
  if (seen.some((s) => s.code === w.code && s.url === w.url)) return;
  seen.push(w);
  process.stderr.write(`layerkit: warning: ${w.message}\n`);
}

/** `{ warnings: [...] }` when any were raised, for a command's JSON document; else `{}`. */
export function warningsJson(): { warnings?: SourceWarning[] } {
  return seen.length > 0 ? { warnings: seen.slice() } : {};
}
