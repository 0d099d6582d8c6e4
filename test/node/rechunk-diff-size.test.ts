/**
 * image diff-size: two builds of a tree, the second with one big file changed in the middle.
 * Unchanged layers cost nothing; the changed zstd:chunked layer costs its metadata and the
 * chunks the old image lacks (far less than the layer); a gzip layer costs its whole blob. The
 * CLI prints the same numbers.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../../src/runtime/node.js";
import type { LayerFormat } from "../../src/layer/result.js";
import { blobPath } from "../../src/oci/layout.js";
import { openLayout } from "../../src/oci/layout-node.js";
import { buildImageFromContent } from "../../src/rechunk/build.js";
import type { ContentMeta } from "../../src/rechunk/contentmeta.js";
import { imageDiffSize } from "../../src/rechunk/diff-size.js";
import { directoryRootfs } from "../../src/rechunk/rootfs.js";
import { openFileSource } from "../../src/source/node-file.js";
import { nodeDirectoryFs } from "../../src/tar/from-directory-node.js";
import { buildCli, noise, runCli } from "./cli-run.js";

let work: string;

beforeAll(() => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-diffsize-"));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const meta: ContentMeta = {
  version: 1,
  labels: [],
  layers: [{ id: "stable", name: "stable" }, { id: "big", name: "big" }],
  mapping: [{ key: "/usr/lib/stable.so", layer: "stable" }, { key: "/usr/share/big.dat", layer: "big" }],
  ordered: false,
};

async function buildVersion(name: string, big: Uint8Array, format: LayerFormat): Promise<string> {
  const tree = join(work, `${name}-tree`);
  mkdirSync(join(tree, "usr/lib"), { recursive: true });
  mkdirSync(join(tree, "usr/share"), { recursive: true });
  writeFileSync(join(tree, "usr/lib/stable.so"), noise(200_000, 7));
  writeFileSync(join(tree, "usr/share/big.dat"), big);
  const dir = join(work, name);
  const layout = await openLayout(dir, { create: true });
  const built = await buildImageFromContent(directoryRootfs(nodeDirectoryFs(tree), { mtime: 0 }), meta, {
    format,
    writeBlob: (b) => layout.writeBlob(b),
  });
  await layout.writeImage(built.image, "v");
  return dir;
}

describe("image diff-size", () => {
  it("counts present layers as free, missing zstd:chunked chunks after coalescing, other layers whole", async () => {
    const v1 = noise(4 << 20, 3);
    const v2 = v1.slice();
    v2.set(noise(1000, 99), 2 << 20); // 1000 bytes changed in the middle
    const oldDir = await buildVersion("old", v1, "zstd:chunked");
    const newDir = await buildVersion("new", v2, "zstd:chunked");
    const oldImg = await (await openLayout(oldDir)).readImage("v");
    const newImg = await (await openLayout(newDir)).readImage("v");
    const open = (dir: string) => async (d: { digest: string }) => openFileSource(join(dir, blobPath(d.digest)));
    const inOld = new Set(oldImg.manifest.layers.map((l) => l.digest));
    const r = await imageDiffSize(oldImg.manifest, newImg.manifest, newImg.descriptor.size, {
      openBlob: async (d) => (inOld.has(d.digest) ? open(oldDir)(d) : open(newDir)(d)),
    });
    expect(r.layers.map((l) => l.fetch)).toEqual(["present", "chunks"]);
    const big = r.layers[1]!;
    expect(big.chunks!.missing).toBeGreaterThan(0);
    expect(big.chunks!.missing).toBeLessThan(big.chunks!.total);
    expect(big.bytes).toBeLessThan(big.size / 4);
    expect(big.requests).toBeGreaterThanOrEqual(2);
    expect(r.bytes).toBe(r.manifest.bytes + r.config.bytes + big.bytes);
    expect(r.requests).toBe(1 + 1 + big.requests);

    // Same update, gzip layers: the changed layer is fetched whole.
    const gzOld = await buildVersion("gzold", v1, "gzip");
    const gzNew = await buildVersion("gznew", v2, "gzip");
    const cli = runCli(["image", "diff-size", `oci:${gzOld}:v`, `oci:${gzNew}:v`, "--json"]);
    expect(cli.status, cli.stderr).toBe(0);
    const g = JSON.parse(cli.stdout) as typeof r;
    expect(g.layers.map((l) => [l.fetch, l.bytes === l.size || l.bytes === 0])).toEqual([["present", true], ["whole", true]]);

    // The CLI gives the library's numbers for the zstd:chunked pair.
    const z = JSON.parse(runCli(["image", "diff-size", `${oldDir}:v`, `${newDir}:v`, "--json"]).stdout) as typeof r;
    expect(z).toEqual(JSON.parse(JSON.stringify(r)));
  });
});
