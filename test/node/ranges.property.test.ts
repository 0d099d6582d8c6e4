/**
 * Property tests (fast-check, seeded, fixed numRuns) of range arithmetic: coalescing byte ranges
 * for HTTP (src/source/coalesce.ts) and the compressed chunk ranges of a zstd:chunked TOC
 * (src/layer/ranges.ts). Generated inputs, shrunk to a minimal counterexample on failure.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LayerkitError } from "../../src/errors.js";
import { assignChunkRanges, type PendingFile } from "../../src/layer/ranges.js";
import { coalesceRanges, splitSpans } from "../../src/source/coalesce.js";

const params = { seed: 18, numRuns: 300 };
const range = fc.record({ offset: fc.nat(5000), length: fc.nat(700) });

describe("coalesceRanges / splitSpans", () => {
  it("every non-empty range lies in exactly one span, empty ones in none; spans sorted; cut-out bytes are the range's", () => {
    fc.assert(
      fc.property(fc.array(range, { maxLength: 40 }), fc.nat(300), fc.option(fc.integer({ min: 1, max: 2000 })), (ranges, gap, max) => {
        const spans = coalesceRanges(ranges, max === null ? { gap } : { gap, maxLength: max });
        const owner = new Map<number, number>();
        spans.forEach((s, k) => {
          for (const i of s.members) {
            expect(owner.has(i), `range ${i} in two spans`).toBe(false);
            owner.set(i, k);
            const r = ranges[i]!;
            expect(r.offset >= s.offset && r.offset + r.length <= s.offset + s.length).toBe(true);
          }
          if (k > 0) expect(s.offset).toBeGreaterThanOrEqual(spans[k - 1]!.offset);
          // A span grows past maxLength only by holding one range that is that long itself.
          if (max !== null && s.members.length > 1) {
            expect(s.length).toBeLessThanOrEqual(Math.max(max, ...s.members.map((i) => ranges[i]!.length)));
          }
        });
        ranges.forEach((r, i) => expect(owner.has(i)).toBe(r.length > 0));
        if (max === null) {
          // Unbounded spans never overlap and keep more than `gap` bytes between them.
          for (let k = 1; k < spans.length; k++) {
            expect(spans[k]!.offset).toBeGreaterThan(spans[k - 1]!.offset + spans[k - 1]!.length + gap);
          }
        }
        const blob = Uint8Array.from({ length: 6000 }, (_, i) => (i * 7 + 3) & 0xff);
        const got = splitSpans(ranges, spans, spans.map((s) => blob.subarray(s.offset, s.offset + s.length)));
        ranges.forEach((r, i) => expect(got[i]).toEqual(blob.subarray(r.offset, r.offset + r.length)));
      }),
      params,
    );
  });
});

/** Files of 1–4 chunks at strictly increasing offsets, each file's endOffset its next file's start (exact layout). */
const layout = fc
  .array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 12 })
  .chain((chunksPerFile) => {
    const n = chunksPerFile.reduce((a, b) => a + b, 0);
    return fc.tuple(fc.constant(chunksPerFile), fc.array(fc.integer({ min: 1, max: 900 }), { minLength: n + 1, maxLength: n + 1 }));
  })
  .map(([chunksPerFile, gaps]) => {
    let at = 0;
    const starts = gaps.map((g) => (at += g));
    const payloadEnd = starts.pop()!;
    let k = 0;
    const files: PendingFile[] = chunksPerFile.map((c, f) => {
      const chunks = Array.from(
        { length: c },
        (_, i) => ({ offset: starts[k + i]!, fileOffset: i * 100, size: 100, zeros: false, innerOffset: 0 }),
      );
      k += c;
      return { index: f, name: `f${f}`, chunks };
    });
    files.forEach((f, i) => (f.endOffset = files[i + 1]?.chunks[0]?.offset ?? payloadEnd));
    return { files, payloadEnd };
  });

describe("assignChunkRanges (zstd:chunked)", () => {
  it("an exact layout: ranges are exact, non-empty, in order, tile the payload without overlap, end by payloadEnd", () => {
    fc.assert(
      fc.property(layout, ({ files, payloadEnd }) => {
        const ranges = assignChunkRanges(files, "zstd:chunked", payloadEnd).flat();
        let prev = files[0]!.chunks[0]!.offset;
        for (const r of ranges) {
          expect(r.exact).toBe(true);
          expect(r.offset).toBe(prev); // each range starts where the last ended: covering, no overlap
          expect(r.end).toBeGreaterThan(r.offset);
          prev = r.end;
        }
        expect(prev).toBe(payloadEnd);
      }),
      params,
    );
  });

  it("without endOffset a file's last chunk is inexact and still ends by the next payload or the TOC", () => {
    fc.assert(
      fc.property(layout, ({ files, payloadEnd }) => {
        for (const f of files) delete f.endOffset;
        const out = assignChunkRanges(files, "zstd:chunked", payloadEnd);
        out.forEach((rs, i) => {
          const last = rs[rs.length - 1]!;
          expect(last.exact).toBe(false);
          expect(last.end).toBe(files[i + 1]?.chunks[0]?.offset ?? payloadEnd);
        });
      }),
      params,
    );
  });

  it("offsets out of order, or past the TOC, are a typed error (BAD_TOC / OUT_OF_RANGE), never a wrong range", () => {
    fc.assert(
      fc.property(layout, fc.nat(), fc.integer({ min: -900, max: 900 }), ({ files, payloadEnd }, pick, delta) => {
        const all = files.flatMap((f) => f.chunks);
        const c = all[pick % all.length]!;
        c.offset = Math.max(0, c.offset + delta);
        let out;
        try {
          out = assignChunkRanges(files, "zstd:chunked", payloadEnd).flat();
        } catch (e) {
          expect(e).toBeInstanceOf(LayerkitError);
          expect(["BAD_TOC", "OUT_OF_RANGE"]).toContain((e as LayerkitError).code);
          return;
        }
        // Accepted: the layout must still be sound.
        for (let i = 0; i < out.length; i++) {
          expect(out[i]!.end).toBeGreaterThan(out[i]!.offset);
          expect(out[i]!.end).toBeLessThanOrEqual(payloadEnd);
          if (i > 0) expect(out[i]!.offset).toBeGreaterThanOrEqual(out[i - 1]!.end);
        }
      }),
      params,
    );
  });
});
