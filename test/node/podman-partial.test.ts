/**
 * Debian 12's podman (4.3, c/storage 1.43) partial-pulls a layerkit-pushed zstd:chunked image
 * from Debian's docker-registry on 127.0.0.1: with the default annotation keys (current + old) its
 * debug log says "Retrieved partial blob" and the layer's extracted tree equals the source tree;
 * with the current keys alone it does not take the partial path (it knows only the old keys).
 *
 * Needs root and podman (`.ci/setup` installs it; CI runs as root): without them this test FAILS.
 * podman runs with its own storage.conf / containers.conf / registries.conf in a temp folder
 * (overlay driver, temp graphroot and runroot), never the machine's.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, listTree, makeTree, runCli } from "./cli-run.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";

let work: string;
let registry: TestRegistry;
let env: Record<string, string>;

function podman(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("podman", args, { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  if (r.error) throw new Error(`podman could not run (${r.error.message}): install it with \`apt-get install podman\` (.ci/setup does)`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function cli(args: string[]): string {
  const r = runCli(args);
  if (r.status !== 0) throw new Error(`layerkit ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Unmounts whatever the overlay driver left mounted under `root` (deepest first). */
function unmountUnder(root: string): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((m) =>
    m.startsWith(root)
  );
  for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync("umount", ["-l", m]);
}

beforeAll(async () => {
  // Fail, never skip: the partial-pull proof is only worth something where it runs.
  if (process.getuid?.() !== 0) throw new Error("podman-partial needs root (CI runs as root; podman's overlay driver needs it)");
  const v = spawnSync("podman", ["--version"], { encoding: "utf8" });
  if (v.error || v.status !== 0) throw new Error("podman is missing: `apt-get install podman` (.ci/setup installs it)");
  buildCli();
  work = mkdtempSync(join(tmpdir(), "lk-podman-"));
  const cfg = join(work, "cfg");
  mkdirSync(cfg);
  mkdirSync(join(work, "tmp"));
  writeFileSync(
    join(cfg, "storage.conf"),
    `[storage]\ndriver = "overlay"\ngraphroot = "${work}/graph"\nrunroot = "${work}/run"\n[storage.options.pull_options]\nenable_partial_images = "true"\n`,
  );
  writeFileSync(join(cfg, "containers.conf"), `[engine]\ntmp_dir = "${work}/tmp"\nimage_copy_tmp_dir = "${work}/tmp"\n`);
  writeFileSync(join(cfg, "registries.conf"), `unqualified-search-registries = []\n`);
  env = {
    CONTAINERS_STORAGE_CONF: join(cfg, "storage.conf"),
    CONTAINERS_CONF: join(cfg, "containers.conf"),
    CONTAINERS_REGISTRIES_CONF: join(cfg, "registries.conf"),
    TMPDIR: join(work, "tmp"),
  };
  registry = await startRegistry();
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (work) {
    unmountUnder(work);
    rmSync(work, { recursive: true, force: true });
  }
});

/** Builds and pushes an image of `tree` with `--annotation-keys keys`; pulls it with podman. */
function pushAndPull(tree: string, name: string, keys: string): { log: string; diff: string } {
  const layout = join(work, `${name}-oci`);
  cli(["image", "build", "--layer", tree, "--format", "zstd:chunked", "--annotation-keys", keys, "-o", layout, "--tag", "v1"]);
  const ref = `${registry.host}/layerkit/${name}:v1`;
  cli(["push", layout, ref]);
  const pull = podman(["--log-level=debug", "pull", "--tls-verify=false", ref]);
  if (pull.status !== 0) throw new Error(`podman pull exited ${pull.status}:\n${pull.stderr.slice(-4000)}`);
  const inspect = podman(["image", "inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", ref]);
  expect(inspect.status, inspect.stderr).toBe(0);
  return { log: pull.stderr, diff: inspect.stdout.trim() };
}

describe("podman 4.3 partial-pulls layerkit's zstd:chunked images", () => {
  it("default keys: 'Retrieved partial blob', and the extracted layer equals the source tree", () => {
    const tree = join(work, "tree");
    makeTree(tree);
    const { log, diff } = pushAndPull(tree, "both", "both");
    expect(log).toMatch(/Retrieved partial blob sha256:[0-9a-f]{64}/);
    expect(log).not.toMatch(/Failed to retrieve partial blob/);
    // c/storage 1.43's partial pull drops FIFOs (storage_linux.go ignores them): the only
    // difference it is allowed. Names, types, sizes, contents (digests), modes and symlink
    // targets must be equal.
    const source = listTree(tree).filter((f) => f.type !== "fifo");
    expect(listTree(diff)).toEqual(source);
  }, 300_000);

  it("current keys alone: podman 4.3 does not take the partial path (what the old keys fix)", () => {
    const tree = join(work, "tree2");
    mkdirSync(join(tree, "etc"), { recursive: true });
    writeFileSync(join(tree, "etc/only-current"), "current keys only\n");
    const { log, diff } = pushAndPull(tree, "current", "current");
    expect(log).not.toMatch(/Retrieved partial blob/);
    // It still pulls the image whole (a zstd blob any client decompresses).
    expect(listTree(diff)).toEqual(listTree(tree));
  }, 300_000);
});
