/**
 * The CLI's own argument parser: GNU-style long options (`--name value`, `--name=value`), short
 * aliases (`-o value`), booleans that also take `=true`/`=false` (skopeo's `--tls-verify=false`),
 * repeatable options, `--` to end options, and a lone `-` as a positional (stdin/stdout).
 * Mistakes become short {@link UsageError}s (`unknown option --formt (did you mean --format?)`).
 */
import { UsageError } from "./errors.js";

export interface OptionDef {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
}

export type OptionSpec = Record<string, OptionDef>;

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Levenshtein distance, for "did you mean" (option names are short). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The closest known option name, when it is close enough to be a typo. */
export function suggest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = k.startsWith(name) && name.length >= 2 ? 0.5 : distance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

const BOOL_WORDS: Record<string, boolean> = { true: true, false: false, "1": true, "0": false, yes: true, no: false };

export function parseArgs(args: readonly string[], spec: OptionSpec): ParsedArgs {
  const values: ParsedArgs["values"] = {};
  const positionals: string[] = [];
  const shorts = new Map(Object.entries(spec).flatMap(([name, d]) => (d.short ? [[d.short, name] as const] : [])));
  const set = (name: string, value: string | boolean) => {
    const def = spec[name]!;
    if (def.multiple) values[name] = [...((values[name] as string[] | undefined) ?? []), value as string];
    else values[name] = value;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-" || !arg.startsWith("-") || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let flag: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      flag = eq < 0 ? arg : arg.slice(0, eq);
      name = flag.slice(2);
      if (eq >= 0) inline = arg.slice(eq + 1);
      if (!(name in spec)) {
        const hint = suggest(name, Object.keys(spec));
        throw new UsageError(`unknown option ${flag}${hint ? ` (did you mean --${hint}?)` : ""}`);
      }
    } else {
      flag = arg.slice(0, 2);
      const long = shorts.get(arg[1]!);
      if (long === undefined) throw new UsageError(`unknown option ${flag}`);
      name = long;
      if (arg.length > 2) inline = arg.slice(arg[2] === "=" ? 3 : 2);
    }
    const def = spec[name]!;
    if (def.type === "boolean") {
      if (inline === undefined) {
        set(name, true);
        continue;
      }
      const b = BOOL_WORDS[inline.toLowerCase()];
      if (b === undefined) throw new UsageError(`${flag} takes no value, or =true / =false (got ${JSON.stringify(inline)})`);
      set(name, b);
      continue;
    }
    if (inline === undefined) {
      const next = args[i + 1];
      // A value may start with "-" only when it is "-" (stdin/stdout) or a number (--level -5).
      if (next === undefined || (next.startsWith("-") && next !== "-" && !/^-\d/.test(next))) {
        throw new UsageError(`option ${flag} needs a value`);
      }
      inline = next;
      i++;
    }
    set(name, inline);
  }
  return { values, positionals };
}
