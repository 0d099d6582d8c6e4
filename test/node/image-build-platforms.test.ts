/**
 * `image build` with several `--platform` values: one manifest per platform over the shared
 * `--layer` list (plus `P=PATH`, that platform's own top layer) and an OCI index with platform
 * descriptors, checked with skopeo (inspect --raw, inspect --override-arch, copy --all) and our
 * own `image verify`; deterministic; usage errors.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, runCli } from "./cli-run.js";

let work: string;
const skopeo = (...args: string[]): string => execFileSync("skopeo", args, { encoding: "utf8", maxBuffer: 1 << 26 });

beforeAll(() => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "lk-build-platforms-"));
  for (const [d, f, text] of [["common", "etc/os-release", "ID=test\n"], ["amd", "bin/tool", "amd64\n"], ["arm", "bin/tool", "arm64\n"]]) {
    mkdirSync(join(work, d!, f!, ".."), { recursive: true });
    writeFileSync(join(work, d!, f!), text!);
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function build(out: string, extra: string[] = []) {
  return runCli([
    "image",
    "build",
    "--layer",
    join(work, "common"),
    "--platform",
    `linux/amd64=${join(work, "amd")}`,
    "--platform",
    `linux/arm64/v8=${join(work, "arm")}`,
    "--platform",
    "linux/s390x",
    "--format",
    "zstd:chunked",
    "--mtime",
    "0",
    "-o",
    out,
    "--tag",
    "v1",
    "--json",
    ...extra,
  ]);
}

describe("image build --platform ×3", () => {
  it("writes an OCI index of one manifest per platform that skopeo reads and copies with --all", () => {
    const out = join(work, "oci");
    const r = build(out);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    const index = JSON.parse(skopeo("inspect", "--raw", `oci:${out}:v1`));
    expect(index.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(index.manifests.map((m: { platform: unknown }) => m.platform)).toEqual([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux", variant: "v8" },
      { architecture: "s390x", os: "linux" },
    ]);
    expect(j.manifest.digest).toBe(
      "sha256:" + execFileSync("sha256sum", { input: skopeo("inspect", "--raw", `oci:${out}:v1`) }).toString().slice(0, 64),
    );
    const layersOf = (arch: string, variant?: string) =>
      JSON.parse(skopeo("inspect", "--override-arch", arch, ...(variant ? ["--override-variant", variant] : []), `oci:${out}:v1`));
    const amd = layersOf("amd64");
    const arm = layersOf("arm64", "v8");
    const s390x = layersOf("s390x");
    expect([amd.Architecture, arm.Architecture, s390x.Architecture]).toEqual(["amd64", "arm64", "s390x"]);
    // The shared layer is one blob under every platform; each platform's own layer is its own.
    expect(amd.Layers[0]).toBe(arm.Layers[0]);
    expect(s390x.Layers).toEqual([amd.Layers[0]]);
    expect(amd.Layers[1]).not.toBe(arm.Layers[1]);
    expect(amd.Layers).toHaveLength(2);

    const copy = join(work, "copy");
    skopeo("copy", "--all", `oci:${out}:v1`, `oci:${copy}:v1`);
    expect(JSON.parse(skopeo("inspect", "--raw", `oci:${copy}:v1`)).manifests).toHaveLength(3);
    const v = runCli(["image", "verify", `oci:${out}:v1`, "--json"]);
    expect(v.status, v.stdout + v.stderr).toBe(0);
    // Each platform's config names its own architecture; its layer holds its own file.
    const cfg = JSON.parse(skopeo("inspect", "--config", "--override-arch", "arm64", "--override-variant", "v8", `oci:${out}:v1`));
    expect([cfg.architecture, cfg.variant, cfg.rootfs.diff_ids.length]).toEqual(["arm64", "v8", 2]);
    const cat = runCli(["cat", `oci:${out}:v1`, "bin/tool", "--platform", "linux/arm64/v8"]);
    expect(cat.stdout).toBe("arm64\n");
  });

  it("is deterministic, and one --platform still gives a plain manifest", () => {
    const a = build(join(work, "a"));
    const b = build(join(work, "b"));
    expect(JSON.parse(a.stdout).manifest.digest).toBe(JSON.parse(b.stdout).manifest.digest);
    expect(readFileSync(join(work, "a/index.json"), "utf8")).toBe(readFileSync(join(work, "b/index.json"), "utf8"));
    const one = runCli([
      "image",
      "build",
      "--layer",
      join(work, "common"),
      "--platform",
      "linux/arm64",
      "--format",
      "gzip",
      "-o",
      join(work, "one"),
    ]);
    expect(one.status, one.stderr).toBe(0);
    expect(JSON.parse(skopeo("inspect", "--raw", `oci:${join(work, "one")}:latest`)).mediaType).toBe(
      "application/vnd.oci.image.manifest.v1+json",
    );
  });

  it("usage errors: a platform twice, contentmeta builds with several platforms, per-layer formats with P=PATH", () => {
    const twice = runCli([
      "image",
      "build",
      "--layer",
      join(work, "common"),
      "--platform",
      "linux/arm64",
      "--platform",
      "linux/arm64",
      "--format",
      "gzip",
      "-o",
      join(work, "x"),
    ]);
    expect([twice.status, twice.stderr]).toEqual([2, expect.stringContaining("given twice")]);
    const content = runCli([
      "image",
      "build",
      "--rootfs",
      join(work, "common"),
      "--contentmeta",
      join(work, "none.json"),
      "--platform",
      "linux/amd64",
      "--platform",
      "linux/arm64",
      "--format",
      "gzip",
      "-o",
      join(work, "x"),
    ]);
    expect([content.status, content.stderr]).toEqual([2, expect.stringContaining("builds one platform")]);
    const formats = runCli([
      "image",
      "build",
      "--layer",
      join(work, "common"),
      "--layer",
      join(work, "amd"),
      "--platform",
      `linux/arm64=${join(work, "arm")}`,
      "--format",
      "gzip",
      "--format",
      "zstd",
      "-o",
      join(work, "x"),
    ]);
    expect([formats.status, formats.stderr]).toEqual([2, expect.stringContaining("give --format once")]);
  });
});
