/**
 * detectLayerFormat on blobs of all four formats (ours and native tools'), with and without
 * descriptor annotations, and its typed errors on tars, garbage and lying annotations.
 */
import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/runtime/node.js";
import type { Core } from "../../src/core.js";
import { createLayer } from "../../src/create-layer.js";
import { detectLayerFormat } from "../../src/formats/detect.js";
import { buildFooter } from "../../src/formats/estargz/footer.js";
import type { LayerFormat } from "../../src/layer/result.js";
import { MemorySource } from "../../src/source/memory.js";
import * as tars from "../fixtures/tars.js";

let core: Core;
beforeAll(async () => {
  core = await loadCore();
});

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function make(
  tar: Uint8Array,
  format: Exclude<LayerFormat, "gzip">,
): Promise<{ blob: Uint8Array; annotations: Record<string, string> }> {
  const w = createLayer(new Blob([tar as Uint8Array<ArrayBuffer>]).stream(), { format, core });
  const blob = await bytesOf(w.stream);
  return { blob, annotations: (await w.result).annotations };
}

const nativeGzip = (tar: Uint8Array): Uint8Array => new Uint8Array(execFileSync("gzip", ["-n", "-c"], { input: tar, maxBuffer: 1 << 28 }));
const nativeZstd = (tar: Uint8Array): Uint8Array => new Uint8Array(execFileSync("zstd", ["-q", "-c"], { input: tar, maxBuffer: 1 << 28 }));

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return "no error";
}

describe("detectLayerFormat", () => {
  const tar = tars.kitchenSinkTar();

  for (const format of ["zstd", "zstd:chunked", "estargz"] as const) {
    it(`${format}: by footer/magic, and by annotations`, async () => {
      const { blob, annotations } = await make(tar, format);
      const compression = format === "estargz" ? "gzip" : "zstd";
      const bare = await detectLayerFormat(new MemorySource(blob));
      expect(bare).toMatchObject({ format, compression });
      const annotated = await detectLayerFormat(new MemorySource(blob), annotations);
      expect(annotated).toMatchObject({ format, compression });
      if (format === "zstd:chunked") expect(annotated.evidence).toBe("annotations");
    });
  }

  it("native gzip, pigz and zstd output is plain gzip / zstd", async () => {
    expect(await detectLayerFormat(new MemorySource(nativeGzip(tar)))).toEqual({ format: "gzip", compression: "gzip", evidence: "magic" });
    const pigz = new Uint8Array(execFileSync("pigz", ["-c"], { input: tar }));
    expect(await detectLayerFormat(new MemorySource(pigz))).toMatchObject({ format: "gzip" });
    expect(await detectLayerFormat(new MemorySource(nativeZstd(tar)))).toEqual({ format: "zstd", compression: "zstd", evidence: "magic" });
  });

  it("tiny blobs: an empty tar compressed is still detected", async () => {
    const empty = tars.cat(new Uint8Array(1024));
    expect((await detectLayerFormat(new MemorySource(nativeGzip(empty)))).format).toBe("gzip");
    expect((await detectLayerFormat(new MemorySource(core.zstd.compress(new Uint8Array(0))))).format).toBe("zstd");
  });

  it("an uncompressed tar is UNSUPPORTED_FORMAT with detected=tar", async () => {
    const e = await detectLayerFormat(new MemorySource(tar)).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: "UNSUPPORTED_FORMAT", details: { detected: "tar" } });
    expect(await errorOf(detectLayerFormat(new MemorySource(tars.gnuFormatTar())))).toBe("UNSUPPORTED_FORMAT");
  });

  it("garbage is BAD_MAGIC, a 2-byte blob TRUNCATED", async () => {
    expect(await errorOf(detectLayerFormat(new MemorySource(tars.randomBytes(4096, 9))))).toBe("BAD_MAGIC");
    expect(await errorOf(detectLayerFormat(new MemorySource(Uint8Array.of(0x1f, 0x8b))))).toBe("TRUNCATED");
    expect(await errorOf(detectLayerFormat(new MemorySource(new Uint8Array(0))))).toBe("TRUNCATED");
  });

  it("annotations that contradict the blob are INCONSISTENT; malformed ones BAD_ANNOTATION", async () => {
    const zc = await make(tar, "zstd:chunked");
    const es = await make(tar, "estargz");
    const gz = nativeGzip(tar);
    expect(await errorOf(detectLayerFormat(new MemorySource(gz), zc.annotations))).toBe("INCONSISTENT");
    expect(await errorOf(detectLayerFormat(new MemorySource(gz), es.annotations))).toBe("INCONSISTENT");
    const bad = { ...zc.annotations };
    for (const k of Object.keys(bad)) if (k.endsWith("manifest-checksum")) bad[k] = "sha256:xyz";
    expect(await errorOf(detectLayerFormat(new MemorySource(zc.blob), bad))).toBe("BAD_ANNOTATION");
  });

  it("a footer with the right magic but wrong numbers is refused, not taken as plain", async () => {
    // eStargz footer pointing past the blob.
    const gz = nativeGzip(tar);
    const lying = tars.cat(gz, buildFooter(gz.length * 10));
    expect(await errorOf(detectLayerFormat(new MemorySource(lying)))).toBe("OUT_OF_RANGE");
    // zstd:chunked footer whose TOC offset is past the end.
    const { blob } = await make(tar, "zstd:chunked");
    const broken = blob.slice();
    const view = new DataView(broken.buffer);
    view.setBigUint64(broken.length - 64, BigInt(broken.length * 4), true);
    const code = await errorOf(detectLayerFormat(new MemorySource(broken)));
    expect(["OUT_OF_RANGE", "BAD_FOOTER"]).toContain(code);
  });
});
