/**
 * Test support for the OCI and registry tests: real layers made by `createLayer`, and (below) a
 * Debian docker-registry started on 127.0.0.1.
 */
import { execFileSync, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { createLayer } from "../../src/create-layer.js";
import { LayerkitError } from "../../src/errors.js";
import type { LayerFormat, LayerResult } from "../../src/layer/result.js";
import { concatBytes } from "../../src/util/bytes.js";

/** Awaits `p` (or calls it) and checks it fails with a {@link LayerkitError} of `code`. */
export async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<LayerkitError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(LayerkitError);
    expect((e as LayerkitError).code).toBe(code);
    return e as LayerkitError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

/** All bytes of a stream. */
export async function readAll(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of s as unknown as AsyncIterable<Uint8Array>) parts.push(p);
  return concatBytes(parts);
}

/** A layer blob with its writer result. */
export interface MadeLayer {
  blob: Uint8Array;
  result: LayerResult;
}

/** Compresses `tar` into a layer of `format` with layerkit's own writer. */
/** `allowUnsafePaths`: write a malicious layer as it is (for tests of the readers and the extractor). */
export async function makeLayer(tar: Uint8Array, format: LayerFormat, options: { allowUnsafePaths?: boolean } = {}): Promise<MadeLayer> {
  const input = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(tar);
      c.close();
    },
  });
  const { stream, result } = createLayer(input, { format, ...(options.allowUnsafePaths ? { allowUnsafePaths: true } : {}) });
  const parts: Uint8Array[] = [];
  for await (const p of stream as unknown as AsyncIterable<Uint8Array>) parts.push(p);
  return { blob: concatBytes(parts), result: await result };
}

// ---------------------------------------------------------------------------------------------
// A real registry: Debian's /usr/bin/docker-registry (distribution 2.8) on 127.0.0.1.

/** How the registry authenticates clients. */
export type RegistryAuth = "none" | "htpasswd" | "token";

/** A running registry. */
export interface TestRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  username: string;
  password: string;
  /** Token server (auth "token"): tokens issued so far, and the scopes of each request. */
  tokenRequests: { scopes: string[]; user: string | undefined; grant?: "refresh_token" }[];
  /** Storage root (filesystem driver). */
  storage: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((res) => srv.listen(0, "127.0.0.1", () => res()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString("base64url");

/**
 * A minimal token server for the registry's `token` auth: checks Basic credentials (none →
 * pull-only tokens), grants the requested repository actions, signs an RS256 JWT with the x5c
 * header that distribution verifies against its `rootcertbundle`.
 */
async function startTokenServer(
  dir: string,
  username: string,
  password: string,
  requests: TestRegistry["tokenRequests"],
): Promise<{ server: http.Server; realm: string; cert: string }> {
  const keyFile = join(dir, "token.key");
  const certFile = join(dir, "token.crt");
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    "/CN=layerkit-test-token",
  ], { stdio: "ignore" });
  const key = crypto.createPrivateKey(readFileSync(keyFile));
  const x5c = new crypto.X509Certificate(readFileSync(certFile)).raw.toString("base64");
  const server = http.createServer((req, res) => {
    if (req.method === "POST") {
      // The OAuth2 refresh-token grant docker uses with an auth file's `identitytoken`.
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        const form = new URLSearchParams(body);
        if (form.get("grant_type") !== "refresh_token" || form.get("refresh_token") !== refreshTokenFor(password)) {
          res.writeHead(401, { "content-type": "application/json" }).end('{"details":"bad refresh token"}');
          return;
        }
        const scopes = (form.get("scope") ?? "").split(" ").filter((x) => x !== "");
        requests.push({ scopes, user: username, grant: "refresh_token" });
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({ access_token: issue(username, form.get("service"), scopes), expires_in: 300 }),
        );
      });
      return;
    }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const auth = req.headers.authorization;
    let user: string | undefined;
    if (auth !== undefined) {
      const [u, p] = Buffer.from(auth.replace(/^Basic /, ""), "base64").toString().split(":");
      if (!auth.startsWith("Basic ") || u !== username || p !== password) {
        res.writeHead(401, { "content-type": "application/json" }).end('{"details":"bad credentials"}');
        return;
      }
      user = u;
    }
    const scopes = url.searchParams.getAll("scope");
    requests.push({ scopes, user });
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({ token: issue(user, url.searchParams.get("service"), scopes), expires_in: 300, issued_at: new Date().toISOString() }),
    );
  });
  const issue = (user: string | undefined, service: string | null, scopes: string[]): string => {
    const access = scopes.map((s) => {
      const [type, name, actions] = s.split(":");
      const wanted = (actions ?? "").split(",");
      return { type, name, actions: user ? wanted : wanted.filter((a) => a === "pull") };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: "JWT", alg: "RS256", x5c: [x5c] };
    const claims = {
      iss: "layerkit-test-issuer",
      sub: user ?? "",
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: crypto.randomUUID(),
      access,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${signingInput}.${b64url(crypto.sign("sha256", Buffer.from(signingInput), key))}`;
  };
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return { server, realm: `http://127.0.0.1:${port}/token`, cert: certFile };
}

/** The refresh token (an auth file's `identitytoken`) the test token server accepts for `password`. */
export function refreshTokenFor(password: string): string {
  return `refresh-${password}`;
}

/** Starts docker-registry with a temporary storage directory; `stop()` ends it and removes the directory. */
export async function startRegistry(auth: RegistryAuth = "none"): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "layerkit-registry-"));
  const storage = join(dir, "storage");
  mkdirSync(storage);
  const username = "layerkit";
  const password = "s3cret-" + crypto.randomBytes(4).toString("hex");
  const tokenRequests: TestRegistry["tokenRequests"] = [];
  let tokenServer: http.Server | undefined;
  let authYaml = "";
  if (auth === "htpasswd") {
    const file = join(dir, "htpasswd");
    execFileSync("htpasswd", ["-bBc", file, username, password], { stdio: "ignore" });
    authYaml = `auth:\n  htpasswd:\n    realm: layerkit-test\n    path: ${file}\n`;
  } else if (auth === "token") {
    const t = await startTokenServer(dir, username, password, tokenRequests);
    tokenServer = t.server;
    authYaml =
      `auth:\n  token:\n    realm: ${t.realm}\n    service: layerkit-test-registry\n    issuer: layerkit-test-issuer\n    rootcertbundle: ${t.cert}\n`;
  }
  const port = await freePort();
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:${port}\n${authYaml}`,
  );
  // setpriv (util-linux) makes the kernel kill the registry when this process dies, even by a
  // signal before stop() ran (vitest ends its workers that way).
  const proc = spawn("setpriv", ["--pdeathsig", "KILL", "/usr/bin/docker-registry", "serve", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const killOnExit = (): void => void proc.kill("SIGKILL");
  process.once("exit", killOnExit);
  const host = `127.0.0.1:${port}`;
  // Ready when /v2/ answers (200 anonymous, 401 with auth); give up after 15 s.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited with ${proc.exitCode}: ${stderr}`);
    try {
      const r = await fetch(`http://${host}/v2/`);
      await r.body?.cancel();
      if (r.status === 200 || r.status === 401) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`docker-registry did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    username,
    password,
    tokenRequests,
    storage,
    async stop() {
      process.off("exit", killOnExit);
      proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
      if (tokenServer) await new Promise<void>((r) => tokenServer!.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
