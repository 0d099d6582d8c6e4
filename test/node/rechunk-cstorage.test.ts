/**
 * Each zstd:chunked layer of an image built from a contentmeta, pulled by upstream c/storage
 * (Debian's 1.43, through test/go's harness: GetDiffer + ApplyDiff): the files it extracts are
 * the layer's entries, with the same bytes; hardlinks and parents included. The harness must
 * build: a missing Go toolchain fails this file loudly (see interop-cstorage.test.ts).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import "../../src/runtime/node.js";
import { blobPath } from "../../src/oci/layout.js";
import { openLayout } from "../../src/oci/layout-node.js";
import { buildImageFromContent } from "../../src/rechunk/build.js";
import { directoryRootfs } from "../../src/rechunk/rootfs.js";
import { nodeDirectoryFs } from "../../src/tar/from-directory-node.js";

const root = resolve(import.meta.dirname, "../..");
let work: string;
let harness: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "layerkit-rechunk-cstorage-"));
  const r = spawnSync("bash", [join(root, "test/go/build.sh"), join(work, "bin")], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`building the Go interop harness failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  harness = join(work, "bin", "layerkit-harness");
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

it("c/storage extracts every rechunked zstd:chunked layer to exactly its entries", async () => {
  const tree = join(work, "rootfs");
  mkdirSync(join(tree, "usr/bin"), { recursive: true });
  mkdirSync(join(tree, "usr/lib/deep/er"), { recursive: true });
  writeFileSync(join(tree, "usr/bin/tool"), "tool\n".repeat(5000));
  linkSync(join(tree, "usr/bin/tool"), join(tree, "usr/bin/tool-alias"));
  symlinkSync("tool", join(tree, "usr/bin/t"));
  writeFileSync(join(tree, "usr/lib/deep/er/lib.so"), new Uint8Array(300_000).map((_, i) => (i * 7919) & 0xff));
  writeFileSync(join(tree, "usr/lib/other"), "other");
  const sha = (b: Uint8Array): string => "sha256:" + createHash("sha256").update(b).digest("hex");
  const layout = await openLayout(join(work, "oci"), { create: true });
  const built = await buildImageFromContent(
    directoryRootfs(nodeDirectoryFs(tree), { mtime: 0 }),
    {
      version: 1,
      labels: [],
      layers: [{ id: "lib", name: "lib" }, { id: "tool", name: "tool" }],
      mapping: [{ key: sha(readFileSync(join(tree, "usr/lib/deep/er/lib.so"))), layer: "lib" }, {
        key: "/usr/bin/tool-alias",
        layer: "tool",
      }, { key: "/usr/bin/t", layer: "tool" }],
      ordered: true,
    },
    { format: "zstd:chunked", writeBlob: (b) => layout.writeBlob(b) },
  );
  const expected = [
    ["usr", "usr/lib", "usr/lib/deep", "usr/lib/deep/er", "usr/lib/deep/er/lib.so"],
    ["usr", "usr/bin", "usr/bin/tool", "usr/bin/tool-alias", "usr/bin/t"],
    ["usr", "usr/lib", "usr/lib/other"],
  ];
  expect(built.layers).toHaveLength(3);
  for (const [i, l] of built.layers.entries()) {
    const ann = join(work, `ann${i}.json`);
    writeFileSync(ann, JSON.stringify(l.descriptor.annotations));
    const r = spawnSync(harness, [
      "cstorage-apply",
      "--map-current-keys",
      join(work, "oci", blobPath(l.digest)),
      ann,
      join(work, `dest${i}`),
    ], { encoding: "utf8", maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    const files = (JSON.parse(r.stdout) as { files: Array<{ name: string; type: string; digest?: string; linkName?: string }> }).files;
    expect(files.map((f) => f.name).sort()).toEqual([...expected[i]!].sort());
    for (const f of files) {
      if (f.type === "reg") expect(f.digest, f.name).toBe(sha(readFileSync(join(tree, f.name))));
      if (f.type === "symlink") expect(f.linkName).toBe("tool");
    }
  }
}, 120_000);
