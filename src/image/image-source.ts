/**
 * One interface for where an image is read from and written to, so convert, verify and the merged
 * file system do not care whether it is a registry repository or an OCI image layout.
 *
 * Every document and every streamed blob is verified against its descriptor (digest and size) as
 * it is read; random-access reads ({@link ImageSource.blobSource}) are not, and their users verify
 * what they read against a TOC or the whole blob.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import type { OciLayout } from "../oci/layout.js";
import { blobPath } from "../oci/layout.js";
import type { Descriptor } from "../oci/types.js";
import { MAX_MANIFEST_BYTES, type ParsedManifest, parseManifestDocument } from "../oci/validate.js";
import type { RegistryClient } from "../registry/client.js";
import type { BlobSource } from "../source/blob-source.js";
import type { ByteSource } from "../util/bytes.js";

/** A manifest or index as read: its descriptor, the exact bytes (verified) and the parsed document. */
export interface ManifestDocument {
  descriptor: Descriptor;
  bytes: Uint8Array;
  parsed: ParsedManifest;
}

/** Where an image is read from. */
export interface ImageSource {
  /** The reference as given (for messages and reports). */
  readonly name: string;
  /** The manifest or index the reference names. */
  top(): Promise<ManifestDocument>;
  /** A manifest or index by descriptor (digest, size and media type checked). */
  manifest(descriptor: Descriptor): Promise<ManifestDocument>;
  /** The blob as a stream that errors instead of closing when its digest or size is wrong. */
  openBlob(descriptor: Pick<Descriptor, "digest" | "size">): Promise<ReadableStream<Uint8Array>>;
  /** The whole blob (at most `maxBytes`), verified. */
  readBlob(descriptor: Pick<Descriptor, "digest" | "size">, maxBytes: number): Promise<Uint8Array>;
  /** Random access to the blob (unverified reads). */
  blobSource(descriptor: Pick<Descriptor, "digest" | "size">): Promise<BlobSource>;
}

/** Where an image is written to. Nothing here names (tags) anything except {@link ImageTarget.publish}. */
export interface ImageTarget {
  readonly name: string;
  /** Whether the blob is present with this size. */
  hasBlob(descriptor: Pick<Descriptor, "digest" | "size">): Promise<boolean>;
  /**
   * Stores a blob from a stream as the bytes come (a registry: chunked upload; a layout: a
   * temporary file renamed when complete), checked against `expected` when given.
   */
  putBlob(data: ByteSource, expected?: { digest?: string; size?: number }): Promise<{ digest: string; size: number }>;
  /** Stores a manifest or index under its digest only (not tagged). */
  putManifest(bytes: Uint8Array, descriptor: Descriptor): Promise<void>;
  /** Names the stored top manifest or index: the one step that makes an image visible. */
  publish(bytes: Uint8Array, descriptor: Descriptor): Promise<void>;
}

/** A repository of a registry, at a tag or digest. */
export class RegistryImage implements ImageSource, ImageTarget {
  readonly name: string;
  readonly client: RegistryClient;
  readonly repository: string;
  readonly reference: string;
  /** Bytes per upload request (the registry target's chunk size). */
  readonly chunkSize: number | undefined;

  constructor(client: RegistryClient, repository: string, reference: string, options: { name?: string; chunkSize?: number } = {}) {
    this.client = client;
    this.repository = repository;
    this.reference = reference;
    this.name = options.name ??
      `${new URL(client.transport.origin).host}/${repository}${reference.startsWith("sha256:") ? "@" : ":"}${reference}`;
    this.chunkSize = options.chunkSize;
  }

  top(): Promise<ManifestDocument> {
    return this.client.getManifest(this.repository, this.reference);
  }

  manifest(descriptor: Descriptor): Promise<ManifestDocument> {
    return this.client.getManifest(this.repository, descriptor.digest, descriptor);
  }

  openBlob(descriptor: Pick<Descriptor, "digest" | "size">): Promise<ReadableStream<Uint8Array>> {
    return this.client.openBlob(this.repository, descriptor);
  }

  readBlob(descriptor: Pick<Descriptor, "digest" | "size">, maxBytes: number): Promise<Uint8Array> {
    return this.client.getBlob(this.repository, descriptor, maxBytes);
  }

  async blobSource(descriptor: Pick<Descriptor, "digest" | "size">): Promise<BlobSource> {
    return this.client.blobSource(this.repository, descriptor);
  }

  async hasBlob(descriptor: Pick<Descriptor, "digest" | "size">): Promise<boolean> {
    return (await this.client.hasBlob(this.repository, descriptor.digest)) === descriptor.size;
  }

  async putBlob(data: ByteSource, expected: { digest?: string; size?: number } = {}): Promise<{ digest: string; size: number }> {
    const r = await this.client.pushBlob(this.repository, data, {
      ...expected,
      ...(this.chunkSize !== undefined ? { chunkSize: this.chunkSize } : {}),
    });
    return { digest: r.digest, size: r.size };
  }

  async putManifest(bytes: Uint8Array, descriptor: Descriptor): Promise<void> {
    await this.client.pushManifest(this.repository, descriptor.digest, bytes, descriptor.mediaType);
  }

  async publish(bytes: Uint8Array, descriptor: Descriptor): Promise<void> {
    await this.client.pushManifest(this.repository, this.reference, bytes, descriptor.mediaType);
  }
}

/** An image in an OCI layout: `tag` names it in `index.json` (absent: the layout's only image / no name when writing). */
export class OciLayoutImage implements ImageSource, ImageTarget {
  readonly name: string;
  readonly layout: OciLayout;
  readonly tag: string | undefined;
  readonly #random: (path: string) => Promise<BlobSource>;

  /** `randomAccess` opens a layout-relative file for random reads (Node: a FileSource under the layout's root). */
  constructor(layout: OciLayout, tag: string | undefined, randomAccess: (path: string) => Promise<BlobSource>, name = `oci:${tag ?? ""}`) {
    this.layout = layout;
    this.tag = tag;
    this.#random = randomAccess;
    this.name = name;
  }

  async top(): Promise<ManifestDocument> {
    return this.manifest(await this.layout.resolve(this.tag));
  }

  async manifest(descriptor: Descriptor): Promise<ManifestDocument> {
    const bytes = await this.layout.readBlob(descriptor.digest, { size: descriptor.size, maxBytes: MAX_MANIFEST_BYTES });
    const parsed = parseManifestDocument(bytes, { mediaType: descriptor.mediaType });
    return { descriptor: { mediaType: parsed.mediaType, digest: descriptor.digest, size: descriptor.size }, bytes, parsed };
  }

  openBlob(descriptor: Pick<Descriptor, "digest" | "size">): Promise<ReadableStream<Uint8Array>> {
    return this.layout.openBlob(descriptor.digest, { size: descriptor.size });
  }

  readBlob(descriptor: Pick<Descriptor, "digest" | "size">, maxBytes: number): Promise<Uint8Array> {
    if (descriptor.size > maxBytes) {
      throw new LayerkitError("LIMIT_EXCEEDED", `blob ${descriptor.digest} is larger than ${maxBytes} bytes`, {
        digest: descriptor.digest,
        size: descriptor.size,
        maxBytes,
      });
    }
    return this.layout.readBlob(descriptor.digest, { size: descriptor.size, maxBytes });
  }

  async blobSource(descriptor: Pick<Descriptor, "digest" | "size">): Promise<BlobSource> {
    const path = blobPath(descriptor.digest);
    const size = await this.layout.fs.size(path);
    if (size === undefined) {
      throw new LayerkitError("NOT_FOUND", `blob ${descriptor.digest} is not in the OCI layout`, { digest: descriptor.digest, path });
    }
    if (size !== descriptor.size) {
      throw new LayerkitError("SIZE_MISMATCH", `blob ${descriptor.digest} has ${size} bytes, the descriptor says ${descriptor.size}`, {
        digest: descriptor.digest,
        expected: descriptor.size,
        got: size,
      });
    }
    return this.#random(path);
  }

  hasBlob(descriptor: Pick<Descriptor, "digest" | "size">): Promise<boolean> {
    return this.layout.fs.size(blobPath(descriptor.digest)).then((n) => n === descriptor.size);
  }

  putBlob(data: ByteSource, expected: { digest?: string; size?: number } = {}): Promise<{ digest: string; size: number }> {
    return this.layout.writeBlob(data, expected);
  }

  async putManifest(bytes: Uint8Array, descriptor: Descriptor): Promise<void> {
    await this.layout.writeBlob(bytes, { digest: descriptor.digest, size: descriptor.size });
  }

  async publish(bytes: Uint8Array, descriptor: Descriptor): Promise<void> {
    await this.putManifest(bytes, descriptor);
    await this.layout.addToIndex(descriptor, this.tag);
  }
}
