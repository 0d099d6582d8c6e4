/**
 * Planning the requests for a set of byte ranges of one blob by cost ({@link CostModel}): which
 * neighbouring ranges to fetch as one span (the gap is cheaper than the part or request it saves),
 * how spans group into multi-range requests (at most 1024 ranges each, c/storage's limit, fewer
 * once a server refused), and whether one streamed request over the whole payload is cheaper
 * than all of that (then the ranges are picked out of it as it streams).
 *
 * Ranges must come in ascending offset order (overlaps allowed), as a seekable layer's TOC lists
 * its payloads; that keeps every request and the streamed alternative forward-only.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { type ByteRange, checkRangeArgs } from "./blob-source.js";
import type { CoalescedSpan } from "./coalesce.js";
import { CostModel } from "./cost-model.js";

/** c/storage's cap on ranges per request. */
export const MAX_RANGES_PER_REQUEST = 1024;
/** Bytes each part of a multipart/byteranges answer costs besides its data (boundary and headers). */
export const PART_OVERHEAD = 96;

export interface PlanOptions {
  model?: CostModel;
  /** Most ranges in one request (default {@link MAX_RANGES_PER_REQUEST}; 1: the server takes single ranges only). */
  maxRangesPerRequest?: number;
  /** Most span bytes one request holds (default 16 MiB: bounds memory; a bigger single range is its own request). */
  maxRequestBytes?: number;
  /** Requests in flight at once (default 4). */
  parallel?: number;
  /** The blob size, for the estimate of a full pull. */
  blobSize?: number;
}

export interface RangePlan {
  /** `ranges`: the requests below; `stream`: one request from the first range's start to the last's end. */
  mode: "ranges" | "stream";
  /** Spans per request, in order (mode `stream`: one request of one span). */
  requests: CoalescedSpan[][];
  /** Bytes the plan fetches. */
  bytes: number;
  /** Estimated ms of the plan, and of a full pull of the blob (when its size is known). */
  estimateMs: number;
  fullPullMs?: number;
}

/** Plans `ranges` (ascending by offset); see the module doc. */
export function planRanges(ranges: readonly ByteRange[], options: PlanOptions = {}): RangePlan {
  const model = options.model ?? new CostModel();
  const maxRanges = Math.max(1, Math.min(MAX_RANGES_PER_REQUEST, options.maxRangesPerRequest ?? MAX_RANGES_PER_REQUEST));
  const maxBytes = Math.max(1, options.maxRequestBytes ?? 16 * 1024 * 1024);
  const parallel = Math.max(1, options.parallel ?? 4);
  const base = disjointSpans(ranges);
  const full = options.blobSize === undefined ? {} : { fullPullMs: model.estimate(1, options.blobSize) };
  if (base.length === 0) return { mode: "ranges", requests: [], bytes: 0, estimateMs: 0, ...full };

  // Merging gaps smallest first: try every count of merges and keep the cheapest by the model.
  const gaps = base.slice(1).map((s, i) => ({ at: i, bytes: s.offset - (base[i]!.offset + base[i]!.length) }));
  const order = [...gaps].sort((a, b) => a.bytes - b.bytes || a.at - b.at);
  let best = { k: 0, ms: Infinity };
  let added = 0;
  const dataBytes = base.reduce((n, s) => n + s.length, 0);
  for (let k = 0; k <= order.length; k++) {
    if (k > 0) added += order[k - 1]!.bytes;
    const parts = base.length - k;
    const bytes = dataBytes + added;
    const requests = Math.max(Math.ceil(parts / maxRanges), Math.ceil(bytes / maxBytes));
    const ms = model.estimate(requests, bytes + (maxRanges > 1 ? parts * PART_OVERHEAD : 0), parallel);
    if (ms < best.ms) best = { k, ms };
  }
  const merged = new Set(order.slice(0, best.k).map((g) => g.at));
  const spans: CoalescedSpan[] = [];
  base.forEach((s, i) => {
    const last = spans[spans.length - 1];
    if (last && merged.has(i - 1)) {
      last.length = s.offset + s.length - last.offset;
      last.members.push(...s.members);
    } else spans.push({ offset: s.offset, length: s.length, members: [...s.members] });
  });
  const requests = groupRequests(spans, maxRanges, maxBytes);
  const bytes = spans.reduce((n, s) => n + s.length, 0);
  const partial: RangePlan = {
    mode: "ranges",
    requests,
    bytes,
    estimateMs: model.estimate(requests.length, bytes + (maxRanges > 1 ? spans.length * PART_OVERHEAD : 0), parallel),
    ...full,
  };
  // The streamed alternative: one request over everything, gaps skipped as they pass.
  const first = base[0]!;
  const end = base[base.length - 1]!.offset + base[base.length - 1]!.length;
  const streamMs = model.estimate(1, end - first.offset);
  if (streamMs < partial.estimateMs) {
    const one: CoalescedSpan = { offset: first.offset, length: end - first.offset, members: base.flatMap((s) => s.members) };
    return { mode: "stream", requests: [[one]], bytes: one.length, estimateMs: streamMs, ...full };
  }
  return partial;
}

/** Overlapping or touching ranges as one span each; BAD_ARGUMENT unless ascending by offset. */
function disjointSpans(ranges: readonly ByteRange[]): CoalescedSpan[] {
  const spans: CoalescedSpan[] = [];
  let prev = -1;
  ranges.forEach((r, i) => {
    checkRangeArgs(r.offset, r.length);
    if (r.offset < prev) {
      throw new LayerkitError("BAD_ARGUMENT", `ranges must ascend by offset: ${r.offset} after ${prev}`, { index: i, offset: r.offset });
    }
    prev = r.offset;
    if (r.length === 0) return;
    const last = spans[spans.length - 1];
    if (last && r.offset <= last.offset + last.length) {
      last.length = Math.max(last.length, r.offset + r.length - last.offset);
      last.members.push(i);
    } else spans.push({ offset: r.offset, length: r.length, members: [i] });
  });
  return spans;
}

/** Consecutive spans into requests of at most `maxRanges` spans and `maxBytes` bytes (a bigger span alone). */
function groupRequests(spans: readonly CoalescedSpan[], maxRanges: number, maxBytes: number): CoalescedSpan[][] {
  const out: CoalescedSpan[][] = [];
  let cur: CoalescedSpan[] = [];
  let bytes = 0;
  for (const s of spans) {
    if (cur.length > 0 && (cur.length >= maxRanges || bytes + s.length > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(s);
    bytes += s.length;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
