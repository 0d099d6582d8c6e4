/**
 * Seeded sample tars and the base layers the mutators start from: every entry kind, chunked
 * files with zero holes, empty files, hardlinks (defined after their targets, as readers require),
 * symlinks, xattrs, long names, in all four formats.
 *
 * @module
 */
import type { Core } from "../../src/core.js";
import { createLayer } from "../../src/create-layer.js";
import type { LayerFormat } from "../../src/layer/result.js";
import { buildTar, type TarWriteEntry } from "../../src/tar/index.js";
import type { Rng } from "./rng.js";

export const FORMATS: readonly LayerFormat[] = ["zstd:chunked", "estargz", "zstd", "gzip"];

export interface BaseLayer {
  format: LayerFormat;
  tar: Uint8Array;
  blob: Uint8Array;
  annotations: Record<string, string>;
}

function content(r: Rng, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const kind = r.int(4);
  if (kind === 0) return out; // all zeros: zstd:chunked writes zeros chunks
  if (kind === 1) return r.bytes(size);
  // text-like, compressible, with a zero hole
  const words = ["layer", "truth", "toc", "frame", "chunk", "\n", " ", "/etc/", "0000"];
  let at = 0;
  while (at < size) {
    const w = new TextEncoder().encode(r.pick(words));
    out.set(w.subarray(0, size - at), at);
    at += w.length;
  }
  if (kind === 3 && size > 64) out.fill(0, size >> 2, size >> 1);
  return out;
}

/** A seeded tar of a few to a few dozen entries. */
export function sampleTar(r: Rng): Uint8Array {
  const entries: TarWriteEntry[] = [];
  const files: string[] = [];
  const mtime = 1_700_000_000 + r.int(1000);
  const dirs = ["d", "d/e", "x"];
  for (const d of dirs) entries.push({ name: d + "/", type: "dir", mtime });
  const n = 2 + r.int(6); // small layers: the campaign's throughput is in the number of inputs
  for (let i = 0; i < n; i++) {
    const dir = r.pick(dirs);
    const name = `${dir}/${r.chance(0.1) ? "n".repeat(90 + r.int(80)) : "f"}${i}`;
    const k = r.int(10);
    if (k < 6 || files.length === 0) {
      const size = r.pick([0, 1, 25, 511, 512, 700, 1500, 4096, 9000]);
      const e: TarWriteEntry = { name, data: content(r, size), mtime };
      if (r.chance(0.15)) e.xattrs = { "user.k": "v" + i };
      if (r.chance(0.1)) e.mode = 0o755;
      entries.push(e);
      files.push(name);
    } else if (k < 8) {
      entries.push({ name, type: "hardlink", linkname: r.pick(files), mtime });
    } else if (k < 9) {
      entries.push({ name, type: "symlink", linkname: r.pick(files), mtime });
    } else {
      entries.push({ name, type: "fifo", mtime });
    }
  }
  return buildTar(entries);
}

export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
  return new Uint8Array(Buffer.concat(parts));
}

export const streamOf = (b: Uint8Array): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(c) {
      if (b.length) c.enqueue(b);
      c.close();
    },
  });

/** Writes `tar` as a layer of `format` (small eStargz chunks, so files have several). */
export async function buildLayer(core: Core, tar: Uint8Array, format: LayerFormat, r: Rng): Promise<BaseLayer> {
  const w = createLayer(streamOf(tar), {
    format,
    core,
    level: 1,
    ...(format === "estargz" ? { chunkSize: r.pick([1024, 4096, 16_384]) } : {}),
  });
  const [blob, result] = await Promise.all([collect(w.stream), w.result]);
  return { format, tar, blob, annotations: result.annotations ?? {} };
}
