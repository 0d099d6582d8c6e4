/**
 * decompressLayer against native gzip/zstd: every format's blob decompresses to what `gzip -dc` /
 * `zstd -dc` give, multi-member and multi-frame input (with skippable frames) is concatenated,
 * input is pulled only as output is consumed, and bad input errors the stream with a typed code.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/runtime/node.js";
import type { Core } from "../../src/core.js";
import { createLayer } from "../../src/create-layer.js";
import { decompressLayer } from "../../src/formats/decompress.js";
import { buildSkippableFrame } from "../../src/formats/zstd-chunked/footer.js";
import * as tars from "../fixtures/tars.js";
import { bytesOf, streamOf } from "../support/streams.js";

let core: Core;
beforeAll(async () => {
  core = await loadCore();
});

const sh = (cmd: string, args: string[], input: Uint8Array): Uint8Array =>
  new Uint8Array(execFileSync(cmd, args, { input, maxBuffer: 1 << 28 }));
const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

async function codeOf(stream: ReadableStream<Uint8Array>): Promise<string> {
  try {
    await bytesOf(stream);
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return "no error";
}

describe("decompressLayer", () => {
  const fixtures: Record<string, Uint8Array> = {
    kitchenSink: tars.kitchenSinkTar(),
    holes: tars.holesTar(),
    manySmall: tars.manySmallFiles(300),
    longNames: tars.longNamesTar(),
    empty: new Uint8Array(1024),
  };

  for (const [name, tar] of Object.entries(fixtures)) {
    it(`${name}: our zstd, zstd:chunked and eStargz blobs give what native zstd -d / gzip -d give`, async () => {
      for (const format of ["zstd", "zstd:chunked", "estargz"] as const) {
        const w = createLayer(streamOf(tar), { format, core });
        const blob = await bytesOf(w.stream);
        await w.result;
        const compression = format === "estargz" ? "gzip" : "zstd";
        const native = compression === "gzip" ? sh("gzip", ["-dc"], blob) : sh("zstd", ["-dcq"], blob);
        const ours = await bytesOf(decompressLayer(streamOf(blob, 4093), compression, { core }));
        expect(sha(ours)).toBe(sha(native));
        if (format !== "estargz") expect(sha(ours)).toBe(sha(tar)); // estargz adds its TOC entry
      }
    });

    it(`${name}: native gzip -9, pigz and zstd -12 blobs restore the exact tar`, async () => {
      for (
        const [compression, blob] of [
          ["gzip", sh("gzip", ["-9", "-c"], tar)],
          ["gzip", sh("pigz", ["-c", "-b", "32"], tar)],
          ["zstd", sh("zstd", ["-12", "-q", "-c"], tar)],
        ] as const
      ) {
        expect(sha(await bytesOf(decompressLayer(streamOf(blob), compression, { core })))).toBe(sha(tar));
      }
    });
  }

  it("a stored deflate block right after an input-chunk boundary (inflater regression)", async () => {
    // gzip -9 of the holes tar has stored blocks; feeding it in pieces once made the inflater
    // give back read-ahead bytes into a buffer it had already dropped.
    const tar = tars.holesTar();
    const gz = sh("gzip", ["-9", "-c"], tar);
    for (const piece of [16384, 4093, 1000]) expect(sha(await bytesOf(decompressLayer(streamOf(gz, piece), "gzip")))).toBe(sha(tar));
  });

  it("gzip: all members concatenated; zstd: all frames, skippable frames skipped", async () => {
    const a = tars.randomBytes(100_000, 1);
    const b = tars.randomBytes(50_000, 2);
    const gz = tars.cat(sh("gzip", ["-c"], a), sh("gzip", ["-c"], b));
    expect(sha(await bytesOf(decompressLayer(streamOf(gz), "gzip")))).toBe(sha(tars.cat(a, b)));
    const zs = tars.cat(
      buildSkippableFrame(Uint8Array.of(1, 2, 3)),
      core.zstd.compress(a),
      buildSkippableFrame(new Uint8Array(100)),
      core.zstd.compress(b),
    );
    expect(sha(await bytesOf(decompressLayer(streamOf(zs), "zstd", { core })))).toBe(sha(tars.cat(a, b)));
  });

  it("input is pulled only as output is consumed (no read-ahead of the whole blob)", async () => {
    const data = tars.randomBytes(4 << 20, 3); // incompressible: the blob is as big as the data
    for (const compression of ["gzip", "zstd"] as const) {
      const blob = compression === "gzip" ? sh("gzip", ["-c"], data) : core.zstd.compress(data);
      let pulled = 0;
      const piece = 1024;
      let at = 0;
      const input = new ReadableStream<Uint8Array>(
        {
          pull(c) {
            if (at >= blob.length) return c.close();
            c.enqueue(blob.slice(at, at + piece));
            at += piece;
            pulled++;
          },
        },
        { highWaterMark: 0 },
      );
      const reader = decompressLayer(input, compression, { core }).getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      expect(pulled).toBeLessThan(Math.ceil(blob.length / piece) / 8);
      await reader.cancel();
    }
  });

  it("truncated input: TRUNCATED (gzip) / ZSTD_TRUNCATED (zstd)", async () => {
    const tar = tars.kitchenSinkTar();
    const gz = sh("gzip", ["-c"], tar);
    const zs = core.zstd.compress(tar);
    expect(await codeOf(decompressLayer(streamOf(gz.subarray(0, gz.length - 5)), "gzip"))).toBe("TRUNCATED");
    expect(await codeOf(decompressLayer(streamOf(gz.subarray(0, 5)), "gzip"))).toBe("TRUNCATED");
    expect(await codeOf(decompressLayer(streamOf(new Uint8Array(0)), "gzip"))).toBe("TRUNCATED");
    expect(await codeOf(decompressLayer(streamOf(zs.subarray(0, zs.length - 5)), "zstd", { core }))).toBe("ZSTD_TRUNCATED");
  });

  it("corrupt data and wrong magic: GZIP_CORRUPT / ZSTD_CORRUPT", async () => {
    const tar = tars.kitchenSinkTar();
    const gz = sh("gzip", ["-c"], tar);
    const flipped = gz.slice();
    flipped[Math.floor(gz.length / 2)]! ^= 0xff;
    expect(await codeOf(decompressLayer(streamOf(flipped), "gzip"))).toBe("GZIP_CORRUPT");
    const badCrc = gz.slice();
    badCrc[gz.length - 6]! ^= 1;
    expect(await codeOf(decompressLayer(streamOf(badCrc), "gzip"))).toBe("GZIP_CORRUPT");
    expect(await codeOf(decompressLayer(streamOf(core.zstd.compress(tar)), "gzip"))).toBe("GZIP_CORRUPT");
    const zs = core.zstd.compress(tar);
    const zflip = zs.slice();
    zflip[Math.floor(zs.length / 2)]! ^= 0xff;
    expect(await codeOf(decompressLayer(streamOf(zflip), "zstd", { core }))).toBe("ZSTD_CORRUPT");
    expect(await codeOf(decompressLayer(streamOf(gz), "zstd", { core }))).toBe("ZSTD_CORRUPT");
    // Trailing garbage after a complete gzip member is not silently dropped.
    expect(await codeOf(decompressLayer(streamOf(tars.cat(gz, Uint8Array.of(1, 2, 3, 4))), "gzip"))).toBe("GZIP_CORRUPT");
  });

  it("a crafted DEFLATE block that never ends streams out in bounded pieces, then TRUNCATED", async () => {
    // gzip header, then one fixed-Huffman block (BFINAL=1, BTYPE=01) of literal 'a' codes
    // (8 bits each: 0x30 + 0x61, sent MSB first) with no end-of-block code.
    const bits: number[] = [1, 1, 0];
    for (let i = 0; i < 64; i++) for (let b = 7; b >= 0; b--) bits.push(((0x30 + 0x61) >> b) & 1);
    const head = new Uint8Array(8);
    for (let i = 0; i < 64; i++) head[i >> 3]! |= bits[i]! << (i & 7);
    const body = new Uint8Array(33 << 20).fill(head[4]!); // the byte pattern repeats from byte 1 on
    body.set(head.subarray(0, 4));
    const gz = tars.cat(Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255), body);
    // zlib inflates inside a block: the 'a's come out as the input arrives, none held back.
    const reader = decompressLayer(streamOf(gz, 1 << 20), "gzip", { core }).getReader();
    let total = 0;
    let largest = 0;
    let code: string | undefined;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value.some((b) => b !== 0x61)) throw new Error("not an 'a'");
        total += value.length;
        largest = Math.max(largest, value.length);
      }
    } catch (e) {
      code = (e as { code?: string }).code;
    }
    expect(code).toBe("TRUNCATED");
    expect(total).toBeGreaterThan(body.length - 16);
    expect(largest).toBeLessThanOrEqual(256 << 10);
    // A bound still stops it early.
    expect(await codeOf(decompressLayer(streamOf(gz, 1 << 20), "gzip", { core, maxOutput: 1 << 20 }))).toBe("LIMIT_EXCEEDED");
  });

  it("maxOutput: LIMIT_EXCEEDED for both compressions; bad options BAD_ARGUMENT", async () => {
    const data = new Uint8Array(1 << 20);
    expect(await codeOf(decompressLayer(streamOf(sh("gzip", ["-c"], data)), "gzip", { maxOutput: 1000 }))).toBe("LIMIT_EXCEEDED");
    expect(await codeOf(decompressLayer(streamOf(core.zstd.compress(data)), "zstd", { core, maxOutput: 1000 }))).toBe("LIMIT_EXCEEDED");
    expect(sha(await bytesOf(decompressLayer(streamOf(core.zstd.compress(data)), "zstd", { core, maxOutput: data.length })))).toBe(
      sha(data),
    );
    expect(() => decompressLayer(streamOf(data), "lz4" as "gzip")).toThrow(expect.objectContaining({ code: "BAD_ARGUMENT" }));
    expect(() => decompressLayer(streamOf(data), "gzip", { maxOutput: -1 })).toThrow(expect.objectContaining({ code: "BAD_ARGUMENT" }));
  });
});
