/**
 * `image append` (appendImage and the real bin): a directory and a tar added to an OCI layout
 * image and to a registry image (Debian's docker-registry on 127.0.0.1, a Docker schema 2 base
 * that comes out OCI), config fields set, history kept and added, diff_ids right, `image verify`
 * and skopeo inspect on the result, same inputs → same digest; bad input: typed errors, exit
 * codes, nothing tagged.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../../src/runtime/node.js";
import { appendImage } from "../../src/image/append-image.js";
import { RegistryImage } from "../../src/image/image-source.js";
import { openImage } from "../../src/image/open-image.js";
import { verifyImage } from "../../src/image/verify-image.js";
import { openLayout } from "../../src/oci/layout-node.js";
import { OCI_LAYER_GZIP, OCI_MANIFEST } from "../../src/oci/media-types.js";
import type { ImageConfig, ImageManifest } from "../../src/oci/types.js";
import { RegistryClient } from "../../src/registry/client.js";
import { baseTar, upperTar } from "../fixtures/image-tars.js";
import { makeImage, pushImages, writeLayoutImage } from "../support/images.js";
import { expectCode, readAll, startRegistry, type TestRegistry } from "../support/registry.js";
import { buildCli, makeTree, runCli, sha256 } from "./cli-run.js";

const TIMEOUT = 240_000;
let registry: TestRegistry;
let client: RegistryClient;
let work: string;
let tree: string;
let tarPath: string;
let baseLayout: string;
let baseDiffIDs: string[];

const skopeo = (args: string[]): string => execFileSync("skopeo", args, { encoding: "utf8", maxBuffer: 1 << 28 });
const dec = new TextDecoder();

beforeAll(async () => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-image-append-"));
  tree = join(work, "tree");
  mkdirSync(tree);
  makeTree(tree);
  mkdirSync(join(work, "app/opt"), { recursive: true });
  writeFileSync(join(work, "app/opt/hello.txt"), "hello\n");
  tarPath = join(work, "app.tar");
  execFileSync("tar", ["-C", join(work, "app"), "--mtime=@0", "--owner=0", "--group=0", "-cf", tarPath, "opt"]);
  registry = await startRegistry("none");
  client = new RegistryClient(registry.host);
  const img = await makeImage([baseTar(), upperTar()], "gzip");
  baseDiffIDs = img.built.config.value.rootfs.diff_ids;
  baseLayout = join(work, "base");
  await writeLayoutImage(await openLayout(baseLayout, { create: true }), "v1", img);
  await pushImages(client, "base/docker", "v1", [await makeImage([baseTar(), upperTar()], "gzip", { docker: true })]);
  const arm = await makeImage([baseTar(1 << 20)], "gzip", { platform: { os: "linux", architecture: "arm64", variant: "v8" } });
  await pushImages(client, "base/multi", "v1", [img, arm]);
}, TIMEOUT);

afterAll(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function json<T>(args: string[]): T {
  const r = runCli([...args, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** The manifest and config the layout's `tag` names. */
async function layoutImage(dir: string, tag: string): Promise<{ manifest: ImageManifest; config: ImageConfig; digest: string }> {
  const layout = await openLayout(dir);
  const d = await layout.resolve(tag);
  const manifest = JSON.parse(dec.decode(await layout.readBlob(d.digest, { size: d.size }))) as ImageManifest;
  const config = JSON.parse(dec.decode(await layout.readBlob(manifest.config.digest, { size: manifest.config.size }))) as ImageConfig;
  return { manifest, config, digest: d.digest };
}

interface Appended {
  descriptor: { digest: string };
  layers: { diffID: string; format: string; descriptor: { digest: string; mediaType: string } }[];
}

describe("image append (CLI, OCI layout)", () => {
  const flags = [
    "--entrypoint",
    '["/bin/app","-v"]',
    "--cmd",
    "serve",
    "--env",
    "PATH=/opt/bin:/usr/bin",
    "--env",
    "MODE=prod",
    "--workdir",
    "/opt",
    "--user",
    "1000:1000",
    "--label",
    "org.example.team=infra",
    "--annotation",
    "org.example.build=42",
    "--created",
    "2024-01-02T03:04:05Z",
    "--mtime",
    "0",
  ];

  it("adds a directory and a tar as zstd:chunked layers, sets the config, keeps and adds history; verify and skopeo read it", async () => {
    const out = join(work, "out");
    const r = json<Appended>([
      "image",
      "append",
      `oci:${baseLayout}:v1`,
      "--layer",
      tree,
      "--layer",
      tarPath,
      "--format",
      "zstd:chunked",
      "-t",
      `oci:${out}:v2`,
      ...flags,
    ]);
    const { manifest, config, digest } = await layoutImage(out, "v2");
    expect(digest).toBe(r.descriptor.digest);
    expect(manifest.mediaType).toBe(OCI_MANIFEST);
    expect(manifest.layers).toHaveLength(4);
    expect(manifest.annotations).toEqual({ "org.example.build": "42" });
    expect(manifest.layers.slice(2).map((l) => l.digest)).toEqual(r.layers.map((l) => l.descriptor.digest));
    expect(r.layers.map((l) => l.format)).toEqual(["zstd:chunked", "zstd:chunked"]);
    expect(config.rootfs.diff_ids).toEqual([...baseDiffIDs, ...r.layers.map((l) => l.diffID)]);
    // The tar layer's diffID is the tar file's own digest.
    expect(r.layers[1]!.diffID).toBe(sha256(readFileSync(tarPath)));
    expect(config.config).toEqual({
      Entrypoint: ["/bin/app", "-v"],
      Cmd: ["serve"],
      Env: ["PATH=/opt/bin:/usr/bin", "MODE=prod"],
      WorkingDir: "/opt",
      User: "1000:1000",
      Labels: { "org.example.team": "infra" },
    });
    expect(config.created).toBe("2024-01-02T03:04:05Z");
    expect(config.history).toEqual([
      { created_by: "layer 0" },
      { created_by: "layer 1" },
      { created: "2024-01-02T03:04:05Z", created_by: "layerkit image append --layer tree (zstd:chunked)" },
      { created: "2024-01-02T03:04:05Z", created_by: "layerkit image append --layer app.tar (zstd:chunked)" },
    ]);
    const verify = runCli(["image", "verify", `oci:${out}:v2`]);
    expect(verify.stdout + verify.stderr).toMatch(/: ok$/m);
    expect(verify.status).toBe(0);
    const inspected = JSON.parse(skopeo(["inspect", `oci:${out}:v2`])) as {
      Layers: string[];
      Env: string[];
      Labels: Record<string, string>;
    };
    expect(inspected.Layers).toEqual(manifest.layers.map((l) => l.digest));
    expect(inspected.Env).toEqual(["PATH=/opt/bin:/usr/bin", "MODE=prod"]);
    expect(inspected.Labels).toEqual({ "org.example.team": "infra" });

    // Same inputs and options: the same manifest digest.
    const again = json<Appended>([
      "image",
      "append",
      `oci:${baseLayout}:v1`,
      "--layer",
      tree,
      "--layer",
      tarPath,
      "--format",
      "zstd:chunked",
      "-t",
      `oci:${join(work, "out2")}:x`,
      ...flags,
    ]);
    expect(again.descriptor.digest).toBe(r.descriptor.digest);
  }, TIMEOUT);

  it("appends an existing layer blob byte for byte", async () => {
    const blob = join(work, "layer.gz");
    const made = json<{ digest: string; diffID: string }>(["create", tree, "-o", blob, "--format", "gzip", "--mtime", "0"]);
    const out = join(work, "blob-out");
    const r = json<Appended>(["image", "append", `oci:${baseLayout}:v1`, "--layer", blob, "-t", `oci:${out}:v1`]);
    const { manifest, config } = await layoutImage(out, "v1");
    expect(manifest.layers[2]!.digest).toBe(made.digest);
    expect(manifest.layers[2]!.mediaType).toBe(OCI_LAYER_GZIP);
    expect(config.rootfs.diff_ids[2]).toBe(made.diffID);
    expect(r.layers[0]!.diffID).toBe(made.diffID);
    expect(runCli(["image", "verify", `oci:${out}:v1`]).status).toBe(0);
  }, TIMEOUT);

  it("image build takes the same config flags", async () => {
    const out = join(work, "built");
    json(["image", "build", "--layer", tree, "--format", "gzip", "-o", out, "--tag", "v1", ...flags]);
    const { manifest, config } = await layoutImage(out, "v1");
    expect(config.config?.Entrypoint).toEqual(["/bin/app", "-v"]);
    expect(config.config?.Env).toEqual(["PATH=/opt/bin:/usr/bin", "MODE=prod"]);
    expect(config.history).toEqual([{ created: "2024-01-02T03:04:05Z", created_by: "layerkit image build --layer tree (gzip)" }]);
    expect(manifest.annotations).toEqual({ "org.example.build": "42" });
  }, TIMEOUT);

  it("bad input: typed errors and exit codes, nothing tagged", async () => {
    const out = join(work, "bad");
    const missingTag = runCli([
      "image",
      "append",
      `oci:${baseLayout}:nope`,
      "--layer",
      tree,
      "--format",
      "gzip",
      "-t",
      `oci:${out}:v1`,
      "--json",
    ]);
    expect(missingTag.status).toBe(4);
    expect(JSON.parse(missingTag.stdout).error.code).toBe("NOT_FOUND");
    const noLayer = runCli([
      "image",
      "append",
      `oci:${baseLayout}:v1`,
      "--layer",
      join(work, "no-such"),
      "--format",
      "gzip",
      "-t",
      `oci:${out}:v1`,
      "--json",
    ]);
    expect(noLayer.status).toBe(4);
    expect(JSON.parse(noLayer.stdout).error.code).toBe("NOT_FOUND");
    const env = runCli([
      "image",
      "append",
      `oci:${baseLayout}:v1`,
      "--layer",
      tree,
      "--format",
      "gzip",
      "-t",
      `oci:${out}:v1`,
      "--env",
      "NOEQUALS",
    ]);
    expect(env.status).toBe(2);
    expect(env.stderr).toMatch(/NOEQUALS.*KEY=VALUE/);
    // Nothing named v1 at the target, whatever was written before the failure.
    const layout = await openLayout(out, { create: true });
    await expectCode(layout.resolve("v1"), "NOT_FOUND");
  }, TIMEOUT);
});

describe("appendImage (registry)", () => {
  it("Docker schema 2 base + a zstd:chunked layer → an OCI image skopeo and verifyImage accept; same digest twice", async () => {
    const tar = async () => new Blob([readFileSync(tarPath)]).stream();
    const run = (tag: string) =>
      appendImage(new RegistryImage(client, "base/docker", "v1"), new RegistryImage(client, "out/app", tag), [{
        kind: "tar",
        tar,
        format: "zstd:chunked",
        createdBy: "test",
      }], {
        env: ["EXTRA=1"],
      });
    const r = await run("v1");
    const doc = await client.getManifest("out/app", "v1");
    expect(doc.descriptor.digest).toBe(r.descriptor.digest);
    const manifest = doc.parsed.manifest as ImageManifest;
    expect(manifest.mediaType).toBe(OCI_MANIFEST);
    expect(manifest.layers.slice(0, 2).every((l) => l.mediaType === OCI_LAYER_GZIP)).toBe(true);
    const config = JSON.parse(dec.decode(await readAll(await client.openBlob("out/app", manifest.config)))) as ImageConfig;
    expect(config.rootfs.diff_ids).toHaveLength(3);
    expect(config.rootfs.diff_ids[2]).toBe(sha256(readFileSync(tarPath)));
    expect(config.config?.Env).toEqual(["PATH=/usr/bin", "EXTRA=1"]);
    expect(config.config?.Cmd).toEqual(["/bin/sh"]);
    expect(config.history?.map((h) => h.created_by)).toEqual(["layer 0", "layer 1", "test"]);
    expect((await verifyImage(new RegistryImage(client, "out/app", "v1"))).ok).toBe(true);
    const inspected = JSON.parse(skopeo(["inspect", "--tls-verify=false", `docker://${registry.host}/out/app:v1`])) as { Layers: string[] };
    expect(inspected.Layers).toEqual(manifest.layers.map((l) => l.digest));
    expect((await run("v2")).descriptor.digest).toBe(r.descriptor.digest);
  }, TIMEOUT);

  it("an index base needs a platform; with one, the result is that platform's single manifest", async () => {
    const tar = async () => new Blob([readFileSync(tarPath)]).stream();
    const err = await expectCode(
      appendImage(new RegistryImage(client, "base/multi", "v1"), new RegistryImage(client, "out/multi", "v1"), [{
        kind: "tar",
        tar,
        format: "gzip",
      }]),
      "NOT_FOUND",
    );
    expect(err.message).toMatch(/linux\/arm64\/v8/);
    await expectCode(client.getManifest("out/multi", "v1"), "NOT_FOUND");
    const r = await appendImage(
      new RegistryImage(client, "base/multi", "v1"),
      await openImage(`docker://${registry.host}/out/multi:v1`),
      [{ kind: "tar", tar, format: "gzip" }],
      { platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    );
    expect(r.platform).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    const manifest = (await client.getManifest("out/multi", "v1")).parsed.manifest as ImageManifest;
    expect(manifest.layers).toHaveLength(2);
    const config = JSON.parse(dec.decode(await readAll(await client.openBlob("out/multi", manifest.config)))) as ImageConfig;
    expect(config.architecture).toBe("arm64");
    expect(config.history?.at(-1)?.created_by).toBe("layerkit append");
  }, TIMEOUT);
});
