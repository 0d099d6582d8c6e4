/**
 * Registries that misbehave (local HTTP servers on 127.0.0.1/127.0.0.2 that answer like a
 * registry but lie): every lie is a typed error, and credentials never leave the registry's host.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../../src/runtime/node.js";
import { LayerkitError } from "../../src/errors.js";
import { DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_LAYER_ZSTD, OCI_MANIFEST } from "../../src/oci/index.js";
import { parseReference, parseWwwAuthenticate, RegistryClient } from "../../src/registry/index.js";
import { expectCode, readAll } from "../support/registry.js";

const sha = (b: Uint8Array | string): string => "sha256:" + createHash("sha256").update(b).digest("hex");

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
interface Mock {
  server: Server;
  host: string;
  handler: Handler;
  seen: { method: string; url: string; authorization: string | undefined }[];
}

async function startMock(address: string): Promise<Mock> {
  const mock: Mock = { server: undefined as unknown as Server, host: "", handler: (_q, r) => r.writeHead(500).end(), seen: [] };
  mock.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      mock.seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization });
      mock.handler(req, res, Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => mock.server.listen(0, address, () => r()));
  mock.host = `${address}:${(mock.server.address() as AddressInfo).port}`;
  return mock;
}

const cfg = { mediaType: OCI_CONFIG, digest: sha("{}"), size: 2 };
const manifestText = JSON.stringify({
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: cfg,
  layers: [{ mediaType: OCI_LAYER_ZSTD, digest: sha("x"), size: 1 }],
});
const blob = Buffer.from("layer bytes ".repeat(100));

let reg: Mock;
let other: Mock; // a different host (127.0.0.2): blob storage, token realm
let client: RegistryClient;
beforeAll(async () => {
  reg = await startMock("127.0.0.1");
  other = await startMock("127.0.0.2");
  client = new RegistryClient(reg.host);
});
afterAll(async () => {
  for (const m of [reg, other]) await new Promise<void>((r) => m.server.close(() => r()));
});

function serveManifest(body: string | Buffer, headers: Record<string, string>): void {
  reg.handler = (_req, res) => res.writeHead(200, { "content-length": String(Buffer.byteLength(body)), ...headers }).end(body);
}

describe("manifest responses", () => {
  it("accepts a well-formed one (the baseline the lies below depart from)", async () => {
    serveManifest(manifestText, { "content-type": OCI_MANIFEST, "docker-content-digest": sha(manifestText) });
    const m = await client.getManifest("a/b", "v1");
    expect(m.descriptor).toEqual({ mediaType: OCI_MANIFEST, digest: sha(manifestText), size: manifestText.length });
    expect(reg.seen.at(-1)!.url).toBe("/v2/a/b/manifests/v1");
  });

  it("wrong media types", async () => {
    serveManifest(manifestText, { "content-type": "text/html" });
    await expectCode(client.getManifest("a/b", "v1"), "BAD_MANIFEST");
    serveManifest(manifestText, { "content-type": OCI_INDEX });
    await expectCode(client.getManifest("a/b", "v1"), "BAD_MANIFEST");
    serveManifest(manifestText, { "content-type": DOCKER_MANIFEST });
    await expectCode(client.getManifest("a/b", "v1"), "BAD_MANIFEST");
    // Served right, but not what the index entry said it is.
    serveManifest(manifestText, { "content-type": OCI_MANIFEST });
    await expectCode(
      client.getManifest("a/b", sha(manifestText), { mediaType: OCI_INDEX, digest: sha(manifestText), size: manifestText.length }),
      "BAD_MANIFEST",
    );
  });

  it("a body longer than its descriptor, and application/json documents", async () => {
    serveManifest(manifestText, { "content-type": OCI_MANIFEST });
    await expectCode(
      client.getManifest("a/b", sha(manifestText), { mediaType: OCI_MANIFEST, digest: sha(manifestText), size: manifestText.length - 1 }),
      "SIZE_MISMATCH",
    );
    // application/json is accepted when the document names its own type.
    serveManifest(manifestText, { "content-type": "application/json; charset=utf-8" });
    expect((await client.getManifest("a/b", "v1")).descriptor.mediaType).toBe(OCI_MANIFEST);
    serveManifest(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.example+json" }), { "content-type": "application/json" });
    await expectCode(client.getManifest("a/b", "v1"), "BAD_MANIFEST");
  });

  it("digests that do not match, or are in the wrong form", async () => {
    serveManifest(manifestText, { "content-type": OCI_MANIFEST, "docker-content-digest": sha("other") });
    await expectCode(client.getManifest("a/b", "v1"), "DIGEST_MISMATCH");
    serveManifest(manifestText, { "content-type": OCI_MANIFEST });
    await expectCode(client.getManifest("a/b", sha("other")), "DIGEST_MISMATCH");
    serveManifest(manifestText, { "content-type": OCI_MANIFEST, "docker-content-digest": "sha256:XYZ" });
    await expectCode(client.getManifest("a/b", "v1"), "HTTP");
    await expectCode(client.getManifest("a/b", "sha256:abc"), "BAD_ARGUMENT");
    await expectCode(client.getManifest("../../etc", "v1"), "BAD_ARGUMENT");
    await expectCode(client.openBlob("a/b", { digest: "md5:0", size: 1 }), "BAD_ARGUMENT");
  });

  it("huge, deeply nested or truncated documents", async () => {
    const huge = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, pad: "x".repeat(5 * 1024 * 1024) });
    serveManifest(huge, { "content-type": OCI_MANIFEST });
    await expectCode(client.getManifest("a/b", "v1"), "LIMIT_EXCEEDED");
    // Same without a Content-Length (chunked encoding): cut off while reading.
    reg.handler = (_req, res) => {
      res.writeHead(200, { "content-type": OCI_MANIFEST });
      res.end(huge);
    };
    await expectCode(client.getManifest("a/b", "v1"), "LIMIT_EXCEEDED");
    const deep = `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","x":${"[".repeat(5000)}${"]".repeat(5000)}}`;
    serveManifest(deep, { "content-type": OCI_MANIFEST });
    await expectCode(client.getManifest("a/b", "v1"), "LIMIT_EXCEEDED");
    // A body shorter than its Content-Length (connection cut).
    reg.handler = (_req, res) => {
      res.writeHead(200, { "content-type": OCI_MANIFEST, "content-length": String(manifestText.length + 50) });
      res.write(manifestText);
      setTimeout(() => res.socket?.destroy(), 20);
    };
    await expectCode(client.getManifest("a/b", "v1"), "TRUNCATED");
    reg.handler = (_req, res) =>
      res.writeHead(500, { "content-type": "application/json" }).end('{"errors":[{"code":"UNKNOWN","message":"boom"}]}');
    const e = await expectCode(client.getManifest("a/b", "v1"), "HTTP");
    expect(e.details.errors).toEqual([{ code: "UNKNOWN", message: "boom" }]);
  });
});

describe("blob responses", () => {
  const desc = { digest: sha(blob), size: blob.length };

  it("a wrong Content-Length is refused before reading; a wrong body fails the stream", async () => {
    reg.handler = (_req, res) => res.writeHead(200, { "content-length": String(blob.length - 1) }).end(blob.subarray(1));
    await expectCode(client.openBlob("a/b", desc), "SIZE_MISMATCH");
    const tampered = Buffer.from(blob);
    tampered[7] = 0x21;
    reg.handler = (_req, res) => res.writeHead(200, { "content-length": String(blob.length) }).end(tampered);
    await expectCode(readAll(await client.openBlob("a/b", desc)), "DIGEST_MISMATCH");
    reg.handler = (_req, res) => {
      res.writeHead(200, { "content-length": String(blob.length) });
      res.write(blob.subarray(0, 100));
      setTimeout(() => res.socket?.destroy(), 20);
    };
    await expectCode(readAll(await client.openBlob("a/b", desc)), "TRUNCATED");
    reg.handler = (_req, res) => res.writeHead(200).end(Buffer.concat([blob, Buffer.from("more")]));
    await expectCode(readAll(await client.openBlob("a/b", desc)), "SIZE_MISMATCH");
    reg.handler = (_req, res) => res.writeHead(200, { "content-length": String(blob.length) }).end(blob);
    expect(await readAll(await client.openBlob("a/b", desc))).toEqual(new Uint8Array(blob));
  });

  it("a Range read with the wrong Content-Range is refused", async () => {
    reg.handler = (_req, res) =>
      res.writeHead(206, { "content-range": `bytes 10-19/${blob.length}`, "content-length": "10" }).end(blob.subarray(10, 20));
    const source = client.blobSource("a/b", desc);
    await expectCode(source.read(0, 10), "HTTP");
    reg.handler = (req, res) => {
      const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? "")!;
      const [s, e] = [Number(m[1]), Number(m[2])];
      res.writeHead(206, { "content-range": `bytes ${s}-${e}/${blob.length}`, "content-length": String(e - s + 1) }).end(
        blob.subarray(s, e + 1),
      );
    };
    expect(await source.read(5, 20)).toEqual(new Uint8Array(blob.subarray(5, 25)));
  });
});

describe("uploads", () => {
  it("a chunk acknowledged with the wrong Range fails and the upload is abandoned", async () => {
    reg.seen.length = 0;
    reg.handler = (req, res) => {
      if (req.method === "POST") res.writeHead(202, { location: "/v2/a/b/blobs/uploads/u1?_state=s" }).end();
      else if (req.method === "PATCH") res.writeHead(202, { location: "/v2/a/b/blobs/uploads/u1?_state=t", range: "0-3" }).end();
      else res.writeHead(204).end();
    };
    const e = await expectCode(client.pushBlob("a/b", blob, { chunkSize: 100 }), "HTTP");
    expect(e.details.range).toBe("0-3");
    expect(reg.seen.map((s) => s.method)).toEqual(["POST", "PATCH", "DELETE"]);
  });

  it("a registry that stores another digest than we sent is refused", async () => {
    reg.handler = (req, res) => {
      if (req.method === "POST") res.writeHead(202, { location: "/v2/a/b/blobs/uploads/u2" }).end();
      else res.writeHead(201, { "docker-content-digest": sha("something else") }).end();
    };
    await expectCode(client.pushBlob("a/b", blob), "DIGEST_MISMATCH");
    reg.handler = (_req, res) => res.writeHead(202).end(); // no Location
    await expectCode(client.pushBlob("a/b", blob), "HTTP");
  });
});

describe("authentication and redirects", () => {
  const user = { username: "u", password: "p" };
  const basic = "Basic " + Buffer.from("u:p").toString("base64");

  it("Basic credentials go to the registry, never to the host a redirect points at", async () => {
    other.seen.length = 0;
    reg.seen.length = 0;
    other.handler = (_req, res) => res.writeHead(200, { "content-length": String(blob.length) }).end(blob);
    reg.handler = (req, res) => {
      if (req.headers.authorization !== basic) res.writeHead(401, { "www-authenticate": 'Basic realm="test"' }).end();
      else if (req.url!.startsWith("/v2/a/b/blobs/")) res.writeHead(307, { location: `http://${other.host}/storage/blob?sig=1` }).end();
      else if (req.url!.startsWith("/v2/a/same/blobs/")) res.writeHead(302, { location: `/v2/a/b/blobs/${sha(blob)}` }).end();
      else res.writeHead(404).end();
    };
    const c = new RegistryClient(reg.host, { credentials: user });
    expect(await c.getBlob("a/b", { digest: sha(blob), size: blob.length })).toEqual(new Uint8Array(blob));
    expect(other.seen).toHaveLength(1);
    expect(other.seen[0]!.authorization).toBeUndefined();
    // A same-host redirect keeps the credentials, then the cross-host hop drops them.
    expect(await c.getBlob("a/same", { digest: sha(blob), size: blob.length })).toEqual(new Uint8Array(blob));
    const afterChallenge = reg.seen.filter((s) => s.url.startsWith("/v2/a/")).slice(1);
    expect(afterChallenge.length).toBeGreaterThanOrEqual(3);
    expect(afterChallenge.every((s) => s.authorization === basic)).toBe(true);
    expect(other.seen.every((s) => s.authorization === undefined)).toBe(true);
    // Range reads through RegistryBlobSource follow the same rule.
    const source = c.blobSource("a/b", { digest: sha(blob), size: blob.length });
    expect(await source.read(0, 10)).toEqual(new Uint8Array(blob.subarray(0, 10)));
    expect(other.seen.every((s) => s.authorization === undefined)).toBe(true);
    await expectCode(new RegistryClient(reg.host).getManifest("a/b", "v1"), "UNAUTHORIZED");
  });

  it("Bearer tokens: fetched from the realm with Basic credentials, cached, kept on the registry host", async () => {
    other.seen.length = 0;
    reg.seen.length = 0;
    other.handler = (req, res) => {
      if (req.url!.startsWith("/token")) {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "tok123", expires_in: 300 }));
      } else res.writeHead(200, { "content-length": String(blob.length) }).end(blob);
    };
    reg.handler = (req, res) => {
      if (req.headers.authorization !== "Bearer tok123") {
        res.writeHead(401, { "www-authenticate": `Bearer realm="http://${other.host}/token",service="mock",scope="repository:a/b:pull"` })
          .end();
      } else res.writeHead(307, { location: `http://${other.host}/storage/blob` }).end();
    };
    const c = new RegistryClient(reg.host, { credentials: user });
    await c.getBlob("a/b", { digest: sha(blob), size: blob.length });
    await c.getBlob("a/b", { digest: sha(blob), size: blob.length });
    const tokenReqs = other.seen.filter((s) => s.url.startsWith("/token"));
    expect(tokenReqs).toHaveLength(1);
    expect(tokenReqs[0]!.authorization).toBe(basic);
    expect(new URL(tokenReqs[0]!.url, "http://x").searchParams.getAll("scope")).toEqual(["repository:a/b:pull"]);
    expect(other.seen.filter((s) => s.url.startsWith("/storage")).every((s) => s.authorization === undefined)).toBe(true);
    expect(c.transport.tokens.requests).toBe(1);
  });

  it("bad challenges, token responses and redirect loops", async () => {
    reg.handler = (_req, res) => res.writeHead(401).end();
    await expectCode(client.getManifest("a/b", "v1"), "UNAUTHORIZED");
    reg.handler = (_req, res) => res.writeHead(401, { "www-authenticate": 'Bearer realm="unterminated' }).end();
    await expectCode(client.getManifest("a/b", "v1"), "HTTP");
    reg.handler = (_req, res) => res.writeHead(401, { "www-authenticate": 'Bearer realm="not a url"' }).end();
    await expectCode(client.getManifest("a/b", "v1"), "UNAUTHORIZED");
    reg.handler = (_req, res) => res.writeHead(401, { "www-authenticate": "Negotiate abc" }).end();
    await expectCode(client.getManifest("a/b", "v1"), "UNAUTHORIZED");
    reg.handler = (_req, res) => res.writeHead(401, { "www-authenticate": `Bearer realm="http://${other.host}/token"` }).end();
    other.handler = (_req, res) => res.writeHead(200).end("[[[[not json");
    await expectCode(new RegistryClient(reg.host).getManifest("a/b", "v1"), "HTTP");
    other.handler = (_req, res) => res.writeHead(200).end(JSON.stringify({ token: "" }));
    await expectCode(new RegistryClient(reg.host).getManifest("a/b", "v1"), "HTTP");
    other.handler = (_req, res) => res.writeHead(401).end();
    await expectCode(new RegistryClient(reg.host, { credentials: user }).getManifest("a/b", "v1"), "UNAUTHORIZED");
    reg.handler = (_req, res) => res.writeHead(302, { location: "/v2/loop" }).end();
    await expectCode(client.getManifest("a/b", "v1"), "HTTP");
    reg.handler = (_req, res) => res.writeHead(302, { location: "file:///etc/passwd" }).end();
    await expectCode(client.getManifest("a/b", "v1"), "HTTP");
  });
});

describe("https registries", () => {
  it("an https → http redirect drops the credentials", async () => {
    const seen: (string | null)[] = [];
    const fakeFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      seen.push(new Headers(init?.headers).get("authorization"));
      if (url.startsWith("https://")) {
        if (!new Headers(init?.headers).get("authorization")) {
          return new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } });
        }
        return new Response(null, { status: 302, headers: { location: url.replace("https://", "http://") } });
      }
      return new Response(blob, { status: 200, headers: { "content-length": String(blob.length) } });
    }) as typeof fetch;
    const c = new RegistryClient("registry.example", { fetch: fakeFetch, credentials: { username: "u", password: "p" } });
    expect(c.transport.origin).toBe("https://registry.example");
    expect(await c.getBlob("a/b", { digest: sha(blob), size: blob.length })).toEqual(new Uint8Array(blob));
    expect(seen).toEqual([null, "Basic " + Buffer.from("u:p").toString("base64"), null]);
  });
});

describe("references and challenges", () => {
  it("parses references with Docker Hub defaults and refuses malformed ones", async () => {
    expect(parseReference("alpine")).toEqual({ registry: "registry-1.docker.io", repository: "library/alpine" });
    expect(parseReference("127.0.0.1:5000/team/app:v1")).toEqual({ registry: "127.0.0.1:5000", repository: "team/app", tag: "v1" });
    expect(parseReference(`localhost/x@${sha("x")}`)).toEqual({ registry: "localhost", repository: "x", digest: sha("x") });
    for (const bad of ["", "team/UPPER", "a/b:", "a/b@sha256:123", "a//b", "a/b:-tag", "host:99999999/x", "a/../b", "a/b c"]) {
      await expectCode(() => parseReference(bad), "BAD_ARGUMENT");
    }
  });

  it("parses WWW-Authenticate with several challenges and quoted values", () => {
    expect(parseWwwAuthenticate('Basic realm="r", Bearer realm="https://a/t",service="s",scope="repository:x:pull repository:y:pull,push"'))
      .toEqual([
        { scheme: "basic", params: { realm: "r" } },
        { scheme: "bearer", params: { realm: "https://a/t", service: "s", scope: "repository:x:pull repository:y:pull,push" } },
      ]);
    expect(parseWwwAuthenticate('Bearer realm="a\\"b"')[0]!.params.realm).toBe('a"b');
    expect(() => parseWwwAuthenticate("x".repeat(20000))).toThrow(LayerkitError);
  });
});
