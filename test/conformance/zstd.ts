/**
 * zstd conformance: the same cases in Node, Deno, Chromium and workerd through `ctx.core.zstd`
 * (wasm/zstd.wasm loaded by each runtime's adapter). Web APIs only. Artifacts go back to the host,
 * which checks them with the native zstd CLI.
 */
import type { Zstd } from "../../src/wasm/zstd.js";
import { skippableFrame } from "../../src/formats/zstd/skippable.js";
import { assert, assertBytesEqual, assertEqual, assertThrowsCode, type ConformanceCase, pseudoRandomBytes, textBytes } from "./harness.js";

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A complete, valid frame with a 2^windowLog window: one raw block "hello", no checksum. */
function wideWindowFrame(windowLog: number): Uint8Array {
  const payload = new TextEncoder().encode("hello");
  return concat(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3, 1 | (payload.length << 3), 0, 0]), payload);
}

/** A round trip on the same instance, after an error. */
function stillWorks(zstd: Zstd, what: string): void {
  const data = textBytes(50_000, 99);
  assertBytesEqual(zstd.decompress(zstd.compress(data)), data, `${what}: instance usable afterwards`);
}

export const zstdCases: ConformanceCase[] = [
  {
    name: "zstd: one-shot round trips at several levels and sizes",
    run({ core, artifact }) {
      const inputs: [string, Uint8Array][] = [
        ["empty", new Uint8Array(0)],
        ["one-byte", new Uint8Array([7])],
        ["random-256k", pseudoRandomBytes(256 * 1024, 3)],
        ["text-2m", textBytes(2 * 1024 * 1024, 4)],
      ];
      for (const level of [1, 3, 9, 19]) {
        for (const [name, data] of inputs) {
          if (level === 19 && data.length > 300_000) continue;
          const frame = core.zstd.compress(data, { level });
          assertEqual(core.zstd.frameSizeAt(frame, 0), frame.length, `frameSizeAt ${name} level ${level}`);
          assertBytesEqual(core.zstd.decompress(frame), data, `decompress ${name} level ${level}`);
          if (level === 3 || level === 19) artifact(`zstd-oneshot-${name}-l${level}.zst`, frame, data);
        }
      }
    },
  },
  {
    name: "zstd: streaming compressor and decompressor in uneven pieces",
    run({ core, artifact }) {
      const data = textBytes(3_000_000, 5);
      const c = core.zstd.createCompressor({ level: 3 });
      const parts: Uint8Array[] = [];
      for (let i = 0, step = 1; i < data.length; i += step, step = (step * 7 + 12345) % 400_000) {
        parts.push(c.write(data.subarray(i, i + step)));
      }
      parts.push(c.endFrame());
      assertEqual(c.endFrame().length, 0, "endFrame with nothing written is empty");
      c.free();
      const blob = concat(...parts);
      assertEqual(core.zstd.frameSizeAt(blob, 0), blob.length, "one frame");
      const d = core.zstd.createDecompressor();
      const out: Uint8Array[] = [];
      for (let i = 0; i < blob.length; i += 3333) out.push(d.write(blob.subarray(i, i + 3333)));
      d.end();
      d.free();
      assertBytesEqual(concat(...out), data, "streamed round trip");
      artifact("zstd-streamed-text.zst", blob, data);
    },
  },
  {
    name: "zstd: a streamed frame depends on the bytes only, not on how the writes are cut",
    run({ core, artifact }) {
      // Compressible and incompressible stretches, so libzstd's block pre-splitter cuts blocks
      // inside 128 KiB block boundaries (it did so differently per write pattern before).
      const data = concat(textBytes(700_000, 31), pseudoRandomBytes(300_000, 32), textBytes(1_100_000, 33));
      const cuts: number[][] = [[data.length], [1 << 20], [1 << 17], [(1 << 17) + 1], [65536], [4096, 200_000], [
        1,
        7,
        512,
        131073,
        3,
        999_999,
      ]];
      for (const level of [1, 3, 9]) {
        let first: Uint8Array | undefined;
        for (const sizes of cuts) {
          const c = core.zstd.createCompressor({ level });
          const parts: Uint8Array[] = [];
          for (let at = 0, i = 0; at < data.length; i++) {
            const n = sizes[i % sizes.length]!;
            parts.push(c.write(data.subarray(at, at + n)));
            at += n;
          }
          parts.push(c.endFrame());
          c.free();
          const frame = concat(...parts);
          if (!first) {
            first = frame;
            artifact(`zstd-cuts-l${level}.zst`, frame, data);
          } else {
            assertBytesEqual(frame, first, `level ${level}, writes of ${sizes.join(",")} bytes vs one write`);
          }
        }
      }
    },
  },
  {
    name: "zstd: caller-ended frames with skippable frames between them",
    run({ core, artifact }) {
      const files = [textBytes(100_000, 1), pseudoRandomBytes(40_000, 2), new Uint8Array(0), textBytes(3, 3), textBytes(900_000, 4)];
      const c = core.zstd.createCompressor({ level: 10, checksum: true });
      const parts: Uint8Array[] = [];
      const frames: { offset: number; size: number; data: Uint8Array }[] = [];
      let offset = 0;
      files.forEach((f, i) => {
        const frame = concat(c.write(f), c.endFrame());
        if (f.length) {
          assert((frame[4]! & 4) !== 0, "content checksum flag set");
          frames.push({ offset, size: frame.length, data: f });
          parts.push(frame);
          offset += frame.length;
        } else {
          assertEqual(frame.length, 0, "no empty frame");
        }
        const skip = skippableFrame(textBytes(20 + i, 50 + i), i);
        assertEqual(core.zstd.frameSizeAt(skip, 0), skip.length, "skippable frame size");
        parts.push(skip);
        offset += skip.length;
      });
      c.free();
      const blob = concat(...parts);
      for (const f of frames) {
        assertEqual(core.zstd.frameSizeAt(blob, f.offset), f.size, `frameSizeAt ${f.offset}`);
        const r = core.zstd.decompressFrameAt(blob, f.offset);
        assertEqual(r.frameSize, f.size, `decompressFrameAt(${f.offset}).frameSize`);
        assertBytesEqual(r.data, f.data, `decompressFrameAt(${f.offset}).data`);
      }
      const all = concat(...files);
      assertBytesEqual(core.zstd.decompress(blob), all, "all frames, skippable skipped");
      artifact("zstd-multiframe-skippable.zst", blob, all);
      const nocheck = core.zstd.compress(files[0]!, { checksum: false });
      assert((nocheck[4]! & 4) === 0, "checksum: false clears the flag");
      artifact("zstd-nochecksum.zst", nocheck, files[0]!);
    },
  },
  {
    name: "zstd: typed errors (corrupt, checksum, truncated), instance usable afterwards",
    async run({ core }) {
      const zstd = core.zstd;
      const data = textBytes(200_000, 8);
      const frame = zstd.compress(data);
      const corrupt = frame.slice();
      corrupt[corrupt.length >> 1]! ^= 0x5a;
      await assertThrowsCode(() => zstd.decompress(corrupt), "ZSTD_CORRUPT", "corrupt byte");
      stillWorks(zstd, "corrupt");
      const sum = frame.slice();
      sum[sum.length - 1]! ^= 1;
      await assertThrowsCode(() => zstd.decompress(sum), "ZSTD_CORRUPT", "checksum flip");
      await assertThrowsCode(() => zstd.decompressFrameAt(sum, 0), "ZSTD_CORRUPT", "checksum flip, decompressFrameAt");
      stillWorks(zstd, "checksum");
      const cut = frame.subarray(0, frame.length - 10);
      await assertThrowsCode(() => zstd.decompress(cut), "ZSTD_TRUNCATED", "truncated decompress");
      await assertThrowsCode(() => zstd.decompressFrameAt(cut, 0), "ZSTD_TRUNCATED", "truncated decompressFrameAt");
      const d = zstd.createDecompressor();
      d.write(cut);
      await assertThrowsCode(() => d.end(), "ZSTD_TRUNCATED", "truncated end()");
      d.free();
      stillWorks(zstd, "truncated");
    },
  },
  {
    name: "zstd: window limit, maxOutput, bad usage",
    async run({ core }) {
      const zstd = core.zstd;
      const wide = wideWindowFrame(28);
      assertEqual(
        new TextDecoder().decode(zstd.decompress(wide, { maxWindowLog: 28 })),
        "hello",
        "2^28 window accepted with maxWindowLog 28",
      );
      await assertThrowsCode(() => zstd.decompress(wide), "ZSTD_WINDOW_TOO_LARGE", "2^28 window over the default 2^27");
      await assertThrowsCode(() => zstd.decompressFrameAt(wide, 0), "ZSTD_WINDOW_TOO_LARGE", "decompressFrameAt window");
      assertEqual(new TextDecoder().decode(zstd.decompress(wideWindowFrame(27))), "hello", "2^27 window accepted by default");
      stillWorks(zstd, "window");

      const data = textBytes(300_000, 9);
      const c = zstd.createCompressor();
      const streamed = concat(c.write(data), c.endFrame());
      c.free();
      await assertThrowsCode(() => zstd.decompress(streamed, { maxOutput: 1000 }), "ZSTD_FRAME_TOO_LARGE", "maxOutput, streamed frame");
      await assertThrowsCode(
        () => zstd.decompressFrameAt(zstd.compress(data), 0, { maxOutput: 1000 }),
        "ZSTD_FRAME_TOO_LARGE",
        "maxOutput, sized frame",
      );
      assertEqual(zstd.decompress(streamed, { maxOutput: data.length }).length, data.length, "maxOutput = exact size is fine");
      stillWorks(zstd, "maxOutput");

      const c2 = zstd.createCompressor();
      c2.free();
      await assertThrowsCode(() => c2.write(data), "ZSTD_BAD_USAGE", "write after free");
      const d = zstd.createDecompressor();
      d.end();
      await assertThrowsCode(() => d.write(streamed), "ZSTD_BAD_USAGE", "write after end");
      d.free();
      await assertThrowsCode(() => d.end(), "ZSTD_BAD_USAGE", "end after free");
      stillWorks(zstd, "bad usage");
    },
  },
];
