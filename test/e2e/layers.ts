/**
 * The layers the end-to-end runners (web page, edge worker, Deno example) serve: one small
 * filesystem tree written as zstd:chunked and as eStargz with createLayer, plus tampered copies
 * (one payload byte flipped inside a file's compressed range) and a truncated copy.
 * Runtime-neutral: the caller passes the core.
 */
import type { Core } from "../../src/core.js";
import { createLayer } from "../../src/create-layer.js";
import type { LayerFormat, LayerResult } from "../../src/layer/result.js";
import { readEstargzToc } from "../../src/formats/estargz/reader.js";
import { readToc } from "../../src/formats/zstd-chunked/read-toc.js";
import { MemorySource } from "../../src/source/memory.js";
import { buildTar, type TarWriteEntry } from "../../src/tar/index.js";
import { randomBytes } from "../fixtures/tars.js";

const MTIME = 1_700_000_000;
const enc = new TextEncoder();

/** A regular file of the test tree with its content. */
export interface TestFile {
  path: string;
  content: Uint8Array;
  text: boolean;
}

/** Text and binary files of the tree (directories and a symlink are added around them). */
export function testFiles(): TestFile[] {
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog`).join("\n");
  return [
    { path: "etc/os-release", content: enc.encode('NAME="layerkit test"\nID=layerkit\nVERSION_ID=1\n'), text: true },
    { path: "etc/motd", content: enc.encode("Welcome to a lazily fetched layer.\n"), text: true },
    { path: "usr/share/doc/layerkit/README.txt", content: enc.encode(`${lines}\n`), text: true },
    { path: "usr/bin/tool", content: randomBytes(70_000, 7), text: false },
    { path: "usr/lib/big.bin", content: randomBytes(3_000_000, 9), text: false },
    { path: "var/empty.txt", content: new Uint8Array(0), text: true },
  ];
}

/** The test tree as a tar (what every test layer compresses). */
export function testTar(): Uint8Array {
  const entries: TarWriteEntry[] = [];
  for (const d of ["etc/", "usr/", "usr/bin/", "usr/lib/", "usr/share/", "usr/share/doc/", "usr/share/doc/layerkit/", "var/"]) {
    entries.push({ name: d, type: "dir", mtime: MTIME });
  }
  for (const f of testFiles()) {
    entries.push({ name: f.path, data: f.content, mtime: MTIME, mode: f.path.startsWith("usr/bin/") ? 0o755 : 0o644 });
  }
  entries.push({ name: "usr/bin/tool-link", type: "symlink", linkname: "tool", mtime: MTIME });
  return buildTar(entries);
}

export interface TestLayer {
  /** File name the layer is served under, e.g. `good.zst`. */
  name: string;
  format: LayerFormat;
  bytes: Uint8Array;
  result: LayerResult;
}

export interface TestLayers {
  files: TestFile[];
  chunked: TestLayer;
  estargz: TestLayer;
  /** zstd:chunked with one byte flipped inside `usr/lib/big.bin`'s compressed range. */
  tamperedChunked: TestLayer;
  /** eStargz with one byte flipped inside `etc/os-release`'s gzip member. */
  tamperedEstargz: TestLayer;
  /** The zstd:chunked blob cut in half. */
  truncated: TestLayer;
  /** The same tree as plain (non-seekable) zstd and gzip layers. */
  zstd: TestLayer;
  gzip: TestLayer;
}

async function write(core: Core, format: LayerFormat, name: string, tar: Uint8Array): Promise<TestLayer> {
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(tar);
      controller.close();
    },
  });
  const { stream, result } = createLayer(input, { format, core, ...(format === "estargz" ? { chunkSize: 1 << 20 } : {}) });
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  return { name, format, bytes, result: await result };
}

/** The compressed byte range `[start, end)` holding `path`'s chunks, as the layer's own TOC says. */
export async function fileRange(core: Core, layer: TestLayer, path: string): Promise<{ start: number; end: number }> {
  const source = new MemorySource(layer.bytes);
  const files = layer.format === "estargz" ? (await readEstargzToc(source, { core })).files : (await readToc(source, { core })).entries;
  const file = files.find((f) => f.name.replace(/^\.?\//, "") === path && f.type === "reg");
  if (!file || file.chunks.length === 0) throw new Error(`${layer.name}: no chunks for ${path} in the TOC`);
  return { start: Math.min(...file.chunks.map((c) => c.offset)), end: Math.max(...file.chunks.map((c) => c.end)) };
}

/** Flip one byte in the middle of `path`'s compressed range. */
async function tamper(core: Core, layer: TestLayer, path: string, name: string): Promise<TestLayer> {
  const { start, end } = await fileRange(core, layer, path);
  const bytes = layer.bytes.slice();
  const at = Math.floor((start + end) / 2);
  bytes[at] = bytes[at]! ^ 0x5a;
  return { ...layer, name, bytes };
}

/** Write every test layer (deterministic: same bytes on every run). */
export async function makeTestLayers(core: Core): Promise<TestLayers> {
  const tar = testTar();
  const chunked = await write(core, "zstd:chunked", "good.zst", tar);
  const estargz = await write(core, "estargz", "good.esgz", tar);
  return {
    files: testFiles(),
    chunked,
    estargz,
    tamperedChunked: await tamper(core, chunked, "usr/lib/big.bin", "tampered.zst"),
    tamperedEstargz: await tamper(core, estargz, "etc/os-release", "tampered.esgz"),
    truncated: { ...chunked, name: "truncated.zst", bytes: chunked.bytes.slice(0, chunked.bytes.length >> 1) },
    zstd: await write(core, "zstd", "plain.zst", tar),
    gzip: await write(core, "gzip", "plain.gz", tar),
  };
}
