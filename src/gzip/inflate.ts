/**
 * A raw DEFLATE (RFC 1951) decoder written for bounded, exact decompression of gzip members:
 *
 * - It stops exactly at the end of the final block and hands back the unused input bytes, so the
 *   caller knows where a member's trailer (and the next member) starts.
 * - Output is bounded: growing the output past `limit` bytes throws, so a crafted member cannot
 *   make it allocate more than about twice the limit.
 * - It is strict where zlib is strict: over-subscribed or incomplete Huffman codes, stored-block
 *   LEN/NLEN mismatch, invalid symbols and distances beyond the produced data are errors.
 * - Streaming works by block: a block is decoded only when its input is all there; if input runs
 *   out inside a block the block is retried later from its start (with at least twice the input,
 *   so the retry cost is amortised).
 *
 * Errors are {@link LayerkitError}s: `GZIP_CORRUPT` for malformed data, `TRUNCATED` when the input
 * ended inside the stream, and the caller's limit code when the output limit is exceeded.
 *
 * @module
 */
import { type ErrorCode, LayerkitError } from "../errors.js";

/** Thrown internally when a block needs more input than there is; never escapes this module. */
const NEED_INPUT: unique symbol = Symbol("need input");

const LEN_BASE = new Uint16Array([
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
]);
const LEN_EXTRA = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]);
const DIST_BASE = new Uint16Array([
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
]);
const DIST_EXTRA = new Uint8Array([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]);
const CL_ORDER = new Uint8Array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

const WINDOW = 32768;
/** run() returns after a block once this much output is waiting, so callers can take it. */
const OUTPUT_BATCH = 1 << 18;

function corrupt(message: string, details: Record<string, unknown> = {}): LayerkitError {
  return new LayerkitError("GZIP_CORRUPT", `corrupt deflate data: ${message}`, details);
}

/**
 * A canonical Huffman code as one lookup table indexed by the next `bits` input bits (LSB first):
 * entry = symbol << 4 | code length; 0 = no code.
 */
interface Huffman {
  table: Uint16Array;
  bits: number;
}

const enum CodeKind {
  CodeLengths,
  LitLen,
  Dist,
}

function buildHuffman(lengths: Uint8Array, n: number, kind: CodeKind): Huffman {
  const count = new Uint16Array(16);
  for (let i = 0; i < n; i++) count[lengths[i]!]!++;
  count[0] = 0;
  let max = 15;
  while (max > 0 && count[max] === 0) max--;
  if (max === 0) {
    // No codes at all: legal for a distance code of a block that uses no distances (zlib agrees).
    if (kind === CodeKind.Dist) return { table: new Uint16Array(2), bits: 1 };
    throw corrupt(kind === CodeKind.LitLen ? "empty literal/length code" : "empty code-length code");
  }
  let left = 1;
  for (let len = 1; len <= 15; len++) {
    left = (left << 1) - count[len]!;
    if (left < 0) throw corrupt("over-subscribed Huffman code");
  }
  // Incomplete codes are only legal as a single one-bit code (zlib's rule).
  if (left > 0 && (kind === CodeKind.CodeLengths || max !== 1)) throw corrupt("incomplete Huffman code");
  const next = new Uint16Array(16);
  let code = 0;
  for (let len = 1; len <= max; len++) {
    code = (code + count[len - 1]!) << 1;
    next[len] = code;
  }
  const size = 1 << max;
  const table = new Uint16Array(size);
  for (let sym = 0; sym < n; sym++) {
    const len = lengths[sym]!;
    if (len === 0) continue;
    let c = next[len]!++;
    let rev = 0;
    for (let k = 0; k < len; k++) {
      rev = (rev << 1) | (c & 1);
      c >>>= 1;
    }
    const entry = (sym << 4) | len;
    for (let i = rev; i < size; i += 1 << len) table[i] = entry;
  }
  return { table, bits: max };
}

let fixedLit: Huffman | undefined;
let fixedDist: Huffman | undefined;
function fixedTables(): [Huffman, Huffman] {
  if (!fixedLit || !fixedDist) {
    const l = new Uint8Array(288);
    l.fill(8, 0, 144);
    l.fill(9, 144, 256);
    l.fill(7, 256, 280);
    l.fill(8, 280, 288);
    fixedLit = buildHuffman(l, 288, CodeKind.LitLen);
    const d = new Uint8Array(32).fill(5); // 30 and 31 complete the code; decoding them is an error
    fixedDist = buildHuffman(d, 32, CodeKind.Dist);
  }
  return [fixedLit, fixedDist];
}

/**
 * A byte queue the gzip layer and the inflater share: appended input, a read position, and
 * helpers to read header/trailer bytes.
 */
export class InputQueue {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  end = 0;
  #owned = false;
  /** Total bytes consumed (read past) so far. */
  consumedBefore = 0;

  get available(): number {
    return this.end - this.pos;
  }

  /** Bytes consumed from the start of the stream up to the current position. */
  get consumed(): number {
    return this.consumedBefore + this.pos;
  }

  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.pos === this.end) {
      // Nothing pending: adopt the chunk without copying.
      this.consumedBefore += this.pos;
      this.buf = chunk;
      this.pos = 0;
      this.end = chunk.length;
      this.#owned = false;
      return;
    }
    const pending = this.end - this.pos;
    if (this.#owned && this.end + chunk.length <= this.buf.length) {
      this.buf.set(chunk, this.end);
      this.end += chunk.length;
      return;
    }
    const cap = Math.max(pending + chunk.length, Math.min(this.buf.length * 2, pending * 2 + chunk.length), 65536);
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(this.pos, this.end));
    nb.set(chunk, pending);
    this.consumedBefore += this.pos;
    this.buf = nb;
    this.pos = 0;
    this.end = pending + chunk.length;
    this.#owned = true;
  }

  byteAt(i: number): number {
    return this.buf[this.pos + i]!;
  }

  /** A view of the next `n` bytes (caller checked availability). */
  peek(n: number): Uint8Array {
    return this.buf.subarray(this.pos, this.pos + n);
  }

  skip(n: number): void {
    this.pos += n;
  }

  /**
   * Puts back `bytes`, the last bytes read. They may have come from a buffer `append` already
   * replaced (the inflater's bit buffer holds up to 3 bytes read ahead), so they are re-inserted.
   */
  unread(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n === 0) return;
    if (this.pos >= n) {
      this.pos -= n;
      return;
    }
    const nb = new Uint8Array(n + this.end - this.pos);
    nb.set(bytes);
    nb.set(this.buf.subarray(this.pos, this.end), n);
    this.consumedBefore += this.pos - n;
    this.buf = nb;
    this.pos = 0;
    this.end = nb.length;
    this.#owned = true;
  }
}

/** Raw DEFLATE decoder for one stream; see the module doc. */
export class RawInflater {
  readonly #in: InputQueue;
  readonly #limit: number;
  readonly #limitCode: ErrorCode;
  #bb = 0;
  #bitcnt = 0;
  #out: Uint8Array = new Uint8Array(WINDOW * 2);
  #op = 0;
  #outStart = 0;
  #flushed = 0;
  #lastBlock = false;
  #done = false;
  #waitFor = 0;

  /**
   * @param input shared input queue, positioned at the first byte of the DEFLATE stream
   * @param limit maximum number of output bytes (default: unbounded)
   * @param limitCode error code when the output exceeds `limit`
   */
  constructor(input: InputQueue, limit = Number.POSITIVE_INFINITY, limitCode: ErrorCode = "LIMIT_EXCEEDED") {
    this.#in = input;
    this.#limit = limit;
    this.#limitCode = limitCode;
  }

  /** True after the final block was decoded; the input queue is then positioned just past the stream. */
  get done(): boolean {
    return this.#done;
  }

  /** Output bytes produced so far. */
  get produced(): number {
    return this.#flushed + (this.#op - this.#outStart);
  }

  /**
   * Decodes as many complete blocks as the available input allows. Returns true when it stopped
   * because output is waiting (call {@link take} and run again), false when it is done or needs
   * more input. With `inputEnded`, running out of input is a TRUNCATED error.
   */
  run(inputEnded: boolean): boolean {
    const q = this.#in;
    while (!this.#done) {
      const startPos = q.pos;
      if (!inputEnded && this.#waitFor > 0 && q.end - startPos < this.#waitFor) return false;
      const bb = this.#bb;
      const bitcnt = this.#bitcnt;
      const op = this.#op;
      try {
        this.#block();
      } catch (e) {
        if (e !== NEED_INPUT) throw e;
        // Roll back to the block start and wait for (much) more input.
        q.pos = startPos;
        this.#bb = bb;
        this.#bitcnt = bitcnt;
        this.#op = op; // a buffer grown meanwhile holds the same bytes before `op`
        if (inputEnded) throw new LayerkitError("TRUNCATED", "deflate stream ends early (truncated input)", { consumed: q.consumed });
        this.#waitFor = Math.max(2 * (q.end - startPos), 4096);
        return false;
      }
      this.#waitFor = 0;
      this.#checkLimit();
      if (this.#lastBlock) {
        // Drop the padding bits and hand whole unread bytes back to the queue.
        const back = new Uint8Array(this.#bitcnt >> 3);
        for (let i = 0, b = this.#bb >>> (this.#bitcnt & 7); i < back.length; i++, b >>>= 8) back[i] = b & 255;
        q.unread(back);
        this.#bb = 0;
        this.#bitcnt = 0;
        this.#done = true;
        return false;
      }
      if (this.#op - this.#outStart >= OUTPUT_BATCH) return true;
    }
    return false;
  }

  /** Output decoded since the last call (a copy the caller owns). */
  take(): Uint8Array {
    const chunk = this.#out.slice(this.#outStart, this.#op);
    this.#flushed += chunk.length;
    this.#outStart = this.#op;
    if (this.#op > 3 * WINDOW) {
      // Keep only the 32 KiB window at the front.
      this.#out.copyWithin(0, this.#op - WINDOW, this.#op);
      this.#op = WINDOW;
      this.#outStart = WINDOW;
    }
    return chunk;
  }

  #checkLimit(): void {
    if (this.produced > this.#limit) {
      throw new LayerkitError(this.#limitCode, `decompressed data exceeds ${this.#limit} bytes`, { limit: this.#limit });
    }
  }

  #grow(need: number): Uint8Array {
    this.#checkLimit();
    const nb = new Uint8Array(Math.max(this.#out.length * 2, need));
    nb.set(this.#out.subarray(0, this.#op));
    this.#out = nb;
    return nb;
  }

  /** Decodes one block; throws NEED_INPUT when the input ends inside it. */
  #block(): void {
    const q = this.#in;
    let bb = this.#bb;
    let bitcnt = this.#bitcnt;
    const inp = q.buf;
    let ip = q.pos;
    const iend = q.end;
    while (bitcnt < 3) {
      if (ip >= iend) throw NEED_INPUT;
      bb |= inp[ip++]! << bitcnt;
      bitcnt += 8;
    }
    const final = bb & 1;
    const type = (bb >>> 1) & 3;
    bb >>>= 3;
    bitcnt -= 3;
    if (type === 0) {
      // Stored: byte-align, then LEN/NLEN (first from the whole bytes still in the bit buffer,
      // which may come from an input buffer already released), then raw bytes.
      bb >>>= bitcnt & 7;
      bitcnt -= bitcnt & 7;
      const hdr = [0, 0, 0, 0];
      for (let k = 0; k < 4; k++) {
        if (bitcnt >= 8) {
          hdr[k] = bb & 255;
          bb >>>= 8;
          bitcnt -= 8;
        } else {
          if (ip >= iend) throw NEED_INPUT;
          hdr[k] = inp[ip++]!;
        }
      }
      // At most 3 whole bytes were buffered, so the bit buffer is empty now.
      bb = 0;
      bitcnt = 0;
      const len = hdr[0]! | (hdr[1]! << 8);
      const nlen = hdr[2]! | (hdr[3]! << 8);
      if ((len ^ 0xffff) !== nlen) throw corrupt("stored block length check failed", { len, nlen });
      if (iend - ip < len) throw NEED_INPUT;
      let out = this.#out;
      if (this.#op + len > out.length) out = this.#grow(this.#op + len);
      out.set(inp.subarray(ip, ip + len), this.#op);
      this.#op += len;
      ip += len;
    } else if (type === 3) {
      throw corrupt("invalid block type 3");
    } else {
      let lit: Huffman;
      let dist: Huffman;
      if (type === 1) {
        [lit, dist] = fixedTables();
      } else {
        // Dynamic: HLIT, HDIST, HCLEN, then the code-length code and the two codes' lengths.
        while (bitcnt < 14) {
          if (ip >= iend) throw NEED_INPUT;
          bb |= inp[ip++]! << bitcnt;
          bitcnt += 8;
        }
        const hlit = (bb & 31) + 257;
        const hdist = ((bb >>> 5) & 31) + 1;
        const hclen = ((bb >>> 10) & 15) + 4;
        bb >>>= 14;
        bitcnt -= 14;
        if (hlit > 286 || hdist > 30) throw corrupt("too many length or distance symbols", { hlit, hdist });
        const cl = new Uint8Array(19);
        for (let i = 0; i < hclen; i++) {
          while (bitcnt < 3) {
            if (ip >= iend) throw NEED_INPUT;
            bb |= inp[ip++]! << bitcnt;
            bitcnt += 8;
          }
          cl[CL_ORDER[i]!] = bb & 7;
          bb >>>= 3;
          bitcnt -= 3;
        }
        const clc = buildHuffman(cl, 19, CodeKind.CodeLengths);
        const lens = new Uint8Array(hlit + hdist);
        const clMask = (1 << clc.bits) - 1;
        for (let i = 0; i < hlit + hdist;) {
          while (bitcnt < clc.bits && ip < iend) {
            bb |= inp[ip++]! << bitcnt;
            bitcnt += 8;
          }
          const e = clc.table[bb & clMask]!;
          const l = e & 15;
          if (l === 0 || l > bitcnt) {
            if (bitcnt >= clc.bits) throw corrupt("invalid code-length code");
            throw NEED_INPUT;
          }
          bb >>>= l;
          bitcnt -= l;
          const sym = e >> 4;
          if (sym < 16) {
            lens[i++] = sym;
            continue;
          }
          let rep: number;
          let val = 0;
          const eb = sym === 16 ? 2 : sym === 17 ? 3 : 7;
          while (bitcnt < eb) {
            if (ip >= iend) throw NEED_INPUT;
            bb |= inp[ip++]! << bitcnt;
            bitcnt += 8;
          }
          if (sym === 16) {
            if (i === 0) throw corrupt("repeat of a code length with no previous length");
            val = lens[i - 1]!;
            rep = 3 + (bb & 3);
          } else if (sym === 17) {
            rep = 3 + (bb & 7);
          } else {
            rep = 11 + (bb & 127);
          }
          bb >>>= eb;
          bitcnt -= eb;
          if (i + rep > hlit + hdist) throw corrupt("code lengths overflow the alphabet");
          lens.fill(val, i, i + rep);
          i += rep;
        }
        if (lens[256] === 0) throw corrupt("missing end-of-block code");
        lit = buildHuffman(lens.subarray(0, hlit), hlit, CodeKind.LitLen);
        dist = buildHuffman(lens.subarray(hlit), hdist, CodeKind.Dist);
      }

      // The hot loop.
      const lt = lit.table;
      const lbits = lit.bits;
      const lmask = (1 << lbits) - 1;
      const dt = dist.table;
      const dbits = dist.bits;
      const dmask = (1 << dbits) - 1;
      let out = this.#out;
      let op = this.#op;
      let cap = out.length - 258;
      for (;;) {
        if (bitcnt < 15) {
          if (iend - ip >= 2) {
            bb |= (inp[ip]! | (inp[ip + 1]! << 8)) << bitcnt;
            ip += 2;
            bitcnt += 16;
          } else {
            while (bitcnt < lbits && ip < iend) {
              bb |= inp[ip++]! << bitcnt;
              bitcnt += 8;
            }
          }
        }
        let e = lt[bb & lmask]!;
        let l = e & 15;
        if (l === 0 || l > bitcnt) {
          if (bitcnt >= lbits) throw corrupt("invalid literal/length code");
          throw NEED_INPUT;
        }
        bb >>>= l;
        bitcnt -= l;
        let sym = e >> 4;
        if (op > cap) {
          this.#op = op;
          out = this.#grow(op + 258);
          cap = out.length - 258;
        }
        if (sym < 256) {
          out[op++] = sym;
          continue;
        }
        if (sym === 256) break;
        sym -= 257;
        if (sym >= 29) throw corrupt("invalid length symbol", { symbol: sym + 257 });
        let len = LEN_BASE[sym]!;
        let eb = LEN_EXTRA[sym]!;
        if (eb > 0) {
          while (bitcnt < eb) {
            if (ip >= iend) throw NEED_INPUT;
            bb |= inp[ip++]! << bitcnt;
            bitcnt += 8;
          }
          len += bb & ((1 << eb) - 1);
          bb >>>= eb;
          bitcnt -= eb;
        }
        if (bitcnt < 15) {
          if (iend - ip >= 2) {
            bb |= (inp[ip]! | (inp[ip + 1]! << 8)) << bitcnt;
            ip += 2;
            bitcnt += 16;
          } else {
            while (bitcnt < dbits && ip < iend) {
              bb |= inp[ip++]! << bitcnt;
              bitcnt += 8;
            }
          }
        }
        e = dt[bb & dmask]!;
        l = e & 15;
        if (l === 0 || l > bitcnt) {
          if (bitcnt >= dbits) throw corrupt("invalid distance code");
          throw NEED_INPUT;
        }
        bb >>>= l;
        bitcnt -= l;
        sym = e >> 4;
        if (sym >= 30) throw corrupt("invalid distance symbol", { symbol: sym });
        let d = DIST_BASE[sym]!;
        eb = DIST_EXTRA[sym]!;
        if (eb > 0) {
          while (bitcnt < eb) {
            if (ip >= iend) throw NEED_INPUT;
            bb |= inp[ip++]! << bitcnt;
            bitcnt += 8;
          }
          d += bb & ((1 << eb) - 1);
          bb >>>= eb;
          bitcnt -= eb;
        }
        if (d > op) throw corrupt("distance too far back", { distance: d });
        let from = op - d;
        if (d >= len && len > 32) {
          out.copyWithin(op, from, from + len);
          op += len;
        } else {
          const stop = op + len;
          while (op < stop) out[op++] = out[from++]!;
        }
      }
      this.#op = op;
    }
    q.pos = ip;
    this.#bb = bb;
    this.#bitcnt = bitcnt;
    if (final) this.#lastBlock = true;
  }
}
