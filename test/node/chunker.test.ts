import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chunkBytes, Chunker, type ChunkInfo, HOLE_THRESHOLD } from "../../src/formats/zstd-chunked/chunker.js";
import { isLayerkitError } from "../../src/errors.js";
import { cat, holesPayload, randomBytes } from "../fixtures/tars.js";

/**
 * Reference: the docs/formats/zstd-chunked.md §5 algorithm written the obvious way over the whole buffer: find maximal
 * zero runs, holes are runs ≥ 1024 (one zeros chunk, rolled without split tests), every other
 * byte is rolled and split-tested; a fresh rollsum for the file.
 */
function referenceChunks(data: Uint8Array): ChunkInfo[] {
  let s1 = 64 * 31;
  let s2 = 64 * 63 * 31;
  const win = new Uint8Array(64);
  let pos = 0;
  const roll = (c: number): void => {
    const drop = win[pos]!;
    s1 = (s1 + c - drop) >>> 0;
    s2 = (s2 + s1 - 64 * (drop + 31)) >>> 0;
    win[pos] = c;
    pos = (pos + 1) & 63;
  };
  const out: ChunkInfo[] = [];
  let start = 0;
  let i = 0;
  while (i < data.length) {
    if (data[i] === 0) {
      let j = i;
      while (j < data.length && data[j] === 0) j++;
      if (j - i >= 1024) {
        if (i > start) out.push({ offset: start, length: i - start, zeros: false });
        for (let k = i; k < j; k++) roll(0);
        out.push({ offset: i, length: j - i, zeros: true });
        start = i = j;
        continue;
      }
      for (let k = i; k < j; k++) {
        roll(0);
        if ((s2 & 0xffff) === 0xffff) {
          out.push({ offset: start, length: k + 1 - start, zeros: false });
          start = k + 1;
        }
      }
      i = j;
      continue;
    }
    roll(data[i]!);
    i++;
    if ((s2 & 0xffff) === 0xffff) {
      out.push({ offset: start, length: i - start, zeros: false });
      start = i;
    }
  }
  if (data.length > start) out.push({ offset: start, length: data.length - start, zeros: false });
  return out;
}

/** Runs the streaming chunker over `pieces`, checking that data() delivers each chunk's bytes before end(). */
function streamChunks(data: Uint8Array, cuts: number[]): ChunkInfo[] {
  const out: ChunkInfo[] = [];
  let got: number[] = [];
  let delivered = 0;
  const c = new Chunker({
    data(b) {
      for (const x of b) got.push(x);
    },
    end(info) {
      expect(info.offset).toBe(delivered);
      expect(got.length).toBe(info.length);
      // The bytes handed over are exactly this chunk's bytes.
      const want = data.subarray(info.offset, info.offset + info.length);
      expect(Buffer.compare(Buffer.from(got), Buffer.from(want))).toBe(0);
      if (info.zeros) expect(want.every((x) => x === 0)).toBe(true);
      delivered += info.length;
      got = [];
      out.push(info);
    },
  });
  let at = 0;
  for (const cut of [...cuts, data.length]) {
    c.write(data.subarray(at, cut));
    at = cut;
  }
  c.finish();
  expect(got.length).toBe(0);
  expect(delivered).toBe(data.length);
  return out;
}

/** Fast variant without per-byte bookkeeping for large inputs. */
function streamChunksFast(data: Uint8Array, piece: number): ChunkInfo[] {
  const out: ChunkInfo[] = [];
  let total = 0;
  const c = new Chunker({ data: (b) => void (total += b.length), end: (x) => void out.push(x) });
  for (let i = 0; i < data.length; i += piece) c.write(data.subarray(i, i + piece));
  c.finish();
  expect(total).toBe(data.length);
  return out;
}

function zeros(n: number): Uint8Array {
  return new Uint8Array(n);
}

function randomCuts(n: number, seed: number, count: number): number[] {
  const r = randomBytes(count * 4, seed);
  const cuts = new Set<number>();
  for (let i = 0; i < count; i++) cuts.add(((r[i * 4]! << 16) | (r[i * 4 + 1]! << 8) | r[i * 4 + 2]!) % (n + 1));
  return [...cuts].sort((a, b) => a - b);
}

const structured: Record<string, Uint8Array> = {
  empty: new Uint8Array(0),
  oneByte: Uint8Array.of(7),
  oneZero: zeros(1),
  z1023: zeros(1023),
  z1024: zeros(HOLE_THRESHOLD),
  z1025: zeros(1025),
  allZero: zeros(300_000),
  holeAtStart: cat(zeros(5000), randomBytes(200_000, 1)),
  holeAtEnd: cat(randomBytes(200_000, 2), zeros(4096)),
  runs1023and1024: cat(randomBytes(70_000, 3), zeros(1023), randomBytes(5000, 4), zeros(1024), randomBytes(70_000, 5), zeros(1023)),
  shortRunsEverywhere: cat(
    ...Array.from(
      { length: 400 },
      (_, i) => cat(randomBytes(1 + ((i * 37) % 300), i + 10), zeros([1, 2, 100, 1022, 1023, 1024, 1025, 3000][i % 8]!)),
    ),
  ),
  text: new TextEncoder().encode("the quick brown fox jumps over the lazy dog\n".repeat(30_000)),
  random: randomBytes(1_000_000, 6),
  lowEntropy: randomBytes(500_000, 7).map((x) => (x < 160 ? 0 : x & 3)),
};

describe("chunker (c/storage rolling checksum + holes)", () => {
  it("matches the reference on structured and random data, in one piece", () => {
    for (const [name, data] of Object.entries(structured)) {
      expect(chunkBytes(data), name).toEqual(referenceChunks(data));
    }
  });

  it("gives the same boundaries for any split of the input (piece-size independence)", () => {
    for (const [name, data] of Object.entries(structured)) {
      const want = referenceChunks(data);
      if (data.length <= 40_000) {
        // Every possible single cut, plus 1-byte pieces.
        const step = Math.max(1, Math.floor(data.length / 700));
        for (let cut = 0; cut <= data.length; cut += step) expect(streamChunks(data, [cut]), `${name} cut ${cut}`).toEqual(want);
        expect(streamChunks(data, Array.from({ length: data.length }, (_, i) => i)), `${name} 1-byte pieces`).toEqual(want);
      }
      for (const seed of [1, 2, 3]) {
        expect(streamChunks(data, randomCuts(data.length, seed + data.length, 50)), `${name} seed ${seed}`).toEqual(want);
      }
      for (const piece of [1023, 1024, 4096, 65536]) expect(streamChunksFast(data, piece), `${name} piece ${piece}`).toEqual(want);
    }
  });

  it("handles a hole whose run spans many tiny pieces", () => {
    const data = cat(randomBytes(10_000, 8), zeros(1024), randomBytes(10, 9), zeros(1023), Uint8Array.of(1), zeros(2000));
    const want = referenceChunks(data);
    expect(streamChunks(data, Array.from({ length: data.length }, (_, i) => i))).toEqual(want);
    expect(want.filter((c) => c.zeros).map((c) => c.length)).toEqual([1024, 2000]);
  });

  it("classifies exact thresholds: 1023 zeros are data, 1024 are a hole", () => {
    expect(chunkBytes(zeros(1023))).toEqual([{ offset: 0, length: 1023, zeros: false }]);
    expect(chunkBytes(zeros(1024))).toEqual([{ offset: 0, length: 1024, zeros: true }]);
    expect(chunkBytes(zeros(70_000))).toEqual([{ offset: 0, length: 70_000, zeros: true }]);
    expect(chunkBytes(new Uint8Array(0))).toEqual([]);
    const d = cat(Uint8Array.of(1, 2, 3), zeros(1024), Uint8Array.of(4));
    expect(chunkBytes(d)).toEqual([
      { offset: 0, length: 3, zeros: false },
      { offset: 3, length: 1024, zeros: true },
      { offset: 1027, length: 1, zeros: false },
    ]);
  });

  it("matches chunk lists produced by c/storage's own Go code", () => {
    // Generated by running c/storage 1.43's rollingChecksumReader/holesFinder loop (the same
    // code as CURRENT) over these inputs.
    const list = (cs: ChunkInfo[]): string => cs.map((c) => `${c.offset} ${c.length} ${c.zeros ? "zeros" : "data"}\n`).join("");
    const holes = chunkBytes(holesPayload());
    expect(holes.length).toBe(193);
    expect(createHash("sha256").update(list(holes)).digest("hex")).toBe("370ce7b76ee4fe117e802c6b48cc92f24b60f8e463b14586559eab3b5f178a27");
    expect(holes.filter((c) => c.zeros).map((c) => [c.offset, c.length])).toEqual([
      [0, 4096],
      [1505119, 1024],
      [2206143, 1025],
      [5207168, 307200],
      [10515490, 2048],
    ]);
    expect(list(chunkBytes(randomBytes(300_000, 99)))).toBe(
      "0 24357 data\n24357 47373 data\n71730 14704 data\n86434 104033 data\n190467 99091 data\n289558 10442 data\n",
    );
    expect(list(chunkBytes(structured.text!))).toBe("0 1320000 data\n");
  });

  it("chunks a >10 MiB payload identically in 1 MiB and odd pieces", () => {
    const data = holesPayload();
    const want = chunkBytes(data);
    expect(streamChunksFast(data, 1 << 20)).toEqual(want);
    expect(streamChunksFast(data, 77_777)).toEqual(want);
  });

  it("rejects writes after finish()", () => {
    const c = new Chunker({ data() {}, end() {} });
    c.finish();
    c.finish();
    let err: unknown;
    try {
      c.write(Uint8Array.of(1));
    } catch (e) {
      err = e;
    }
    expect(isLayerkitError(err, "BAD_ARGUMENT")).toBe(true);
  });
});
