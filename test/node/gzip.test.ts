/**
 * The gzip member engine: our inflater against zlib's output, our (pako) members against
 * zlib's inflater, determinism, and typed errors on corrupt input.
 */
import { readFileSync } from "node:fs";
import { constants, crc32 as zcrc32, deflateRawSync, gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";

vi.setConfig({ testTimeout: 60_000 });
import { LayerkitError } from "../../src/errors.js";
import {
  crc32,
  createGzipCompressor,
  goGzipHeader,
  Gunzip,
  gunzip,
  gunzipMember,
  gzipMember,
  parseGzipHeader,
} from "../../src/gzip/index.js";
import { concatBytes } from "../../src/util/bytes.js";
import { rng } from "../fixtures/tars.js";

/** Mixed content: text-like runs, repeats at many distances, and random bytes. */
function sample(n: number, seed = 1): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  const words = ["layer", "chunk", "stargz", "\n", " ", "index.json", "/usr/lib/", "\x00\x00\x00\x00"].map((w) =>
    new TextEncoder().encode(w)
  );
  let i = 0;
  while (i < n) {
    const k = r();
    if (k < 0.5) {
      const w = words[Math.floor(r() * words.length)]!;
      for (let j = 0; j < w.length && i < n; j++) out[i++] = w[j]!;
    } else if (k < 0.8 && i > 100) {
      const d = 1 + Math.floor(r() * Math.min(i, 40000));
      const len = 3 + Math.floor(r() * 300);
      for (let j = 0; j < len && i < n; j++, i++) out[i] = out[i - d]!;
    } else {
      const len = Math.floor(r() * 64);
      for (let j = 0; j < len && i < n; j++) out[i++] = Math.floor(r() * 256);
    }
  }
  return out;
}

/** Byte equality without vitest's slow element-wise diff of large typed arrays. */
function expectSame(a: Uint8Array, b: Uint8Array): void {
  expect(a.length).toBe(b.length);
  expect(Buffer.compare(a, b)).toBe(0);
}

async function expectCode(f: () => unknown, code: string): Promise<LayerkitError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(LayerkitError);
    expect((e as LayerkitError).code).toBe(code);
    return e as LayerkitError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

function splitPush(g: Gunzip, data: Uint8Array, seed: number): Uint8Array {
  const r = rng(seed);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < data.length;) {
    const n = Math.min(data.length - i, 1 + Math.floor(r() * (r() < 0.5 ? 50 : 70000)));
    parts.push(...g.push(data.subarray(i, i + n)));
    i += n;
  }
  parts.push(...g.end());
  return concatBytes(parts);
}

describe("crc32", () => {
  it("matches zlib", () => {
    for (const n of [0, 1, 7, 8, 9, 1000, 65537]) {
      const d = sample(n, n + 3);
      expect(crc32(d)).toBe(zcrc32(d));
      expect(crc32(d.subarray(n >> 1), crc32(d.subarray(0, n >> 1)))).toBe(zcrc32(d));
    }
  });
});

describe("inflate (our decoder, zlib's encoder)", () => {
  const inputs: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["one byte", new Uint8Array([42])],
    ["mixed 300k", sample(300_000)],
    ["zeros 2M", new Uint8Array(2_000_000)],
    ["random 100k", Uint8Array.from({ length: 100_000 }, rng(9)).map((x) => x)],
  ];
  inputs[4]![1] = Uint8Array.from({ length: 100_000 }, () => 0).map((_, i, a) => (a[i] = (i * 2654435761) >>> 24));
  for (const [name, data] of inputs) {
    for (const level of [0, 1, 6, 9]) {
      it(`${name} at zlib level ${level}`, () => {
        const z = new Uint8Array(gzipSync(data, { level }));
        expectSame(gunzip(z), data);
        expectSame(splitPush(new Gunzip(), z, level + data.length), data);
      });
    }
  }
  it("fixed-Huffman and Z_FIXED / Z_HUFFMAN_ONLY / Z_RLE strategies", () => {
    const data = sample(200_000, 5);
    for (const strategy of [constants.Z_FIXED, constants.Z_HUFFMAN_ONLY, constants.Z_RLE, constants.Z_FILTERED]) {
      const z = new Uint8Array(gzipSync(data, { strategy }));
      expectSame(gunzip(z), data);
    }
  });
  it("multi-member streams, member offsets and single-member mode", () => {
    const a = sample(70_000, 1);
    const b = sample(5, 2);
    const c = sample(200_000, 3);
    const za = new Uint8Array(gzipSync(a));
    const zb = new Uint8Array(gzipSync(b));
    const zc = new Uint8Array(gzipSync(c));
    const all = concatBytes([za, zb, zc]);
    const g = new Gunzip();
    expectSame(splitPush(g, all, 77), concatBytes([a, b, c]));
    expect(g.members).toBe(3);
    expect(g.memberOffsets).toEqual([0, za.length, za.length + zb.length]);
    const m = gunzipMember(all);
    expectSame(m.data, a);
    expect(m.consumed).toBe(za.length);
    const m2 = gunzipMember(all.subarray(za.length), { expectedSize: b.length });
    expectSame(m2.data, b);
    expect(m2.consumed).toBe(zb.length);
  });
  it("header fields: FEXTRA, FNAME, FCOMMENT, FHCRC", () => {
    const body = new Uint8Array(deflateRawSync(new TextEncoder().encode("hello")));
    const head = [0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 3, 3, 0, 0x41, 0x42, 0x43, 0x6e, 0x00, 0x63, 0x00];
    const hcrc = zcrc32(Uint8Array.from(head)) & 0xffff;
    const tr = new Uint8Array(8);
    new DataView(tr.buffer).setUint32(0, zcrc32(new TextEncoder().encode("hello")), true);
    new DataView(tr.buffer).setUint32(4, 5, true);
    const m = concatBytes([Uint8Array.from(head), Uint8Array.of(hcrc & 0xff, hcrc >> 8), body, tr]);
    expect(new TextDecoder().decode(gunzip(m))).toBe("hello");
    const h = parseGzipHeader(m)!;
    expect(Array.from(h.extra!)).toEqual([0x41, 0x42, 0x43]);
    expect(h.length).toBe(head.length + 2);
    const bad = m.slice();
    bad[head.length] = bad[head.length]! ^ 1;
    expect(() => gunzip(bad)).toThrowError(/header CRC/);
  });
});

describe("deflate (pako members, zlib's decoder)", () => {
  it("round-trips through zlib at every level, with Go's header", () => {
    const data = sample(500_000, 4);
    for (let level = 0; level <= 9; level++) {
      const z = gzipMember(data, level);
      expectSame(new Uint8Array(gunzipSync(z)), data);
      expectSame(gunzip(z), data);
      expect(z.subarray(0, 10)).toEqual(goGzipHeader(level));
      expect(Array.from(z.subarray(0, 10))).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, level === 9 ? 2 : level === 1 ? 4 : 0, 255]);
    }
  });
  it("a real binary that made fflate 0.8.3's streaming Deflate emit illegal distances stays valid at every level", () => {
    // /usr/lib/file/magic.mgc (Debian libmagic-mgc): at level 9 fflate referenced bytes before the
    // start of the second 4 MiB member, which zlib and Go reject (fflate issue #260).
    const file = new Uint8Array(readFileSync("/usr/lib/file/magic.mgc"));
    expect(file.length).toBeGreaterThan(4 << 20);
    for (const level of [1, 6, 9]) {
      for (let off = 0; off < file.length; off += 4 << 20) {
        const piece = file.subarray(off, off + (4 << 20));
        expectSame(new Uint8Array(gunzipSync(gzipMember(piece, level))), piece);
      }
    }
  });
  it("empty and tiny members", () => {
    for (const d of [new Uint8Array(0), new Uint8Array([1]), new Uint8Array(7).fill(0x0f)]) {
      const z = gzipMember(d);
      expectSame(new Uint8Array(gunzipSync(z)), d);
      expectSame(gunzip(z), d);
    }
  });
  it("is deterministic whatever the write sizes", () => {
    const data = sample(1_000_000, 8);
    const ref = gzipMember(data, 9);
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const m = createGzipCompressor({ level: 9 }).member();
      const parts: Uint8Array[] = [];
      for (let i = 0; i < data.length;) {
        const n = Math.min(data.length - i, 1 + Math.floor(r() * (r() < 0.3 ? 100 : 200_000)));
        parts.push(...(m.write(data.subarray(i, i + n)) as Uint8Array[]));
        i += n;
      }
      parts.push(...(m.end() as Uint8Array[]));
      expectSame(concatBytes(parts), ref);
    }
  });
  it("level 9 compresses about as well as zlib -9", () => {
    const data = sample(1_000_000, 6);
    const ours = gzipMember(data, 9).length;
    const zlib = gzipSync(data, { level: 9 }).length;
    expect(ours / zlib).toBeLessThan(1.1);
  });
  it("native engine (CompressionStream) makes valid members", async () => {
    const data = sample(300_000, 10);
    const c = createGzipCompressor({ engine: "native" });
    expect(c.deterministic).toBe(false);
    const m = c.member();
    const parts = [...(await m.write(data.subarray(0, 1000))), ...(await m.write(data.subarray(1000))), ...(await m.end())];
    expectSame(gunzip(concatBytes(parts)), data);
  });
  it("rejects bad levels", async () => {
    await expectCode(() => createGzipCompressor({ level: 10 }), "BAD_ARGUMENT");
    await expectCode(() => gzipMember(new Uint8Array(1), -1), "BAD_ARGUMENT");
  });
});

describe("corrupt input", () => {
  const data = sample(100_000, 12);
  const z = new Uint8Array(gzipSync(data));
  it("CRC-32 mismatch", async () => {
    const b = z.slice();
    b[b.length - 8] = b[b.length - 8]! ^ 1;
    await expectCode(() => gunzip(b), "GZIP_CORRUPT");
  });
  it("ISIZE mismatch", async () => {
    const b = z.slice();
    b[b.length - 1] = b[b.length - 1]! ^ 1;
    await expectCode(() => gunzip(b), "GZIP_CORRUPT");
  });
  it("truncated anywhere", async () => {
    for (const cut of [1, 5, 10, 11, 100, z.length - 9, z.length - 1]) {
      await expectCode(() => gunzip(z.subarray(0, cut)), "TRUNCATED");
    }
    await expectCode(() => gunzip(new Uint8Array(0)), "TRUNCATED");
  });
  it("bad magic, method, flags, trailing garbage", async () => {
    await expectCode(() => gunzip(Uint8Array.of(0x1f, 0x8c, 8, 0, 0, 0, 0, 0, 0, 0)), "GZIP_CORRUPT");
    await expectCode(() => gunzip(Uint8Array.of(0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0)), "GZIP_CORRUPT");
    await expectCode(() => gunzip(Uint8Array.of(0x1f, 0x8b, 8, 0x20, 0, 0, 0, 0, 0, 0)), "GZIP_CORRUPT");
    await expectCode(() => gunzip(concatBytes([z, Uint8Array.of(0, 0, 0, 0)])), "GZIP_CORRUPT");
  });
  it("damaged deflate data never passes", async () => {
    const r = rng(99);
    for (let k = 0; k < 200; k++) {
      const b = z.slice();
      const at = 10 + Math.floor(r() * (b.length - 18));
      b[at] = b[at]! ^ (1 << Math.floor(r() * 8));
      try {
        const out = gunzip(b);
        // A flip that keeps the stream decodable must still be caught by the CRC.
        expectSame(out, data);
        throw new Error("corruption not detected");
      } catch (e) {
        expect(e).toBeInstanceOf(LayerkitError);
        expect(["GZIP_CORRUPT", "TRUNCATED"]).toContain((e as LayerkitError).code);
      }
    }
  });
  it("bad stored block length, bad block type", async () => {
    // Stored block with NLEN wrong.
    const bad = concatBytes([goGzipHeader(0), Uint8Array.of(1, 5, 0, 0xfa, 0xfe, 1, 2, 3, 4, 5), new Uint8Array(8)]);
    await expectCode(() => gunzip(bad), "GZIP_CORRUPT");
    const type3 = concatBytes([goGzipHeader(0), Uint8Array.of(7, 0), new Uint8Array(8)]);
    await expectCode(() => gunzip(type3), "GZIP_CORRUPT");
  });
  it("output bounds: LIMIT_EXCEEDED / SIZE_MISMATCH", async () => {
    const bomb = new Uint8Array(gzipSync(new Uint8Array(50_000_000)));
    const e = await expectCode(() => gunzip(bomb, { maxOutput: 1_000_000 }), "LIMIT_EXCEEDED");
    expect(e.details.limit).toBe(1_000_000);
    await expectCode(() => gunzipMember(z, { expectedSize: data.length - 1 }), "SIZE_MISMATCH");
    await expectCode(() => gunzipMember(z, { expectedSize: data.length + 1 }), "SIZE_MISMATCH");
    expectSame(gunzipMember(z, { expectedSize: data.length }).data, data);
    expectSame(gunzip(z, { maxOutput: data.length }), data);
  });
});
