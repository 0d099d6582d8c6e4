/**
 * The zstd WASM engine (wasm/zstd.wasm + src/wasm/zstd.ts): round trips, caller-ended frames,
 * skippable frames, interop with the native zstd CLI both ways, and every typed error followed by
 * a successful operation on the same instance.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.setConfig({ testTimeout: 120_000 });

import { LayerkitError } from "../../src/errors.js";
import { readSkippableHeader, skippableFrame } from "../../src/formats/zstd/skippable.js";
import { loadZstd, type Zstd } from "../../src/wasm/zstd.js";
import { ZstdCompressStream, ZstdDecompressStream } from "../../src/wasm/zstd-streams.js";
import { pseudoRandomBytes, textBytes } from "../conformance/harness.js";

const wasmUrl = new URL("../../wasm/zstd.wasm", import.meta.url);
let zstd: Zstd;
let tmp: string;

beforeAll(async () => {
  zstd = await loadZstd(await readFile(wasmUrl));
  tmp = mkdtempSync(join(tmpdir(), "layerkit-zstd-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function expectCode(fn: () => unknown, code: string): LayerkitError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LayerkitError);
    expect((e as LayerkitError).code, (e as Error).message).toBe(code);
    return e as LayerkitError;
  }
  throw new Error(`expected ${code}, nothing thrown`);
}

/** Another operation on the same instance works after an error. */
function stillWorks(z: Zstd = zstd): void {
  const data = textBytes(100_000, 77);
  expect(equal(z.decompress(z.compress(data)), data)).toBe(true);
  const c = z.createCompressor();
  const d = z.createDecompressor();
  const out = d.write(concat(c.write(data), c.endFrame()));
  d.end();
  c.free();
  d.free();
  expect(equal(out, data)).toBe(true);
}

function nativeDecompress(compressed: Uint8Array): Uint8Array {
  const f = join(tmp, `in-${Math.random().toString(36).slice(2)}.zst`);
  writeFileSync(f, compressed);
  return new Uint8Array(execFileSync("zstd", ["-d", "-q", "-c", f], { maxBuffer: 1 << 30 }));
}

/** Frame header descriptor byte. */
const fhd = (frame: Uint8Array, at = 0) => frame[at + 4]!;

const text20M = textBytes(20 << 20, 3);
const random1M = pseudoRandomBytes(1 << 20, 5);

describe("round trips", () => {
  const sizes: [string, Uint8Array][] = [
    ["0 bytes", new Uint8Array(0)],
    ["1 byte", new Uint8Array([42])],
    ["1 MiB random", random1M],
    ["300 KiB text", textBytes(300_000, 9)],
  ];
  for (const level of [-5, 1, 3, 10, 19]) {
    for (const [name, data] of sizes) {
      it(`level ${level}, ${name}`, () => {
        const frame = zstd.compress(data, { level });
        expect(zstd.frameSizeAt(frame, 0)).toBe(frame.length);
        expect(equal(zstd.decompress(frame), data)).toBe(true);
        expect(equal(zstd.decompressFrameAt(frame, 0).data, data)).toBe(true);
        // streaming, fed in odd pieces
        const d = zstd.createDecompressor();
        const parts: Uint8Array[] = [];
        for (let i = 0; i < frame.length; i += 7919) parts.push(d.write(frame.subarray(i, i + 7919)));
        d.end();
        d.free();
        expect(equal(concat(...parts), data)).toBe(true);
      });
    }
  }

  for (const level of [1, 3]) {
    it(`20 MiB text at level ${level}, one-shot and streaming`, () => {
      const frame = zstd.compress(text20M, { level });
      expect(frame.length).toBeLessThan(text20M.length / 2);
      expect(equal(zstd.decompress(frame), text20M)).toBe(true);
      const c = zstd.createCompressor({ level });
      const parts: Uint8Array[] = [];
      for (let i = 0; i < text20M.length; i += 3 << 20) parts.push(c.write(text20M.subarray(i, i + (3 << 20))));
      parts.push(c.endFrame());
      const streamed = concat(...parts);
      expect(c.bytesOut).toBe(streamed.length);
      c.free();
      expect(zstd.frameSizeAt(streamed, 0)).toBe(streamed.length);
      expect(equal(zstd.decompress(streamed), text20M)).toBe(true);
      expect(equal(zstd.decompressFrameAt(streamed, 0).data, text20M)).toBe(true);
    });
  }

  it("one-shot frames carry the content size; an empty input still makes a frame", () => {
    const empty = zstd.compress(new Uint8Array(0));
    expect(empty.length).toBeGreaterThan(0);
    expect(zstd.decompress(empty).length).toBe(0);
    expect(equal(nativeDecompress(empty), new Uint8Array(0))).toBe(true);
    const big = zstd.compress(text20M.subarray(0, 5 << 20));
    expect(fhd(big) >> 6).toBe(2); // 4-byte frame content size
  });

  it("decompress of zero bytes is zero frames: empty output", () => {
    expect(zstd.decompress(new Uint8Array(0)).length).toBe(0);
  });

  it("streams: ZstdCompressStream → ZstdDecompressStream", async () => {
    const data = textBytes(3_000_000, 11);
    const source = () =>
      new ReadableStream<Uint8Array>({
        start(ctl) {
          for (let i = 0; i < data.length; i += 65536) ctl.enqueue(data.slice(i, i + 65536));
          ctl.close();
        },
      });
    const collect = async (s: ReadableStream<Uint8Array>) => {
      const parts: Uint8Array[] = [];
      for await (const p of s as unknown as AsyncIterable<Uint8Array>) parts.push(p);
      return concat(...parts);
    };
    const compressed = await collect(source().pipeThrough(new ZstdCompressStream(zstd, { level: 5, frameInputSize: 1 << 20 })));
    expect(zstd.frameSizeAt(compressed, 0)).toBeLessThan(compressed.length); // several frames
    expect(equal(nativeDecompress(compressed), data)).toBe(true);
    const back = await collect(
      new ReadableStream<Uint8Array>({
        start(ctl) {
          for (let i = 0; i < compressed.length; i += 10000) ctl.enqueue(compressed.slice(i, i + 10000));
          ctl.close();
        },
      }).pipeThrough(new ZstdDecompressStream(zstd)),
    );
    expect(equal(back, data)).toBe(true);
    // empty input → one valid empty frame
    const empty = await collect(new ReadableStream<Uint8Array>({ start: (c) => c.close() }).pipeThrough(new ZstdCompressStream(zstd)));
    expect(zstd.decompress(empty).length).toBe(0);
    expect(empty.length).toBeGreaterThan(0);
    // truncated input errors the decompress stream
    const cut = compressed.subarray(0, compressed.length - 3);
    await expect(
      collect(new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(cut), c.close()) }).pipeThrough(new ZstdDecompressStream(zstd))),
    ).rejects.toMatchObject({ code: "ZSTD_TRUNCATED" });
    stillWorks();
  });
});

describe("frames ended by the caller, skippable frames", () => {
  const files = [textBytes(200_000, 1), new Uint8Array(0), pseudoRandomBytes(70_000, 2), textBytes(1, 3), textBytes(2_500_000, 4)];

  function multiFrame(checksum: boolean) {
    const c = zstd.createCompressor({ level: 7, checksum });
    const frames: { offset: number; size: number; data: Uint8Array }[] = [];
    const parts: Uint8Array[] = [];
    let offset = 0;
    const skips: { offset: number; payload: Uint8Array }[] = [];
    files.forEach((f, i) => {
      const frame = concat(c.write(f.subarray(0, f.length >> 1)), c.write(f.subarray(f.length >> 1)), c.endFrame());
      if (f.length === 0) {
        expect(frame.length).toBe(0); // no empty frames
      } else {
        frames.push({ offset, size: frame.length, data: f });
        parts.push(frame);
        offset += frame.length;
      }
      const payload = textBytes(10 + i * 13, 100 + i);
      const skip = skippableFrame(payload, i % 16);
      skips.push({ offset, payload });
      parts.push(skip);
      offset += skip.length;
    });
    expect(c.endFrame().length).toBe(0);
    expect(c.bytesOut).toBe(frames.reduce((n, f) => n + f.size, 0));
    c.free();
    return { blob: concat(...parts), frames, skips };
  }

  for (const checksum of [true, false]) {
    it(`checksum ${checksum}: each frame decodes alone; offsets and sizes agree`, () => {
      const { blob, frames, skips } = multiFrame(checksum);
      for (const f of frames) {
        expect((fhd(blob, f.offset) >> 2) & 1).toBe(checksum ? 1 : 0);
        expect(zstd.frameSizeAt(blob, f.offset)).toBe(f.size);
        const r = zstd.decompressFrameAt(blob, f.offset);
        expect(r.frameSize).toBe(f.size);
        expect(equal(r.data, f.data)).toBe(true);
      }
      for (const s of skips) {
        const h = readSkippableHeader(blob, s.offset)!;
        expect(h.payloadSize).toBe(s.payload.length);
        expect(zstd.frameSizeAt(blob, s.offset)).toBe(8 + s.payload.length);
        expect(equal(blob.subarray(h.payloadOffset, h.payloadOffset + h.payloadSize), s.payload)).toBe(true);
        expectCode(() => zstd.decompressFrameAt(blob, s.offset), "ZSTD_BAD_USAGE");
      }
      // whole blob: skippable frames skipped
      const all = concat(...files);
      expect(equal(zstd.decompress(blob), all)).toBe(true);
      const d = zstd.createDecompressor();
      const parts: Uint8Array[] = [];
      for (let i = 0; i < blob.length; i += 4099) parts.push(d.write(blob.subarray(i, i + 4099)));
      d.end();
      d.free();
      expect(equal(concat(...parts), all)).toBe(true);
      // writeTo hands out the same bytes as views (copied here, as a caller must)
      const v = zstd.createDecompressor();
      const viewed: Uint8Array[] = [];
      for (let i = 0; i < blob.length; i += 4099) v.writeTo(blob.subarray(i, i + 4099), (view) => viewed.push(view.slice()));
      v.end();
      v.free();
      expect(equal(concat(...viewed), all)).toBe(true);
      expect(equal(nativeDecompress(blob), all)).toBe(true);
    });
  }

  it("writeTo/endFrameTo hand out the bytes write/endFrame return; compact rings and a window cap decode everywhere", () => {
    const data = text20M.subarray(0, 12 << 20); // wraps the compact rings (~5 MiB, ~2 MiB) several times
    const pieces = (c: ReturnType<Zstd["createCompressor"]>, viaViews: boolean): Uint8Array => {
      const out: Uint8Array[] = [];
      const keep = (v: Uint8Array) => out.push(v.slice());
      for (let at = 0; at < data.length; at += 777_777) {
        const p = data.subarray(at, at + 777_777);
        if (viaViews) c.writeTo(p, keep);
        else out.push(c.write(p));
      }
      if (viaViews) c.endFrameTo(keep);
      else out.push(c.endFrame());
      expect(c.bytesOut).toBe(out.reduce((n, p) => n + p.length, 0));
      c.free();
      return concat(...out);
    };
    const plain = pieces(zstd.createCompressor({ level: 3 }), false);
    expect(equal(pieces(zstd.createCompressor({ level: 3 }), true), plain)).toBe(true);
    for (const options of [{ compact: true }, { compact: true, windowLog: 19 }, { windowLog: 17 }]) {
      const frame = pieces(zstd.createCompressor({ level: 3, ...options }), true);
      expect(equal(zstd.decompress(frame), data), JSON.stringify(options)).toBe(true);
      expect(equal(nativeDecompress(frame), data), JSON.stringify(options)).toBe(true);
      // Window descriptor (no single-segment flag: the size was not known up front).
      expect((fhd(frame) >> 5) & 1).toBe(0);
      const wd = frame[5]!;
      const windowLog = 10 + (wd >> 3);
      const windowSize = 2 ** windowLog + (2 ** windowLog / 8) * (wd & 7);
      expect(windowSize).toBeLessThanOrEqual(2 ** (options.windowLog ?? 21));
    }
    // The same options always give the same bytes.
    expect(
      equal(
        pieces(zstd.createCompressor({ level: 3, compact: true, windowLog: 19 }), false),
        pieces(zstd.createCompressor({ level: 3, compact: true, windowLog: 19 }), true),
      ),
    ).toBe(true);
    for (const windowLog of [9, 31, 1.5, Number.NaN]) expectCode(() => zstd.createCompressor({ windowLog }), "BAD_ARGUMENT");
    stillWorks();
  });

  it("one-shot compress honours checksum: false", () => {
    expect((fhd(zstd.compress(textBytes(1000))) >> 2) & 1).toBe(1);
    expect((fhd(zstd.compress(textBytes(1000), { checksum: false })) >> 2) & 1).toBe(0);
  });

  it("skippableFrame / readSkippableHeader", () => {
    const f = skippableFrame(new Uint8Array([1, 2, 3]), 5);
    expect([...f]).toEqual([0x55, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    expect(readSkippableHeader(f, 0)).toEqual({ nibble: 5, payloadSize: 3, payloadOffset: 8, frameSize: 11 });
    expect(readSkippableHeader(zstd.compress(new Uint8Array(1)), 0)).toBeNull();
    expectCode(() => readSkippableHeader(f.subarray(0, 10), 0), "TRUNCATED");
    expectCode(() => readSkippableHeader(f.subarray(0, 6), 0), "TRUNCATED");
    expect(readSkippableHeader(f.subarray(0, 8), 0, { payload: false })?.payloadSize).toBe(3);
    expectCode(() => readSkippableHeader(f, 12), "OUT_OF_RANGE");
    expectCode(() => skippableFrame(new Uint8Array(0), 16), "BAD_ARGUMENT");
    expectCode(() => zstd.frameSizeAt(f.subarray(0, 10), 0), "ZSTD_TRUNCATED");
  });
});

describe("native zstd CLI interop", () => {
  it("our frames decode byte-exactly with `zstd -d`", () => {
    for (
      const [level, data] of [
        [1, text20M.subarray(0, 4 << 20)],
        [3, random1M],
        [19, textBytes(500_000, 8)],
        [-3, textBytes(100_000, 8)],
      ] as [number, Uint8Array][]
    ) {
      expect(equal(nativeDecompress(zstd.compress(data, { level })), data)).toBe(true);
      const c = zstd.createCompressor({ level });
      const s = concat(c.write(data), c.endFrame(), c.write(data.subarray(0, 1000)), c.endFrame());
      c.free();
      expect(equal(nativeDecompress(s), concat(data, data.subarray(0, 1000)))).toBe(true);
    }
  });

  it("decodes `zstd --long=27 -19` (window 2^27) output, refuses it with maxWindowLog 26", () => {
    // 12 MiB: 6 MiB random twice, so the second half matches 6 MiB back (beyond the default window).
    const half = pseudoRandomBytes(6 << 20, 21);
    const data = concat(half, half);
    const f = join(tmp, "long.bin");
    writeFileSync(f, data);
    // stdin: unknown size, so the header keeps the full 2^27 window
    const blob = new Uint8Array(execFileSync("sh", ["-c", `zstd -q --long=27 -19 -c < ${f}`], { maxBuffer: 1 << 30 }));
    expect(blob.length).toBeLessThan(7 << 20);
    expect(blob[4]! & 0x20).toBe(0); // not single-segment
    expect(blob[5]! >> 3).toBe(27 - 10); // window descriptor: 2^27
    expect(equal(zstd.decompress(blob), data)).toBe(true);
    expect(equal(zstd.decompressFrameAt(blob, 0).data, data)).toBe(true);
    const d = zstd.createDecompressor({ maxWindowLog: 27 });
    const parts: Uint8Array[] = [];
    for (let i = 0; i < blob.length; i += 1 << 20) parts.push(d.write(blob.subarray(i, i + (1 << 20))));
    d.end();
    d.free();
    expect(equal(concat(...parts), data)).toBe(true);

    expectCode(() => zstd.decompress(blob, { maxWindowLog: 26 }), "ZSTD_WINDOW_TOO_LARGE");
    stillWorks();
    expectCode(() => zstd.decompressFrameAt(blob, 0, { maxWindowLog: 26 }), "ZSTD_WINDOW_TOO_LARGE");
    stillWorks();
    const small = zstd.createDecompressor({ maxWindowLog: 26 });
    expectCode(() => small.write(blob), "ZSTD_WINDOW_TOO_LARGE");
    // the decompressor itself is usable again, from a frame boundary
    const t = textBytes(5000);
    expect(equal(small.write(zstd.compress(t)), t)).toBe(true);
    small.end();
    small.free();
    stillWorks();
  });
});

describe("typed errors, instance usable afterwards", () => {
  const data = textBytes(400_000, 31);
  let frame: Uint8Array;
  beforeAll(() => {
    frame = zstd.compress(data, { level: 3 });
  });

  it("corrupt byte → ZSTD_CORRUPT", () => {
    const bad = frame.slice();
    bad[Math.floor(bad.length / 2)]! ^= 0x5a;
    expectCode(() => zstd.decompress(bad), "ZSTD_CORRUPT");
    stillWorks();
    expectCode(() => zstd.decompressFrameAt(bad, 0), "ZSTD_CORRUPT");
    stillWorks();
    const d = zstd.createDecompressor();
    expectCode(() => d.write(bad), "ZSTD_CORRUPT");
    d.free();
    stillWorks();
    expectCode(() => zstd.decompress(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), "ZSTD_CORRUPT");
    expectCode(() => zstd.decompressFrameAt(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), 0), "ZSTD_CORRUPT");
    stillWorks();
  });

  it("checksum flip → ZSTD_CORRUPT", () => {
    const bad = frame.slice();
    bad[bad.length - 1]! ^= 1;
    const e = expectCode(() => zstd.decompress(bad), "ZSTD_CORRUPT");
    expect(e.message).toMatch(/checksum/);
    stillWorks();
    expectCode(() => zstd.decompressFrameAt(bad, 0), "ZSTD_CORRUPT");
    stillWorks();
    const c = zstd.createCompressor();
    const streamed = concat(c.write(data), c.endFrame());
    c.free();
    streamed[streamed.length - 2]! ^= 0x80;
    expectCode(() => zstd.decompress(streamed), "ZSTD_CORRUPT");
    expectCode(() => zstd.decompressFrameAt(streamed, 0), "ZSTD_CORRUPT");
    stillWorks();
  });

  it("truncated → ZSTD_TRUNCATED (decompress, decompressFrameAt, end())", () => {
    for (const cut of [1, 3, 4, 5, 100, frame.length >> 1, frame.length - 1]) {
      const part = frame.subarray(0, cut);
      expectCode(() => zstd.decompress(part), "ZSTD_TRUNCATED");
      expectCode(() => zstd.decompressFrameAt(part, 0), "ZSTD_TRUNCATED");
      expectCode(() => zstd.frameSizeAt(part, 0), "ZSTD_TRUNCATED");
      const d = zstd.createDecompressor();
      d.write(part);
      expectCode(() => d.end(), "ZSTD_TRUNCATED");
      d.free();
    }
    // a cut skippable frame, and a complete frame followed by a cut one
    expectCode(() => zstd.decompress(skippableFrame(new Uint8Array(10)).subarray(0, 12)), "ZSTD_TRUNCATED");
    expectCode(() => zstd.decompress(concat(frame, frame.subarray(0, 50))), "ZSTD_TRUNCATED");
    stillWorks();
  });

  it("maxOutput exceeded → ZSTD_FRAME_TOO_LARGE", () => {
    expectCode(() => zstd.decompress(frame, { maxOutput: data.length - 1 }), "ZSTD_FRAME_TOO_LARGE");
    expect(zstd.decompress(frame, { maxOutput: data.length }).length).toBe(data.length);
    stillWorks();
    expectCode(() => zstd.decompressFrameAt(frame, 0, { maxOutput: 1000 }), "ZSTD_FRAME_TOO_LARGE");
    stillWorks();
    // streamed frame (no content size in the header): caught while decoding
    const c = zstd.createCompressor();
    const streamed = concat(c.write(data), c.endFrame());
    c.free();
    expect(fhd(streamed) >> 6).toBe(0);
    expectCode(() => zstd.decompress(streamed, { maxOutput: 12345 }), "ZSTD_FRAME_TOO_LARGE");
    stillWorks();
    expectCode(() => zstd.decompressFrameAt(streamed, 0, { maxOutput: 12345 }), "ZSTD_FRAME_TOO_LARGE");
    stillWorks();
    const d = zstd.createDecompressor({ maxOutput: 100_000 });
    expectCode(() => {
      for (let i = 0; i < streamed.length; i += 1000) d.write(streamed.subarray(i, i + 1000));
    }, "ZSTD_FRAME_TOO_LARGE");
    d.free();
    expect(zstd.decompress(streamed, { maxOutput: data.length }).length).toBe(data.length);
    stillWorks();
  });

  it("bad usage → ZSTD_BAD_USAGE; bad options → BAD_ARGUMENT", () => {
    const c = zstd.createCompressor();
    c.write(data);
    c.free();
    c.free(); // idempotent
    expectCode(() => c.write(data), "ZSTD_BAD_USAGE");
    expectCode(() => c.endFrame(), "ZSTD_BAD_USAGE");
    const d = zstd.createDecompressor();
    d.write(frame);
    d.end();
    expectCode(() => d.write(frame), "ZSTD_BAD_USAGE");
    expectCode(() => d.end(), "ZSTD_BAD_USAGE");
    d.free();
    expectCode(() => d.write(frame), "ZSTD_BAD_USAGE");
    expectCode(() => zstd.compress(data, { level: 23 }), "BAD_ARGUMENT");
    expectCode(() => zstd.compress(data, { level: 2.5 }), "BAD_ARGUMENT");
    expectCode(() => zstd.createDecompressor({ maxWindowLog: 31 }), "BAD_ARGUMENT");
    expectCode(() => zstd.decompress(frame, { maxOutput: -1 }), "BAD_ARGUMENT");
    expectCode(() => zstd.decompressFrameAt(frame, frame.length + 1), "OUT_OF_RANGE");
    expectCode(() => zstd.decompressFrameAt(frame, frame.length), "ZSTD_TRUNCATED");
    stillWorks();
  });

  it("allocation failure → ZSTD_OUT_OF_MEMORY, then recovers", async () => {
    // A separate instance: this one grows its memory towards the 2 GiB maximum.
    const z = await loadZstd(await readFile(wasmUrl));
    // Header of a frame with a 2^30 window: the streaming decoder allocates ~1 GiB for it.
    const header = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x04, (30 - 10) << 3, 0x29, 0, 0, 1, 2]);
    const d1 = z.createDecompressor({ maxWindowLog: 30 });
    d1.write(header);
    const d2 = z.createDecompressor({ maxWindowLog: 30 });
    expectCode(() => d2.write(header), "ZSTD_OUT_OF_MEMORY");
    d2.free();
    d1.free();
    const d3 = z.createDecompressor({ maxWindowLog: 30 });
    d3.write(header); // the freed gigabyte is reusable
    d3.free();
    stillWorks(z);
  });

  it("survives memory growth between calls (views refreshed)", async () => {
    const z = await loadZstd(await readFile(wasmUrl));
    const c = z.createCompressor({ level: 19 }); // large tables: the heap grows during write
    const first = c.write(textBytes(3 << 20, 5));
    const rest = c.endFrame();
    c.free();
    const big = z.compress(text20M, { level: 1 });
    expect(equal(z.decompressFrameAt(big, 0).data, text20M)).toBe(true); // 20 MiB one-shot output buffer
    expect(equal(z.decompress(concat(first, rest)), textBytes(3 << 20, 5))).toBe(true);
  });

  it("reads the committed wasm (imports)", () => {
    const m = new WebAssembly.Module(readFileSync(wasmUrl));
    expect(WebAssembly.Module.imports(m).map((i) => `${i.module}.${i.name}`)).toEqual(["env.emscripten_notify_memory_growth"]);
  });
});
