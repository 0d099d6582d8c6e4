#!/usr/bin/env node
/**
 * `layerkit` command line: one binary, many subcommands. Parsing, help, `--json`/`--quiet` and
 * the error → exit-code mapping live here; each subcommand is a module in ./commands/.
 */
import { Writable } from "node:stream";
import { parseArgs } from "./args.js";
import { COMMANDS } from "./commands/index.js";
import type { CliContext, Command } from "./command.js";
import { describeError, errorJson, EXIT_OK, EXIT_USAGE, exitCodeFor, exitCodeHelp, UsageError } from "./errors.js";
import { isLayerkitError } from "../errors.js";

const GLOBAL_HELP = [
  ["--json", 'print one JSON document (results or {"error": …}) instead of text'],
  ["--quiet", "print nothing but errors"],
  ["-h, --help", "show help for the command"],
] as const;

function topUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "usage: layerkit <command> [options]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run `layerkit <command> --help` for a command's options and an example.",
    "exit codes (every command):",
    ...exitCodeHelp(),
  ].join("\n");
}

export function commandUsage(c: Command): string {
  const rows = [...c.help, ...GLOBAL_HELP];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    `usage: layerkit ${c.usage}`,
    "",
    c.summary,
    "",
    "options:",
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    "",
    "example:",
    `  ${c.example}`,
  ].join("\n");
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    const target = name === "help" ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    process.stdout.write((target ? commandUsage(target) : topUsage()) + "\n");
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === "--version" || name === "-V") {
    process.stdout.write("layerkit 0.1.0\n");
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  const json = rest.includes("--json");
  if (!command) {
    return fail(new UsageError(`unknown command ${JSON.stringify(name)}`), json);
  }
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs(rest, { ...command.options, ...GLOBAL_OPTIONS }));
  } catch (e) {
    return fail(e, json, command);
  }
  if (values.help) {
    process.stdout.write(commandUsage(command) + "\n");
    return EXIT_OK;
  }
  const [min, max] = command.positionals;
  if (positionals.length < min || positionals.length > max) {
    return fail(
      new UsageError(`takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${positionals.length}: ${command.usage}`),
      json,
      command,
    );
  }
  const ctx = makeContext(Boolean(values.json), Boolean(values.quiet));
  try {
    return await command.run(values, positionals, ctx);
  } catch (e) {
    return fail(e, ctx.json, command);
  }
}

const GLOBAL_OPTIONS = {
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
} as const;

/** How to give registry credentials, appended to an UNAUTHORIZED message. */
const CREDENTIALS_HINT =
  "give credentials with --creds USER[:PASS], --authfile FILE, LAYERKIT_REGISTRY_USER/LAYERKIT_REGISTRY_PASSWORD, or `docker login`/`podman login`";

/**
 * Reports an error: one line on stderr (a usage error adds one line pointing at --help), or one
 * JSON object on stdout with --json. `LAYERKIT_DEBUG=1` adds the stack.
 */
function fail(e: unknown, json: boolean, command?: Command): number {
  if (json) process.stdout.write(JSON.stringify(errorJson(e)) + "\n");
  const usage = e instanceof UsageError || isLayerkitError(e, "BAD_ARGUMENT");
  const prefix = usage && command ? `layerkit ${command.name}` : "layerkit";
  const hint = isLayerkitError(e, "UNAUTHORIZED") ? ` (${CREDENTIALS_HINT})` : "";
  process.stderr.write(`${prefix}: ${usage && e instanceof UsageError ? e.message : describeError(e)}${hint}\n`);
  if (usage && !json) process.stderr.write(`Run 'layerkit ${command ? `${command.name} ` : ""}--help' for usage.\n`);
  if (process.env.LAYERKIT_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + "\n");
  return exitCodeFor(e);
}

function makeContext(json: boolean, quiet: boolean): CliContext {
  return {
    json,
    quiet,
    tty: Boolean(process.stderr.isTTY) && !json && !quiet,
    log(line) {
      if (!json && !quiet) process.stdout.write(line + "\n");
    },
    printJson(value) {
      if (json) process.stdout.write(JSON.stringify(value, null, 2) + "\n");
    },
    stdout: Writable.toWeb(process.stdout) as WritableStream<Uint8Array>,
  };
}
