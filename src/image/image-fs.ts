/**
 * `openImageFs`: the merged file system of an image (./merged-fs.ts) over its layers' contents.
 *
 * A seekable layer (zstd:chunked, eStargz) contributes its TOC only, read with a request or two
 * and authenticated by the descriptor's annotations; a file's bytes are then fetched frame by
 * frame and verified against the TOC. A non-seekable layer (gzip, zstd, tar) is streamed once
 * to list it (the blob's digest verified at its end, each file's sha256 noted), and streamed again
 * up to the file asked for, whose bytes are checked against that digest before the stream closes;
 * {@link ImageFs.notes} says which layers were read so.
 *
 * @module
 */
import { type Core, getCore } from "../core.js";
import { LayerkitError } from "../errors.js";
import { decompressLayer } from "../formats/decompress.js";
import { detectLayerFormat } from "../formats/detect.js";
import { compressionOf, formatOf } from "../formats/registry.js";
import type { LayerIndex } from "../formats/format.js";
import type { LayerFormat } from "../layer/result.js";
import type { TocFile } from "../layer/toc-parse.js";
import { openLayerIndex } from "../lazy/layer-index.js";
import { layerCompression } from "../oci/media-types.js";
import { DEFAULT_PLATFORM, formatPlatform, selectPlatform } from "../oci/platform.js";
import type { Descriptor, ImageConfig, ImageManifest, Platform } from "../oci/types.js";
import { MAX_CONFIG_BYTES, parseConfig } from "../oci/validate.js";
import { TarReader } from "../tar/reader.js";
import { type TarHeader, TypeFlag } from "../tar/types.js";
import { type ImagePlace, placeError } from "./image-error.js";
import type { ImageSource } from "./image-source.js";
import { type EntryType, type LayerEntry, type MergedEntry, MergedTree } from "./merged-fs.js";

/** Where an entry's bytes are: a TOC file of a seekable layer, or the n-th tar entry of a streamed one. */
export type EntryRef = { kind: "toc"; layer: number; file: TocFile } | { kind: "tar"; layer: number; ordinal: number } | { kind: "none" };

/** What the file system knows of one layer. */
export interface ImageFsLayer {
  descriptor: Descriptor;
  format: LayerFormat | "tar";
  /** True when only its TOC was read. */
  seekable: boolean;
  entries: number;
}

export interface OpenImageFsOptions {
  /** The platform to pick from an index (default linux/amd64). */
  platform?: Platform;
  core?: Core;
}

const TYPES: Record<string, EntryType> = {
  [TypeFlag.Reg]: "reg",
  [TypeFlag.RegA]: "reg",
  [TypeFlag.Cont]: "reg",
  [TypeFlag.Link]: "hardlink",
  [TypeFlag.Symlink]: "symlink",
  [TypeFlag.Char]: "char",
  [TypeFlag.Block]: "block",
  [TypeFlag.Dir]: "dir",
  [TypeFlag.Fifo]: "fifo",
};

/** An image's merged file system. */
export class ImageFs {
  readonly source: ImageSource;
  readonly manifest: ImageManifest;
  readonly descriptor: Descriptor;
  readonly config: ImageConfig;
  readonly platform: string;
  readonly layers: ImageFsLayer[];
  readonly tree: MergedTree<EntryRef>;
  /** Human notes (layers read by streaming). */
  readonly notes: string[];
  readonly #indexes: (LayerIndex | undefined)[];
  readonly #core: Core;

  private constructor(init: Omit<ImageFs, "stat" | "list" | "openFile" | "readFile">, indexes: (LayerIndex | undefined)[], core: Core) {
    this.source = init.source;
    this.manifest = init.manifest;
    this.descriptor = init.descriptor;
    this.config = init.config;
    this.platform = init.platform;
    this.layers = init.layers;
    this.tree = init.tree;
    this.notes = init.notes;
    this.#indexes = indexes;
    this.#core = core;
  }

  /** Opens the image and reads each layer's listing (TOCs; non-seekable layers streamed once). */
  static async open(source: ImageSource, options: OpenImageFsOptions = {}): Promise<ImageFs> {
    const core = options.core ?? (await getCore());
    let place: ImagePlace = { image: source.name };
    try {
      let doc = await source.top();
      let platform: string | undefined;
      if (doc.parsed.kind === "index") {
        const chosen = selectPlatform(doc.parsed.manifest, options.platform ?? DEFAULT_PLATFORM);
        platform = formatPlatform(chosen.platform!);
        place = { ...place, platform };
        doc = await source.manifest(chosen);
      }
      if (doc.parsed.kind !== "manifest") {
        throw new LayerkitError("BAD_MANIFEST", "an index inside an index", { digest: doc.descriptor.digest });
      }
      const manifest = doc.parsed.manifest;
      const config = parseConfig(await source.readBlob(manifest.config, MAX_CONFIG_BYTES));
      platform ??= `${config.os}/${config.architecture}${config.variant ? "/" + config.variant : ""}`;
      const layers: ImageFsLayer[] = [];
      const indexes: (LayerIndex | undefined)[] = [];
      const entries: LayerEntry<EntryRef>[][] = [];
      const notes: string[] = [];
      for (const [i, d] of manifest.layers.entries()) {
        try {
          const listed = await listLayer(source, d, i, core);
          layers.push({ descriptor: d, format: listed.format, seekable: listed.index !== undefined, entries: listed.entries.length });
          indexes.push(listed.index);
          entries.push(listed.entries);
          if (!listed.index) notes.push(`layer ${i} (${d.digest}) is ${listed.format}, not seekable: it was read by streaming it whole`);
        } catch (e) {
          throw placeError(e, { ...place, layer: i, digest: d.digest });
        }
      }
      const tree = MergedTree.build<EntryRef>(entries, { kind: "none" });
      return new ImageFs({ source, manifest, descriptor: doc.descriptor, config, platform, layers, tree, notes }, indexes, core);
    } catch (e) {
      throw placeError(e, place);
    }
  }

  /** The entry `path` names (symlinks followed inside the image root unless `follow: false`). */
  stat(path: string, options: { follow?: boolean } = {}): MergedEntry<EntryRef> {
    return this.tree.resolve(path, options);
  }

  /** Every entry under `path` (a directory; symlinks on the way followed), sorted. */
  list(path = ""): MergedEntry<EntryRef>[] {
    const dir = path === "" ? undefined : this.tree.resolve(path);
    if (dir && dir.entry.type !== "dir") return [dir];
    return this.tree.list(dir?.path ?? "");
  }

  /** A stream of the verified content of the regular file `path` names (symlinks and hardlinks followed). */
  async openFile(
    path: string,
    options: { follow?: boolean } = {},
  ): Promise<{ entry: MergedEntry<EntryRef>; stream: ReadableStream<Uint8Array> }> {
    const found = this.stat(path, options);
    const entry = found.target ?? found;
    if (entry.entry.type !== "reg") {
      throw new LayerkitError(
        "BAD_ARGUMENT",
        `${path} is a ${entry.entry.type}${entry.entry.linkName !== undefined ? ` (-> ${entry.entry.linkName})` : ""}, not a regular file`,
        {
          path,
          type: entry.entry.type,
        },
      );
    }
    const ref = entry.entry.ref;
    if (ref.kind === "toc") {
      const chunks = this.#indexes[ref.layer]!.fileChunks(ref.file);
      return { entry: found, stream: sizedStream(chunks, ref.file.size, path) };
    }
    if (ref.kind === "tar") return { entry: found, stream: await this.#streamTarEntry(ref.layer, ref.ordinal, entry.entry, path) };
    throw new LayerkitError("NOT_FOUND", `${path} has no content in any layer`, { path });
  }

  /** The file's bytes (at most `maxBytes`, default 64 MiB); see {@link openFile}. */
  async readFile(path: string, options: { follow?: boolean; maxBytes?: number } = {}): Promise<Uint8Array> {
    const { entry, stream } = await this.openFile(path, options);
    const size = (entry.target ?? entry).entry.size;
    const max = options.maxBytes ?? 64 << 20;
    if (size > max) {
      await stream.cancel();
      throw new LayerkitError("LIMIT_EXCEEDED", `${path} is ${size} bytes, over the ${max}-byte limit`, { path, size, max });
    }
    const out = new Uint8Array(size);
    let at = 0;
    for await (const piece of stream as unknown as AsyncIterable<Uint8Array>) {
      out.set(piece, at);
      at += piece.length;
    }
    return out;
  }

  async #streamTarEntry(layer: number, ordinal: number, entry: LayerEntry<EntryRef>, path: string): Promise<ReadableStream<Uint8Array>> {
    const d = this.manifest.layers[layer]!;
    const tar = await layerTar(this.source, d, this.layers[layer]!.format, this.#core);
    const reader = new TarReader(tar);
    const core = this.#core;
    async function* run(): AsyncGenerator<Uint8Array, void, void> {
      let n = 0;
      for (let e = await reader.next(); e; e = await reader.next(), n++) {
        if (n !== ordinal) continue;
        const hash = core.sha256();
        let size = 0;
        for await (const piece of reader.data()) {
          hash.update(piece);
          size += piece.length;
          if (size > entry.size) throw new LayerkitError("SIZE_MISMATCH", `${path}: more bytes than the ${entry.size} listed`, { path });
          yield piece;
        }
        const got = "sha256:" + hash.hex();
        if (size !== entry.size || got !== entry.digest) {
          throw new LayerkitError(
            "DIGEST_MISMATCH",
            `${path}: the layer's bytes changed since it was listed (${got}, listed ${entry.digest})`,
            { path, expected: entry.digest, got },
          );
        }
        return;
      }
      throw new LayerkitError("NOT_FOUND", `${path}: entry ${ordinal} is no longer in layer ${layer}`, { path, layer });
    }
    const gen = run();
    return new ReadableStream<Uint8Array>(
      {
        async pull(c) {
          const { value, done } = await gen.next();
          if (done) {
            await tar.cancel().catch(() => {});
            c.close();
          } else c.enqueue(value);
        },
        async cancel() {
          await gen.return();
          await tar.cancel().catch(() => {});
        },
      },
      { highWaterMark: 0 },
    );
  }
}

/** Opens the merged file system of the image `source` names; see {@link ImageFs}. */
export function openImageFs(source: ImageSource, options: OpenImageFsOptions = {}): Promise<ImageFs> {
  return ImageFs.open(source, options);
}

async function listLayer(
  source: ImageSource,
  d: Descriptor,
  layer: number,
  core: Core,
): Promise<{ format: LayerFormat | "tar"; index?: LayerIndex; entries: LayerEntry<EntryRef>[] }> {
  let format: LayerFormat | "tar" = "tar";
  if (layerCompression(d.mediaType) === undefined) {
    throw new LayerkitError("BAD_MANIFEST", `media type ${d.mediaType} is not a layer media type`, { mediaType: d.mediaType });
  }
  if (layerCompression(d.mediaType) !== "none") {
    const blob = await source.blobSource(d);
    format = (await detectLayerFormat(blob, d.annotations)).format;
    if (formatOf(format).seekable) {
      const index = await openLayerIndex(blob, { core, ...(d.annotations ? { annotations: d.annotations } : {}) });
      const entries = index.entries.map((f): LayerEntry<EntryRef> => tocEntry(f, layer));
      return { format, index, entries };
    }
    await blob.close?.();
  }
  // Streamed: every header, each regular file hashed; the blob's digest is checked at its end.
  const tar = await layerTar(source, d, format, core);
  const reader = new TarReader(tar);
  const entries: LayerEntry<EntryRef>[] = [];
  let ordinal = 0;
  for (let e = await reader.next(); e; e = await reader.next(), ordinal++) {
    const type = TYPES[e.header.typeflag];
    if (type === undefined) continue;
    const entry = tarEntry(e.header, type, { kind: "tar", layer, ordinal });
    if (type === "reg") {
      const hash = core.sha256();
      for await (const piece of reader.data()) hash.update(piece);
      entry.digest = "sha256:" + hash.hex();
    }
    entries.push(entry);
  }
  for await (const _ of reader.trailing()) {
    /* drained so the blob's digest is checked */
  }
  return { format, entries };
}

async function layerTar(source: ImageSource, d: Descriptor, format: LayerFormat | "tar", core: Core): Promise<ReadableStream<Uint8Array>> {
  const blob = await source.openBlob(d);
  return format === "tar" ? blob : decompressLayer(blob, compressionOf(format), { core });
}

function tocEntry(f: TocFile, layer: number): LayerEntry<EntryRef> {
  const e: LayerEntry<EntryRef> = {
    name: f.name,
    type: f.type as EntryType,
    mode: f.mode,
    size: f.size,
    uid: f.uid,
    gid: f.gid,
    ref: { kind: "toc", layer, file: f },
  };
  if (f.linkName !== undefined && f.linkName !== "") e.linkName = f.linkName;
  if (f.modtime !== undefined) e.modtime = f.modtime;
  if (f.digest !== undefined) e.digest = f.digest;
  return e;
}

function tarEntry(h: TarHeader, type: EntryType, ref: EntryRef): LayerEntry<EntryRef> {
  const e: LayerEntry<EntryRef> = { name: h.name, type, mode: h.mode, size: type === "reg" ? h.size : 0, uid: h.uid, gid: h.gid, ref };
  if (h.linkname !== "") e.linkName = h.linkname;
  return e;
}

function sizedStream(chunks: AsyncGenerator<Uint8Array, void, void>, size: number, path: string): ReadableStream<Uint8Array> {
  let seen = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const { value, done } = await chunks.next();
        if (done) {
          if (seen !== size) {
            throw new LayerkitError("SIZE_MISMATCH", `${path}: ${seen} bytes, the TOC says ${size}`, { path, expected: size, got: seen });
          }
          c.close();
          return;
        }
        seen += value.length;
        if (seen > size) {
          throw new LayerkitError("SIZE_MISMATCH", `${path}: more bytes than the ${size} the TOC says`, { path, expected: size });
        }
        c.enqueue(value);
      },
      async cancel() {
        await chunks.return();
      },
    },
    { highWaterMark: 0 },
  );
}
