/**
 * Finds where zstd frames start in a compressed stream as it passes, from the frame and block
 * headers alone (RFC 8878 §3.1), without decompressing. verifyLayer uses it to check that every
 * TOC chunk offset is a frame start, which a lazy reader relies on, and where skippable frames
 * are; the decompressor uses it to tell a skippable frame's length from an error code (both
 * come back from libzstd as a size_t).
 *
 * @module
 */

const ZSTD_MAGIC = 0xfd2fb528;

type State = "magic" | "skippable-size" | "descriptor" | "block" | "broken";

export class ZstdFrameScanner {
  /** Offsets (of those asked about) where a zstd frame starts. */
  readonly starts = new Set<number>();
  /** Offsets (of those asked about) where a skippable frame starts. */
  readonly skippableStarts = new Set<number>();
  /** Called with `[start, end)` of every skippable frame whose header was read. */
  onSkippable: ((start: number, end: number) => void) | undefined;
  readonly #wanted: ReadonlySet<number>;
  #pos = 0;
  #skip = 0;
  #state: State = "magic";
  readonly #buf = new Uint8Array(4);
  #have = 0;
  #structStart = 0;
  #checksum = false;

  /** `wanted`: the offsets to report (keeps {@link starts} as small as the question). */
  constructor(wanted: ReadonlySet<number>) {
    this.#wanted = wanted;
  }

  /** False once the stream stopped looking like zstd (the decompressor reports why). */
  get healthy(): boolean {
    return this.#state !== "broken";
  }

  /** Bytes pushed so far. */
  get position(): number {
    return this.#pos;
  }

  push(data: Uint8Array): void {
    let i = 0;
    const n = data.length;
    while (i < n && this.#state !== "broken") {
      if (this.#skip > 0) {
        const k = Math.min(this.#skip, n - i);
        this.#skip -= k;
        i += k;
        this.#pos += k;
        continue;
      }
      if (this.#have === 0) this.#structStart = this.#pos;
      const need = this.#need();
      while (this.#have < need && i < n) {
        this.#buf[this.#have++] = data[i++]!;
        this.#pos++;
      }
      if (this.#have < need) return;
      this.#have = 0;
      this.#step();
    }
  }

  #need(): number {
    switch (this.#state) {
      case "descriptor":
        return 1;
      case "block":
        return 3;
      default:
        return 4;
    }
  }

  #step(): void {
    const b = this.#buf;
    switch (this.#state) {
      case "magic": {
        const magic = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        if (magic === ZSTD_MAGIC) {
          if (this.#wanted.has(this.#structStart)) this.starts.add(this.#structStart);
          this.#state = "descriptor";
        } else if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
          if (this.#wanted.has(this.#structStart)) this.skippableStarts.add(this.#structStart);
          this.#state = "skippable-size";
        } else {
          this.#state = "broken";
        }
        return;
      }
      case "skippable-size":
        this.#skip = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        this.onSkippable?.(this.#structStart - 4, this.#pos + this.#skip);
        this.#state = "magic";
        return;
      case "descriptor": {
        const fhd = b[0]!;
        const fcsFlag = fhd >> 6;
        const single = (fhd >> 5) & 1;
        this.#checksum = ((fhd >> 2) & 1) === 1;
        const did = [0, 1, 2, 4][fhd & 3]!;
        const fcs = fcsFlag === 0 ? single : [0, 2, 4, 8][fcsFlag]!;
        this.#skip = (single ? 0 : 1) + did + fcs;
        this.#state = "block";
        return;
      }
      case "block": {
        const h = b[0]! | (b[1]! << 8) | (b[2]! << 16);
        const last = h & 1;
        const type = (h >> 1) & 3;
        const size = h >>> 3;
        if (type === 3) {
          this.#state = "broken";
          return;
        }
        this.#skip = type === 1 ? 1 : size;
        if (last) {
          if (this.#checksum) this.#skip += 4;
          this.#state = "magic";
        }
        return;
      }
      default:
        return;
    }
  }
}
