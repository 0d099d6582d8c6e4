/**
 * Registry authentication: HTTP Basic and the Bearer token flow of the distribution spec
 * (`WWW-Authenticate: Bearer realm=…,service=…,scope=…` → `GET realm?service=…&scope=…`, with Basic
 * credentials when we have them, → `{ token | access_token, expires_in }`). Tokens are cached per
 * (realm, service, scopes) until shortly before they expire.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { base64Encode } from "../go/base64.js";
import { parseJsonLimited } from "../util/json-limits.js";
import { readBodyLimited } from "./responses.js";
import type { Challenge } from "./www-authenticate.js";

/** A user name and password (or registry token as password). */
export interface RegistryCredentials {
  username: string;
  password: string;
  /**
   * An OAuth refresh token (docker's `identitytoken`): tokens are then asked for with the
   * refresh-token grant (`POST realm`, `grant_type=refresh_token`) instead of Basic credentials.
   */
  identityToken?: string;
}

/** Tokens are renewed this long before they expire, so a request never carries a stale one. */
const EXPIRY_MARGIN_MS = 10_000;
/** The spec's default token lifetime when `expires_in` is missing. */
const DEFAULT_EXPIRES_S = 60;
const MAX_TOKEN_RESPONSE = 1024 * 1024;

interface CachedToken {
  token: string;
  expires: number;
}

/** The value of an `Authorization: Basic …` header. */
export function basicAuthorization(c: RegistryCredentials): string {
  return "Basic " + base64Encode(new TextEncoder().encode(`${c.username}:${c.password}`));
}

/** Scopes (`repository:name:pull,push`) in a stable order, as a cache key. */
export function scopeKey(scopes: readonly string[]): string {
  return [...new Set(scopes)].sort().join(" ");
}

/**
 * Fetches and caches Bearer tokens. One instance serves one registry client; the cache is
 * keyed by the challenge's realm and service and the scopes asked for.
 */
export class TokenCache {
  readonly #tokens = new Map<string, CachedToken>();
  /** Our scope key → the realm/service/scope key whose token serves it (learned from challenges). */
  readonly #byHint = new Map<string, string>();
  readonly #fetch: typeof fetch;
  readonly #credentials: RegistryCredentials | undefined;
  readonly #now: () => number;
  /** Token requests made (for tests and stats). */
  requests = 0;

  constructor(fetchFn: typeof fetch, credentials: RegistryCredentials | undefined, now: () => number = Date.now) {
    this.#fetch = fetchFn;
    this.#credentials = credentials;
    this.#now = now;
  }

  /**
   * A cached, unexpired token for requests needing `scopes`, if any: the one learned for exactly
   * these scopes, else one whose scopes cover them (a `pull,push` token serves a `pull`).
   */
  cached(scopes: readonly string[]): string | undefined {
    const now = this.#now();
    const key = this.#byHint.get(scopeKey(scopes));
    const exact = key === undefined ? undefined : this.#tokens.get(key);
    if (exact && exact.expires > now) return exact.token;
    if (scopes.length === 0) return undefined;
    for (const [k, t] of this.#tokens) {
      if (t.expires > now && scopes.every((s) => covers(k.split("\n")[2]!.split(" "), s))) return t.token;
    }
    return undefined;
  }

  /**
   * A token for a Bearer `challenge` (from a request that needed `scopes`). The scopes asked for
   * are the challenge's plus ours. `registryUrl` is where the challenge came from: credentials
   * are not sent to a plain-http realm when the registry itself was reached over https.
   */
  async get(challenge: Challenge, scopes: readonly string[], registryUrl: URL, signal?: AbortSignal): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm) throw new LayerkitError("UNAUTHORIZED", "Bearer challenge without a realm", { params: challenge.params });
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw new LayerkitError("UNAUTHORIZED", `Bearer challenge realm ${JSON.stringify(realm.slice(0, 200))} is not a URL`, {
        realm: realm.slice(0, 200),
      });
    }
    if (realmUrl.protocol !== "https:" && realmUrl.protocol !== "http:") {
      throw new LayerkitError("UNAUTHORIZED", `Bearer challenge realm must be http(s), got ${realmUrl.protocol}`, { realm: realmUrl.href });
    }
    const challengeScopes = (challenge.params.scope ?? "").split(" ").filter((s) => s !== "");
    const all = scopeKey([...challengeScopes, ...scopes]).split(" ").filter((s) => s !== "");
    const service = challenge.params.service;
    const key = `${realmUrl.href}\n${service ?? ""}\n${scopeKey(all)}`;
    const hint = scopeKey(scopes);
    const have = this.#tokens.get(key);
    if (have && have.expires > this.#now()) {
      this.#byHint.set(hint, key);
      return have.token;
    }
    const url = new URL(realmUrl);
    if (service !== undefined) url.searchParams.set("service", service);
    for (const s of all) url.searchParams.append("scope", s);
    const headers = new Headers({ accept: "application/json" });
    if (this.#credentials) {
      if (realmUrl.protocol === "http:" && registryUrl.protocol === "https:") {
        throw new LayerkitError("UNAUTHORIZED", `refusing to send credentials to plain-http token realm ${realmUrl.origin}`, {
          realm: realmUrl.href,
        });
      }
      headers.set("authorization", basicAuthorization(this.#credentials));
    }
    this.requests++;
    let res: Response;
    try {
      const init: RequestInit = { headers, redirect: "error" };
      const refresh = this.#credentials?.identityToken;
      if (refresh !== undefined) {
        // OAuth2 refresh-token grant (distribution's token spec, "oauth"): the refresh token in a form body.
        const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refresh, client_id: "layerkit" });
        if (service !== undefined) form.set("service", service);
        if (all.length) form.set("scope", all.join(" "));
        headers.delete("authorization");
        headers.set("content-type", "application/x-www-form-urlencoded");
        init.method = "POST";
        init.body = form.toString();
        url.search = "";
      }
      if (signal) init.signal = signal;
      res = await this.#fetch(url, init);
    } catch (e) {
      throw new LayerkitError("IO", `token request to ${realmUrl.origin} failed: ${(e as Error)?.message ?? e}`, { realm: realmUrl.href }, {
        cause: e,
      });
    }
    const body = await readBodyLimited(res, MAX_TOKEN_RESPONSE, "token response");
    if (res.status === 401 || res.status === 403) {
      throw new LayerkitError("UNAUTHORIZED", `token server refused the credentials (HTTP ${res.status})`, {
        realm: realmUrl.href,
        status: res.status,
        scopes: all,
      });
    }
    if (res.status !== 200) {
      throw new LayerkitError("HTTP", `token server answered HTTP ${res.status}`, { realm: realmUrl.href, status: res.status });
    }
    const doc = parseJsonLimited(body, { maxBytes: MAX_TOKEN_RESPONSE, maxDepth: 8, code: "HTTP", what: "token response" }) as
      | Record<string, unknown>
      | null;
    const token = typeof doc?.token === "string" && doc.token !== "" ? doc.token : doc?.access_token;
    if (typeof token !== "string" || token === "" || /[\s\0]/.test(token)) {
      throw new LayerkitError("HTTP", "token response has no usable token", { realm: realmUrl.href });
    }
    const expiresIn = typeof doc?.expires_in === "number" && doc.expires_in > 0 ? doc.expires_in : DEFAULT_EXPIRES_S;
    this.#tokens.set(key, { token, expires: this.#now() + expiresIn * 1000 - EXPIRY_MARGIN_MS });
    this.#byHint.set(hint, key);
    return token;
  }
}

/** Whether the granted scopes include every action of `wanted` (`type:name:a,b`). */
function covers(granted: readonly string[], wanted: string): boolean {
  const w = splitScope(wanted);
  if (!w) return false;
  return granted.some((g) => {
    const p = splitScope(g);
    return p !== undefined && p.resource === w.resource && w.actions.every((a) => p.actions.includes(a));
  });
}

function splitScope(s: string): { resource: string; actions: string[] } | undefined {
  const i = s.lastIndexOf(":");
  return i <= 0 ? undefined : { resource: s.slice(0, i), actions: s.slice(i + 1).split(",") };
}
