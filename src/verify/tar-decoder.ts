/**
 * Decompresses a layer blob (zstd or gzip) piece by piece into its tar stream, and notes, for
 * chosen compressed offsets ("marks"), how many tar bytes came before them and whether a zstd
 * frame or gzip member starts there. That is what ties a TOC's compressed offsets to the tar.
 *
 * @module
 */
import type { Core } from "../core.js";
import { LayerkitError } from "../errors.js";
import { Gunzip } from "../gzip/gzip.js";
import type { ZstdDecompressor } from "../wasm/zstd.js";
import { ZstdFrameScanner } from "../wasm/zstd-frame-scanner.js";

export type Compression = "zstd" | "gzip";

/** One decompression engine behind {@link TarDecoder}. */
interface Engine {
  /** Decodes `data`, handing the output to `out` (views valid only during the call). */
  push(data: Uint8Array, out: (view: Uint8Array) => void): void;
  end(out: (view: Uint8Array) => void): void;
  /** True when a frame/member starts at compressed offset `mark` (asked once the stream is done). */
  startsAt(mark: number): boolean;
  /** True when any frame starts at `mark`, skippable ones included (zstd; gzip: a member). */
  boundaryAt(mark: number): boolean;
  /** Tar bytes before the frame/member at `mark`, when the engine tracks it itself. */
  positionAt?: (mark: number) => number | undefined;
  /** Compressed offset of the member being decoded, when the engine knows member boundaries. */
  unitStart?: () => number;
  free(): void;
}

function zstdEngine(core: Core, marks: ReadonlySet<number>, maxOutput: number | undefined): Engine {
  let d: ZstdDecompressor | undefined = core.zstd.createDecompressor(maxOutput === undefined ? {} : { maxOutput });
  const scanner = new ZstdFrameScanner(marks);
  return {
    push(data, out) {
      scanner.push(data);
      // Views into WASM memory: no buffer is allocated per piece of a gigabyte stream.
      d!.writeTo(data, out);
    },
    end() {
      // As decompressLayer: an empty blob holds no zstd frame.
      if (scanner.position === 0) throw new LayerkitError("TRUNCATED", "empty input: no zstd frame", { size: 0 });
      d!.end();
    },
    startsAt: (mark) => scanner.starts.has(mark),
    boundaryAt: (mark) => scanner.starts.has(mark) || scanner.skippableStarts.has(mark),
    free() {
      d?.free();
      d = undefined;
    },
  };
}

/**
 * gzip, one {@link Gunzip} per member (zlib in WASM, its inflaters reused), so the tar offset
 * where each member starts is exact whatever the input split; output goes out as views into WASM
 * memory. Trailing bytes that are not a member are GZIP_CORRUPT, as in Go.
 */
function gzipEngine(core: Core, marks: ReadonlySet<number>, maxOutput: number | undefined): Engine {
  const limit = maxOutput ?? Number.POSITIVE_INFINITY;
  const positions = new Map<number, number>();
  let out = 0;
  let start = 0; // compressed offset of the current member
  let pushed = 0; // bytes given to the current member's Gunzip
  let members = 0;
  const next = (): Gunzip => new Gunzip({ multiMember: false, maxOutput: limit - out, deflate: core.deflate });
  let g = next();
  if (marks.has(0)) positions.set(0, 0);
  /** Counts and forwards output; pieces may be views into WASM memory, used at once. */
  let sink: (view: Uint8Array) => void = () => {};
  const counting = (to: (view: Uint8Array) => void) => (view: Uint8Array): void => {
    out += view.length;
    to(view);
  };
  /** Starts the next member for each one the current Gunzip finished. */
  const advance = (): void => {
    while (g.finished) {
      const rest = g.remainder();
      start += g.bytesIn;
      members++;
      if (marks.has(start)) positions.set(start, out);
      g.free();
      g = next();
      pushed = rest.length;
      if (rest.length === 0) return;
      g.pushTo(rest, sink);
    }
  };
  return {
    push(data, to) {
      sink = counting(to);
      g.pushTo(data, sink);
      pushed += data.length;
      advance();
    },
    end(to) {
      sink = counting(to);
      // A member may still wait for input it will never get; end it, then the members after it.
      while (!(pushed === 0 && members > 0)) {
        g.endTo(sink);
        advance();
      }
    },
    startsAt: (mark) => positions.has(mark),
    boundaryAt: (mark) => positions.has(mark),
    positionAt: (mark) => positions.get(mark),
    unitStart: () => start,
    free: () => g.free(),
  };
}

/** gzip without marks: one multi-member {@link Gunzip}. */
function gunzipEngine(core: Core, maxOutput: number | undefined): Engine {
  const g = new Gunzip(maxOutput === undefined ? { deflate: core.deflate } : { maxOutput, deflate: core.deflate });
  return {
    push: (data, out) => g.pushTo(data, out),
    end: (out) => g.endTo(out),
    startsAt: (mark) => g.memberOffsets.includes(mark),
    boundaryAt: (mark) => g.memberOffsets.includes(mark),
    free: () => g.free(),
  };
}

/** The decoder: push the blob in order, then `end()`. */
export class TarDecoder {
  readonly #engine: Engine;
  readonly #marks: number[];
  #next = 0;
  #in = 0;
  #lastFeed = 0;
  #out = 0;
  readonly #positions = new Map<number, number>();
  readonly #split: boolean;

  /** `marks`: compressed offsets to note tar positions for. */
  constructor(core: Core, compression: Compression, marks: Iterable<number> = [], options: { maxOutput?: number } = {}) {
    const set = new Set(marks);
    this.#marks = [...set].sort((a, b) => a - b);
    this.#split = compression === "zstd";
    this.#engine = compression === "zstd"
      ? zstdEngine(core, set, options.maxOutput)
      : set.size > 0
      ? gzipEngine(core, set, options.maxOutput)
      : gunzipEngine(core, options.maxOutput);
  }

  /** Compressed bytes pushed so far. */
  get bytesIn(): number {
    return this.#in;
  }

  /** Compressed offset where the last piece handed to the decompressor began (a failure lies in `[lastFeed, bytesIn)`). */
  get lastFeed(): number {
    return this.#lastFeed;
  }

  /**
   * Where a decompression failure began: the start of the gzip member being decoded when the
   * engine tracks members (so the failure is pinned to one member), else {@link lastFeed}.
   */
  get failureStart(): number {
    return this.#engine.unitStart?.() ?? this.#lastFeed;
  }

  /** Tar bytes produced so far. */
  get bytesOut(): number {
    return this.#out;
  }

  /**
   * Feeds the next piece of the blob; hands the tar bytes it completed to `out`, as views valid
   * only during the call (copy what you keep).
   */
  push(piece: Uint8Array, out: (view: Uint8Array) => void): void {
    const base = this.#in;
    let at = 0;
    // zstd output keeps up with its input: split at marks so the output count at each is exact.
    while (this.#split && this.#next < this.#marks.length && this.#marks[this.#next]! <= base + piece.length) {
      const mark = this.#marks[this.#next++]!;
      if (mark < base) continue;
      const cut = mark - base;
      if (cut > at) this.#feed(piece.subarray(at, cut), out);
      at = cut;
      this.#positions.set(mark, this.#out);
    }
    if (at < piece.length) this.#feed(piece.subarray(at), out);
  }

  #feed(data: Uint8Array, out: (view: Uint8Array) => void): void {
    this.#lastFeed = this.#in;
    this.#in += data.length;
    this.#engine.push(data, (o) => {
      this.#out += o.length;
      out(o);
    });
  }

  /**
   * Declares the end of the blob, handing the last tar bytes to `out` as in {@link push}: throws
   * TRUNCATED / ZSTD_TRUNCATED when it stopped inside a frame or member.
   */
  end(out: (view: Uint8Array) => void): void {
    this.#engine.end((o) => {
      this.#out += o.length;
      out(o);
    });
  }

  /** Tar bytes produced before compressed offset `mark` (undefined when the blob did not reach it). */
  positionAt(mark: number): number | undefined {
    return this.#engine.positionAt ? this.#engine.positionAt(mark) : this.#positions.get(mark);
  }

  /** True when a zstd frame or gzip member starts at `mark` (call after {@link end}). */
  startsAt(mark: number): boolean {
    return this.#engine.startsAt(mark);
  }

  /** True when a frame of any kind (zstd, skippable) or a gzip member starts at `mark`. */
  boundaryAt(mark: number): boolean {
    return this.#engine.boundaryAt(mark);
  }

  free(): void {
    this.#engine.free();
  }
}
