/**
 * The registry client against Debian's docker-registry (distribution 2.8) on 127.0.0.1: anonymous,
 * htpasswd (Basic) and token (Bearer, our own token server) auth; push an image built from
 * createLayer layers, pull it back, tags, a platform index, chunked upload, cross-repo mount,
 * lazy reads through RegistryBlobSource, and skopeo copying from our registry into a layout we read.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../../src/runtime/node.js";
import { readFile } from "../../src/lazy/read-file.js";
import {
  buildImage,
  buildIndex,
  type BuiltImage,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_INDEX,
  parsePlatform,
} from "../../src/oci/index.js";
import { openLayout } from "../../src/oci/layout-node.js";
import { openReference, pullToLayout, pushFromLayout, type PushLayer, RegistryClient } from "../../src/registry/index.js";
import * as tars from "../fixtures/tars.js";
import {
  expectCode,
  type MadeLayer,
  makeLayer,
  readAll,
  type RegistryAuth,
  startRegistry,
  type TestRegistry,
} from "../support/registry.js";

const sha = (b: Uint8Array): string => "sha256:" + createHash("sha256").update(b).digest("hex");

let layers: MadeLayer[];
let image: BuiltImage;
let armImage: BuiltImage;
let work: string;
const pushLayers = (ls: MadeLayer[]): PushLayer[] => ls.map((l) => ({ descriptor: l.result.descriptor, data: () => l.blob }));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "layerkit-registry-test-"));
  layers = [
    await makeLayer(tars.manySmallFiles(60), "zstd:chunked"),
    await makeLayer(tars.kitchenSinkTar(), "estargz"),
    await makeLayer(tars.unicodeNamesTar(), "zstd"),
  ];
  image = await buildImage({
    layers: layers.map((l) => ({ descriptor: l.result.descriptor, diffID: l.result.diffID })),
    annotations: { "org.opencontainers.image.title": "registry test" },
  });
  armImage = await buildImage({
    layers: [{ descriptor: layers[0]!.result.descriptor, diffID: layers[0]!.result.diffID }],
    platform: parsePlatform("linux/arm64/v8"),
  });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each<RegistryAuth>(["none", "htpasswd", "token"])("docker-registry with auth=%s", (auth) => {
  let reg: TestRegistry;
  let client: RegistryClient;
  beforeAll(async () => {
    reg = await startRegistry(auth);
    client = new RegistryClient(reg.host, auth === "none" ? {} : { credentials: { username: reg.username, password: reg.password } });
  }, 30_000);
  afterAll(async () => reg?.stop());

  it("pushes an image, resolves the tag and pulls it back verified", async () => {
    await client.ping();
    const pushed = await client.pushImage("team/app", image, pushLayers(layers), "v1");
    expect(pushed.digest).toBe(image.manifest.descriptor.digest);
    const opened = openReference(
      `${reg.host}/team/app:v1`,
      auth === "none" ? {} : { credentials: { username: reg.username, password: reg.password } },
    );
    expect([opened.repository, opened.reference]).toEqual(["team/app", "v1"]);
    expect((await opened.client.getManifest(opened.repository, opened.reference)).descriptor.digest).toBe(image.manifest.descriptor.digest);
    const resolved = await client.resolve("team/app", "v1");
    expect(resolved).toEqual({
      mediaType: image.manifest.descriptor.mediaType,
      digest: image.manifest.descriptor.digest,
      size: image.manifest.descriptor.size,
    });
    const pulled = await client.pullImage("team/app", "v1");
    expect(pulled.descriptor.digest).toBe(image.manifest.descriptor.digest);
    expect(pulled.manifest).toEqual(image.manifest.value);
    expect(pulled.config.rootfs.diff_ids).toEqual(layers.map((l) => l.result.diffID));
    for (const l of layers) {
      expect(await readAll(await client.openBlob("team/app", l.result.descriptor))).toEqual(l.blob);
      expect(await client.hasBlob("team/app", l.result.digest)).toBe(l.result.size);
    }
    expect(await client.listTags("team/app")).toEqual(["v1"]);
    // Pushing again finds every blob present and uploads nothing.
    const before = client.transport.requests;
    await client.pushImage("team/app", image, pushLayers(layers), "v1");
    expect(client.transport.requests - before).toBeLessThanOrEqual(layers.length + 3);
  });

  it("uploads in chunks and monolithically, and mounts across repositories", async () => {
    const blob = layers[1]!.blob;
    const chunked = await client.pushBlob("team/chunks", blob, { chunkSize: 4096, digest: sha(blob), size: blob.length });
    expect(chunked.how).toBe("chunked");
    expect(chunked.requests).toBeGreaterThanOrEqual(Math.ceil(blob.length / 4096));
    expect(await client.getBlob("team/chunks", { digest: sha(blob), size: blob.length })).toEqual(blob);

    // A stream source without a known digest: hashed on the way.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let o = 0; o < blob.length; o += 1000) c.enqueue(blob.slice(o, o + 1000));
        c.close();
      },
    });
    const mono = await client.pushBlob("team/mono", stream);
    expect(mono).toMatchObject({ how: "monolithic", digest: sha(blob), size: blob.length });

    const mounted = await client.pushBlob("team/other", blob, { digest: sha(blob), size: blob.length, mountFrom: "team/chunks" });
    expect(mounted.how).toBe("mounted");
    // A mount the registry declines (the source lacks the blob) becomes an upload.
    const declined = await client.pushBlob("team/other2", blob, { digest: sha(blob), size: blob.length, mountFrom: "team/empty" });
    expect(declined.how).toBe("monolithic");
    expect(await client.hasBlob("team/other2", sha(blob))).toBe(blob.length);
    expect(await client.hasBlob("team/other", sha(blob))).toBe(blob.length);

    // A wrong expected digest never commits the upload.
    const wrong = "sha256:" + "1".repeat(64);
    await expectCode(client.pushBlob("team/bad", layers[2]!.blob, { digest: wrong, chunkSize: 1024 }), "DIGEST_MISMATCH");
    expect(await client.hasBlob("team/bad", sha(layers[2]!.blob))).toBeUndefined();
  });

  it("pushes a platform index and pulls the image for each platform", async () => {
    await client.pushImage("team/multi", image, pushLayers(layers));
    await client.pushImage("team/multi", armImage, pushLayers([layers[0]!]));
    const idx = await buildIndex([image.manifest.descriptor, armImage.manifest.descriptor]);
    await client.pushManifest("team/multi", "latest", idx.bytes, OCI_INDEX);
    const arm = await client.pullImage("team/multi", "latest", { platform: parsePlatform("linux/arm64") });
    expect(arm.descriptor.digest).toBe(armImage.manifest.descriptor.digest);
    expect(arm.index?.descriptor.digest).toBe(idx.descriptor.digest);
    expect(arm.config.architecture).toBe("arm64");
    expect((await client.pullImage("team/multi", "latest")).descriptor.digest).toBe(image.manifest.descriptor.digest);
    await expectCode(client.pullImage("team/multi", "latest", { platform: parsePlatform("linux/s390x") }), "NOT_FOUND");
    await expectCode(client.getManifest("team/multi", "nope"), "NOT_FOUND");
  });

  it("reads one file lazily from a zstd:chunked layer with Range requests", async () => {
    await client.pushImage("team/lazy", image, pushLayers(layers), "v1");
    const source = client.blobSource("team/lazy", layers[0]!.result.descriptor);
    const toc = layers[0]!.result.toc!;
    const file = toc.entries!.find((e) => e.type === "reg" && (e.size ?? 0) > 0)!;
    const data = await readFile(source, file.name);
    expect(data.length).toBe(file.size);
    expect(sha(data)).toBe(file.digest);
    expect(source.stats.bytes).toBeLessThan(layers[0]!.blob.length);
  });

  it("pushes and pulls a Docker schema 2 image (gzip layer)", async () => {
    const docker = await buildImage({
      layers: [{ descriptor: layers[1]!.result.descriptor, diffID: layers[1]!.result.diffID }],
      format: "docker",
    });
    await client.pushImage(
      "team/docker",
      docker,
      pushLayers([layers[1]!]).map((l) => ({ ...l, descriptor: docker.manifest.value.layers[0]! })),
      "v2s2",
    );
    const pulled = await client.getManifest("team/docker", "v2s2");
    expect(pulled.descriptor.mediaType).toBe(DOCKER_MANIFEST);
    expect(pulled.bytes).toEqual(docker.manifest.bytes);
    const img = await client.pullImage("team/docker", "v2s2");
    expect(img.manifest.layers[0]!.mediaType).toBe(DOCKER_LAYER_GZIP);
    expect(img.config.rootfs.diff_ids).toEqual([layers[1]!.result.diffID]);
    // A Docker manifest list over it.
    const list = await buildIndex([docker.manifest.descriptor], { format: "docker" });
    await client.pushManifest("team/docker", "list", list.bytes, DOCKER_MANIFEST_LIST);
    const fromList = await client.pullImage("team/docker", "list");
    expect(fromList.index?.descriptor.mediaType).toBe(DOCKER_MANIFEST_LIST);
    expect(fromList.descriptor.digest).toBe(docker.manifest.descriptor.digest);
  });

  it("copies an index with its images from the registry into a layout and back", async () => {
    const dir = join(work, `copy-${auth}`);
    const layout = await openLayout(dir, { create: true });
    await client.pushImage("team/copy", image, pushLayers(layers));
    await client.pushImage("team/copy", armImage, pushLayers([layers[0]!]));
    const idx = await buildIndex([image.manifest.descriptor, armImage.manifest.descriptor]);
    await client.pushManifest("team/copy", "multi", idx.bytes, OCI_INDEX);
    const top = await pullToLayout(client, "team/copy", "multi", layout);
    expect(top.digest).toBe(idx.descriptor.digest);
    expect((await layout.readImage("multi", { platform: parsePlatform("linux/arm64") })).descriptor.digest).toBe(
      armImage.manifest.descriptor.digest,
    );
    const inspect = JSON.parse(execFileSync("skopeo", ["inspect", `oci:${dir}:multi`], { encoding: "utf8" }));
    expect(inspect.Layers).toEqual(layers.map((l) => l.result.digest));
    await pushFromLayout(layout, "multi", client, "team/copied");
    expect((await client.pullImage("team/copied", "multi", { platform: parsePlatform("linux/arm64") })).descriptor.digest).toBe(
      armImage.manifest.descriptor.digest,
    );
    expect((await client.resolve("team/copied", "multi")).digest).toBe(idx.descriptor.digest);
  });

  it("streams a larger blob up in bounded chunks", async () => {
    const size = 12 * 1024 * 1024 + 123;
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= size) return c.close();
        const n = Math.min(1 << 20, size - sent);
        c.enqueue(new Uint8Array(n).map((_, i) => ((sent + i) * 2654435761) >>> 24));
        sent += n;
      },
    });
    const r = await client.pushBlob("team/big", stream, { chunkSize: 4 * 1024 * 1024 });
    expect(r).toMatchObject({ how: "chunked", size });
    expect(await client.hasBlob("team/big", r.digest)).toBe(size);
    const back = await readAll(await client.openBlob("team/big", r));
    expect(sha(back)).toBe(r.digest);
  });

  if (auth !== "none") {
    it("refuses missing and wrong credentials", async () => {
      const anon = new RegistryClient(reg.host);
      const wrongPw = new RegistryClient(reg.host, { credentials: { username: reg.username, password: "wrong" } });
      await expectCode(wrongPw.getManifest("team/app", "v1"), "UNAUTHORIZED");
      await expectCode(anon.pushBlob("team/app", new Uint8Array([1, 2, 3])), "UNAUTHORIZED");
      if (auth === "htpasswd") await expectCode(anon.getManifest("team/app", "v1"), "UNAUTHORIZED");
      else expect((await anon.getManifest("team/app", "v1")).descriptor.digest).toBe(image.manifest.descriptor.digest); // our token server gives anonymous pull
    });
  }

  if (auth === "token") {
    it("caches tokens per scope", async () => {
      const c = new RegistryClient(reg.host, { credentials: { username: reg.username, password: reg.password } });
      const n0 = reg.tokenRequests.length;
      for (let i = 0; i < 3; i++) await c.getManifest("team/app", "v1");
      await c.getBlob("team/app", layers[2]!.result.descriptor);
      expect(reg.tokenRequests.length - n0).toBe(1);
      expect(reg.tokenRequests.at(-1)!.scopes).toEqual(["repository:team/app:pull"]);
      await c.getManifest("team/multi", "latest");
      expect(reg.tokenRequests.length - n0).toBe(2);
      expect(c.transport.tokens.requests).toBe(2);
      // A pull,push token also serves pulls of that repository.
      const pushed = await c.pushBlob("team/fresh", layers[2]!.blob);
      expect(reg.tokenRequests.length - n0).toBe(3);
      expect(await c.getBlob("team/fresh", pushed)).toEqual(layers[2]!.blob);
      expect(reg.tokenRequests.length - n0).toBe(3);
    });
  }

  if (auth !== "token") {
    it("skopeo copies an image from our registry into a layout we read", async () => {
      await client.pushImage("team/skopeo", image, pushLayers(layers), "v1");
      const dir = join(work, `skopeo-${auth}`);
      const creds = auth === "none" ? [] : ["--src-creds", `${reg.username}:${reg.password}`];
      execFileSync("skopeo", [
        "--insecure-policy",
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        ...creds,
        `docker://${reg.host}/team/skopeo:v1`,
        `oci:${dir}:v1`,
      ], { stdio: ["ignore", "ignore", "pipe"] });
      const layout = await openLayout(dir);
      const img = await layout.readImage("v1");
      expect(img.descriptor.digest).toBe(image.manifest.descriptor.digest);
      for (const l of layers) expect(await layout.readBlob(l.result.digest, { size: l.result.size })).toEqual(l.blob);
    });
  }
});
