/**
 * A result of libzstd in the error range is an error unless the decoder stands inside a skippable
 * frame (whose remaining length can fall in that range). The frame scanner reads a whole input
 * chunk ahead of the decoder, so this must be judged at the decoder's position: corruption in a
 * frame followed, in the same chunk, by a skippable frame (the TOC, tar-split and footer of every
 * zstd:chunked blob) was taken for a skippable length and came out as `ZSTD_INTERNAL: no progress`
 * (the fuzz campaign's most frequent mislabel). Regression tests for that, both directions.
 */
import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { LayerkitError } from "../../src/errors.js";
import { skippableFrame } from "../../src/formats/zstd/skippable.js";
import { loadZstd, type Zstd } from "../../src/wasm/zstd.js";

let zstd: Zstd;
beforeAll(async () => {
  zstd = await loadZstd(await readFile(new URL("../../wasm/zstd.wasm", import.meta.url)));
});

const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** The code of what `fn` throws, both through decompress() and a streaming decompressor. */
function codes(blob: Uint8Array): string[] {
  const out: string[] = [];
  for (
    const run of [() => zstd.decompress(blob), () => {
      const d = zstd.createDecompressor();
      try {
        d.write(blob);
        d.end();
      } finally {
        d.free();
      }
    }]
  ) {
    try {
      run();
      out.push("ok");
    } catch (e) {
      if (!(e instanceof LayerkitError)) throw e;
      out.push(e.code);
    }
  }
  return out;
}

describe("zstd errors before a skippable frame in the same input chunk", () => {
  it("a broken magic after a skippable frame is ZSTD_CORRUPT, not ZSTD_INTERNAL", () => {
    const data = new TextEncoder().encode("one truth per layer\n".repeat(50));
    const good = zstd.compress(data, { level: 1 });
    const broken = good.slice();
    broken[0] = 0x00; // not a magic number
    expect(codes(concat(good, skippableFrame(new Uint8Array(16)), broken, skippableFrame(new Uint8Array(72))))).toEqual([
      "ZSTD_CORRUPT",
      "ZSTD_CORRUPT",
    ]);
  });

  it("corrupt block data followed by a skippable frame is ZSTD_CORRUPT", () => {
    const data = new Uint8Array(4000).map((_, i) => (i * 31) & 0xff);
    const good = zstd.compress(data, { level: 3 });
    let seen = 0;
    for (let at = 6; at < good.length - 4; at++) {
      const bad = good.slice();
      bad[at] = bad[at]! ^ 0x5a;
      const got = codes(concat(bad, skippableFrame(new Uint8Array(40))));
      for (const c of got) {
        expect(["ok", "ZSTD_CORRUPT", "ZSTD_TRUNCATED", "ZSTD_WINDOW_TOO_LARGE", "ZSTD_FRAME_TOO_LARGE"]).toContain(c);
        if (c !== "ok") seen++;
      }
    }
    expect(seen).toBeGreaterThan(0);
  });

  it("a skippable length in the error range is still skipped when the decoder is inside that frame", () => {
    const data = new TextEncoder().encode("x".repeat(100));
    const huge = skippableFrame(new Uint8Array(0));
    new DataView(huge.buffer).setUint32(4, 0xfffffff0, true); // length ≥ 2^32 - 120: an error code as i32
    expect(codes(concat(zstd.compress(data), huge))).toEqual(["ZSTD_TRUNCATED", "ZSTD_TRUNCATED"]);
    // a whole skippable frame then a good frame: skipped, the frame decoded
    expect(zstd.decompress(concat(skippableFrame(new Uint8Array(5)), zstd.compress(data)))).toEqual(data);
  });
});
