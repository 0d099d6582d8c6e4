/**
 * src/util/compact-string-set.ts against the built-in Set<string> (the behaviour it replaces):
 * the same answers for random names, for strings that differ only in ways an encoder could blur
 * (lone surrogates, surrogate pairs, U+FFFD, NUL), for long strings and across many rehashes.
 */
import { describe, expect, it } from "vitest";
import { CompactStringSet } from "../../src/util/compact-string-set.js";
import { rng } from "../fixtures/tars.js";

const ALPHABET = ["a", "b", "/", ".", "é", "€", "\u{1F600}", "\ud800", "\udc00", "\ufffd", "\0", "Z"];

function randomName(next: () => number): string {
  let s = "";
  const n = Math.floor(next() * 12);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return s;
}

describe("CompactStringSet", () => {
  it("answers like Set<string> over 200,000 random operations on awkward names", () => {
    const next = rng(7);
    const ours = new CompactStringSet();
    const ref = new Set<string>();
    for (let i = 0; i < 200_000; i++) {
      const name = randomName(next);
      if (next() < 0.3) {
        expect(ours.has(name), JSON.stringify(name)).toBe(ref.has(name));
      } else {
        expect(ours.add(name), JSON.stringify(name)).toBe(!ref.has(name));
        ref.add(name);
      }
    }
    expect(ours.size).toBe(ref.size);
    expect(ref.size).toBeGreaterThan(10_000); // the table rehashed many times
  });

  it("keeps strings apart that a UTF-8 encoder with replacement would merge", () => {
    const set = new CompactStringSet();
    const distinct = ["\ud800", "\udbff", "\udc00", "\ufffd", "\ud800\udc00", "\u{10000}x", "\udc00\ud800", "", "\0", "\0\0"];
    for (const s of distinct) expect(set.add(s), JSON.stringify(s)).toBe(true);
    for (const s of distinct) expect(set.add(s), JSON.stringify(s)).toBe(false);
    // A surrogate pair written as two code units is the same JS string as the code point.
    expect(set.has("\u{10000}x")).toBe(true);
    expect(set.size).toBe(distinct.length);
  });

  it("stores long strings and many short ones beyond its initial buffers", () => {
    const set = new CompactStringSet();
    const long = "x/".repeat(300_000);
    expect(set.add(long)).toBe(true);
    expect(set.has(long)).toBe(true);
    expect(set.has(long + "y")).toBe(false);
    expect(set.has(long.slice(1))).toBe(false);
    for (let i = 0; i < 100_000; i++) expect(set.add(`usr/lib/file-${i}`)).toBe(true);
    for (let i = 0; i < 100_000; i += 997) expect(set.add(`usr/lib/file-${i}`)).toBe(false);
    expect(set.has("usr/lib/file-100000")).toBe(false);
    expect(set.size).toBe(100_001);
  });
});
