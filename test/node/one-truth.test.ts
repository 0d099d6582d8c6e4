/**
 * Issue 18's classes, each reproduced: layers that are ambiguous (hardlinks to later or
 * redefined targets), bytes a TOC does not commit to (empty files), TOC ranges that do not match
 * the frame layout, untyped errors (TOC sizes of 2^53 − 1, libzstd size_t results ≥ 2^31) and
 * lenient decoding (empty zstd). For each: verifyLayer reports what the lazy readers refuse, the
 * readers refuse it with a typed code, and the writers never produce it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Core } from "../../src/core.js";
import { createLayer } from "../../src/create-layer.js";
import { LayerkitError } from "../../src/errors.js";
import { decompressLayer } from "../../src/formats/decompress.js";
import { readEstargzToc } from "../../src/formats/estargz/reader.js";
import { buildSkippableFrame } from "../../src/formats/zstd-chunked/footer.js";
import { openLayerIndex } from "../../src/lazy/layer-index.js";
import { openFile, readFile } from "../../src/lazy/read-file.js";
import { loadCore } from "../../src/runtime/node.js";
import { MemorySource } from "../../src/source/memory.js";
import { buildTar, type TarWriteEntry } from "../../src/tar/index.js";
import { verifyLayer } from "../../src/verify/verify-layer.js";
import { concat, seal, type SeekableParts, sha, shiftOffsets, split } from "../fuzz/reseal.js";
import { collect, streamOf } from "../fuzz/samples.js";

const enc = new TextEncoder();
const MTIME = 1_700_000_000;
type Seekable = "zstd:chunked" | "estargz";
const SEEKABLE: Seekable[] = ["zstd:chunked", "estargz"];

let core: Core;
beforeAll(async () => {
  core = await loadCore();
});

async function layerOf(tar: Uint8Array, format: Seekable | "zstd") {
  const w = createLayer(streamOf(tar), { format, core, level: 1, ...(format === "estargz" ? { chunkSize: 1024 } : {}) });
  const [blob, result] = await Promise.all([collect(w.stream), w.result]);
  return { format, tar, blob, annotations: result.annotations ?? {} };
}

async function partsOf(entries: TarWriteEntry[], format: Seekable): Promise<SeekableParts> {
  return split(core, await layerOf(buildTar(entries), format));
}

async function codeOf(f: () => Promise<unknown> | unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    if (e instanceof LayerkitError) return e.code;
    throw e;
  }
  return "ok";
}

async function verifyCodes(blob: Uint8Array, annotations: Record<string, string>, format?: Seekable | "zstd") {
  const r = await verifyLayer(new MemorySource(blob), { size: blob.length, digest: sha(blob), annotations }, {
    core,
    ...(format ? { format } : {}),
  });
  return { ok: r.ok, failures: r.failures.map((f) => `${f.check}:${f.code}`) };
}

const byName = (p: SeekableParts, name: string) => p.toc.entries.findIndex((e) => e["name"] === name);

describe("hardlinks that extraction and lazy reads resolve differently", () => {
  const base: TarWriteEntry[] = [
    { name: "a", data: enc.encode("first a, twenty-five b.\n"), mtime: MTIME },
    { name: "d", data: enc.encode("d's bytes"), mtime: MTIME },
    { name: "h", type: "hardlink", linkname: "d", mtime: MTIME },
  ];

  for (const format of SEEKABLE) {
    it(`${format}: a hardlink before its target (h → d, then d) is BAD_TOC for verify and the readers`, async () => {
      const p = await partsOf(base, format);
      const [h] = p.toc.entries.splice(byName(p, "h"), 1);
      p.toc.entries.splice(byName(p, "d"), 0, h!);
      const { blob, annotations } = seal(core, p);
      const v = await verifyCodes(blob, annotations);
      expect(v.ok).toBe(false);
      expect(v.failures).toContain("toc:BAD_TOC");
      expect(await codeOf(() => openLayerIndex(new MemorySource(blob), { core, annotations }))).toBe("BAD_TOC");
      expect(await codeOf(() => readFile(new MemorySource(blob), "h", { core, annotations }))).toBe("BAD_TOC");
    });

    it(`${format}: a target defined again after its hardlink (a, h → a, a) is BAD_TOC`, async () => {
      const p = await partsOf([base[0]!, { name: "h", type: "hardlink", linkname: "a", mtime: MTIME }, base[1]!], format);
      // `a` again, as an entry without payload (so no other TOC rule is involved).
      p.toc.entries.push({ name: "a", type: "symlink", linkName: "d", mode: 0o777, modtime: "2023-11-14T22:13:20Z" });
      const { blob, annotations } = seal(core, p);
      expect((await verifyCodes(blob, annotations)).failures).toContain("toc:BAD_TOC");
      expect(await codeOf(() => readFile(new MemorySource(blob), "h", { core, annotations }))).toBe("BAD_TOC");
    });

    it(`${format}: createLayer refuses to write a hardlink to a later entry, and a redefined link target`, async () => {
      const forward = buildTar([{ name: "h", type: "hardlink", linkname: "d", mtime: MTIME }, base[1]!]);
      expect(await codeOf(() => layerOf(forward, format))).toBe("TAR_UNSUPPORTED");
      const redefined = buildTar([base[0]!, { name: "h", type: "hardlink", linkname: "a", mtime: MTIME }, {
        name: "a",
        data: enc.encode("second a"),
        mtime: MTIME,
      }]);
      expect(await codeOf(() => layerOf(redefined, format))).toBe("TAR_DUPLICATE_PATH");
      // In order, the same links are written and read back.
      const ok = await layerOf(buildTar(base), format);
      expect(new TextDecoder().decode(await readFile(new MemorySource(ok.blob), "h", { core, annotations: ok.annotations }))).toBe(
        "d's bytes",
      );
    });
  }
});

describe("bytes the TOC does not commit to", () => {
  for (const format of SEEKABLE) {
    it(`${format}: an empty file whose authenticated TOC digest is not the empty digest fails to read (DIGEST_MISMATCH) and verify says so`, async () => {
      const p = await partsOf([{ name: "e", mtime: MTIME }, { name: "f", data: enc.encode("x"), mtime: MTIME }], format);
      p.toc.entries[byName(p, "e")]!["digest"] = "sha256:" + "ab".repeat(32);
      const { blob, annotations } = seal(core, p);
      expect(await codeOf(() => readFile(new MemorySource(blob), "e", { core, annotations }))).toBe("DIGEST_MISMATCH");
      if (format === "estargz") {
        const r = await readEstargzToc(new MemorySource(blob), { core });
        expect(await codeOf(() => r.readFile("e"))).toBe("DIGEST_MISMATCH");
      }
      const v = await verifyCodes(blob, annotations);
      expect(v.failures).toContain("file-digests:DIGEST_MISMATCH");
    });
  }
});

describe("TOC ranges must match the frame layout exactly (zstd:chunked)", () => {
  const entries: TarWriteEntry[] = [
    { name: "a", data: enc.encode("a".repeat(3000)), mtime: MTIME },
    { name: "b", data: enc.encode("b".repeat(5000)), mtime: MTIME },
  ];

  for (const d of [-4, -1, 1, 4]) {
    it(`endOffset moved by ${d}: verify fails chunk-layout, as the reader fails`, async () => {
      const p = await partsOf(entries, "zstd:chunked");
      const a = p.toc.entries[byName(p, "a")]!;
      a["endOffset"] = (a["endOffset"] as number) + d;
      const { blob, annotations } = seal(core, p);
      const v = await verifyCodes(blob, annotations);
      expect(v.ok).toBe(false);
      expect(v.failures.some((f) => f.startsWith("chunk-layout:") || f.startsWith("toc:"))).toBe(true);
      expect(await codeOf(() => readFile(new MemorySource(blob), "a", { core, annotations }))).not.toBe("ok");
    });
  }

  it("a skippable frame inside a chunk's range: the reader skips it as upstream's stream decoder does, and verify agrees", async () => {
    const p = await partsOf(entries, "zstd:chunked");
    const a = p.toc.entries[byName(p, "a")]!;
    const at = a["endOffset"] as number; // the end of a's frames: the frame joins a's range
    const frame = buildSkippableFrame(enc.encode("inside"));
    p.payload = concat([p.payload.subarray(0, at), frame, p.payload.subarray(at)]);
    shiftOffsets(p.toc, at + 1, frame.length);
    a["endOffset"] = at + frame.length;
    const { blob, annotations } = seal(core, p);
    const bytes = await readFile(new MemorySource(blob), "a", { core, annotations });
    expect(bytes.length).toBe(3000);
    expect((await verifyCodes(blob, annotations)).failures).toEqual([]);
  });

  it("eStargz: a chunk without chunkDigest is refused by verify (BAD_TOC) as by the reader (upstream's VerifyTOC)", async () => {
    const p = await partsOf([{ name: "big", data: enc.encode("z".repeat(5000)), mtime: MTIME }], "estargz");
    const chunk = p.toc.entries.find((e) => e["type"] === "chunk")!;
    delete chunk["chunkDigest"];
    const { blob, annotations } = seal(core, p);
    expect((await verifyCodes(blob, annotations)).failures).toContain("toc:BAD_TOC");
    expect(await codeOf(() => readFile(new MemorySource(blob), "big", { core, annotations }))).toBe("BAD_TOC");
  });
});

describe("typed errors for sizes past any buffer", () => {
  for (const format of SEEKABLE) {
    it(`${format}: a TOC file size of 2^53 − 1 fails with a LayerkitError, never a RangeError`, async () => {
      const p = await partsOf([{ name: "f", data: enc.encode("small"), mtime: MTIME }], format);
      const f = p.toc.entries[byName(p, "f")]!;
      f["size"] = 2 ** 53 - 1;
      const { blob, annotations } = seal(core, p);
      const source = new MemorySource(blob);
      const code = await codeOf(async () => {
        const { stream } = await openFile(source, "f", { core, annotations });
        const reader = stream.getReader();
        for (let r = await reader.read(); !r.done; r = await reader.read());
      });
      expect(code).not.toBe("ok");
      if (format === "estargz") {
        const r = await readEstargzToc(source, { core });
        expect(await codeOf(() => r.readFile("f"))).not.toBe("ok");
      }
    });
  }

  for (const length of [0x80000008, 0xfffffff0, 0xffffffff]) {
    it(`a skippable frame claiming ${length.toString(16)} bytes is ZSTD_TRUNCATED, not a misread error code`, () => {
      const frame = buildSkippableFrame(new Uint8Array(16));
      new DataView(frame.buffer, frame.byteOffset).setUint32(4, length, true);
      expect(() => core.zstd.decompress(frame)).toThrow(expect.objectContaining({ code: "ZSTD_TRUNCATED" }));
      const d = core.zstd.createDecompressor();
      d.write(frame);
      expect(() => d.end()).toThrow(expect.objectContaining({ code: "ZSTD_TRUNCATED" }));
      d.free();
    });
  }
});

describe("lenient decoding", () => {
  it("decompressLayer of an empty input as zstd is TRUNCATED, as for gzip; verify says the same", async () => {
    for (const c of ["zstd", "gzip"] as const) {
      expect(await codeOf(() => collect(decompressLayer(streamOf(new Uint8Array(0)), c, { core })))).toBe("TRUNCATED");
    }
    const v = await verifyCodes(new Uint8Array(0), {}, "zstd");
    expect(v.failures).toContain("decompress:TRUNCATED");
  });
});
