/**
 * Unit tests of the zstd:chunked reading side: footers, annotations, TOC parsing, ranges and
 * readToc, on blobs built here (frames made with the native `zstd` CLI, so these tests do not
 * depend on the WASM build).
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { Core, Hasher } from "../../src/core.js";
import type { Deflate } from "../../src/wasm/deflate.js";
import { LayerkitError } from "../../src/errors.js";
import { NodeSha256 } from "../../src/runtime/node-hash.js";
import type { Zstd } from "../../src/wasm/zstd.js";
import { MemorySource } from "../../src/source/memory.js";
import {
  formatManifestPosition,
  formatTarSplitPosition,
  formatZstdChunkedAnnotations,
  parseManifestPosition,
  parseTarSplitPosition,
  readZstdChunkedAnnotations,
} from "../../src/formats/zstd-chunked/annotations.js";
import {
  ANNOTATION_ESTARGZ_TOC_DIGEST,
  ANNOTATION_MANIFEST_CHECKSUM,
  ANNOTATION_MANIFEST_POSITION,
  ANNOTATION_TARSPLIT_CHECKSUM,
  ANNOTATION_TARSPLIT_POSITION,
  MAX_TOC_SIZE,
  OLD_ANNOTATION_MANIFEST_CHECKSUM,
  OLD_ANNOTATION_MANIFEST_POSITION,
} from "../../src/layer/annotations.js";
import {
  buildFooterV1,
  buildFooterV3,
  buildSkippableFrame,
  detectFooterVersion,
  parseFooter,
} from "../../src/formats/zstd-chunked/footer.js";
import { EMPTY_DIGEST, isRfc3339, parseToc } from "../../src/layer/toc-parse.js";
import { readTarSplit, readToc } from "../../src/formats/zstd-chunked/read-toc.js";
import { JsonReader } from "../../src/util/json-limits.js";

// ---- helpers ------------------------------------------------------------------------------

const enc = new TextEncoder();
const sha = (b: Uint8Array) => "sha256:" + createHash("sha256").update(b).digest("hex");

function zstdCompress(data: Uint8Array, level = 3): Uint8Array {
  return new Uint8Array(execFileSync("zstd", ["-q", "-c", `-${level}`], { input: data, maxBuffer: 1 << 28 }));
}

/** A Core whose zstd is the native CLI (decompress only) and whose sha256 is node:crypto. */
const cliZstd = {
  decompress(data: Uint8Array, options?: { maxOutput?: number }): Uint8Array {
    let out: Uint8Array;
    try {
      out = new Uint8Array(
        execFileSync("zstd", ["-q", "-d", "-c"], { input: data, maxBuffer: 1 << 28, stdio: ["pipe", "pipe", "ignore"] }),
      );
    } catch (e) {
      throw new LayerkitError("ZSTD_CORRUPT", "zstd CLI failed", {}, { cause: e });
    }
    if (options?.maxOutput !== undefined && out.length > options.maxOutput) {
      throw new LayerkitError("ZSTD_FRAME_TOO_LARGE", "output over maxOutput", { maxOutput: options.maxOutput });
    }
    return out;
  },
} as unknown as Zstd;

const core: Core = {
  // zstd:chunked only: DEFLATE is never reached, and touching it fails the test.
  deflate: new Proxy({}, {
    get: () => {
      throw new Error("DEFLATE is not used by this test");
    },
  }) as Deflate,
  zstd: cliZstd,
  sha256: (): Hasher => new NodeSha256(),
};

async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<LayerkitError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (!(e instanceof LayerkitError)) throw e;
    expect(e.code, e.message).toBe(code);
    return e;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

interface FileSpec {
  name: string;
  type?: "reg" | "dir" | "symlink" | "hardlink";
  linkName?: string;
  content?: Uint8Array;
  /** Chunk sizes (must add up to content length); default one chunk. */
  chunks?: number[];
  /** Indices of chunks to mark zeros. */
  zeros?: number[];
}

interface BuildOptions {
  footer?: "v1" | "v2-broken" | "v3" | "none";
  tarSplit?: boolean;
  /** Put tarSplitDigest in the TOC (G4). */
  tarSplitDigest?: boolean;
  keys?: "current" | "old";
  /** Edit the TOC object before serialisation. */
  mutate?: (toc: { version: number; entries: Record<string, unknown>[] | null; tarSplitDigest?: string }) => void;
  /** Replace the serialised TOC text. */
  tocText?: (text: string) => string;
  pretty?: boolean;
}

interface Built {
  blob: Uint8Array;
  annotations: Record<string, string>;
  tocText: string;
  tocOffset: number;
  tocLength: number;
  tarSplit?: Uint8Array;
  files: Map<string, Uint8Array>;
}

/** Builds a c/storage-style zstd:chunked blob (header frames, one frame per chunk, TOC, tar-split, footer). */
function buildBlob(files: FileSpec[], o: BuildOptions = {}): Built {
  const parts: Uint8Array[] = [];
  let pos = 0;
  const push = (b: Uint8Array) => {
    parts.push(b);
    pos += b.length;
  };
  const entries: Record<string, unknown>[] = [];
  const contents = new Map<string, Uint8Array>();
  for (const f of files) {
    push(zstdCompress(new Uint8Array(512).fill(0x41))); // a "header" frame
    const type = f.type ?? "reg";
    const e: Record<string, unknown> = { type, name: f.name, mode: 420, modtime: "2023-11-14T22:13:20.123456789Z" };
    if (f.linkName) e.linkName = f.linkName;
    entries.push(e);
    if (type !== "reg") continue;
    const content = f.content ?? new Uint8Array(0);
    contents.set(f.name, content);
    if (content.length === 0) continue;
    e.size = content.length;
    e.digest = sha(content);
    const sizes = f.chunks ?? [content.length];
    let fo = 0;
    const chunkEntries: Record<string, unknown>[] = [];
    sizes.forEach((n, i) => {
      const data = content.subarray(fo, fo + n);
      const c: Record<string, unknown> = i === 0 ? e : { type: "chunk", name: f.name };
      c.offset = pos;
      if (sizes.length > 1) {
        c.chunkSize = n;
        if (fo > 0) c.chunkOffset = fo;
        c.chunkDigest = sha(data);
        if (f.zeros?.includes(i)) c.chunkType = "zeros";
      }
      if (i > 0) chunkEntries.push(c);
      push(zstdCompress(data));
      fo += n;
    });
    e.endOffset = pos;
    entries.push(...chunkEntries);
  }
  push(zstdCompress(new Uint8Array(1024))); // end of archive
  const toc: { version: number; entries: Record<string, unknown>[] | null; tarSplitDigest?: string } = { version: 1, entries };
  let tarSplit: Uint8Array | undefined;
  let tarSplitCompressed: Uint8Array | undefined;
  if (o.tarSplit) {
    tarSplit = enc.encode('{"type":2,"payload":"AAAA","position":0}\n');
    tarSplitCompressed = zstdCompress(tarSplit);
    if (o.tarSplitDigest) toc.tarSplitDigest = sha(tarSplitCompressed);
  }
  o.mutate?.(toc);
  let tocText = o.pretty ? JSON.stringify(toc, null, "\t") : JSON.stringify(toc);
  if (o.tocText) tocText = o.tocText(tocText);
  const tocJson = enc.encode(tocText);
  const tocCompressed = zstdCompress(tocJson);
  const tocOffset = pos + 8;
  push(buildSkippableFrame(tocCompressed));
  const annotations: Record<string, string> = {};
  const keys = o.keys ?? "current";
  annotations[keys === "current" ? ANNOTATION_MANIFEST_CHECKSUM : OLD_ANNOTATION_MANIFEST_CHECKSUM] = sha(tocCompressed);
  annotations[keys === "current" ? ANNOTATION_MANIFEST_POSITION : OLD_ANNOTATION_MANIFEST_POSITION] = formatManifestPosition({
    offset: tocOffset,
    length: tocCompressed.length,
    uncompressedLength: tocJson.length,
  });
  let ts = { offset: 0, length: 0, uncompressedLength: 0 };
  if (tarSplitCompressed) {
    ts = { offset: pos + 8, length: tarSplitCompressed.length, uncompressedLength: tarSplit!.length };
    push(buildSkippableFrame(tarSplitCompressed));
    annotations[ANNOTATION_TARSPLIT_POSITION] = formatTarSplitPosition(ts);
    if (!o.tarSplitDigest) annotations[ANNOTATION_TARSPLIT_CHECKSUM] = sha(tarSplitCompressed);
  }
  const footer = o.footer ?? "v3";
  const f = { tocOffset, tocLength: tocCompressed.length, tocUncompressedLength: tocJson.length };
  if (footer === "v3") {
    push(buildFooterV3({ ...f, tarSplitOffset: ts.offset, tarSplitLength: ts.length, tarSplitUncompressedLength: ts.uncompressedLength }));
  }
  if (footer === "v1") push(buildFooterV1(f));
  if (footer === "v2-broken") push(buildFooterV1(f, true));
  const built: Built = { blob: concat(parts), annotations, tocText, tocOffset, tocLength: tocCompressed.length, files: contents };
  if (tarSplit) built.tarSplit = tarSplit;
  return built;
}

function random(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const big = concat([random(3000, 7), new Uint8Array(2000), random(1500, 9)]);
const standardFiles: FileSpec[] = [
  { name: "./", type: "dir" },
  { name: "./a.txt", content: enc.encode("hello\n") },
  { name: "./empty" },
  { name: "./link", type: "symlink", linkName: "../a.txt" },
  { name: "./big.bin", content: big, chunks: [3000, 2000, 1500], zeros: [1] },
  { name: "./hard", type: "hardlink", linkName: "./a.txt" },
];

/** Decompresses each chunk range of each file and checks it against the file content. */
function checkContents(entries: Awaited<ReturnType<typeof readToc>>["entries"], blob: Uint8Array, files: Map<string, Uint8Array>): void {
  for (const e of entries) {
    if (e.type !== "reg") continue;
    const content = files.get(e.name)!;
    expect(e.size).toBe(content.length);
    expect(e.digest).toBe(sha(content));
    const parts: Uint8Array[] = [];
    for (const c of e.chunks) {
      const data = cliZstd.decompress(blob.subarray(c.offset, c.end));
      expect(c.exact ? data.length : c.size).toBe(c.size);
      const chunk = data.subarray(c.innerOffset, c.innerOffset + c.size);
      if (c.digest) expect(sha(chunk)).toBe(c.digest);
      if (c.zeros) expect(chunk.every((b) => b === 0)).toBe(true);
      parts.push(chunk);
    }
    expect(sha(concat(parts))).toBe(e.digest);
  }
}

// ---- footer ---------------------------------------------------------------------------------

describe("footer", () => {
  const f = { tocOffset: 100, tocLength: 50, tocUncompressedLength: 200 };
  const pad = (frame: Uint8Array, before = 300) => concat([new Uint8Array(before), frame]);

  it("parses v1, v2-broken and v3 and builds v3", () => {
    const v1 = parseFooter(pad(buildFooterV1(f)));
    expect(v1).toEqual({ version: "v1", frameSize: 48, ...f, manifestType: 1 });
    const v2 = parseFooter(pad(buildFooterV1(f, true)));
    expect(v2).toMatchObject({ version: "v2-broken", frameSize: 64, ...f });
    const frame = buildFooterV3({ ...f, tarSplitOffset: 158, tarSplitLength: 20, tarSplitUncompressedLength: 90 });
    expect(frame.length).toBe(72);
    expect(Array.from(frame.subarray(0, 8))).toEqual([0x50, 0x2a, 0x4d, 0x18, 64, 0, 0, 0]);
    expect(new TextDecoder().decode(frame.subarray(64))).toBe("GNUlInUx");
    const v3 = parseFooter(pad(frame));
    expect(v3).toEqual({
      version: "v3",
      frameSize: 72,
      ...f,
      manifestType: 1,
      tarSplitOffset: 158,
      tarSplitLength: 20,
      tarSplitUncompressedLength: 90,
    });
    expect(detectFooterVersion(pad(frame))).toBe("v3");
    expect(detectFooterVersion(new Uint8Array(100))).toBeUndefined();
  });
  it("accepts a tail shorter than the blob", () => {
    const tail = buildFooterV1(f);
    expect(parseFooter(tail, 1000).tocOffset).toBe(100);
  });
  it("rejects truncated blobs, wrong magic, bad frames, bad types and ranges", async () => {
    await expectCode(() => parseFooter(new Uint8Array(47)), "TRUNCATED");
    const e = await expectCode(() => parseFooter(new Uint8Array(100)), "BAD_MAGIC");
    expect(e.details.last8).toBe("0000000000000000");
    const noFrame = pad(buildFooterV1(f));
    noFrame[noFrame.length - 48] = 0; // break the skippable magic
    await expectCode(() => parseFooter(noFrame), "BAD_FOOTER");
    const badLen = pad(buildFooterV1(f));
    badLen[badLen.length - 44] = 41;
    await expectCode(() => parseFooter(badLen), "BAD_FOOTER");
    const type2 = pad(buildFooterV1(f));
    type2[type2.length - 16] = 2;
    const t = await expectCode(() => parseFooter(type2), "BAD_FOOTER");
    expect(t.details.manifestType).toBe(2);
    await expectCode(() => parseFooter(pad(buildFooterV1({ ...f, tocOffset: 290 }))), "OUT_OF_RANGE"); // runs into the footer
    await expectCode(() => parseFooter(pad(buildFooterV1({ ...f, tocOffset: 4 }))), "OUT_OF_RANGE"); // no room for a frame header
    await expectCode(() => parseFooter(pad(buildFooterV1({ ...f, tocLength: 0 }))), "OUT_OF_RANGE");
    const huge = pad(buildFooterV1(f));
    huge.fill(0xff, huge.length - 48 + 8, huge.length - 48 + 16); // tocOffset = 2^64-1
    const h = await expectCode(() => parseFooter(huge), "OUT_OF_RANGE");
    expect(h.details).toMatchObject({ field: "tocOffset", value: "18446744073709551615" });
    const overlap = pad(buildFooterV3({ ...f, tarSplitOffset: 120, tarSplitLength: 20, tarSplitUncompressedLength: 90 }));
    await expectCode(() => parseFooter(overlap), "OUT_OF_RANGE");
    await expectCode(
      () => buildFooterV3({ ...f, tocOffset: -1, tarSplitOffset: 0, tarSplitLength: 0, tarSplitUncompressedLength: 0 }),
      "BAD_ARGUMENT",
    );
  });
});

// ---- annotations ----------------------------------------------------------------------------

describe("annotations", () => {
  const digest = "sha256:" + "ab".repeat(32);
  it("parses and formats positions", () => {
    expect(parseManifestPosition("290607:812:2236:1")).toEqual({ offset: 290607, length: 812, uncompressedLength: 2236, type: 1 });
    expect(parseTarSplitPosition("291427:747:11789")).toEqual({ offset: 291427, length: 747, uncompressedLength: 11789 });
    expect(formatManifestPosition({ offset: 1, length: 2, uncompressedLength: 3 })).toBe("1:2:3:1");
    // Default "both" (issue 16.1): the current keys and, for c/storage <= 1.43, the old ones.
    expect(formatZstdChunkedAnnotations({ tocDigest: digest, manifestPosition: { offset: 8, length: 2, uncompressedLength: 3 } })).toEqual({
      [ANNOTATION_MANIFEST_CHECKSUM]: digest,
      [ANNOTATION_MANIFEST_POSITION]: "8:2:3:1",
      [OLD_ANNOTATION_MANIFEST_CHECKSUM]: digest,
      [OLD_ANNOTATION_MANIFEST_POSITION]: "8:2:3:1",
    });
    expect(
      formatZstdChunkedAnnotations({ tocDigest: digest, manifestPosition: { offset: 8, length: 2, uncompressedLength: 3 } }, "current"),
    ).toEqual({
      [ANNOTATION_MANIFEST_CHECKSUM]: digest,
      [ANNOTATION_MANIFEST_POSITION]: "8:2:3:1",
    });
  });
  it("rejects malformed positions with typed codes", async () => {
    for (const bad of ["1:2:3", "1:2:3:1:5", "a:2:3:1", "1:2:3:1 ", "-1:2:3:1", "1:2:3:1x", "", "+8:2:3:1"]) {
      const e = await expectCode(() => parseManifestPosition(bad), "BAD_ANNOTATION");
      expect(e.details.value).toBe(bad);
    }
    const t = await expectCode(() => parseManifestPosition("8:2:3:2"), "BAD_ANNOTATION");
    expect(t.details.type).toBe(2);
    await expectCode(() => parseManifestPosition("9007199254740993:2:3:1"), "OUT_OF_RANGE");
    await expectCode(() => parseManifestPosition("4:2:3:1"), "OUT_OF_RANGE");
    await expectCode(() => parseManifestPosition("8:0:3:1"), "OUT_OF_RANGE");
    await expectCode(() => parseManifestPosition("100:20:3:1", { blobSize: 110 }), "OUT_OF_RANGE");
    const l = await expectCode(() => parseManifestPosition(`8:2:${MAX_TOC_SIZE + 1}:1`, { maxLength: MAX_TOC_SIZE }), "LIMIT_EXCEEDED");
    expect(l.details.limit).toBe(MAX_TOC_SIZE);
  });
  it("reads current and old keys, and rejects ambiguous sets", async () => {
    expect(readZstdChunkedAnnotations({})).toBeUndefined();
    expect(readZstdChunkedAnnotations(undefined)).toBeUndefined();
    expect(readZstdChunkedAnnotations({ [ANNOTATION_MANIFEST_CHECKSUM]: digest, [ANNOTATION_MANIFEST_POSITION]: "8:2:3:1" })).toEqual({
      keys: "current",
      tocDigest: digest,
      manifestPosition: { offset: 8, length: 2, uncompressedLength: 3, type: 1 },
    });
    const old = readZstdChunkedAnnotations({
      [OLD_ANNOTATION_MANIFEST_CHECKSUM]: digest,
      [OLD_ANNOTATION_MANIFEST_POSITION]: "8:2:3:1",
      [ANNOTATION_ESTARGZ_TOC_DIGEST]: digest, // stargz-snapshotter's zstdchunked converter writes both
    });
    expect(old).toMatchObject({ keys: "old", estargzTocDigest: digest });
    const both = await expectCode(
      () => readZstdChunkedAnnotations({ [ANNOTATION_MANIFEST_CHECKSUM]: digest, [ANNOTATION_ESTARGZ_TOC_DIGEST]: digest }),
      "BAD_ANNOTATION",
    );
    expect(both.details.keys).toContain(ANNOTATION_ESTARGZ_TOC_DIGEST);
    await expectCode(
      () =>
        readZstdChunkedAnnotations({
          [ANNOTATION_MANIFEST_CHECKSUM]: digest,
          [OLD_ANNOTATION_MANIFEST_CHECKSUM]: "sha256:" + "cd".repeat(32),
        }),
      "BAD_ANNOTATION",
    );
    await expectCode(() => readZstdChunkedAnnotations({ [ANNOTATION_MANIFEST_POSITION]: "8:2:3:1" }), "BAD_ANNOTATION");
    await expectCode(() => readZstdChunkedAnnotations({ [ANNOTATION_MANIFEST_CHECKSUM]: "sha256:xyz" }), "BAD_ANNOTATION");
    await expectCode(() => readZstdChunkedAnnotations({ [ANNOTATION_TARSPLIT_POSITION]: "8:2:3" }), "BAD_ANNOTATION");
    await expectCode(
      () =>
        readZstdChunkedAnnotations({
          [ANNOTATION_MANIFEST_CHECKSUM]: digest,
          [ANNOTATION_MANIFEST_POSITION]: "100:50:3:1",
          [ANNOTATION_TARSPLIT_POSITION]: "120:10:3",
        }),
      "OUT_OF_RANGE",
    );
  });
});

// ---- JSON reader and TOC parsing ------------------------------------------------------------

describe("JsonReader", () => {
  it("skips nested values and rejects malformed JSON", async () => {
    const r = new JsonReader('{"a":[1,{"b":[true,false,null,"x\\u0041"]},-2.5e3],"c":"\\ud800"}');
    r.beginObject();
    expect(r.nextKey()).toBe("a");
    r.skip();
    expect(r.nextKey()).toBe("c");
    expect(r.readString()).toBe("\uFFFD");
    expect(r.nextKey()).toBeUndefined();
    r.end();
    for (const bad of ['["a":1]', "[1,]", "{1:2}", "[01]", '"\\x"', "[1 2]", '"a\nb"']) {
      await expectCode(() => {
        const x = new JsonReader(bad);
        x.skip();
        x.end();
      }, "BAD_TOC");
    }
    await expectCode(() => new JsonReader("[".repeat(100) + "]".repeat(100)).skip(), "BAD_TOC");
  });
});

describe("parseToc", () => {
  const d = (s: string) => sha(enc.encode(s));
  const reg = (name: string, offset: number, endOffset: number, extra: object = {}) => ({
    type: "reg",
    name,
    size: 5,
    digest: d(name),
    offset,
    endOffset,
    ...extra,
  });
  const parse = (toc: unknown, payloadEnd = 1000) => parseToc(typeof toc === "string" ? toc : JSON.stringify(toc), { payloadEnd });

  it("follows upstream's rules: case-insensitive keys, unknown keys, empty digest, null entries", () => {
    const text = JSON.stringify({
      VERSION: 1,
      Entries: [
        { Type: "reg", NAME: "x", Size: 5, Digest: d("x"), OffSet: 10, ENDOFFSET: 20, whatever: { deep: [1, 2] }, LinkName: "" },
        { type: "reg", name: "empty" },
        { type: "symlink", name: "l", linkname: "../x" },
        { type: "char", name: "c", devmajor: 1, devminor: 3, uid: 7, gid: 8, mode: 0o644, modTime: "2024-02-29T23:59:59+01:00" },
      ],
      tarsplitdigest: "sha256:" + "0".repeat(64),
      extra: null,
    });
    const p = parse(text + " \n\t");
    expect(p.format).toBe("zstd:chunked");
    expect(p.toc.version).toBe(1);
    expect(p.toc.tarSplitDigest).toBe("sha256:" + "0".repeat(64));
    expect(p.files.map((f) => f.name)).toEqual(["x", "empty", "l", "c"]);
    expect(p.files[0]).toMatchObject({
      offset: 10,
      endOffset: 20,
      chunks: [{ offset: 10, end: 20, size: 5, fileOffset: 0, exact: true, digest: d("x"), zeros: false }],
    });
    expect(p.files[1]!.digest).toBe(EMPTY_DIGEST);
    expect(p.files[2]!.linkName).toBe("../x");
    expect(p.files[3]).toMatchObject({
      type: "char",
      devMajor: 1,
      devMinor: 3,
      uid: 7,
      gid: 8,
      mode: 0o644,
      modtime: "2024-02-29T23:59:59+01:00",
    });
    expect(parse({ version: 1, entries: null }).files).toEqual([]);
    expect(parse({ version: 1 }).toc.entries).toBeNull();
  });
  it("treats Object.prototype names as ordinary unknown keys and xattr names", () => {
    const p = parse(
      '{"version":1,"constructor":1,"__proto__":{"a":1},"entries":[{"type":"dir","name":"a","toString":"x","constructor":[1],"hasOwnProperty":null,"xattrs":{"__proto__":"YQ==","constructor":"Yg=="}}]}',
    );
    const x = p.files[0]!.xattrs!;
    expect(Object.keys(x)).toEqual(["__proto__", "constructor"]);
    expect(Object.getOwnPropertyDescriptor(x, "__proto__")?.value).toBe("YQ==");
  });
  it("lets the last duplicate key win, as Go does", () => {
    const p = parse('{"version":1,"entries":[{"type":"dir","name":"a","NAME":"b","name":"c"}]}');
    expect(p.files[0]!.name).toBe("c");
  });
  it("computes chunk ranges, zeros and the missing-endOffset fallback", () => {
    const p = parse({
      version: 1,
      entries: [
        { ...reg("a", 100, 400), size: 30, chunkSize: 10, chunkDigest: d("c0") },
        { type: "chunk", name: "a", offset: 200, chunkSize: 10, chunkOffset: 10, chunkType: "zeros" },
        { type: "chunk", name: "a", offset: 300, chunkOffset: 20 },
        { ...reg("b", 500, 0), endOffset: undefined },
      ],
    });
    expect(p.files[0]!.chunks).toEqual([
      { offset: 100, end: 200, fileOffset: 0, size: 10, digest: d("c0"), zeros: false, exact: true, innerOffset: 0 },
      { offset: 200, end: 300, fileOffset: 10, size: 10, zeros: true, exact: true, innerOffset: 0 },
      { offset: 300, end: 400, fileOffset: 20, size: 10, zeros: false, exact: true, innerOffset: 0 },
    ]);
    // b has no endOffset: upstream's rule (up to the next payload or the TOC), marked inexact
    expect(p.files[1]!.chunks[0]).toMatchObject({ offset: 500, end: 1000, exact: false });
    const q = parse({ version: 1, entries: [{ ...reg("x", 100, 0), endOffset: undefined }, reg("y", 300, 400)] });
    expect(q.files[0]!.chunks[0]).toMatchObject({ offset: 100, end: 300, exact: false });
    // no c/storage key at all in a compact TOC: still c/storage, when forced or by layout
    const f = parseToc(JSON.stringify({ version: 1, entries: [{ ...reg("b", 500, 0), endOffset: undefined }] }), {
      payloadEnd: 1000,
      format: "zstd:chunked",
    });
    expect(f.files[0]!.chunks[0]).toMatchObject({ end: 1000, exact: false });
  });
  it("rejects bad documents with BAD_TOC", async () => {
    const cases: [string, unknown][] = [
      ["not JSON", "hello"],
      ["not an object", "[1]"],
      ["trailing data", JSON.stringify({ version: 1, entries: [] }) + "{}"],
      ["trailing garbage", JSON.stringify({ version: 1, entries: [] }) + " x"],
      ["truncated", '{"version":1,"entries":['],
      ["fractional number", { version: 1, entries: [{ type: "reg", name: "a", size: 1.5 }] }],
      ["string number", { version: 1, entries: [{ type: "reg", name: "a", size: "5" }] }],
      ["entries not array", { version: 1, entries: {} }],
      ["unknown type", { version: 1, entries: [{ type: "sock", name: "a" }] }],
      ["no name", { version: 1, entries: [{ type: "dir" }] }],
      ["unknown chunkType", { version: 1, entries: [{ ...reg("a", 10, 20), chunkType: "ones" }] }],
      ["chunk after dir", { version: 1, entries: [{ type: "dir", name: "a" }, { type: "chunk", name: "a", offset: 10 }] }],
      ["chunk first", { version: 1, entries: [{ type: "chunk", name: "a", offset: 10 }] }],
      ["chunk after empty file", { version: 1, entries: [{ type: "reg", name: "a" }, { type: "chunk", name: "a", offset: 10 }] }],
      ["chunk of another file", {
        version: 1,
        entries: [{ ...reg("a", 10, 30), chunkSize: 2 }, { type: "chunk", name: "b", offset: 20, chunkOffset: 2 }],
      }],
      ["no digest", { version: 1, entries: [{ type: "reg", name: "a", size: 5, offset: 10, endOffset: 20 }] }],
      ["bad digest", { version: 1, entries: [{ ...reg("a", 10, 20), digest: "sha256:1234" }] }],
      ["sha512 digest", { version: 1, entries: [{ ...reg("a", 10, 20), digest: "sha512:" + "0".repeat(128) }] }],
      ["bad time", { version: 1, entries: [{ type: "dir", name: "a", modtime: "2023-11-14 22:13:20Z" }] }],
      ["day out of range", { version: 1, entries: [{ type: "dir", name: "a", modtime: "2023-02-29T00:00:00Z" }] }],
      ["second 60", { version: 1, entries: [{ type: "dir", name: "a", accesstime: "2023-01-01T00:00:60Z" }] }],
      ["payload without offset", { version: 1, entries: [{ type: "reg", name: "a", size: 5, digest: d("a"), endOffset: 20 }] }],
      ["payload fields on a dir", { version: 1, entries: [{ type: "dir", name: "a", offset: 10 }] }],
      ["payload fields on an empty file", { version: 1, entries: [{ type: "reg", name: "a", offset: 10, endOffset: 20 }] }],
      ["overlapping files", { version: 1, entries: [reg("a", 10, 50), reg("b", 40, 60)] }],
      ["decreasing chunk offsets", {
        version: 1,
        entries: [{ ...reg("a", 100, 400), chunkSize: 2 }, { type: "chunk", name: "a", offset: 50, chunkOffset: 2 }],
      }],
      ["empty range", { version: 1, entries: [reg("a", 10, 10)] }],
      ["chunk sizes too small", {
        version: 1,
        entries: [{ ...reg("a", 10, 40), chunkSize: 2 }, { type: "chunk", name: "a", offset: 20, chunkOffset: 2, chunkSize: 2 }],
      }],
      ["chunk sizes too big", { version: 1, entries: [{ ...reg("a", 10, 40), chunkSize: 6 }] }],
      ["chunkOffset wrong", {
        version: 1,
        entries: [{ ...reg("a", 10, 40), chunkSize: 2 }, { type: "chunk", name: "a", offset: 20, chunkOffset: 3 }],
      }],
      ["mixed schemas", { version: 1, entries: [reg("a", 10, 20), { type: "dir", name: "d", userName: "root" }] }],
      ["bad xattr", { version: 1, entries: [{ type: "dir", name: "a", xattrs: { "user.x": "not base64!" } }] }],
      ["bad tarSplitDigest", { version: 1, entries: [], tarSplitDigest: "md5:00" }],
    ];
    for (const [what, toc] of cases) {
      const e = await expectCode(() => parse(toc), "BAD_TOC").catch((err) => {
        throw new Error(`${what}: ${err.message}`);
      });
      expect(e.message.length, what).toBeGreaterThan(0);
    }
  });
  it("reports the offending value in details", async () => {
    const e = await expectCode(() => parse({ version: 1, entries: [{ type: "dir", name: "a", modtime: "yesterday" }] }), "BAD_TOC");
    expect(e.details).toMatchObject({ index: 0, field: "modtime", value: "yesterday" });
    const o = await expectCode(() => parse({ version: 1, entries: [reg("a", 10, 50), reg("b", 40, 60)] }), "BAD_TOC");
    expect(o.details).toMatchObject({ name: "b", offset: 40, previousEnd: 50 });
  });
  it("rejects negative, unsafe and out-of-payload numbers with OUT_OF_RANGE", async () => {
    const neg = await expectCode(() => parse({ version: 1, entries: [reg("a", -10, 20)] }), "OUT_OF_RANGE");
    expect(neg.details).toMatchObject({ value: -10 });
    const unsafe = await expectCode(
      () => parse('{"version":1,"entries":[{"type":"dir","name":"a","uid":9007199254740993}]}'),
      "OUT_OF_RANGE",
    );
    expect(unsafe.details.value).toBe("9007199254740993");
    const past = await expectCode(() => parse({ version: 1, entries: [reg("a", 10, 1001)] }), "OUT_OF_RANGE");
    expect(past.details).toMatchObject({ name: "a", end: 1001, payloadEnd: 1000 });
    await expectCode(() => parse({ version: 1, entries: [reg("a", 1000, 1001)] }), "OUT_OF_RANGE");
  });
  it("rejects NUL bytes and .. components with UNSAFE_PATH", async () => {
    for (
      const entry of [
        { type: "dir", name: "a\u0000b" },
        { type: "dir", name: "../etc" },
        { type: "dir", name: "a/../../b" },
        { type: "dir", name: "a/.." },
        { type: "hardlink", name: "h", linkName: "../../etc/shadow" },
        { type: "symlink", name: "s", linkName: "a\u0000" },
      ]
    ) {
      const e = await expectCode(() => parse({ version: 1, entries: [entry] }), "UNSAFE_PATH");
      expect(e.details.value).toBe((entry as { linkName?: string }).linkName ?? entry.name);
    }
    // ".." inside a component, and symlink targets going up, are fine
    expect(parse({ version: 1, entries: [{ type: "dir", name: "a..b/..c" }, { type: "symlink", name: "s", linkName: "../../x" }] }).files)
      .toHaveLength(2);
  });
  it("validates RFC 3339 like Go", () => {
    for (
      const ok of [
        "2023-11-14T22:13:20Z",
        "2023-11-14T22:13:20.123456789Z",
        "2023-11-14T23:13:20+01:00",
        "0001-01-01T00:00:00Z",
        "2024-02-29T00:00:00-23:59",
      ]
    ) {
      expect(isRfc3339(ok), ok).toBe(true);
    }
    for (
      const bad of [
        "2023-11-14T22:13:20",
        "2023-11-14t22:13:20Z",
        "2023-13-01T00:00:00Z",
        "2023-11-14T24:00:00Z",
        "2023-11-14T22:13:20+0100",
        "2023-11-14T22:13:20.Z",
        "",
      ]
    ) {
      expect(isRfc3339(bad), bad).toBe(false);
    }
  });
  it("parses the stargz-snapshotter JTOC variant into the same shape", () => {
    const jtoc = {
      version: 1,
      entries: [
        { name: ".no.prefetch.landmark", type: "reg", size: 1, offset: 96, digest: d("l"), chunkDigest: d("l") },
        { name: "./", type: "dir", modtime: "2026-11-23T08:00:21Z", mode: 493, userName: "root", groupName: "root" },
        { name: "./big", type: "reg", size: 10, offset: 200, digest: d("big"), chunkSize: 4, chunkDigest: d("c0") },
        { name: "./big", type: "chunk", offset: 300, chunkOffset: 4, chunkSize: 4, chunkDigest: d("c1") },
        { name: "./big", type: "chunk", offset: 400, chunkOffset: 8, chunkDigest: d("c2") },
        { name: "./small", type: "reg", size: 3, offset: 500, digest: d("s"), chunkDigest: d("s") },
      ],
    };
    const p = parseToc(JSON.stringify(jtoc, null, "\t"), { payloadEnd: 900 });
    expect(p.format).toBe("estargz-zstd");
    expect(p.files[1]).toMatchObject({ userName: "root", groupName: "root" });
    const big = p.files[2]!;
    expect(big.chunks.map((c) => [c.offset, c.end, c.fileOffset, c.size, c.exact])).toEqual([
      [200, 300, 0, 4, false],
      [300, 400, 4, 4, false],
      [400, 500, 8, 2, false],
    ]);
    expect(p.files[3]!.chunks[0]).toMatchObject({ offset: 500, end: 900, size: 3 });
    // innerOffset (newer writers): chunks sharing a frame share its end
    const shared = parseToc(
      JSON.stringify({
        version: 1,
        entries: [
          { name: "a", type: "reg", size: 1, offset: 100, digest: d("a") },
          { name: "b", type: "reg", size: 1, offset: 100, innerOffset: 512, digest: d("b") },
          { name: "c", type: "reg", size: 1, offset: 200, digest: d("c") },
        ],
      }),
      { payloadEnd: 300 },
    );
    expect(shared.format).toBe("estargz-zstd");
    expect(shared.files.map((f) => [f.chunks[0]!.offset, f.chunks[0]!.end, f.chunks[0]!.innerOffset])).toEqual([
      [100, 200, 0],
      [100, 200, 512],
      [200, 300, 0],
    ]);
  });
});

// ---- readToc --------------------------------------------------------------------------------

describe("readToc", () => {
  it("reads a G4 blob with annotations in one request, authenticated, with exact ranges", async () => {
    const b = buildBlob(standardFiles, { tarSplit: true, tarSplitDigest: true });
    const src = new MemorySource(b.blob);
    const r = await readToc(src, { annotations: b.annotations, core });
    expect(src.stats.requests).toBe(1);
    expect(r).toMatchObject({
      format: "zstd:chunked",
      generation: "G4",
      authenticated: true,
      tocPosition: { offset: b.tocOffset, length: b.tocLength },
    });
    expect(r.footer?.version).toBe("v3");
    expect(r.tarSplitPosition).toEqual(r.annotations!.tarSplitPosition);
    expect(r.tarSplitDigest).toMatch(/^sha256:/);
    expect(r.entries.map((e) => e.name)).toEqual(["./", "./a.txt", "./empty", "./link", "./big.bin", "./hard"]);
    const bigEntry = r.entries.find((e) => e.name === "./big.bin")!;
    expect(bigEntry.chunks.map((c) => [c.size, c.zeros, c.exact])).toEqual([
      [3000, false, true],
      [2000, true, true],
      [1500, false, true],
    ]);
    expect(bigEntry.modtime).toBe("2023-11-14T22:13:20.123456789Z");
    checkContents(r.entries, b.blob, b.files);
    // tar-split
    const ts = await readTarSplit(src, r, { core });
    expect(new TextDecoder().decode(ts)).toBe(new TextDecoder().decode(b.tarSplit));
    const withTs = await readToc(new MemorySource(b.blob), { annotations: b.annotations, core, tarSplit: true });
    expect(withTs.tarSplit).toEqual(b.tarSplit);
  });
  it("probes the footer without annotations and says the TOC is not authenticated", async () => {
    const b = buildBlob(standardFiles, { tarSplit: true, tarSplitDigest: true });
    const src = new MemorySource(b.blob);
    const r = await readToc(src, { core });
    expect(r).toMatchObject({ generation: "G4", authenticated: false });
    expect(r.tarSplitPosition).toEqual({
      offset: r.footer!.tarSplitOffset,
      length: r.footer!.tarSplitLength,
      uncompressedLength: r.footer!.tarSplitUncompressedLength,
    });
    expect(src.stats.requests).toBe(1);
    const small = new MemorySource(b.blob);
    const r2 = await readToc(small, { core, probeSize: 72 });
    expect(small.stats.requests).toBe(2);
    expect(r2.entries).toEqual(r.entries);
  });
  it("tells the generations apart", async () => {
    const g = async (files: FileSpec[], o: BuildOptions, withAnnotations = true) => {
      const b = buildBlob(files, o);
      return (await readToc(new MemorySource(b.blob), withAnnotations ? { annotations: b.annotations, core } : { core })).generation;
    };
    const files = standardFiles.slice(0, 3);
    expect(await g(files, { keys: "old", footer: "v1" })).toBe("G1");
    expect(await g(files, { footer: "v1" }, false)).toBe("G1");
    expect(await g(files, { keys: "current", footer: "v1" })).toBe("G1b");
    expect(await g(files, { footer: "v2-broken", tarSplit: true })).toBe("G2");
    expect(await g(files, { footer: "v2-broken", tarSplit: true }, false)).toBe("G2");
    expect(await g(files, { footer: "v3", tarSplit: true })).toBe("G3");
    expect(await g(files, { footer: "v3", tarSplit: true }, false)).toBe("G3");
    expect(await g(files, { footer: "none", tarSplit: true, tarSplitDigest: true })).toBe("G4");
  });
  it("verifies the G2/G3 tar-split against the deprecated annotation", async () => {
    const b = buildBlob(standardFiles.slice(0, 2), { footer: "v3", tarSplit: true });
    const r = await readToc(new MemorySource(b.blob), { annotations: b.annotations, core, tarSplit: true });
    expect(r.tarSplit).toEqual(b.tarSplit);
    const ann = { ...b.annotations, [ANNOTATION_TARSPLIT_CHECKSUM]: "sha256:" + "0".repeat(64) };
    const e = await expectCode(readToc(new MemorySource(b.blob), { annotations: ann, core, tarSplit: true }), "DIGEST_MISMATCH");
    expect(e.details.what).toBe("tar-split");
  });
  it("rejects a wrong TOC digest, sizes, limits and frames", async () => {
    const b = buildBlob(standardFiles.slice(0, 2));
    const src = () => new MemorySource(b.blob);
    const wrong = { ...b.annotations, [ANNOTATION_MANIFEST_CHECKSUM]: "sha256:" + "1".repeat(64) };
    const dm = await expectCode(readToc(src(), { annotations: wrong, core }), "DIGEST_MISMATCH");
    expect(dm.details).toMatchObject({ expected: "sha256:" + "1".repeat(64), what: "toc" });
    const pos = parseManifestPosition(b.annotations[ANNOTATION_MANIFEST_POSITION]!);
    const withPos = (p: object) => ({ ...b.annotations, [ANNOTATION_MANIFEST_POSITION]: formatManifestPosition({ ...pos, ...p }) });
    // the footer disagrees with the annotation
    await expectCode(readToc(src(), { annotations: withPos({ uncompressedLength: pos.uncompressedLength + 1 }), core }), "INCONSISTENT");
    // without a footer: the declared size is checked against the real one
    const nf = buildBlob(standardFiles.slice(0, 2), { footer: "none" });
    const nfPos = parseManifestPosition(nf.annotations[ANNOTATION_MANIFEST_POSITION]!);
    const nfAnn = (p: object) => ({ ...nf.annotations, [ANNOTATION_MANIFEST_POSITION]: formatManifestPosition({ ...nfPos, ...p }) });
    const sm = await expectCode(
      readToc(new MemorySource(nf.blob), { annotations: nfAnn({ uncompressedLength: nfPos.uncompressedLength + 1 }), core }),
      "SIZE_MISMATCH",
    );
    expect(sm.details).toMatchObject({ what: "TOC", expected: nfPos.uncompressedLength + 1 });
    await expectCode(
      readToc(new MemorySource(nf.blob), { annotations: nfAnn({ uncompressedLength: nfPos.uncompressedLength - 1 }), core }),
      "SIZE_MISMATCH",
    );
    // a position that is not a skippable frame's payload
    await expectCode(
      readToc(new MemorySource(nf.blob), { annotations: nfAnn({ offset: nfPos.offset + 1, length: nfPos.length - 1 }), core }),
      "BAD_TOC",
    );
    // limits
    const lim = await expectCode(readToc(src(), { annotations: b.annotations, core, maxTocSize: 100 }), "LIMIT_EXCEEDED");
    expect(lim.details.limit).toBe(100);
    await expectCode(readToc(src(), { core, maxTocSize: 100 }), "LIMIT_EXCEEDED");
    // position outside the blob
    await expectCode(readToc(src(), { annotations: withPos({ offset: b.blob.length }), core }), "OUT_OF_RANGE");
  });
  it("rejects blobs without a footer, truncated blobs, and TOCs that are not JSON", async () => {
    await expectCode(readToc(new MemorySource(new Uint8Array(20)), { core }), "TRUNCATED");
    await expectCode(readToc(new MemorySource(zstdCompress(random(5000))), { core }), "BAD_MAGIC");
    const notJson = buildBlob([], { tocText: () => "hello, world" });
    const e = await expectCode(readToc(new MemorySource(notJson.blob), { annotations: notJson.annotations, core }), "BAD_TOC");
    expect(e.details.start).toBe("hello, world");
    const trailing = buildBlob([], { tocText: (t) => t + "{}" });
    await expectCode(readToc(new MemorySource(trailing.blob), { annotations: trailing.annotations, core }), "BAD_TOC");
    // corrupt compressed TOC (authenticated by a matching digest, so decompression is reached)
    const b = buildBlob(standardFiles.slice(0, 2), { footer: "none" });
    const pos = parseManifestPosition(b.annotations[ANNOTATION_MANIFEST_POSITION]!);
    const corrupt = b.blob.slice();
    corrupt.fill(0x55, pos.offset + 4, pos.offset + pos.length);
    const ann = { ...b.annotations, [ANNOTATION_MANIFEST_CHECKSUM]: sha(corrupt.subarray(pos.offset, pos.offset + pos.length)) };
    await expectCode(readToc(new MemorySource(corrupt), { annotations: ann, core }), "ZSTD_CORRUPT");
  });
  it("rejects TOCs whose payload ranges reach into the metadata, and unsafe names", async () => {
    const b = buildBlob([{ name: "a", content: enc.encode("abc") }], {
      mutate: (t) => {
        (t.entries![0] as Record<string, number>).endOffset = 10_000;
      },
    });
    await expectCode(readToc(new MemorySource(b.blob), { annotations: b.annotations, core }), "OUT_OF_RANGE");
    const u = buildBlob([{ name: "../../etc/passwd", content: enc.encode("x") }]);
    await expectCode(readToc(new MemorySource(u.blob), { annotations: u.annotations, core }), "UNSAFE_PATH");
  });
  it("requires a tar-split position when the TOC names a tar-split digest", async () => {
    const b = buildBlob(standardFiles.slice(0, 2), { footer: "v1", mutate: (t) => (t.tarSplitDigest = "sha256:" + "2".repeat(64)) });
    await expectCode(readToc(new MemorySource(b.blob), { annotations: b.annotations, core }), "INCONSISTENT");
  });
  it("classifies a JTOC in zstd:chunked framing as estargz-zstd and checks the eStargz digest", async () => {
    // A JTOC-shaped TOC (no endOffset, userName, pretty-printed), old keys + v1 footer.
    const b = buildBlob([{ name: "a", content: enc.encode("abc") }], {
      keys: "old",
      footer: "v1",
      pretty: true,
      mutate: (t) => {
        for (const e of t.entries!) {
          delete e.endOffset;
          e.userName = "root";
        }
      },
    });
    const jsonDigest = sha(enc.encode(b.tocText));
    const r = await readToc(new MemorySource(b.blob), {
      annotations: { ...b.annotations, [ANNOTATION_ESTARGZ_TOC_DIGEST]: jsonDigest },
      core,
    });
    expect(r).toMatchObject({ format: "estargz-zstd", generation: "G1", estargzTocDigest: jsonDigest, authenticated: true });
    checkContents(r.entries, b.blob, b.files);
    await expectCode(
      readToc(new MemorySource(b.blob), {
        annotations: { ...b.annotations, [ANNOTATION_ESTARGZ_TOC_DIGEST]: "sha256:" + "3".repeat(64) },
        core,
      }),
      "DIGEST_MISMATCH",
    );
  });
});
