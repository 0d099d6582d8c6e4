/**
 * Changes to an image config's execution parameters (`config.config`) and creation time, as
 * `image build` and `image append` take them (`--entrypoint`, `--cmd`, `--env`, …). Shared so
 * both commands mean the same by each option.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import type { ContainerConfig, ImageConfig } from "../oci/types.js";

export interface ConfigChanges {
  /** Replaces `Entrypoint` (and, as Docker does, clears a base `Cmd` unless `cmd` is given too). */
  entrypoint?: string[];
  /** Replaces `Cmd`. */
  cmd?: string[];
  /** `K=V` entries: a key already in `Env` gets the new value in place, a new key is appended. */
  env?: string[];
  workdir?: string;
  user?: string;
  /** Merged into `Labels` (a given key replaces the base's value). */
  labels?: Record<string, string>;
  /** RFC 3339 `created` time of the config. */
  created?: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Splits `K=V` (the key non-empty); BAD_ARGUMENT naming `what` otherwise. */
export function parseKeyValue(entry: string, what: string): [string, string] {
  const at = entry.indexOf("=");
  if (at <= 0) throw new LayerkitError("BAD_ARGUMENT", `${what} ${JSON.stringify(entry)} is not KEY=VALUE`, { value: entry });
  return [entry.slice(0, at), entry.slice(at + 1)];
}

/** Checks `changes` (env entries are K=V, created is RFC 3339) before anything is written. */
export function checkConfigChanges(changes: ConfigChanges): void {
  for (const e of changes.env ?? []) parseKeyValue(e, "env");
  if (changes.created !== undefined && !RFC3339.test(changes.created)) {
    throw new LayerkitError("BAD_ARGUMENT", `created ${JSON.stringify(changes.created)} is not an RFC 3339 time`, {
      value: changes.created,
    });
  }
}

/** A new config with `changes` applied (the input is not modified). */
export function applyConfigChanges(config: ImageConfig, changes: ConfigChanges): ImageConfig {
  checkConfigChanges(changes);
  const out = structuredClone(config);
  const run: ContainerConfig = { ...(out.config ?? {}) };
  if (changes.entrypoint !== undefined) {
    run.Entrypoint = [...changes.entrypoint];
    if (changes.cmd === undefined) delete run.Cmd;
  }
  if (changes.cmd !== undefined) run.Cmd = [...changes.cmd];
  if (changes.env !== undefined && changes.env.length > 0) {
    const env = [...(run.Env ?? [])];
    for (const entry of changes.env) {
      const [key] = parseKeyValue(entry, "env");
      const at = env.findIndex((e) => e.startsWith(`${key}=`) || e === key);
      if (at >= 0) env[at] = entry;
      else env.push(entry);
    }
    run.Env = env;
  }
  if (changes.workdir !== undefined) run.WorkingDir = changes.workdir;
  if (changes.user !== undefined) run.User = changes.user;
  if (changes.labels !== undefined && Object.keys(changes.labels).length > 0) run.Labels = { ...(run.Labels ?? {}), ...changes.labels };
  if (Object.keys(run).length > 0 || out.config !== undefined) out.config = run;
  if (changes.created !== undefined) out.created = changes.created;
  return out;
}
