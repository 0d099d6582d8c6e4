/**
 * The plain gzip layer writer: native gzip/pigz accept the blob and restore the exact tar, the
 * header is the fixed Go one (deterministic), the result's numbers are the real digests/sizes.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/runtime/node.js";
import type { Core } from "../../src/core.js";
import { createLayer } from "../../src/create-layer.js";
import { decompressLayer } from "../../src/formats/decompress.js";
import { detectLayerFormat } from "../../src/formats/detect.js";
import { MemorySource } from "../../src/source/memory.js";
import * as tars from "../fixtures/tars.js";
import { bytesOf, streamOf } from "../support/streams.js";

let core: Core;
beforeAll(async () => {
  core = await loadCore();
});

const sha = (b: Uint8Array): string => "sha256:" + createHash("sha256").update(b).digest("hex");
const sh = (cmd: string, args: string[], input: Uint8Array): Uint8Array =>
  new Uint8Array(execFileSync(cmd, args, { input, maxBuffer: 1 << 28 }));

async function gzipLayer(tar: Uint8Array, level?: number, piece?: number) {
  const w = createLayer(streamOf(tar, piece), { format: "gzip", core, ...(level === undefined ? {} : { level }) });
  const blob = await bytesOf(w.stream);
  return { blob, result: await w.result };
}

describe("gzip layer writer", () => {
  const fixtures: Record<string, Uint8Array> = {
    kitchenSink: tars.kitchenSinkTar(),
    holes: tars.holesTar(),
    manySmall: tars.manySmallFiles(300),
    unicode: tars.unicodeNamesTar(),
    empty: new Uint8Array(1024),
  };

  for (const [name, tar] of Object.entries(fixtures)) {
    it(`${name}: gzip -t passes, gzip -d and pigz -d give the exact tar, result numbers are right`, async () => {
      const { blob, result } = await gzipLayer(tar);
      execFileSync("gzip", ["-t"], { input: blob });
      expect(sha(sh("gzip", ["-dc"], blob))).toBe(sha(tar));
      expect(sha(sh("pigz", ["-dc"], blob))).toBe(sha(tar));
      expect(sha(await bytesOf(decompressLayer(streamOf(blob), "gzip")))).toBe(sha(tar));
      expect(result).toMatchObject({
        format: "gzip",
        digest: sha(blob),
        size: blob.length,
        diffID: sha(tar),
        uncompressedSize: tar.length,
        annotations: {},
        descriptor: { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha(blob), size: blob.length },
      });
      expect((await detectLayerFormat(new MemorySource(blob))).format).toBe("gzip");
    });
  }

  it("one member with Go's header: no flags, MTIME 0, OS 255, XFL by level", async () => {
    const tar = tars.kitchenSinkTar();
    for (
      const [level, xfl] of [
        [9, 2],
        [1, 4],
        [6, 0],
      ] as const
    ) {
      const { blob } = await gzipLayer(tar, level);
      expect(Array.from(blob.subarray(0, 10))).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]);
      // gzip -l counts members' sizes; a single member's ISIZE is the tar size.
      const isize = new DataView(blob.buffer, blob.byteOffset + blob.length - 4, 4).getUint32(0, true);
      expect(isize).toBe(tar.length % 2 ** 32);
    }
    const { blob: stored } = await gzipLayer(tar, 0);
    expect(sha(sh("gzip", ["-dc"], stored))).toBe(sha(tar));
  });

  it("deterministic: the same bytes whatever the input piece sizes", async () => {
    const tar = tars.kitchenSinkTar();
    const a = await gzipLayer(tar, 6, 1);
    const b = await gzipLayer(tar, 6, 100_003);
    const c = await gzipLayer(tar, 6, tar.length);
    expect(sha(a.blob)).toBe(sha(b.blob));
    expect(sha(a.blob)).toBe(sha(c.blob));
    expect(a.result).toEqual(c.result);
  });

  it("an empty input still gives a valid gzip member", async () => {
    const { blob, result } = await gzipLayer(new Uint8Array(0));
    expect(sh("gzip", ["-dc"], blob).length).toBe(0);
    expect(result.uncompressedSize).toBe(0);
  });

  it("a bad level is BAD_ARGUMENT, on the stream and the result", async () => {
    const w = createLayer(streamOf(new Uint8Array(10)), { format: "gzip", level: 12, core });
    await expect(bytesOf(w.stream)).rejects.toMatchObject({ code: "BAD_ARGUMENT" });
    await expect(w.result).rejects.toMatchObject({ code: "BAD_ARGUMENT" });
  });

  it("an input stream error reaches the stream and the result", async () => {
    let n = 0;
    const failing = new ReadableStream<Uint8Array>({
      pull(c) {
        if (n++ < 3) c.enqueue(new Uint8Array(1000));
        else c.error(new Error("disk on fire"));
      },
    });
    const w = createLayer(failing, { format: "gzip", core });
    await expect(bytesOf(w.stream)).rejects.toThrow("disk on fire");
    await expect(w.result).rejects.toThrow("disk on fire");
  });
});
