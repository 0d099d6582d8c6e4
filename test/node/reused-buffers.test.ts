/**
 * Reading and writing with reused buffers (BYOB): src/util/bytes.ts `ByteReader` with
 * `reuseBuffer`, `TarReader` over it (header bytes kept while a reused buffer moves on),
 * src/util/async-queue.ts `byteStreamFromGenerator`, the `createLayer` relay
 * (src/util/deferred-writer.ts) and src/source/node-file-stream.ts. Each path is compared with
 * plain default-reader streams over the same bytes.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fileHandleStream } from "../../src/source/node-file-stream.js";
import { type TarEntry, TarReader } from "../../src/tar/reader.js";
import { byteStream, byteStreamFromGenerator } from "../../src/util/async-queue.js";
import { ByteReader, concatBytes } from "../../src/util/bytes.js";
import { deferredWriter } from "../../src/util/deferred-writer.js";
import * as tars from "../fixtures/tars.js";
import { byteStreamOf, streamOf } from "../support/streams.js";

/** Byte equality without vitest's element-by-element diffing of large arrays. */
function expectSame(got: Uint8Array, want: Uint8Array, what?: string): void {
  expect(Buffer.compare(got, want), what).toBe(0);
}

const work = mkdtempSync(join(tmpdir(), "layerkit-byob-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Everything a ByteReader gives, copied out as it comes (views may be reused). */
async function drain(reader: ByteReader, step: (r: ByteReader) => Promise<Uint8Array | null>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let p = await step(reader); p !== null && p.length > 0; p = await step(reader)) parts.push(p.slice());
  return concatBytes(parts);
}

describe("ByteReader with reuseBuffer", () => {
  const data = tars.randomBytes(100_000, 3);

  it("reads a byte stream into one buffer: same bytes, every piece shown to onPiece", async () => {
    const seen: Uint8Array[] = [];
    const reader = new ByteReader(byteStreamOf(data, 3000), { reuseBuffer: 1024, onPiece: (p) => seen.push(p.slice()) });
    expect(reader.reusesBuffer).toBe(true);
    const got = await drain(reader, (r) => r.readSome(777));
    expectSame(got, data);
    expectSame(concatBytes(seen), data);
    // Reads of the reused buffer never exceed its size.
    expect(Math.max(...seen.map((p) => p.length))).toBe(1024);
  });

  it("readFull across several reads of the reused buffer returns whole, correct bytes", async () => {
    const reader = new ByteReader(byteStreamOf(data, 100), { reuseBuffer: 256 });
    const a = await reader.readFull(5000);
    const b = await reader.readFull(3);
    const c = await reader.readFull(200_000);
    expectSame(a, data.subarray(0, 5000));
    expectSame(b, data.subarray(5000, 5003));
    expectSame(c, data.subarray(5003));
    expect(await reader.readSome()).toBeNull();
  });

  it("reads other sources as before (onPiece included)", async () => {
    let n = 0;
    const reader = new ByteReader(streamOf(data, 4096), { reuseBuffer: 1024, onPiece: (p) => (n += p.length) });
    expect(reader.reusesBuffer).toBe(false);
    expectSame(await drain(reader, (r) => r.readSome()), data);
    expect(n).toBe(data.length);
    const whole = new ByteReader(data, { onPiece: (p) => expect(p.length).toBe(data.length) });
    expectSame(await whole.readFull(data.length), data);
  });

  it("cancel releases the byte stream", async () => {
    let cancelled = false;
    const s = new ReadableStream({
      type: "bytes",
      pull(c) {
        const r = c.byobRequest!;
        (r.view as Uint8Array)[0] = 1;
        r.respond(1);
      },
      cancel() {
        cancelled = true;
      },
    });
    const reader = new ByteReader(s as ReadableStream<Uint8Array>, { reuseBuffer: 16 });
    await reader.readSome();
    await reader.cancel();
    expect(cancelled).toBe(true);
  });
});

describe("TarReader over a reused buffer", () => {
  const cases: Record<string, () => Uint8Array> = {
    kitchenSink: tars.kitchenSinkTar,
    longNames: tars.longNamesTar,
    xattrs: tars.xattrsTar,
    paxTimes: tars.paxTimesTar,
    gnuFormat: tars.gnuFormatTar,
    trailing: () => tars.trailingPaddingTar(3000),
  };
  const summary = (e: TarEntry, data: Uint8Array) => ({
    header: e.header,
    raw: e.raw.slice(),
    offset: e.offset,
    dataSize: e.dataSize,
    data,
  });

  for (const [name, make] of Object.entries(cases)) {
    it(`${name}: entries, raw header bytes, payloads and end bytes equal a plain read (pieces of 1..997 bytes)`, async () => {
      const tar = make();
      const read = async (r: TarReader) => {
        const out = [];
        for (let e = await r.next(); e; e = await r.next()) {
          // Take the entry's bytes before reading on: with a reused buffer they are valid until then.
          const raw = e.raw.slice();
          const header = structuredClone(e.header);
          const data = await drain(new ByteReader([]), async () => {
            const p = await r.read(333);
            return p && p.slice();
          });
          out.push({ ...summary(e, data), raw, header });
        }
        return {
          out,
          end: r.endBytes.slice(),
          trailing: await drain(new ByteReader([]), async () => (await r.trailing().next()).value ?? null),
        };
      };
      const expected = await read(new TarReader(streamOf(tar, 4096)));
      for (const piece of [1, 7, 512, 997]) {
        const reused = new TarReader(byteStreamOf(tar, piece), { reuseBuffer: 600 });
        expect(await read(reused), `pieces of ${piece}`).toEqual(expected);
      }
    });
  }
});

describe("byteStreamFromGenerator", () => {
  const pieces = [tars.randomBytes(4096, 1), tars.randomBytes(10, 2), new Uint8Array(0), tars.randomBytes(5000, 3)];
  async function* gen() {
    for (const p of pieces) yield p.slice();
  }

  it("fills BYOB views of any size and hands each piece back once it is copied", async () => {
    for (const size of [1, 999, 4096, 65536]) {
      const recycled: number[] = [];
      const reader = new ByteReader(byteStreamFromGenerator(gen(), (p) => recycled.push(p.length)), { reuseBuffer: size });
      expectSame(await drain(reader, (r) => r.readSome()), concatBytes(pieces));
      expect(recycled, `views of ${size}`).toEqual([4096, 10, 5000]);
    }
  });

  it("gives a default reader the pieces themselves and recycles nothing", async () => {
    const recycled: Uint8Array[] = [];
    const r = byteStreamFromGenerator(gen(), (p) => recycled.push(p)).getReader();
    const got: Uint8Array[] = [];
    for (let x = await r.read(); !x.done; x = await r.read()) got.push(x.value);
    expect(got.map((p) => p.length)).toEqual([4096, 10, 5000]);
    expectSame(concatBytes(got), concatBytes(pieces));
    expect(recycled).toEqual([]);
  });

  it("cancel reaches the generator", async () => {
    let finished = false;
    async function* forever() {
      try {
        for (;;) yield new Uint8Array(100);
      } finally {
        finished = true;
      }
    }
    const r = byteStreamFromGenerator(forever(), () => {}).getReader();
    await r.read();
    await r.cancel(new Error("stop"));
    expect(finished).toBe(true);
  });
});

describe("byteStream", () => {
  it("falls back to a plain stream where the runtime has no byte streams (Safari before 26.4)", async () => {
    const chunks = [tars.randomBytes(3000, 4), tars.randomBytes(10, 5)];
    const requests: unknown[] = [];
    const make = (byteStreams: boolean) => {
      let i = 0;
      return byteStream(
        {
          async pull(c) {
            requests.push(c.byobRequest);
            if (i < chunks.length) c.enqueue(chunks[i++]!.slice());
            else c.close();
          },
          async cancel() {},
        },
        byteStreams,
      );
    };
    const plain = new ByteReader(make(false), { reuseBuffer: 1024 });
    expect(plain.reusesBuffer).toBe(false);
    expectSame(await drain(plain, (r) => r.readSome()), concatBytes(chunks));
    expect(requests.every((r) => r === undefined || r === null)).toBe(true);
    expect(new ByteReader(make(true), { reuseBuffer: 1024 }).reusesBuffer).toBe(true);
  });
});

describe("deferredWriter relay", () => {
  const bytes = tars.randomBytes(50_000, 9);
  const over = (stream: ReadableStream<Uint8Array>) => deferredWriter(async () => ({ stream, result: Promise.resolve(1) }));

  it("passes BYOB reads through to a byte stream, and copies for other streams", async () => {
    for (const make of [() => byteStreamOf(bytes, 3000), () => streamOf(bytes, 3000)]) {
      for (const size of [100, 4096, 100_000]) {
        const reader = new ByteReader(over(make()).stream, { reuseBuffer: size });
        expect(reader.reusesBuffer).toBe(true);
        expectSame(await drain(reader, (r) => r.readSome()), bytes);
      }
    }
  });

  it("gives default readers whole arrays and copies of partial views", async () => {
    const shared = bytes.slice();
    // Views into one buffer: the relay must not transfer (detach) it.
    const views = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(shared.subarray(0, 20_000));
        c.enqueue(shared.subarray(20_000));
        c.close();
      },
    });
    const r = over(views).stream.getReader();
    const got: Uint8Array[] = [];
    for (let x = await r.read(); !x.done; x = await r.read()) got.push(x.value);
    expectSame(concatBytes(got), bytes);
    expect(shared.length).toBe(bytes.length); // not detached
  });
});

describe("fileHandleStream", () => {
  const bytes = tars.randomBytes(3_000_000, 5);
  const path = join(work, "f.bin");
  writeFileSync(path, bytes);

  it("serves default readers chunkSize arrays and BYOB readers into their own buffer, reporting progress", async () => {
    const reports: Array<[number, boolean]> = [];
    const d = fileHandleStream(await open(path, "r"), {
      chunkSize: 1 << 20,
      readError: (e) => e as Error,
      onRead: (n, end) => reports.push([n, end]),
    });
    const r = d.getReader();
    const got: Uint8Array[] = [];
    for (let x = await r.read(); !x.done; x = await r.read()) got.push(x.value);
    expect(got.map((p) => p.length)).toEqual([1 << 20, 1 << 20, bytes.length - (2 << 20)]);
    expectSame(concatBytes(got), bytes);
    expect(reports.at(-1)).toEqual([bytes.length, true]);
    expect(reports.filter(([, end]) => !end).map(([n]) => n)).toEqual([1 << 20, 2 << 20, bytes.length]);

    const b = new ByteReader(fileHandleStream(await open(path, "r"), { readError: (e) => e as Error }), { reuseBuffer: 64 * 1024 });
    expect(b.reusesBuffer).toBe(true);
    expectSame(await drain(b, (x) => x.readSome()), bytes);
  });

  it("fails with readError when a read fails", async () => {
    const handle = await open(path, "r");
    await handle.close(); // reads now fail with EBADF
    const s = fileHandleStream(handle, { readError: (e) => new Error("wrapped: " + (e as Error).message) });
    await expect(s.getReader().read()).rejects.toThrow(/^wrapped: /);
  });
});
