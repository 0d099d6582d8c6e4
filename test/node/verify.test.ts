/**
 * verifyLayer on layers we write in every format (and plain gzip from the gzip CLI), and on
 * tampered layers: each tampering must be reported by the check that owns it, with its path or
 * offset, while the other checks still run.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/runtime/node.js";
import type { Core } from "../../src/core.js";
import { createLayer } from "../../src/create-layer.js";
import { isLayerkitError, LayerkitError } from "../../src/errors.js";
import type { LayerFormat, LayerResult } from "../../src/layer/result.js";
import { buildFooter } from "../../src/formats/estargz/footer.js";
import { goRegHeader } from "../../src/tar/writer.js";
import { type EstargzToc, marshalToc } from "../../src/formats/estargz/toc.js";
import { formatZstdChunkedAnnotations } from "../../src/formats/zstd-chunked/annotations.js";
import { buildFooterV3, buildSkippableFrame } from "../../src/formats/zstd-chunked/footer.js";
import { readToc } from "../../src/formats/zstd-chunked/read-toc.js";
import { encodeToc } from "../../src/formats/zstd-chunked/toc-json.js";
import type { Toc } from "../../src/layer/toc.js";
import { gzipMember } from "../../src/gzip/gzip.js";
import { MemorySource } from "../../src/source/memory.js";
import { verifyLayer, type VerifyReport } from "../../src/verify/index.js";
import { ZstdFrameScanner } from "../../src/wasm/zstd-frame-scanner.js";
import * as tars from "../fixtures/tars.js";
import { bytesOf, streamOf } from "../support/streams.js";

let core: Core;
beforeAll(async () => {
  core = await loadCore();
});

const sha = (b: Uint8Array): string => "sha256:" + createHash("sha256").update(b).digest("hex");
const enc = new TextEncoder();
const dec = new TextDecoder();

async function write(
  tar: Uint8Array,
  format: Exclude<LayerFormat, "gzip">,
  chunkSize?: number,
): Promise<{ blob: Uint8Array; result: LayerResult }> {
  const w = createLayer(streamOf(tar, 65_521), { format, core, ...(chunkSize ? { chunkSize } : {}) });
  const blob = await bytesOf(w.stream);
  return { blob, result: await w.result };
}

function failed(r: VerifyReport): string[] {
  return r.checks.filter((c) => c.status === "failed").map((c) => c.name).sort();
}

function statusOf(r: VerifyReport, name: string): string | undefined {
  return r.checks.find((c) => c.name === name)?.status;
}

describe("layers we write verify", () => {
  const cases: [string, () => Uint8Array][] = [
    ["kitchen sink", tars.kitchenSinkTar],
    ["holes (zeros chunks, 10 MiB file)", tars.holesTar],
    ["trailing padding", () => tars.trailingPaddingTar(4096)],
    ["xattrs and PAX times", () => tars.cat(tars.xattrsTar())],
    ["300 small files", () => tars.manySmallFiles(300)],
  ];
  for (const format of ["zstd:chunked", "estargz", "zstd"] as const) {
    for (const [name, make] of cases) {
      it(`${format}: ${name}`, async () => {
        const tar = make();
        const { blob, result } = await write(tar, format, format === "estargz" ? 65_536 : undefined);
        let progressCalls = 0;
        let lastDone = 0;
        const r = await verifyLayer(new MemorySource(blob), result.descriptor, {
          diffID: result.diffID,
          core,
          readSize: 100_003,
          onProgress(done, total) {
            expect(done).toBeGreaterThan(lastDone);
            expect(total).toBe(blob.length);
            lastDone = done;
            progressCalls++;
          },
        });
        expect(r.failures).toEqual([]);
        expect(r.ok).toBe(true);
        expect(r.format).toBe(format);
        expect(r.digest).toBe(sha(blob));
        expect(r.size).toBe(blob.length);
        expect(r.diffID).toBe(result.diffID);
        expect(r.uncompressedSize).toBe(result.uncompressedSize);
        expect(lastDone).toBe(blob.length);
        expect(progressCalls).toBe(Math.ceil(blob.length / 100_003));
        if (format === "zstd") {
          expect(r.diffID).toBe(sha(tar));
          expect(r.checks.map((c) => c.name)).not.toContain("toc");
        } else {
          expect(r.tocAuthenticated).toBe(true);
          expect(r.tocDigest).toBe(result.tocDigest);
          const regWithData = (result.toc!.entries ?? []).filter((e) => e.type === "reg" && (e.size ?? 0) > 0).length;
          expect(r.filesChecked).toBeGreaterThanOrEqual(regWithData);
          for (const c of ["toc", "toc-vs-tar", "file-digests", "chunk-digests", "chunk-layout"]) expect(statusOf(r, c)).toBe("ok");
        }
        if (format === "zstd:chunked") {
          expect(r.diffID).toBe(sha(tar));
          expect(statusOf(r, "toc-vs-tar-split")).toBe("ok");
          expect(statusOf(r, "tar-split-vs-tar")).toBe("ok");
        }
      });
    }
  }

  it("gzip from the gzip CLI (and a multi-member one from two gzip runs)", async () => {
    const tar = tars.kitchenSinkTar();
    const gz = new Uint8Array(execFileSync("gzip", ["-n", "-c"], { input: tar }));
    const r = await verifyLayer(new MemorySource(gz), {
      digest: sha(gz),
      size: gz.length,
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    }, { diffID: sha(tar), core });
    expect(r.failures).toEqual([]);
    expect(r.format).toBe("gzip");
    expect(r.diffID).toBe(sha(tar));
    expect(r.entries).toBe(14);

    const half = Math.floor(tar.length / 2);
    const two = tars.cat(
      new Uint8Array(execFileSync("gzip", ["-n", "-c"], { input: tar.subarray(0, half) })),
      new Uint8Array(execFileSync("gzip", ["-n", "-c"], { input: tar.subarray(half) })),
    );
    const r2 = await verifyLayer(new MemorySource(two), { digest: sha(two), size: two.length }, { diffID: sha(tar), core });
    expect(r2.failures).toEqual([]);
  });

  it("zstd from the zstd CLI (multi-threaded, several frames)", async () => {
    const tar = tars.holesTar();
    const zs = new Uint8Array(execFileSync("zstd", ["-q", "-c", "-T2", "-B262144", "--no-check"], { input: tar, maxBuffer: 1 << 26 }));
    const r = await verifyLayer(new MemorySource(zs), { digest: sha(zs), size: zs.length }, { diffID: sha(tar), core });
    expect(r.failures).toEqual([]);
    expect(r.format).toBe("zstd");
  });
});

describe("tampered layers are rejected", () => {
  it("wrong size, wrong digest, wrong diffID", async () => {
    const tar = tars.kitchenSinkTar();
    const { blob, result } = await write(tar, "zstd:chunked");
    const d = result.descriptor;
    const r = await verifyLayer(new MemorySource(blob), { ...d, size: d.size + 1, digest: sha(enc.encode("other")) }, {
      diffID: sha(enc.encode("x")),
      core,
    });
    expect(r.ok).toBe(false);
    expect(failed(r)).toEqual(["blob-digest", "blob-size", "diff-id"]);
    expect(r.failures.find((f) => f.check === "blob-size")!.code).toBe("SIZE_MISMATCH");
    expect(r.failures.find((f) => f.check === "blob-digest")!.code).toBe("DIGEST_MISMATCH");
    expect(r.failures.find((f) => f.check === "diff-id")!.code).toBe("DIGEST_MISMATCH");
    // the TOC checks still ran, and passed
    expect(statusOf(r, "toc-vs-tar")).toBe("ok");
    expect(statusOf(r, "file-digests")).toBe("ok");
  });

  for (const format of ["zstd:chunked", "estargz", "zstd"] as const) {
    it(`${format}: flipped byte in a payload frame fails the blob digest and names the file`, async () => {
      const tar = tars.kitchenSinkTar();
      const { blob, result } = await write(tar, format);
      // ./bin/tool holds 200,000 random bytes: stored blocks, so a byte in the middle of the blob is in its payload
      const toolAt = findPayload(tar, "./bin/tool");
      expect(toolAt).toBeGreaterThan(0);
      const bad = blob.slice();
      const at = format === "zstd" ? Math.floor(blob.length / 2) : payloadOffsetOf(result, "./bin/tool") + 5000;
      bad[at] = bad[at]! ^ 0x40;
      const r = await verifyLayer(new MemorySource(bad), result.descriptor, { diffID: result.diffID, core });
      expect(r.ok).toBe(false);
      expect(failed(r)).toContain("blob-digest");
      expect(failed(r)).toContain("decompress");
      const dfail = r.failures.find((f) => f.check === "decompress")!;
      expect(["ZSTD_CORRUPT", "GZIP_CORRUPT"]).toContain(dfail.code);
      expect(dfail.offset).toBeLessThan(blob.length);
      expect(statusOf(r, "diff-id")).toBe("skipped");
      if (format !== "zstd") {
        const ffail = r.failures.find((f) => f.check === "file-digests");
        expect(ffail?.path).toBe("./bin/tool");
      }
    });
  }

  it("zstd:chunked: a TOC re-digested to lie about a file's content and mode", async () => {
    const tar = tars.kitchenSinkTar();
    const { blob, result } = await write(tar, "zstd:chunked");
    const lie = await rewriteZstdChunkedToc(blob, result, (toc) => {
      const e = toc.entries!.find((x) => x.name === "./etc/hostname")!;
      e.digest = sha(enc.encode("evil\n\n\n\n\n"));
      e.chunkDigest = e.digest;
      const t = toc.entries!.find((x) => x.name === "./bin/tool")!;
      t.mode = 0o4755;
    });
    const r = await verifyLayer(new MemorySource(lie.blob), lie.descriptor, { diffID: result.diffID, core });
    expect(r.ok).toBe(false);
    expect(statusOf(r, "blob-digest")).toBe("ok");
    expect(statusOf(r, "toc")).toBe("ok");
    expect(statusOf(r, "diff-id")).toBe("ok");
    const fd = r.failures.filter((f) => f.check === "file-digests");
    expect(fd.map((f) => [f.path, f.code])).toEqual([["./etc/hostname", "DIGEST_MISMATCH"]]);
    expect(fd[0]!.offsetKind).toBe("tar");
    const tv = r.failures.filter((f) => f.check === "toc-vs-tar");
    expect(tv.map((f) => [f.path, f.code])).toEqual([["./bin/tool", "INCONSISTENT"]]);
    expect(tv[0]!.message).toContain("mode");
    // upstream's TOC ↔ tar-split rule catches the mode too (the first difference only)
    expect(r.failures.find((f) => f.check === "toc-vs-tar-split")?.path).toBe("./bin/tool");
  });

  it("zstd:chunked: a TOC that points files at the wrong frames", async () => {
    const tar = tars.manySmallFiles(20);
    const { blob, result } = await write(tar, "zstd:chunked");
    const regs = (result.toc!.entries ?? []).filter((e) => e.type === "reg" && (e.size ?? 0) > 0);
    const [prev, a, b] = [regs[0]!, regs[1]!, regs[2]!];
    const lie = await rewriteZstdChunkedToc(blob, result, (toc) => {
      // a starts at the frame of the tar headers before it; b one byte into its frame
      toc.entries!.find((x) => x.name === a.name)!.offset = prev.endOffset!;
      toc.entries!.find((x) => x.name === b.name)!.offset = b.offset! + 1;
    });
    const r = await verifyLayer(new MemorySource(lie.blob), lie.descriptor, { core });
    expect(r.ok).toBe(false);
    const layout = r.failures.filter((f) => f.check === "chunk-layout");
    expect(layout.map((f) => [f.path, f.offset])).toEqual([
      [a.name, prev.endOffset],
      [b.name, b.offset! + 1],
    ]);
    expect(layout[0]!.message).toContain("tar offset");
    expect(layout[1]!.message).toContain("no zstd frame");
    expect(layout.every((f) => f.code === "INCONSISTENT" && f.offsetKind === "blob")).toBe(true);
    expect(statusOf(r, "file-digests")).toBe("ok");
  });

  it("zstd:chunked: a TOC with an extra file and one missing", async () => {
    const tar = tars.kitchenSinkTar();
    const { blob, result } = await write(tar, "zstd:chunked");
    const lie = await rewriteZstdChunkedToc(blob, result, (toc) => {
      const e = toc.entries!.find((x) => x.name === "./run/fifo")!;
      e.name = "./run/ghost";
    });
    const r = await verifyLayer(new MemorySource(lie.blob), lie.descriptor, { core });
    const tv = r.failures.filter((f) => f.check === "toc-vs-tar");
    expect(tv.map((f) => f.path).sort()).toEqual(["./run/fifo", "./run/ghost"]);
    expect(tv.find((f) => f.path === "./run/fifo")!.offsetKind).toBe("tar");
  });

  it("zstd:chunked: a tar-split that does not rebuild the tar", async () => {
    const tar = tars.kitchenSinkTar();
    const { blob, result } = await write(tar, "zstd:chunked");
    const lie = await rewriteZstdChunkedToc(blob, result, () => {}, (lines) => {
      // change the CRC-64 of ./bin/tool: the TOC says nothing about it, a full pull would fail
      const i = lines.findIndex((l) => l.includes('"name":"./bin/tool"'));
      const entry = JSON.parse(lines[i]!) as { payload: string };
      const crc = Buffer.from(entry.payload, "base64");
      crc[0] = crc[0]! ^ 1;
      lines[i] = lines[i]!.replace(entry.payload, crc.toString("base64"));
    });
    const r = await verifyLayer(new MemorySource(lie.blob), lie.descriptor, { diffID: result.diffID, core });
    expect(failed(r)).toEqual(["tar-split-vs-tar"]);
    const f = r.failures[0]!;
    expect(f.code).toBe("INCONSISTENT");
    expect(f.message).toContain("CRC-64");
    expect(f.path).toBe("./bin/tool");
    expect(statusOf(r, "toc-vs-tar-split")).toBe("ok");
  });

  it("zstd:chunked: a TOC that does not match its annotation", async () => {
    const tar = tars.kitchenSinkTar();
    const { blob, result } = await write(tar, "zstd:chunked");
    const lie = await rewriteZstdChunkedToc(blob, result, (toc) => {
      toc.entries!.find((x) => x.name === "./etc/hostname")!.uid = 7;
    });
    // the new blob with the old annotations' digest (positions from the new blob)
    const old = result.annotations["io.github.containers.zstd-chunked.manifest-checksum"]!;
    // Both key sets (the writer's default) name the old digest, so they agree with each other.
    const annotations = {
      ...lie.descriptor.annotations!,
      "io.github.containers.zstd-chunked.manifest-checksum": old,
      "io.containers.zstd-chunked.manifest-checksum": old,
    };
    const r = await verifyLayer(new MemorySource(lie.blob), { ...lie.descriptor, annotations }, { core });
    const t = r.failures.find((f) => f.check === "toc")!;
    expect(t.code).toBe("DIGEST_MISMATCH");
    expect(r.tocAuthenticated).toBe(false);
    // read from the footer anyway, the lie is also named
    expect(r.failures.find((f) => f.check === "toc-vs-tar")?.path).toBe("./etc/hostname");
  });

  for (const format of ["zstd:chunked", "estargz", "zstd"] as const) {
    it(`${format}: truncated blob`, async () => {
      const tar = tars.kitchenSinkTar();
      const { blob, result } = await write(tar, format);
      const cut = blob.subarray(0, Math.floor(blob.length * 0.6));
      const r = await verifyLayer(new MemorySource(cut), result.descriptor, { diffID: result.diffID, core });
      expect(r.ok).toBe(false);
      expect(failed(r)).toEqual(expect.arrayContaining(["blob-size", "blob-digest", "decompress"]));
      const codes = r.failures.filter((f) => f.check === "decompress").map((f) => f.code);
      expect(codes.some((c) => c === "TRUNCATED" || c === "ZSTD_TRUNCATED")).toBe(true);
      expect(statusOf(r, "diff-id")).toBe("skipped");
      if (format !== "zstd") expect(statusOf(r, "toc")).toBe("failed");
    });
  }

  it("estargz: TOC entries that do not match the tar headers", async () => {
    const tar = tars.kitchenSinkTar();
    const { blob, result } = await write(tar, "estargz");
    const toc = JSON.parse(dec.decode(tocJsonOf(blob))) as EstargzToc;
    const find = (n: string) => toc.entries!.find((e) => e.name === n)!;
    find("./bin/tool").uid = 4242;
    find("./bin/tool-link").linkName = "/etc/shadow";
    find("./dev/null").devMinor = 5;
    find("./etc/hostname").modtime = "2001-01-01T00:00:00Z";
    delete find("./bin/tool").xattrs;
    const lie = rebuildEstargz(blob, toc);
    const r = await verifyLayer(new MemorySource(lie.blob), lie.descriptor, { diffID: result.diffID, core });
    expect(r.ok).toBe(false);
    expect(statusOf(r, "toc")).toBe("ok");
    const tv = r.failures.filter((f) => f.check === "toc-vs-tar");
    expect(tv.map((f) => f.path).sort()).toEqual(["./bin/tool", "./bin/tool-link", "./dev/null", "./etc/hostname"]);
    const tool = tv.find((f) => f.path === "./bin/tool")!.message;
    expect(tool).toContain("uid");
    expect(tool).toContain("security.capability");
    expect(tv.find((f) => f.path === "./bin/tool-link")!.message).toContain("linkName");
    expect(tv.find((f) => f.path === "./dev/null")!.message).toContain("devMinor");
    expect(tv.find((f) => f.path === "./etc/hostname")!.message).toContain("modtime");
    // the diffID changed with the TOC (it is in the tar stream), nothing else failed
    expect(failed(r)).toEqual(["diff-id", "toc-vs-tar"]);
  });

  it("estargz: a chunk offset moved off its member start, and a chunk digest that lies", async () => {
    const tar = tars.holesTar();
    const { blob } = await write(tar, "estargz", 1 << 20);
    const toc = JSON.parse(dec.decode(tocJsonOf(blob))) as EstargzToc;
    const chunks = toc.entries!.filter((e) => e.name === "big/holes.bin");
    expect(chunks.length).toBeGreaterThan(3);
    const moved = chunks[2]!.offset! + 1; // inside the member, not at its start
    chunks[2]!.offset = moved;
    const rnd = toc.entries!.find((e) => e.name === "big/random.bin")!;
    rnd.chunkDigest = sha(enc.encode("not it"));
    const lie = rebuildEstargz(blob, toc);
    const r = await verifyLayer(new MemorySource(lie.blob), lie.descriptor, { core });
    expect(r.failures.filter((f) => f.check === "chunk-layout").map((f) => [f.path, f.offset])).toEqual([["big/holes.bin", moved]]);
    expect(r.failures.filter((f) => f.check === "chunk-digests").map((f) => f.path)).toEqual(["big/random.bin"]);
  });

  it("failures are bounded by maxFailures and counted beyond", async () => {
    const tar = tars.manySmallFiles(60);
    const { blob, result } = await write(tar, "zstd:chunked");
    const lie = await rewriteZstdChunkedToc(blob, result, (toc) => {
      for (const e of toc.entries!) if (e.type === "reg") e.uid = 1;
    });
    const r = await verifyLayer(new MemorySource(lie.blob), lie.descriptor, { core, maxFailures: 5 });
    expect(r.failures.length).toBe(5);
    expect(r.failuresOmitted).toBeGreaterThan(50);
    expect(r.ok).toBe(false);
  });
});

describe("bad input", () => {
  it("bad descriptor and options are BAD_ARGUMENT", async () => {
    const src = new MemorySource(new Uint8Array(10));
    const bad = [
      verifyLayer(src, { digest: "md5:00", size: 10 }, { core }),
      verifyLayer(src, { digest: sha(new Uint8Array(10)), size: -1 }, { core }),
      verifyLayer(src, { digest: sha(new Uint8Array(10)), size: 10 }, { core, diffID: "sha256:XYZ" }),
      verifyLayer(src, { digest: sha(new Uint8Array(10)), size: 10 }, { core, readSize: 0 }),
    ];
    for (const p of bad) await expect(p).rejects.toSatisfy((e) => isLayerkitError(e, "BAD_ARGUMENT"));
  });

  it("a blob that is neither gzip nor zstd is reported, and still hashed", async () => {
    const junk = tars.randomBytes(5000, 3);
    const r = await verifyLayer(new MemorySource(junk), { digest: sha(junk), size: junk.length }, { core });
    expect(r.ok).toBe(false);
    expect(r.digest).toBe(sha(junk));
    expect(statusOf(r, "blob-digest")).toBe("ok");
    expect(r.failures[0]!.check).toBe("decompress");
    expect(r.failures[0]!.code).toBe("BAD_MAGIC");
  });

  it("a gzip blob that holds no tar is TAR_CORRUPT", async () => {
    const gz = gzipMember(tars.randomBytes(3000, 9));
    const r = await verifyLayer(new MemorySource(gz), { digest: sha(gz), size: gz.length }, { core });
    expect(r.failures.map((f) => [f.check, f.code])).toEqual([["decompress", "TAR_CORRUPT"]]);
  });

  it("a source that fails is reported as a read failure", async () => {
    const blob = (await write(tars.kitchenSinkTar(), "zstd")).blob;
    const src = new MemorySource(blob);
    let reads = 0;
    // detection reads the head and the tail, then the blob is streamed: fail the 3rd streamed read
    const failing = {
      stats: src.stats,
      size: () => src.size(),
      read: async (o: number, n: number) => (++reads > 4 ? Promise.reject(new LayerkitError("IO", "disk on fire")) : src.read(o, n)),
    };
    const r = await verifyLayer(failing, { digest: sha(blob), size: blob.length }, { core, readSize: 1024 });
    expect(r.failures.map((f) => [f.check, f.code])).toEqual([["blob-digest", "IO"]]);
  });

  it("the frame scanner stops on bytes that are not zstd and finds frame starts otherwise", () => {
    const a = core.zstd.compress(tars.randomBytes(1000, 1));
    const b = core.zstd.compress(new Uint8Array(100_000));
    const skip = buildSkippableFrame(enc.encode("meta"));
    const stream = tars.cat(a, skip, b, a);
    const wanted = new Set([0, a.length, a.length + skip.length, a.length + skip.length + b.length, 5]);
    const s = new ZstdFrameScanner(wanted);
    for (let i = 0; i < stream.length; i += 7) s.push(stream.subarray(i, i + 7));
    expect([...s.starts].sort((x, y) => x - y)).toEqual([0, a.length + skip.length, a.length + skip.length + b.length]);
    expect(s.healthy).toBe(true);
    const g = new ZstdFrameScanner(new Set([0]));
    g.push(tars.randomBytes(64, 2));
    expect(g.healthy).toBe(false);
    expect(g.starts.size).toBe(0);
  });
});

// ---- helpers that build lying layers ------------------------------------------------------------

/** Offset of `name`'s payload in a plain tar. */
function findPayload(tar: Uint8Array, name: string): number {
  for (let off = 0; off + 512 <= tar.length;) {
    const n = dec.decode(tar.subarray(off, off + 100)).replace(/\0.*$/s, "");
    const size = parseInt(dec.decode(tar.subarray(off + 124, off + 136)).replace(/\0.*$/s, "").trim() || "0", 8);
    if (n === name) return off + 512;
    off += 512 + Math.ceil(size / 512) * 512;
    if (n === "" && size === 0) break;
  }
  return -1;
}

function payloadOffsetOf(result: LayerResult, name: string): number {
  const e = (result.toc!.entries ?? []).find((x) => x.name === name && x.type === "reg")!;
  return e.offset!;
}

/**
 * Rebuilds a zstd:chunked blob with an edited TOC (and optionally tar-split), re-digested, with
 * fresh positions and a v3 footer: the layer is self-consistent except for what `edit` lied about.
 */
async function rewriteZstdChunkedToc(
  blob: Uint8Array,
  result: LayerResult,
  edit: (toc: Toc) => void,
  editTarSplit?: (lines: string[]) => void,
): Promise<{ blob: Uint8Array; descriptor: LayerResult["descriptor"] }> {
  const info = await readToc(new MemorySource(blob), { annotations: result.annotations, core, tarSplit: true });
  const toc = JSON.parse(JSON.stringify(info.toc)) as Toc;
  const payloadEnd = info.tocPosition.offset - 8;
  let tarSplitZ = blob.subarray(info.tarSplitPosition!.offset, info.tarSplitPosition!.offset + info.tarSplitPosition!.length);
  let tarSplitLen = info.tarSplitPosition!.uncompressedLength;
  if (editTarSplit) {
    const lines = dec.decode(info.tarSplit!).split("\n");
    editTarSplit(lines);
    const ts = enc.encode(lines.join("\n"));
    tarSplitZ = core.zstd.compress(ts);
    tarSplitLen = ts.length;
    toc.tarSplitDigest = sha(tarSplitZ);
  }
  edit(toc);
  const json = encodeToc(toc);
  const tocZ = core.zstd.compress(json);
  const tocOffset = payloadEnd + 8;
  const tsOffset = tocOffset + tocZ.length + 8;
  const footer = buildFooterV3({
    tocOffset,
    tocLength: tocZ.length,
    tocUncompressedLength: json.length,
    tarSplitOffset: tsOffset,
    tarSplitLength: tarSplitZ.length,
    tarSplitUncompressedLength: tarSplitLen,
  });
  const out = tars.cat(blob.subarray(0, payloadEnd), buildSkippableFrame(tocZ), buildSkippableFrame(tarSplitZ), footer);
  const annotations = formatZstdChunkedAnnotations({
    tocDigest: sha(tocZ),
    manifestPosition: { offset: tocOffset, length: tocZ.length, uncompressedLength: json.length },
    tarSplitPosition: { offset: tsOffset, length: tarSplitZ.length, uncompressedLength: tarSplitLen },
  });
  return { blob: out, descriptor: { mediaType: result.descriptor.mediaType, digest: sha(out), size: out.length, annotations } };
}

/** The TOC JSON of an eStargz blob (via its footer). */
function tocJsonOf(blob: Uint8Array): Uint8Array {
  const footer = dec.decode(blob.subarray(blob.length - 51 + 16, blob.length - 51 + 16 + 16));
  const tocOffset = parseInt(footer, 16);
  const tarBytes = new Uint8Array(execFileSync("gzip", ["-d", "-c"], { input: blob.subarray(tocOffset, blob.length - 51) }));
  const size = parseInt(dec.decode(tarBytes.subarray(124, 136)).replace(/\0.*$/s, "").trim(), 8);
  return tarBytes.subarray(512, 512 + size);
}

/** Replaces an eStargz blob's TOC member and footer; the annotation carries the new TOC digest. */
function rebuildEstargz(blob: Uint8Array, toc: EstargzToc): { blob: Uint8Array; descriptor: LayerResult["descriptor"] } {
  const footerHex = dec.decode(blob.subarray(blob.length - 51 + 16, blob.length - 51 + 32));
  const tocOffset = parseInt(footerHex, 16);
  const json = marshalToc(toc);
  const pad = new Uint8Array((512 - (json.length % 512)) % 512);
  const member = gzipMember(tars.cat(goRegHeader("stargz.index.json", json.length), json, pad, new Uint8Array(1024)));
  const out = tars.cat(blob.subarray(0, tocOffset), member, buildFooter(tocOffset));
  return {
    blob: out,
    descriptor: {
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: sha(out),
      size: out.length,
      annotations: { "containerd.io/snapshot/stargz/toc.digest": sha(json) },
    },
  };
}

describe("a descriptor without a blob digest", () => {
  for (const format of ["zstd:chunked", "estargz", "zstd"] as const) {
    it(`${format}: every other check runs, blob-digest is skipped with the computed digest, and tampering is still found`, async () => {
      const { blob, result } = await write(tars.kitchenSinkTar(), format);
      const r = await verifyLayer(new MemorySource(blob), { size: blob.length, annotations: result.annotations }, {
        diffID: result.diffID,
      });
      expect(r.ok).toBe(true);
      expect(r.digest).toBe(sha(blob));
      expect(statusOf(r, "blob-digest")).toBe("skipped");
      expect(r.checks.find((c) => c.name === "blob-digest")?.note).toContain(sha(blob));
      expect(statusOf(r, "diff-id")).toBe("ok");
      expect(statusOf(r, "decompress")).toBe("ok");

      const bad = blob.slice();
      bad[Math.floor(bad.length / 3)]! ^= 0x40;
      const r2 = await verifyLayer(new MemorySource(bad), { size: bad.length, annotations: result.annotations }, { diffID: result.diffID });
      expect(r2.ok).toBe(false);
      expect(statusOf(r2, "blob-digest")).toBe("skipped");
    });
  }
  it("a digest that is given must still be well-formed", async () => {
    await expect(verifyLayer(new MemorySource(new Uint8Array(4)), { digest: "sha256:xyz", size: 4 })).rejects.toMatchObject({
      code: "BAD_ARGUMENT",
    });
  });
});

describe("eStargz: a corrupt member is blamed on the files it holds, not on every file after it", () => {
  it("one flipped byte inside one small file's member names that file alone, while the other files read back correctly", async () => {
    const tar = tars.manySmallFiles(120);
    const { blob, result } = await write(tar, "estargz");
    const regs = (result.toc!.entries ?? []).filter((e) => e.type === "reg" && (e.size ?? 0) > 0);
    const victim = regs[40]!;
    const next = regs[41]!;
    const bad = blob.slice();
    // Inside the victim's member, past its 10-byte gzip header: the deflate data.
    const at = victim.offset! + Math.floor((next.offset! - victim.offset!) / 2);
    bad[at] = bad[at]! ^ 0x55;
    const r = await verifyLayer(new MemorySource(bad), result.descriptor, { diffID: result.diffID, core });
    expect(r.ok).toBe(false);
    const blamed = r.failures.filter((f) => f.check === "file-digests").map((f) => f.path);
    expect(blamed).toEqual([victim.name]);
    // The files after it are intact for a lazy reader: blaming them would be wrong.
    const { readFile } = await import("../../src/lazy/read-file.js");
    const later = regs[60]!;
    const bytes = await readFile(new MemorySource(bad), later.name, { annotations: result.annotations, core });
    expect(bytes.length).toBe(later.size);
  });
});
