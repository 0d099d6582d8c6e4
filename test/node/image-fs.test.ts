/**
 * The merged file system of an image: whiteouts and opaque directories applied, symlinks followed
 * inside the root, seekable layers read through their TOC only (requests and bytes counted) and
 * non-seekable ones streamed with a note; the merged tree checked against what the real upstream
 * applier (c/storage's ApplyDiff, through the Go harness) extracts from the same layers.
 */
import { spawnSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../../src/runtime/node.js";
import { openImageFs } from "../../src/image/image-fs.js";
import type { OciLayoutImage } from "../../src/image/image-source.js";
import { openImage } from "../../src/image/open-image.js";
import { type LayerEntry, MergedTree } from "../../src/image/merged-fs.js";
import { openLayout } from "../../src/oci/layout-node.js";
import type { BlobSource } from "../../src/source/blob-source.js";
import { BASE_OS_RELEASE, baseTar, UPPER_OS_RELEASE, upperTar } from "../fixtures/image-tars.js";
import { harnessPath } from "../support/go-harness.js";
import { makeImage, writeLayoutImage } from "../support/images.js";
import { expectCode } from "../support/registry.js";

const TIMEOUT = 180_000;
let work: string;
const dirs: Record<string, string> = {};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "layerkit-image-fs-"));
  for (const format of ["zstd:chunked", "estargz", "gzip", "zstd"] as const) {
    const dir = join(work, format.replace(":", "-"));
    await writeLayoutImage(await openLayout(dir, { create: true }), "v1", await makeImage([baseTar(), upperTar()], format));
    dirs[format] = dir;
  }
}, TIMEOUT);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Opens the layout image with its blob sources counted. */
async function counted(dir: string): Promise<{ image: OciLayoutImage; stats: { requests: number; bytes: number } }> {
  const image = (await openImage(`oci:${dir}:v1`)) as OciLayoutImage;
  const stats = { requests: 0, bytes: 0 };
  const inner = image.blobSource.bind(image);
  image.blobSource = async (d) => {
    const s: BlobSource = await inner(d);
    return {
      stats: s.stats,
      size: () => s.size(),
      async read(offset, length) {
        stats.requests++;
        stats.bytes += length;
        return s.read(offset, length);
      },
      ...(s.close ? { close: () => s.close!() } : {}),
    };
  };
  return { image, stats };
}

describe("merged tree", () => {
  for (const format of ["zstd:chunked", "estargz", "gzip", "zstd"] as const) {
    it(`${format}: whiteouts, opaque dirs, replaced files, symlinks and hardlinks`, async () => {
      const fs = await openImageFs(await openImage(`oci:${dirs[format]}:v1`));
      const names = fs.list().map((e) => e.path);
      expect(names).not.toContain("etc/removed");
      expect(names).not.toContain("etc/opaque/old");
      expect(names).toContain("etc/opaque/new");
      expect(names.some((n) => n.includes(".wh."))).toBe(false);
      expect(fs.stat("etc/os-release", { follow: false }).entry).toMatchObject({ type: "symlink", linkName: "../usr/lib/os-release" });
      expect(new TextDecoder().decode(await fs.readFile("etc/os-release"))).toBe(UPPER_OS_RELEASE);
      expect(new TextDecoder().decode(await fs.readFile("/etc/abs-link"))).toBe(UPPER_OS_RELEASE);
      // `..` stops at the root: ../../../../usr/bin/tool is /usr/bin/tool.
      expect(new TextDecoder().decode(await fs.readFile("etc/escape"))).toBe("#!/bin/sh\necho tool\n");
      // A symlinked directory on the way.
      expect(new TextDecoder().decode(await fs.readFile("lib/os-release"))).toBe(UPPER_OS_RELEASE);
      expect(fs.list("lib").map((e) => e.path)).toEqual(["usr/lib/os-release"]);
      expect(new TextDecoder().decode(await fs.readFile("usr/bin/tool-hard"))).toBe("#!/bin/sh\necho tool2\n");
      expect((await fs.readFile("usr/share/big.bin")).length).toBe(3 * 1024 * 1024);
      await expectCode(fs.readFile("etc/loop-a"), "LIMIT_EXCEEDED");
      await expectCode(fs.readFile("etc/removed"), "NOT_FOUND");
      await expectCode(fs.readFile("etc"), "BAD_ARGUMENT");
      const seekable = format === "zstd:chunked" || format === "estargz";
      expect(fs.layers.map((l) => l.seekable)).toEqual([seekable, seekable]);
      expect(fs.notes).toHaveLength(seekable ? 0 : 2);
    }, TIMEOUT);
  }

  it("seekable layers: only TOCs are read to list, and only the frames of the file asked for to cat", async () => {
    const { image, stats } = await counted(dirs["zstd:chunked"]!);
    const fs = await openImageFs(image);
    const blobBytes = fs.layers.reduce((n, l) => n + l.descriptor.size, 0);
    const listing = { ...stats };
    expect(listing.bytes).toBeLessThan(blobBytes / 10);
    await fs.readFile("etc/os-release");
    expect(stats.bytes - listing.bytes).toBeLessThan(4096);
  }, TIMEOUT);

  it("every file of the merged tree has the bytes c/storage's ApplyDiff extracts from the layer it comes from", async () => {
    const fs = await openImageFs(await openImage(`oci:${dirs["zstd:chunked"]}:v1`));
    const dests: string[] = [];
    for (const [i, l] of fs.layers.entries()) {
      const dest = join(work, `applied-${i}`);
      mkdirSync(dest);
      dests.push(dest);
      const blob = join(dirs["zstd:chunked"]!, "blobs/sha256", l.descriptor.digest.slice(7));
      const ann = join(work, `${l.descriptor.digest.slice(7)}.json`);
      writeFileSync(ann, JSON.stringify(l.descriptor.annotations));
      const r = spawnSync(harnessPath(), ["cstorage-apply", "--map-current-keys", blob, ann, dest], {
        encoding: "utf8",
        maxBuffer: 1 << 28,
      });
      expect(r.status, r.stderr).toBe(0);
    }
    let files = 0;
    for (const m of fs.list()) {
      if (m.layer < 0) continue;
      const upstream = join(dests[m.layer]!, m.path);
      const st = lstatSync(upstream);
      if (m.entry.type === "symlink") expect(readlinkSync(upstream)).toBe(m.entry.linkName);
      if (m.entry.type === "reg" || m.entry.type === "hardlink") {
        expect(st.isFile()).toBe(true);
        expect(Buffer.from(await fs.readFile(m.path, { follow: false })).equals(readFileSync(upstream))).toBe(true);
        files++;
      }
    }
    expect(files).toBe(6); // etc/opaque/new, usr/lib/os-release, usr/bin/tool, tool2, tool-hard, usr/share/big.bin
  }, TIMEOUT);
});

describe("MergedTree rules", () => {
  const e = (name: string, type: LayerEntry["type"] = "reg", linkName?: string): LayerEntry<null> => ({
    name,
    type,
    mode: 0o644,
    size: 0,
    uid: 0,
    gid: 0,
    ref: null,
    ...(linkName ? { linkName } : {}),
  });

  it("whiteouts act on lower layers only; a file replaces a directory and all below it", () => {
    const t = MergedTree.build<null>(
      [
        [e("a/", "dir"), e("a/x"), e("b/", "dir"), e("b/y"), e("c/", "dir"), e("c/z")],
        [e("a/.wh.x"), e("a/x2"), e("b/.wh..wh..opq"), e("b/new"), e("c")],
      ],
      null,
    );
    expect(t.list().map((m) => m.path)).toEqual(["a", "a/x2", "b", "b/new", "c"]);
    expect(t.get("c")?.entry.type).toBe("reg");
  });

  it("a directory over a directory merges; a hardlink to nothing is refused; .. in a name is refused", async () => {
    const t = MergedTree.build<null>([[e("d/", "dir"), e("d/one")], [e("d/", "dir"), e("d/two")]], null);
    expect(t.list("d").map((m) => m.path)).toEqual(["d/one", "d/two"]);
    await expectCode(() => MergedTree.build<null>([[e("h", "hardlink", "missing")]], null), "BAD_TOC");
    await expectCode(() => MergedTree.build<null>([[e("../evil")]], null), "UNSAFE_PATH");
  });

  it("absolute links resolve against the image root, .. never leaves it, loops are bounded", async () => {
    const t = MergedTree.build<null>([[
      e("etc/", "dir"),
      e("etc/passwd"),
      e("x", "symlink", "/../../etc/passwd"),
      e("y", "symlink", "../../../x"),
      e("l", "symlink", "l"),
    ]], null);
    expect(t.resolve("y").path).toBe("etc/passwd");
    expect(t.resolve("y", { follow: false }).path).toBe("y");
    expect(t.resolve("../../etc/passwd").path).toBe("etc/passwd");
    await expectCode(() => t.resolve("l"), "LIMIT_EXCEEDED");
    await expectCode(() => t.resolve("etc/passwd/x"), "NOT_FOUND");
  });
});

it("BASE_OS_RELEASE is what the base layer alone shows", async () => {
  const dir = join(work, "base-only");
  await writeLayoutImage(await openLayout(dir, { create: true }), "v1", await makeImage([baseTar(1024)], "estargz"));
  const fs = await openImageFs(await openImage(`oci:${dir}:v1`));
  expect(new TextDecoder().decode(await fs.readFile("etc/os-release"))).toBe(BASE_OS_RELEASE);
  expect(fs.list().map((m) => m.path)).toContain("etc/opaque/old");
});
