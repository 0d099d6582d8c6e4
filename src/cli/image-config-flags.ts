/**
 * The config flags `image build` and `image append` share (`--entrypoint`, `--cmd`, `--env`,
 * `--workdir`, `--user`, `--label`, `--annotation`, `--created`), mapped to {@link ConfigChanges}.
 */
import { checkConfigChanges, type ConfigChanges, parseKeyValue } from "../image/config-changes.js";
import { isLayerkitError } from "../errors.js";
import type { OptionSpec } from "./command.js";
import { UsageError } from "./errors.js";

export const CONFIG_OPTIONS = {
  entrypoint: { type: "string" },
  cmd: { type: "string" },
  env: { type: "string", multiple: true },
  workdir: { type: "string" },
  user: { type: "string" },
  label: { type: "string", multiple: true },
  annotation: { type: "string", multiple: true },
} as const satisfies OptionSpec;

export const CONFIG_HELP: Array<[string, string]> = [
  [
    "--entrypoint E",
    'the config\'s Entrypoint: a JSON array (\'["/bin/app","-v"]\') or one word (clears a base Cmd unless --cmd is given)',
  ],
  ["--cmd C", "the config's Cmd: a JSON array or one word"],
  ["--env K=V", "set an environment variable (repeatable; replaces the base's value of K)"],
  ["--workdir DIR", "the config's WorkingDir"],
  ["--user U", "the config's User"],
  ["--label K=V", "a config label (repeatable)"],
  ["--annotation K=V", "a manifest annotation (repeatable)"],
];

function argv(value: string, flag: string): string[] {
  if (!value.startsWith("[")) return [value];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new UsageError(`${flag} ${value} is not a JSON array of strings`);
  }
  if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === "string")) {
    throw new UsageError(`${flag} ${value} is not a JSON array of strings`);
  }
  return parsed as string[];
}

function pairs(list: unknown, flag: string): Record<string, string> | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const entry of list as string[]) {
    try {
      const [k, v] = parseKeyValue(entry, flag);
      out[k] = v;
    } catch (e) {
      throw isLayerkitError(e) ? new UsageError(e.message) : e;
    }
  }
  return out;
}

/** The config changes the flags ask for (usage errors for malformed values), checked. */
export function configChangesFrom(values: Record<string, unknown>): ConfigChanges {
  const c: ConfigChanges = {};
  if (typeof values.entrypoint === "string") c.entrypoint = argv(values.entrypoint, "--entrypoint");
  if (typeof values.cmd === "string") c.cmd = argv(values.cmd, "--cmd");
  if (Array.isArray(values.env) && values.env.length > 0) {
    pairs(values.env, "--env");
    c.env = values.env as string[];
  }
  if (typeof values.workdir === "string") c.workdir = values.workdir;
  if (typeof values.user === "string") c.user = values.user;
  const labels = pairs(values.label, "--label");
  if (labels) c.labels = labels;
  if (typeof values.created === "string") c.created = values.created;
  try {
    checkConfigChanges(c);
  } catch (e) {
    throw isLayerkitError(e) ? new UsageError(e.message) : e;
  }
  return c;
}

/** `--annotation K=V` flags as manifest annotations. */
export function manifestAnnotationsFrom(values: Record<string, unknown>): Record<string, string> | undefined {
  return pairs(values.annotation, "--annotation");
}
