/**
 * convertImage registry → registry and layout → layout against Debian's docker-registry on
 * 127.0.0.1: every platform of an index, Docker schema 2 read and OCI written, layers already in
 * the target format copied, diff_ids rewritten, same output for the same input; the results
 * checked by skopeo (inspect, copy), stargz-snapshotter's VerifyTOC, c/storage's reader and
 * ApplyDiff (Go harness), and our verifyLayer. Bad input: lying manifests, wrong diff_ids, a
 * config that is not JSON, a registry connection dropped mid-upload: typed errors naming image,
 * platform and layer, and no tag.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../../src/runtime/node.js";
import { convertImage, type ConvertImageResult } from "../../src/image/convert-image.js";
import { openImage } from "../../src/image/open-image.js";
import { RegistryImage } from "../../src/image/image-source.js";
import { openLayout } from "../../src/oci/layout-node.js";
import { DOCKER_MANIFEST, OCI_INDEX, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_MANIFEST } from "../../src/oci/media-types.js";
import { RegistryClient } from "../../src/registry/client.js";
import { MemorySource } from "../../src/source/memory.js";
import { verifyLayer } from "../../src/verify/verify-layer.js";
import { baseTar, upperTar } from "../fixtures/image-tars.js";
import { harnessPath } from "../support/go-harness.js";
import { makeImage, pushImages, writeLayoutImage } from "../support/images.js";
import { expectCode, freePort, readAll, startRegistry, type TestRegistry } from "../support/registry.js";

const TIMEOUT = 240_000;
let registry: TestRegistry;
let client: RegistryClient;
let work: string;
let estargzHarness: string;

const skopeo = (args: string[]): string => execFileSync("skopeo", args, { encoding: "utf8", maxBuffer: 1 << 28 });
const reg = (repo: string): RegistryImage =>
  new RegistryImage(client, repo.split(":")[0]!, repo.split(":")[1] ?? "latest", { name: `docker://${registry.host}/${repo}` });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "layerkit-image-convert-"));
  registry = await startRegistry("none");
  client = new RegistryClient(registry.host);
  estargzHarness = execFileSync("bash", [join(import.meta.dirname, "../go/build-estargz.sh"), join(work, "bin")], { encoding: "utf8" })
    .trim().split("\n").pop()!;
  harnessPath();
  const amd = await makeImage([baseTar(), upperTar()], "gzip", { annotations: { "org.example.note": "kept" } });
  const arm = await makeImage([baseTar(1 << 20), upperTar()], "gzip", { platform: { os: "linux", architecture: "arm64", variant: "v8" } });
  await pushImages(client, "src/multi", "v1", [amd, arm]);
  const docker = await makeImage([baseTar(), upperTar()], "gzip", { docker: true });
  await pushImages(client, "src/docker", "v1", [docker]);
}, TIMEOUT);

afterAll(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function blobOf(repo: string, d: { digest: string; size: number }): Promise<Uint8Array> {
  return readAll(await client.openBlob(repo, d));
}

function layers(r: ConvertImageResult) {
  return r.images.flatMap((i) => i.layers);
}

describe("registry → registry", () => {
  let estargz: ConvertImageResult;

  it("converts every platform of an index to eStargz, rewriting diff_ids and keeping history and annotations", async () => {
    const events: string[] = [];
    estargz = await convertImage(reg("src/multi:v1"), reg("out/multi:estargz"), {
      format: "estargz",
      onProgress: (e) => e.phase !== "bytes" && events.push(`${e.platform} ${e.layer} ${e.phase}`),
    });
    expect(estargz.images.map((i) => i.platform)).toEqual([{ os: "linux", architecture: "amd64" }, {
      os: "linux",
      architecture: "arm64",
      variant: "v8",
    }]);
    expect(estargz.descriptor.mediaType).toBe(OCI_INDEX);
    expect(layers(estargz).every((l) => l.action === "converted" && l.from.format === "gzip" && l.to.format === "estargz")).toBe(true);
    expect(layers(estargz).every((l) => l.diffID !== l.sourceDiffID)).toBe(true); // the TOC entry changes the tar
    expect(events).toContain("linux/arm64/v8 0 done");
    // The upper layer is the same blob in both images: converted once, for amd64.
    expect(events.filter((e) => e.endsWith(" 1 done"))).toEqual(["linux/amd64 1 done"]);
    expect(estargz.images[1]!.layers[1]!.to.digest).toBe(estargz.images[0]!.layers[1]!.to.digest);

    const top = await client.getManifest("out/multi", "estargz");
    expect(top.descriptor.digest).toBe(estargz.descriptor.digest);
    const srcTop = await client.getManifest("src/multi", "v1");
    for (const [n, img] of estargz.images.entries()) {
      const pulled = await client.pullImage("out/multi", "estargz", { platform: img.platform! });
      expect(pulled.manifest.mediaType).toBe(OCI_MANIFEST);
      expect(pulled.config.rootfs.diff_ids).toEqual(img.layers.map((l) => l.diffID));
      expect(pulled.config.history).toEqual([{ created_by: "layer 0" }, { created_by: "layer 1" }]);
      expect(pulled.config.config?.Cmd).toEqual(["/bin/sh"]);
      const source = await client.pullImage("src/multi", "v1", { platform: img.platform! });
      expect(pulled.manifest.annotations).toEqual(source.manifest.annotations);
      if (n === 0) expect(pulled.manifest.annotations).toEqual({ "org.example.note": "kept" });
      for (const [i, d] of pulled.manifest.layers.entries()) {
        expect(d.mediaType).toBe(OCI_LAYER_GZIP);
        const toc = d.annotations?.["containerd.io/snapshot/stargz/toc.digest"];
        expect(toc).toMatch(/^sha256:/);
        expect(d.annotations?.["io.containers.estargz.uncompressed-size"]).toBeDefined();
        const blob = await blobOf("out/multi", d);
        const report = await verifyLayer(new MemorySource(blob), d, { diffID: pulled.config.rootfs.diff_ids[i]! });
        expect(report.failures).toEqual([]);
        expect(report.ok).toBe(true);
        // Upstream: estargz.Open + VerifyTOC + every chunk's verifier.
        const p = join(work, `estargz-${n}-${i}.blob`);
        writeFileSync(p, blob);
        const r = spawnSync(estargzHarness, ["verify", p, toc!], { encoding: "utf8", maxBuffer: 1 << 28 });
        expect(r.stderr).toBe("");
        expect(JSON.parse(r.stdout).tocDigest).toBe(toc);
      }
    }
    expect(srcTop.parsed.kind).toBe("index");
  }, TIMEOUT);

  it("is deterministic: the same input and options give the same digests", async () => {
    const again = await convertImage(reg("src/multi:v1"), reg("out/multi2:estargz"), { format: "estargz", concurrency: 1 });
    expect(again.descriptor.digest).toBe(estargz.descriptor.digest);
    expect(layers(again).map((l) => l.to.digest)).toEqual(layers(estargz).map((l) => l.to.digest));
  }, TIMEOUT);

  it("copies layers already in the target format (unless force) and picks platforms", async () => {
    const copied = await convertImage(reg("out/multi:estargz"), reg("out/copy:v1"), {
      format: "estargz",
      platforms: [{ os: "linux", architecture: "arm64" }],
    });
    expect(copied.images).toHaveLength(1);
    expect(copied.images[0]!.platform?.architecture).toBe("arm64");
    expect(copied.images[0]!.layers.map((l) => l.action)).toEqual(["copied", "copied"]);
    expect(copied.images[0]!.layers.map((l) => l.to.digest)).toEqual(estargz.images[1]!.layers.map((l) => l.to.digest));
    // The arm64 manifest is the same document, so the same digest.
    expect(copied.images[0]!.manifest.digest).toBe(estargz.images[1]!.manifest.digest);
    const forced = await convertImage(reg("out/multi:estargz"), reg("out/forced:v1"), {
      format: "estargz",
      force: true,
      platforms: [{ os: "linux", architecture: "arm64" }],
    });
    expect(forced.images[0]!.layers.map((l) => l.action)).toEqual(["converted", "converted"]);
    // eStargz → eStargz with the same options rebuilds the same layers.
    expect(forced.images[0]!.layers.map((l) => l.to.digest)).toEqual(estargz.images[1]!.layers.map((l) => l.to.digest));
  }, TIMEOUT);

  it("converts to zstd:chunked: c/storage 1.43 reads every layer's TOC and ApplyDiff extracts the source's files", async () => {
    const r = await convertImage(reg("src/multi:v1"), reg("out/multi:zstd-chunked"), {
      format: "zstd:chunked",
      platforms: [{ os: "linux", architecture: "amd64" }],
    });
    const pulled = await client.pullImage("out/multi", "zstd-chunked");
    expect(pulled.config.rootfs.diff_ids).toEqual(r.images[0]!.layers.map((l) => l.sourceDiffID)); // gzip → zstd:chunked keeps the tar
    for (const [i, d] of pulled.manifest.layers.entries()) {
      expect(d.mediaType).toBe(OCI_LAYER_ZSTD);
      const blob = await blobOf("out/multi", d);
      const p = join(work, `zc-${i}.blob`);
      const ann = join(work, `zc-${i}.json`);
      writeFileSync(p, blob);
      writeFileSync(ann, JSON.stringify(d.annotations));
      const read = spawnSync(harnessPath(), ["cstorage-read", "--map-current-keys", p, ann], { encoding: "utf8", maxBuffer: 1 << 28 });
      expect(read.stderr).toBe("");
      const names = (JSON.parse(read.stdout) as { merged: { name: string }[] }).merged.map((e) => e.name);
      expect(names).toContain(i === 0 ? "usr/share/big.bin" : "etc/abs-link");
      const dest = join(work, `zc-apply-${i}`);
      mkdirSync(dest);
      const applied = spawnSync(harnessPath(), ["cstorage-apply", "--map-current-keys", p, ann, dest], {
        encoding: "utf8",
        maxBuffer: 1 << 28,
      });
      expect(applied.status, applied.stderr).toBe(0);
      if (i === 0) expect(readFileSync(join(dest, "usr/bin/tool"), "utf8")).toBe("#!/bin/sh\necho tool\n");
      else expect(readFileSync(join(dest, "usr/lib/os-release"), "utf8")).toContain("upper");
      expect((await verifyLayer(new MemorySource(blob), d, { diffID: pulled.config.rootfs.diff_ids[i]! })).ok).toBe(true);
    }
    // skopeo reads the converted image and copies it into an OCI layout.
    const inspected = JSON.parse(skopeo(["inspect", "--tls-verify=false", `docker://${registry.host}/out/multi:zstd-chunked`])) as {
      Digest: string;
      Layers: string[];
    };
    expect(inspected.Digest).toBe(r.descriptor.digest);
    expect(inspected.Layers).toEqual(pulled.manifest.layers.map((l) => l.digest));
    const dir = join(work, "skopeo-copy");
    skopeo(["copy", "--src-tls-verify=false", `docker://${registry.host}/out/multi:zstd-chunked`, `oci:${dir}:copied`]);
    const raw = skopeo(["inspect", "--raw", `oci:${dir}:copied`]);
    expect(JSON.parse(raw).layers.map((l: { digest: string }) => l.digest)).toEqual(inspected.Layers);
  }, TIMEOUT);

  it("reads Docker schema 2 and writes OCI; a Docker manifest target takes eStargz but refuses zstd, saying to use OCI", async () => {
    const r = await convertImage(reg("src/docker:v1"), reg("out/docker:oci"), { format: "zstd" });
    const pulled = await client.getManifest("out/docker", "oci");
    expect(pulled.descriptor.mediaType).toBe(OCI_MANIFEST);
    expect(r.images[0]!.layers.map((l) => l.from.mediaType)).toEqual([
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
    ]);
    for (const f of ["zstd", "zstd:chunked"] as const) {
      const e = await expectCode(
        convertImage(reg("src/docker:v1"), reg("out/docker:bad"), { format: f, manifestType: "docker" }),
        "UNSUPPORTED_FORMAT",
      );
      expect(e.message).toContain("use an OCI manifest");
    }
    const d = await convertImage(reg("src/docker:v1"), reg("out/docker:estargz"), { format: "estargz", manifestType: "docker" });
    expect(d.descriptor.mediaType).toBe(DOCKER_MANIFEST);
    const inspected = JSON.parse(skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/out/docker:estargz`])) as {
      mediaType: string;
      layers: { mediaType: string }[];
    };
    expect(inspected.mediaType).toBe(DOCKER_MANIFEST);
    expect(inspected.layers.every((l) => l.mediaType === "application/vnd.docker.image.rootfs.diff.tar.gzip")).toBe(true);
    expect(await client.hasBlob("out/docker", r.images[0]!.layers[0]!.to.digest)).toBe(r.images[0]!.layers[0]!.to.size);
  }, TIMEOUT);
});

describe("OCI layouts", () => {
  it("layout → layout, and registry → layout, readable by skopeo", async () => {
    const srcDir = join(work, "src-layout");
    const layout = await openLayout(srcDir, { create: true });
    await writeLayoutImage(layout, "v1", await makeImage([baseTar(), upperTar()], "zstd"));
    const out = join(work, "out-layout");
    const r = await convertImage(await openImage(`oci:${srcDir}:v1`), await openImage(`oci:${out}:conv`, { create: true }), {
      format: "zstd:chunked",
    });
    expect(layers(r).map((l) => [l.from.format, l.to.format])).toEqual([["zstd", "zstd:chunked"], ["zstd", "zstd:chunked"]]);
    const raw = JSON.parse(skopeo(["inspect", "--raw", `oci:${out}:conv`])) as { layers: { digest: string }[] };
    expect(raw.layers.map((l) => l.digest)).toEqual(layers(r).map((l) => l.to.digest));
    const fromRegistry = await convertImage(reg("src/multi:v1"), await openImage(`oci:${out}:estargz`, { create: true }), {
      format: "estargz",
    });
    expect(fromRegistry.descriptor.digest).toBe((await client.getManifest("out/multi", "estargz")).descriptor.digest);
    const idx = JSON.parse(skopeo(["inspect", "--raw", `oci:${out}:estargz`])) as { manifests: unknown[] };
    expect(idx.manifests).toHaveLength(2);
  }, TIMEOUT);
});

describe("bad input: typed errors naming image, platform and layer; nothing tagged", () => {
  async function expectUntagged(repo: string, tag: string): Promise<void> {
    const res = await fetch(`http://${registry.host}/v2/${repo}/manifests/${tag}`, { method: "HEAD" });
    expect(res.status).toBe(404);
  }

  /** Pushes a manifest over existing blobs, with `edit` applied to it. */
  async function pushEdited(repo: string, edit: (m: Record<string, unknown>) => void, config?: Uint8Array): Promise<void> {
    const img = await makeImage([baseTar(1 << 16), upperTar()], "gzip");
    for (const l of img.layers) await client.pushBlob(repo, l.blob);
    const m = structuredClone(img.built.manifest.value) as unknown as Record<string, unknown>;
    if (config) {
      const c = await client.pushBlob(repo, config);
      (m.config as Record<string, unknown>).digest = c.digest;
      (m.config as Record<string, unknown>).size = c.size;
    } else {
      await client.pushBlob(repo, img.built.config.bytes);
    }
    edit(m);
    const bytes = new TextEncoder().encode(JSON.stringify(m));
    await client.pushManifest(repo, "v1", bytes, OCI_MANIFEST);
  }

  it("a layer descriptor pointing at another blob: INCONSISTENT (sizes) naming layer 1", async () => {
    await pushEdited("bad/digest", (m) => {
      const l = (m.layers as Record<string, unknown>[])[1]!;
      const other = (m.layers as Record<string, unknown>[])[0]!;
      l.digest = other.digest; // a blob that exists, with another size
    });
    // The registry's size for the blob is not the descriptor's: the layer is refused before its bytes are used.
    const e = await expectCode(convertImage(reg("bad/digest:v1"), reg("bad/digest:out"), { format: "zstd" }), "INCONSISTENT");
    expect(e.details).toMatchObject({ image: `docker://${registry.host}/bad/digest:v1`, layer: 1 });
    await expectUntagged("bad/digest", "out");
  }, TIMEOUT);

  it("a layout blob whose bytes are not its digest: DIGEST_MISMATCH naming the layer, the target layout's index untouched", async () => {
    const dir = join(work, "bad-layout");
    const layout = await openLayout(dir, { create: true });
    const img = await makeImage([baseTar(1 << 16), upperTar()], "gzip");
    await writeLayoutImage(layout, "v1", img);
    // gzip ignores its header's MTIME field: the layer still decompresses, only the digest is wrong.
    const path = join(dir, "blobs/sha256", img.layers[1]!.result.digest.slice(7));
    const bytes = readFileSync(path);
    bytes[4] = bytes[4]! ^ 0xff;
    writeFileSync(path, bytes);
    const out = join(work, "bad-layout-out");
    const e = await expectCode(
      convertImage(await openImage(`oci:${dir}:v1`), await openImage(`oci:${out}:v1`, { create: true }), { format: "zstd" }),
      "DIGEST_MISMATCH",
    );
    expect(e.details).toMatchObject({ image: `oci:${dir}:v1`, layer: 1 });
    expect(JSON.parse(readFileSync(join(out, "index.json"), "utf8")).manifests).toEqual([]);
  }, TIMEOUT);

  it("a layer whose size lies: INCONSISTENT naming the layer", async () => {
    let real = 0;
    await pushEdited("bad/size", (m) => {
      const layer = (m.layers as Record<string, number>[])[0]!;
      real = layer.size!;
      layer.size = real + 1;
    });
    const e = await expectCode(convertImage(reg("bad/size:v1"), reg("bad/size:out"), { format: "zstd" }), "INCONSISTENT");
    // The sizes come from the gzip engine's bytes, so they are read off the pushed manifest, not written here.
    expect(e.message).toContain(`server reports blob size ${real}, expected ${real + 1}`);
    expect(e.details).toMatchObject({ layer: 0 });
    await expectUntagged("bad/size", "out");
  }, TIMEOUT);

  it("diff_ids count ≠ layers, and a config that is not JSON: BAD_MANIFEST before any layer is read", async () => {
    const img = await makeImage([baseTar(1 << 16)], "gzip");
    const config = structuredClone(img.built.config.value);
    config.rootfs.diff_ids.push(config.rootfs.diff_ids[0]!, config.rootfs.diff_ids[0]!); // 3 for 2 layers
    await pushEdited("bad/diffids", () => {}, new TextEncoder().encode(JSON.stringify(config)));
    const e = await expectCode(convertImage(reg("bad/diffids:v1"), reg("bad/diffids:out"), { format: "zstd" }), "BAD_MANIFEST");
    expect(e.message).toContain("diff_ids");
    await pushEdited("bad/config", () => {}, new TextEncoder().encode("this is not JSON"));
    const c = await expectCode(convertImage(reg("bad/config:v1"), reg("bad/config:out"), { format: "zstd" }), "BAD_MANIFEST");
    expect(c.details.image).toBe(`docker://${registry.host}/bad/config:v1`);
    await expectUntagged("bad/diffids", "out");
    await expectUntagged("bad/config", "out");
  }, TIMEOUT);

  it("a config whose diff_ids are not the layers' tars: DIGEST_MISMATCH, nothing tagged", async () => {
    const img = await makeImage([baseTar(1 << 16), upperTar()], "gzip");
    const config = structuredClone(img.built.config.value);
    config.rootfs.diff_ids.reverse();
    await pushEdited("bad/wrongdiff", () => {}, new TextEncoder().encode(JSON.stringify(config)));
    const e = await expectCode(
      convertImage(reg("bad/wrongdiff:v1"), reg("bad/wrongdiff:out"), { format: "zstd:chunked", concurrency: 1 }),
      "DIGEST_MISMATCH",
    );
    expect(e.details).toMatchObject({ layer: 0 });
    await expectUntagged("bad/wrongdiff", "out");
  }, TIMEOUT);

  it("a registry that drops the connection mid-upload: IO error naming image, platform and layer; no tag, no manifest", async () => {
    // A TCP proxy in front of the registry that cuts every connection once 1.5 MiB went up it.
    const port = await freePort();
    let upBytes = 0;
    const proxy = net.createServer((client_) => {
      const upstream = net.connect(Number(registry.host.split(":")[1]), "127.0.0.1");
      client_.on("data", (d) => {
        upBytes += d.length;
        if (upBytes > 1.5 * 1024 * 1024) {
          client_.destroy();
          upstream.destroy();
          return;
        }
        upstream.write(d);
      });
      upstream.on("data", (d) => client_.write(d));
      client_.on("error", () => upstream.destroy());
      upstream.on("error", () => client_.destroy());
      client_.on("close", () => upstream.destroy());
      upstream.on("close", () => client_.destroy());
    });
    await new Promise<void>((r) => proxy.listen(port, "127.0.0.1", () => r()));
    try {
      const target = new RegistryImage(new RegistryClient(`127.0.0.1:${port}`), "out/dropped", "v1", {
        name: "docker://dropped/out:v1",
        chunkSize: 256 * 1024,
      });
      const e = await expectCode(convertImage(reg("src/multi:v1"), target, { format: "estargz", concurrency: 1 }), "IO");
      expect(e.details).toMatchObject({ image: `docker://${registry.host}/src/multi:v1`, platform: "linux/amd64", layer: 0 });
      expect(e.message).toContain("linux/amd64 layer 0");
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
    await expectUntagged("out/dropped", "v1");
    const tags = await fetch(`http://${registry.host}/v2/out/dropped/tags/list`);
    expect(tags.status === 404 || ((await tags.json()) as { tags: unknown }).tags === null).toBe(true);
  }, TIMEOUT);
});
