/**
 * The gzip member engine: our inflater against zlib's output, our (pako) members against
 * zlib's inflater, determinism, and typed errors on corrupt input.
 */
import { spawnSync } from "node:child_process";
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
import { loadCore } from "../../src/runtime/node.js";
import { createDeflate, type Deflate, type DeflateExports } from "../../src/wasm/deflate.js";
import { rng } from "../fixtures/tars.js";

const core = await loadCore();
/** Both inflaters: the JavaScript one (no engine) and zlib in WASM (the core's engine). */
const INFLATERS: [string, Deflate | undefined][] = [["js", undefined], ["wasm zlib", core.deflate]];

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

for (const [engine, deflate] of INFLATERS) {
  describe(`inflate (${engine}; zlib's encoder)`, () => {
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
          expectSame(gunzip(z, { deflate }), data);
          expectSame(splitPush(new Gunzip({ deflate }), z, level + data.length), data);
        });
      }
    }
    it("fixed-Huffman and Z_FIXED / Z_HUFFMAN_ONLY / Z_RLE strategies", () => {
      const data = sample(200_000, 5);
      for (const strategy of [constants.Z_FIXED, constants.Z_HUFFMAN_ONLY, constants.Z_RLE, constants.Z_FILTERED]) {
        const z = new Uint8Array(gzipSync(data, { strategy }));
        expectSame(gunzip(z, { deflate }), data);
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
      const g = new Gunzip({ deflate });
      expectSame(splitPush(g, all, 77), concatBytes([a, b, c]));
      expect(g.members).toBe(3);
      expect(g.memberOffsets).toEqual([0, za.length, za.length + zb.length]);
      const m = gunzipMember(all, { deflate });
      expectSame(m.data, a);
      expect(m.consumed).toBe(za.length);
      const m2 = gunzipMember(all.subarray(za.length), { expectedSize: b.length, deflate });
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
      expect(new TextDecoder().decode(gunzip(m, { deflate }))).toBe("hello");
      const h = parseGzipHeader(m)!;
      expect(Array.from(h.extra!)).toEqual([0x41, 0x42, 0x43]);
      expect(h.length).toBe(head.length + 2);
      const bad = m.slice();
      bad[head.length] = bad[head.length]! ^ 1;
      expect(() => gunzip(bad, { deflate })).toThrowError(/header CRC/);
    });
  });
}

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

for (const [engine, deflate] of INFLATERS) {
  describe(`corrupt input (${engine})`, () => {
    const data = sample(100_000, 12);
    const z = new Uint8Array(gzipSync(data));
    it("CRC-32 mismatch", async () => {
      const b = z.slice();
      b[b.length - 8] = b[b.length - 8]! ^ 1;
      await expectCode(() => gunzip(b, { deflate }), "GZIP_CORRUPT");
    });
    it("ISIZE mismatch", async () => {
      const b = z.slice();
      b[b.length - 1] = b[b.length - 1]! ^ 1;
      await expectCode(() => gunzip(b, { deflate }), "GZIP_CORRUPT");
    });
    it("truncated anywhere", async () => {
      for (const cut of [1, 5, 10, 11, 100, z.length - 9, z.length - 1]) {
        await expectCode(() => gunzip(z.subarray(0, cut), { deflate }), "TRUNCATED");
      }
      await expectCode(() => gunzip(new Uint8Array(0), { deflate }), "TRUNCATED");
    });
    it("bad magic, method, flags, trailing garbage", async () => {
      await expectCode(() => gunzip(Uint8Array.of(0x1f, 0x8c, 8, 0, 0, 0, 0, 0, 0, 0), { deflate }), "GZIP_CORRUPT");
      await expectCode(() => gunzip(Uint8Array.of(0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0), { deflate }), "GZIP_CORRUPT");
      await expectCode(() => gunzip(Uint8Array.of(0x1f, 0x8b, 8, 0x20, 0, 0, 0, 0, 0, 0), { deflate }), "GZIP_CORRUPT");
      await expectCode(() => gunzip(concatBytes([z, Uint8Array.of(0, 0, 0, 0)]), { deflate }), "GZIP_CORRUPT");
    });
    it("damaged deflate data never passes", async () => {
      const r = rng(99);
      for (let k = 0; k < 200; k++) {
        const b = z.slice();
        const at = 10 + Math.floor(r() * (b.length - 18));
        b[at] = b[at]! ^ (1 << Math.floor(r() * 8));
        try {
          const out = gunzip(b, { deflate });
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
      await expectCode(() => gunzip(bad, { deflate }), "GZIP_CORRUPT");
      const type3 = concatBytes([goGzipHeader(0), Uint8Array.of(7, 0), new Uint8Array(8)]);
      await expectCode(() => gunzip(type3, { deflate }), "GZIP_CORRUPT");
    });
    it("output bounds: LIMIT_EXCEEDED / SIZE_MISMATCH", async () => {
      const bomb = new Uint8Array(gzipSync(new Uint8Array(50_000_000)));
      const e = await expectCode(() => gunzip(bomb, { maxOutput: 1_000_000, deflate }), "LIMIT_EXCEEDED");
      expect(e.details.limit).toBe(1_000_000);
      await expectCode(() => gunzipMember(z, { expectedSize: data.length - 1, deflate }), "SIZE_MISMATCH");
      await expectCode(() => gunzipMember(z, { expectedSize: data.length + 1, deflate }), "SIZE_MISMATCH");
      expectSame(gunzipMember(z, { expectedSize: data.length, deflate }).data, data);
      expectSame(gunzip(z, { maxOutput: data.length, deflate }), data);
    });
  });
}

/** One gzip member through the zlib engine, written in pieces of the sizes `r` picks. */
function zlibMember(data: Uint8Array, level: number, r?: () => number): Uint8Array {
  const m = createGzipCompressor({ engine: "zlib", deflate: core.deflate, level }).member();
  const parts: Uint8Array[] = [];
  for (let i = 0; i < data.length;) {
    const n = r ? Math.min(data.length - i, 1 + Math.floor(r() * (r() < 0.3 ? 100 : 300_000))) : data.length;
    parts.push(...(m.write(data.subarray(i, i + n)) as Uint8Array[]));
    i += n;
  }
  parts.push(...(m.end() as Uint8Array[]));
  return concatBytes(parts);
}

describe("deflate (zlib engine in WASM, zlib's decoder)", () => {
  it("round-trips through node:zlib and the gzip CLI at every level, with Go's header", () => {
    const data = sample(700_000, 21);
    for (let level = 0; level <= 9; level++) {
      const z = zlibMember(data, level);
      expectSame(new Uint8Array(gunzipSync(z)), data);
      expect(Array.from(z.subarray(0, 10))).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, level === 9 ? 2 : level === 1 ? 4 : 0, 255]);
    }
    const cli = spawnSync("gzip", ["-dc"], { input: zlibMember(data, 6), maxBuffer: 1 << 26 });
    expect(cli.status).toBe(0);
    expectSame(new Uint8Array(cli.stdout), data);
  });
  it("is deterministic whatever the write sizes, and its size is zlib's at the same level", () => {
    const data = sample(1_500_000, 22);
    const ref = zlibMember(data, 6);
    for (const seed of [1, 2]) expectSame(zlibMember(data, 6, rng(seed)), ref);
    // The same zlib version as the system's: within a few bytes of node:zlib's (a zlib fork).
    expect(Math.abs(ref.length - gzipSync(data, { level: 6 }).length) / ref.length).toBeLessThan(0.02);
  });
  it("empty and tiny members; bad levels; writes after end", async () => {
    for (const d of [new Uint8Array(0), new Uint8Array([1]), new Uint8Array(7).fill(0x0f)]) {
      expectSame(new Uint8Array(gunzipSync(zlibMember(d, 6))), d);
    }
    await expectCode(() => createGzipCompressor({ engine: "zlib", deflate: core.deflate, level: 10 }), "BAD_ARGUMENT");
    await expectCode(() => createGzipCompressor({ engine: "zlib" }), "BAD_ARGUMENT");
    const m = createGzipCompressor({ engine: "zlib", deflate: core.deflate }).member();
    m.end();
    await expectCode(() => m.write(new Uint8Array(1)), "BAD_ARGUMENT");
  });
});

describe("zlib inflate in WASM: boundaries, streaming, resources", () => {
  it("a member of a stream ends exactly where zlib's encoder ended it, whatever the split", () => {
    const a = sample(300_000, 31);
    const za = new Uint8Array(gzipSync(a));
    const tail = Uint8Array.of(9, 9, 9);
    const g = new Gunzip({ multiMember: false, deflate: core.deflate });
    const r = rng(5);
    const all = concatBytes([za, tail]);
    const out: Uint8Array[] = [];
    for (let i = 0; i < all.length && !g.finished;) {
      const n = Math.min(all.length - i, 1 + Math.floor(r() * 3000));
      out.push(...g.push(all.subarray(i, i + n)));
      i += n;
    }
    expect(g.finished).toBe(true);
    expect(g.bytesIn).toBe(za.length);
    expectSame(concatBytes(out), a);
    expect(Array.from(g.remainder()).slice(-3)).toEqual([9, 9, 9]);
  });
  it("inflates a stored-block-free 64 MiB member in pieces no larger than 256 KiB", () => {
    const data = new Uint8Array(64 << 20);
    for (let i = 0; i < data.length; i += 4096) data[i] = i >>> 12;
    const z = new Uint8Array(gzipSync(data, { level: 1 }));
    const g = new Gunzip({ deflate: core.deflate });
    let total = 0;
    let largest = 0;
    for (let i = 0; i < z.length; i += 1 << 16) {
      for (const p of g.push(z.subarray(i, i + (1 << 16)))) {
        total += p.length;
        largest = Math.max(largest, p.length);
      }
    }
    for (const p of g.end()) total += p.length;
    expect(total).toBe(data.length);
    expect(largest).toBeLessThanOrEqual(256 << 10);
  });
  it("many members and abandoned streams do not grow the WASM heap", async () => {
    // An instance of our own, to watch its memory.
    const { instance } = await WebAssembly.instantiate(readFileSync(new URL("../../wasm/zstd.wasm", import.meta.url)), {
      env: { emscripten_notify_memory_growth: () => {} },
    });
    const x = instance.exports as unknown as DeflateExports & { _initialize(): void };
    x._initialize();
    const own = createDeflate(x);
    const z = new Uint8Array(gzipSync(sample(20_000, 41)));
    const round = (): void => {
      for (let k = 0; k < 500; k++) {
        const g = new Gunzip({ deflate: own });
        g.push(z.subarray(0, 100 + (k % 500))); // abandoned mid-member
        g.free();
        expectSame(gunzip(concatBytes([z, z]), { deflate: own }), concatBytes([sample(20_000, 41), sample(20_000, 41)]));
        const m = createGzipCompressor({ engine: "zlib", deflate: own, level: 6 }).member();
        m.write(z);
        m.abort?.();
      }
    };
    round();
    const size = x.memory.buffer.byteLength;
    round();
    round();
    expect(x.memory.buffer.byteLength).toBe(size);
  });
  it("crc of libdeflate's one-call member paths matches node:zlib", () => {
    const data = sample(100_000, 51);
    const { body, crc, size } = core.deflate.deflateMember([data.subarray(0, 10), data.subarray(10)], 6);
    expect(crc).toBe(zcrc32(data));
    expect(size).toBe(data.length);
    const back = core.deflate.inflateMember(body, data.length);
    expect(back.crc).toBe(zcrc32(data));
    expect(back.consumed).toBe(body.length);
    expectSame(back.data, data);
  });
});
