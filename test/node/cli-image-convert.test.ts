/**
 * `image convert`, `image verify` and `ls`/`cat`/`inspect` of an image through the real bin,
 * against Debian's docker-registry on 127.0.0.1 (htpasswd auth) and OCI layouts; skopeo reads
 * what convert wrote.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../../src/runtime/node.js";
import { openLayout } from "../../src/oci/layout-node.js";
import { RegistryClient } from "../../src/registry/client.js";
import { baseTar, UPPER_OS_RELEASE, upperTar } from "../fixtures/image-tars.js";
import { makeImage, pushImages, type TestImage, writeLayoutImage } from "../support/images.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";
import { buildCli, runCli } from "./cli-run.js";

const TIMEOUT = 180_000;
let work: string;
let registry: TestRegistry;
let env: Record<string, string>;
let gzip: TestImage;
let layoutDir: string;

function cli(args: string[]) {
  return runCli(args, { env });
}

function json<T>(args: string[]): T {
  const r = cli([...args, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as T;
}

beforeAll(async () => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-cli-image-"));
  registry = await startRegistry("htpasswd");
  env = { LAYERKIT_REGISTRY_USER: registry.username, LAYERKIT_REGISTRY_PASSWORD: registry.password };
  const client = new RegistryClient(registry.host, { credentials: { username: registry.username, password: registry.password } });
  gzip = await makeImage([baseTar(1 << 20), upperTar()], "gzip");
  await pushImages(client, "cli/app", "v1", [gzip]);
  layoutDir = join(work, "layout");
  await writeLayoutImage(await openLayout(layoutDir, { create: true }), "v1", gzip);
}, TIMEOUT);

afterAll(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("image convert", () => {
  it("registry → registry to zstd:chunked; --json lists each layer's old and new digest, size and format; skopeo inspects it", () => {
    const r = json<
      {
        descriptor: { digest: string };
        images: {
          layers: {
            action: string;
            from: { digest: string; size: number; format: string };
            to: { digest: string; size: number; format: string };
          }[];
        }[];
      }
    >([
      "image",
      "convert",
      `docker://${registry.host}/cli/app:v1`,
      `${registry.host}/cli/app:zc`,
      "--format",
      "zstd:chunked",
    ]);
    const layers = r.images[0]!.layers;
    expect(layers.map((l) => [l.action, l.from.format, l.to.format])).toEqual([["converted", "gzip", "zstd:chunked"], [
      "converted",
      "gzip",
      "zstd:chunked",
    ]]);
    expect(layers.map((l) => l.from.digest)).toEqual(gzip.layers.map((l) => l.result.digest));
    const inspected = JSON.parse(
      execFileSync("skopeo", [
        "inspect",
        "--tls-verify=false",
        "--creds",
        `${registry.username}:${registry.password}`,
        `docker://${registry.host}/cli/app:zc`,
      ], { encoding: "utf8" }),
    ) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(r.descriptor.digest);
    expect(inspected.Layers).toEqual(layers.map((l) => l.to.digest));
    // The same command again gives the same digest.
    const again = json<{ descriptor: { digest: string } }>([
      "image",
      "convert",
      `docker://${registry.host}/cli/app:v1`,
      `${registry.host}/cli/app:zc2`,
      "--format",
      "zstd:chunked",
    ]);
    expect(again.descriptor.digest).toBe(r.descriptor.digest);
  }, TIMEOUT);

  it("a Docker manifest with zstd is refused, usage and format errors exit non-zero", () => {
    const r = cli([
      "image",
      "convert",
      `docker://${registry.host}/cli/app:v1`,
      `oci:${join(work, "refused")}`,
      "--format",
      "zstd",
      "--manifest-type",
      "docker",
      "--json",
    ]);
    expect(r.status).not.toBe(0);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: "UNSUPPORTED_FORMAT" });
    expect(JSON.parse(r.stdout).error.message).toContain("use an OCI manifest");
    expect(cli(["image", "convert", `docker://${registry.host}/cli/app:v1`]).status).toBe(2);
  }, TIMEOUT);
});

describe("image verify", () => {
  it("passes a converted image with a line per layer, fails a corrupted layout with exit 1", () => {
    const ok = cli(["image", "verify", `docker://${registry.host}/cli/app:zc`]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.split("\n").filter((l) => l.startsWith("ok   "))).toHaveLength(2);
    const dir = join(work, "corrupt");
    execFileSync("cp", ["-r", layoutDir, dir]);
    const path = join(dir, "blobs/sha256", gzip.layers[1]!.result.digest.slice(7));
    const b = readFileSync(path);
    b[b.length >> 1] = b[b.length >> 1]! ^ 0x10;
    writeFileSync(path, b);
    const bad = cli(["image", "verify", `oci:${dir}:v1`, "--json"]);
    expect(bad.status).toBe(1);
    const report = JSON.parse(bad.stdout) as { ok: boolean; images: { layers: { ok: boolean }[] }[] };
    expect(report.ok).toBe(false);
    expect(report.images[0]!.layers.map((l) => l.ok)).toEqual([true, false]);
  }, TIMEOUT);
});

describe("ls, cat and inspect of an image", () => {
  it("cat follows symlinks inside the image; --no-follow refuses the link; ls shows the merged tree; inspect the layers", () => {
    const cat = cli(["cat", `docker://${registry.host}/cli/app:zc`, "/etc/os-release"]);
    expect(cat.status, cat.stderr).toBe(0);
    expect(cat.stdout).toBe(UPPER_OS_RELEASE);
    const noFollow = cli(["cat", `docker://${registry.host}/cli/app:zc`, "etc/os-release", "--no-follow"]);
    expect(noFollow.status).toBe(2);
    expect(noFollow.stderr).toContain("symlink");
    const rows = json<{ path: string; layer: number }[]>(["ls", `${registry.host}/cli/app:zc`, "etc"]);
    expect(rows.map((r) => r.path)).not.toContain("etc/removed");
    expect(rows.map((r) => r.path)).toContain("etc/opaque/new");
    const info = json<{ layers: { format: string; seekable: boolean }[]; notes: string[] }>([
      "inspect",
      `docker://${registry.host}/cli/app:zc`,
    ]);
    expect(info.layers.map((l) => [l.format, l.seekable])).toEqual([["zstd:chunked", true], ["zstd:chunked", true]]);
    // A gzip layout: streamed, with a note on stderr.
    const streamed = cli(["cat", `oci:${layoutDir}:v1`, "lib/os-release"]);
    expect(streamed.status).toBe(0);
    expect(streamed.stdout).toBe(UPPER_OS_RELEASE);
    expect(streamed.stderr).toContain("not seekable");
  }, TIMEOUT);
});
