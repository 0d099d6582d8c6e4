/**
 * verifyImage on OCI layouts and Debian's docker-registry: good images of every format (built and
 * converted by layerkit) pass with one result per layer; lying indexes, manifests, configs and
 * layers are each reported with the check, platform and layer concerned.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../../src/runtime/node.js";
import { convertImage } from "../../src/image/convert-image.js";
import { RegistryImage } from "../../src/image/image-source.js";
import { openImage } from "../../src/image/open-image.js";
import { type LayerVerifyResult, verifyImage } from "../../src/image/verify-image.js";
import { buildIndex } from "../../src/oci/build.js";
import { openLayout } from "../../src/oci/layout-node.js";
import { OCI_MANIFEST } from "../../src/oci/media-types.js";
import type { OciLayout } from "../../src/oci/layout.js";
import { RegistryClient } from "../../src/registry/client.js";
import { baseTar, upperTar } from "../fixtures/image-tars.js";
import { makeImage, pushImages, type TestImage, writeLayoutImage } from "../support/images.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";

const TIMEOUT = 180_000;
let work: string;
let registry: TestRegistry;
let client: RegistryClient;
let gzipImage: TestImage;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "layerkit-image-verify-"));
  registry = await startRegistry("none");
  client = new RegistryClient(registry.host);
  gzipImage = await makeImage([baseTar(1 << 20), upperTar()], "gzip");
}, TIMEOUT);

afterAll(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function layoutWith(name: string, image: TestImage): Promise<{ dir: string; layout: OciLayout }> {
  const dir = join(work, name);
  const layout = await openLayout(dir, { create: true });
  await writeLayoutImage(layout, "v1", image);
  return { dir, layout };
}

describe("good images", () => {
  it("every format, index and all, from a registry: ok, a result per layer", async () => {
    const arm = await makeImage([baseTar(1 << 16), upperTar()], "zstd", { platform: { os: "linux", architecture: "arm64" } });
    await pushImages(client, "good/app", "gzip", [gzipImage, arm]);
    const src = new RegistryImage(client, "good/app", "gzip");
    await convertImage(src, new RegistryImage(client, "good/app", "estargz"), { format: "estargz" });
    await convertImage(src, new RegistryImage(client, "good/app", "zstd-chunked"), { format: "zstd:chunked" });
    for (const tag of ["gzip", "estargz"]) {
      const seen: LayerVerifyResult[] = [];
      const r = await verifyImage(new RegistryImage(client, "good/app", tag), { onLayer: (l) => seen.push(l) });
      expect(r.failures).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.images.map((i) => i.platform)).toEqual(["linux/amd64", "linux/arm64"]);
      expect(seen).toHaveLength(4);
      expect(seen.every((l) => l.ok && l.checks.some((c) => c.name === "diff-id" && c.status === "ok"))).toBe(true);
    }
    const zc = await verifyImage(new RegistryImage(client, "good/app", "zstd-chunked"), {
      platforms: [{ os: "linux", architecture: "arm64" }],
    });
    expect(zc.ok).toBe(true);
    expect(zc.images).toHaveLength(1);
    expect(zc.images[0]!.layers.map((l) => l.format)).toEqual(["zstd:chunked", "zstd:chunked"]);
    expect(zc.images[0]!.layers[0]!.checks.find((c) => c.name === "toc-vs-tar")?.status).toBe("ok");
  }, TIMEOUT);
});

describe("lies are reported, naming check, platform and layer", () => {
  it("a layer blob with a flipped byte: the layer fails, the rest passes", async () => {
    const { dir } = await layoutWith("flipped", gzipImage);
    const path = join(dir, "blobs/sha256", gzipImage.layers[0]!.result.digest.slice(7));
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x01;
    writeFileSync(path, bytes);
    const r = await verifyImage(await openImage(`oci:${dir}:v1`));
    expect(r.ok).toBe(false);
    expect(r.images[0]!.layers.map((l) => l.ok)).toEqual([false, true]);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatchObject({ check: "layer", layer: 0, digest: gzipImage.layers[0]!.result.digest });
    expect(r.images[0]!.layers[0]!.failures.some((f) => f.check === "blob-digest")).toBe(true);
  }, TIMEOUT);

  it("diff_ids count ≠ layers, a wrong diff_id, and a config that is not JSON", async () => {
    const { dir, layout } = await layoutWith("configs", gzipImage);
    const m = structuredClone(gzipImage.built.manifest.value);
    const put = async (config: Uint8Array, tag: string): Promise<void> => {
      const c = await layout.writeJson(m.config.mediaType, config);
      const d = await layout.writeJson(OCI_MANIFEST, { ...m, config: c });
      await layout.addToIndex(d, tag);
    };
    const three = structuredClone(gzipImage.built.config.value);
    three.rootfs.diff_ids.push(three.rootfs.diff_ids[0]!);
    await put(new TextEncoder().encode(JSON.stringify(three)), "three");
    const swapped = structuredClone(gzipImage.built.config.value);
    swapped.rootfs.diff_ids.reverse();
    await put(new TextEncoder().encode(JSON.stringify(swapped)), "swapped");
    await put(new TextEncoder().encode("{not json"), "notjson");

    const a = await verifyImage(await openImage(`oci:${dir}:three`));
    expect(a.failures.map((f) => f.check)).toEqual(["diff-ids"]);
    const b = await verifyImage(await openImage(`oci:${dir}:swapped`));
    expect(b.ok).toBe(false);
    expect(b.images[0]!.layers.map((l) => l.failures.map((f) => f.check))).toEqual([["diff-id"], ["diff-id"]]);
    const c = await verifyImage(await openImage(`oci:${dir}:notjson`));
    expect(c.failures[0]).toMatchObject({ check: "config", code: "BAD_MANIFEST" });
  }, TIMEOUT);

  it("an index entry whose size or media type lies, and a platform that is not the config's", async () => {
    const { dir, layout } = await layoutWith("index", gzipImage);
    const good = gzipImage.built.manifest.descriptor;
    const idx = await buildIndex([
      { ...good, size: good.size + 1, platform: { os: "linux", architecture: "amd64" } },
      { ...good, platform: { os: "linux", architecture: "s390x" } },
    ]);
    const d = await layout.writeJson(idx.descriptor.mediaType, idx.bytes);
    await layout.addToIndex(d, "lying");
    const r = await verifyImage(await openImage(`oci:${dir}:lying`));
    expect(r.ok).toBe(false);
    expect(r.failures.map((f) => [f.check, f.code, f.platform])).toEqual([
      ["index", "SIZE_MISMATCH", "linux/amd64"],
      ["platform", "INCONSISTENT", "linux/s390x"],
    ]);
  }, TIMEOUT);

  it("a manifest the top reference cannot deliver: one manifest failure, no throw", async () => {
    const r = await verifyImage(new RegistryImage(client, "good/app", "missing"));
    expect(r).toMatchObject({ ok: false, images: [] });
    expect(r.failures[0]).toMatchObject({ check: "manifest", code: "NOT_FOUND" });
  }, TIMEOUT);
});
