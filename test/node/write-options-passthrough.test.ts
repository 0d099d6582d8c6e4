/**
 * Writer options reach the layer writers from every command that writes layers: `create`,
 * `diff`, `image build`, `image append`, `image convert`. Each CLI layer equals the library's
 * `createLayer` with the same options and differs from the defaults; the eStargz TOC shows the
 * chunk size and the prioritized file first.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLayer } from "../../src/create-layer.js";
import { readEstargzToc } from "../../src/formats/estargz/index.js";
import type { FormatWriteOptions } from "../../src/formats/format.js";
import type { LayerFormat } from "../../src/layer/result.js";
import { loadCore } from "../../src/runtime/node.js";
import { MemorySource } from "../../src/source/memory.js";
import { directoryTar } from "../../src/tar/from-directory.js";
import { nodeDirectoryFs } from "../../src/tar/from-directory-node.js";
import { buildCli, noise, runCli } from "./cli-run.js";

let work: string;
let tree: string;
const ESTARGZ = ["--format", "estargz", "--chunk-size", "1000", "--prioritize", "z"];
const ESTARGZ_OPTIONS: FormatWriteOptions = { chunkSize: 1000, prioritizedFiles: ["z"] };

async function libraryDigest(format: LayerFormat, options: FormatWriteOptions): Promise<string> {
  const w = createLayer(directoryTar(nodeDirectoryFs(tree), { mtime: 0 }), { format, ...options });
  await w.stream.pipeTo(new WritableStream());
  return (await w.result).digest;
}

// deno-lint-ignore no-explicit-any
function ok(args: string[]): any {
  const r = runCli([...args, "--json"]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const blobOf = (layout: string, digest: string): Uint8Array => readFileSync(join(layout, "blobs/sha256", digest.slice(7)));

beforeAll(() => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "lk-passthrough-"));
  tree = join(work, "tree");
  mkdirSync(tree);
  writeFileSync(join(tree, "a"), noise(3000));
  writeFileSync(join(tree, "z"), "z\n");
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("writer options pass through", () => {
  it("eStargz --chunk-size and --prioritize: create, image build, image append, image convert", async () => {
    const want = await libraryDigest("estargz", ESTARGZ_OPTIONS);
    expect(want).not.toBe(await libraryDigest("estargz", {}));
    expect(ok(["create", tree, "-o", join(work, "c.gz"), ...ESTARGZ, "--mtime", "0"]).digest).toBe(want);

    const built = ok(["image", "build", "--layer", tree, ...ESTARGZ, "--mtime", "0", "-o", join(work, "b")]);
    expect(built.layers[0].descriptor.digest).toBe(want);

    ok(["image", "build", "--layer", tree, "--format", "gzip", "--mtime", "0", "-o", join(work, "g")]);
    const appended = ok([
      "image",
      "append",
      `oci:${join(work, "g")}:latest`,
      "--layer",
      tree,
      ...ESTARGZ,
      "--mtime",
      "0",
      "-t",
      `oci:${join(work, "ap")}:v1`,
    ]);
    expect(appended.layers[0].descriptor.digest).toBe(want);

    const converted = ok(["image", "convert", `oci:${join(work, "g")}:latest`, `oci:${join(work, "cv")}:v1`, ...ESTARGZ]);
    const to = converted.images[0].layers[0].to;
    // The converted layer's TOC: the prioritized file first, then the landmark, then `a` in 1000-byte chunks.
    const toc = await readEstargzToc(new MemorySource(blobOf(join(work, "cv"), to.digest)), { core: await loadCore() });
    const entries = (toc.toc.entries ?? []).map((e) => [e.name, e.type, e.chunkSize ?? 0]);
    expect(entries).toEqual([
      ["z", "reg", 0],
      [".prefetch.landmark", "reg", 0],
      ["a", "reg", 1000],
      ["a", "chunk", 1000],
      ["a", "chunk", 1000],
    ]);
  });

  it("zstd --level: create, image build, image append and image convert write what the library writes at that level", async () => {
    const want = await libraryDigest("zstd", { level: 19 });
    expect(want).not.toBe(await libraryDigest("zstd", {}));
    expect(ok(["create", tree, "-o", join(work, "c.zst"), "--format", "zstd", "--level", "19", "--mtime", "0"]).digest).toBe(want);
    const built = ok(["image", "build", "--layer", tree, "--format", "zstd", "--level", "19", "--mtime", "0", "-o", join(work, "bz")]);
    expect(built.layers[0].descriptor.digest).toBe(want);
    const appended = ok([
      "image",
      "append",
      `oci:${join(work, "g")}:latest`,
      "--layer",
      tree,
      "--format",
      "zstd",
      "--level",
      "19",
      "--mtime",
      "0",
      "-t",
      `oci:${join(work, "apz")}:v1`,
    ]);
    expect(appended.layers[0].descriptor.digest).toBe(want);
    const converted = ok([
      "image",
      "convert",
      `oci:${join(work, "g")}:latest`,
      `oci:${join(work, "cvz")}:v1`,
      "--format",
      "zstd",
      "--level",
      "19",
    ]);
    expect(converted.images[0].layers[0].to.digest).toBe(want);
  });

  it("eStargz-only flags with another format are a usage error", () => {
    const r = runCli(["image", "build", "--layer", tree, "--format", "zstd", "--chunk-size", "1000", "-o", join(work, "x")]);
    expect([r.status, r.stderr]).toEqual([2, expect.stringContaining("--chunk-size applies to --format estargz only")]);
  });
});
