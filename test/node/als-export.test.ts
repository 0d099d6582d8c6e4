/**
 * `als export` writes the additional layer store layout containers/storage 1.43 reads (Debian's
 * source under /usr/share/gocode is the reference: the path, base64 flavour, required files and
 * the `info` field names are checked against it), whole layer directories or none.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportAls } from "../../src/als/export-als.js";
import { alsLayerPath, alsRefElement } from "../../src/als/layout.js";
import { buildCli, listTree, runCli } from "./cli-run.js";
import { expectCode } from "../support/registry.js";
import type { Core } from "../../src/core.js";
import { loadCore } from "../../src/runtime/node.js";

const CSTORAGE = "/usr/share/gocode/src/github.com/containers/storage";
let work: string;
let layout: string;
let layers: Array<{ digest: string; size: number; annotations?: Record<string, string> }>;
let diffIDs: string[];
const trees: string[] = [];
let core: Core;

beforeAll(async () => {
  core = await loadCore();
  buildCli();
  work = mkdtempSync(join(tmpdir(), "lk-als-"));
  for (const [i, name] of ["a", "b"].entries()) {
    const t = join(work, name);
    mkdirSync(join(t, "etc"), { recursive: true });
    writeFileSync(join(t, "etc", `file${i}`), `layer ${name}\n`.repeat(100));
    trees.push(t);
  }
  layout = join(work, "oci");
  const r = runCli([
    "image",
    "build",
    "--layer",
    trees[0]!,
    "--layer",
    trees[1]!,
    "--format",
    "gzip",
    "--format",
    "zstd:chunked",
    "-o",
    layout,
    "--tag",
    "v1",
  ]);
  if (r.status !== 0) throw new Error(r.stderr);
  const blob = (d: string) => readFileSync(join(layout, "blobs/sha256", d.split(":")[1]!), "utf8");
  const manifest = JSON.parse(blob(JSON.parse(readFileSync(join(layout, "index.json"), "utf8")).manifests[0].digest));
  layers = manifest.layers;
  diffIDs = JSON.parse(blob(manifest.config.digest)).rootfs.diff_ids;
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

function freshStore(): string {
  const s = mkdtempSync(join(work, "store-"));
  return s;
}

describe("the layout, against c/storage 1.43's source", () => {
  it("path: STORE/base64.StdEncoding(ref)/digest, diff+info+blob required", () => {
    const overlay = readFileSync(join(CSTORAGE, "drivers/overlay/overlay.go"), "utf8");
    expect(overlay).toContain("base64.StdEncoding.EncodeToString([]byte(ref))");
    expect(overlay).toContain("path.Join(ls.path, ref, dgst.String())");
    for (const f of ["diff", "info", "blob"]) expect(overlay).toContain(`filepath.Join(target, "${f}")`);
    // Standard alphabet with padding; '/' may appear (it nests a directory, as path.Join does).
    expect(alsRefElement("127.0.0.1:5000/a/b:v1")).toBe(Buffer.from("127.0.0.1:5000/a/b:v1").toString("base64"));
    expect(alsRefElement("a?>")).toBe("YT8+");
    expect(alsRefElement("??")).toBe("Pz8=");
    expect(alsRefElement("\u00ff\u00ff")).toContain("/");
    const d = "sha256:" + "ab".repeat(32);
    expect(alsLayerPath(d)).toBe(d);
    expect(alsLayerPath(d, "x/y:1")).toBe(`${Buffer.from("x/y:1").toString("base64")}/${d}`);
  });

  it("refuses a key that is not a sha256 digest (it becomes a path element)", async () => {
    await expectCode(() => alsLayerPath("sha256:../../etc"), "BAD_ARGUMENT");
  });

  it("writes diff/, info, blob and use for every layer, keyed by the layer digest", async () => {
    const store = freshStore();
    const tags = readFileSync(join(CSTORAGE, "layers.go"), "utf8");
    const report = await exportAls(`oci:${layout}:v1`, store, { core, ref: "127.0.0.1:5000/x:v1" });
    expect(report.layers.map((l) => l.status)).toEqual(["written", "written"]);
    for (const [i, l] of report.layers.entries()) {
      const d = layers[i]!;
      expect(l.path).toBe(join(store, Buffer.from("127.0.0.1:5000/x:v1").toString("base64"), d.digest));
      expect(listTree(join(l.path, "diff"))).toEqual(listTree(trees[i]!));
      expect(readFileSync(join(l.path, "blob"))).toEqual(readFileSync(join(layout, "blobs/sha256", d.digest.split(":")[1]!)));
      const info = JSON.parse(readFileSync(join(l.path, "info"), "utf8"));
      // 1.43's Layer has every field but toc-digest (current c/storage's; 1.43 ignores it).
      for (const k of Object.keys(info).filter((k) => k !== "toc-digest")) expect(tags).toContain(`json:"${k},omitempty"`);
      expect(info["compressed-diff-digest"]).toBe(d.digest);
      expect(info["compressed-size"]).toBe(d.size);
      expect(info["diff-digest"]).toBe(diffIDs[i]);
      expect(info["diff-size"]).toBeGreaterThan(0);
      // archive.Compression: Gzip = 2, Zstd = 4.
      expect(info.compression).toBe(i === 0 ? 2 : 4);
      expect(info["toc-digest"]).toBe(i === 0 ? undefined : d.annotations!["io.github.containers.zstd-chunked.manifest-checksum"]);
      // `use`: creating it must fail with ENOENT (a notification-aware store), never succeed.
      expect(lstatSync(join(l.path, "use")).isSymbolicLink()).toBe(true);
      expect(existsSync(join(l.path, readlinkSync(join(l.path, "use")), ".."))).toBe(false);
    }
    // A second export leaves the existing directories alone.
    const again = await exportAls(`oci:${layout}:v1`, store, { core, ref: "127.0.0.1:5000/x:v1" });
    expect(again.layers.map((l) => l.status)).toEqual(["present", "present"]);
    expect(readdirSync(store).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("--key toc-digest keys a seekable layer by its TOC digest and refuses a gzip one; --no-blob", async () => {
    const store = freshStore();
    await expectCode(exportAls(`oci:${layout}:v1`, store, { core, key: "toc-digest" }), "BAD_ARGUMENT");
    expect(readdirSync(store)).toEqual([]);
    const r = runCli(["als", "export", `oci:${layout}:v1`, store, "--key", "toc-digest", "--no-blob", "--platform", "linux/amd64"]);
    expect(r.status).not.toBe(0);
    const seekable = join(work, "seekable");
    runCli(["image", "build", "--layer", trees[1]!, "--format", "zstd:chunked", "-o", seekable, "--tag", "v1"]);
    const byToc = await exportAls(`oci:${seekable}:v1`, freshStore(), { core, key: "toc-digest" });
    expect(byToc.layers[0]!.path.endsWith("/" + byToc.layers[0]!.info!["toc-digest"])).toBe(true);
    expect(byToc.layers[0]!.info!["toc-digest"]).toBe(layers[1]!.annotations!["io.github.containers.zstd-chunked.manifest-checksum"]);
    const only = await exportAls(`oci:${layout}:v1`, freshStore(), { core, key: "layer-digest", blob: false });
    for (const l of only.layers) expect(existsSync(join(l.path, "blob"))).toBe(false);
  });

  it("an export that fails midway leaves no layer directory and no temporary one", async () => {
    const store = freshStore();
    const broken = join(work, "broken");
    runCli(["image", "build", "--layer", trees[0]!, "--layer", trees[1]!, "--format", "gzip", "-o", broken, "--tag", "v1"]);
    const manifest = JSON.parse(
      readFileSync(
        join(broken, "blobs/sha256", JSON.parse(readFileSync(join(broken, "index.json"), "utf8")).manifests[0].digest.split(":")[1]),
        "utf8",
      ),
    );
    // The second layer's blob is corrupted: the first is exported, the second is not.
    const second = join(broken, "blobs/sha256", manifest.layers[1].digest.split(":")[1]);
    const bytes = readFileSync(second);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
    writeFileSync(second, bytes);
    await expectCode(exportAls(`oci:${broken}:v1`, store, { core }), "DIGEST_MISMATCH");
    expect(readdirSync(store)).toEqual([manifest.layers[0].digest]);
  });
});
