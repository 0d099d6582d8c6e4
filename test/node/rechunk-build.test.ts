/**
 * buildImageFromContent on a real directory tree (hardlinks, nested and empty directories, a
 * symlink, unmapped files) and on a GNU tar of it: which entries land in which layer and in what
 * order, parents carried with the tree's metadata, same inputs → same manifest digest, every
 * layer passes verifyLayer, and skopeo reads the layout.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import "../../src/runtime/node.js";
import { isLayerkitError } from "../../src/errors.js";
import { decompressLayer } from "../../src/formats/decompress.js";
import type { LayerFormat } from "../../src/layer/result.js";
import { openLayout } from "../../src/oci/layout-node.js";
import { buildImageFromContent, LAYER_NAME_ANNOTATION } from "../../src/rechunk/build.js";
import { type ContentMeta, parseContentMeta } from "../../src/rechunk/contentmeta.js";
import { directoryRootfs, type RootfsSource } from "../../src/rechunk/rootfs.js";
import { tarRootfs } from "../../src/rechunk/tar-rootfs.js";
import { openFileSource } from "../../src/source/node-file.js";
import { MemorySource } from "../../src/source/memory.js";
import { nodeDirectoryFs } from "../../src/tar/from-directory-node.js";
import { readTar } from "../../src/tar/reader.js";
import { verifyLayer } from "../../src/verify/verify-layer.js";

const digestOf = (s: string): string => "sha256:" + createHash("sha256").update(s).digest("hex");

let work: string;
let tree: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "layerkit-rechunk-"));
  tree = join(work, "rootfs");
  const f = (p: string, s: string): void => {
    mkdirSync(join(tree, p, ".."), { recursive: true });
    writeFileSync(join(tree, p), s);
  };
  f("etc/passwd", "root:x:0:0\n");
  f("usr/bin/bash", "bash binary");
  symlinkSync("bash", join(tree, "usr/bin/sh"));
  f("usr/lib/libc.so", "libc bytes");
  f("opt/a/b/c/deep.txt", "libc bytes"); // same content: one digest key maps both
  f("usr/lib/hard1", "shared inode");
  mkdirSync(join(tree, "usr/share"), { recursive: true });
  linkSync(join(tree, "usr/lib/hard1"), join(tree, "usr/share/hard2"));
  f("usr/share/doc/readme", "unmapped");
  mkdirSync(join(tree, "var/empty"), { recursive: true });
  chmodSync(join(tree, "opt/a"), 0o750);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function meta(ordered: boolean, extra: Partial<ContentMeta> = {}): ContentMeta {
  return {
    version: 1,
    created: "2024-05-01T12:00:00Z",
    labels: [["org.example.os", "demo"], ["ostree.bootable", "true"]],
    layers: [{ id: "base", name: "glibc" }, { id: "app", name: "bash" }],
    mapping: [
      { key: "/usr/bin/sh", layer: "app" },
      { key: digestOf("bash binary"), layer: "app" },
      { key: "/usr/share/hard2", layer: "app" },
      { key: "/etc/passwd", layer: "base" },
      { key: digestOf("libc bytes"), layer: "base" },
      { key: "/usr/lib/hard1", layer: "base" },
    ],
    ordered,
    ...extra,
  };
}

const dirRootfs = (): RootfsSource => directoryRootfs(nodeDirectoryFs(tree), { mtime: 0 });

interface Built {
  manifestDigest: string;
  layers: Array<{ name: string; entries: Array<{ name: string; type: string; linkname: string; mode: number }> }>;
  dir: string;
}

async function build(
  rootfs: RootfsSource,
  m: ContentMeta,
  format: LayerFormat = "zstd",
  options: { strict?: boolean } = {},
): Promise<Built> {
  const dir = mkdtempSync(join(work, "oci-"));
  const layout = await openLayout(dir, { create: true });
  const built = await buildImageFromContent(rootfs, m, { format, ...options, writeBlob: (b) => layout.writeBlob(b) });
  const manifest = await layout.writeImage(built.image, "v1");
  const layers = [];
  for (const l of built.layers) {
    const blob = await layout.openBlob(l.digest);
    const tar = await readTar(decompressLayer(blob, format === "gzip" || format === "estargz" ? "gzip" : "zstd"));
    layers.push({
      name: l.descriptor.annotations![LAYER_NAME_ANNOTATION]!,
      entries: tar.entries.map((e) => ({ name: e.header.name, type: e.header.typeflag, linkname: e.header.linkname, mode: e.header.mode })),
    });
  }
  return { manifestDigest: manifest.digest, layers, dir };
}

const names = (b: Built): string[][] => b.layers.map((l) => l.entries.map((e) => e.name));

describe("buildImageFromContent", () => {
  it("ordered: entries follow the mapping, parents first, hardlinks together, unmapped last", async () => {
    const b = await build(dirRootfs(), meta(true));
    expect(b.layers.map((l) => l.name)).toEqual(["glibc", "bash", "unmapped"]);
    expect(names(b)).toEqual([
      [
        "etc/",
        "etc/passwd",
        "opt/",
        "opt/a/",
        "opt/a/b/",
        "opt/a/b/c/",
        "opt/a/b/c/deep.txt",
        "usr/",
        "usr/lib/",
        "usr/lib/libc.so",
        "usr/lib/hard1",
        "usr/share/",
        "usr/share/hard2",
        "var/",
        "var/empty/",
      ],
      ["usr/", "usr/bin/", "usr/bin/sh", "usr/bin/bash"],
      ["usr/", "usr/share/", "usr/share/doc/", "usr/share/doc/readme"],
    ]);
    const base = b.layers[0]!.entries;
    // The hardlink group went to the earliest layer a name is mapped to; the first name holds the bytes.
    expect(base.find((e) => e.name === "usr/share/hard2")).toMatchObject({ type: "1", linkname: "usr/lib/hard1" });
    expect(base.find((e) => e.name === "usr/lib/hard1")!.type).toBe("0");
    // Parent directories carry the tree's own metadata.
    expect(base.find((e) => e.name === "opt/a/")!.mode & 0o7777).toBe(0o750);
  });

  it("unordered: path order in every layer", async () => {
    const b = await build(dirRootfs(), meta(false));
    expect(names(b)[0]).toEqual([
      "etc/",
      "etc/passwd",
      "opt/",
      "opt/a/",
      "opt/a/b/",
      "opt/a/b/c/",
      "opt/a/b/c/deep.txt",
      "usr/",
      "usr/lib/",
      "usr/lib/hard1",
      "usr/lib/libc.so",
      "usr/share/",
      "usr/share/hard2",
      "var/",
      "var/empty/",
    ]);
    expect(names(b)[1]).toEqual(["usr/", "usr/bin/", "usr/bin/bash", "usr/bin/sh"]);
  });

  it("is deterministic, carries labels/created/names, and skopeo reads it; every zstd:chunked layer verifies", async () => {
    const one = await build(dirRootfs(), meta(true), "zstd:chunked");
    const two = await build(dirRootfs(), meta(true), "zstd:chunked");
    expect(two.manifestDigest).toBe(one.manifestDigest);
    const layout = await openLayout(one.dir);
    const img = await layout.readImage("v1");
    expect(img.manifest.annotations).toEqual({ "org.example.os": "demo", "ostree.bootable": "true" });
    expect(img.config.config?.Labels).toEqual({ "org.example.os": "demo", "ostree.bootable": "true" });
    expect(img.config.created).toBe("2024-05-01T12:00:00Z");
    expect(img.config.history?.map((h) => h.created_by)).toEqual(["glibc", "bash", "unmapped"]);
    for (const d of img.manifest.layers) {
      const blob = await layout.readBlob(d.digest);
      const r = await verifyLayer(new MemorySource(blob), d);
      expect(r.ok, JSON.stringify(r.failures)).toBe(true);
      expect(r.format).toBe("zstd:chunked");
    }
    const inspected = JSON.parse(execFileSync("skopeo", ["inspect", `oci:${one.dir}:v1`], { encoding: "utf8" })) as {
      Layers: string[];
      Labels: Record<string, string>;
      Created: string;
    };
    expect(inspected.Layers).toEqual(img.manifest.layers.map((l) => l.digest));
    expect(inspected.Labels).toEqual({ "org.example.os": "demo", "ostree.bootable": "true" });
    expect(inspected.Created).toBe("2024-05-01T12:00:00Z");
    // Another mapping order gives another image (the order is in the bytes).
    expect((await build(dirRootfs(), meta(false), "zstd:chunked")).manifestDigest).not.toBe(one.manifestDigest);
  });

  it("a tar of the tree plans exactly like the directory", async () => {
    const tarPath = join(work, "rootfs.tar");
    execFileSync("tar", ["-C", tree, "--sort=name", "--numeric-owner", "--owner=0", "--group=0", "--mtime=@0", "-cf", tarPath, "."]);
    const fromTar = await build(await tarRootfs(await openFileSource(tarPath)), meta(true));
    const fromDir = await build(dirRootfs(), meta(true));
    expect(fromTar.layers).toEqual(fromDir.layers);
  });

  it("refuses unmapped files with strict, keys matching nothing, and layers left empty", async () => {
    const code = async (p: Promise<unknown>, re: RegExp): Promise<void> => {
      const e = await p.then(() => undefined, (x: unknown) => x);
      expect(isLayerkitError(e, "BAD_CONTENTMETA"), String(e)).toBe(true);
      expect((e as Error).message).toMatch(re);
    };
    const sink = { format: "zstd" as const, writeBlob: async (b: ReadableStream<Uint8Array>) => b.cancel() };
    await code(
      buildImageFromContent(dirRootfs(), meta(true), { ...sink, strict: true }),
      /1 entry is not mapped \(strict\): "\/usr\/share\/doc\/readme"/,
    );
    const m = meta(false);
    m.mapping.push({ key: "/usr/bin/zsh", layer: "app" }, { key: digestOf("nothing"), layer: "app" });
    await code(
      buildImageFromContent(dirRootfs(), m, sink),
      new RegExp(`2 keys match nothing in the root file system: "/usr/bin/zsh", "${digestOf("nothing")}"`),
    );
    // "links" gets only hard2, whose group goes to the earlier "base" layer: left empty.
    const e = meta(false, { layers: [{ id: "base", name: "glibc" }, { id: "app", name: "bash" }, { id: "links", name: "links" }] });
    e.mapping = e.mapping.map((x) => (x.key === "/usr/share/hard2" ? { ...x, layer: "links" } : x));
    await code(buildImageFromContent(dirRootfs(), e, sink), /layer "links" is left empty/);
  });

  it("a contentmeta file read by the reader builds the same image as the value", async () => {
    const text = JSON.stringify({
      version: 1,
      created: "2024-05-01T12:00:00Z",
      labels: { "org.example.os": "demo", "ostree.bootable": "true" },
      layers: { base: "glibc", app: "bash" },
      mapping: Object.fromEntries(meta(true).mapping.map((x) => [x.key, x.layer])),
      ordered: true,
    });
    const a = await build(dirRootfs(), parseContentMeta(new TextEncoder().encode(text)));
    const b = await build(dirRootfs(), meta(true));
    expect(a.manifestDigest).toBe(b.manifestDigest);
  });
});
