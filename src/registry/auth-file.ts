/**
 * Docker's `config.json` and podman's `auth.json`: credentials for a registry from their `auths`
 * map. Runtime-neutral: the caller reads the files (the CLI reads the docker and podman default
 * locations) and passes the text. Entries hold `auth` (base64 `user:password`), optionally
 * `identitytoken` (an OAuth refresh token, used with the token server's refresh-token grant).
 * Keys may be `host`, `https://host`, `http://host/v1/`, or podman's `host/namespace/repo`
 * (the longest key matching the repository wins). Credential helpers (`credHelpers`,
 * `credsStore`) are not supported yet: {@link findAuth} reports their names so callers can say so.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { base64Decode } from "../go/base64.js";
import type { RegistryCredentials } from "./auth.js";

/** What an auth file says about one registry (and repository). */
export interface AuthFileMatch {
  /** Credentials found in `auths`. */
  credentials?: RegistryCredentials;
  /** A credential helper the file names for this registry (not supported yet). */
  helper?: string;
  /** The `auths` key that matched. */
  key?: string;
}

const MAX_AUTH_FILE = 1024 * 1024;

/** Docker Hub's registry is `registry-1.docker.io`; its auth-file key is the v1 index URL. */
const DOCKER_HUB_KEYS = ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"];

/** `https://host/v1/` → `host`; `host/ns/repo` stays. */
function normalizeKey(key: string): string {
  return key.replace(/^https?:\/\//, "").replace(/\/v[12]\/?$/, "").replace(/\/+$/, "");
}

function decodeEntry(key: string, entry: unknown, file: string): RegistryCredentials | undefined {
  if (typeof entry !== "object" || entry === null) throw bad(file, `auths[${JSON.stringify(key)}] is not an object`);
  const e = entry as Record<string, unknown>;
  let username = typeof e.username === "string" ? e.username : undefined;
  let password = typeof e.password === "string" ? e.password : undefined;
  if (typeof e.auth === "string" && e.auth !== "") {
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(base64Decode(e.auth));
    } catch {
      throw bad(file, `auths[${JSON.stringify(key)}].auth is not base64 of "user:password"`);
    }
    const colon = text.indexOf(":");
    if (colon < 0) throw bad(file, `auths[${JSON.stringify(key)}].auth is not base64 of "user:password"`);
    username = text.slice(0, colon);
    password = text.slice(colon + 1);
  }
  const identityToken = typeof e.identitytoken === "string" && e.identitytoken !== "" ? e.identitytoken : undefined;
  if (identityToken !== undefined) return { username: username ?? "", password: password ?? "", identityToken };
  return username !== undefined && password !== undefined ? { username, password } : undefined;
}

function bad(file: string, why: string): LayerkitError {
  return new LayerkitError("BAD_ARGUMENT", `auth file ${file}: ${why}`, { file });
}

/**
 * Looks up `registry` (`host[:port]`) and `repository` in the text of an auth file. Throws
 * BAD_ARGUMENT when the file is not valid JSON or an entry is malformed.
 */
export function findAuth(text: string, registry: string, repository = "", file = "auth file"): AuthFileMatch {
  if (text.length > MAX_AUTH_FILE) throw bad(file, "larger than 1 MiB");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad(file, "not valid JSON");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw bad(file, "not a JSON object");
  const d = doc as Record<string, unknown>;
  const hosts = registry === "registry-1.docker.io" ? DOCKER_HUB_KEYS.map(normalizeKey) : [registry];
  const auths = typeof d.auths === "object" && d.auths !== null ? (d.auths as Record<string, unknown>) : {};
  let best: { key: string; length: number } | undefined;
  for (const key of Object.keys(auths)) {
    const k = normalizeKey(key);
    for (const host of hosts) {
      const full = repository ? `${host}/${repository}` : host;
      if (k === host || (full.startsWith(k + "/") && k.startsWith(host + "/"))) {
        if (!best || k.length > best.length) best = { key, length: k.length };
      }
    }
  }
  const helpers = typeof d.credHelpers === "object" && d.credHelpers !== null ? (d.credHelpers as Record<string, unknown>) : {};
  const helperKey = Object.keys(helpers).find((k) => hosts.includes(normalizeKey(k)));
  const helper = helperKey !== undefined && typeof helpers[helperKey] === "string"
    ? (helpers[helperKey] as string)
    : typeof d.credsStore === "string"
    ? d.credsStore
    : undefined;
  const out: AuthFileMatch = {};
  if (best) {
    const credentials = decodeEntry(best.key, auths[best.key], file);
    out.key = best.key;
    if (credentials) out.credentials = credentials;
  }
  if (helper !== undefined && !out.credentials) out.helper = helper;
  return out;
}
