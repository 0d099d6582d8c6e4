/**
 * go-time: exact instants, Go's MarshalJSON text and RFC 3339 parsing, checked against the
 * JavaScript Date implementation (an independent calendar) on random instants across years
 * 0000-9999, plus the typed errors for values Go cannot represent or parse. The comparison with
 * Go itself is in toc-json.test.ts.
 */
import { describe, expect, it } from "vitest";
import { LayerkitError } from "../../src/errors.js";
import {
  compareInstants,
  formatGoTime,
  formatInstant,
  GO_ZERO_UNIX,
  instant,
  isGoZero,
  isUnixEpoch,
  MAX_MARSHAL_UNIX,
  MIN_MARSHAL_UNIX,
  parseRfc3339,
  sameInstant,
  tocTimesMatch,
} from "../../src/go/time.js";

/** Seeded pseudo-random integers in [0, n). */
function lcg(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n) => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const hi = x;
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return Math.floor(((hi * 2 ** 32 + x) / 2 ** 64) * n);
  };
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof LayerkitError) return e.code;
    throw e;
  }
  return "ok";
}

/** Date's ISO text of an instant, rewritten to Go's form (no fraction when zero, nanoseconds, zeros trimmed). */
function viaDate(sec: number, nsec: number): string {
  const iso = new Date(sec * 1000).toISOString(); // YYYY-MM-DDTHH:mm:ss.000Z for years 0000-9999
  const base = iso.slice(0, 19);
  return nsec === 0 ? base + "Z" : `${base}.${String(nsec).padStart(9, "0").replace(/0+$/, "")}Z`;
}

describe("instants", () => {
  it("normalise nanoseconds like time.Unix, and refuse what is not exact", () => {
    expect(instant(10, -1)).toEqual({ sec: 9, nsec: 999999999 });
    expect(instant(10, 2_500_000_000)).toEqual({ sec: 12, nsec: 500_000_000 });
    expect(instant(-1n, 0)).toEqual({ sec: -1, nsec: 0 });
    expect(code(() => instant(1, 0.5))).toBe("BAD_ARGUMENT");
    expect(code(() => instant(2 ** 53))).toBe("OUT_OF_RANGE");
    expect(code(() => instant(1n << 60n))).toBe("OUT_OF_RANGE");
    expect(code(() => instant(Number.NaN))).toBe("OUT_OF_RANGE");
  });

  it("order, equality, Go's zero time and the epoch", () => {
    expect(compareInstants({ sec: 1, nsec: 5 }, { sec: 1, nsec: 6 })).toBeLessThan(0);
    expect(compareInstants({ sec: 2, nsec: 0 }, { sec: 1, nsec: 999999999 })).toBeGreaterThan(0);
    expect(sameInstant(instant(0, 1e9), { sec: 1, nsec: 0 })).toBe(true);
    expect(isGoZero({ sec: GO_ZERO_UNIX, nsec: 0 })).toBe(true);
    expect(isGoZero({ sec: GO_ZERO_UNIX, nsec: 1 })).toBe(false);
    expect(isUnixEpoch({ sec: 0, nsec: 0 })).toBe(true);
    expect(formatGoTime(GO_ZERO_UNIX)).toBe(viaDate(GO_ZERO_UNIX, 0));
  });
});

describe("formatGoTime / parseRfc3339", () => {
  it("agree with Date's calendar on 5000 random instants in years 0000-9999, and round-trip exactly", () => {
    const rnd = lcg(42);
    for (let i = 0; i < 5000; i++) {
      const sec = MIN_MARSHAL_UNIX + rnd(MAX_MARSHAL_UNIX - MIN_MARSHAL_UNIX + 1);
      const nsec = i % 4 === 0 ? 0 : i % 4 === 1 ? rnd(1000) * 1_000_000 : rnd(1e9);
      const text = formatGoTime(sec, nsec);
      expect(text, `${sec}.${nsec}`).toBe(viaDate(sec, nsec));
      expect(formatInstant({ sec, nsec })).toBe(text);
      expect(parseRfc3339(text)).toEqual({ sec, nsec });
    }
  });

  it("parses any zone offset to the same instant Date does", () => {
    const rnd = lcg(7);
    for (let i = 0; i < 2000; i++) {
      const sec = rnd(2 ** 34) - 2 ** 33 / 4;
      const off = (rnd(24 * 60 * 2 - 1) - (24 * 60 - 1)) * 60; // -23:59 .. +23:59
      const local = new Date((sec + off) * 1000).toISOString().slice(0, 19);
      const sign = off < 0 ? "-" : "+";
      const a = Math.abs(off) / 60;
      const s = `${local}${sign}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
      expect(parseRfc3339(s), s).toEqual({ sec, nsec: 0 });
      expect(parseRfc3339(s).sec * 1000).toBe(Date.parse(s));
    }
  });

  it("years Go cannot marshal are OUT_OF_RANGE; malformed text is the caller's code with the value", () => {
    expect(code(() => formatGoTime(MAX_MARSHAL_UNIX + 1))).toBe("OUT_OF_RANGE");
    expect(code(() => formatGoTime(MIN_MARSHAL_UNIX - 1))).toBe("OUT_OF_RANGE");
    expect(code(() => formatGoTime(MAX_MARSHAL_UNIX, 999_999_999))).toBe("ok");
    for (
      const bad of [
        "",
        "2023-02-29T00:00:00Z",
        "2023-11-14T22:13:20",
        "2023-11-14T25:00:00Z",
        "２０２３-11-14T22:13:20Z",
        "2023-11-14T22:13:20.Z",
      ]
    ) {
      let e: unknown;
      try {
        parseRfc3339(bad, "BAD_TOC");
      } catch (err) {
        e = err;
      }
      expect(e, bad).toBeInstanceOf(LayerkitError);
      expect((e as LayerkitError).code).toBe("BAD_TOC");
      expect((e as LayerkitError).details["value"]).toBe(bad);
    }
  });

  it("fraction digits beyond nine are truncated, not rounded", () => {
    expect(parseRfc3339("2000-01-01T00:00:00.9999999999Z")).toEqual({ sec: 946684800, nsec: 999_999_999 });
  });
});

describe("tocTimesMatch", () => {
  it("treats absent, Go's zero time and the epoch as 'no time', and compares instants across zones", () => {
    expect(tocTimesMatch(undefined, "0001-01-01T00:00:00Z")).toBe(true);
    expect(tocTimesMatch("1970-01-01T00:00:00Z", undefined)).toBe(true);
    expect(tocTimesMatch("1970-01-01T01:00:00+01:00", "0001-01-01T00:00:00Z")).toBe(true);
    expect(tocTimesMatch("2023-11-14T22:13:20.5Z", "2023-11-14T23:13:20.500+01:00")).toBe(true);
    expect(tocTimesMatch("2023-11-14T22:13:20.5Z", "2023-11-14T22:13:20.500000001Z")).toBe(false);
    expect(tocTimesMatch("2023-11-14T22:13:20Z", undefined)).toBe(false);
    expect(code(() => tocTimesMatch("yesterday", undefined))).toBe("BAD_TOC");
    expect(code(() => tocTimesMatch(undefined, "nope", "BAD_TAR_SPLIT"))).toBe("BAD_TAR_SPLIT");
  });
});
