/**
 * Issue 17.4/17.5/17.7/17.8: references as skopeo and crane users write them, `-` for stdin and
 * stdout, and credentials from flags and docker/podman auth files — through the real bin against
 * Debian's docker-registry on 127.0.0.1 (htpasswd, and token auth for `identitytoken`).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refreshTokenFor, startRegistry, type TestRegistry } from "../support/registry.js";
import { BIN, buildCli, noise, runCli, runCliAsync, sha256 } from "./cli-run.js";

let work: string;
let tree: string;
let layout: string;
let registry: TestRegistry;
let tokenRegistry: TestRegistry;
/** An environment with no credentials anywhere: HOME and XDG dirs point into the test directory. */
let bare: Record<string, string>;
let built: { manifest: { digest: string }; layers: Array<{ descriptor: { digest: string; size: number } }> };

const b64 = (s: string) => Buffer.from(s).toString("base64");

function run(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { env: { ...bare, ...env } });
}

function ok(args: string[], env: Record<string, string> = {}) {
  const r = run(args, env);
  expect(r.status, r.stderr).toBe(0);
  return r;
}

beforeAll(async () => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-cli-refs-"));
  tree = join(work, "tree");
  mkdirSync(join(tree, "usr/lib"), { recursive: true });
  writeFileSync(join(tree, "usr/lib/os-release"), 'NAME="layerkit refs"\n');
  writeFileSync(join(tree, "usr/lib/data.bin"), noise(300_000, 7));
  mkdirSync(join(work, "home"));
  bare = {
    HOME: join(work, "home"),
    XDG_RUNTIME_DIR: join(work, "run"),
    XDG_CONFIG_HOME: join(work, "config"),
    LAYERKIT_REGISTRY_USER: "",
    REGISTRY_AUTH_FILE: "",
    DOCKER_CONFIG: "",
  };
  // Unset rather than empty: the CLI treats an empty LAYERKIT_REGISTRY_USER as a user name.
  delete process.env.LAYERKIT_REGISTRY_USER;
  delete process.env.LAYERKIT_REGISTRY_PASSWORD;
  delete bare.LAYERKIT_REGISTRY_USER;
  delete bare.REGISTRY_AUTH_FILE;
  delete bare.DOCKER_CONFIG;
  layout = join(work, "oci");
  built = JSON.parse(ok(["image", "build", "--layer", tree, "--format", "zstd:chunked", "-o", layout, "--tag", "v1", "--json"]).stdout);
  [registry, tokenRegistry] = await Promise.all([startRegistry("htpasswd"), startRegistry("token")]);
});

afterAll(async () => {
  await Promise.all([registry?.stop(), tokenRegistry?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("credentials", () => {
  it("UNAUTHORIZED names every way to give credentials, in one line, exit 3", () => {
    const r = run(["push", layout, `${registry.host}/team/app:v1`]);
    expect(r.status).toBe(3);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("[UNAUTHORIZED]");
    for (const way of ["--creds", "--authfile", "LAYERKIT_REGISTRY_USER", "LAYERKIT_REGISTRY_PASSWORD", "docker login"]) {
      expect(lines[0]).toContain(way);
    }
  });

  it("--creds USER:PASS, and docker:// as skopeo writes it", () => {
    ok(["push", layout, `docker://${registry.host}/team/app:v1`, "--creds", `${registry.username}:${registry.password}`]);
    const wrong = run(["inspect", `docker://${registry.host}/team/app:v1`, "--layer", "0", "--creds", `${registry.username}:nope`]);
    expect(wrong.status).toBe(3);
  });

  it("--authfile with a base64 `auth` entry; the docker and podman default files; $REGISTRY_AUTH_FILE; $DOCKER_CONFIG", () => {
    const file = (dir: string, key: string) => {
      mkdirSync(dir, { recursive: true });
      const path = join(dir, dir.endsWith("containers") ? "auth.json" : "config.json");
      writeFileSync(path, JSON.stringify({ auths: { [key]: { auth: b64(`${registry.username}:${registry.password}`) } } }));
      return path;
    };
    const explicit = file(join(work, "explicit"), registry.host);
    ok(["inspect", `${registry.host}/team/app:v1`, "--layer", "0", "--authfile", explicit, "--json"]);
    const missing = run(["inspect", `${registry.host}/team/app:v1`, "--layer", "0", "--authfile", join(work, "nope.json")]);
    expect(missing.status).toBe(3);
    expect(missing.stderr).toBe(`layerkit: cannot read auth file ${join(work, "nope.json")}: no such file [IO]\n`);

    const dockerHome = join(work, "docker-home");
    file(join(dockerHome, ".docker"), `http://${registry.host}`);
    ok(["inspect", `${registry.host}/team/app:v1`, "--layer", "0", "--json"], { HOME: dockerHome });
    file(join(work, "run/containers"), `${registry.host}/team`); // podman: a namespace-scoped key
    ok(["inspect", `${registry.host}/team/app:v1`, "--layer", "0", "--json"]);
    rmSync(join(work, "run"), { recursive: true });
    ok(["inspect", `${registry.host}/team/app:v1`, "--layer", "0", "--json"], { REGISTRY_AUTH_FILE: explicit });
    ok(["inspect", `${registry.host}/team/app:v1`, "--layer", "0", "--json"], { DOCKER_CONFIG: join(work, "explicit") });
  });

  it("a credential helper is named as not supported yet", () => {
    const dir = join(work, "helper-home", ".docker");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "config.json"), JSON.stringify({ credHelpers: { [registry.host]: "secretservice" } }));
    const r = run(["inspect", `${registry.host}/team/app:v1`, "--layer", "0"], { HOME: join(work, "helper-home") });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('credential helper "secretservice"');
    expect(r.stderr).toContain("not supported yet");
  });

  it("an `identitytoken` is exchanged with the refresh-token grant", async () => {
    // The token server runs in this process: the bin must run asynchronously to reach it.
    const auth = join(work, "identity.json");
    writeFileSync(
      auth,
      JSON.stringify({
        auths: { [tokenRegistry.host]: { auth: b64("<token>:"), identitytoken: refreshTokenFor(tokenRegistry.password) } },
      }),
    );
    const good = await runCliAsync(["push", layout, `${tokenRegistry.host}/team/id:v1`, "--authfile", auth], { env: bare });
    expect(good.status, good.stderr).toBe(0);
    expect(tokenRegistry.tokenRequests.some((t) => t.grant === "refresh_token" && t.scopes.some((s) => s.includes("push")))).toBe(true);
    const bad = join(work, "identity-bad.json");
    writeFileSync(bad, JSON.stringify({ auths: { [tokenRegistry.host]: { identitytoken: "wrong" } } }));
    const r = await runCliAsync(["push", layout, `${tokenRegistry.host}/team/id:v2`, "--authfile", bad], { env: bare });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain("[UNAUTHORIZED]");
  });
});

describe("references", () => {
  const creds = () => ["--creds", `${registry.username}:${registry.password}`];

  it("push without a tag pushes latest; pull without a tag pulls it", () => {
    const pushed = JSON.parse(ok(["push", layout, `${registry.host}/team/notag`, ...creds(), "--json"]).stdout) as {
      manifest: { digest: string };
    };
    expect(pushed.manifest.digest).toBe(built.manifest.digest);
    const tags = execFileSync("skopeo", [
      "list-tags",
      "--tls-verify=false",
      "--creds",
      `${registry.username}:${registry.password}`,
      `docker://${registry.host}/team/notag`,
    ], { encoding: "utf8" });
    expect(JSON.parse(tags).Tags).toEqual(["latest"]);
    const out = join(work, "pulled-latest");
    const pulled = JSON.parse(ok(["pull", `${registry.host}/team/notag`, "-o", out, ...creds(), "--json"]).stdout) as {
      tag: string;
      manifest: { digest: string };
    };
    expect(pulled).toMatchObject({ tag: "latest", manifest: { digest: built.manifest.digest } });
  });

  it("@digest names the manifest for inspect, verify, cat, ls and pull; --layer takes an index or a digest; --blob names a layer blob", () => {
    const ref = `${registry.host}/team/app@${built.manifest.digest}`;
    const layer = built.layers[0]!.descriptor.digest;
    const inspected = JSON.parse(ok(["inspect", ref, "--layer", "0", ...creds(), "--json"]).stdout) as {
      authenticated: boolean;
      digest: string;
    };
    expect(inspected).toMatchObject({ authenticated: true, digest: layer });
    const verified = JSON.parse(ok(["verify", ref, "--layer", layer, ...creds(), "--json"]).stdout) as {
      ok: boolean;
      checks: Array<{ name: string; status: string }>;
    };
    expect(verified.ok).toBe(true);
    expect(verified.checks.filter((c) => c.status === "skipped")).toEqual([]); // digest and diffID came from the image
    expect(ok(["cat", ref, "usr/lib/os-release", "--layer", "0", ...creds()]).stdout).toBe('NAME="layerkit refs"\n');
    expect(ok(["ls", `docker://${ref}`, "usr/lib", "--layer", "0", ...creds()]).stdout).toContain("usr/lib/data.bin");
    ok(["pull", ref, "-o", join(work, "pulled-digest"), ...creds()]);
    // Without --layer, ls/cat/inspect of an image read its merged file system (issue 15.5).
    expect(ok(["cat", ref, "usr/lib/os-release", ...creds()]).stdout).toBe('NAME="layerkit refs"\n');
    // A layer digest after @ is not a manifest: the registry's error (docker-registry answers 500:
    // exit 3; others 404 NOT_FOUND: exit 4) with the --blob hint.
    const blobAsManifest = run(["inspect", `${registry.host}/team/app@${layer}`, "--layer", "0", ...creds()]);
    expect([3, 4], blobAsManifest.stderr).toContain(blobAsManifest.status);
    expect(blobAsManifest.stderr).toContain("for a layer blob add --blob");
    expect(JSON.parse(ok(["inspect", "--blob", `${registry.host}/team/app@${layer}`, ...creds(), "--json"]).stdout).digest).toBe(layer);
  });

  it("a layout as SOURCE: DIR, oci:DIR, oci:DIR:TAG with --layer; push from oci:DIR:TAG", () => {
    for (const source of [layout, `oci:${layout}`, `oci:${layout}:v1`]) {
      expect(ok(["cat", source, "usr/lib/os-release", "--layer", "0"]).stdout).toBe('NAME="layerkit refs"\n');
    }
    const v = JSON.parse(ok(["verify", `oci:${layout}:v1`, "--layer", "0", "--json"]).stdout) as {
      ok: boolean;
      checks: Array<{ status: string }>;
    };
    expect(v.ok).toBe(true);
    expect(v.checks.filter((c) => c.status === "skipped")).toEqual([]);
    const missing = run(["ls", `oci:${layout}:nope`, "--layer", "0"]);
    expect(missing.status).toBe(4);
    expect(missing.stderr).toBe(`layerkit: no image named "nope" in the OCI layout [NOT_FOUND]\n`);
    ok(["push", `oci:${layout}:v1`, `${registry.host}/team/from-oci:v1`, ...creds()]);
  });
});

describe("- for stdin and stdout", () => {
  it("create - -o -: a tar on stdin, the layer on stdout, the summary on stderr", () => {
    const tar = execFileSync("tar", ["-C", tree, "-cf", "-", "."]);
    const r = spawnSync(process.execPath, [BIN, "create", "-", "-o", "-", "--format", "zstd:chunked"], {
      input: tar,
      maxBuffer: 1 << 26,
      env: { ...process.env, ...bare },
    });
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stderr.toString()).toContain("-: zstd:chunked");
    const layer = join(work, "from-stdin.zst");
    writeFileSync(layer, r.stdout);
    expect(ok(["cat", layer, "usr/lib/data.bin"]).stdout.length).toBe(300_000);
    expect(existsSync(join(work, "-"))).toBe(false);
    const json = run(["create", tree, "-o", "-", "--format", "zstd", "--json"]);
    expect(json.status).toBe(2);
    expect(json.stdout).toContain("--json cannot be combined with -o -");
  });

  it("verify -, cat /dev/stdin, convert - -o -; nothing left in the temp directory", () => {
    const layer = readFileSync(join(work, "from-stdin.zst"));
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith("layerkit-stdin-")).length;
    const verify = spawnSync(process.execPath, [BIN, "verify", "-", "--digest", sha256(layer)], {
      input: layer,
      encoding: "utf8",
      env: { ...process.env, ...bare },
    });
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^OK: zstd:chunked /m);
    const cat = spawnSync(process.execPath, [BIN, "cat", "/dev/stdin", "usr/lib/os-release"], {
      input: layer,
      encoding: "utf8",
      env: { ...process.env, ...bare },
    });
    expect(cat.status, cat.stderr).toBe(0);
    expect(cat.stdout).toBe('NAME="layerkit refs"\n');
    const conv = spawnSync(process.execPath, [BIN, "convert", "-", "-o", "-", "--to", "gzip"], {
      input: layer,
      maxBuffer: 1 << 26,
      env: { ...process.env, ...bare },
    });
    expect(conv.status, conv.stderr.toString()).toBe(0);
    expect(conv.stdout.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const bad = spawnSync(process.execPath, [BIN, "verify", "-"], {
      input: Buffer.from("not a layer at all"),
      encoding: "utf8",
      env: { ...process.env, ...bare },
    });
    expect(bad.status).toBe(1);
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith("layerkit-stdin-")).length).toBe(before);
  });
});
