/**
 * Deterministic tar writer (used by tests and by `create DIR`). Output is a pure function of the
 * entries: the same input always gives the same bytes.
 *
 * Format "pax" (default) writes USTAR header blocks and, only when a value does not fit them, a
 * PAX `x` header first (Go `archive/tar` style: records sorted by key, header named
 * `<dir>/PaxHeaders.0/<base>`): long or non-ASCII names/linknames/user names, large uid/gid/size,
 * times with nanoseconds or outside the octal range, atime/ctime, xattrs (`SCHILY.xattr.*`).
 * Format "gnu" writes GNU header blocks with `././@LongLink` `L`/`K` entries for long names,
 * base-256 numbers, atime/ctime in the header; PAX records are still used for nanoseconds and
 * xattrs (Go reads such mixed archives; its format guess is then "unknown").
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { type Instant, instant } from "../go/time.js";
import { type ByteSource, concatBytes, iterateSource } from "../util/bytes.js";
import { compareGoStrings, goStringBytes } from "../go/strings.js";
import { BLOCK_SIZE, blockPadding, headerChecksums } from "./header.js";
import { fitsInBase256, fitsInOctal, formatPaxRecord, formatPaxTime, putBase256, putOctal, putString } from "./strconv.js";
import { PAX_SCHILY_XATTR } from "./types.js";

export type TarEntryKind = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/** A time: an {@link Instant}, Unix seconds, or a Date (milliseconds). */
export type TarTimeInput = Instant | number | Date;

/** One entry to write. */
export interface TarWriteEntry {
  name: string;
  /** Default "file". */
  type?: TarEntryKind;
  /** Raw typeflag character, overriding `type` (for unusual archives in tests). */
  typeflag?: string;
  /** Payload. Its length is the size unless `size` is given. */
  data?: Uint8Array;
  /** Size field (required when the payload is streamed; may deliberately disagree in tests). */
  size?: number;
  linkname?: string;
  /** Default 0o644 (files), 0o755 (dirs), 0o777 (symlinks), 0o644 otherwise. */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Default: the Unix epoch. */
  mtime?: TarTimeInput;
  atime?: TarTimeInput;
  ctime?: TarTimeInput;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as `SCHILY.xattr.<name>` PAX records. */
  xattrs?: Record<string, string | Uint8Array>;
  /** Additional PAX records, written as given. */
  pax?: Record<string, string | Uint8Array>;
}

export interface TarWriterOptions {
  /** "pax" (default) or "gnu" (see the module notes). */
  format?: "pax" | "gnu";
}

export interface TarFinishOptions {
  /** Extra bytes after the two end-of-archive blocks: a count of zero bytes, or the bytes. */
  trailing?: number | Uint8Array;
  /** Pad the whole archive with zeros to a multiple of this many 512-byte blocks (GNU tar uses 20). */
  blockingFactor?: number;
}

const TYPEFLAGS: Record<TarEntryKind, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
};

const enc = new TextEncoder();

function toInstant(t: TarTimeInput): Instant {
  if (t instanceof Date) {
    const ms = t.getTime();
    if (!Number.isFinite(ms)) throw new LayerkitError("BAD_ARGUMENT", "tar: invalid Date");
    const sec = Math.floor(ms / 1000);
    return { sec, nsec: (ms - sec * 1000) * 1e6 };
  }
  if (typeof t === "number") {
    if (Number.isInteger(t)) return instant(t, 0);
    const sec = Math.floor(t);
    return instant(sec, Math.round((t - sec) * 1e9));
  }
  return instant(t.sec, t.nsec);
}

function isPlainAscii(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80 || b[i] === 0) return false;
  return true;
}

function toAscii(b: Uint8Array): Uint8Array {
  return isPlainAscii(b) ? b : b.filter((c) => c < 0x80 && c !== 0);
}

/** Go's `splitUSTARPath` on ASCII bytes: [prefix, suffix] or undefined. */
function splitUstarPath(name: Uint8Array): [Uint8Array, Uint8Array] | undefined {
  let length = name.length;
  if (length <= 100 || !isPlainAscii(name)) return undefined;
  if (length > 156) length = 156;
  else if (name[length - 1] === 0x2f) length--;
  const i = name.subarray(0, length).lastIndexOf(0x2f);
  const nlen = name.length - i - 1;
  const plen = i;
  if (i <= 0 || nlen > 100 || nlen === 0 || plen > 155) return undefined;
  return [name.subarray(0, i), name.subarray(i + 1)];
}

function bytesOf(v: string | Uint8Array): Uint8Array {
  return typeof v === "string" ? goStringBytes(v) : v;
}

function bad(message: string, details: Record<string, unknown> = {}): LayerkitError {
  return new LayerkitError("BAD_ARGUMENT", `tar: ${message}`, details);
}

/** Finalises a header block: magic and checksum (Go `setFormat`). */
function sealBlock(b: Uint8Array, gnu: boolean): void {
  if (gnu) {
    b.set(enc.encode("ustar "), 257);
    b.set(enc.encode(" \0"), 263);
  } else {
    b.set(enc.encode("ustar\0"), 257);
    b.set(enc.encode("00"), 263);
  }
  b.fill(0x20, 148, 156);
  const [sum] = headerChecksums(b);
  putOctal(b.subarray(148, 155), sum);
  b[155] = 0x20;
}

/** A header-only block for an extension entry (`x`, `g`, `L`, `K`). */
function extensionBlock(name: Uint8Array, typeflag: string, size: number, gnu: boolean): Uint8Array {
  const b = new Uint8Array(BLOCK_SIZE);
  let n = toAscii(name);
  if (n.length > 100) n = n.subarray(0, 100);
  let e = n.length;
  while (e > 0 && n[e - 1] === 0x2f) e--;
  putString(b.subarray(0, 100), n.subarray(0, e));
  putOctal(b.subarray(100, 108), 0);
  putOctal(b.subarray(108, 116), 0);
  putOctal(b.subarray(116, 124), 0);
  putOctal(b.subarray(124, 136), size);
  putOctal(b.subarray(136, 148), 0);
  b[156] = typeflag.charCodeAt(0);
  sealBlock(b, gnu);
  return b;
}

function padded(data: Uint8Array): Uint8Array[] {
  const pad = blockPadding(data.length);
  return pad > 0 ? [data, new Uint8Array(pad)] : [data];
}

/** Go's `path.Join(dir, "PaxHeaders.0", file)` for the PAX header's own name. */
function paxHeaderName(name: string): string {
  const slash = name.lastIndexOf("/");
  const dir = name.slice(0, slash + 1);
  const file = name.slice(slash + 1);
  const parts = (dir + "PaxHeaders.0/" + file).split("/");
  const out: string[] = [];
  for (const p of parts) {
    if (p === "" || p === ".") continue;
    if (p === ".." && out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else out.push(p);
  }
  return (name.startsWith("/") ? "/" : "") + out.join("/");
}

/**
 * The header bytes of one entry: any extension headers with their data, then the header block.
 * The payload (and its padding) is not included.
 */
export function encodeTarHeader(entry: TarWriteEntry, options: TarWriterOptions = {}): Uint8Array {
  const gnu = options.format === "gnu";
  const typeflag = entry.typeflag ?? TYPEFLAGS[entry.type ?? "file"];
  if (typeflag === undefined || typeflag.length !== 1) {
    throw bad(`invalid entry type for ${JSON.stringify(entry.name)}`, { name: entry.name });
  }
  const size = entry.size ?? entry.data?.length ?? 0;
  if (!Number.isSafeInteger(size) || size < 0) throw bad(`invalid size ${size} for ${JSON.stringify(entry.name)}`, { name: entry.name });
  const mode = entry.mode ?? (typeflag === "5" ? 0o755 : typeflag === "2" ? 0o777 : 0o644);
  const uid = entry.uid ?? 0;
  const gid = entry.gid ?? 0;
  const mtime = toInstant(entry.mtime ?? 0);

  const pax = new Map<string, Uint8Array>();
  const out: Uint8Array[] = [];
  const b = new Uint8Array(BLOCK_SIZE);

  // Name.
  const nameBytes = goStringBytes(entry.name);
  const fitsField = (v: Uint8Array, n: number): boolean => v.length <= n && (gnu ? v.indexOf(0) < 0 : isPlainAscii(v));
  if (fitsField(nameBytes, 100)) {
    putString(b.subarray(0, 100), nameBytes);
  } else {
    const split = gnu ? undefined : splitUstarPath(nameBytes);
    if (split) {
      putString(b.subarray(345, 500), split[0]);
      putString(b.subarray(0, 100), split[1]);
    } else if (gnu) {
      out.push(
        extensionBlock(enc.encode("././@LongLink"), "L", nameBytes.length + 1, true),
        ...padded(concatBytes([nameBytes, new Uint8Array(1)])),
      );
      putString(b.subarray(0, 100), nameBytes.subarray(0, 100));
    } else {
      pax.set("path", nameBytes);
      const ascii = toAscii(nameBytes);
      putString(b.subarray(0, 100), ascii.subarray(0, 100));
      // Go: a truncated name must not end in '/' (buggy readers treat it as a directory).
      if (ascii.length > 100 && b[99] === 0x2f) {
        let n = 100;
        while (n > 0 && ascii[n - 1] === 0x2f) n--;
        b[n] = 0;
      }
    }
  }

  // Link name.
  const linkBytes = goStringBytes(entry.linkname ?? "");
  if (fitsField(linkBytes, 100)) {
    putString(b.subarray(157, 257), linkBytes);
  } else if (gnu) {
    out.push(
      extensionBlock(enc.encode("././@LongLink"), "K", linkBytes.length + 1, true),
      ...padded(concatBytes([linkBytes, new Uint8Array(1)])),
    );
    putString(b.subarray(157, 257), linkBytes.subarray(0, 100));
  } else {
    pax.set("linkpath", linkBytes);
    putString(b.subarray(157, 257), toAscii(linkBytes).subarray(0, 100));
  }

  // Numbers.
  const numeric = (field: Uint8Array, x: number, paxKey: string | undefined, what: string): void => {
    if (!Number.isSafeInteger(x)) throw bad(`${what} ${x} of ${JSON.stringify(entry.name)} is not an integer`, { name: entry.name });
    if (fitsInOctal(field.length, x)) return putOctal(field, x);
    if (!gnu && paxKey) {
      pax.set(paxKey, enc.encode(String(x)));
      return putOctal(field, 0);
    }
    if (fitsInBase256(field.length, x)) return putBase256(field, x);
    throw bad(`${what} ${x} of ${JSON.stringify(entry.name)} does not fit the header`, { name: entry.name });
  };
  numeric(b.subarray(100, 108), mode, undefined, "mode");
  numeric(b.subarray(108, 116), uid, "uid", "uid");
  numeric(b.subarray(116, 124), gid, "gid", "gid");
  numeric(b.subarray(124, 136), size, "size", "size");

  // Times.
  const mf = b.subarray(136, 148);
  if (mtime.nsec === 0 && fitsInOctal(12, mtime.sec)) putOctal(mf, mtime.sec);
  else if (gnu && mtime.nsec === 0 && fitsInBase256(12, mtime.sec)) putBase256(mf, mtime.sec);
  else {
    pax.set("mtime", enc.encode(formatPaxTime(mtime)));
    putOctal(mf, fitsInOctal(12, mtime.sec) ? mtime.sec : 0);
  }
  for (
    const [key, value, off] of [
      ["atime", entry.atime, 345],
      ["ctime", entry.ctime, 357],
    ] as const
  ) {
    if (value === undefined) continue;
    const t = toInstant(value);
    if (gnu && t.nsec === 0 && (fitsInOctal(12, t.sec) || fitsInBase256(12, t.sec))) {
      const f = b.subarray(off, off + 12);
      if (fitsInOctal(12, t.sec)) putOctal(f, t.sec);
      else putBase256(f, t.sec);
    } else {
      pax.set(key, enc.encode(formatPaxTime(t)));
    }
  }

  // User and group names.
  for (
    const [key, value, off] of [
      ["uname", entry.uname ?? "", 265],
      ["gname", entry.gname ?? "", 297],
    ] as const
  ) {
    const v = goStringBytes(value);
    if (fitsField(v, 32)) putString(b.subarray(off, off + 32), v);
    else {
      pax.set(key, v);
      putString(b.subarray(off, off + 32), toAscii(v).subarray(0, 32));
    }
  }

  // Devices.
  for (
    const [value, off, what] of [
      [entry.devmajor ?? 0, 329, "devmajor"],
      [entry.devminor ?? 0, 337, "devminor"],
    ] as const
  ) {
    const f = b.subarray(off, off + 8);
    if (!Number.isSafeInteger(value)) throw bad(`${what} ${value} is not an integer`, { name: entry.name });
    if (fitsInOctal(8, value)) putOctal(f, value);
    else if (gnu && fitsInBase256(8, value)) putBase256(f, value);
    else throw bad(`${what} ${value} of ${JSON.stringify(entry.name)} does not fit the header`, { name: entry.name });
  }

  b[156] = typeflag.charCodeAt(0);

  for (const [k, v] of Object.entries(entry.xattrs ?? {})) pax.set(PAX_SCHILY_XATTR + k, bytesOf(v));
  for (const [k, v] of Object.entries(entry.pax ?? {})) pax.set(k, bytesOf(v));

  if (pax.size > 0) {
    const keys = [...pax.keys()].sort(compareGoStrings);
    const data = concatBytes(keys.map((k) => formatPaxRecord(goStringBytes(k), pax.get(k)!)));
    out.unshift(extensionBlock(goStringBytes(paxHeaderName(entry.name)), "x", data.length, false), ...padded(data));
  }
  sealBlock(b, gnu);
  out.push(b);
  return concatBytes(out);
}

/**
 * The 512-byte USTAR header Go's `tar.Writer` writes for `&tar.Header{Typeflag: TypeReg, Name,
 * Size}` (mode, owners, times zero): what eStargz writes for its own entries (landmarks, TOC).
 * `name` must be printable ASCII of at most 100 bytes.
 */
export function goRegHeader(name: string, size: number): Uint8Array {
  if (name.length > 100 || !/^[\x20-\x7e]+$/.test(name)) throw bad(`unsupported built-in entry name ${JSON.stringify(name)}`, { name });
  return encodeTarHeader({ name, size, mode: 0, mtime: 0 });
}

/** The end-of-archive blocks plus any requested trailing bytes, given the archive length so far. */
export function encodeTarEnd(length: number, options: TarFinishOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array(2 * BLOCK_SIZE)];
  let total = length + 2 * BLOCK_SIZE;
  if (options.blockingFactor) {
    const record = options.blockingFactor * BLOCK_SIZE;
    const pad = (record - (total % record)) % record;
    if (pad) parts.push(new Uint8Array(pad));
    total += pad;
  }
  if (typeof options.trailing === "number") parts.push(new Uint8Array(options.trailing));
  else if (options.trailing) parts.push(options.trailing);
  return concatBytes(parts);
}

/**
 * Streaming writer: hands every piece of the archive to `sink` in order (awaiting it, so a slow
 * consumer applies backpressure).
 */
export class TarWriter {
  readonly #sink: (chunk: Uint8Array) => void | Promise<void>;
  readonly #options: TarWriterOptions;
  #length = 0;
  #finished = false;

  constructor(sink: (chunk: Uint8Array) => void | Promise<void>, options: TarWriterOptions = {}) {
    this.#sink = sink;
    this.#options = options;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  async #emit(b: Uint8Array): Promise<void> {
    if (b.length === 0) return;
    this.#length += b.length;
    await this.#sink(b);
  }

  /**
   * Adds an entry. The payload is `entry.data`, or `data` (a byte source of exactly
   * `entry.size` bytes; anything else throws SIZE_MISMATCH).
   */
  async add(entry: TarWriteEntry, data?: ByteSource): Promise<void> {
    if (this.#finished) throw bad("add() after finish()");
    if (data !== undefined && entry.data === undefined && !(data instanceof Uint8Array) && entry.size === undefined) {
      throw bad(`streamed payload of ${JSON.stringify(entry.name)} needs entry.size`, { name: entry.name });
    }
    const e = data instanceof Uint8Array && entry.data === undefined ? { ...entry, data } : entry;
    await this.#emit(encodeTarHeader(e, this.#options));
    let written = 0;
    if (e.data !== undefined) {
      await this.#emit(e.data);
      written = e.data.length;
    } else if (data !== undefined) {
      for await (const piece of iterateSource(data)) {
        written += piece.length;
        if (written > (e.size ?? 0)) break;
        await this.#emit(piece);
      }
      if (written !== e.size) {
        throw new LayerkitError("SIZE_MISMATCH", `tar: payload of ${JSON.stringify(e.name)} is not ${e.size} bytes`, {
          name: e.name,
          size: e.size,
        });
      }
    }
    const pad = blockPadding(written);
    if (pad) await this.#emit(new Uint8Array(pad));
  }

  /** Writes the end-of-archive blocks (and optional trailing bytes). */
  async finish(options: TarFinishOptions = {}): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    await this.#emit(encodeTarEnd(this.#length, options));
  }
}

/** Builds a whole archive in memory. */
export function buildTar(entries: Iterable<TarWriteEntry>, options: TarWriterOptions & TarFinishOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  for (const e of entries) {
    const h = encodeTarHeader(e, options);
    parts.push(h);
    n += h.length;
    if (e.data && e.data.length > 0) {
      parts.push(e.data);
      n += e.data.length;
      const pad = blockPadding(e.data.length);
      if (pad) {
        parts.push(new Uint8Array(pad));
        n += pad;
      }
    }
  }
  parts.push(encodeTarEnd(n, options));
  return concatBytes(parts);
}

/** A pull-driven stream of an archive built from `entries` (payloads given as `data`). */
export function tarStream(
  entries: Iterable<TarWriteEntry> | AsyncIterable<TarWriteEntry>,
  options: TarWriterOptions & TarFinishOptions = {},
): ReadableStream<Uint8Array> {
  async function* gen(): AsyncGenerator<Uint8Array, void, void> {
    const queue: Uint8Array[] = [];
    const w = new TarWriter((c) => void queue.push(c), options);
    for await (const e of entries as AsyncIterable<TarWriteEntry>) {
      await w.add(e);
      yield* queue.splice(0);
    }
    await w.finish(options);
    yield* queue.splice(0);
  }
  const it = gen();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      async cancel() {
        await it.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
