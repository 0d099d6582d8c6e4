/**
 * eStargz unit tests: footer bytes, TOC encoding, the writer's Build semantics (landmarks,
 * dropped entries, duplicates, prioritized files, chunking, minChunkSize, determinism) and the
 * reader's typed errors on bad blobs.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Core } from "../../src/core.js";
import { LayerkitError } from "../../src/errors.js";
import {
  buildFooter,
  buildLegacyFooter,
  createEstargzLayer,
  type EstargzLayerOptions,
  type EstargzLayerResult,
  findFooter,
  formatModtime,
  jsonString as goJsonString,
  marshalTocText,
  readEstargzToc,
} from "../../src/formats/estargz/index.js";
import { goRegHeader } from "../../src/tar/writer.js";
import { gunzip, gzipMember } from "../../src/gzip/index.js";
import { MemorySource } from "../../src/source/memory.js";
import { loadCore } from "../../src/runtime/node.js";
import { bytesOf } from "../support/streams.js";

// The real core (zstd + libdeflate WASM) with node:crypto's SHA-256.
const core: Core = await loadCore();

const enc = new TextEncoder();
const sha = (b: Uint8Array) => "sha256:" + createHash("sha256").update(b).digest("hex");
const cat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const pad = (n: number) => new Uint8Array((512 - (n % 512)) % 512);

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

// A minimal tar builder: regular files, dirs, symlinks, hardlinks; ustar only.
interface Ent {
  name: string;
  type?: "0" | "1" | "2" | "5" | "7" | "g";
  data?: Uint8Array;
  linkname?: string;
  uname?: string;
  uid?: number;
}
function ustar(e: Ent): Uint8Array {
  const b = new Uint8Array(512);
  const data = e.data ?? new Uint8Array(0);
  const o = (off: number, len: number, v: number) => b.set(enc.encode(v.toString(8).padStart(len - 1, "0")), off);
  b.set(enc.encode(e.name), 0);
  o(100, 8, 0o644);
  o(108, 8, e.uid ?? 0);
  o(116, 8, 0);
  o(124, 12, data.length);
  o(136, 12, 1_600_000_000);
  b[156] = (e.type ?? "0").charCodeAt(0);
  b.set(enc.encode(e.linkname ?? ""), 157);
  b.set(enc.encode("ustar\u000000"), 257);
  b.set(enc.encode(e.uname ?? ""), 265);
  b.fill(0x20, 148, 156);
  let s = 0;
  for (const x of b) s += x;
  b.set(enc.encode(s.toString(8).padStart(6, "0") + "\0 "), 148);
  return cat([b, data, pad(data.length)]);
}
const tarOf = (ents: Ent[]) => cat([...ents.map(ustar), new Uint8Array(1024)]);

async function write(
  tar: Uint8Array,
  options: EstargzLayerOptions = {},
  asStream = false,
): Promise<{ blob: Uint8Array; res: EstargzLayerResult }> {
  const w = createEstargzLayer(core, asStream ? new Blob([tar as Uint8Array<ArrayBuffer>]).stream() : new MemorySource(tar), options);
  const blob = await bytesOf(w.stream);
  return { blob, res: await w.result };
}

/** Entry names of the blob's decompressed tar. */
function tarNames(blob: Uint8Array): string[] {
  const t = gunzip(blob);
  const names: string[] = [];
  for (let off = 0; off + 512 <= t.length;) {
    const h = t.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const name = new TextDecoder().decode(h.subarray(0, h.indexOf(0) < 0 ? 100 : Math.min(100, h.indexOf(0))));
    const size = parseInt(new TextDecoder().decode(h.subarray(124, 135)), 8);
    names.push(name);
    off += 512 + size + ((512 - (size % 512)) % 512);
  }
  return names;
}

/**
 * A hand-made eStargz blob: one member per file payload (header of the next file appended), a
 * TOC from `mutate`, the TOC member (entry `tocName`), the footer.
 */
function craft(
  files: { name: string; data: Uint8Array }[],
  mutate: (toc: { version: number; entries: Record<string, unknown>[] }, offsets: number[]) => void = () => {},
  opts: { tocName?: string; tocMember?: (json: Uint8Array) => Uint8Array; footer?: (tocOffset: number, size: number) => Uint8Array } = {},
): { blob: Uint8Array; tocDigest: string } {
  const plain: Uint8Array[] = [];
  let cur: Uint8Array[] = [];
  for (const f of files) {
    cur.push(goRegHeader(f.name, f.data.length));
    plain.push(cat(cur));
    cur = [f.data, pad(f.data.length)];
  }
  plain.push(cat(cur));
  const members = plain.map((p) => gzipMember(p));
  const offsets: number[] = [];
  let off = 0;
  for (const m of members) {
    offsets.push(off);
    off += m.length;
  }
  const toc = {
    version: 1,
    entries: files.map((f, i) =>
      ({ name: f.name, type: "reg", size: f.data.length, offset: offsets[i + 1], digest: sha(f.data), chunkDigest: sha(f.data) }) as Record<
        string,
        unknown
      >
    ),
  };
  mutate(toc, offsets);
  const json = enc.encode(JSON.stringify(toc, null, "\t"));
  const tocMember = opts.tocMember
    ? opts.tocMember(json)
    : gzipMember(cat([goRegHeader(opts.tocName ?? "stargz.index.json", json.length), json, pad(json.length), new Uint8Array(1024)]));
  const footer = (opts.footer ?? buildFooter)(off, off + tocMember.length);
  return { blob: cat([...members, tocMember, footer]), tocDigest: sha(json) };
}

const FILES = [
  { name: "a.txt", data: enc.encode("hello estargz\n") },
  { name: "b.bin", data: new Uint8Array(2000).map((_, i) => (i * 7) & 0xff) },
];

// ---- footer and TOC encoding --------------------------------------------------------------------

describe("footer", () => {
  it("is Go's 51 bytes", () => {
    const f = buildFooter(0x1234abcd);
    expect(Buffer.from(f).toString("hex")).toBe(
      "1f8b080400000000" + "00ff" + "1a00" + "53471600" + Buffer.from("000000001234abcdSTARGZ").toString("hex") + "010000ffff" +
        "0000000000000000",
    );
    expect(findFooter(f)).toEqual({ tocOffset: 0x1234abcd, size: 51, legacy: false });
    expect(gunzip(f).length).toBe(0);
  });
  it("legacy 47-byte footer is found after the 51-byte one fails", () => {
    const f = buildLegacyFooter(77);
    expect(f.length).toBe(47);
    expect(findFooter(cat([new Uint8Array(10), f]))).toEqual({ tocOffset: 77, size: 47, legacy: true });
  });
  it("wrong magic, subfield ID, length", async () => {
    const f = buildFooter(5);
    const badMagic = f.slice();
    badMagic[32] = 0x58; // "XTARGZ"
    await expectCode(() => findFooter(badMagic), "BAD_MAGIC");
    const badId = f.slice();
    badId[12] = 0x45;
    await expectCode(() => findFooter(badId), "BAD_MAGIC");
    const badLen = f.slice();
    badLen[14] = 21;
    await expectCode(() => findFooter(badLen), "BAD_FOOTER");
    const badHex = f.slice();
    badHex[20] = 0x7a;
    await expectCode(() => findFooter(badHex), "BAD_FOOTER");
  });
});

describe("TOC JSON", () => {
  it("escapes like Go's encoding/json", () => {
    expect(goJsonString('a"b\\c\n\r\t\b\f\u0001<>&\u2028\u2029é😀')).toBe(
      '"a\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u003c\\u003e\\u0026\\u2028\\u2029é😀"',
    );
    // Invalid UTF-8 bytes (lone surrogates in Go byte strings) become \ufffd.
    expect(goJsonString("x\udc80y\ud800")).toBe('"x\\ufffdy\\ufffd"');
  });
  it("is MarshalIndent with tabs, omitempty, sorted xattrs", () => {
    const text = marshalTocText({
      version: 1,
      entries: [
        { name: "d/", type: "dir", mode: 493, modtime: "2020-01-01T00:00:00Z", userName: "root" },
        {
          name: "f",
          type: "reg",
          size: 3,
          offset: 0,
          xattrs: { "user.b": "Yg==", "user.a": "YQ==" },
          digest: "sha256:x",
          chunkDigest: "sha256:x",
        },
      ],
    });
    expect(text).toBe(
      '{\n\t"version": 1,\n\t"entries": [\n\t\t{\n\t\t\t"name": "d/",\n\t\t\t"type": "dir",\n\t\t\t"modtime": "2020-01-01T00:00:00Z",\n\t\t\t"mode": 493,\n\t\t\t"userName": "root"\n\t\t},\n' +
        '\t\t{\n\t\t\t"name": "f",\n\t\t\t"type": "reg",\n\t\t\t"size": 3,\n\t\t\t"xattrs": {\n\t\t\t\t"user.a": "YQ==",\n\t\t\t\t"user.b": "Yg=="\n\t\t\t},\n\t\t\t"digest": "sha256:x",\n\t\t\t"chunkDigest": "sha256:x"\n\t\t}\n\t]\n}',
    );
    expect(marshalTocText({ version: 1, entries: [] })).toBe('{\n\t"version": 1,\n\t"entries": []\n}');
  });
  it("modtime: UTC, rounded half up to seconds, empty for 0 and Go's zero time", () => {
    expect(formatModtime(1_700_000_000, 499_999_999)).toBe("2023-11-14T22:13:20Z");
    expect(formatModtime(1_700_000_000, 500_000_000)).toBe("2023-11-14T22:13:21Z");
    expect(formatModtime(0, 0)).toBe("");
    expect(formatModtime(0, 700_000_000)).toBe("");
    expect(formatModtime(-62135596800, 0)).toBe("");
    expect(formatModtime(-1, 0)).toBe("1969-12-31T23:59:59Z");
  });
});

// ---- writer semantics ---------------------------------------------------------------------------

describe("writer", () => {
  const tar = tarOf([
    { name: "dir/", type: "5" },
    { name: "dir/a", data: enc.encode("aaa"), uname: "root" },
    { name: "stargz.index.json", data: enc.encode("{}") },
    { name: "./.no.prefetch.landmark", data: Uint8Array.of(15) },
    { name: "dir/b", data: new Uint8Array(10_000).fill(7), uname: "root" },
    { name: "dir/c", type: "2", linkname: "a" },
    { name: "x/", type: "5" },
    { name: "x/y", data: enc.encode("yyy"), uname: "other" },
  ]);

  it("drops TOC and landmark entries, puts .no.prefetch.landmark first, chunks files", async () => {
    const { blob, res } = await write(tar, { chunkSize: 4096 });
    expect(tarNames(blob)).toEqual([".no.prefetch.landmark", "dir/", "dir/a", "dir/b", "dir/c", "x/", "x/y", "stargz.index.json"]);
    const entries = res.toc.entries!;
    const b = entries.filter((e) => e.name === "dir/b");
    expect(b.map((e) => [e.type, e.chunkOffset, e.chunkSize])).toEqual([
      ["reg", undefined, 4096],
      ["chunk", 4096, 4096],
      ["chunk", 8192, undefined],
    ]);
    expect(b.every((e) => e.chunkDigest && e.offset)).toBe(true);
    expect(entries.find((e) => e.name === "dir/a")!.userName).toBe("root");
    expect(entries.find((e) => e.name === "dir/b")!.userName).toBeUndefined();
    expect(entries.find((e) => e.name === "x/y")!.userName).toBe("other");
    expect(res.annotations).toEqual({
      "containerd.io/snapshot/stargz/toc.digest": res.tocDigest,
      "io.containers.estargz.uncompressed-size": String(res.uncompressedSize),
    });
    expect(res.descriptor.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    const plain = gunzip(blob);
    expect(plain.length).toBe(res.uncompressedSize);
    expect(sha(plain)).toBe(res.diffID);
    expect(sha(blob)).toBe(res.digest);
  });

  it("is deterministic and identical for stream and BlobSource input", async () => {
    const a = await write(tar, { prioritizedFiles: ["x/y"] });
    const b = await write(tar, { prioritizedFiles: ["x/y"] }, true);
    const c = await write(tar, { prioritizedFiles: ["x/y"] });
    expect(Buffer.compare(a.blob, b.blob)).toBe(0);
    expect(Buffer.compare(a.blob, c.blob)).toBe(0);
    expect(tarNames(a.blob)).toEqual(["x/", "x/y", ".prefetch.landmark", "dir/", "dir/a", "dir/b", "dir/c", "stargz.index.json"]);
  });

  it("prioritized files: order, parents, hardlink targets, missing ones", async () => {
    const t = tarOf([
      { name: "a/", type: "5" },
      { name: "a/1", data: enc.encode("1") },
      { name: "b/", type: "5" },
      { name: "b/2", data: enc.encode("2") },
      { name: "b/link", type: "1", linkname: "a/1" },
    ]);
    const { blob, res } = await write(t, { prioritizedFiles: ["/b/link", "./b/2", "nope"], allowMissingPrioritizedFiles: true });
    expect(tarNames(blob)).toEqual(["b/", "a/", "a/1", "b/link", "b/2", ".prefetch.landmark", "stargz.index.json"]);
    expect(res.missedPrioritizedFiles).toEqual(["nope"]);
    await expectCode(write(t, { prioritizedFiles: ["nope"] }), "NOT_FOUND");
    // Build needs the parent directory entries too.
    await expectCode(write(tarOf([{ name: "p/q", data: enc.encode("q") }]), { prioritizedFiles: ["p/q"] }), "NOT_FOUND");
    // A stream can't move a hardlink target it already wrote.
    await expectCode(write(t, { prioritizedFiles: ["b/link"] }, true), "BAD_ARGUMENT");
  });

  it("duplicates: last one wins with a BlobSource (as Build), TAR_DUPLICATE_PATH for a stream", async () => {
    const t = tarOf([
      { name: "f", data: enc.encode("old") },
      { name: "g", data: enc.encode("g") },
      { name: "./f", data: enc.encode("new") },
    ]);
    const { blob, res } = await write(t);
    expect(tarNames(blob)).toEqual([".no.prefetch.landmark", "g", "./f", "stargz.index.json"]);
    const rd = await readEstargzToc(new MemorySource(blob), { core, tocDigest: res.tocDigest });
    expect(new TextDecoder().decode(await rd.readFile("f"))).toBe("new");
    await expectCode(write(t, {}, true), "TAR_DUPLICATE_PATH");
  });

  it("refuses unsupported entries and bad options", async () => {
    await expectCode(write(tarOf([{ name: "c", type: "7", data: enc.encode("x") }])), "TAR_UNSUPPORTED");
    await expectCode(write(tar, { chunkSize: 0 }), "BAD_ARGUMENT");
    // libdeflate (the default engine) takes 0–12, pako 0–9.
    await expectCode(write(tar, { level: 13 }), "BAD_ARGUMENT");
    await expectCode(write(tar, { level: 11, gzip: "pako" }), "BAD_ARGUMENT");
    await expectCode(write(tar, { minChunkSize: 10, gzip: "native" }), "BAD_ARGUMENT");
    await expectCode(write(tar.subarray(0, 700)), "TRUNCATED");
  });

  it("empty tar: just the landmark", async () => {
    const { blob, res } = await write(new Uint8Array(1024));
    expect(tarNames(blob)).toEqual([".no.prefetch.landmark", "stargz.index.json"]);
    expect(res.toc.entries!.length).toBe(1);
  });

  it("minChunkSize packs small files into shared members (innerOffset) and reads back", async () => {
    const ents: Ent[] = [{ name: "d/", type: "5" }];
    for (let i = 0; i < 200; i++) ents.push({ name: `d/f${i}`, data: enc.encode(`file ${i} `.repeat(i % 50)) });
    const t = tarOf(ents);
    const { blob, res } = await write(t, { minChunkSize: 16384 });
    const plain = await write(t);
    expect(blob.length).toBeLessThan(plain.blob.length);
    const shared = res.toc.entries!.filter((e) => (e.innerOffset ?? 0) > 0);
    expect(shared.length).toBeGreaterThan(100);
    const rd = await readEstargzToc(new MemorySource(blob), { core, tocDigest: res.tocDigest });
    for (const f of rd.regularFiles()) expect(sha(await rd.readFile(f))).toBe(f.digest);
    expect(sha(gunzip(blob))).toBe(res.diffID);
  });
});

// ---- reader: bad input --------------------------------------------------------------------------

describe("reader on bad blobs", () => {
  it("reads a good crafted blob (and a legacy footer)", async () => {
    const { blob, tocDigest } = craft(FILES);
    const rd = await readEstargzToc(new MemorySource(blob), { core, tocDigest });
    expect(new TextDecoder().decode(await rd.readFile("a.txt"))).toBe("hello estargz\n");
    expect(await rd.readFile("/b.bin")).toEqual(FILES[1]!.data);
    const legacy = craft(FILES, undefined, { footer: (o) => buildLegacyFooter(o) });
    const rl = await readEstargzToc(new MemorySource(legacy.blob), { core, tocDigest: legacy.tocDigest });
    expect(rl.footer.legacy).toBe(true);
    expect(await rl.readFile("b.bin")).toEqual(FILES[1]!.data);
  });

  it("footer with a wrong magic: BAD_MAGIC", async () => {
    const { blob } = craft(FILES);
    const b = blob.slice();
    b[b.length - 51 + 32] = 0x58;
    await expectCode(readEstargzToc(new MemorySource(b), { core }), "BAD_MAGIC");
  });

  it("TOC offset beyond the blob: OUT_OF_RANGE", async () => {
    const { blob } = craft(FILES, undefined, { footer: (_o, size) => buildFooter(size + 1000) });
    await expectCode(readEstargzToc(new MemorySource(blob), { core }), "OUT_OF_RANGE");
    const atFooter = craft(FILES, undefined, { footer: (_o, size) => buildFooter(size) });
    await expectCode(readEstargzToc(new MemorySource(atFooter.blob), { core }), "OUT_OF_RANGE");
  });

  it("TOC member that is not a tar entry named stargz.index.json: BAD_TOC", async () => {
    await expectCode(readEstargzToc(new MemorySource(craft(FILES, undefined, { tocName: "other.json" }).blob), { core }), "BAD_TOC");
    await expectCode(
      readEstargzToc(new MemorySource(craft(FILES, undefined, { tocMember: (j) => gzipMember(j) }).blob), { core }),
      "BAD_TOC",
    );
    await expectCode(
      readEstargzToc(new MemorySource(craft(FILES, undefined, { tocMember: () => enc.encode("not gzip at all") }).blob), { core }),
      "BAD_TOC",
    );
    await expectCode(
      readEstargzToc(new MemorySource(craft(FILES, undefined, { tocMember: (j) => cat([gzipMember(j), enc.encode("junk")]) }).blob), {
        core,
      }),
      "BAD_TOC",
    );
  });

  it("TOC digest mismatch: DIGEST_MISMATCH", async () => {
    const { blob } = craft(FILES);
    await expectCode(readEstargzToc(new MemorySource(blob), { core, tocDigest: "sha256:" + "0".repeat(64) }), "DIGEST_MISMATCH");
    await expectCode(readEstargzToc(new MemorySource(blob), { core, tocDigest: "md5:abc" }), "BAD_ARGUMENT");
  });

  it("chunk ranges outside the blob or not increasing", async () => {
    const outside = craft(FILES, (toc, offsets) => {
      toc.entries[1]!["offset"] = offsets[offsets.length - 1]! + 100_000;
    });
    await expectCode(readEstargzToc(new MemorySource(outside.blob), { core }), "OUT_OF_RANGE");
    const backwards = craft(FILES, (toc) => {
      toc.entries[1]!["offset"] = 1;
    });
    await expectCode(readEstargzToc(new MemorySource(backwards.blob), { core }), "BAD_TOC");
  });

  it("a member that decompresses to more than the TOC says: SIZE_MISMATCH", async () => {
    // The TOC says a.txt has 5 bytes; its member holds 14 (+ padding).
    const more = craft(FILES, (toc) => {
      toc.entries[0]!["size"] = 5;
      toc.entries[0]!["digest"] = toc.entries[0]!["chunkDigest"] = sha(FILES[0]!.data.subarray(0, 5));
    });
    const rd = await readEstargzToc(new MemorySource(more.blob), { core, tocDigest: more.tocDigest });
    await expectCode(rd.readFile("a.txt"), "SIZE_MISMATCH");
    // A non-last chunk must fill its range exactly.
    const big = new Uint8Array(3000).fill(1);
    const chunked = craft([{ name: "c", data: big }], (toc, offsets) => {
      toc.entries = [
        {
          name: "c",
          type: "reg",
          size: 3000,
          offset: offsets[1],
          chunkSize: 1000,
          digest: sha(big),
          chunkDigest: sha(big.subarray(0, 1000)),
        },
        { name: "c", type: "chunk", offset: offsets[1]! + 5, chunkOffset: 1000, chunkDigest: sha(big.subarray(1000)) },
      ];
    });
    const rc = await readEstargzToc(new MemorySource(chunked.blob), { core });
    await expectCode(rc.readChunk("c", 0), "TRUNCATED"); // range ends inside the member
    // A member inflating far beyond its chunk stops at the bound.
    const bomb = new Uint8Array(20_000_000);
    const b = craft([{ name: "z", data: bomb }], (toc) => {
      toc.entries[0]!["size"] = 10;
      toc.entries[0]!["digest"] = toc.entries[0]!["chunkDigest"] = sha(new Uint8Array(10));
    });
    const rb = await readEstargzToc(new MemorySource(b.blob), { core });
    await expectCode(rb.readFile("z"), "SIZE_MISMATCH");
  });

  it("corrupt chunk data and wrong chunk digests", async () => {
    const { blob, tocDigest } = craft(FILES);
    const rd0 = await readEstargzToc(new MemorySource(blob), { core, tocDigest });
    const c = rd0.lookup("b.bin")!.chunks[0]!;
    const b = blob.slice();
    b[c.offset + 20] = b[c.offset + 20]! ^ 0x55;
    const rd = await readEstargzToc(new MemorySource(b), { core, tocDigest });
    const err = await rd.readFile("b.bin").then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(err).toBeInstanceOf(LayerkitError);
    expect(["GZIP_CORRUPT", "DIGEST_MISMATCH", "SIZE_MISMATCH", "TRUNCATED"]).toContain((err as LayerkitError).code);
    const wrong = craft(FILES, (toc) => {
      toc.entries[1]!["chunkDigest"] = sha(enc.encode("nope"));
    });
    const rw = await readEstargzToc(new MemorySource(wrong.blob), { core });
    await expectCode(rw.readFile("b.bin"), "DIGEST_MISMATCH");
    const none = craft(FILES, (toc) => {
      delete toc.entries[1]!["chunkDigest"];
      delete toc.entries[1]!["digest"];
    });
    await expectCode(readEstargzToc(new MemorySource(none.blob), { core }), "BAD_TOC");
  });

  it("names with .. or NUL: UNSAFE_PATH", async () => {
    for (const name of ["../evil", "a/../../b", "a\u0000b"]) {
      const { blob } = craft(FILES, (toc) => {
        toc.entries[0]!["name"] = name;
      });
      await expectCode(readEstargzToc(new MemorySource(blob), { core }), "UNSAFE_PATH");
    }
  });

  it("too small, not JSON, trailing data", async () => {
    await expectCode(readEstargzToc(new MemorySource(new Uint8Array(20)), { core }), "TRUNCATED");
    const notJson = craft(FILES, undefined, {
      tocMember: () => {
        const j = enc.encode("{not json");
        return gzipMember(cat([goRegHeader("stargz.index.json", j.length), j, pad(j.length), new Uint8Array(1024)]));
      },
    });
    await expectCode(readEstargzToc(new MemorySource(notJson.blob), { core }), "BAD_TOC");
  });
});
