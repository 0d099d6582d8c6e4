/**
 * OCI image layout (image-spec `image-layout.md`): `oci-layout`, `index.json` and
 * `blobs/sha256/<hex>`, over a small file-system interface ({@link LayoutFs}) so the logic is
 * runtime-neutral; `./layout-node.js` provides the Node file system.
 *
 * - Blobs are written to a temporary file in their final directory while being hashed and counted,
 *   and renamed to `blobs/sha256/<hex>` only after digest and size match; otherwise the temporary
 *   file is deleted and `DIGEST_MISMATCH` / `SIZE_MISMATCH` is thrown. A reader never sees a
 *   partial or wrong blob under a final name.
 * - `index.json` is replaced atomically (temporary file + rename).
 * - Reads verify blob digests unless `verify: false` is passed.
 * - Paths are built from validated digests only; anything that would leave the layout is
 *   `UNSAFE_PATH`.
 *
 * Concurrent writers of the same layout may lose each other's `index.json` updates (no locking).
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { type ByteSource, iterateSource } from "../util/bytes.js";
import { parseJsonLimited } from "../util/json-limits.js";
import { canonicalJsonBytes } from "./canonical-json.js";
import { checkDigest, parseDigest, sha256Digest, type Sha256Factory, sha256Factory } from "../layer/digest.js";
import { OCI_INDEX } from "./media-types.js";
import { DEFAULT_PLATFORM, selectPlatform } from "./platform.js";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "./types.js";
import {
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  parseConfig,
  type ParsedManifest,
  parseIndex,
  parseManifestDocument,
  validateDescriptor,
} from "./validate.js";
import { readAllLimited, verifyingStream } from "./verify.js";
import type { BuiltImage } from "./build.js";

/** The annotation holding a tag in `index.json`. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
/** The `oci-layout` version written and accepted. */
export const IMAGE_LAYOUT_VERSION = "1.0.0";

/** A file being written under a temporary name. */
export interface TempFile {
  /** Layout-relative path of the temporary file. */
  readonly path: string;
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes (fsync) and closes. */
  close(): Promise<void>;
  /** Closes (if open) and deletes the file. Never throws. */
  discard(): Promise<void>;
}

/**
 * What the layout needs from a file system. Paths are layout-relative, `/`-separated and already
 * checked by {@link safeLayoutPath}; implementations must still refuse anything resolving outside
 * the layout root (`UNSAFE_PATH`) and report I/O failures as `IO` errors.
 */
export interface LayoutFs {
  /** The file's bytes, or undefined when it does not exist. Fails with LIMIT_EXCEEDED past `maxBytes`. */
  readFile(path: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /** A stream of the file, or undefined when it does not exist. */
  openRead(path: string): Promise<ReadableStream<Uint8Array> | undefined>;
  /** Size of a regular file, or undefined when it does not exist. */
  size(path: string): Promise<number | undefined>;
  /** Creates the directory and its parents. */
  mkdirp(path: string): Promise<void>;
  /** Creates a new, empty file with a unique name in `dir` (exclusive create). */
  createTemp(dir: string): Promise<TempFile>;
  /** Atomically replaces `to` with `from`. */
  rename(from: string, to: string): Promise<void>;
}

/** Checks a layout-relative path: no absolute paths, no `.`/`..`/empty segments, no backslashes or NULs. */
export function safeLayoutPath(path: string): string {
  const segs = path.split("/");
  if (
    path === "" || path.startsWith("/") || /[\\\0]/.test(path) || /^[A-Za-z]:/.test(path) ||
    segs.some((s) => s === "" || s === "." || s === "..")
  ) {
    throw new LayerkitError("UNSAFE_PATH", `path ${JSON.stringify(path)} would leave the OCI layout`, { path });
  }
  return path;
}

/** `blobs/sha256/<hex>` for a validated digest. */
export function blobPath(digest: string): string {
  const d = parseDigest(digest);
  return `blobs/${d.algorithm}/${d.hex}`;
}

const REF_NAME_RE = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

/** Checks an `org.opencontainers.image.ref.name` value (image-spec grammar). */
export function checkRefName(ref: string): string {
  if (typeof ref !== "string" || ref.length > 255 || !REF_NAME_RE.test(ref)) {
    throw new LayerkitError("BAD_ARGUMENT", `invalid OCI layout reference name ${JSON.stringify(String(ref).slice(0, 100))}`, { ref });
  }
  return ref;
}

export interface OciLayoutOptions {
  /** SHA-256 factory (default: the runtime core's). */
  sha256?: Sha256Factory;
}

export interface ReadBlobOptions {
  /** Verify the digest (default true). */
  verify?: boolean;
  /** Expected size (e.g. from a descriptor); checked when given. */
  size?: number;
  /** For {@link OciLayout.readBlob}: refuse blobs larger than this (default 64 MiB). */
  maxBytes?: number;
}

/** An image read from a layout. */
export interface LayoutImage {
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  /** The index entry the image was reached through (the tagged index), when there was one. */
  index?: { descriptor: Descriptor; index: ImageIndex };
}

/** An OCI image layout. Create one with {@link OciLayout.open} or {@link OciLayout.create}. */
export class OciLayout {
  readonly fs: LayoutFs;
  readonly #sha: Sha256Factory;

  private constructor(fs: LayoutFs, sha: Sha256Factory) {
    this.fs = fs;
    this.#sha = sha;
  }

  /** Opens an existing layout: `oci-layout` must exist with version 1.0.0 (else `NOT_FOUND` / `UNSUPPORTED_FORMAT`). */
  static async open(fs: LayoutFs, options: OciLayoutOptions = {}): Promise<OciLayout> {
    const layout = new OciLayout(fs, await sha256Factory(options.sha256));
    const raw = await fs.readFile("oci-layout", 64 * 1024);
    if (!raw) throw new LayerkitError("NOT_FOUND", "not an OCI image layout: no oci-layout file", { path: "oci-layout" });
    const doc = parseJsonLimited(raw, { maxBytes: 64 * 1024, maxDepth: 8, code: "BAD_MANIFEST", what: "oci-layout" });
    const v = (doc as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
    if (v !== IMAGE_LAYOUT_VERSION) {
      throw new LayerkitError("UNSUPPORTED_FORMAT", `unsupported OCI layout version ${JSON.stringify(v)}`, {
        path: "oci-layout",
        imageLayoutVersion: v,
      });
    }
    return layout;
  }

  /** Opens a layout, creating `oci-layout`, `index.json` and `blobs/sha256` when missing. */
  static async create(fs: LayoutFs, options: OciLayoutOptions = {}): Promise<OciLayout> {
    await fs.mkdirp("blobs/sha256");
    if ((await fs.size("oci-layout")) === undefined) {
      await writeAtomic(fs, "oci-layout", new TextEncoder().encode(JSON.stringify({ imageLayoutVersion: IMAGE_LAYOUT_VERSION })));
    }
    const layout = await OciLayout.open(fs, options);
    if ((await fs.size("index.json")) === undefined) await layout.writeIndex({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    return layout;
  }

  /** The parsed `index.json`. */
  async readIndex(): Promise<ImageIndex> {
    const raw = await this.fs.readFile("index.json", MAX_MANIFEST_BYTES);
    if (!raw) throw new LayerkitError("NOT_FOUND", "OCI layout has no index.json", { path: "index.json" });
    return parseIndex(raw, { mediaType: OCI_INDEX });
  }

  /** Replaces `index.json` atomically (canonical JSON). */
  async writeIndex(index: ImageIndex): Promise<void> {
    const bytes = canonicalJsonBytes({ ...index, mediaType: index.mediaType ?? OCI_INDEX });
    parseIndex(bytes); // never write an index we would refuse to read
    await writeAtomic(this.fs, "index.json", bytes);
  }

  /** Whether the blob exists (by name; not verified). */
  async hasBlob(digest: string): Promise<boolean> {
    return (await this.fs.size(blobPath(digest))) !== undefined;
  }

  /** The blob's bytes; verified unless `verify: false`. Missing blob: `NOT_FOUND`. */
  async readBlob(digest: string, options: ReadBlobOptions = {}): Promise<Uint8Array> {
    const max = options.maxBytes ?? 64 * 1024 * 1024;
    const stream = await this.openBlob(digest, options);
    return readAllLimited(stream, max, { digest });
  }

  /**
   * A stream of the blob. With verification (default) the stream errors with `DIGEST_MISMATCH` /
   * `SIZE_MISMATCH` at the end instead of closing, so only a cleanly closed stream is verified.
   */
  async openBlob(digest: string, options: ReadBlobOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const path = blobPath(digest);
    if (options.size !== undefined) {
      const actual = await this.fs.size(path);
      if (actual !== undefined && actual !== options.size) {
        throw new LayerkitError("SIZE_MISMATCH", `blob ${digest} has ${actual} bytes, expected ${options.size}`, {
          digest,
          path,
          expected: options.size,
          got: actual,
        });
      }
    }
    const stream = await this.fs.openRead(path);
    if (!stream) throw new LayerkitError("NOT_FOUND", `blob ${digest} is not in the OCI layout`, { digest, path });
    if (options.verify === false) return stream;
    const expected = options.size === undefined ? { digest } : { digest, size: options.size };
    return stream.pipeThrough(verifyingStream(expected, this.#sha, { path }));
  }

  /**
   * Writes a blob: streamed to a temporary file in `blobs/sha256/` while hashed and counted, then
   * renamed to its final name only when it matches `expected` (digest and/or size). A blob that is
   * already present under `expected.digest` with the right size is not rewritten (the source is
   * cancelled). Returns the blob's digest and size.
   */
  async writeBlob(data: ByteSource, expected: { digest?: string; size?: number } = {}): Promise<{ digest: string; size: number }> {
    if (expected.digest !== undefined) {
      checkDigest(expected.digest);
      const have = await this.fs.size(blobPath(expected.digest));
      if (have !== undefined && (expected.size === undefined || have === expected.size)) {
        await cancelSource(data);
        return { digest: expected.digest, size: have };
      }
    }
    if (expected.size !== undefined && (!Number.isSafeInteger(expected.size) || expected.size < 0)) {
      throw new LayerkitError("BAD_ARGUMENT", `invalid blob size ${expected.size}`, { size: expected.size });
    }
    await this.fs.mkdirp("blobs/sha256");
    const tmp = await this.fs.createTemp("blobs/sha256");
    let size = 0;
    let digest: string;
    try {
      const hasher = this.#sha();
      for await (const chunk of iterateSource(data)) {
        size += chunk.length;
        if (expected.size !== undefined && size > expected.size) {
          throw new LayerkitError("SIZE_MISMATCH", `blob is longer than its expected ${expected.size} bytes`, {
            expected: expected.size,
            got: size,
            digest: expected.digest,
          });
        }
        hasher.update(chunk);
        await tmp.write(chunk);
      }
      digest = "sha256:" + hasher.hex();
      if (expected.size !== undefined && size !== expected.size) {
        throw new LayerkitError("SIZE_MISMATCH", `blob has ${size} bytes, expected ${expected.size}`, {
          expected: expected.size,
          got: size,
          digest: expected.digest,
        });
      }
      if (expected.digest !== undefined && digest !== expected.digest) {
        throw new LayerkitError("DIGEST_MISMATCH", `blob content has digest ${digest}, expected ${expected.digest}`, {
          expected: expected.digest,
          got: digest,
          size,
        });
      }
      await tmp.close();
      await this.fs.rename(tmp.path, blobPath(digest));
    } catch (e) {
      await tmp.discard();
      await cancelSource(data);
      throw e;
    }
    return { digest, size };
  }

  /** Writes a JSON document (canonical JSON unless bytes are given) as a blob; returns its descriptor. */
  async writeJson(mediaType: string, value: unknown): Promise<Descriptor> {
    const bytes = value instanceof Uint8Array ? value : canonicalJsonBytes(value);
    const digest = sha256Digest(this.#sha, bytes);
    await this.writeBlob(bytes, { digest, size: bytes.length });
    return { mediaType, digest, size: bytes.length };
  }

  /**
   * Adds `descriptor` to `index.json`, tagged `ref` when given (entries with the same ref name
   * lose it — they are removed, as skopeo does). The blob must already be in the layout.
   */
  async addToIndex(descriptor: Descriptor, ref?: string): Promise<void> {
    validateDescriptor(descriptor, "descriptor");
    if (ref !== undefined) checkRefName(ref);
    if (!(await this.hasBlob(descriptor.digest))) {
      throw new LayerkitError("NOT_FOUND", `cannot add ${descriptor.digest} to index.json: the blob is not in the layout`, {
        digest: descriptor.digest,
      });
    }
    const index = await this.readIndex();
    const entry: Descriptor = structuredClone(descriptor);
    if (ref !== undefined) {
      entry.annotations = { ...(entry.annotations ?? {}), [REF_NAME_ANNOTATION]: ref };
      index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== ref);
    } else {
      index.manifests = index.manifests.filter((m) => m.digest !== descriptor.digest || m.annotations?.[REF_NAME_ANNOTATION] !== undefined);
    }
    index.manifests.push(entry);
    await this.writeIndex(index);
  }

  /**
   * Writes a built image's config and manifest blobs and adds the manifest to `index.json`
   * (tagged `ref` when given). Layer blobs must be written with {@link writeBlob} (before or after).
   */
  async writeImage(image: BuiltImage, ref?: string): Promise<Descriptor> {
    await this.writeBlob(image.config.bytes, { digest: image.config.descriptor.digest, size: image.config.descriptor.size });
    await this.writeBlob(image.manifest.bytes, { digest: image.manifest.descriptor.digest, size: image.manifest.descriptor.size });
    await this.addToIndex(image.manifest.descriptor, ref);
    return image.manifest.descriptor;
  }

  /**
   * The `index.json` entry named `ref`; without `ref`, the only entry (`BAD_ARGUMENT` if there
   * are several). Unknown ref: `NOT_FOUND`.
   */
  async resolve(ref?: string): Promise<Descriptor> {
    const index = await this.readIndex();
    if (ref === undefined) {
      if (index.manifests.length === 1) return index.manifests[0]!;
      throw new LayerkitError(
        index.manifests.length === 0 ? "NOT_FOUND" : "BAD_ARGUMENT",
        `OCI layout has ${index.manifests.length} images; name one`,
        {
          count: index.manifests.length,
        },
      );
    }
    const found = index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] === ref);
    if (found.length === 0) throw new LayerkitError("NOT_FOUND", `no image named ${JSON.stringify(ref)} in the OCI layout`, { ref });
    return found[found.length - 1]!;
  }

  /** Reads, verifies and validates the manifest or index `descriptor` points at. */
  async readManifest(descriptor: Descriptor): Promise<ParsedManifest> {
    const bytes = await this.readBlob(descriptor.digest, { size: descriptor.size, maxBytes: MAX_MANIFEST_BYTES });
    return parseManifestDocument(bytes, { mediaType: descriptor.mediaType });
  }

  /** Reads the image named `ref` (resolving an index by `platform`, default linux/amd64), with its config. */
  async readImage(ref?: string, options: { platform?: Platform } = {}): Promise<LayoutImage> {
    let descriptor = await this.resolve(ref);
    let parsed = await this.readManifest(descriptor);
    let index: LayoutImage["index"];
    for (let depth = 0; parsed.kind === "index"; depth++) {
      if (depth >= 4) throw new LayerkitError("BAD_MANIFEST", "indexes nested too deeply", { digest: descriptor.digest });
      index = { descriptor, index: parsed.manifest };
      descriptor = selectPlatform(parsed.manifest, options.platform ?? DEFAULT_PLATFORM);
      parsed = await this.readManifest(descriptor);
    }
    const manifest = parsed.manifest;
    const configBytes = await this.readBlob(manifest.config.digest, { size: manifest.config.size, maxBytes: MAX_CONFIG_BYTES });
    const config = parseConfig(configBytes);
    const out: LayoutImage = { descriptor, manifest, config };
    if (index) out.index = index;
    return out;
  }
}

async function writeAtomic(fs: LayoutFs, path: string, bytes: Uint8Array): Promise<void> {
  const slash = path.lastIndexOf("/");
  const tmp = await fs.createTemp(slash < 0 ? "" : path.slice(0, slash));
  try {
    await tmp.write(bytes);
    await tmp.close();
    await fs.rename(tmp.path, path);
  } catch (e) {
    await tmp.discard();
    throw e;
  }
}

async function cancelSource(data: ByteSource): Promise<void> {
  const s = data as ReadableStream<Uint8Array>;
  if (typeof s?.getReader === "function" && !s.locked) await s.cancel().catch(() => {});
}
