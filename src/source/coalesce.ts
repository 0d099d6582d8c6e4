/**
 * Coalescing byte ranges: ranges that overlap or lie closer than a gap threshold are fetched as
 * one span, and the asked-for pieces are cut out of it afterwards. Trades a few wasted bytes for
 * fewer round trips, which is what costs most against a remote blob.
 *
 * @module
 */
import { type ByteRange, checkRangeArgs } from "./blob-source.js";

/** One span to fetch and the ranges (indices into the caller's list) it serves. */
export interface CoalescedSpan extends ByteRange {
  members: number[];
}

export interface CoalesceOptions {
  /** Ranges separated by at most this many bytes merge (default 0: only touching/overlapping). */
  gap?: number;
  /** A merged span never grows past this many bytes (default unbounded); bigger single ranges stay whole. */
  maxLength?: number;
}

/**
 * Groups `ranges` into spans sorted by offset. Empty ranges belong to no span (they need no
 * bytes). Every non-empty range is fully inside exactly one span.
 */
export function coalesceRanges(ranges: readonly ByteRange[], options: CoalesceOptions = {}): CoalescedSpan[] {
  const gap = options.gap ?? 0;
  const maxLength = options.maxLength ?? Number.MAX_SAFE_INTEGER;
  const order: number[] = [];
  ranges.forEach((r, i) => {
    checkRangeArgs(r.offset, r.length);
    if (r.length > 0) order.push(i);
  });
  order.sort((a, b) => ranges[a]!.offset - ranges[b]!.offset || a - b);
  const spans: CoalescedSpan[] = [];
  let cur: CoalescedSpan | undefined;
  for (const i of order) {
    const r = ranges[i]!;
    const end = r.offset + r.length;
    if (cur) {
      const curEnd = cur.offset + cur.length;
      const newEnd = Math.max(curEnd, end);
      if (r.offset <= curEnd + gap && (newEnd - cur.offset <= maxLength || end <= curEnd)) {
        cur.length = newEnd - cur.offset;
        cur.members.push(i);
        continue;
      }
    }
    cur = { offset: r.offset, length: r.length, members: [i] };
    spans.push(cur);
  }
  return spans;
}

/** Cuts each range out of the bytes fetched for its span; results follow the order of `ranges`. */
export function splitSpans(ranges: readonly ByteRange[], spans: readonly CoalescedSpan[], spanBytes: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = ranges.map(() => new Uint8Array(0));
  spans.forEach((span, s) => {
    const bytes = spanBytes[s]!;
    for (const i of span.members) {
      const r = ranges[i]!;
      out[i] = bytes.subarray(r.offset - span.offset, r.offset - span.offset + r.length);
    }
  });
  return out;
}
