/**
 * eStargz layer writer: the semantics of stargz-snapshotter's `estargz.Build` (docs/formats/estargz.md
 * §1, §3, §4) where they are deterministic, with deterministic gzip members (../../gzip).
 *
 * What is kept from Build:
 * - entries named `stargz.index.json` and existing landmark files are dropped;
 * - `prioritizedFiles` (paths cleaned as Build does) move to the front in the given order, each
 *   after its parent directories (and a hardlink after its target), followed by
 *   `.prefetch.landmark`; without them `.no.prefetch.landmark` comes first; a missing prioritized
 *   file is NOT_FOUND (as Build, also when one of its parent directories has no entry) unless
 *   `allowMissingPrioritizedFiles`, which lists them in the result instead;
 * - duplicate paths (re-readable input): only the last entry of a path is kept, where it was;
 * - one gzip member per regular-file chunk of `chunkSize` bytes (closed before the chunk's first
 *   payload byte; tar headers and padding go into whatever member is open), the TOC as a tar
 *   entry in its own member with the end-of-archive blocks, the 51-byte footer;
 * - TOC entries as `Writer.appendTar` makes them (userName/groupName only when they change per
 *   uid/gid, modtime rounded to seconds in UTC, xattrs from `SCHILY.xattr.*`, `chunkSize` only on
 *   full chunks, `chunkDigest` on every chunk, `digest` on every regular file);
 * - `minChunkSize` (upstream ≥ 0.13's `WithMinChunkSize`): a chunk starts a new member only when
 *   the open one has produced at least that many compressed bytes, else it shares it and gets
 *   `innerOffset`; landmarks always start a member. Upstream counts after a sync flush; this counts
 *   the bytes the member has emitted so far, without flushing (deterministic, lagging the data by
 *   up to one 64 KiB compression step). Readers older than stargz-snapshotter 0.13 cannot read
 *   such blobs.
 *
 * What differs, on purpose:
 * - Tar headers are copied byte for byte (like upstream's `AppendTarLossLess`), not re-encoded by
 *   Go's `tar.Writer`: Build's re-encoding goes through two different archive/tar copies (Go's
 *   and tar-split's fork) and so depends on Go versions, while raw headers keep PAX records,
 *   sub-second times and long names exactly as given. Payload padding is written as zeros, and the
 *   input's end-of-archive blocks are dropped (the TOC entry follows). Readers (ours, upstream's
 *   and any tar reader) accept both encodings.
 * - Build compresses GOMAXPROCS parts in parallel, so its member boundaries depend on the
 *   machine; this writer is sequential (Build with one part), hence reproducible.
 *
 * Input and memory:
 * - a `BlobSource` (re-readable, random access, e.g. a file): two passes, headers first, then
 *   payloads read chunk-wise in the final order. Memory: the headers plus one read buffer.
 * - a `ReadableStream` without `prioritizedFiles`: one streaming pass (src/tar's TarReader), bounded memory. Duplicate
 *   paths are TAR_DUPLICATE_PATH here (they cannot be dropped once written; pass a BlobSource).
 * - a `ReadableStream` with `prioritizedFiles`: prioritized entries (and their parent
 *   directories) are held uncompressed in memory until the input ends, everything else is
 *   compressed as it arrives and held compressed in memory, then both are written in order. The
 *   bytes are the same as from a BlobSource of the same tar; memory is about the compressed layer.
 *   Pass a BlobSource for bounded memory (there is no spooling to disk: browsers have none).
 *
 * @module
 */
import type { Core, Hasher } from "../../core.js";
import { LayerkitError } from "../../errors.js";
import { createGzipCompressor, Gunzip, type GzipCompressor, type GzipEngine, type GzipMemberWriter } from "../../gzip/gzip.js";
import type { BlobSource } from "../../source/blob-source.js";
import { nextEntry, type NextResult } from "../../tar/header.js";
import { TarReader } from "../../tar/reader.js";
import { type TarHeader, xattrsOf } from "../../tar/types.js";
import { streamFromGenerator } from "../../util/async-queue.js";
import { concatBytes } from "../../util/bytes.js";
import { DigestCounter } from "../../util/digest-counter.js";
import { OCI_LAYER_GZIP } from "../../oci/media-types.js";
import type { LayerResult, LayerWriter } from "../../layer/result.js";
import { LinkRules, WRITER_LINK_CODES } from "../../layer/link-rules.js";
import { DEFAULT_CHUNK_SIZE, LANDMARK_CONTENTS, NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK, TOC_TAR_NAME } from "./constants.js";
import { ANNOTATION_ESTARGZ_TOC_DIGEST, ANNOTATION_ESTARGZ_UNCOMPRESSED_SIZE } from "../../layer/annotations.js";
import { buildFooter } from "./footer.js";
import { blockPadding as padLength } from "../../tar/header.js";
import { goRegHeader } from "../../tar/writer.js";
import { base64Encode } from "../../go/base64.js";
import { cleanEntryName } from "../../go/path.js";
import { type EstargzEntryType, type EstargzToc, type EstargzTocEntry, formatModtime, marshalToc } from "./toc.js";

export interface EstargzLayerOptions {
  /**
   * gzip level: 0–12 with the default libdeflate engine (default 6, which gives smaller members
   * than Build's `gzip.BestCompression` on real file systems), 0–9 with pako (default 9).
   */
  level?: number;
  /** Uncompressed bytes per chunk (default 4 MiB). */
  chunkSize?: number;
  /** Upstream ≥ 0.13 `WithMinChunkSize` (default 0: every chunk starts a member). */
  minChunkSize?: number;
  /** Files to put first, in this order, before `.prefetch.landmark`. */
  prioritizedFiles?: readonly string[];
  /** Do not fail on prioritized files missing from the tar; list them in the result. */
  allowMissingPrioritizedFiles?: boolean;
  /**
   * gzip engine: `libdeflate` (default: WASM, the same bytes in every runtime, several times faster
   * than pako), `pako` (the same bytes in every runtime; layerkit's default before libdeflate), or
   * `native` (CompressionStream: the bytes differ between runtimes, and the level is ignored).
   */
  gzip?: GzipEngine;
}

/** The result of an eStargz writer. */
export interface EstargzLayerResult extends LayerResult {
  format: "estargz";
  /** sha256 of the TOC JSON (= the `containerd.io/snapshot/stargz/toc.digest` annotation). */
  tocDigest: string;
  toc: EstargzToc;
  /** Compressed offset of the TOC member. */
  tocOffset: number;
  /** Prioritized files that were not found (with `allowMissingPrioritizedFiles`). */
  missedPrioritizedFiles: string[];
}

export interface EstargzLayerWriter extends LayerWriter {
  readonly result: Promise<EstargzLayerResult>;
}

function parentOf(cleaned: string): string {
  const i = cleaned.lastIndexOf("/");
  return i < 0 ? "" : cleaned.slice(0, i);
}

const TYPES: Record<string, EstargzEntryType> = {
  "0": "reg",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

/** A TOC entry before userName/groupName are decided (they depend on the final order). */
interface PendingEntry {
  toc: EstargzTocEntry;
  uname: string;
  gname: string;
}

/** An input entry: its raw header blocks and where its payload comes from. */
interface InEntry {
  header: TarHeader;
  /** Header blocks (extension headers included), without the previous entry's padding. */
  raw: Uint8Array;
  dataSize: number;
  /** BlobSource input: offset of the payload in the tar. */
  dataOffset?: number;
  /** Stream input with prioritized files: the payload held in memory. */
  data?: Uint8Array;
}

/** Reads payload bytes: up to `max` at a time. */
type PayloadReader = (max: number) => Promise<Uint8Array>;

// ---- the member writer ------------------------------------------------------------------------

/**
 * A run of gzip members: tracks the compressed offset, the open member and the TOC entries.
 * The main section streams its output; the deferred one (stream input with prioritized files)
 * keeps it.
 */
class Section {
  readonly pieces: Uint8Array[] = [];
  /** Compressed bytes produced by this section. */
  offset = 0;
  /** Uncompressed bytes written into this section. */
  uncompressed = 0;
  readonly entries: PendingEntry[] = [];
  #member: GzipMemberWriter | undefined;
  #memberStart = 0;
  #memberStartUncompressed = 0;
  readonly #gz: GzipCompressor;
  readonly #diff: Hasher | undefined;
  readonly #core: Core;
  readonly #chunkSize: number;
  readonly #minChunkSize: number;

  constructor(core: Core, gz: GzipCompressor, chunkSize: number, minChunkSize: number, diff: Hasher | undefined) {
    this.#core = core;
    this.#gz = gz;
    this.#chunkSize = chunkSize;
    this.#minChunkSize = minChunkSize;
    this.#diff = diff;
  }

  #emit(parts: Uint8Array[]): void {
    for (const p of parts) {
      if (p.length === 0) continue;
      this.pieces.push(p);
      this.offset += p.length;
    }
  }

  take(): Uint8Array[] {
    return this.pieces.splice(0, this.pieces.length);
  }

  async write(data: Uint8Array): Promise<void> {
    if (data.length === 0) return;
    if (!this.#member) {
      this.#member = this.#gz.member();
      this.#memberStart = this.offset;
      this.#memberStartUncompressed = this.uncompressed;
    }
    this.#diff?.update(data);
    this.uncompressed += data.length;
    const out = this.#member.write(data);
    this.#emit(out instanceof Promise ? await out : out);
  }

  async close(): Promise<void> {
    const m = this.#member;
    if (!m) return;
    this.#member = undefined;
    const out = m.end();
    this.#emit(out instanceof Promise ? await out : out);
  }

  /**
   * Where the next chunk's payload starts: a new member (offset), or with `minChunkSize` possibly
   * inside the open one (offset of that member + innerOffset).
   */
  async startChunk(forceNew: boolean): Promise<{ offset: number; innerOffset: number }> {
    if (this.#minChunkSize > 0 && this.#member) {
      // Upstream measures the member after a sync flush; this counts what the member has emitted
      // so far without flushing: also deterministic, but it lags the data by up to one 64 KiB
      // compression step.
      if (!forceNew && this.offset - this.#memberStart < this.#minChunkSize) {
        return { offset: this.#memberStart, innerOffset: this.uncompressed - this.#memberStartUncompressed };
      }
    }
    await this.close();
    this.#member = undefined;
    return { offset: this.offset, innerOffset: 0 };
  }

  /**
   * Writes one entry: raw header blocks, payload in chunks (a member boundary before each), zero
   * padding; records its TOC entries.
   */
  async addEntry(header: TarHeader, raw: Uint8Array, dataSize: number, readPayload: PayloadReader, forceNewMember = false): Promise<void> {
    const type = TYPES[header.typeflag];
    if (!type) {
      throw new LayerkitError(
        "TAR_UNSUPPORTED",
        `unsupported input tar entry ${JSON.stringify(header.typeflag)} (${JSON.stringify(header.name)})`,
        {
          name: header.name,
          typeflag: header.typeflag,
        },
      );
    }
    const ent: EstargzTocEntry = { name: header.name, type };
    if (type === "reg" && header.size) ent.size = header.size;
    const modtime = formatModtime(header.mtime.sec, header.mtime.nsec);
    if (modtime) ent.modtime = modtime;
    if (type === "hardlink" || type === "symlink") ent.linkName = header.linkname;
    if (header.mode) ent.mode = header.mode;
    if (header.uid) ent.uid = header.uid;
    if (header.gid) ent.gid = header.gid;
    if (type === "char" || type === "block") {
      if (header.devmajor) ent.devMajor = header.devmajor;
      if (header.devminor) ent.devMinor = header.devminor;
    }
    const x = xattrsOf(header);
    if (x && x.size > 0) {
      const xattrs: Record<string, string> = {};
      for (const [k, v] of x) {
        Object.defineProperty(xattrs, k, { value: base64Encode(v), enumerable: true, writable: true, configurable: true });
      }
      ent.xattrs = xattrs;
    }
    const pending: PendingEntry = { toc: ent, uname: header.uname, gname: header.gname };

    await this.write(raw);
    if (type !== "reg") {
      if (dataSize !== 0) {
        throw new LayerkitError("TAR_CORRUPT", `${type} entry ${JSON.stringify(header.name)} with payload`, { name: header.name });
      }
      this.entries.push(pending);
      return;
    }
    if (dataSize !== header.size) {
      throw new LayerkitError("TAR_CORRUPT", `payload size of ${JSON.stringify(header.name)} differs from its size`, { name: header.name });
    }
    const fileHash = this.#core.sha256();
    if (header.size === 0) this.entries.push(pending);
    let written = 0;
    let chunk: EstargzTocEntry = ent;
    let chunkPending: PendingEntry = pending;
    while (written < header.size) {
      const remain = header.size - written;
      const n = Math.min(remain, this.#chunkSize);
      if (remain >= this.#chunkSize) chunk.chunkSize = this.#chunkSize;
      const at = await this.startChunk(forceNewMember);
      if (at.offset) chunk.offset = at.offset;
      if (at.innerOffset) chunk.innerOffset = at.innerOffset;
      if (written) chunk.chunkOffset = written;
      const chunkHash = this.#core.sha256();
      let left = n;
      while (left > 0) {
        const piece = await readPayload(Math.min(left, 1 << 20));
        if (piece.length === 0) {
          throw new LayerkitError("TRUNCATED", `tar ends inside the payload of ${JSON.stringify(header.name)}`, { name: header.name });
        }
        chunkHash.update(piece);
        fileHash.update(piece);
        await this.write(piece);
        left -= piece.length;
      }
      chunk.chunkDigest = "sha256:" + chunkHash.hex();
      this.entries.push(chunkPending);
      written += n;
      chunk = { name: header.name, type: "chunk" };
      chunkPending = { toc: chunk, uname: "", gname: "" };
    }
    ent.digest = "sha256:" + fileHash.hex();
    await this.write(new Uint8Array(padLength(header.size)));
  }
}

// ---- input ------------------------------------------------------------------------------------

/** One Go `tar.Reader.Next()` over an async byte getter. */
async function nextTarEntry(read: (n: number) => Promise<Uint8Array>, pad: number, position: number): Promise<NextResult> {
  const gen = nextEntry(pad, position, { strictTypes: true });
  let r = gen.next();
  while (!r.done) r = gen.next(await read(r.value));
  return r.value;
}

function stripPad(raw: Uint8Array, pad: number): Uint8Array {
  return pad > 0 ? raw.subarray(Math.min(pad, raw.length)) : raw;
}

function isDropped(name: string): boolean {
  const c = cleanEntryName(name);
  return c === TOC_TAR_NAME || c === PREFETCH_LANDMARK || c === NO_PREFETCH_LANDMARK;
}

/** Pass 1 over a BlobSource: every entry's header and payload position. */
async function scanSource(source: BlobSource): Promise<InEntry[]> {
  const size = await source.size();
  let pos = 0;
  let pad = 0;
  const entries: InEntry[] = [];
  // Headers are read through a 64 KiB window: runs of small entries cost one read, not one per block.
  let win: Uint8Array = new Uint8Array(0);
  let winAt = 0;
  const read = async (n: number): Promise<Uint8Array> => {
    const len = Math.min(n, size - pos);
    if (len <= 0) return new Uint8Array(0);
    if (pos < winAt || pos + len > winAt + win.length) {
      winAt = pos;
      win = await source.read(pos, Math.min(Math.max(len, 65536), size - pos));
    }
    const b = win.subarray(pos - winAt, pos - winAt + len);
    pos += len;
    return b;
  };
  for (;;) {
    const r = await nextTarEntry(read, pad, pos);
    if (r.kind === "end") return entries;
    // Copies: views into the read window would keep every window alive.
    const header = r.header.pax ? { ...r.header, pax: new Map([...r.header.pax].map(([k, v]) => [k, v.slice()])) } : r.header;
    entries.push({ header, raw: stripPad(r.raw, pad).slice(), dataSize: r.dataSize, dataOffset: pos });
    if (pos + r.dataSize > size) {
      throw new LayerkitError("TRUNCATED", `tar ends inside the payload of ${JSON.stringify(r.header.name)}`, {
        name: r.header.name,
        offset: pos,
      });
    }
    pos += r.dataSize;
    pad = padLength(r.dataSize);
  }
}

/** Build's importTar: drop landmarks and TOCs, keep only the last entry of each cleaned path. */
function importEntries(all: InEntry[]): Map<string, InEntry> {
  const map = new Map<string, InEntry>();
  for (const e of all) {
    if (isDropped(e.header.name)) continue;
    const key = cleanEntryName(e.header.name);
    map.delete(key); // re-inserted at the end: "remove, then add"
    map.set(key, e);
  }
  return map;
}

/** Build's moveRec: `name`, after its parents (and a hardlink's target), from `rest` to `out`. */
function moveRec(name: string, rest: Map<string, InEntry>, out: Map<string, InEntry>, depth = 0): boolean {
  if (depth > 4096) throw new LayerkitError("LIMIT_EXCEEDED", "prioritized file resolution recursed too deep (hardlink loop?)", { name });
  const key = cleanEntryName(name);
  if (key === "") {
    const e = rest.get("");
    if (e) {
      out.set("", e);
      rest.delete("");
    }
    return true;
  }
  if (!rest.has(key) && !out.has(key)) return false;
  if (!moveRec(parentOf(key), rest, out, depth + 1)) return false;
  const e = rest.get(key);
  if (e && e.header.typeflag === "1") {
    if (!moveRec(e.header.linkname, rest, out, depth + 1)) return false;
  }
  const e2 = rest.get(key);
  if (e2) {
    out.set(key, e2);
    rest.delete(key);
  }
  return true;
}

function sortEntries(
  imported: Map<string, InEntry>,
  prioritized: readonly string[],
  allowMissing: boolean,
  missed: string[],
): { entries: InEntry[]; moved: number } {
  const out = new Map<string, InEntry>();
  for (const p of prioritized) {
    if (!moveRec(p, imported, out)) {
      if (allowMissing) {
        missed.push(p);
        continue;
      }
      throw new LayerkitError("NOT_FOUND", `prioritized file ${JSON.stringify(p)} (or one of its parent directories) is not in the tar`, {
        name: p,
      });
    }
  }
  return { entries: [...out.values(), ...imported.values()], moved: out.size };
}

/** Every path `moveRec` may move for these prioritized names, hardlink targets aside. */
function prioritizedClosure(prioritized: readonly string[]): Set<string> {
  const s = new Set<string>();
  for (const p of prioritized) {
    let k = cleanEntryName(p);
    for (;;) {
      s.add(k);
      if (k === "") break;
      k = parentOf(k);
    }
  }
  return s;
}

function landmarkHeader(name: string): { header: TarHeader; raw: Uint8Array } {
  const header: TarHeader = {
    typeflag: "0",
    name,
    linkname: "",
    size: 1,
    mode: 0,
    uid: 0,
    gid: 0,
    uname: "",
    gname: "",
    mtime: { sec: -62135596800, nsec: 0 },
    devmajor: 0,
    devminor: 0,
    format: "ustar",
    blockFormat: "ustar",
  };
  return { header, raw: goRegHeader(name, 1) };
}

const LANDMARK_PAYLOAD = Uint8Array.of(LANDMARK_CONTENTS);
const landmarkReader = (): PayloadReader => {
  let done = false;
  return async () => {
    if (done) return new Uint8Array(0);
    done = true;
    return LANDMARK_PAYLOAD;
  };
};

function isBlobSource(x: unknown): x is BlobSource {
  return typeof x === "object" && x !== null && typeof (x as BlobSource).read === "function" &&
    typeof (x as BlobSource).size === "function";
}

function checkOptions(o: EstargzLayerOptions): { chunkSize: number; minChunkSize: number } {
  const chunkSize = o.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const minChunkSize = o.minChunkSize ?? 0;
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
    throw new LayerkitError("BAD_ARGUMENT", `chunkSize must be a positive integer, got ${chunkSize}`, { chunkSize });
  }
  if (!Number.isSafeInteger(minChunkSize) || minChunkSize < 0) {
    throw new LayerkitError("BAD_ARGUMENT", `minChunkSize must be a non-negative integer, got ${minChunkSize}`, { minChunkSize });
  }
  if (minChunkSize > 0 && o.gzip === "native") {
    throw new LayerkitError(
      "BAD_ARGUMENT",
      "minChunkSize needs a deterministic gzip engine (libdeflate or pako): member sizes decide the layout",
    );
  }
  return { chunkSize, minChunkSize };
}

// ---- the writer -------------------------------------------------------------------------------

/**
 * Writes an eStargz layer from a tar (see the module doc for the input kinds and their memory).
 * Read `stream` to the end; `result` settles after its last byte.
 */
export function createEstargzLayer(
  core: Core,
  input: ReadableStream<Uint8Array> | BlobSource,
  options: EstargzLayerOptions = {},
): EstargzLayerWriter {
  let settle!: { resolve: (r: EstargzLayerResult) => void; reject: (e: unknown) => void };
  const result = new Promise<EstargzLayerResult>((resolve, reject) => (settle = { resolve, reject }));
  result.catch(() => {});

  async function* run(): AsyncGenerator<Uint8Array, void, void> {
    const { chunkSize, minChunkSize } = checkOptions(options);
    const gz = createGzipCompressor({
      ...(options.level === undefined ? {} : { level: options.level }),
      engine: options.gzip ?? "libdeflate",
      deflate: core.deflate,
    });
    const prioritized = options.prioritizedFiles ?? [];
    const missed: string[] = [];
    const blob = new DigestCounter(core);
    const diff = core.sha256();
    const main = new Section(core, gz, chunkSize, minChunkSize, diff);
    let extraUncompressed = 0; // deferred section, hashed at the end
    let deferred: Section | undefined;
    let tarReader: TarReader | undefined;

    function* drain(section: Section): Generator<Uint8Array, void, void> {
      for (const p of section.take()) {
        blob.update(p);
        yield p;
      }
    }

    try {
      if (isBlobSource(input)) {
        // Two passes: headers, then payloads in the final order.
        const { entries, moved } = sortEntries(
          importEntries(await scanSource(input)),
          prioritized,
          options.allowMissingPrioritizedFiles ?? false,
          missed,
        );
        if (prioritized.length === 0) {
          const l = landmarkHeader(NO_PREFETCH_LANDMARK);
          await main.addEntry(l.header, l.raw, 1, landmarkReader(), true);
          yield* drain(main);
        }
        for (let i = 0; i < entries.length; i++) {
          if (prioritized.length > 0 && i === moved) {
            const l = landmarkHeader(PREFETCH_LANDMARK);
            await main.addEntry(l.header, l.raw, 1, landmarkReader(), true);
            yield* drain(main);
          }
          const e = entries[i]!;
          let pos = e.dataOffset!;
          const end = pos + e.dataSize;
          await main.addEntry(e.header, e.raw, e.dataSize, async (max) => {
            const n = Math.min(max, end - pos);
            if (n <= 0) return new Uint8Array(0);
            const b = await input.read(pos, n);
            pos += n;
            return b;
          });
          yield* drain(main);
        }
        if (prioritized.length > 0 && moved === entries.length) {
          const l = landmarkHeader(PREFETCH_LANDMARK);
          await main.addEntry(l.header, l.raw, 1, landmarkReader(), true);
          yield* drain(main);
        }
      } else {
        tarReader = new TarReader(input, { strictTypes: true });
        const seen = new Set<string>();
        const prio = prioritizedClosure(prioritized);
        const held = new Map<string, InEntry>();
        if (prioritized.length === 0) {
          const l = landmarkHeader(NO_PREFETCH_LANDMARK);
          await main.addEntry(l.header, l.raw, 1, landmarkReader(), true);
          yield* drain(main);
        } else {
          // Everything not prioritized follows the landmark: its payload starts that member.
          deferred = new Section(core, gz, chunkSize, minChunkSize, undefined);
          await deferred.write(LANDMARK_PAYLOAD);
          await deferred.write(new Uint8Array(padLength(1)));
        }
        const tr = tarReader;
        let pad = 0;
        for (let r = await tr.next(); r; r = await tr.next()) {
          const raw = stripPad(r.raw, pad);
          pad = r.padding;
          const h = r.header;
          if (isDropped(h.name)) continue; // next() skips the payload
          const key = cleanEntryName(h.name);
          if (seen.has(key)) {
            throw new LayerkitError(
              "TAR_DUPLICATE_PATH",
              `${
                JSON.stringify(h.name)
              } appears twice in the tar; pass a re-readable input (BlobSource) to keep only the last one, as estargz.Build does`,
              {
                name: h.name,
              },
            );
          }
          seen.add(key);
          if (deferred && prio.has(key)) {
            held.set(key, { header: h, raw: raw.slice(), dataSize: r.dataSize, data: (await tr.readAll()).slice() });
            continue;
          }
          await (deferred ?? main).addEntry(h, raw, r.dataSize, async (max) => (await tr.read(max)) ?? new Uint8Array(0));
          if (tr.remaining > 0) throw new LayerkitError("INCONSISTENT", "payload not fully consumed");
          yield* drain(main);
        }
        if (deferred) {
          // Order the held entries as Build's moveRec would, then the landmark, then the rest.
          const out = new Map<string, InEntry>();
          for (const p of prioritized) {
            if (moveRec(p, held, out)) continue;
            const key = cleanEntryName(p);
            if (seen.has(key) || (seen.has(parentOf(key)) && !held.has(parentOf(key)))) {
              throw new LayerkitError(
                "BAD_ARGUMENT",
                `prioritized file ${
                  JSON.stringify(p)
                } depends on an entry that was already written (a hardlink target outside the prioritized set); pass a re-readable input (BlobSource)`,
                { name: p },
              );
            }
            if (options.allowMissingPrioritizedFiles) missed.push(p);
            else {throw new LayerkitError(
                "NOT_FOUND",
                `prioritized file ${JSON.stringify(p)} (or one of its parent directories) is not in the tar`,
                { name: p },
              );}
          }
          for (const [key, e] of held) {
            if (!out.has(key)) {
              // A parent of a missing prioritized file: Build leaves it with the rest, which is
              // already written; only a stream input ends up here.
              throw new LayerkitError(
                "BAD_ARGUMENT",
                `entry ${JSON.stringify(e.header.name)} could not be placed; pass a re-readable input (BlobSource)`,
                {
                  name: e.header.name,
                },
              );
            }
          }
          for (const e of out.values()) {
            const data = e.data!;
            let at = 0;
            await main.addEntry(e.header, e.raw, e.dataSize, async (max) => {
              const n = Math.min(max, data.length - at);
              const b = data.subarray(at, at + n);
              at += n;
              return b;
            });
            yield* drain(main);
          }
          // The landmark: header in the open member, its payload starts the deferred section.
          const l = landmarkHeader(PREFETCH_LANDMARK);
          await main.write(l.raw);
          await main.startChunk(true);
          yield* drain(main);
          const shift = main.offset;
          const lm: EstargzTocEntry = {
            name: PREFETCH_LANDMARK,
            type: "reg",
            size: 1,
            offset: shift,
            digest: landmarkDigest(core),
            chunkDigest: landmarkDigest(core),
          };
          main.entries.push({ toc: lm, uname: "", gname: "" });
          await deferred.close();
          const deferredPieces = deferred.take();
          for (const e of deferred.entries) {
            if (e.toc.offset !== undefined || e.toc.type === "chunk" || (e.toc.type === "reg" && (e.toc.size ?? 0) > 0)) {
              e.toc.offset = (e.toc.offset ?? 0) + shift;
            }
            main.entries.push(e);
          }
          // The diffID covers the deferred part after the main one: decompress it to hash it.
          // All of it before yielding any piece: the inflater may keep a reference to a piece's
          // tail, and a consumer may take over (detach) a piece's buffer once it has it.
          const g = new Gunzip({ deflate: core.deflate });
          for (const p of deferredPieces) for (const o of g.push(p)) diff.update(o);
          for (const o of g.end()) diff.update(o);
          for (const p of deferredPieces) {
            blob.update(p);
            main.offset += p.length;
            yield p;
          }
          extraUncompressed = deferred.uncompressed;
        }
      }

      // TOC member, footer.
      await main.close();
      yield* drain(main);
      const tocOffset = main.offset;
      const entries = finalizeEntries(main.entries);
      checkLinks(entries);
      const toc: EstargzToc = { version: 1, entries };
      const json = marshalToc(toc);
      const tocDigest = "sha256:" + core.sha256().update(json).hex();
      const tocTar = new Uint8Array(512 + json.length + padLength(json.length) + 1024);
      tocTar.set(goRegHeader(TOC_TAR_NAME, json.length));
      tocTar.set(json, 512);
      diff.update(tocTar);
      const tocMember = await wholeMember(gz, tocTar);
      blob.update(tocMember);
      yield tocMember;
      const footer = buildFooter(tocOffset);
      blob.update(footer);
      yield footer;

      const uncompressedSize = main.uncompressed + extraUncompressed + tocTar.length;
      const digest = blob.digest();
      const annotations = {
        [ANNOTATION_ESTARGZ_TOC_DIGEST]: tocDigest,
        [ANNOTATION_ESTARGZ_UNCOMPRESSED_SIZE]: String(uncompressedSize),
      };
      settle.resolve({
        format: "estargz",
        descriptor: { mediaType: OCI_LAYER_GZIP, digest, size: blob.size, annotations: { ...annotations } },
        digest,
        size: blob.size,
        diffID: "sha256:" + diff.hex(),
        uncompressedSize,
        annotations,
        tocDigest,
        toc,
        tocOffset,
        missedPrioritizedFiles: missed,
      });
    } catch (e) {
      settle.reject(e);
      if (tarReader) await tarReader.cancel().catch(() => {});
      throw e;
    }
  }

  return { stream: streamFromGenerator(run()), result };
}

let landmarkDigestCache: string | undefined;
function landmarkDigest(core: Core): string {
  return (landmarkDigestCache ??= "sha256:" + core.sha256().update(LANDMARK_PAYLOAD).hex());
}

/** One complete member of `data` from the layer's engine. */
async function wholeMember(gz: GzipCompressor, data: Uint8Array): Promise<Uint8Array> {
  const m = gz.member();
  return concatBytes([...(await m.write(data)), ...(await m.end())]);
}

/** userName/groupName only when they change per uid/gid, in final order (Go's nameIfChanged). */
/**
 * The TOC must follow the hardlink rules every reader applies (../../layer/link-rules.ts): a
 * hardlink to a later or missing entry, or a target redefined after its link, is refused before
 * the TOC is written, so no layer comes out that our own verify rejects.
 */
function checkLinks(entries: readonly EstargzTocEntry[]): void {
  const links = new LinkRules(WRITER_LINK_CODES);
  entries.forEach((e, i) => {
    if (e.type !== "chunk") links.add(e.type, e.name, e.linkName, i);
  });
}

function finalizeEntries(pending: PendingEntry[]): EstargzTocEntry[] {
  const users = new Map<number, string>();
  const groups = new Map<number, string>();
  const out: EstargzTocEntry[] = [];
  for (const p of pending) {
    const e = p.toc;
    if (e.type !== "chunk") {
      if (p.uname !== "" && users.get(e.uid ?? 0) !== p.uname) {
        users.set(e.uid ?? 0, p.uname);
        e.userName = p.uname;
      }
      if (p.gname !== "" && groups.get(e.gid ?? 0) !== p.gname) {
        groups.set(e.gid ?? 0, p.gname);
        e.groupName = p.gname;
      }
    }
    out.push(e);
  }
  return out;
}
