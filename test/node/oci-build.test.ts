/**
 * Image configs, manifests and indexes built from real layers (createLayer), and the strict
 * parsers every manifest, index and config we read goes through.
 */
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import "../../src/runtime/node.js";
import { LayerkitError } from "../../src/errors.js";
import {
  buildImage,
  buildIndex,
  type BuildLayer,
  canonicalJson,
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  mergeAnnotations,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_LAYER_ZSTD,
  OCI_MANIFEST,
  parseConfig,
  parseDigest,
  parseIndex,
  parseManifest,
  parseManifestDocument,
  parsePlatform,
  selectPlatform,
} from "../../src/oci/index.js";
import { parseJsonLimited } from "../../src/util/json-limits.js";
import * as tars from "../fixtures/tars.js";
import { type MadeLayer, makeLayer } from "../support/registry.js";

function sha(b: Uint8Array): string {
  return "sha256:" + createHash("sha256").update(b).digest("hex");
}

function expectCode(f: () => unknown, code: string): LayerkitError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LayerkitError);
    expect((e as LayerkitError).code).toBe(code);
    return e as LayerkitError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

async function expectCodeAsync(p: Promise<unknown>, code: string): Promise<LayerkitError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(LayerkitError);
    expect((e as LayerkitError).code).toBe(code);
    return e as LayerkitError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

let chunked: MadeLayer;
let estargz: MadeLayer;
let zstd: MadeLayer;
const asBuild = (l: MadeLayer): BuildLayer => ({ descriptor: l.result.descriptor, diffID: l.result.diffID });

beforeAll(async () => {
  chunked = await makeLayer(tars.manySmallFiles(50), "zstd:chunked");
  estargz = await makeLayer(tars.kitchenSinkTar(), "estargz");
  zstd = await makeLayer(tars.unicodeNamesTar(), "zstd");
});

describe("buildImage", () => {
  it("builds an OCI config and manifest with the layers' media types, annotations and diff IDs", async () => {
    const img = await buildImage({
      layers: [asBuild(chunked), asBuild(estargz), { ...asBuild(zstd), annotations: { "org.example.role": "app" } }],
      config: { config: { Env: ["PATH=/usr/bin"], Cmd: ["/bin/sh"] } },
      platform: parsePlatform("linux/arm64/v8"),
      annotations: { "org.opencontainers.image.title": "demo" },
    });
    const m = img.manifest.value;
    expect(m.mediaType).toBe(OCI_MANIFEST);
    expect(m.config.mediaType).toBe(OCI_CONFIG);
    expect(m.layers.map((l) => l.mediaType)).toEqual([OCI_LAYER_ZSTD, OCI_LAYER_GZIP, OCI_LAYER_ZSTD]);
    expect(m.layers.map((l) => l.digest)).toEqual([sha(chunked.blob), sha(estargz.blob), sha(zstd.blob)]);
    expect(m.layers.map((l) => l.size)).toEqual([chunked.blob.length, estargz.blob.length, zstd.blob.length]);
    // The writers' annotations survive; extra ones are merged in.
    for (const [k, v] of Object.entries(chunked.result.annotations)) expect(m.layers[0]!.annotations![k]).toBe(v);
    for (const [k, v] of Object.entries(estargz.result.annotations)) expect(m.layers[1]!.annotations![k]).toBe(v);
    expect(m.layers[2]!.annotations).toEqual({ ...zstd.result.annotations, "org.example.role": "app" });
    expect(m.annotations).toEqual({ "org.opencontainers.image.title": "demo" });
    // The bytes are what the descriptors say, and they parse back strictly.
    expect(img.manifest.descriptor.digest).toBe(sha(img.manifest.bytes));
    expect(img.config.descriptor.digest).toBe(sha(img.config.bytes));
    expect(m.config.digest).toBe(sha(img.config.bytes));
    expect(parseManifest(img.manifest.bytes, { mediaType: OCI_MANIFEST })).toEqual(m);
    const cfg = parseConfig(img.config.bytes);
    expect(cfg.rootfs.diff_ids).toEqual([chunked.result.diffID, estargz.result.diffID, zstd.result.diffID]);
    expect(cfg.architecture).toBe("arm64");
    expect(cfg.variant).toBe("v8");
    expect(cfg.config?.Cmd).toEqual(["/bin/sh"]);
    expect(cfg.history).toHaveLength(3);
    expect(img.manifest.descriptor.platform).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
  });

  it("is deterministic: the same inputs give the same digests", async () => {
    const a = await buildImage({ layers: [asBuild(chunked)], annotations: { b: "2", a: "1" } });
    const b = await buildImage({ layers: [asBuild(chunked)], annotations: { a: "1", b: "2" } });
    expect(a.manifest.descriptor.digest).toBe(b.manifest.descriptor.digest);
    expect(a.config.descriptor.digest).toBe(b.config.descriptor.digest);
  });

  it("never replaces a writer's annotation", async () => {
    const key = Object.keys(chunked.result.annotations)[0]!;
    const e = await expectCodeAsync(buildImage({ layers: [{ ...asBuild(chunked), annotations: { [key]: "other" } }] }), "BAD_ANNOTATION");
    expect(e.details.key).toBe(key);
    // The same value again is a no-op, not a conflict.
    await buildImage({ layers: [{ ...asBuild(chunked), annotations: { [key]: chunked.result.annotations[key]! } }] });
    expect(mergeAnnotations({ a: "1" }, { b: "2" })).toEqual({ a: "1", b: "2" });
  });

  it("builds Docker schema 2 for gzip layers and refuses zstd and zstd:chunked ones", async () => {
    const d = await buildImage({ layers: [asBuild(estargz)], format: "docker" });
    expect(d.manifest.value.mediaType).toBe(DOCKER_MANIFEST);
    expect(d.manifest.value.config.mediaType).toBe(DOCKER_CONFIG);
    expect(d.manifest.value.layers[0]!.mediaType).toBe(DOCKER_LAYER_GZIP);
    expect(parseManifest(d.manifest.bytes, { mediaType: DOCKER_MANIFEST }).layers[0]!.digest).toBe(sha(estargz.blob));
    for (const l of [zstd, chunked]) {
      const e = await expectCodeAsync(buildImage({ layers: [asBuild(l)], format: "docker" }), "UNSUPPORTED_FORMAT");
      expect(e.message).toMatch(/OCI/);
    }
    // A zstd:chunked layer is refused by its annotations even under a gzip media type.
    const disguised = { ...asBuild(chunked), descriptor: { ...chunked.result.descriptor, mediaType: OCI_LAYER_GZIP } };
    await expectCodeAsync(buildImage({ layers: [disguised], format: "docker" }), "UNSUPPORTED_FORMAT");
  });

  it("refuses bad layer descriptors, diff IDs and history", async () => {
    await expectCodeAsync(buildImage({ layers: [{ ...asBuild(zstd), diffID: "sha256:ABC" }] }), "BAD_ARGUMENT");
    await expectCodeAsync(
      buildImage({ layers: [{ ...asBuild(zstd), descriptor: { ...zstd.result.descriptor, digest: "md5:00" } }] }),
      "BAD_MANIFEST",
    );
    await expectCodeAsync(
      buildImage({ layers: [{ ...asBuild(zstd), descriptor: { ...zstd.result.descriptor, size: -1 } }] }),
      "BAD_MANIFEST",
    );
    await expectCodeAsync(buildImage({ layers: [asBuild(zstd)], config: { history: [] } }), "BAD_ARGUMENT");
  });
});

describe("buildIndex and platform selection", () => {
  it("selects the image for a platform and reports the available ones otherwise", async () => {
    const amd = await buildImage({ layers: [asBuild(zstd)], platform: parsePlatform("linux/amd64") });
    const arm = await buildImage({ layers: [asBuild(chunked)], platform: parsePlatform("linux/arm64") });
    const idx = await buildIndex([amd.manifest.descriptor, arm.manifest.descriptor]);
    expect(idx.value.mediaType).toBe(OCI_INDEX);
    const parsed = parseIndex(idx.bytes, { mediaType: OCI_INDEX });
    expect(selectPlatform(parsed, parsePlatform("linux/arm64/v8")).digest).toBe(arm.manifest.descriptor.digest);
    expect(selectPlatform(parsed).digest).toBe(amd.manifest.descriptor.digest);
    const e = expectCode(() => selectPlatform(parsed, parsePlatform("windows/amd64")), "NOT_FOUND");
    expect(e.details.available).toEqual(["linux/amd64", "linux/arm64"]);
    expectCode(() => parsePlatform("linux"), "BAD_ARGUMENT");
    expectCode(() => parsePlatform("linux/amd 64"), "BAD_ARGUMENT");
  });
});

describe("parsers refuse bad input with typed errors", () => {
  const desc = { mediaType: OCI_LAYER_ZSTD, digest: "sha256:" + "a".repeat(64), size: 1 };
  const cfg = { mediaType: OCI_CONFIG, digest: "sha256:" + "b".repeat(64), size: 2 };
  const manifest = (extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: cfg, layers: [desc], ...extra });

  it("wrong media types", () => {
    expectCode(() => parseManifest(manifest({ mediaType: "application/json" })), "BAD_MANIFEST");
    expectCode(() => parseManifest(manifest(), { mediaType: DOCKER_MANIFEST }), "BAD_MANIFEST");
    expectCode(() => parseIndex(manifest()), "BAD_MANIFEST");
    expectCode(() => parseManifest(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] })), "BAD_MANIFEST");
    expectCode(() => parseManifest(manifest({ mediaType: DOCKER_MANIFEST })), "BAD_MANIFEST"); // Docker config type required
    expectCode(() => parseManifest(JSON.stringify({ schemaVersion: 1, name: "x", fsLayers: [] })), "UNSUPPORTED_FORMAT");
    expectCode(() => parseManifest(manifest({ schemaVersion: 3 })), "BAD_MANIFEST");
    expectCode(() => parseManifest(manifest({ layers: [{ ...desc, mediaType: "not a media type" }] })), "BAD_MANIFEST");
    // An OCI manifest without mediaType is accepted when the Content-Type says what it is.
    const noType = JSON.stringify({ schemaVersion: 2, config: cfg, layers: [desc] });
    expect(parseManifestDocument(noType, { mediaType: `${OCI_MANIFEST}; charset=utf-8` }).mediaType).toBe(OCI_MANIFEST);
    expectCode(() => parseManifestDocument(noType, { mediaType: DOCKER_MANIFEST }), "BAD_MANIFEST");
  });

  it("digests in the wrong form", () => {
    for (
      const digest of [
        "sha256:" + "A".repeat(64),
        "sha256:" + "a".repeat(63),
        "sha512:" + "a".repeat(128),
        "a".repeat(64),
        "sha256:../../etc/passwd",
      ]
    ) {
      const e = expectCode(() => parseManifest(manifest({ layers: [{ ...desc, digest }] })), "BAD_MANIFEST");
      expect(e.details.path).toBe("$.layers[0].digest");
      expectCode(() => parseDigest(digest), "BAD_ARGUMENT");
    }
    expectCode(
      () => parseConfig(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: ["sha256:x"] } })),
      "BAD_MANIFEST",
    );
  });

  it("missing or mistyped fields", () => {
    expectCode(() => parseManifest(manifest({ layers: [{ ...desc, size: "1" }] })), "BAD_MANIFEST");
    expectCode(() => parseManifest(manifest({ layers: [{ ...desc, size: 2 ** 60 }] })), "BAD_MANIFEST");
    expectCode(() => parseManifest(manifest({ layers: {} })), "BAD_MANIFEST");
    expectCode(() => parseManifest(manifest({ config: undefined })), "BAD_MANIFEST");
    expectCode(() => parseManifest(manifest({ annotations: { a: 1 } })), "BAD_MANIFEST");
    expectCode(() => parseManifest("[]"), "BAD_MANIFEST");
    expectCode(() => parseManifest("{"), "BAD_MANIFEST");
    expectCode(() => parseManifest(new Uint8Array([0x7b, 0xff, 0x7d])), "BAD_MANIFEST");
    expectCode(() => parseConfig(JSON.stringify({ architecture: "amd64", os: "linux" })), "BAD_MANIFEST");
    expectCode(
      () => parseConfig(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "x", diff_ids: [] } })),
      "BAD_MANIFEST",
    );
  });

  it("huge or deeply nested JSON", () => {
    const deep = manifest({ annotations: undefined, x: JSON.parse("[".repeat(40) + "]".repeat(40)) });
    expectCode(() => parseManifest(deep), "LIMIT_EXCEEDED");
    const huge = manifest({ x: "a".repeat(5 * 1024 * 1024) });
    expectCode(() => parseManifest(huge), "LIMIT_EXCEEDED");
    expectCode(() => parseManifest(manifest(), { maxBytes: 10 }), "LIMIT_EXCEEDED");
    // Brackets inside strings do not count as nesting.
    expect(parseJsonLimited(JSON.stringify({ s: "[".repeat(1000) }), { maxDepth: 2 })).toEqual({ s: "[".repeat(1000) });
    expectCode(() => parseJsonLimited("[".repeat(100_000)), "LIMIT_EXCEEDED");
  });

  it("canonical JSON sorts keys and refuses non-JSON values", () => {
    expect(canonicalJson({ b: 1, a: [true, null, "x"], c: undefined })).toBe('{"a":[true,null,"x"],"b":1}');
    expectCode(() => canonicalJson({ a: NaN }), "BAD_ARGUMENT");
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expectCode(() => canonicalJson(cyc), "BAD_ARGUMENT");
  });
});
