/**
 * src/util/base64.ts against Node's Buffer (an independent implementation) on valid input, and
 * Go `base64.StdEncoding` rules on invalid input (typed errors with the position); plus
 * src/util/bytes.ts: Go byte strings (invalid UTF-8 kept exactly), byte order comparison, and the
 * buffered ByteReader over pieces of any size.
 */
import { describe, expect, it } from "vitest";
import { base64Decode, base64Encode, base64EncodeInto, base64Length } from "../../src/go/base64.js";
import { ByteReader, concatBytes, iterateSource } from "../../src/util/bytes.js";
import { compareGoStrings, goString, goStringBytes, goStringLength, hasInvalidUtf8 } from "../../src/go/strings.js";
import { randomBytes } from "../fixtures/tars.js";
import { expectCode } from "../support/registry.js";

describe("base64", () => {
  it("encodes and decodes like Buffer for every length 0..600 and one large input", () => {
    for (let n = 0; n <= 600; n++) {
      const b = randomBytes(n, n + 1);
      const text = base64Encode(b);
      expect(text, `length ${n}`).toBe(Buffer.from(b).toString("base64"));
      expect(base64Decode(text)).toEqual(b);
    }
    const big = randomBytes(100_000, 9);
    const text = base64Encode(big);
    expect(text).toBe(Buffer.from(big).toString("base64"));
    expect(Buffer.from(base64Decode(text)).equals(Buffer.from(big))).toBe(true);
  });

  it("base64EncodeInto writes the same text as ASCII bytes at any offset", () => {
    for (let n = 0; n <= 300; n++) {
      const data = randomBytes(n, n + 1);
      const out = new Uint8Array(5 + base64Length(n) + 3).fill(0xee);
      const end = base64EncodeInto(data, out, 5);
      expect(end).toBe(5 + base64Length(n));
      expect(Buffer.from(out.subarray(5, end)).toString("latin1")).toBe(Buffer.from(data).toString("base64"));
      expect([...out.subarray(0, 5), ...out.subarray(end)].every((b) => b === 0xee)).toBe(true);
    }
  });

  it("skips \\r and \\n anywhere, as Go does", () => {
    const b = randomBytes(100, 3);
    const wrapped = base64Encode(b).replace(/(.{7})/g, "$1\r\n");
    expect(base64Decode(wrapped)).toEqual(b);
  });

  it("tolerates non-zero unused bits in the last quantum (Go's non-strict StdEncoding)", () => {
    expect(base64Decode("QR==")).toEqual(Uint8Array.of(0x41));
    expect(base64Decode("QUJ=")).toEqual(Uint8Array.of(0x41, 0x42));
  });

  it("malformed input throws the caller's code with the failing position", async () => {
    const cases: Array<[string, number]> = [
      ["A", 0],
      ["AAAAA", 4],
      ["AA=A", 2],
      ["A===", 1],
      ["====", 0],
      ["AB!D", 2],
      ["AB-_", 2], // URL alphabet is not standard
      ["AAAA====", 4],
      ["AAAé", 3],
    ];
    for (const [text, pos] of cases) {
      const e = await expectCode(() => base64Decode(text, "BAD_TOC", "xattr"), "BAD_TOC");
      expect(e.details["position"], text).toBe(pos);
      expect(e.message).toContain("xattr");
    }
    await expectCode(() => base64Decode("A"), "BAD_ARGUMENT");
    // Go reports the space (position 2); we report the length first (position 4): same error, other position.
    await expectCode(() => base64Decode("AA AA"), "BAD_ARGUMENT");
  });
});

describe("Go byte strings", () => {
  it("goString keeps every byte of random (mostly invalid) UTF-8, and decodes valid UTF-8 as TextDecoder does", () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const b = randomBytes(seed % 64, seed);
      const s = goString(b);
      expect(goStringBytes(s), `seed ${seed}`).toEqual(b);
      expect(goStringLength(s)).toBe(b.length);
      let valid = true;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(b);
      } catch {
        valid = false;
      }
      expect(hasInvalidUtf8(s), `seed ${seed}`).toBe(!valid);
      if (valid) expect(s).toBe(new TextDecoder().decode(b));
    }
    // Long ASCII takes the other path.
    const ascii = new Uint8Array(5000).fill(0x61);
    expect(goString(ascii)).toBe("a".repeat(5000));
  });

  it("lone surrogates that goString never makes become U+FFFD's bytes", () => {
    expect(goStringBytes("a\ud800b")).toEqual(Uint8Array.of(0x61, 0xef, 0xbf, 0xbd, 0x62));
    expect(goStringBytes("\u{1F600}")).toEqual(new TextEncoder().encode("\u{1F600}"));
    expect(hasInvalidUtf8("\u{1F600}")).toBe(false);
    expect(hasInvalidUtf8("\udc80")).toBe(true);
  });

  it("compareGoStrings is byte order (Buffer.compare), not UTF-16 order", () => {
    const words = ["a", "b", "ab", "", "\uFF21", "\u{1F600}", "é", "\udcff", "\u007f", "Z"];
    for (const a of words) {
      for (const b of words) {
        expect(Math.sign(compareGoStrings(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(
          Buffer.compare(Buffer.from(goStringBytes(a)), Buffer.from(goStringBytes(b))),
        );
      }
    }
    // UTF-16 order would put U+FF21 after the emoji's surrogates' opposite.
    expect(compareGoStrings("\uFF21", "\u{1F600}")).toBeLessThan(0);
  });
});

describe("ByteReader", () => {
  const data = randomBytes(10_000, 5);
  const sources = {
    bytes: () => data,
    array: () => [data.subarray(0, 1), data.subarray(1, 4000), new Uint8Array(0), data.subarray(4000)],
    stream: () =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < data.length; i += 333) c.enqueue(data.slice(i, i + 333));
          c.close();
        },
      }),
  };

  for (const [name, make] of Object.entries(sources)) {
    it(`${name}: readFull, readSome, skip, readExact and atEnd account for every byte`, async () => {
      const r = new ByteReader(make());
      expect(await r.readFull(0)).toHaveLength(0);
      expect(await r.readFull(1000)).toEqual(data.subarray(0, 1000));
      const some = await r.readSome(50);
      expect(some!.length).toBeGreaterThan(0);
      expect(some!.length).toBeLessThanOrEqual(50);
      expect(some).toEqual(data.subarray(1000, 1000 + some!.length));
      const at = r.position;
      expect(await r.skip(5000)).toBe(5000);
      expect(r.position).toBe(at + 5000);
      const rest = data.length - r.position;
      const e = await expectCode(r.readExact(rest + 1, "the tail"), "TRUNCATED");
      expect(e.details).toMatchObject({ expected: rest + 1, got: rest });
      expect(await r.atEnd()).toBe(true);
      expect(await r.readSome()).toBeNull();
      expect(await r.skip(10)).toBe(0);
    });
  }

  it("pieces that are not Uint8Array are BAD_ARGUMENT; cancel releases a stream", async () => {
    await expectCode(new ByteReader(["nope" as unknown as Uint8Array]).readSome(), "BAD_ARGUMENT");
    const bad = new ReadableStream({
      start(c) {
        c.enqueue("text");
        c.close();
      },
    }) as unknown as ReadableStream<Uint8Array>;
    await expectCode(iterateSource(bad).next(), "BAD_ARGUMENT");
    let cancelled = false;
    const s = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(Uint8Array.of(1));
      },
      cancel() {
        cancelled = true;
      },
    });
    const r = new ByteReader(s);
    await r.readSome();
    await r.cancel();
    expect(cancelled).toBe(true);
    expect(await r.readSome()).toBeNull();
  });

  it("concatBytes joins in order and returns a lone part as is", () => {
    const a = Uint8Array.of(1, 2);
    expect(concatBytes([a])).toBe(a);
    expect(concatBytes([a, Uint8Array.of(), Uint8Array.of(3)])).toEqual(Uint8Array.of(1, 2, 3));
    expect(concatBytes([])).toEqual(new Uint8Array(0));
  });
});
