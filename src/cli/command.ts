/** What a subcommand declares, so `main` can parse, print help and report errors uniformly. */
import type { OptionSpec } from "./args.js";
import { UsageError } from "./errors.js";

export type { OptionSpec };

export interface CliContext {
  json: boolean;
  quiet: boolean;
  /** Human output (suppressed by --quiet and --json). */
  log(line: string): void;
  /** The one JSON document a command prints with --json. */
  printJson(value: unknown): void;
  stdout: WritableStream<Uint8Array>;
  /** Whether stderr is a terminal (progress bars only then). */
  tty: boolean;
}

export interface Command {
  name: string;
  summary: string;
  /** Synopsis lines, e.g. `create DIR|TAR -o OUT --format FORMAT [--level N]`. */
  usage: string;
  /** Option descriptions for --help, `["--level N", "compression level"]`. */
  help: Array<[string, string]>;
  example: string;
  options: OptionSpec;
  /** Positional arguments: [min, max]. */
  positionals: [number, number];
  run(values: Record<string, unknown>, positionals: string[], ctx: CliContext): Promise<number>;
}

/**
 * The context for a command writing its result to `output`: with `-o -` the result goes to
 * stdout, so the human summary goes to stderr (and --json, which would mix into it, is refused).
 */
export function contextForOutput(ctx: CliContext, output: string): CliContext {
  if (output !== "-") return ctx;
  if (ctx.json) throw new UsageError("--json cannot be combined with -o - (both would go to stdout)");
  return { ...ctx, log: (line) => void (ctx.quiet ? undefined : process.stderr.write(line + "\n")) };
}
