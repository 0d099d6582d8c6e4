/**
 * Property tests (fast-check, seeded, fixed numRuns): TOC serialize → parse → serialize for both
 * seekable formats. zstd:chunked's byte-exact c/storage JSON (serializeToc) and eStargz's
 * MarshalIndent JSON (marshalTocText), read back by the one TOC parser (parseRawToc): the parsed
 * entries carry every non-empty field unchanged, and writing them again gives the same text.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type EstargzToc, marshalTocText } from "../../src/formats/estargz/toc.js";
import { serializeToc } from "../../src/formats/zstd-chunked/toc-json.js";
import type { Toc, TocEntry } from "../../src/layer/toc.js";
import { parseRawToc } from "../../src/layer/toc-parse.js";

const params = { seed: 18, numRuns: 200 };
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const digest = hex64.map((h) => "sha256:" + h);
const name = fc.oneof(
  fc.stringMatching(/^[a-z0-9._-]{1,12}(\/[a-z0-9._-]{1,12}){0,3}$/),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }),
);
const time = fc.date({ min: new Date("1970-01-02T00:00:00Z"), max: new Date("2200-01-01T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString().replace(/\.\d+Z$/, "Z"));
const uint = fc.oneof(fc.constant(0), fc.nat(0o7777), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
const base64 = fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString("base64"));
const xattrs = fc.dictionary(fc.stringMatching(/^user\.[a-z]{1,8}$/), base64, { maxKeys: 3 });

const entry: fc.Arbitrary<TocEntry> = fc.record(
  {
    type: fc.constantFrom("reg", "dir", "symlink", "hardlink", "char", "block", "fifo", "chunk"),
    name,
    linkName: name,
    mode: uint,
    size: uint,
    uid: uint,
    gid: uint,
    modtime: time,
    devMajor: fc.nat(255),
    devMinor: fc.nat(255),
    xattrs,
    digest,
    offset: uint,
    endOffset: uint,
    chunkSize: uint,
    chunkOffset: uint,
    chunkDigest: digest,
    chunkType: fc.constant("zeros" as const),
  },
  { requiredKeys: ["type", "name"] },
);

/** What a writer with `omitempty` keeps of an entry: non-zero numbers, non-empty strings and maps. */
function kept(e: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (v === undefined || v === 0 || (v === "" && k !== "name" && k !== "type")) continue;
    if (typeof v === "object" && v !== null && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out;
}

describe("TOC serialize ↔ parse", () => {
  it("zstd:chunked: parseRawToc(serializeToc(t)) has t's fields, and serializes to the same text", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), fc.option(digest, { nil: undefined }), (entries, tarSplitDigest) => {
        const toc: Toc = { version: 1, entries, ...(tarSplitDigest ? { tarSplitDigest } : {}) };
        const text = serializeToc(toc);
        const parsed = parseRawToc(text).toc;
        expect(parsed.entries!.map(kept)).toEqual(entries.map(kept));
        expect(serializeToc(parsed)).toBe(text);
      }),
      params,
    );
  });

  it("eStargz: parseRawToc(marshalTocText(t)) has t's fields, and marshals to the same text", () => {
    const estargzEntry = entry.map((e) => {
      // eStargz's JTOC has no endOffset/accesstime/chunkType; it has innerOffset.
      const { endOffset: _e, chunkType: _c, ...rest } = e;
      return rest;
    });
    fc.assert(
      fc.property(fc.array(estargzEntry, { maxLength: 8 }), (entries) => {
        const toc: EstargzToc = { version: 1, entries };
        const text = marshalTocText(toc);
        const parsed = parseRawToc(text).toc;
        expect(parsed.entries!.map(kept)).toEqual(entries.map(kept));
        expect(marshalTocText(parsed as unknown as EstargzToc)).toBe(text);
      }),
      params,
    );
  });
});
