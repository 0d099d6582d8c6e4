/**
 * `push`, `pull` and registry SOURCEs (`REPO:TAG --layer N`, `REPO@sha256:<blob>`) through the
 * real bin, against Debian's docker-registry on 127.0.0.1 with htpasswd auth; skopeo cross-checks.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRegistry, type TestRegistry } from "../support/registry.js";
import { buildCli, makeTree, runCli } from "./cli-run.js";

let work: string;
let tree: string;
let registry: TestRegistry;
let env: Record<string, string>;
let built: {
  manifest: { digest: string };
  layers: Array<{ format: string; descriptor: { digest: string; size: number; annotations?: Record<string, string> } }>;
};

function cli(args: string[], extraEnv: Record<string, string> = {}) {
  return runCli(args, { env: { ...env, ...extraEnv } });
}

function json<T>(args: string[]): T {
  const r = cli([...args, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as T;
}

beforeAll(async () => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-cli-registry-"));
  tree = join(work, "tree");
  mkdirSync(tree);
  makeTree(tree);
  registry = await startRegistry("htpasswd");
  env = { LAYERKIT_REGISTRY_USER: registry.username, LAYERKIT_REGISTRY_PASSWORD: registry.password };
  built = json([
    "image",
    "build",
    "--layer",
    tree,
    "--layer",
    join(tree, "etc"),
    "--format",
    "zstd:chunked",
    "--format",
    "estargz",
    "-o",
    join(work, "oci"),
    "--tag",
    "v1",
  ]);
});

afterAll(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("push and pull", () => {
  it("push uploads every blob and the manifest; skopeo sees the same digest; a second push skips existing blobs", () => {
    const first = json<{ manifest: { digest: string }; blobs: Record<string, string> }>([
      "push",
      join(work, "oci"),
      `${registry.host}/team/app:v1`,
    ]);
    expect(first.manifest.digest).toBe(built.manifest.digest);
    expect(new Set(Object.values(first.blobs))).toEqual(new Set(["monolithic"]));
    const inspected = JSON.parse(
      execFileSync("skopeo", [
        "inspect",
        "--tls-verify=false",
        "--creds",
        `${registry.username}:${registry.password}`,
        `docker://${registry.host}/team/app:v1`,
      ], { encoding: "utf8" }),
    ) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(built.manifest.digest);
    expect(inspected.Layers).toEqual(built.layers.map((l) => l.descriptor.digest));
    const again = json<{ blobs: Record<string, string> }>(["push", join(work, "oci"), `${registry.host}/team/app:v1`]);
    expect(new Set(Object.values(again.blobs))).toEqual(new Set(["existed"]));
  });

  it("pull copies the image into a new layout byte for byte", () => {
    const out = join(work, "pulled");
    const r = json<{ manifest: { digest: string } }>(["pull", `${registry.host}/team/app:v1`, "-o", out]);
    expect(r.manifest.digest).toBe(built.manifest.digest);
    for (const l of built.layers) {
      const hex = l.descriptor.digest.slice(7);
      expect(readFileSync(join(out, "blobs/sha256", hex)).equals(readFileSync(join(work, "oci/blobs/sha256", hex)))).toBe(true);
    }
    const index = JSON.parse(readFileSync(join(out, "index.json"), "utf8")) as {
      manifests: Array<{ digest: string; annotations: Record<string, string> }>;
    };
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]).toMatchObject({ digest: built.manifest.digest, annotations: { "org.opencontainers.image.ref.name": "v1" } });
    // skopeo reads the pulled layout.
    const raw = execFileSync("skopeo", ["inspect", "--raw", `oci:${out}:v1`]);
    expect(raw.equals(readFileSync(join(out, "blobs/sha256", built.manifest.digest.slice(7))))).toBe(true);
  });
});

describe("registry SOURCEs", () => {
  it("REPO:TAG --layer N: inspect authenticates the TOC with the manifest's annotations; ls and cat read lazily", () => {
    const zc = json<
      { format: string; authenticated: boolean; annotations: Record<string, string>; blobSize: number; bytesFetched: number }
    >(["inspect", `${registry.host}/team/app:v1`, "--layer", "0"]);
    expect(zc).toMatchObject({ format: "zstd:chunked", authenticated: true, annotations: built.layers[0]!.descriptor.annotations });
    expect(zc.bytesFetched).toBeLessThan(zc.blobSize / 10);
    const sg = json<{ format: string; authenticated: boolean }>(["inspect", `${registry.host}/team/app:v1`, "--layer", "1"]);
    expect(sg).toMatchObject({ format: "estargz", authenticated: true });

    const cat = cli(["cat", `${registry.host}/team/app:v1`, "etc/os-release", "--layer", "0"]);
    expect(cat.status).toBe(0);
    expect(cat.stdout).toBe(readFileSync(join(tree, "etc/os-release"), "utf8"));
    const names = json<Array<{ name: string }>>(["ls", `${registry.host}/team/app:v1`, "--layer", "1"]).map((e) => e.name);
    expect(names).toContain("os-release");
  });

  it("--blob REPO@sha256:<blob>: a blob by digest (TOC found by its footer, not authenticated)", () => {
    const d = built.layers[0]!.descriptor;
    const r = json<{ format: string; authenticated: boolean; digest: string }>([
      "inspect",
      "--blob",
      `${registry.host}/team/app@${d.digest}`,
    ]);
    expect(r).toMatchObject({ format: "zstd:chunked", authenticated: false, digest: d.digest });
    const big = cli(["cat", "--blob", `${registry.host}/team/app@${d.digest}`, "usr/share/big.bin", "--json"]);
    expect(big.status).toBe(0);
    expect(JSON.parse(big.stdout)).toMatchObject({ path: "usr/share/big.bin", size: 9 * 1024 * 1024 + 123 });
  });

  it("bad input: wrong credentials, an unreachable registry, a missing layer index, a missing blob", async () => {
    const denied = cli(["inspect", `${registry.host}/team/app:v1`, "--layer", "0"], { LAYERKIT_REGISTRY_PASSWORD: "wrong" });
    expect(denied.status).toBe(3);
    expect(denied.stderr.trim().split("\n")).toHaveLength(1);
    expect(denied.stderr).toContain("[UNAUTHORIZED]");

    const port = await freePort();
    const down = cli(["pull", `127.0.0.1:${port}/team/app:v1`, "-o", join(work, "never"), "--json"]);
    expect(down.status).toBe(3);
    expect(down.stderr.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(down.stdout).error.code).toBeTypeOf("string");

    const layer = cli(["ls", `${registry.host}/team/app:v1`, "--layer", "7"]);
    expect(layer.status).toBe(2);
    expect(layer.stderr).toContain("has 2 layer(s)");

    const missing = cli(["inspect", "--blob", `${registry.host}/team/app@sha256:${"0".repeat(64)}`, "--json"]);
    expect(missing.status).toBe(4);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: "NOT_FOUND" } });
  });
});
