import { describe, expect, it } from "vitest";
import { CostModel, DEFAULT_BYTES_PER_MS, DEFAULT_RTT_MS } from "../../src/source/cost-model.js";
import { MAX_RANGES_PER_REQUEST, planRanges } from "../../src/source/range-planner.js";

const KiB = 1024;
const MiB = 1024 * KiB;

describe("cost model", () => {
  it("starts from the documented defaults and learns round trip and throughput", () => {
    const m = new CostModel();
    expect(m.rttMs).toBe(DEFAULT_RTT_MS);
    expect(m.bytesPerMs).toBe(DEFAULT_BYTES_PER_MS);
    for (let i = 0; i < 30; i++) m.observe({ firstByteMs: 2, totalMs: 12, bytes: 1 * MiB });
    expect(m.rttMs).toBeCloseTo(2, 1);
    expect(m.bytesPerMs).toBeCloseTo(MiB / 10, -2);
    expect(m.breakEvenBytes).toBe(Math.round(m.rttMs * m.bytesPerMs));
  });

  it("refuses nonsense defaults", () => {
    expect(() => new CostModel({ rttMs: 0 })).toThrow(/rttMs/);
  });
});

describe("planRanges", () => {
  it("merges a gap cheaper than a request and keeps one dearer than a request apart (single-range server)", () => {
    const model = new CostModel({ rttMs: 20, bytesPerMs: 12_500 }); // 250 KB break-even
    const near = planRanges([{ offset: 0, length: 10 * KiB }, { offset: 110 * KiB, length: 10 * KiB }], {
      model,
      maxRangesPerRequest: 1,
      parallel: 1,
    });
    expect(near.requests.length).toBe(1);
    expect(near.bytes).toBe(120 * KiB);
    const far = planRanges([{ offset: 0, length: 10 * KiB }, { offset: 10 * MiB, length: 10 * KiB }, { offset: 30 * MiB, length: 4 }], {
      model,
      maxRangesPerRequest: 1,
      parallel: 1,
    });
    expect(far.mode).toBe("ranges");
    expect(far.requests.length).toBe(3);
    expect(far.bytes).toBe(20 * KiB + 4);
  });

  it("the same gap is merged on a slow round trip and not on a fast one", () => {
    const ranges = [{ offset: 0, length: 1000 }, { offset: 201_000, length: 1000 }];
    const slow = planRanges(ranges, { model: new CostModel({ rttMs: 100, bytesPerMs: 12_500 }), maxRangesPerRequest: 1, parallel: 1 });
    const fast = planRanges(ranges, { model: new CostModel({ rttMs: 1, bytesPerMs: 12_500 }), maxRangesPerRequest: 1, parallel: 1 });
    expect(slow.bytes).toBe(202_000);
    expect(fast.bytes).toBe(2000);
    expect(fast.requests.length).toBe(2);
  });

  it("never puts more than 1024 ranges in a request", () => {
    const ranges = Array.from({ length: 3000 }, (_, i) => ({ offset: i * 10 * MiB, length: 100 }));
    const plan = planRanges(ranges, { model: new CostModel({ rttMs: 1, bytesPerMs: 1000 }) });
    expect(plan.mode).toBe("ranges");
    expect(Math.max(...plan.requests.map((r) => r.length))).toBe(MAX_RANGES_PER_REQUEST);
    expect(plan.requests.length).toBe(3);
    expect(plan.requests.flat().flatMap((s) => s.members).sort((a, b) => a - b)).toEqual(ranges.map((_, i) => i));
  });

  it("chooses one streamed request when that is cheaper than the ranges", () => {
    // Most of the payload wanted, scattered: on a fast link the gaps cost less than the requests.
    const ranges = Array.from({ length: 200 }, (_, i) => ({ offset: i * 100 * KiB, length: 90 * KiB }));
    const plan = planRanges(ranges, {
      model: new CostModel({ rttMs: 20, bytesPerMs: 125_000 }),
      maxRangesPerRequest: 1,
      parallel: 4,
      maxRequestBytes: 1 * MiB,
      blobSize: 20 * MiB,
    });
    expect(plan.mode).toBe("stream");
    expect(plan.requests).toEqual([[{ offset: 0, length: 199 * 100 * KiB + 90 * KiB, members: ranges.map((_, i) => i) }]]);
    expect(plan.estimateMs).toBeLessThan(plan.fullPullMs!);
  });

  it("merges overlapping ranges, skips empty ones and refuses descending ones", () => {
    const plan = planRanges([{ offset: 0, length: 10 }, { offset: 0, length: 10 }, { offset: 5, length: 0 }, { offset: 5, length: 20 }]);
    expect(plan.requests).toEqual([[{ offset: 0, length: 25, members: [0, 1, 3] }]]);
    expect(() => planRanges([{ offset: 10, length: 1 }, { offset: 0, length: 1 }])).toThrow(/ascend/);
  });

  it("bounds the bytes of a request", () => {
    const ranges = Array.from({ length: 8 }, (_, i) => ({ offset: i * 64 * MiB, length: 4 * MiB }));
    const plan = planRanges(ranges, { maxRequestBytes: 16 * MiB });
    expect(plan.mode).toBe("ranges");
    expect(plan.requests.length).toBe(2);
    expect(plan.requests.every((r) => r.reduce((n, s) => n + s.length, 0) <= 16 * MiB)).toBe(true);
  });
});
