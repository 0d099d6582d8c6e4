/**
 * SHA-256 conformance: the same cases in Node, Deno, Chromium and workerd, through
 * `ctx.core.sha256()` (WASM or node:crypto, whichever the runtime adapter chose). Web APIs only.
 */
import { assert, assertEqual, assertThrowsCode, type ConformanceCase, pseudoRandomBytes } from "./harness.js";

// ---------------------------------------------------------------------------------------------
// A small, straightforward reference SHA-256 (FIPS 180-4), independent of the library.

const K = new Uint32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

/** Reference digest of `msg`, as lower-case hex. */
export function referenceSha256Hex(msg: Uint8Array): string {
  const bitLength = msg.length * 8;
  const padded = new Uint8Array((((msg.length + 8) >> 6) + 1) * 64);
  padded.set(msg);
  padded[msg.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLength / 2 ** 32));
  view.setUint32(padded.length - 4, bitLength >>> 0);
  const H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const W = new Uint32Array(64);
  for (let off = 0; off < padded.length; off += 64) {
    for (let t = 0; t < 16; t++) W[t] = view.getUint32(off + t * 4);
    for (let t = 16; t < 64; t++) {
      const w15 = W[t - 15]!, w2 = W[t - 2]!;
      const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
      W[t] = W[t - 16]! + s0 + W[t - 7]! + s1;
    }
    let a = H[0]!, b = H[1]!, c = H[2]!, d = H[3]!, e = H[4]!, f = H[5]!, g = H[6]!, h = H[7]!;
    for (let t = 0; t < 64; t++) {
      const S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K[t]! + W[t]!) >>> 0;
      const S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) >>> 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    const add = [a, b, c, d, e, f, g, h];
    for (let i = 0; i < 8; i++) H[i] = H[i]! + add[i]!;
  }
  let hex = "";
  for (const w of H) hex += w.toString(16).padStart(8, "0");
  return hex;
}

// ---------------------------------------------------------------------------------------------

const ascii = (s: string) => new TextEncoder().encode(s);

const NIST: [string, Uint8Array, string][] = [
  ["empty", new Uint8Array(0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  ["abc", ascii("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  [
    "448-bit",
    ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  ],
  [
    "896-bit",
    ascii("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
  ],
];
const MILLION_A = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

/** sha256 of pseudoRandomBytes(16 MiB, 0x5eed), computed with node:crypto when this file was written. */
const RANDOM_16MIB = "f384a914d4960007134b1888681271de62c867a8e27990336b486f7af32e919c";

function toHexBytes(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

export const sha256Cases: ConformanceCase[] = [
  {
    name: "sha256: reference implementation self-check (NIST vectors)",
    run() {
      for (const [name, msg, hex] of NIST) assertEqual(referenceSha256Hex(msg), hex, `reference ${name}`);
    },
  },
  {
    name: "sha256: NIST vectors",
    run({ core }) {
      for (const [name, msg, hex] of NIST) {
        assertEqual(core.sha256().update(msg).hex(), hex, `hex() of ${name}`);
        assertEqual(toHexBytes(core.sha256().update(msg).digest()), hex, `digest() of ${name}`);
      }
      const a = new Uint8Array(1_000_000).fill(0x61);
      assertEqual(core.sha256().update(a).hex(), MILLION_A, "one million 'a'");
      const h = core.sha256();
      for (let i = 0; i < 1000; i++) h.update(a.subarray(0, 1000));
      assertEqual(h.hex(), MILLION_A, "one million 'a' in 1000-byte updates");
    },
  },
  {
    name: "sha256: every length 0..300 against the reference",
    run({ core }) {
      const src = pseudoRandomBytes(300, 3);
      for (let n = 0; n <= 300; n++) {
        const msg = src.subarray(0, n);
        const d = core.sha256().update(msg).digest();
        assertEqual(d.length, 32, `digest length for ${n} bytes`);
        assertEqual(toHexBytes(d), referenceSha256Hex(msg), `${n} bytes`);
      }
    },
  },
  {
    name: "sha256: split updates equal one update",
    run({ core }) {
      const src = pseudoRandomBytes(1000, 4);
      const sizes = [0, 1, 2, 63, 64, 65, 55, 56, 57, 127, 128, 129, 300];
      for (let n = 0; n <= src.length; n += 37) {
        const msg = src.subarray(0, n);
        const want = core.sha256().update(msg).hex();
        for (let start = 0; start < sizes.length; start++) {
          const h = core.sha256();
          let off = 0;
          for (let i = start; off < n; i = (i + 1) % sizes.length) {
            const k = Math.min(sizes[i]!, n - off);
            h.update(msg.subarray(off, off + k));
            off += k;
          }
          assertEqual(h.hex(), want, `${n} bytes split from size index ${start}`);
        }
      }
    },
  },
  {
    name: "sha256: interleaved hashers stay independent",
    run({ core }) {
      const src = pseudoRandomBytes(20_000, 5);
      const hs = Array.from({ length: 50 }, () => core.sha256());
      for (let off = 0; off < src.length; off += 1000) {
        hs.forEach((h, i) => h.update(src.subarray(off, off + 1000 - i)));
      }
      hs.forEach((h, i) => {
        const parts: number[] = [];
        for (let off = 0; off < src.length; off += 1000) parts.push(...src.subarray(off, off + 1000 - i));
        assertEqual(h.hex(), referenceSha256Hex(Uint8Array.from(parts)), `hasher ${i}`);
      });
    },
  },
  {
    name: "sha256: 16 MiB of pseudo-random bytes",
    run({ core }) {
      const data = pseudoRandomBytes(16 * 2 ** 20, 0x5eed);
      assertEqual(core.sha256().update(data).hex(), RANDOM_16MIB, "one update");
      const h = core.sha256();
      for (let off = 0; off < data.length; off += 65_521) h.update(data.subarray(off, off + 65_521));
      assertEqual(h.hex(), RANDOM_16MIB, "65,521-byte updates");
      assertEqual(referenceSha256Hex(data), RANDOM_16MIB, "reference");
    },
  },
  {
    name: "sha256: using a finished hash throws HASH_BAD_USAGE",
    async run({ core }) {
      const h = core.sha256().update(ascii("abc"));
      assertEqual(h.hex(), NIST[1]![2], "abc");
      await assertThrowsCode(() => h.update(ascii("more")), "HASH_BAD_USAGE", "update after hex");
      await assertThrowsCode(() => h.digest(), "HASH_BAD_USAGE", "digest after hex");
      await assertThrowsCode(() => h.hex(), "HASH_BAD_USAGE", "hex after hex");
      const g = core.sha256();
      assert(g.digest().length === 32, "digest of nothing");
      await assertThrowsCode(() => g.update(new Uint8Array(1)), "HASH_BAD_USAGE", "update after digest");
      await assertThrowsCode(() => g.hex(), "HASH_BAD_USAGE", "hex after digest");
      assertEqual(core.sha256().update(ascii("abc")).hex(), NIST[1]![2], "a new hasher still works");
    },
  },
];
