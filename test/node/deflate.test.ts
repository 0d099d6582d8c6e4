// libdeflate in the compression core (src/wasm/deflate.ts) and the gzip engine built on it
// (src/gzip/gzip.ts): checked against node:zlib, the native reference on this machine.
import { crc32 as zlibCrc32, deflateRawSync, gunzipSync, inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { isLayerkitError } from "../../src/errors.js";
import { createGzipCompressor, gunzip, inflateMembersFast } from "../../src/gzip/gzip.js";
import { loadCore } from "../../src/runtime/node.js";

const core = await loadCore();
const { deflate } = core;

/** Compressible, non-trivial bytes: text-like runs mixed with a pseudo-random stream. */
function sample(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = i % 7 < 4 ? 97 + ((i >> 5) % 26) : x >>> 24;
  }
  return out;
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (isLayerkitError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe("libdeflate raw DEFLATE", () => {
  it("round-trips through node:zlib both ways at every level", () => {
    const data = sample(64_000);
    for (let level = 0; level <= 12; level++) {
      const ours = deflate.deflateRaw(data, level);
      expect(new Uint8Array(inflateRawSync(ours))).toEqual(data);
    }
    const theirs = new Uint8Array(deflateRawSync(data, { level: 9 }));
    const { data: back, consumed } = deflate.inflateRaw(theirs, data.length);
    expect(back).toEqual(data);
    expect(consumed).toBe(theirs.length);
  });

  it("compresses a list of pieces exactly as their concatenation", () => {
    const data = sample(100_000, 7);
    const pieces = [data.subarray(0, 1), data.subarray(1, 4097), data.subarray(4097)];
    expect(deflate.deflateRaw(pieces, 6)).toEqual(deflate.deflateRaw(data, 6));
  });

  it("reports where the stream ends when more input follows", () => {
    const data = sample(50_000, 3);
    const stream = deflate.deflateRaw(data, 6);
    const withTail = new Uint8Array(stream.length + 100);
    withTail.set(stream);
    withTail.fill(0xaa, stream.length);
    const { data: back, consumed } = deflate.inflateRaw(withTail, data.length);
    expect(back).toEqual(data);
    expect(consumed).toBe(stream.length);
  });

  it("typed errors: output over the bound, corrupt and truncated data, bad level", () => {
    const data = sample(10_000);
    const stream = deflate.deflateRaw(data, 6);
    expect(codeOf(() => deflate.inflateRaw(stream, data.length - 1))).toBe("LIMIT_EXCEEDED");
    expect(codeOf(() => deflate.inflateRaw(stream, data.length - 1, "SIZE_MISMATCH"))).toBe("SIZE_MISMATCH");
    expect(codeOf(() => deflate.inflateRaw(stream.subarray(0, stream.length >> 1), data.length))).toBe("GZIP_CORRUPT");
    expect(codeOf(() => deflate.inflateRaw(new Uint8Array([0xff, 0xff, 0xff]), 100))).toBe("GZIP_CORRUPT");
    expect(codeOf(() => deflate.deflateRaw(data, 13))).toBe("BAD_ARGUMENT");
    expect(codeOf(() => deflate.inflateRaw(stream, -1))).toBe("BAD_ARGUMENT");
  });

  it("CRC-32 equals zlib's, in pieces too", () => {
    const data = sample(3 << 20, 5);
    expect(deflate.crc32(data)).toBe(zlibCrc32(data));
    expect(deflate.crc32(data.subarray(1000), deflate.crc32(data.subarray(0, 1000)))).toBe(zlibCrc32(data));
    expect(deflate.crc32(new Uint8Array(0))).toBe(0);
  });
});

describe("gzip engine 'libdeflate'", () => {
  it("writes members gunzip and node:zlib read, independent of how writes are cut", async () => {
    const data = sample(256 << 10, 11);
    const gz = createGzipCompressor({ engine: "libdeflate", deflate });
    expect(gz.level).toBe(6);
    const member = async (cuts: number) => {
      const m = gz.member();
      const out: Uint8Array[] = [];
      for (let i = 0; i < data.length; i += cuts) out.push(...(await m.write(data.subarray(i, i + cuts))));
      out.push(...(await m.end()));
      return new Uint8Array(Buffer.concat(out));
    };
    const a = await member(data.length);
    expect(await member(4097)).toEqual(a);
    expect(await member(511)).toEqual(a);
    expect(gunzip(a)).toEqual(data);
    expect(new Uint8Array(gunzipSync(a))).toEqual(data);
    // Go's header for a non-9, non-1 level: XFL 0, OS 255.
    expect([...a.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
  });

  it("needs the core's engine, and checks the level", () => {
    expect(codeOf(() => createGzipCompressor({ engine: "libdeflate" }))).toBe("BAD_ARGUMENT");
    expect(codeOf(() => createGzipCompressor({ engine: "libdeflate", deflate, level: 13 }))).toBe("BAD_ARGUMENT");
    expect(createGzipCompressor({ engine: "libdeflate", deflate, level: 12 }).level).toBe(12);
  });
});

describe("inflateMembersFast", () => {
  const a = sample(70_000, 2);
  const b = sample(5_000, 9);
  const gz = createGzipCompressor({ engine: "libdeflate", deflate });
  const member = (d: Uint8Array) => {
    const m = gz.member();
    return new Uint8Array(Buffer.concat([...(m.write(d) as Uint8Array[]), ...(m.end() as Uint8Array[])]));
  };
  const two = new Uint8Array(Buffer.concat([member(a), member(b)]));

  it("decodes concatenated members like gunzip", () => {
    expect(inflateMembersFast(deflate, two, 1 << 20)).toEqual(gunzip(two));
  });

  it("leaves every doubtful input to the streaming inflater (undefined)", () => {
    expect(inflateMembersFast(deflate, two, a.length + b.length - 1)).toBeUndefined();
    expect(inflateMembersFast(deflate, two.subarray(0, two.length - 1), 1 << 20)).toBeUndefined();
    const badCrc = two.slice();
    badCrc[two.length - 8] = badCrc[two.length - 8]! ^ 1;
    expect(inflateMembersFast(deflate, badCrc, 1 << 20)).toBeUndefined();
    const trailing = new Uint8Array(two.length + 3);
    trailing.set(two);
    expect(inflateMembersFast(deflate, trailing, 1 << 20)).toBeUndefined();
    const notGzip = two.slice();
    notGzip[0] = 0;
    expect(inflateMembersFast(deflate, notGzip, 1 << 20)).toBeUndefined();
  });
});
