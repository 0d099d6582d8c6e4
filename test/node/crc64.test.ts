import { describe, expect, it } from "vitest";
import { Crc64, crc64 } from "../../src/util/crc64.js";
import { base64Decode, base64Encode } from "../../src/go/base64.js";
import { isLayerkitError } from "../../src/errors.js";
import { randomBytes } from "../fixtures/tars.js";

const enc = new TextEncoder();
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** Bit-at-a-time reference: reflected ISO polynomial, init ~0, xorout ~0. */
function referenceCrc64(data: Uint8Array): bigint {
  const poly = 0xd800000000000000n;
  let crc = 0xffffffffffffffffn;
  for (const b of data) {
    crc ^= BigInt(b);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc ^ 0xffffffffffffffffn;
}

describe("crc64 (Go hash/crc64 ISO table)", () => {
  it("matches the check value and the spec example", () => {
    expect(new Crc64().update(enc.encode("123456789")).hex()).toBe("b90956c775a41001");
    expect(base64Encode(crc64(enc.encode("hello world\n")))).toBe("ROnPP1cq2aw=");
    expect(hex(crc64(enc.encode("hello world\n")))).toBe("44e9cf3f572ad9ac");
  });

  it("is zero for empty input, serialised big-endian", () => {
    expect(hex(crc64(new Uint8Array(0)))).toBe("0000000000000000");
    const s = crc64(enc.encode("123456789"));
    expect(Array.from(s.subarray(0, 2))).toEqual([0xb9, 0x09]);
  });

  it("agrees with a bitwise reference on random lengths", () => {
    for (const n of [1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4099]) {
      const d = randomBytes(n, n);
      expect(new Crc64().update(d).hex()).toBe(referenceCrc64(d).toString(16).padStart(16, "0"));
    }
  });

  it("is independent of how the input is split, and can be reset", () => {
    const d = randomBytes(100_003, 3);
    const whole = new Crc64().update(d).hex();
    for (const step of [1, 3, 8, 13, 4096]) {
      const c = new Crc64();
      for (let i = 0; i < d.length; i += step) c.update(d.subarray(i, i + step));
      expect(c.hex()).toBe(whole);
    }
    const c = new Crc64().update(d);
    c.reset().update(enc.encode("123456789"));
    expect(c.hex()).toBe("b90956c775a41001");
    // sum() does not finish the CRC.
    const inc = new Crc64().update(enc.encode("1234"));
    inc.sum();
    expect(inc.update(enc.encode("56789")).hex()).toBe("b90956c775a41001");
  });
});

describe("base64 (Go StdEncoding)", () => {
  it("round-trips every length with padding", () => {
    for (let n = 0; n < 20; n++) {
      const d = randomBytes(n, n + 1);
      const s = base64Encode(d);
      expect(s).toBe(Buffer.from(d).toString("base64"));
      expect(Array.from(base64Decode(s))).toEqual(Array.from(d));
    }
  });

  it("ignores CR/LF and rejects malformed input with a position", () => {
    expect(Array.from(base64Decode("AQ\r\nID"))).toEqual([1, 2, 3]);
    for (const bad of ["A", "AB=", "A===", "AB=C", "*AAA", "AAAA=", "AB==CD=="]) {
      let err: unknown;
      try {
        base64Decode(bad, "BAD_TAR_SPLIT");
      } catch (e) {
        err = e;
      }
      expect(isLayerkitError(err, "BAD_TAR_SPLIT"), bad).toBe(true);
    }
  });

  it("tolerates non-zero unused bits like Go's non-strict mode", () => {
    expect(Array.from(base64Decode("AB=="))).toEqual([0]);
  });
});
