import { describe, expect, it } from "vitest";
import { RollSum, ROLLSUM_BITS, WINDOW_SIZE } from "../../src/formats/zstd-chunked/rollsum.js";
import { randomBytes } from "../fixtures/tars.js";

/** Straight transcription of the algorithm in docs/formats/zstd-chunked.md §5 with BigInt arithmetic mod 2^32. */
class RefRollSum {
  s1 = 64n * 31n;
  s2 = 64n * 63n * 31n;
  window = new Array<bigint>(64).fill(0n);
  pos = 0;
  roll(c: number): void {
    const drop = this.window[this.pos]!;
    this.s1 = (this.s1 + BigInt(c) - drop) & 0xffffffffn;
    this.s2 = (this.s2 + this.s1 - 64n * (drop + 31n)) & 0xffffffffn;
    this.window[this.pos] = BigInt(c);
    this.pos = (this.pos + 1) & 63;
  }
  split(): boolean {
    return (this.s2 & 0xffffn) === 0xffffn;
  }
}

describe("rollsum", () => {
  it("starts at s1 = 1984, s2 = 124992 with a 64-byte window and 16 split bits", () => {
    const r = new RollSum();
    expect(r.s1).toBe(1984);
    expect(r.s2).toBe(124992);
    expect(WINDOW_SIZE).toBe(64);
    expect(ROLLSUM_BITS).toBe(16);
  });

  it("matches the reference roll by roll, split tests included", () => {
    const data = randomBytes(200_000, 5);
    const a = new RollSum();
    const b = new RefRollSum();
    let splits = 0;
    let firstMismatch = -1;
    for (let i = 0; i < data.length; i++) {
      a.roll(data[i]!);
      b.roll(data[i]!);
      if (firstMismatch < 0 && (a.s1 !== Number(b.s1) || a.s2 !== Number(b.s2) || a.onSplit() !== b.split())) firstMismatch = i;
      if (a.onSplit()) splits++;
    }
    expect(firstMismatch).toBe(-1);
    expect(a.s2).toBe(Number(b.s2));
    expect(splits).toBeGreaterThan(0);
    expect(a.digest()).toBe(((Number(b.s1) << 16) | (Number(b.s2) & 0xffff)) >>> 0);
  });

  it("rollZeros(n) equals n times roll(0), for short and huge runs", () => {
    for (const n of [0, 1, 63, 64, 65, 1000, 123_457, 5_000_000]) {
      const a = new RollSum();
      const b = new RollSum();
      const pre = randomBytes(100, n + 1);
      for (const c of pre) {
        a.roll(c);
        b.roll(c);
      }
      a.rollZeros(n);
      for (let i = 0; i < n; i++) b.roll(0);
      expect([a.s1, a.s2, a.wofs, Array.from(a.window)]).toEqual([b.s1, b.s2, b.wofs, Array.from(b.window)]);
    }
  });

  it("scan() stops before zero bytes and after splits exactly like rolling byte by byte", () => {
    const data = randomBytes(300_000, 9);
    for (let i = 0; i < data.length; i += 5000) data[i] = 0;
    const a = new RollSum();
    const b = new RefRollSum();
    let i = 0;
    while (i < data.length) {
      const stop = a.scan(data, i, data.length);
      for (let k = i; k < stop; k++) b.roll(data[k]!);
      if (a.split) expect(b.split()).toBe(true);
      else if (stop < data.length) expect(data[stop]).toBe(0);
      expect(a.s2).toBe(Number(b.s2));
      if (stop < data.length && data[stop] === 0 && !a.split) {
        const rolled = a.scanZeros(1);
        b.roll(0);
        expect(rolled).toBe(1);
        expect(a.split).toBe(b.split());
        i = stop + 1;
      } else i = stop;
    }
  });
});
