/**
 * The OCI image layout: written from real layers and read back, checked by Debian's skopeo
 * (`inspect oci:`, `copy oci: dir:`), and never showing an unverified blob under its final name.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../../src/runtime/node.js";
import { buildImage, buildIndex, type BuiltImage, OCI_LAYER_ZSTD, OCI_MANIFEST, parsePlatform } from "../../src/oci/index.js";
import { openLayout } from "../../src/oci/layout-node.js";
import * as tars from "../fixtures/tars.js";
import { expectCode, type MadeLayer, makeLayer } from "../support/registry.js";

const sha = (b: Uint8Array): string => "sha256:" + createHash("sha256").update(b).digest("hex");
const hexOf = (d: string): string => d.slice("sha256:".length);

/** Names in blobs/sha256 that are not final blob names (temporary files left behind). */
function strayFiles(dir: string): string[] {
  return readdirSync(join(dir, "blobs", "sha256")).filter((n) => !/^[0-9a-f]{64}$/.test(n));
}

let work: string;
let layers: MadeLayer[];
let image: BuiltImage;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "layerkit-oci-layout-"));
  layers = [await makeLayer(tars.manySmallFiles(40), "zstd:chunked"), await makeLayer(tars.kitchenSinkTar(), "estargz")];
  image = await buildImage({
    layers: layers.map((l) => ({ descriptor: l.result.descriptor, diffID: l.result.diffID })),
    config: { config: { Cmd: ["/bin/true"] } },
    annotations: { "org.opencontainers.image.title": "layout test" },
  });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function writeImageLayout(dir: string, ref = "v1"): Promise<void> {
  const layout = await openLayout(dir, { create: true });
  for (const l of layers) await layout.writeBlob(l.blob, { digest: l.result.digest, size: l.result.size });
  await layout.writeImage(image, ref);
}

describe("OCI layout write and read", () => {
  it("writes oci-layout, index.json and verified blobs, and reads the image back", async () => {
    const dir = join(work, "rw");
    await writeImageLayout(dir);
    expect(JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].annotations["org.opencontainers.image.ref.name"]).toBe("v1");
    for (const l of layers) expect(sha(readFileSync(join(dir, "blobs", "sha256", hexOf(l.result.digest))))).toBe(l.result.digest);
    expect(strayFiles(dir)).toEqual([]);

    const layout = await openLayout(dir);
    const img = await layout.readImage("v1");
    expect(img.descriptor.digest).toBe(image.manifest.descriptor.digest);
    expect(img.manifest.layers.map((l) => l.digest)).toEqual(layers.map((l) => l.result.digest));
    expect(img.config.rootfs.diff_ids).toEqual(layers.map((l) => l.result.diffID));
    expect(await layout.readBlob(layers[0]!.result.digest, { size: layers[0]!.result.size })).toEqual(layers[0]!.blob);
    await expectCode(layout.readImage("nope"), "NOT_FOUND");
  });

  it("a re-tag replaces the entry, and an index is resolved by platform", async () => {
    const dir = join(work, "multi");
    await writeImageLayout(dir, "latest");
    const layout = await openLayout(dir);
    const arm = await buildImage({
      layers: [{ descriptor: layers[0]!.result.descriptor, diffID: layers[0]!.result.diffID }],
      platform: parsePlatform("linux/arm64"),
    });
    await layout.writeImage(arm);
    const idx = await buildIndex([image.manifest.descriptor, arm.manifest.descriptor]);
    await layout.addToIndex(await layout.writeJson(idx.descriptor.mediaType, idx.bytes), "latest");
    expect((await layout.readIndex()).manifests.filter((m) => m.annotations?.["org.opencontainers.image.ref.name"] === "latest"))
      .toHaveLength(1);
    const a = await layout.readImage("latest", { platform: parsePlatform("linux/arm64") });
    expect(a.descriptor.digest).toBe(arm.manifest.descriptor.digest);
    expect(a.index?.descriptor.digest).toBe(idx.descriptor.digest);
    expect((await layout.readImage("latest")).descriptor.digest).toBe(image.manifest.descriptor.digest);
  });

  it("never leaves a blob with a wrong digest or size under its final name", async () => {
    const dir = join(work, "bad");
    const layout = await openLayout(dir, { create: true });
    const blob = layers[0]!.blob;
    const wrong = "sha256:" + "0".repeat(64);
    await expectCode(layout.writeBlob(blob, { digest: wrong }), "DIGEST_MISMATCH");
    await expectCode(layout.writeBlob(blob, { digest: sha(blob), size: blob.length - 1 }), "SIZE_MISMATCH");
    await expectCode(layout.writeBlob(blob, { digest: sha(blob), size: blob.length + 1 }), "SIZE_MISMATCH");
    // A stream that fails half-way leaves nothing behind.
    const failing = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(blob.subarray(0, 100));
        c.error(new Error("connection reset"));
      },
    });
    await expect(layout.writeBlob(failing, { digest: sha(blob) })).rejects.toThrow(/connection reset/);
    expect(readdirSync(join(dir, "blobs", "sha256"))).toEqual([]);
    await expectCode(layout.writeBlob(blob, { digest: "sha256:../../x" }), "BAD_ARGUMENT");
    await expectCode(layout.addToIndex({ mediaType: OCI_MANIFEST, digest: wrong, size: 1 }), "NOT_FOUND");
    await expectCode(layout.addToIndex({ mediaType: OCI_MANIFEST, digest: sha(blob), size: 1 }, "bad ref!"), "BAD_ARGUMENT");
  });

  it("refuses tampered, missing and malformed layout contents", async () => {
    const dir = join(work, "tampered");
    await writeImageLayout(dir);
    const layout = await openLayout(dir);
    const p = join(dir, "blobs", "sha256", hexOf(layers[1]!.result.digest));
    const bytes = readFileSync(p);
    bytes[100] = bytes[100]! ^ 1;
    writeFileSync(p, bytes);
    await expectCode(layout.readBlob(layers[1]!.result.digest), "DIGEST_MISMATCH");
    await expectCode(layout.readBlob(layers[1]!.result.digest, { size: 5 }), "SIZE_MISMATCH");
    await expectCode(layout.readBlob(layers[1]!.result.digest, { maxBytes: 10 }), "LIMIT_EXCEEDED");
    rmSync(join(dir, "blobs", "sha256", hexOf(image.config.descriptor.digest)));
    await expectCode(layout.readImage("v1"), "NOT_FOUND");

    writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [] }));
    await expectCode(layout.readIndex(), "BAD_MANIFEST");
    writeFileSync(join(dir, "index.json"), "[".repeat(1000));
    await expectCode(layout.readIndex(), "LIMIT_EXCEEDED");

    writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "2.0.0" }));
    await expectCode(openLayout(dir), "UNSUPPORTED_FORMAT");
    writeFileSync(join(dir, "oci-layout"), "{");
    await expectCode(openLayout(dir), "BAD_MANIFEST");
    await expectCode(openLayout(join(work, "does-not-exist")), "NOT_FOUND");
  });

  it("refuses a blob that is a symlink out of the layout", async () => {
    const dir = join(work, "symlink");
    const layout = await openLayout(dir, { create: true });
    const outside = join(work, "outside-secret");
    writeFileSync(outside, "secret");
    const digest = sha(new TextEncoder().encode("secret"));
    symlinkSync(outside, join(dir, "blobs", "sha256", hexOf(digest)));
    await expectCode(layout.readBlob(digest), "UNSAFE_PATH");
  });
});

describe("skopeo interop", () => {
  it("skopeo inspect and copy accept our layout, and the layer blobs arrive intact", async () => {
    const dir = join(work, "for-skopeo");
    await writeImageLayout(dir, "v1");
    const inspect = JSON.parse(execFileSync("skopeo", ["inspect", `oci:${dir}:v1`], { encoding: "utf8" }));
    expect(inspect.Digest).toBe(image.manifest.descriptor.digest);
    expect(inspect.Layers).toEqual(layers.map((l) => l.result.digest));
    expect(inspect.Os).toBe("linux");
    expect(inspect.Architecture).toBe("amd64");
    const raw = execFileSync("skopeo", ["inspect", "--raw", `oci:${dir}:v1`]);
    expect(sha(raw)).toBe(image.manifest.descriptor.digest);

    const out = join(work, "skopeo-dir");
    execFileSync("skopeo", ["--insecure-policy", "copy", "--quiet", `oci:${dir}:v1`, `dir:${out}`]);
    for (const l of layers) {
      const got = readFileSync(join(out, hexOf(l.result.digest)));
      expect(sha(got)).toBe(l.result.digest);
      expect(got.length).toBe(l.result.size);
    }
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      OCI_LAYER_ZSTD,
      "application/vnd.oci.image.layer.v1.tar+gzip",
    ]);
    // zstd:chunked annotations survive skopeo's copy.
    for (const [k, v] of Object.entries(layers[0]!.result.annotations)) expect(manifest.layers[0].annotations[k]).toBe(v);
  });

  it("we read a layout skopeo wrote", async () => {
    const src = join(work, "for-skopeo2");
    await writeImageLayout(src, "v1");
    const dst = join(work, "by-skopeo");
    mkdirSync(dst);
    execFileSync("skopeo", ["--insecure-policy", "copy", "--quiet", `oci:${src}:v1`, `oci:${dst}:copied`]);
    expect(existsSync(join(dst, "oci-layout"))).toBe(true);
    const layout = await openLayout(dst);
    const img = await layout.readImage("copied");
    expect(img.manifest.layers.map((l) => l.digest)).toEqual(layers.map((l) => l.result.digest));
    expect(img.config.rootfs.diff_ids).toEqual(layers.map((l) => l.result.diffID));
    for (const l of layers) expect(await layout.readBlob(l.result.digest, { size: l.result.size })).toEqual(l.blob);
  });
});
