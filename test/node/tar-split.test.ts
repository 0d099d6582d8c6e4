/**
 * tar-split against upstream vbatts/tar-split (Debian's golang-github-vbatts-tar-split-dev,
 * built offline here): our JSON lines equal what upstream's disassembler writes for the same
 * tar, upstream's assembler rebuilds the exact tar from our lines (checking every CRC-64), we
 * rebuild the exact tar from upstream's lines, and damaged streams give typed errors.
 */
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LayerkitError } from "../../src/errors.js";
import {
  assembleTar,
  createTarSplit,
  parseTarSplitLine,
  readTarSplit,
  tarSizeFromTarSplit,
  type TarSplitEntry,
  TarSplitWriter,
} from "../../src/formats/zstd-chunked/tar-split.js";
import { buildTar, readTar } from "../../src/tar/index.js";
import { goStringBytes } from "../../src/go/strings.js";
import { crc64 } from "../../src/util/crc64.js";
import {
  contiguousTar,
  emptyFilesTar,
  escapeNamesTar,
  globalHeaderTar,
  gnuFormatTar,
  holesTar,
  kitchenSinkTar,
  longNamesTar,
  manySmallFiles,
  missingEndTars,
  paxTimesTar,
  randomBytes,
  specialFilesTar,
  trailingPaddingTar,
  unicodeNamesTar,
  unknownTypeTar,
  xattrsTar,
} from "../fixtures/tars.js";
import { expectCode } from "../support/registry.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/**
 * A small Go program over upstream's tar-split: `disasm IN.tar` prints the JSON lines
 * asm.NewInputTarStream + storage.NewJSONPacker write; `asm TARSPLIT DIR` runs
 * asm.WriteOutputTarStream with payloads from DIR/<sha256 hex of the name>, tar to stdout.
 */
const GO_SOURCE = `package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"
)

type dirGetter string

func (d dirGetter) Get(name string) (io.ReadCloser, error) {
	sum := sha256.Sum256([]byte(name))
	return os.Open(filepath.Join(string(d), hex.EncodeToString(sum[:])))
}

func run() error {
	switch os.Args[1] {
	case "disasm":
		f, err := os.Open(os.Args[2])
		if err != nil {
			return err
		}
		defer f.Close()
		out := bufio.NewWriter(os.Stdout)
		r, err := asm.NewInputTarStream(f, storage.NewJSONPacker(out), nil)
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
		return out.Flush()
	case "asm":
		f, err := os.Open(os.Args[2])
		if err != nil {
			return err
		}
		defer f.Close()
		out := bufio.NewWriter(os.Stdout)
		if err := asm.WriteOutputTarStream(dirGetter(os.Args[3]), storage.NewJSONUnpacker(f), out); err != nil {
			return err
		}
		return out.Flush()
	}
	return fmt.Errorf("usage: disasm IN.tar | asm TARSPLIT DIR")
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`;

let bin = "";
const work = mkdtempSync(join(tmpdir(), "layerkit-tarsplit-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  // Built offline against Debian's Go packages (GO111MODULE=off), cached by source hash.
  const dir = join(tmpdir(), "layerkit-tarsplit-go-" + sha(enc.encode(GO_SOURCE)).slice(0, 12));
  bin = join(dir, "tarsplit-harness");
  if (existsSync(bin)) return;
  mkdirSync(join(dir, "src/tarsplit-harness"), { recursive: true });
  writeFileSync(join(dir, "src/tarsplit-harness/main.go"), GO_SOURCE);
  const r = spawnSync("go", ["build", "-o", bin, "tarsplit-harness"], {
    cwd: dir,
    env: { ...process.env, GO111MODULE: "off", GOPATH: `${dir}:/usr/share/gocode`, GOFLAGS: "" },
    encoding: "utf8",
  });
  if (r.status !== 0) {
    throw new Error(`building the tar-split harness failed (apt-get install golang-go golang-github-vbatts-tar-split-dev):\n${r.stderr}`);
  }
}, 300_000);

let seq = 0;
function file(bytes: Uint8Array): string {
  const p = join(work, `f${seq++}`);
  writeFileSync(p, bytes);
  return p;
}

/** Upstream's tar-split of `tar`. */
function upstreamDisasm(tar: Uint8Array): Uint8Array {
  return new Uint8Array(execFileSync(bin, ["disasm", file(tar)], { maxBuffer: 1 << 28 }));
}

/** Upstream's reassembly of `tarSplit` with the payloads of `tar` (read by our reader). */
async function upstreamAsm(tarSplit: Uint8Array, tar: Uint8Array): Promise<{ status: number | null; out: Uint8Array; err: string }> {
  const dir = join(work, `d${seq++}`);
  mkdirSync(dir);
  for (const e of (await readTar(tar, { strictTypes: false })).entries) {
    writeFileSync(join(dir, sha(goStringBytes(e.header.name))), e.data);
  }
  const r = spawnSync(bin, ["asm", file(tarSplit), dir], { maxBuffer: 1 << 28 });
  return { status: r.status, out: new Uint8Array(r.stdout), err: r.stderr.toString() };
}

/** tar-split 0.11.2 (Debian's) ends with an empty Segment for the EOF read; 0.12 (and we) skip it. */
function withoutFinalEmptySegment(lines: Uint8Array): string {
  const text = dec.decode(lines);
  return text.replace(/\{"type":2,"payload":"","position":\d+\}\n$/, "");
}

async function ourAssembly(tarSplit: Uint8Array, tar: Uint8Array): Promise<Uint8Array> {
  const files = new Map((await readTar(tar, { strictTypes: false })).entries.map((e) => [e.header.name, e.data]));
  const parts: Uint8Array[] = [];
  for await (const p of assembleTar(tarSplit, (name) => files.get(name) ?? new Uint8Array(0))) parts.push(p);
  return new Uint8Array(Buffer.concat(parts));
}

async function drain(source: Uint8Array, options?: Parameters<typeof readTarSplit>[1]): Promise<TarSplitEntry[]> {
  const out: TarSplitEntry[] = [];
  for await (const e of readTarSplit(source, options)) out.push(e);
  return out;
}

const invalidUtf8Tar = (): Uint8Array =>
  buildTar([
    { name: "bad-\udcff-name", data: enc.encode("raw name"), mtime: 1 },
    { name: "latin1-caf\udce9", data: enc.encode("é?"), mtime: 1 },
    { name: "ok", data: enc.encode("ok"), mtime: 1 },
  ]);

const fixtures: Record<string, () => Uint8Array> = {
  manySmallFiles: () => manySmallFiles(100),
  holes: holesTar,
  emptyFiles: emptyFilesTar,
  specialFiles: () => specialFilesTar(),
  xattrs: xattrsTar,
  longNamesPax: () => longNamesTar(),
  longNamesGnu: () => longNamesTar({ format: "gnu" }),
  unicodeNames: unicodeNamesTar,
  escapeNames: escapeNamesTar,
  invalidUtf8Names: invalidUtf8Tar,
  paxTimes: paxTimesTar,
  gnuFormat: gnuFormatTar,
  kitchenSink: kitchenSinkTar,
  trailing2k: () => trailingPaddingTar(2048),
  trailingRandom: () => trailingPaddingTar(randomBytes(5000, 77)),
  trailing2_5MiB: () => trailingPaddingTar(randomBytes(2.5 * 1024 * 1024, 78)),
  globalHeader: globalHeaderTar,
  contiguous: contiguousTar,
  unknownType: unknownTypeTar,
  ...Object.fromEntries(Object.entries(missingEndTars()).map(([k, v]) => [k, () => v])),
};

describe("tar-split vs upstream vbatts/tar-split", () => {
  for (const [name, make] of Object.entries(fixtures)) {
    it(`${name}: same JSON lines as upstream's disassembler; both assemblers rebuild the tar`, async () => {
      const tar = make();
      // Debian's Go 1.19 encoding/json writes \\u0008 and \\u000c.
      const ours = await createTarSplit(tar, { jsonEscapes: "go1.21" });
      const theirs = upstreamDisasm(tar);
      expect(dec.decode(ours.tarSplit)).toBe(withoutFinalEmptySegment(theirs));
      expect(ours.tarSize).toBe(tar.length);
      expect(await tarSizeFromTarSplit(theirs)).toBe(tar.length);
      const up = await upstreamAsm(ours.tarSplit, tar);
      expect(up.err).toBe("");
      expect(sha(up.out), "upstream reassembly of our tar-split").toBe(sha(tar));
      expect(sha(await ourAssembly(theirs, tar)), "our reassembly of upstream's tar-split").toBe(sha(tar));
    });
  }

  it("CRC-64 values are ISO polynomial sums of the payloads, as upstream writes them", async () => {
    const tar = manySmallFiles(30);
    const files = (await readTar(tar)).entries;
    const lines = await drain(upstreamDisasm(tar));
    const fileLines = lines.filter((e) => e.type === 1);
    expect(fileLines.map((e) => e.name)).toEqual(files.map((f) => f.header.name));
    for (const [i, e] of fileLines.entries()) {
      if (e.size === 0) expect(e.payload).toBeNull();
      else expect(e.payload, e.name).toEqual(crc64(files[i]!.data));
    }
  });

  it("a wrong CRC-64 fails in upstream's assembler and ours (DIGEST_MISMATCH naming the file)", async () => {
    const tar = manySmallFiles(10);
    const ours = dec.decode((await createTarSplit(tar)).tarSplit);
    // Change one file's CRC (the first file with a payload).
    const lines = ours.split("\n");
    const i = lines.findIndex((l) => l.startsWith('{"type":1') && l.includes('"size"'));
    const entry = parseTarSplitLine(lines[i]!);
    entry.payload![0]! ^= 1;
    lines[i] = lines[i]!.replace(/"payload":"[^"]*"/, `"payload":"${Buffer.from(entry.payload!).toString("base64")}"`);
    const tampered = enc.encode(lines.join("\n"));
    const up = await upstreamAsm(tampered, tar);
    expect(up.status).toBe(1);
    expect(up.err).toContain("file integrity checksum failed");
    const e = await expectCode(ourAssembly(tampered, tar), "DIGEST_MISMATCH");
    expect(e.details["name"]).toBe(entry.name);
  });
});

describe("differential: mutated tars through upstream's disassembler and ours", () => {
  it("accept and reject the same damaged tars, and write the same lines when both accept", async () => {
    // xorshift-seeded mutations of the headers of a small tar with long names, PAX and GNU parts.
    const base = [longNamesTar(), gnuFormatTar(), paxTimesTar(), xattrsTar()];
    let x = 2463534242;
    const next = (n: number): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const disagreements: string[] = [];
    let bothOk = 0;
    let truncatedOnlyHere = 0;
    for (let i = 0; i < 250; i++) {
      const tar = base[next(base.length)]!.slice();
      for (let k = 1 + next(3); k > 0; k--) tar[next(Math.min(tar.length, 3072))] = next(4) === 0 ? 0 : next(256);
      const cut = next(4) === 0 ? tar.subarray(0, next(tar.length)) : tar;
      let ours: string;
      try {
        ours = dec.decode((await createTarSplit(cut, { jsonEscapes: "go1.21" })).tarSplit);
      } catch (e) {
        if (!(e instanceof LayerkitError)) throw e;
        ours = "error " + e.code;
      }
      const r = spawnSync(bin, ["disasm", file(cut)], { maxBuffer: 1 << 28 });
      const theirs = r.status === 0 ? withoutFinalEmptySegment(new Uint8Array(r.stdout)) : "error";
      if (ours === "error TRUNCATED" && theirs !== "error") {
        // By design: where upstream silently drops the bytes of a cut-short padding or header, we
        // refuse. Upstream's lines then describe fewer bytes than the input holds.
        expect(await tarSizeFromTarSplit(enc.encode(theirs)), `#${i}`).toBeLessThan(cut.length);
        truncatedOnlyHere++;
        continue;
      }
      if (ours.startsWith("error") !== theirs.startsWith("error") || (!ours.startsWith("error") && ours !== theirs)) {
        disagreements.push(
          `#${i}: ours ${ours.slice(0, 40)} / upstream ${theirs === "error" ? r.stderr.toString().trim() : theirs.slice(0, 40)}`,
        );
      } else if (!ours.startsWith("error")) bothOk++;
    }
    expect(disagreements).toEqual([]);
    expect(bothOk).toBeGreaterThan(0);
    expect(truncatedOnlyHere).toBeGreaterThan(0);
  });
});

describe("tar-split reader: Go json.Decoder semantics and bad input", () => {
  it("keys match case-insensitively, unknown keys and nulls are ignored, the last duplicate wins", () => {
    const e = parseTarSplitLine(
      '{"TYPE":1,"Name":"a","name":"b","size":3,"payload":"AAAAAAAAAAA=","extra":{"x":[1,2]},"name_raw":null,"position":7}',
    );
    expect(e).toMatchObject({ type: 1, name: "b", size: 3, position: 7 });
    expect(parseTarSplitLine('{"type":2,"payload":null,"position":0}').payload).toBeNull();
    expect(parseTarSplitLine('{"type":1,"name_raw":"/w==","position":0}').name).toBe("\udcff");
  });

  it("damaged lines are BAD_TAR_SPLIT with the line number", async () => {
    const bad = [
      "not json",
      "[1,2]",
      '{"type":3,"position":0}',
      '{"type":1,"name":"a","size":-1,"position":0}',
      '{"type":1,"name":"a","size":5,"payload":null,"position":0}',
      '{"type":1,"name":"a","size":5,"payload":"AAAA","position":0}',
      '{"type":2,"payload":"!!!!","position":0}',
      '{"type":2,"payload":"AAA","position":0}',
      '{"type":1,"name_raw":"%%","position":0}',
      '{"type":2,"payload":"","position":0} trailing',
      '{"type":"1","position":0}',
      '{"type":1.5,"position":0}',
      '{"type":2,"position":1e400}',
      '{"type":2,"payload":"","position":0',
    ];
    for (const line of bad) {
      const e = await expectCode(drain(enc.encode('{"type":2,"payload":"","position":0}\n' + line + "\n")), "BAD_TAR_SPLIT").catch(
        (err: unknown) => {
          throw new Error(`${line}: ${String(err)}`);
        },
      );
      expect(e.details["line"], line).toBe(2);
    }
  });

  it("a line over maxLineBytes is BAD_TAR_SPLIT before it is buffered whole; blank lines are skipped", async () => {
    const long = enc.encode('{"type":2,"payload":"' + "A".repeat(4000) + '","position":0}\n');
    await expectCode(drain(long, { maxLineBytes: 1000 }), "BAD_TAR_SPLIT");
    // The same without a newline, streamed in small pieces.
    const pieces = Array.from({ length: 40 }, () => enc.encode("A".repeat(100)));
    await expectCode(
      drain(new Uint8Array(Buffer.concat([enc.encode('{"type":2,"payload":"'), ...pieces])), { maxLineBytes: 1000 }),
      "BAD_TAR_SPLIT",
    );
    expect(await drain(enc.encode('\n  \n{"type":2,"payload":"AA==","position":0}\n\n'))).toHaveLength(1);
  });

  it("duplicate file names (after filepath.Clean) are TAR_DUPLICATE_PATH, in reader and writer", async () => {
    const dup = enc.encode('{"type":1,"name":"a/b","position":0}\n{"type":1,"name":"./a//b/","position":1}\n');
    await expectCode(drain(dup), "TAR_DUPLICATE_PATH");
    expect(await drain(dup, { checkDuplicates: false })).toHaveLength(2);
    const w = new TarSplitWriter(() => {});
    w.addFile("a/b", 0);
    await expectCode(() => w.addFile("a/./b", 0), "TAR_DUPLICATE_PATH");
  });

  it("writer misuse is BAD_ARGUMENT", async () => {
    const w = new TarSplitWriter(() => {});
    await expectCode(() => w.addFile("f", 3), "BAD_ARGUMENT");
    await expectCode(() => w.addFile("g", 3, new Uint8Array(4)), "BAD_ARGUMENT");
    await expectCode(() => w.addFile("h", Number.NaN), "BAD_ARGUMENT");
    w.addTrailing(Uint8Array.of(0));
    await expectCode(() => w.addSegment(Uint8Array.of(1)), "BAD_ARGUMENT");
    w.finish();
    await expectCode(() => w.addTrailing(Uint8Array.of(1)), "BAD_ARGUMENT");
  });

  it("createTarSplit refuses sparse and truncated tars with the tar reader's codes", async () => {
    await expectCode(createTarSplit(buildTar([{ name: "s", typeflag: "S", data: new Uint8Array(10), mtime: 1 }])), "TAR_UNSUPPORTED");
    const tar = manySmallFiles(5);
    await expectCode(createTarSplit(tar.subarray(0, 700)), "TRUNCATED");
  });
});
