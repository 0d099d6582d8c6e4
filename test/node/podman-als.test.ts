/**
 * Debian 12's podman (4.3, c/storage 1.43) takes layers ready-made from a layerkit-exported
 * additional layer store: with `additionallayerstores = ["STORE:ref"]`, `podman pull` of a
 * two-layer image (gzip + zstd:chunked) fetches no layer blob from the registry (every request
 * goes through a counting proxy on 127.0.0.1), c/storage links the layers' diffs to the store and
 * `podman image mount` shows files of both layers (`podman run` is refused by this sandbox).
 *
 * Needs root and podman (`.ci/setup` installs it; CI runs as root): without them this test FAILS.
 * podman runs with its own storage.conf / containers.conf / registries.conf in a temp folder.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, listTree, runCli } from "./cli-run.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";

let work: string;
let registry: TestRegistry;
let proxy: Server;
let proxyHost: string;
const requests: string[] = [];
let env: Record<string, string>;

function podman(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("podman", args, { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  if (r.error) throw new Error(`podman could not run (${r.error.message}): install it with \`apt-get install podman\` (.ci/setup does)`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** podman without blocking the event loop (the counting proxy runs in this process). */
function podmanAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const p = spawn("podman", args, { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    p.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    p.on("error", fail);
    p.on("close", (status) => ok({ status, stdout, stderr }));
  });
}

function cli(args: string[]): string {
  const r = runCli(args);
  if (r.status !== 0) throw new Error(`layerkit ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function unmountUnder(root: string): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((m) =>
    m.startsWith(root)
  );
  for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync("umount", ["-l", m]);
}

/** A proxy to the registry that records `METHOD path` of every request. */
function startCountingProxy(target: string): Promise<Server> {
  const [host, port] = target.split(":");
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const up = request({ host, port: Number(port), method: req.method, path: req.url, headers: { ...req.headers, host: target } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("podman-als needs root (CI runs as root; podman's overlay driver needs it)");
  const v = spawnSync("podman", ["--version"], { encoding: "utf8" });
  if (v.error || v.status !== 0) throw new Error("podman is missing: `apt-get install podman` (.ci/setup installs it)");
  buildCli();
  work = mkdtempSync(join(tmpdir(), "lk-podman-als-"));
  registry = await startRegistry();
  proxy = await startCountingProxy(registry.host);
  const addr = proxy.address();
  if (addr === null || typeof addr === "string") throw new Error("proxy has no port");
  proxyHost = `127.0.0.1:${addr.port}`;
  mkdirSync(join(work, "store"));
  const cfg = join(work, "cfg");
  mkdirSync(cfg);
  mkdirSync(join(work, "tmp"));
  writeFileSync(
    join(cfg, "storage.conf"),
    `[storage]\ndriver = "overlay"\ngraphroot = "${work}/graph"\nrunroot = "${work}/run"\n[storage.options]\nadditionallayerstores = ["${work}/store:ref"]\n`,
  );
  writeFileSync(join(cfg, "containers.conf"), `[engine]\ntmp_dir = "${work}/tmp"\nimage_copy_tmp_dir = "${work}/tmp"\n`);
  writeFileSync(join(cfg, "registries.conf"), `unqualified-search-registries = []\n`);
  env = {
    CONTAINERS_STORAGE_CONF: join(cfg, "storage.conf"),
    CONTAINERS_CONF: join(cfg, "containers.conf"),
    CONTAINERS_REGISTRIES_CONF: join(cfg, "registries.conf"),
    TMPDIR: join(work, "tmp"),
  };
}, 120_000);

afterAll(async () => {
  await new Promise((ok) => (proxy ? proxy.close(ok) : ok(undefined)));
  await registry?.stop();
  if (work) {
    podman(["rm", "-a", "-f"]);
    unmountUnder(work);
    rmSync(work, { recursive: true, force: true });
  }
});

describe("podman 4.3 uses a layerkit-exported additional layer store", () => {
  it("pulls without fetching a layer blob; its root file system mounts from the store", async () => {
    const base = join(work, "base");
    const top = join(work, "top");
    mkdirSync(join(base, "bin"), { recursive: true });
    mkdirSync(join(top, "etc"), { recursive: true });
    // A static busybox would be ideal; the host's `cat` and its libraries make the command.
    for (const f of ["/bin/cat", ...libsOf("/bin/cat")]) copyInto(base, f);
    writeFileSync(join(top, "etc/hello"), "hello from the additional layer store\n");
    const layout = join(work, "oci");
    cli(["image", "build", "--layer", base, "--layer", top, "--format", "gzip", "--format", "zstd:chunked", "-o", layout, "--tag", "v1"]);
    const ref = `${proxyHost}/layerkit/als:v1`;
    // Pushed past the proxy (a blocking child would stall it); pulled through it.
    cli(["push", layout, `${registry.host}/layerkit/als:v1`]);
    const manifest = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")).manifests[0].digest.split(":")[1];
    const layers: string[] = JSON.parse(readFileSync(join(layout, "blobs/sha256", manifest), "utf8")).layers.map((l: { digest: string }) =>
      l.digest
    );
    expect(layers).toHaveLength(2);

    const out = JSON.parse(cli(["als", "export", `oci:${layout}:v1`, join(work, "store"), "--ref", ref, "--json"]));
    expect(out.layers.map((l: { status: string }) => l.status)).toEqual(["written", "written"]);
    // Nothing half-written is left next to the layer directories.
    expect(readdirSync(join(work, "store")).filter((n) => n.startsWith(".layerkit-partial-"))).toEqual([]);

    requests.length = 0;
    const pull = await podmanAsync(["--log-level=debug", "pull", "--tls-verify=false", ref]);
    if (pull.status !== 0) throw new Error(`podman pull exited ${pull.status}:\n${pull.stderr.slice(-4000)}`);
    const blobGets = requests.filter((r) => /^GET .*\/blobs\/sha256:/.test(r));
    // The config is a blob too; no layer blob may be fetched.
    expect(blobGets.filter((r) => layers.some((d) => r.endsWith(d)))).toEqual([]);
    expect(requests.some((r) => /\/manifests\//.test(r))).toBe(true);

    const inspect = podman(["image", "inspect", "--format", "{{.GraphDriver.Data.LowerDir}} {{.GraphDriver.Data.UpperDir}}", ref]);
    expect(inspect.status, inspect.stderr).toBe(0);
    // c/storage links each layer's diff to the store's (overlay.go CreateAs) instead of a copy.
    const diffs = inspect.stdout.trim().split(/[ :]/).filter((d) => d.length > 0);
    expect(diffs).toHaveLength(2);
    expect(diffs.map((d) => readlinkSync(d)).sort()).toEqual(out.layers.map((l: { path: string }) => join(l.path, "diff")).sort());
    expect(listTree(join(out.layers[1].path, "diff"))).toEqual(listTree(top));

    // The image's root file system, mounted by c/storage's overlay driver from the store's diffs.
    // (`podman run` itself is not asserted: on this machine crun's setrlimit(RLIMIT_NPROC) is
    // refused by the sandbox, whatever the image.)
    const mount = podman(["image", "mount", ref]);
    expect(mount.status, mount.stderr).toBe(0);
    const rootfs = mount.stdout.trim();
    expect(readFileSync(join(rootfs, "etc/hello"), "utf8")).toBe("hello from the additional layer store\n");
    expect(readFileSync(join(rootfs, "bin/cat"))).toEqual(readFileSync("/bin/cat"));
    expect(podman(["image", "unmount", ref]).status).toBe(0);
  }, 300_000);
});

/** The shared libraries `ldd` lists for `bin` (absolute paths). */
function libsOf(bin: string): string[] {
  const r = spawnSync("ldd", [bin], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ldd ${bin}: ${r.stderr}`);
  return [...r.stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
}

/** Copies host file `path` (following symlinks) to the same path under `root`. */
function copyInto(root: string, path: string): void {
  const dest = join(root, path);
  mkdirSync(join(dest, ".."), { recursive: true });
  writeFileSync(dest, readFileSync(path), { mode: 0o755 });
}
