import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { LayerkitError } from "../../src/errors.js";
import { toHex } from "../../src/util/hex.js";
import { NodeSha256 } from "../../src/runtime/node-hash.js";
import { loadSha256, type Sha256Module } from "../../src/wasm/sha256.js";

let mod: Sha256Module;
const wasm = () => readFile(new URL("../../wasm/sha256.wasm", import.meta.url));

beforeAll(async () => {
  mod = await loadSha256(await wasm());
});

const nodeHex = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

/** Deterministic pseudo-random bytes (xorshift32, one word per 4 bytes). */
function fillRandom(out: Uint8Array, seed: number): number {
  let x = seed >>> 0 || 1;
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length >>> 2);
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  for (let i = words.length * 4; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return x >>> 0;
}

function randomBytes(n: number, seed = 7): Uint8Array {
  const b = new Uint8Array(n);
  fillRandom(b, seed);
  return b;
}

const ascii = (s: string) => new TextEncoder().encode(s);

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(LayerkitError);
  expect((err as LayerkitError).code).toBe(code);
}

describe("sha256 (WASM)", () => {
  it("matches the NIST vectors", () => {
    const vectors: [Uint8Array, string][] = [
      [ascii(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
      [ascii("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
      [
        ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
      ],
      [
        ascii("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
      ],
      [new Uint8Array(1_000_000).fill(0x61), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"],
    ];
    for (const [msg, hex] of vectors) {
      expect(mod.create().update(msg).hex()).toBe(hex);
      expect(toHex(mod.sha256(msg))).toBe(hex);
    }
    // one million 'a' fed one byte, then 1000 bytes at a time
    const a = mod.create();
    const one = ascii("a");
    for (let i = 0; i < 1000; i++) a.update(one);
    const thousand = new Uint8Array(1000).fill(0x61);
    for (let i = 1; i < 1000; i++) a.update(thousand);
    expect(a.hex()).toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  });

  it("matches node:crypto for every length 0..4096 in one update", () => {
    const data = randomBytes(4096, 1);
    for (let len = 0; len <= 4096; len++) {
      const m = data.subarray(0, len);
      const d = mod.create().update(m).digest();
      expect(d.length).toBe(32);
      if (toHex(d) !== nodeHex(m)) expect(`length ${len}: ${toHex(d)}`).toBe(`length ${len}: ${nodeHex(m)}`);
    }
  });

  it("matches node:crypto for every length 0..4096 split into uneven updates", () => {
    const data = randomBytes(4096, 2);
    const sizes = [1, 3, 63, 64, 65, 0, 127, 128, 200, 55, 56, 57, 1000];
    for (let len = 0; len <= 4096; len++) {
      const h = mod.create();
      let off = 0;
      for (let i = len % sizes.length; off < len; i = (i + 1) % sizes.length) {
        const n = Math.min(sizes[i]!, len - off);
        h.update(data.subarray(off, off + n));
        off += n;
      }
      expect(h.length).toBe(len);
      const got = h.hex();
      const want = nodeHex(data.subarray(0, len));
      if (got !== want) expect(`length ${len}: ${got}`).toBe(`length ${len}: ${want}`);
    }
  });

  it("handles single updates larger than the WASM input buffer, at odd offsets", () => {
    const data = randomBytes(300_000, 3);
    for (const [start, len] of [[0, 65_536], [1, 65_536], [5, 65_537], [0, 131_072], [63, 200_001], [17, 299_983]] as const) {
      const m = data.subarray(start, start + len);
      expect(mod.create().update(m).hex()).toBe(nodeHex(m));
      // a pending partial block in front of the big update
      const h = mod.create().update(data.subarray(0, 33)).update(m);
      expect(h.hex()).toBe(nodeHex(data.subarray(0, 33), m));
    }
  });

  it("accepts Buffers and other views of the same bytes", () => {
    const data = randomBytes(1000, 4);
    const want = nodeHex(data);
    expect(mod.create().update(Buffer.from(data)).hex()).toBe(want);
    const dv = new DataView(data.buffer, 0, 1000);
    expect(mod.create().update(dv as unknown as Uint8Array).hex()).toBe(want);
    expectCode(() => mod.create().update("abc" as unknown as Uint8Array), "BAD_ARGUMENT");
  });

  it("streams 1 GiB in 65,521-byte pieces like node:crypto", { timeout: 600_000 }, () => {
    const PIECE = 65_521;
    const TOTAL = 2 ** 30;
    const buf = new Uint8Array(PIECE + 3);
    const ours = mod.create();
    const ref = createHash("sha256");
    let seed = 12345;
    for (let done = 0; done < TOTAL;) {
      const n = Math.min(PIECE, TOTAL - done);
      seed = fillRandom(buf, seed);
      const piece = buf.subarray(0, n);
      ours.update(piece);
      ref.update(piece);
      done += n;
    }
    expect(ours.length).toBe(TOTAL);
    expect(ours.hex()).toBe(ref.digest("hex"));
  });

  it("keeps many interleaved hashers on one module apart", () => {
    const N = 1000;
    const data = randomBytes(64 * 1024, 5);
    const hashers = Array.from({ length: N }, () => mod.create());
    const refs = Array.from({ length: N }, () => createHash("sha256"));
    const sizes = [0, 1, 7, 64, 100, 129, 500, 4000, 63, 65];
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < N; i++) {
        if ((i + round) % 5 === 0) continue; // not everyone every round
        if (round > 6 && i % 97 === 0) continue; // finished in round 6
        const n = sizes[(i * 7 + round) % sizes.length]!;
        const off = (i * 131 + round * 977) % (data.length - n);
        const piece = data.subarray(off, off + n);
        hashers[i]!.update(piece);
        refs[i]!.update(piece);
      }
      // finish a few in the middle, then keep going with the rest
      if (round === 6) {
        for (let i = 0; i < N; i += 97) {
          expect(hashers[i]!.hex()).toBe(refs[i]!.digest("hex"));
        }
      }
    }
    for (let i = N - 1; i >= 0; i--) {
      if (i % 97 === 0) continue;
      expect(hashers[i]!.hex()).toBe(refs[i]!.digest("hex"));
    }
  });

  it("keeps hashers of two modules apart", async () => {
    const other = await loadSha256(await WebAssembly.compile(await wasm()));
    const data = randomBytes(10_000, 6);
    const a = mod.create(), b = other.create(), c = mod.create();
    for (let off = 0; off < data.length; off += 999) {
      const p = data.subarray(off, off + 999);
      a.update(p);
      b.update(p);
      c.update(p.subarray(0, 500));
    }
    expect(a.hex()).toBe(nodeHex(data));
    expect(b.hex()).toBe(nodeHex(data));
    const cParts: Uint8Array[] = [];
    for (let off = 0; off < data.length; off += 999) cParts.push(data.subarray(off, Math.min(off + 500, data.length)));
    expect(c.hex()).toBe(nodeHex(...cParts));
  });

  it("throws HASH_BAD_USAGE when a finished hash is used", () => {
    const a = mod.create().update(ascii("abc"));
    expect(a.hex()).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expectCode(() => a.update(ascii("x")), "HASH_BAD_USAGE");
    expectCode(() => a.digest(), "HASH_BAD_USAGE");
    expectCode(() => a.hex(), "HASH_BAD_USAGE");
    expectCode(() => a.update(new Uint8Array(0)), "HASH_BAD_USAGE");
    const b = mod.create();
    b.digest();
    expectCode(() => b.hex(), "HASH_BAD_USAGE");
    expectCode(() => b.update(new Uint8Array(100)), "HASH_BAD_USAGE");
    // the module is still fine afterwards
    expect(mod.create().update(ascii("abc")).hex()).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("clone() forks the state: both go on independently, whoever owns the instance", () => {
    const data = randomBytes(10_000, 21);
    for (const cut of [0, 1, 63, 64, 65, 1000, 4097, 10_000]) {
      const a = mod.create().update(data.subarray(0, cut));
      const other = mod.create().update(data.subarray(0, 77)); // takes the instance away from a
      const b = a.clone();
      a.update(data.subarray(cut));
      b.update(ascii("tail"));
      const c = b.clone(); // clone of the current owner
      c.update(ascii("more"));
      expect(a.hex()).toBe(nodeHex(data));
      expect(b.hex()).toBe(nodeHex(data.subarray(0, cut), ascii("tail")));
      expect(c.hex()).toBe(nodeHex(data.subarray(0, cut), ascii("tail"), ascii("more")));
      expect(other.hex()).toBe(nodeHex(data.subarray(0, 77)));
    }
    const done = mod.create();
    done.digest();
    expectCode(() => done.clone(), "HASH_BAD_USAGE");
  });

  it("refuses a module that is not the SHA-256 core", async () => {
    const empty = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    await expect(loadSha256(empty)).rejects.toMatchObject({ code: "WASM_LOAD_FAILED" });
    await expect(loadSha256(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: "WASM_LOAD_FAILED" });
  });
});

describe("sha256 (node:crypto adapter)", () => {
  it("clone() forks the state like the WASM hasher", () => {
    const data = randomBytes(5_000, 22);
    const a = new NodeSha256().update(data.subarray(0, 1234));
    const b = a.clone();
    a.update(data.subarray(1234));
    expect(a.hex()).toBe(nodeHex(data));
    expect(b.hex()).toBe(nodeHex(data.subarray(0, 1234)));
    expectCode(() => b.clone(), "HASH_BAD_USAGE");
  });
});
