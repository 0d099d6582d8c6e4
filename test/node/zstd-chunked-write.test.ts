/**
 * The zstd:chunked writer against the format: the native zstd CLI restores the exact input tar,
 * our reader and upstream's (c/storage 1.43 through the Go harness) read the TOC, every file comes
 * back verified, and tars upstream refuses are refused with a typed error.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/runtime/node.js";
import type { Core } from "../../src/core.js";
import { createLayer } from "../../src/create-layer.js";
import { isLayerkitError } from "../../src/errors.js";
import { readToc } from "../../src/formats/zstd-chunked/read-toc.js";
import { assembleTar } from "../../src/formats/zstd-chunked/tar-split.js";
import { readFile } from "../../src/lazy/read-file.js";
import { MemorySource } from "../../src/source/memory.js";
import { TarReader } from "../../src/tar/reader.js";
import { ByteReader, concatBytes } from "../../src/util/bytes.js";
import { buildTar, type TarWriteEntry } from "../../src/tar/index.js";
import { resultWithoutToc } from "../../src/layer/result.js";
import * as tars from "../fixtures/tars.js";
import { bytesOf, byteStreamOf, streamOf } from "../support/streams.js";
import { runHarness } from "../support/go-harness.js";

let core: Core;
let work: string;
beforeAll(async () => {
  core = await loadCore();
  work = mkdtempSync(join(tmpdir(), "layerkit-zc-write-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Reads `stream` as the CLI does: BYOB into one reused buffer of `size` bytes. */
async function collectByob(stream: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
  const reader = new ByteReader(stream, { reuseBuffer: size });
  expect(reader.reusesBuffer).toBe(true);
  const parts: Uint8Array[] = [];
  for (let p = await reader.readSome(); p !== null; p = await reader.readSome()) parts.push(p.slice());
  return concatBytes(parts);
}

async function write(tar: Uint8Array, level = 3) {
  const w = createLayer(streamOf(tar), { format: "zstd:chunked", level, core });
  const blob = await bytesOf(w.stream);
  return { blob, result: await w.result };
}

const sha = (b: Uint8Array) => "sha256:" + createHash("sha256").update(b).digest("hex");

/** name → content of every regular file in a tar, parsed by our tar reader. */
async function tarFiles(tar: Uint8Array): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const r = new TarReader(tar);
  for (let e = await r.next(); e; e = await r.next()) {
    if (e.header.typeflag === "0") files.set(e.header.name, await r.readAll());
  }
  return files;
}

const GOOD: Record<string, () => Uint8Array> = {
  kitchenSink: tars.kitchenSinkTar,
  holes: tars.holesTar,
  manySmall: () => tars.manySmallFiles(300),
  emptyFiles: tars.emptyFilesTar,
  special: tars.specialFilesTar,
  xattrs: tars.xattrsTar,
  longNames: tars.longNamesTar,
  unicodeNames: tars.unicodeNamesTar,
  escapeNames: tars.escapeNamesTar,
  paxTimes: tars.paxTimesTar,
  trailingPadding: () => tars.trailingPaddingTar(3000),
  gnuFormat: tars.gnuFormatTar,
  // No entries at all (two zero blocks): the TOC's "entries" is null.
  emptyArchive: () => new Uint8Array(1024),
};

describe("zstd:chunked writer", () => {
  for (const [name, make] of Object.entries(GOOD)) {
    it(`${name}: blob decompresses (native zstd) to the input tar; TOC, files and tar-split read back`, async () => {
      const tar = make();
      const { blob, result } = await write(tar);
      const plain = new Uint8Array(execFileSync("zstd", ["-q", "-d", "-c"], { input: blob, maxBuffer: 1 << 28 }));
      expect(sha(plain)).toBe(sha(tar));
      expect(result.diffID).toBe(sha(tar));
      expect(result.uncompressedSize).toBe(tar.length);
      expect(result.digest).toBe(sha(blob));
      expect(result.size).toBe(blob.length);
      expect(result.descriptor.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+zstd");
      // Default `both`: the current keys and c/storage 1.43's old ones, with the same values.
      expect(Object.keys(result.annotations).sort()).toEqual([
        "io.containers.zstd-chunked.manifest-checksum",
        "io.containers.zstd-chunked.manifest-position",
        "io.github.containers.zstd-chunked.manifest-checksum",
        "io.github.containers.zstd-chunked.manifest-position",
        "io.github.containers.zstd-chunked.tarsplit-position",
      ]);
      expect(result.annotations["io.containers.zstd-chunked.manifest-checksum"]).toBe(
        result.annotations["io.github.containers.zstd-chunked.manifest-checksum"],
      );
      expect(result.annotations["io.containers.zstd-chunked.manifest-position"]).toBe(
        result.annotations["io.github.containers.zstd-chunked.manifest-position"],
      );

      const source = new MemorySource(blob);
      const index = await readToc(source, { annotations: result.annotations, core, tarSplit: true });
      expect(index.format).toBe("zstd:chunked");
      expect(index.generation).toBe("G4");
      expect(index.authenticated).toBe(true);
      expect(index.footer?.version).toBe("v3");
      expect(index.tocDigest).toBe(result.tocDigest);
      expect(source.stats.requests).toBe(1);

      // Without annotations the footer finds the same TOC.
      const probed = await readToc(new MemorySource(blob), { core });
      expect(probed.tocDigest).toBe(result.tocDigest);

      const files = await tarFiles(tar);
      for (const [path, content] of files) {
        const got = await readFile(new MemorySource(blob), path, { annotations: result.annotations, core });
        expect(sha(got), path).toBe(sha(content));
      }

      // Reassembling the tar from tar-split + the files read through the TOC gives the diffID.
      const byName = new Map(index.entries.map((e) => [e.name, e]));
      const re = await bytesOf(
        new ReadableStream({
          async start(c) {
            for await (
              const piece of assembleTar(index.tarSplit!, async (n) => {
                const e = byName.get(n);
                return e && e.type === "reg" && e.size > 0 ? await readFile(new MemorySource(blob), n, { index, core }) : new Uint8Array(0);
              })
            ) c.enqueue(piece);
            c.close();
          },
        }),
      );
      expect(sha(re)).toBe(result.diffID);
    });
  }

  it("reads a byte-stream tar into one reused buffer and fills a BYOB reader's buffer: the same blob and diffID as plain streams", async () => {
    for (const [name, make] of Object.entries(GOOD)) {
      const tar = make();
      const plain = await write(tar);
      // Pieces of at most 700 bytes: headers, PAX records and padding span reads of the reused buffer.
      const views: number[] = [];
      const w = createLayer(byteStreamOf(tar, 700, views), { format: "zstd:chunked", level: 3, core });
      const blob = await collectByob(w.stream, 4096);
      const result = await w.result;
      expect(sha(blob), name).toBe(sha(plain.blob));
      expect(result.diffID, name).toBe(plain.result.diffID);
      expect(result.digest, name).toBe(plain.result.digest);
      // Every read was a BYOB read into the writer's 1 MiB buffer (no array allocated by the source).
      expect(views.length, name).toBeGreaterThan(0);
      expect(new Set(views), name).toEqual(new Set([1 << 20]));
    }
  });

  it("is deterministic: the same tar and level give byte-identical blobs", async () => {
    const tar = tars.kitchenSinkTar();
    const a = await write(tar, 5);
    const b = await write(tar, 5);
    expect(sha(a.blob)).toBe(sha(b.blob));
  });

  it("cuts holes of ≥ 1024 zeros into zeros chunks and does not fetch them", async () => {
    const { blob, result } = await write(tars.holesTar());
    const zeros = result.toc!.entries!.filter((e) => e.chunkType === "zeros");
    expect(zeros.length).toBeGreaterThan(0);
    for (const e of result.toc!.entries!) {
      if (e.type === "chunk") expect(e.chunkDigest).toMatch(/^sha256:/);
    }
    expect(blob.length).toBeGreaterThan(0);
  });

  it("multi-MiB TOC and tar-split with multi-byte names: frames cut at any UTF-8 boundary read back, and result.toc is the TOC written", async () => {
    // 12,000 entries of 1-, 2-, 3- and 4-byte UTF-8 names: the TOC JSON spans several 1 MiB
    // blocks, so characters straddle block ends.
    const names = ["ü", "日本", "\u{1F600}", "a"];
    const entries: TarWriteEntry[] = [];
    for (let i = 0; i < 12000; i++) {
      entries.push({
        name: `d${i % 7}/${names[i % 4]!.repeat(1 + (i % 13))}-${i}`,
        data: new TextEncoder().encode(`file ${i}`),
        mtime: 1_700_000_000 + i,
      });
    }
    const tar = buildTar(entries);
    const { blob, result } = await write(tar);
    const index = await readToc(new MemorySource(blob), { annotations: result.annotations, core, tarSplit: true });
    const tocBytes = Number(result.annotations["io.github.containers.zstd-chunked.manifest-position"]!.split(":")[2]);
    expect(tocBytes).toBeGreaterThan(2 << 20);
    expect(index.entries.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    // The lazily parsed result.toc is exactly what the blob holds.
    const [offset, length] = result.annotations["io.github.containers.zstd-chunked.manifest-position"]!.split(":").map(Number) as [
      number,
      number,
    ];
    const frame = blob.subarray(offset, offset + length);
    const json = core.zstd.decompress(frame);
    // Text encoded straight into the compressor's blocks gives the frame the bytes alone give.
    const c = core.zstd.createCompressor({ level: 3, checksum: true, compact: true, windowLog: 19 });
    const again: Uint8Array[] = [];
    for (let at = 0; at < json.length; at += 65_537) again.push(c.write(json.subarray(at, at + 65_537)));
    again.push(c.endFrame());
    c.free();
    expect(sha(tars.cat(...again))).toBe(sha(frame));
    const written = JSON.parse(new TextDecoder().decode(json));
    expect(result.toc).toEqual(written);
    expect(result.toc).toBe(result.toc); // parsed once
    const { toc: _toc, ...rest } = result;
    expect(JSON.parse(JSON.stringify(resultWithoutToc(result)))).toEqual(JSON.parse(JSON.stringify(rest)));
    for (const i of [0, 1, 2, 3, 4457, 11999]) {
      const got = await readFile(new MemorySource(blob), entries[i]!.name, { index, core });
      expect(new TextDecoder().decode(got)).toBe(`file ${i}`);
    }
  });

  const BAD: Array<[string, () => Uint8Array, string]> = [
    ["global PAX header", tars.globalHeaderTar, "TAR_UNSUPPORTED"],
    ["GNU sparse file", tars.gnuSparseTar, "TAR_UNSUPPORTED"],
    ["PAX sparse file", tars.paxSparseTar, "TAR_UNSUPPORTED"],
    ["duplicate paths", tars.duplicatePathsTar, "TAR_DUPLICATE_PATH"],
    ["bad header checksum", tars.badChecksumTar, "TAR_CORRUPT"],
    ["unknown typeflag", tars.unknownTypeTar, "TAR_UNSUPPORTED"],
    ["contiguous file (7)", tars.contiguousTar, "TAR_UNSUPPORTED"],
  ];
  for (const [what, make, code] of BAD) {
    it(`refuses a tar with a ${what} (${code}), naming the entry`, async () => {
      const w = createLayer(streamOf(make()), { format: "zstd:chunked", core });
      const err = await bytesOf(w.stream).then(() => undefined, (e: unknown) => e);
      expect(isLayerkitError(err), String(err)).toBe(true);
      expect((err as { code: string }).code).toBe(code);
      await expect(w.result).rejects.toMatchObject({ code });
    });
  }

  it("refuses truncated tars with TRUNCATED", async () => {
    for (const [what, tar] of Object.entries(tars.truncatedTars())) {
      const w = createLayer(streamOf(tar), { format: "zstd:chunked", core });
      await expect(bytesOf(w.stream), what).rejects.toMatchObject({ code: "TRUNCATED" });
    }
  });
});

describe("zstd:chunked writer ↔ upstream c/storage 1.43", () => {
  type UpEntry = {
    type: string;
    name: string;
    size?: number;
    digest?: string;
    chunkSize?: number;
    chunkOffset?: number;
    chunkDigest?: string;
    chunkType?: string;
  };

  function files(name: string, tar: Uint8Array, blob: Uint8Array, annotations: Record<string, string>) {
    const blobPath = join(work, `${name}.zst`);
    const annPath = join(work, `${name}.json`);
    writeFileSync(blobPath, blob);
    writeFileSync(annPath, JSON.stringify(annotations));
    writeFileSync(join(work, `${name}.tar`), tar);
    return { blobPath, annPath, tarPath: join(work, `${name}.tar`) };
  }

  /** Applies a blob with upstream's partial-pull path; returns the extracted files or the error. */
  function apply(blobPath: string, annPath: string, dest: string, mapKeys: boolean) {
    try {
      return {
        files: runHarness<{ files: Array<{ name: string; digest?: string }> }>([
          "cstorage-apply",
          ...(mapKeys ? ["--map-current-keys"] : []),
          blobPath,
          annPath,
          dest,
        ]).files,
      };
    } catch (e) {
      return { error: String((e as Error).message).replace(/^.*"error":/s, "") };
    }
  }

  for (const name of ["kitchenSink", "holes", "manySmall", "xattrs", "paxTimes", "trailingPadding", "longNames", "unicodeNames"]) {
    it(`${name}: upstream reads our TOC, chunks exactly as upstream's writer does, and extracts the same files`, async () => {
      const tar = GOOD[name]!();
      const { blob, result } = await write(tar);
      const ours = files(name, tar, blob, result.annotations);
      // 1.43 knows only the old annotation keys and footer v1: the harness maps our keys.
      const up = runHarness<{ entries: UpEntry[] }>(["cstorage-read", "--map-current-keys", ours.blobPath, ours.annPath]);
      expect(up.entries.filter((e) => e.type !== "chunk").map((e) => e.name)).toEqual(
        result.toc!.entries!.filter((e) => e.type !== "chunk").map((e) => e.name),
      );

      // The same tar through upstream's own writer: identical chunk boundaries, types and digests.
      const theirs = runHarness<{ annotations: Record<string, string> }>([
        "cstorage-write",
        "--level",
        "3",
        ours.tarPath,
        join(work, `${name}.up.zst`),
      ]);
      writeFileSync(join(work, `${name}.up.json`), JSON.stringify(theirs.annotations));
      const upToc = runHarness<{ entries: UpEntry[] }>(["cstorage-read", join(work, `${name}.up.zst`), join(work, `${name}.up.json`)]);
      const shape = (e: UpEntry) =>
        [
          e.type,
          e.name,
          e.type === "chunk" ? 0 : e.size ?? 0,
          e.digest ?? "",
          e.chunkSize ?? 0,
          e.chunkOffset ?? 0,
          e.chunkDigest ?? "",
          e.chunkType ?? "",
        ].join("|");
      expect(result.toc!.entries!.map((e) => shape(e as UpEntry))).toEqual(upToc.entries.map(shape));

      // Upstream's partial pull of our blob ends exactly like its partial pull of its own blob.
      const mine = apply(ours.blobPath, ours.annPath, join(work, `${name}-apply`), true);
      let own = apply(join(work, `${name}.up.zst`), join(work, `${name}.up.json`), join(work, `${name}-apply-up`), false);
      // 1.43's ApplyDiff of its own manySmall blob failed twice in full CI runs (not reproduced in
      // 160 runs alone or under load): run it again, into a fresh directory, before comparing.
      for (let attempt = 2; attempt <= 3 && "error" in own && !("error" in mine); attempt++) {
        console.warn(`c/storage 1.43 ApplyDiff of its own ${name} blob failed (attempt ${attempt - 1}): ${own.error}`);
        own = apply(join(work, `${name}.up.zst`), join(work, `${name}.up.json`), join(work, `${name}-apply-up-${attempt}`), false);
      }
      if ("error" in own) {
        // kitchenSink trips two upstream failures on its own blob: 1.43's ApplyDiff mishandles a
        // file that begins with a zeros chunk (./var/ünï), and the kernel refuses the fixture's
        // malformed security.capability xattr (./bin/tool). ApplyDiff extracts concurrently, so
        // which one it reports first varies from run to run: ours must fail with one of the same.
        const known = [
          /checksum mismatch for \\"\.\/var\/ünï\\"/,
          /set xattr security\.capability=.* for \\"\.\/bin\/tool\\": invalid argument/,
        ];
        expect("error" in mine, `upstream failed on its own blob (${own.error}) but not on ours: ${JSON.stringify(mine).slice(0, 2000)}`)
          .toBe(true);
        for (const r of [own, mine] as Array<{ error: string }>) {
          expect(known.some((k) => k.test(r.error)), r.error).toBe(true);
        }
        return;
      }
      expect("files" in mine, JSON.stringify(mine)).toBe(true);
      for (const [path, content] of await tarFiles(tar)) {
        const clean = path.replace(/^\.?\//, "");
        const got = (mine as { files: Array<{ name: string; digest?: string }> }).files.find((f) => f.name.replace(/^\.?\//, "") === clean);
        expect(got, `upstream extracted ${path}`).toBeDefined();
        expect(got!.digest).toBe(sha(content));
      }
    });
  }
});
