/**
 * Authenticated requests to one registry: answers 401 challenges (Basic, or Bearer tokens from
 * {@link TokenCache}) on top of the one HTTP client (../net/http-client.ts), which follows
 * redirects so that the `Authorization` header is only ever sent to the registry's own origin —
 * never to another host a redirect points at (blob storage, CDNs), and never downgraded from
 * https to http — retries GETs and HEADs, remembers CDN redirects of blob reads and counts every
 * request.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { HttpClient, type HttpExchange, type RequestBudget, type RequestCounter, type SendOptions } from "../net/http-client.js";
import type { RetryPolicy } from "../net/retry.js";
import { basicAuthorization, type RegistryCredentials, TokenCache } from "./auth.js";
import { errorDetails } from "./responses.js";
import { parseWwwAuthenticate } from "./www-authenticate.js";

export interface RegistryTransportOptions {
  /** `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** Credentials for Basic auth and for token requests. Anonymous without. */
  credentials?: RegistryCredentials;
  /** Talk plain http (default: only for localhost, 127.0.0.0/8 and [::1]). */
  plainHttp?: boolean;
  /** Redirects followed per request (default 5). */
  maxRedirects?: number;
  /** Aborts every request. */
  signal?: AbortSignal;
  /** Retry policy for GETs and HEADs (default 3 retries, 100 ms doubling, at most 2 s). */
  retry?: Partial<RetryPolicy>;
  /** Longest wait for response headers or the next body piece, in ms (default 30,000; 0: none). */
  idleTimeoutMs?: number;
}

/** A request: a byte body only (bodies must be replayable after a 401 or a 307/308). */
export interface RegistryRequest {
  method?: string;
  headers?: HeadersInit;
  body?: Uint8Array;
  /** Token scopes the request needs, e.g. `repository:team/app:pull`. */
  scopes?: readonly string[];
  /** Retry GETs and HEADs here (default true; off when the caller retries the whole operation). */
  retry?: boolean;
  /** Use the redirect cache (blob reads). */
  cacheRedirect?: boolean;
  /** Also count the requests (token requests included) here. */
  stats?: RequestCounter;
  budget?: RequestBudget;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, "");
  return h === "localhost" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === "[::1]";
}

/** Requests to one registry with its credentials. */
export class RegistryTransport {
  /** `http(s)://host[:port]`. */
  readonly origin: string;
  readonly tokens: TokenCache;
  /** The HTTP client every request of this registry goes through. */
  readonly client: HttpClient;
  readonly #credentials: RegistryCredentials | undefined;
  readonly #signal: AbortSignal | undefined;
  /** Set once the registry asked for Basic auth: later requests send it up front. */
  #basic = false;

  constructor(registry: string, options: RegistryTransportOptions = {}) {
    const plain = options.plainHttp ?? isLoopback(registry);
    this.origin = new URL(`${plain ? "http" : "https"}://${registry}`).origin;
    const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#credentials = options.credentials;
    this.#signal = options.signal;
    this.client = new HttpClient({
      fetch: fetchFn,
      maxRedirects: options.maxRedirects ?? 5,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    });
    this.tokens = new TokenCache(fetchFn, this.#credentials);
  }

  /** Requests sent to the registry and the hosts it redirects to (each redirect hop and retry counts; token requests are in `tokens.requests`). */
  get requests(): number {
    return this.client.requests;
  }

  /**
   * This registry as an {@link HttpExchange} for requests needing `scopes` (a blob source's
   * requests: not retried here, the source retries whole reads). One attempt may send two
   * exchanges (the 401 challenge and the authenticated request) and a token request.
   */
  exchange(scopes: readonly string[]): HttpExchange {
    const client = this.client;
    return {
      requestsPerAttempt: 2 * client.requestsPerAttempt + 1,
      attempts: client.attempts,
      send: (url, o: SendOptions) => {
        const req: RegistryRequest = { scopes, retry: false };
        if (o.method !== undefined) req.method = o.method;
        if (o.headers !== undefined) req.headers = o.headers;
        if (o.cacheRedirect !== undefined) req.cacheRedirect = o.cacheRedirect;
        if (o.stats !== undefined) req.stats = o.stats;
        if (o.budget !== undefined) req.budget = o.budget;
        return this.request(url, req);
      },
      retry: (op) => client.retry(op),
    };
  }

  /** An absolute URL for a registry path (`/v2/...`). */
  url(path: string): URL {
    return new URL(path, this.origin + "/");
  }

  /**
   * Sends a request, authenticating on a 401 challenge (once) and following redirects; the
   * `Authorization` header goes to the registry's origin only. Any status is returned; network
   * failures are `IO` errors, a second 401 is `UNAUTHORIZED`.
   */
  async request(url: string | URL, req: RegistryRequest = {}): Promise<Response> {
    const scopes = req.scopes ?? [];
    let res = await this.#send(new URL(url), req, this.#authorization(scopes));
    // Only a fresh (not redirect-cached) answer from the registry itself is a challenge to us.
    if (res.status !== 401 || new URL(res.url || String(url)).origin !== this.origin) return res;
    const header = res.headers.get("www-authenticate");
    await res.body?.cancel().catch(() => {});
    if (!header) {
      throw new LayerkitError("UNAUTHORIZED", `registry ${this.origin} answered 401 without a challenge`, {
        url: String(url),
        status: 401,
      });
    }
    const challenges = parseWwwAuthenticate(header);
    const bearer = challenges.find((c) => c.scheme === "bearer");
    let authorization: string;
    if (bearer) {
      const before = this.tokens.requests;
      try {
        authorization = "Bearer " + (await this.tokens.get(bearer, scopes, new URL(this.origin), this.#signal));
      } finally {
        if (req.stats) req.stats.requests += this.tokens.requests - before;
      }
    } else if (challenges.some((c) => c.scheme === "basic")) {
      if (!this.#credentials) {
        throw new LayerkitError("UNAUTHORIZED", `registry ${this.origin} requires credentials`, { url: String(url), status: 401 });
      }
      this.#basic = true;
      authorization = basicAuthorization(this.#credentials);
    } else {
      throw new LayerkitError("UNAUTHORIZED", `registry ${this.origin} asks for an unsupported auth scheme`, {
        url: String(url),
        schemes: challenges.map((c) => c.scheme),
      });
    }
    res = await this.#send(new URL(url), req, authorization);
    if (res.status === 401) {
      const detail = await errorDetails(res);
      throw new LayerkitError("UNAUTHORIZED", `registry ${this.origin} refused the credentials for ${String(url)}`, {
        url: String(url),
        status: 401,
        ...detail,
      });
    }
    return res;
  }

  #authorization(scopes: readonly string[]): string | undefined {
    if (this.#basic && this.#credentials) return basicAuthorization(this.#credentials);
    const token = this.tokens.cached(scopes);
    return token === undefined ? undefined : "Bearer " + token;
  }

  /** One exchange through the client (retried for GET/HEAD unless `req.retry` is false); `authorization` goes to the registry's origin only. */
  #send(url: URL, req: RegistryRequest, authorization: string | undefined): Promise<Response> {
    const headers = new Headers(req.headers);
    headers.delete("authorization");
    if (authorization !== undefined) headers.set("authorization", authorization);
    const o: SendOptions = { method: req.method ?? "GET", headers, credentialOrigin: this.origin };
    if (req.body !== undefined) o.body = req.body;
    if (req.cacheRedirect) o.cacheRedirect = true;
    if (req.stats) o.stats = req.stats;
    if (req.budget) o.budget = req.budget;
    return req.retry === false ? this.client.send(url, o) : this.client.request(url, o);
  }
}
