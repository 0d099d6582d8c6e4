/**
 * Layer entries for extraction, from the two kinds of layer: a tar stream (plain gzip, zstd or
 * uncompressed layers, decompressed as they stream) and a seekable layer's TOC (zstd:chunked,
 * eStargz: file by file, each file's chunks checked against their TOC digests as they are read).
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { base64Decode } from "../go/base64.js";
import { parseRfc3339 } from "../go/time.js";
import type { LayerIndex } from "../formats/format.js";
import { tocTypeOf } from "../layer/file-metadata.js";
import type { TocFile } from "../layer/toc-parse.js";
import { TarReader } from "../tar/reader.js";
import { xattrsOf } from "../tar/types.js";
import type { ExtractEntry, ExtractEntryType } from "./entry.js";

function entryType(type: string, name: string): ExtractEntryType {
  if (type === "chunk") throw new LayerkitError("BAD_TOC", `${name}: a chunk entry where a file was expected`, { name });
  return type as ExtractEntryType;
}

/** The entries of a tar stream, in order; each regular file's content must be read before the next entry. */
export async function* entriesFromTar(tar: ReadableStream<Uint8Array>): AsyncGenerator<ExtractEntry, void, void> {
  const reader = new TarReader(tar, { strictTypes: true });
  for await (const e of reader) {
    const h = e.header;
    const type = tocTypeOf(h.typeflag);
    if (type === undefined || type === "chunk") {
      throw new LayerkitError("TAR_UNSUPPORTED", `${JSON.stringify(h.name)}: tar type ${JSON.stringify(h.typeflag)} cannot be extracted`, {
        name: h.name,
        typeflag: h.typeflag,
      });
    }
    const xattrs = xattrsOf(h);
    const entry: ExtractEntry = {
      name: h.name,
      type,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      mtime: h.mtime,
      devMajor: h.devmajor,
      devMinor: h.devminor,
      size: type === "reg" ? e.dataSize : 0,
    };
    if (type === "symlink" || type === "hardlink") entry.linkName = h.linkname;
    if (xattrs) entry.xattrs = xattrs;
    if (type === "reg") {
      entry.content = async function* () {
        for (let piece = await reader.read(); piece !== null; piece = await reader.read()) yield piece;
      };
    }
    yield entry;
  }
  // The rest of the stream (end blocks, trailing bytes) is read too, so digests over it are whole.
  for await (const _ of reader.trailing()) { /* discarded */ }
}

/** The entries of a seekable layer's TOC, in TOC order; `skip` drops the format's own entries. */
export async function* entriesFromIndex(
  index: LayerIndex,
  skip: (name: string) => boolean = () => false,
): AsyncGenerator<ExtractEntry, void, void> {
  for (const f of index.entries) {
    if (skip(f.name)) continue;
    yield entryOfTocFile(index, f);
  }
}

function entryOfTocFile(index: LayerIndex, f: TocFile): ExtractEntry {
  const type = entryType(f.type, f.name);
  const entry: ExtractEntry = {
    name: f.name,
    type,
    mode: f.mode,
    uid: f.uid,
    gid: f.gid,
    devMajor: f.devMajor,
    devMinor: f.devMinor,
    size: type === "reg" ? f.size : 0,
  };
  if (f.modtime !== undefined) entry.mtime = parseRfc3339(f.modtime, "BAD_TOC");
  if (f.linkName !== undefined && (type === "symlink" || type === "hardlink")) entry.linkName = f.linkName;
  if (f.xattrs) {
    const x = new Map<string, Uint8Array>();
    for (const [k, v] of Object.entries(f.xattrs)) x.set(k, base64Decode(v, "BAD_TOC", `xattr ${k} of ${f.name}`));
    if (x.size > 0) entry.xattrs = x;
  }
  if (type === "reg") {
    if (f.digest !== undefined) entry.digest = f.digest;
    else if (f.size > 0) {
      throw new LayerkitError("BAD_TOC", `${f.name}: a regular file without a digest cannot be verified`, { name: f.name });
    }
    entry.content = () => (f.size > 0 ? index.fileChunks(f) : (async function* () {})());
  }
  return entry;
}
