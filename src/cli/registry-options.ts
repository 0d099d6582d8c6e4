/**
 * Registry flags as skopeo and crane spell them, and where credentials come from, first match wins:
 * `--creds USER[:PASS]`; `LAYERKIT_REGISTRY_USER`/`LAYERKIT_REGISTRY_PASSWORD`; `--authfile FILE`
 * (only it, when given); else `$REGISTRY_AUTH_FILE`, `${XDG_RUNTIME_DIR}/containers/auth.json`,
 * `~/.config/containers/auth.json`, `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`.
 * Credential helpers named in those files are not supported yet (a note on stderr says so).
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { LayerkitError } from "../errors.js";
import type { RegistryCredentials } from "../registry/auth.js";
import { findAuth } from "../registry/auth-file.js";
import type { RegistryClientOptions } from "../registry/client.js";
import type { CliContext } from "./command.js";
import { UsageError } from "./errors.js";

export const REGISTRY_OPTIONS = {
  creds: { type: "string" },
  authfile: { type: "string" },
  "tls-verify": { type: "boolean" },
  insecure: { type: "boolean" },
  "plain-http": { type: "boolean" },
} as const;

export const REGISTRY_HELP: Array<[string, string]> = [
  ["--creds USER[:PASS]", "registry credentials (PASS from $LAYERKIT_REGISTRY_PASSWORD when left out)"],
  [
    "--authfile FILE",
    "docker/podman auth file (default: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json, …)",
  ],
  ["--tls-verify=false, --insecure", "https without certificate verification"],
  ["--plain-http", "talk plain http (default only for localhost and 127.0.0.0/8)"],
  ["env LAYERKIT_REGISTRY_USER/_PASSWORD", "credentials when --creds is not given"],
];

/** The auth files looked at by default, in order. */
export function defaultAuthFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? homedir();
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, "containers/auth.json"));
  files.push(join(env.XDG_CONFIG_HOME ?? join(home, ".config"), "containers/auth.json"));
  if (env.DOCKER_CONFIG) files.push(join(env.DOCKER_CONFIG, "config.json"));
  files.push(join(home, ".docker/config.json"));
  return files;
}

function readIfExists(path: string, required: boolean): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!required && (code === "ENOENT" || code === "ENOTDIR" || code === "EACCES")) return undefined;
    throw new LayerkitError("IO", `cannot read auth file ${path}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`, { path });
  }
}

function credentialsFor(
  values: Record<string, unknown>,
  registry: string,
  repository: string,
  ctx?: CliContext,
): RegistryCredentials | undefined {
  const env = process.env;
  if (typeof values.creds === "string") {
    const colon = values.creds.indexOf(":");
    const username = colon < 0 ? values.creds : values.creds.slice(0, colon);
    const password = colon < 0 ? env.LAYERKIT_REGISTRY_PASSWORD : values.creds.slice(colon + 1);
    if (username === "") throw new UsageError("--creds takes USER[:PASS]");
    if (password === undefined) throw new UsageError("--creds USER without :PASS needs $LAYERKIT_REGISTRY_PASSWORD");
    return { username, password };
  }
  if (env.LAYERKIT_REGISTRY_USER !== undefined && env.LAYERKIT_REGISTRY_PASSWORD !== undefined) {
    return { username: env.LAYERKIT_REGISTRY_USER, password: env.LAYERKIT_REGISTRY_PASSWORD };
  }
  const explicit = typeof values.authfile === "string";
  const files = explicit ? [values.authfile as string] : defaultAuthFiles(env);
  for (const file of files) {
    const text = readIfExists(file, explicit);
    if (text === undefined) continue;
    const match = findAuth(text, registry, repository, file);
    if (match.credentials) return match.credentials;
    if (match.helper !== undefined && !ctx?.quiet) {
      process.stderr.write(
        `layerkit: ${file} names credential helper ${
          JSON.stringify(match.helper)
        } for ${registry}; credential helpers are not supported yet (use --creds)\n`,
      );
    }
  }
  return undefined;
}

/** Registry client options for `registry`/`repository` from the flags, the environment and the auth files. */
export function registryOptions(
  values: Record<string, unknown>,
  registry: string,
  repository: string,
  ctx?: CliContext,
): RegistryClientOptions {
  const out: RegistryClientOptions = {};
  const credentials = credentialsFor(values, registry, repository, ctx);
  if (credentials) out.credentials = credentials;
  if (values["plain-http"] === true) out.plainHttp = true;
  if (values.insecure === true || values["tls-verify"] === false) {
    // Node's fetch has no per-request switch; this turns verification off for this process only.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
  }
  return out;
}
