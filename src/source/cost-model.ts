/**
 * What a request to a blob costs: one round trip plus its bytes at the link's throughput. The
 * estimates start from documented defaults (50 ms round trip, 100 Mbit/s) and are learnt from the
 * requests made so far (exponentially weighted), so a range planner coalesces by the link it is
 * on instead of a fixed gap.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";

/** Default round trip before any request was measured, in ms. */
export const DEFAULT_RTT_MS = 50;
/** Default throughput before any request was measured: 100 Mbit/s, in bytes per ms. */
export const DEFAULT_BYTES_PER_MS = 12_500;
/** Bytes a request must carry before its transfer time says anything about throughput. */
const MIN_THROUGHPUT_SAMPLE = 64 * 1024;
/** Weight of a new sample. */
const ALPHA = 0.3;

export interface CostModelOptions {
  rttMs?: number;
  bytesPerMs?: number;
}

/** One finished request: time to its first byte, total time, bytes received, requests in flight alongside it. */
export interface RequestSample {
  firstByteMs: number;
  totalMs: number;
  bytes: number;
  /** Requests sharing the link meanwhile (itself included; default 1). */
  concurrent?: number;
}

export class CostModel {
  #rtt: number;
  #thr: number;

  constructor(options: CostModelOptions = {}) {
    this.#rtt = positive(options.rttMs ?? DEFAULT_RTT_MS, "rttMs");
    this.#thr = positive(options.bytesPerMs ?? DEFAULT_BYTES_PER_MS, "bytesPerMs");
  }

  get rttMs(): number {
    return this.#rtt;
  }

  get bytesPerMs(): number {
    return this.#thr;
  }

  /** Bytes that cost as much time as one round trip: a gap smaller than this is cheaper to fetch than a request. */
  get breakEvenBytes(): number {
    return Math.round(this.#rtt * this.#thr);
  }

  /** Learns from a finished request. */
  observe(s: RequestSample): void {
    if (!(s.firstByteMs >= 0 && s.totalMs >= s.firstByteMs && s.bytes >= 0)) return;
    this.#rtt = (1 - ALPHA) * this.#rtt + ALPHA * Math.max(0.01, s.firstByteMs);
    const transfer = s.totalMs - s.firstByteMs;
    if (s.bytes >= MIN_THROUGHPUT_SAMPLE && transfer > 0) {
      // Requests in flight together share the link: the link carries `concurrent` times one's rate.
      const sample = (s.bytes / transfer) * Math.max(1, s.concurrent ?? 1);
      this.#thr = (1 - ALPHA) * this.#thr + ALPHA * sample;
    }
  }

  /** Estimated ms for `requests` requests carrying `bytes` in all, `parallel` at a time over one shared link. */
  estimate(requests: number, bytes: number, parallel = 1): number {
    if (requests === 0) return 0;
    return Math.ceil(requests / Math.max(1, parallel)) * this.#rtt + bytes / this.#thr;
  }
}

function positive(v: number, name: string): number {
  if (!(Number.isFinite(v) && v > 0)) throw new LayerkitError("BAD_ARGUMENT", `invalid ${name} ${v}`, { [name]: v });
  return v;
}
