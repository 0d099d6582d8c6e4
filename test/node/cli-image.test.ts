/**
 * `layerkit image build` through the real bin: layers from a directory, a tar and existing layer
 * blobs, read back by skopeo (inspect, and copy, which checks every blob digest).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, makeTree, runCli, sha256 } from "./cli-run.js";

let work: string;
let tree: string;

beforeAll(() => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-cli-image-"));
  tree = join(work, "tree");
  mkdirSync(tree);
  makeTree(tree);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function json<T>(args: string[]): T {
  const r = runCli([...args, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as T;
}

interface Created {
  digest: string;
  diffID: string;
  size: number;
  annotations: Record<string, string>;
  descriptor: { mediaType: string };
}

describe("image build", () => {
  it("directory + tar + existing zstd:chunked and estargz blobs → an OCI layout skopeo reads and copies", () => {
    const tarPath = join(work, "app.tar");
    mkdirSync(join(work, "app/opt"), { recursive: true });
    writeFileSync(join(work, "app/opt/hello.txt"), "hello\n");
    execFileSync("tar", ["-C", join(work, "app"), "-cf", tarPath, "opt"]);
    const chunked = json<Created>(["create", tree, "-o", join(work, "prebuilt.zst"), "--format", "zstd:chunked"]);
    const stargz = json<Created>(["create", join(work, "app"), "-o", join(work, "prebuilt.gz"), "--format", "estargz"]);

    const layout = join(work, "oci");
    const built = json<
      {
        manifest: { digest: string };
        layers: Array<{ format: string; diffID: string; descriptor: { digest: string; annotations?: Record<string, string> } }>;
      }
    >([
      "image",
      "build",
      "--layer",
      tree,
      "--layer",
      tarPath,
      "--layer",
      join(work, "prebuilt.zst"),
      "--layer",
      join(work, "prebuilt.gz"),
      "--format",
      "zstd",
      "--format",
      "gzip",
      "--format",
      "zstd:chunked",
      "--format",
      "estargz",
      "-o",
      layout,
      "--tag",
      "v1",
      "--mtime",
      "0",
    ]);
    expect(built.layers.map((l) => l.format)).toEqual(["zstd", "gzip", "zstd:chunked", "estargz"]);
    // Existing blobs are described exactly as their writer described them.
    expect(built.layers[2]!.descriptor.annotations).toEqual(chunked.annotations);
    expect(built.layers[2]!.diffID).toBe(chunked.diffID);
    expect(built.layers[3]!.descriptor.annotations).toEqual(stargz.annotations);
    expect(built.layers[3]!.diffID).toBe(stargz.diffID);
    // The tar layer is the tar file, compressed: its diffID is the file's digest.
    expect(built.layers[1]!.diffID).toBe(sha256(readFileSync(tarPath)));

    const raw = JSON.parse(execFileSync("skopeo", ["inspect", "--raw", `oci:${layout}:v1`], { encoding: "utf8" })) as {
      layers: Array<{ mediaType: string; digest: string; annotations?: Record<string, string> }>;
    };
    expect(sha256(Buffer.from(execFileSync("skopeo", ["inspect", "--raw", `oci:${layout}:v1`])))).toBe(built.manifest.digest);
    expect(raw.layers.map((l) => l.mediaType)).toEqual([
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.v1.tar+gzip",
    ]);
    expect(raw.layers[2]!.digest).toBe(chunked.digest);
    const config = JSON.parse(execFileSync("skopeo", ["inspect", "--config", "--raw", `oci:${layout}:v1`], { encoding: "utf8" })) as {
      rootfs: { diff_ids: string[] };
      os: string;
      architecture: string;
    };
    expect(config.rootfs.diff_ids).toEqual(built.layers.map((l) => l.diffID));
    expect([config.os, config.architecture]).toEqual(["linux", "amd64"]);
    // skopeo copy re-reads every blob and checks its digest.
    const copy = spawnSync("skopeo", ["copy", `oci:${layout}:v1`, `dir:${join(work, "copied")}`], { encoding: "utf8" });
    expect(copy.stderr).toBe("");
    expect(copy.status).toBe(0);
    expect(readFileSync(join(work, "copied", chunked.digest.slice(7))).equals(readFileSync(join(work, "prebuilt.zst")))).toBe(true);
  });

  it("is reproducible: the same inputs give the same manifest digest", () => {
    const a = json<{ manifest: { digest: string } }>([
      "image",
      "build",
      "--layer",
      tree,
      "--format",
      "zstd:chunked",
      "-o",
      join(work, "r1"),
      "--mtime",
      "0",
    ]);
    const b = json<{ manifest: { digest: string } }>([
      "image",
      "build",
      "--layer",
      tree,
      "--format",
      "zstd:chunked",
      "-o",
      join(work, "r2"),
      "--mtime",
      "0",
    ]);
    expect(a.manifest.digest).toBe(b.manifest.digest);
  });

  it("bad input: usage errors exit 2; a non-layer file exits non-zero and leaves no layout behind", () => {
    const noFormat = runCli(["image", "build", "--layer", tree, "-o", join(work, "bad1")]);
    expect(noFormat.status).toBe(2);
    expect(noFormat.stderr).toContain("--format is required");
    const counts = runCli([
      "image",
      "build",
      "--layer",
      tree,
      "--layer",
      tree,
      "--layer",
      tree,
      "--format",
      "zstd",
      "--format",
      "gzip",
      "-o",
      join(work, "bad2"),
    ]);
    expect(counts.status).toBe(2);
    const sub = runCli(["image", "push", "--layer", tree, "-o", join(work, "bad3")]);
    expect(sub.status).toBe(2);
    expect(sub.stderr).toContain("Run 'layerkit image --help'");

    const junk = join(work, "junk.bin");
    writeFileSync(junk, Buffer.from("this is not a layer, nor a tar, just text.\n".repeat(20)));
    const r = runCli(["image", "build", "--layer", tree, "--layer", junk, "--format", "zstd", "-o", join(work, "bad4"), "--json"]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: "BAD_MAGIC" } });
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(existsSync(join(work, "bad4"))).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes("bad4"))).toEqual([]);
  });
});
