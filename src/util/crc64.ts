/**
 * CRC-64/ISO exactly as Go's `hash/crc64` with `crc64.MakeTable(crc64.ISO)` (what tar-split uses):
 * reflected polynomial 0xD800000000000000, initial value ~0, final xor ~0, `Sum()` big-endian.
 * Check value: "123456789" → 0xB90956C775A41001.
 *
 * BigInt-free: the 64-bit register is two 32-bit halves, updated slicing-by-8 over 8 pairs of
 * 256-entry tables.
 *
 * @module
 */

const POLY_HI = 0xd8000000;
const POLY_LO = 0x00000000;

/** Int32Array: every value the update loop touches stays an int32, so V8's optimized code never deopts on "lost precision". */
let tables: { hi: Int32Array; lo: Int32Array } | undefined;

/** Word loads below read the bytes in little-endian order; elsewhere every byte goes the slow way. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function buildTables(): { hi: Int32Array; lo: Int32Array } {
  const hi = new Uint32Array(8 * 256);
  const lo = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let h = 0;
    let l = n;
    for (let k = 0; k < 8; k++) {
      const bit = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (bit) {
        h = (h ^ POLY_HI) >>> 0;
        l = (l ^ POLY_LO) >>> 0;
      }
    }
    hi[n] = h;
    lo[n] = l;
  }
  for (let n = 0; n < 256; n++) {
    let h = hi[n]!;
    let l = lo[n]!;
    for (let k = 1; k < 8; k++) {
      // crc = T[crc & 0xff] ^ (crc >> 8)
      const idx = l & 0xff;
      const nl = ((l >>> 8) | (h << 24)) >>> 0;
      const nh = h >>> 8;
      l = (lo[idx]! ^ nl) >>> 0;
      h = (hi[idx]! ^ nh) >>> 0;
      hi[k * 256 + n] = h;
      lo[k * 256 + n] = l;
    }
  }
  return { hi: new Int32Array(hi.buffer), lo: new Int32Array(lo.buffer) };
}

/** An incremental CRC-64/ISO. */
export class Crc64 {
  // The register, pre-inverted (Go's `crc = ^crc` at entry and exit), as int32 bit patterns.
  #hi = -1;
  #lo = -1;

  /** Adds `data` to the checksum. */
  update(data: Uint8Array): this {
    const n = data.length;
    // Bytes up to a 4-byte boundary one at a time, then 8 bytes per step as two aligned 32-bit
    // loads (a fraction of the cost of eight byte loads), then the tail one at a time.
    const lead = LITTLE_ENDIAN && n >= 64 ? Math.min(n, (4 - (data.byteOffset & 3)) & 3) : n;
    if (lead > 0) this.#bytes(data, 0, lead);
    if (lead === n) return this;
    const words = (n - lead) >>> 3;
    this.#words(new Int32Array(data.buffer, data.byteOffset + lead, words * 2));
    const tail = lead + words * 8;
    if (tail < n) this.#bytes(data, tail, n);
    return this;
  }

  // The byte and word loops are separate functions so each keeps its own type feedback: as one
  // function, V8's optimized code kept deoptimizing on whichever loop had not run yet.
  #bytes(data: Uint8Array, from: number, to: number): void {
    const { hi: TH, lo: TL } = (tables ??= buildTables());
    let h = this.#hi;
    let l = this.#lo;
    for (let i = from; i < to; i++) {
      const idx = (l ^ data[i]!) & 0xff;
      const nl = (l >>> 8) | (h << 24);
      const nh = h >>> 8;
      l = TL[idx]! ^ nl;
      h = TH[idx]! ^ nh;
    }
    this.#hi = h;
    this.#lo = l;
  }

  #words(w: Int32Array): void {
    const { hi: TH, lo: TL } = (tables ??= buildTables());
    let h = this.#hi;
    let l = this.#lo;
    for (let k = 0; k < w.length; k += 2) {
      const a = l ^ w[k]!;
      const b = h ^ w[k + 1]!;
      const i7 = 7 * 256 + (a & 0xff);
      const i6 = 6 * 256 + ((a >>> 8) & 0xff);
      const i5 = 5 * 256 + ((a >>> 16) & 0xff);
      const i4 = 4 * 256 + (a >>> 24);
      const i3 = 3 * 256 + (b & 0xff);
      const i2 = 2 * 256 + ((b >>> 8) & 0xff);
      const i1 = 256 + ((b >>> 16) & 0xff);
      const i0 = b >>> 24;
      h = TH[i7]! ^ TH[i6]! ^ TH[i5]! ^ TH[i4]! ^ TH[i3]! ^ TH[i2]! ^ TH[i1]! ^ TH[i0]!;
      l = TL[i7]! ^ TL[i6]! ^ TL[i5]! ^ TL[i4]! ^ TL[i3]! ^ TL[i2]! ^ TL[i1]! ^ TL[i0]!;
    }
    this.#hi = h;
    this.#lo = l;
  }

  /** The checksum as 8 big-endian bytes (Go's `Sum(nil)`); the CRC can still be updated. */
  sum(): Uint8Array {
    const out = new Uint8Array(8);
    const h = ~this.#hi >>> 0;
    const l = ~this.#lo >>> 0;
    out[0] = h >>> 24;
    out[1] = (h >>> 16) & 0xff;
    out[2] = (h >>> 8) & 0xff;
    out[3] = h & 0xff;
    out[4] = l >>> 24;
    out[5] = (l >>> 16) & 0xff;
    out[6] = (l >>> 8) & 0xff;
    out[7] = l & 0xff;
    return out;
  }

  /** The checksum as 16 lower-case hex digits. */
  hex(): string {
    const h = ~this.#hi >>> 0;
    const l = ~this.#lo >>> 0;
    return h.toString(16).padStart(8, "0") + l.toString(16).padStart(8, "0");
  }

  /** Starts over. */
  reset(): this {
    this.#hi = -1;
    this.#lo = -1;
    return this;
  }
}

/** CRC-64/ISO of `data` as 8 big-endian bytes. */
export function crc64(data: Uint8Array): Uint8Array {
  return new Crc64().update(data).sum();
}
