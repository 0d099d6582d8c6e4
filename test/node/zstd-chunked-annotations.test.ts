/**
 * zstd:chunked descriptor annotation keys: current (c/storage ≥ 1.44), legacy (≤ 1.43) or both
 * (default). Each set is read back by our reader and by Debian's c/storage 1.43 (whose differ
 * finds a layer only by the old keys), and a descriptor whose two sets disagree is refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLayer } from "../../src/create-layer.js";
import type { Core } from "../../src/core.js";
import {
  readZstdChunkedAnnotations,
  withZstdChunkedAnnotationKeys,
  type ZstdChunkedAnnotationKeys,
} from "../../src/formats/zstd-chunked/annotations.js";
import { readToc } from "../../src/formats/zstd-chunked/read-toc.js";
import {
  ANNOTATION_MANIFEST_CHECKSUM,
  ANNOTATION_MANIFEST_POSITION,
  ANNOTATION_TARSPLIT_POSITION,
  OLD_ANNOTATION_MANIFEST_CHECKSUM,
  OLD_ANNOTATION_MANIFEST_POSITION,
} from "../../src/layer/annotations.js";
import type { LayerResult } from "../../src/layer/result.js";
import { buildImage } from "../../src/oci/build.js";
import { loadCore } from "../../src/runtime/node.js";
import { MemorySource } from "../../src/source/memory.js";
import * as tars from "../fixtures/tars.js";
import { runHarness } from "../support/go-harness.js";
import { expectCode } from "../support/registry.js";
import { bytesOf, streamOf } from "../support/streams.js";

let core: Core;
let work: string;
const tar = tars.manySmallFiles(20);
const made: Partial<Record<ZstdChunkedAnnotationKeys, { blob: Uint8Array; result: LayerResult }>> = {};

async function write(annotationKeys?: ZstdChunkedAnnotationKeys): Promise<{ blob: Uint8Array; result: LayerResult }> {
  const w = createLayer(streamOf(tar), { format: "zstd:chunked", core, ...(annotationKeys ? { annotationKeys } : {}) });
  const blob = await bytesOf(w.stream);
  return { blob, result: await w.result };
}

beforeAll(async () => {
  core = await loadCore();
  work = mkdtempSync(join(tmpdir(), "lk-ann-"));
  for (const k of ["current", "legacy", "both"] as const) made[k] = await write(k);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("zstd:chunked annotation keys", () => {
  it("default is both: the same blob, the current keys plus the two old ones with equal values", async () => {
    const def = await write();
    const both = made.both!;
    expect(def.result.annotations).toEqual(both.result.annotations);
    expect(def.blob).toEqual(both.blob);
    const a = both.result.annotations;
    expect(Object.keys(a).sort()).toEqual(
      [
        ANNOTATION_MANIFEST_CHECKSUM,
        ANNOTATION_MANIFEST_POSITION,
        ANNOTATION_TARSPLIT_POSITION,
        OLD_ANNOTATION_MANIFEST_CHECKSUM,
        OLD_ANNOTATION_MANIFEST_POSITION,
      ].sort(),
    );
    expect(a[OLD_ANNOTATION_MANIFEST_CHECKSUM]).toBe(a[ANNOTATION_MANIFEST_CHECKSUM]);
    expect(a[OLD_ANNOTATION_MANIFEST_POSITION]).toBe(a[ANNOTATION_MANIFEST_POSITION]);
    expect(both.result.descriptor.annotations).toEqual(a);
  });

  it("current and legacy write only their own set; the blob bytes do not depend on the keys", () => {
    expect(Object.keys(made.current!.result.annotations).sort()).toEqual(
      [ANNOTATION_MANIFEST_CHECKSUM, ANNOTATION_MANIFEST_POSITION, ANNOTATION_TARSPLIT_POSITION].sort(),
    );
    expect(Object.keys(made.legacy!.result.annotations).sort()).toEqual(
      [OLD_ANNOTATION_MANIFEST_CHECKSUM, OLD_ANNOTATION_MANIFEST_POSITION].sort(),
    );
    expect(made.current!.blob).toEqual(made.both!.blob);
    expect(made.legacy!.blob).toEqual(made.both!.blob);
  });

  it("our reader authenticates the TOC with each set", async () => {
    for (const k of ["current", "legacy", "both"] as const) {
      const { blob, result } = made[k]!;
      const r = await readToc(new MemorySource(blob), { annotations: result.annotations, core });
      expect(r.authenticated, k).toBe(true);
      expect(r.tocDigest, k).toBe(result.tocDigest);
    }
  });

  it("c/storage 1.43's partial pull reads legacy and both as they are, and refuses current alone", () => {
    for (const k of ["legacy", "both"] as const) {
      const blobPath = join(work, `${k}.blob`);
      const annPath = join(work, `${k}.json`);
      writeFileSync(blobPath, made[k]!.blob);
      writeFileSync(annPath, JSON.stringify(made[k]!.result.annotations));
      const up = runHarness<{ files: Array<{ name: string }> }>(["cstorage-apply", blobPath, annPath, join(work, `${k}-out`)]);
      expect(up.files.map((f) => f.name).sort(), k).toEqual(
        (made[k]!.result.toc!.entries ?? []).filter((e) => e.type !== "chunk").map((e) => e.name.replace(/\/$/, "")).sort(),
      );
    }
    const blobPath = join(work, "current.blob");
    const annPath = join(work, "current.json");
    writeFileSync(blobPath, made.current!.blob);
    writeFileSync(annPath, JSON.stringify(made.current!.result.annotations));
    expect(() => runHarness(["cstorage-apply", blobPath, annPath, join(work, "current-out")])).toThrow(
      /GetDiffer|not.*chunked|unsupported|ApplyDiff/i,
    );
  });

  it("a descriptor whose two sets disagree is refused (BAD_ANNOTATION), by the reader and by readToc", async () => {
    const a = made.both!.result.annotations;
    const other = made.current!.result.annotations[ANNOTATION_MANIFEST_CHECKSUM]!.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    await expectCode(() => readZstdChunkedAnnotations({ ...a, [OLD_ANNOTATION_MANIFEST_CHECKSUM]: other }), "BAD_ANNOTATION");
    const [off, len, ulen] = a[ANNOTATION_MANIFEST_POSITION]!.split(":").map(Number) as [number, number, number];
    await expectCode(
      () => readZstdChunkedAnnotations({ ...a, [OLD_ANNOTATION_MANIFEST_POSITION]: `${off}:${len}:${ulen + 1}:1` }),
      "BAD_ANNOTATION",
    );
    await expectCode(
      readToc(new MemorySource(made.both!.blob), { annotations: { ...a, [OLD_ANNOTATION_MANIFEST_CHECKSUM]: other }, core }),
      "BAD_ANNOTATION",
    );
  });

  it("withZstdChunkedAnnotationKeys and buildImage({ annotationKeys }) rewrite a descriptor's set; disagreeing sets are refused", async () => {
    const cur = made.current!.result.annotations;
    expect(withZstdChunkedAnnotationKeys({ ...cur, "org.example": "x" }, "both")).toEqual({
      ...made.both!.result.annotations,
      "org.example": "x",
    });
    expect(withZstdChunkedAnnotationKeys(made.both!.result.annotations, "legacy")).toEqual(made.legacy!.result.annotations);
    expect(withZstdChunkedAnnotationKeys({ "org.example": "x" }, "both")).toEqual({ "org.example": "x" });
    const layer = { descriptor: made.current!.result.descriptor, diffID: made.current!.result.diffID };
    const built = await buildImage({ layers: [layer], annotationKeys: "both" });
    expect(built.manifest.value.layers[0]!.annotations).toEqual(made.both!.result.annotations);
    const kept = await buildImage({ layers: [layer] });
    expect(kept.manifest.value.layers[0]!.annotations).toEqual(cur);
    const bad = {
      ...made.both!.result.descriptor,
      annotations: { ...made.both!.result.annotations, [OLD_ANNOTATION_MANIFEST_POSITION]: "8:1:1:1" },
    };
    await expectCode(buildImage({ layers: [{ descriptor: bad, diffID: layer.diffID }], annotationKeys: "both" }), "BAD_ANNOTATION");
    await expectCode(() => withZstdChunkedAnnotationKeys(cur, "old" as ZstdChunkedAnnotationKeys), "BAD_ARGUMENT");
  });
});
