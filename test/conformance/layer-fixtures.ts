/**
 * What the layer conformance cases (./layers.ts) build on: the fixture tars, built from code so
 * every runtime starts from the same bytes; stream and digest helpers; the blob server client;
 * golden digests. Web APIs only.
 */
import { buildTar, readTar, type TarWriteEntry } from "../../src/tar/index.js";
import type { Core } from "../../src/core.js";
import type { LayerFormat } from "../../src/layer/result.js";
import { HttpSource } from "../../src/source/http.js";
import { kitchenSinkTar } from "../fixtures/tars.js";
import { bytesOf } from "../support/streams.js";
import { GOLDEN } from "./golden.js";
import { assertEqual, AssertionError, type ConformanceContext, pseudoRandomBytes, textBytes } from "./harness.js";

export { bytesOf };

export const FORMATS: readonly LayerFormat[] = ["zstd:chunked", "estargz", "zstd", "gzip"];

const MTIME = 1700000000;
const enc = new TextEncoder();

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A small image-like tree: directories, empty and tiny files, a compressible file large enough
 * for several zstd:chunked chunks, random data, a file with a zero run (a `zeros` chunk), links,
 * devices, a fifo, xattrs, a long and a non-ASCII name, nanosecond times.
 */
export function mixedTar(): Uint8Array {
  const e: TarWriteEntry[] = [
    { name: "etc/", type: "dir", mtime: MTIME },
    { name: "etc/hostname", data: enc.encode("conformance\n"), mtime: { sec: MTIME, nsec: 123456789 } },
    { name: "etc/empty", mtime: MTIME },
    { name: "usr/", type: "dir", mtime: MTIME },
    { name: "usr/bin/", type: "dir", mtime: MTIME },
    { name: "usr/bin/tool", data: pseudoRandomBytes(300_000, 21), mode: 0o755, mtime: MTIME, xattrs: { "user.kind": "binary" } },
    { name: "usr/bin/tool-link", type: "symlink", linkname: "tool", mtime: MTIME },
    { name: "usr/bin/tool-hard", type: "hardlink", linkname: "usr/bin/tool", mtime: MTIME },
    { name: "usr/share/", type: "dir", mtime: MTIME },
    {
      name: "usr/share/text.txt",
      data: textBytes(900_000, 22),
      mode: 0o644,
      uid: 1000,
      gid: 1000,
      uname: "user",
      gname: "users",
      mtime: MTIME,
    },
    {
      name: "usr/share/holes.bin",
      data: cat(pseudoRandomBytes(100_000, 23), new Uint8Array(80_000), pseudoRandomBytes(50_000, 24)),
      mtime: MTIME,
    },
    { name: "usr/share/" + "long-name-".repeat(15) + "end", data: enc.encode("long\n"), mtime: MTIME },
    { name: "usr/share/ünïcødé.txt", data: enc.encode("ü\n"), mtime: MTIME },
    { name: "dev/", type: "dir", mtime: MTIME },
    { name: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666, mtime: MTIME },
    { name: "dev/fifo", type: "fifo", mode: 0o600, mtime: MTIME },
  ];
  return buildTar(e);
}

/** The fixture tars by name (kitchen-sink: test/fixtures/tars.ts, GNU tar's 10 KiB blocking, `./` names). */
export const TARS: Readonly<Record<string, () => Uint8Array>> = {
  mixed: mixedTar,
  "kitchen-sink": kitchenSinkTar,
};

/** Type names of the TOC for tar typeflags. */
const TOC_TYPE: Readonly<Record<string, string>> = {
  "0": "reg",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

export interface TarFile {
  name: string;
  type: string;
  size: number;
  linkname: string;
  data: Uint8Array;
}

/** The entries of a tar as the TOC should list them (names without `./` and trailing `/`). */
export async function tarFiles(tar: Uint8Array): Promise<TarFile[]> {
  const { entries } = await readTar(tar);
  return entries.map((e) => ({
    name: layerName(e.header.name),
    type: TOC_TYPE[e.header.typeflag] ?? `typeflag ${JSON.stringify(e.header.typeflag)}`,
    size: e.header.size,
    linkname: e.header.linkname,
    data: e.data,
  }));
}

/** A tar or TOC name in the form lookups use: no leading `./` or `/`, no trailing `/`. */
export function layerName(name: string): string {
  return name.split("/").filter((p) => p !== "" && p !== ".").join("/");
}

/**
 * `data` in uneven pieces, the pattern changing along the stream (1 byte, a few bytes, more than
 * a zstd block, exactly a block…), so writers see writes cut nothing like the one-piece case.
 */
export function unevenStream(data: Uint8Array): ReadableStream<Uint8Array> {
  const sizes = [1, 7, 512, 4096, 131072, 131073, 65537, 3, 200_000];
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= data.length) return c.close();
      const n = sizes[i++ % sizes.length]!;
      c.enqueue(data.slice(at, at + n));
      at += n;
    },
  });
}

/** `data` as one piece. */
export function wholeStream(data: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(data.slice());
      c.close();
    },
  });
}

export function sha256(core: Core, data: Uint8Array): string {
  return `sha256:${core.sha256().update(data).hex()}`;
}

/** Stores `bytes` on the runner's blob server under `name`; returns an HttpSource reading it (size known or not). */
export async function httpBlob(ctx: ConformanceContext, name: string, bytes: Uint8Array, knownSize = true): Promise<HttpSource> {
  const url = `${ctx.blobOrigin}/blobs/${name}`;
  for (let attempt = 1;; attempt++) {
    try {
      const r = await fetch(url, { method: "PUT", body: new Uint8Array(bytes) });
      await r.body?.cancel();
      if (r.status !== 201) throw new AssertionError(`PUT ${url}: HTTP ${r.status}`);
      break;
    } catch (e) {
      // A kept-alive connection the server closed just then (ECONNRESET): PUT is idempotent.
      if (e instanceof AssertionError || attempt === 3) throw e;
    }
  }
  return new HttpSource(url, knownSize ? { size: bytes.length } : {});
}

/** A URL-safe blob name. */
export function blobName(...parts: string[]): string {
  return parts.join("-").replace(/[^A-Za-z0-9._-]/g, "_");
}

/**
 * Golden values of one case: `check` compares with test/conformance/golden.ts (or records, when
 * the Node runner regenerates it); `done` requires that every golden key under `prefix` was checked,
 * so a value that stops being produced is noticed.
 */
export function golden(ctx: ConformanceContext, prefix: string): { check(key: string, value: string): void; done(): void } {
  const seen = new Set<string>();
  return {
    check(key, value) {
      const full = `${prefix}${key}`;
      if (seen.has(full)) throw new AssertionError(`golden key ${full} checked twice`);
      seen.add(full);
      if (ctx.recordGolden) return ctx.recordGolden(full, value);
      const want = GOLDEN[full];
      if (want === undefined) {
        throw new AssertionError(
          `no golden value for ${full} (${value}): regenerate with LAYERKIT_UPDATE_GOLDEN=1 npx vitest run test/node/conformance.test.ts`,
        );
      }
      assertEqual(value, want, `golden ${full} (same tar and options must give the same bytes in every runtime)`);
    },
    done() {
      if (ctx.recordGolden) return;
      const stale = Object.keys(GOLDEN).filter((k) => k.startsWith(prefix) && !seen.has(k));
      if (stale.length) throw new AssertionError(`golden values not produced any more: ${stale.join(", ")}`);
    },
  };
}
