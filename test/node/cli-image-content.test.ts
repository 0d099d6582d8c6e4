/**
 * `layerkit image build --rootfs … --contentmeta …` through the real bin: the layout skopeo
 * reads, the JSON report, --strict, and a bad contentmeta's exit code and message.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, runCli } from "./cli-run.js";

let work: string;
let tree: string;
let cm: string;

beforeAll(() => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-cli-content-"));
  tree = join(work, "rootfs");
  mkdirSync(join(tree, "usr/bin"), { recursive: true });
  mkdirSync(join(tree, "etc"));
  writeFileSync(join(tree, "usr/bin/tool"), "tool\n");
  writeFileSync(join(tree, "etc/os-release"), "ID=demo\n");
  writeFileSync(join(tree, "etc/stray"), "stray\n");
  cm = join(work, "cm.json");
  writeFileSync(
    cm,
    JSON.stringify({
      version: 1,
      created: "2024-01-02T03:04:05Z",
      labels: { "org.example": "yes" },
      layers: { os: "os-release", tools: "tool" },
      mapping: { "/usr/bin/tool": "tools", "/etc/os-release": "os" },
      ordered: true,
    }),
  );
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("image build --rootfs --contentmeta", () => {
  it("builds the declared layers plus an unmapped one; skopeo inspects it; a rebuild has the same digest", () => {
    const args = (
      out: string,
    ): string[] => [
      "image",
      "build",
      "--rootfs",
      tree,
      "--contentmeta",
      cm,
      "--format",
      "zstd:chunked",
      "-o",
      out,
      "--tag",
      "v1",
      "--mtime",
      "0",
      "--json",
    ];
    const r = runCli(args(join(work, "oci")));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as {
      manifest: { digest: string };
      unmapped: number;
      layers: Array<{ id?: string; name: string; entries: number; format: string }>;
    };
    expect(out.layers.map((l) => [l.id, l.name, l.entries, l.format])).toEqual([
      ["os", "os-release", 2, "zstd:chunked"],
      ["tools", "tool", 3, "zstd:chunked"],
      [undefined, "unmapped", 2, "zstd:chunked"],
    ]);
    expect(out.unmapped).toBe(1);
    const inspected = JSON.parse(execFileSync("skopeo", ["inspect", `oci:${join(work, "oci")}:v1`], { encoding: "utf8" })) as {
      Layers: string[];
      Labels: Record<string, string>;
    };
    expect(inspected.Layers).toHaveLength(3);
    expect(inspected.Labels).toEqual({ "org.example": "yes" });
    const again = JSON.parse(runCli(args(join(work, "oci2"))).stdout) as { manifest: { digest: string } };
    expect(again.manifest.digest).toBe(out.manifest.digest);
  });

  it("--strict refuses the unmapped file; a bad contentmeta exits 2 naming the entry", () => {
    const strict = runCli(["image", "build", "--rootfs", tree, "--contentmeta", cm, "--format", "zstd", "-o", join(work, "s"), "--strict"]);
    expect(strict.status).toBe(2);
    expect(strict.stderr).toContain(`1 entry is not mapped (strict): "/etc/stray" [BAD_CONTENTMETA]`);
    const bad = join(work, "bad.json");
    writeFileSync(bad, `{"version":1,"layers":{"a":"A"},"mapping":{"/etc/os-release":"a","/etc/os-release":"a"}}`);
    const r = runCli(["image", "build", "--rootfs", tree, "--contentmeta", bad, "--format", "zstd", "-o", join(work, "b"), "--json"]);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout || r.stderr)).toMatchObject({
      error: { code: "BAD_CONTENTMETA", message: expect.stringMatching(/duplicate key "\/etc\/os-release" at byte \d+ \(in "mapping"\)/) },
    });
    const two = runCli([
      "image",
      "build",
      "--rootfs",
      tree,
      "--contentmeta",
      cm,
      "--format",
      "zstd",
      "--format",
      "gzip",
      "-o",
      join(work, "c"),
    ]);
    expect(two.status).toBe(2);
    expect(two.stderr).toContain("give --format exactly once");
  });
});
