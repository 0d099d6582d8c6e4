/**
 * `exportAls`: layerkit as an additional layer store (ALS) producer. Every layer of an image
 * (registry or OCI layout) becomes a directory containers/storage takes ready-made instead of
 * pulling the blob (see ./layout.ts for where and what c/storage reads):
 *
 * - `diff/`: the layer's tree, extracted by {@link extractLayer} (file digests checked against
 *   the TOC for seekable layers),
 * - `info`: c/storage's layer record (blob and diff digests and sizes, compression, TOC digest),
 *   the diff digest checked against the image config's diffID,
 * - `blob`: the compressed blob (c/storage 1.43 requires it; `blob: false` leaves it out),
 * - `use`: a dangling relative symlink. c/storage creates `use` to tell the store a layer is in
 *   use and removes it again; a store that needs no such notice answers ENOENT, which it takes
 *   silently ("Notification-aware Additional Layer Store must return ENOENT"). A plain directory
 *   cannot refuse the create, a symlink into a missing directory does.
 *
 * Whole or not at all: each layer directory is built under a temporary name in the store
 * (`.layerkit-partial-…`, a name c/storage never looks up) and renamed into place when complete;
 * a layer directory that already exists is left alone (c/storage may be using it).
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, promises as fsp } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Writable } from "node:stream";
import { type Core, getCore } from "../core.js";
import { isLayerkitError, LayerkitError } from "../errors.js";
import { streamSource } from "../convert/source-stream.js";
import { extractLayer } from "../extract/extract-node.js";
import { decompressLayer } from "../formats/decompress.js";
import { detectLayerFormat } from "../formats/detect.js";
import type { OpenImageOptions } from "../image/open-image.js";
import { openImage } from "../image/open-image.js";
import type { ImageSource } from "../image/image-source.js";
import { ANNOTATION_ESTARGZ_TOC_DIGEST, ANNOTATION_MANIFEST_CHECKSUM, OLD_ANNOTATION_MANIFEST_CHECKSUM } from "../layer/annotations.js";
import { DEFAULT_PLATFORM, selectPlatform } from "../oci/platform.js";
import type { Descriptor, Platform } from "../oci/types.js";
import { FileSource } from "../source/node-file.js";
import { DigestCounter } from "../util/digest-counter.js";
import { ALS_COMPRESSION, type AlsInfo, alsInfoBytes, type AlsKey, alsLayerPath } from "./layout.js";

export interface ExportAlsOptions {
  /** What names each layer directory (default `layer-digest`, as c/storage 1.43 looks it up). */
  key?: AlsKey;
  /** Scope the layers to this image reference (for a store configured as `STORE:ref`). */
  ref?: string;
  /** Write `blob` (default true; c/storage 1.43 uses a layer only when it is there). */
  blob?: boolean;
  /** Which image of an index (default linux/amd64). */
  platform?: Platform;
  /** Apply numeric owners in `diff/` (default: when running as root). */
  asRoot?: boolean;
  core?: Core;
  open?: OpenImageOptions;
}

export interface ExportedAlsLayer {
  digest: string;
  /** The layer directory, absolute. */
  path: string;
  /** `written`, or `present` when the directory existed already (left as it was). */
  status: "written" | "present";
  format: string;
  info?: AlsInfo;
}

export interface ExportAlsReport {
  store: string;
  layers: ExportedAlsLayer[];
}

/** The TOC digest a seekable layer's descriptor commits to, if any. */
export function tocDigestOf(descriptor: Descriptor, format: string): string | undefined {
  const a = descriptor.annotations ?? {};
  if (format === "zstd:chunked") return a[ANNOTATION_MANIFEST_CHECKSUM] ?? a[OLD_ANNOTATION_MANIFEST_CHECKSUM];
  if (format === "estargz") return a[ANNOTATION_ESTARGZ_TOC_DIGEST];
  return undefined;
}

/** Exports every layer of image `src` into the additional layer store at `store`. */
export async function exportAls(src: string, store: string, options: ExportAlsOptions = {}): Promise<ExportAlsReport> {
  const core = options.core ?? (await getCore());
  const root = resolve(store);
  const st = await fsp.stat(root).catch(() => undefined);
  if (!st?.isDirectory()) throw new LayerkitError("BAD_ARGUMENT", `ALS store ${store} is not a directory`, { store });
  const image = await openImage(src, options.open ?? {});
  const { layers, diffIDs } = await imageLayers(image, options.platform ?? DEFAULT_PLATFORM);
  const out: ExportedAlsLayer[] = [];
  for (const [i, d] of layers.entries()) out.push(await exportLayer(core, image, d, diffIDs[i]!, root, options));
  return { store: root, layers: out };
}

async function imageLayers(image: ImageSource, platform: Platform): Promise<{ layers: Descriptor[]; diffIDs: string[] }> {
  let doc = await image.top();
  if (doc.parsed.kind === "index") doc = await image.manifest(selectPlatform(doc.parsed.manifest, platform));
  if (doc.parsed.kind !== "manifest") throw new LayerkitError("BAD_MANIFEST", `${image.name}: expected an image manifest`, {});
  const manifest = doc.parsed.manifest;
  const config = JSON.parse(new TextDecoder().decode(await image.readBlob(manifest.config, 16 << 20))) as {
    rootfs?: { diff_ids?: unknown };
  };
  const diffIDs = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIDs) || diffIDs.length !== manifest.layers.length || !diffIDs.every((x) => typeof x === "string")) {
    throw new LayerkitError(
      "BAD_MANIFEST",
      `${image.name}: the config's diff_ids do not match the manifest's ${manifest.layers.length} layers`,
      {},
    );
  }
  return { layers: manifest.layers, diffIDs: diffIDs as string[] };
}

async function exportLayer(
  core: Core,
  image: ImageSource,
  d: Descriptor,
  diffID: string,
  root: string,
  options: ExportAlsOptions,
): Promise<ExportedAlsLayer> {
  const staging = join(root, `.layerkit-partial-${randomBytes(8).toString("hex")}`);
  await fsp.mkdir(staging, { mode: 0o755 });
  try {
    const blobFile = join(staging, "blob");
    await (await image.openBlob(d)).pipeTo(Writable.toWeb(createWriteStream(blobFile, { mode: 0o644 })) as WritableStream<Uint8Array>);
    const { format, compression, diff } = await describeBlob(core, blobFile, d);
    if (diff.digest !== diffID) {
      throw new LayerkitError("DIGEST_MISMATCH", `layer ${d.digest}: diffID ${diff.digest}, the config says ${diffID}`, {
        diffID: diff.digest,
        expected: diffID,
      });
    }
    const tocDigest = tocDigestOf(d, format);
    const keyName = options.key ?? "layer-digest";
    if (keyName === "toc-digest" && tocDigest === undefined) {
      throw new LayerkitError("BAD_ARGUMENT", `layer ${d.digest} (${format}) has no TOC digest to key it by: use --key layer-digest`, {
        digest: d.digest,
        format,
      });
    }
    const target = join(root, ...alsLayerPath(keyName === "toc-digest" ? tocDigest! : d.digest, options.ref).split("/"));
    if (await fsp.lstat(target).catch(() => undefined)) return { digest: d.digest, path: target, status: "present", format };
    const report = await extractLayer(blobFile, join(staging, "diff"), {
      core,
      ...(d.annotations ? { annotations: d.annotations } : {}),
      ...(options.asRoot !== undefined ? { asRoot: options.asRoot } : {}),
    });
    if (report.layers.some((l) => l.whiteouts > 0)) {
      // The extractor applies whiteouts to the tree it builds; an overlay lower directory must
      // keep them as overlay whiteouts (0:0 character devices, opaque xattrs) instead.
      throw new LayerkitError(
        "UNSUPPORTED_FORMAT",
        `layer ${d.digest} has whiteouts: exporting them as overlay whiteouts is not supported yet`,
        { digest: d.digest },
      );
    }
    const info: AlsInfo = {
      "compressed-diff-digest": d.digest,
      "compressed-size": d.size,
      "diff-digest": diff.digest,
      "diff-size": diff.size,
      compression: ALS_COMPRESSION[compression],
      ...(tocDigest !== undefined ? { "toc-digest": tocDigest } : {}),
    };
    await fsp.writeFile(join(staging, "info"), alsInfoBytes(info), { mode: 0o644 });
    await fsp.symlink(".layerkit-no-notification/use", join(staging, "use"));
    if (options.blob === false) await fsp.rm(blobFile);
    await fsp.mkdir(dirname(target), { recursive: true, mode: 0o755 });
    try {
      await fsp.rename(staging, target);
    } catch (e) {
      // Another export renamed the same layer into place first: theirs is as good as ours.
      if ((e as NodeJS.ErrnoException).code === "ENOTEMPTY" || (e as NodeJS.ErrnoException).code === "EEXIST") {
        return { digest: d.digest, path: target, status: "present", format };
      }
      throw e;
    }
    return { digest: d.digest, path: target, status: "written", format, info };
  } finally {
    // Gone after the rename; otherwise (failure, or the layer was there already) dropped.
    await fsp.rm(staging, { recursive: true, force: true });
  }
}

/** The blob's format and compression, and the digest and size of the tar it decompresses to. */
async function describeBlob(
  core: Core,
  blobFile: string,
  d: Descriptor,
): Promise<{ format: string; compression: "none" | "gzip" | "zstd"; diff: { digest: string; size: number } }> {
  const source = await FileSource.open(blobFile);
  try {
    let format: string;
    let compression: "none" | "gzip" | "zstd";
    try {
      const detected = await detectLayerFormat(source, d.annotations);
      format = detected.format;
      compression = detected.compression;
    } catch (e) {
      if (!(isLayerkitError(e, "UNSUPPORTED_FORMAT") && e.details.detected === "tar")) throw e;
      format = "tar";
      compression = "none";
    }
    const tar = compression === "none" ? streamSource(source) : decompressLayer(streamSource(source), compression, { core });
    const counter = new DigestCounter(core);
    const reader = tar.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) counter.update(r.value);
    return { format, compression, diff: { digest: counter.digest(), size: counter.size } };
  } finally {
    await source.close();
  }
}
