/**
 * A registry client for the OCI distribution API on `fetch`: resolve tags, pull manifests
 * (checked media type, bounded size, digest verified) and blobs (streamed and verified), choose
 * an image from a platform index, push blobs and manifests.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { isDigest, sha256Digest, type Sha256Factory, sha256Factory } from "../layer/digest.js";
import { baseMediaType, isIndexType, isManifestType, MANIFEST_ACCEPT } from "../oci/media-types.js";
import { DEFAULT_PLATFORM, selectPlatform } from "../oci/platform.js";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "../oci/types.js";
import { MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, parseConfig, type ParsedManifest, parseManifestDocument } from "../oci/validate.js";
import { readAllLimited, verifyingStream } from "../oci/verify.js";
import type { BuiltImage } from "../oci/build.js";
import { RegistryBlobSource, type RegistryBlobSourceOptions } from "../source/registry.js";
import type { ByteSource } from "../util/bytes.js";
import { parseJsonLimited } from "../util/json-limits.js";
import { checkRepository, checkTag, parseReference } from "./reference.js";
import { bodyStream, contentDigest, contentLength, expectStatus, readBodyLimited } from "./responses.js";
import { RegistryTransport, type RegistryTransportOptions } from "./transport.js";
import { pushBlob, type PushBlobOptions, type PushBlobResult } from "./upload.js";

export interface RegistryClientOptions extends RegistryTransportOptions {
  /** SHA-256 factory (default: the runtime core's). */
  sha256?: Sha256Factory;
  /** Largest manifest or index accepted (default 4 MiB). */
  maxManifestBytes?: number;
}

/** A pulled manifest or index: verified bytes, parsed document, and its descriptor. */
export interface PulledManifest {
  descriptor: Descriptor;
  bytes: Uint8Array;
  parsed: ParsedManifest;
}

/** An image pulled for one platform. */
export interface PulledImage {
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  /** The index the image was chosen from, when the reference named one. */
  index?: { descriptor: Descriptor; index: ImageIndex };
}

/** A layer to push with an image: its descriptor and a way to get its bytes (called only if needed). */
export interface PushLayer {
  descriptor: Descriptor;
  data: () => ByteSource | Promise<ByteSource>;
  /** Repository to try a cross-repository mount from first. */
  mountFrom?: string;
}

function checkRef(reference: string): string {
  if (isDigest(reference)) return reference;
  return checkTag(reference);
}

/** A client for one registry (`host[:port]`). */
export class RegistryClient {
  readonly transport: RegistryTransport;
  readonly #sha: Promise<Sha256Factory>;
  readonly #maxManifest: number;

  constructor(registry: string, options: RegistryClientOptions = {}) {
    this.transport = new RegistryTransport(registry, options);
    this.#sha = sha256Factory(options.sha256);
    this.#sha.catch(() => {});
    this.#maxManifest = options.maxManifestBytes ?? MAX_MANIFEST_BYTES;
  }

  /** `GET /v2/`: checks the registry speaks the distribution API and that we may talk to it. */
  async ping(): Promise<void> {
    const res = await this.transport.request(this.transport.url("/v2/"));
    await expectStatus(res, [200], "registry API check");
    await res.body?.cancel().catch(() => {});
  }

  /**
   * The descriptor a tag (or digest) points at, from a `HEAD` (no body is trusted, so the
   * digest is the registry's claim; {@link getManifest} verifies it when the bytes are fetched).
   */
  async resolve(repository: string, reference: string): Promise<Descriptor> {
    checkRepository(repository);
    checkRef(reference);
    const res = await this.transport.request(this.transport.url(`/v2/${repository}/manifests/${reference}`), {
      method: "HEAD",
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [`repository:${repository}:pull`],
    });
    await res.body?.cancel().catch(() => {});
    await expectStatus(res, [200], `manifest ${repository}:${reference}`);
    const digest = contentDigest(res);
    const size = contentLength(res);
    const mediaType = baseMediaType(res.headers.get("content-type"));
    if (digest === undefined || size === undefined || mediaType === undefined || !(isManifestType(mediaType) || isIndexType(mediaType))) {
      // Not enough from HEAD: fetch (and verify) the manifest instead.
      return (await this.getManifest(repository, reference)).descriptor;
    }
    if (isDigest(reference) && digest !== reference) {
      throw new LayerkitError("DIGEST_MISMATCH", `registry resolved ${reference} to ${digest}`, { expected: reference, got: digest });
    }
    if (size > this.#maxManifest) {
      throw new LayerkitError("LIMIT_EXCEEDED", `manifest is larger than ${this.#maxManifest} bytes`, {
        size,
        maxBytes: this.#maxManifest,
      });
    }
    return { mediaType, digest, size };
  }

  /**
   * Fetches a manifest or index by tag or digest. The `Content-Type` must be a manifest or index
   * type (or `application/json` for OCI documents that name their own type) and agree with the
   * document; the body is bounded; its sha256 must equal the digest asked for, the registry's
   * `Docker-Content-Digest` and `expected` (a descriptor from an index), else `DIGEST_MISMATCH`.
   */
  async getManifest(repository: string, reference: string, expected?: Descriptor): Promise<PulledManifest> {
    checkRepository(repository);
    checkRef(reference);
    const url = this.transport.url(`/v2/${repository}/manifests/${reference}`);
    const res = await this.transport.request(url, { headers: { accept: MANIFEST_ACCEPT }, scopes: [`repository:${repository}:pull`] });
    await expectStatus(res, [200], `manifest ${repository}:${reference}`);
    const type = baseMediaType(res.headers.get("content-type"));
    if (type === undefined || !(isManifestType(type) || isIndexType(type) || type === "application/json")) {
      await res.body?.cancel().catch(() => {});
      throw new LayerkitError(
        "BAD_MANIFEST",
        `registry served ${reference} as ${JSON.stringify(type ?? null)}, not a manifest or index media type`,
        { url: url.href, contentType: type },
      );
    }
    const declared = contentLength(res);
    if (declared !== undefined && declared > this.#maxManifest) {
      await res.body?.cancel().catch(() => {});
      throw new LayerkitError("LIMIT_EXCEEDED", `manifest is larger than ${this.#maxManifest} bytes`, {
        url: url.href,
        size: declared,
        maxBytes: this.#maxManifest,
      });
    }
    const headerDigest = contentDigest(res);
    const bytes = await readBodyLimited(res, this.#maxManifest, "manifest");
    if (declared !== undefined && bytes.length !== declared) {
      throw new LayerkitError("SIZE_MISMATCH", `manifest body has ${bytes.length} bytes, Content-Length said ${declared}`, {
        url: url.href,
        expected: declared,
        got: bytes.length,
      });
    }
    const digest = sha256Digest(await this.#sha, bytes);
    for (
      const [want, why] of [
        [isDigest(reference) ? reference : undefined, "the digest asked for"],
        [headerDigest, "Docker-Content-Digest"],
        [expected?.digest, "the descriptor"],
      ] as const
    ) {
      if (want !== undefined && want !== digest) {
        throw new LayerkitError("DIGEST_MISMATCH", `manifest ${repository}:${reference} has digest ${digest}, ${why} says ${want}`, {
          url: url.href,
          expected: want,
          got: digest,
        });
      }
    }
    if (expected && expected.size !== bytes.length) {
      throw new LayerkitError("SIZE_MISMATCH", `manifest has ${bytes.length} bytes, the descriptor says ${expected.size}`, {
        url: url.href,
        expected: expected.size,
        got: bytes.length,
      });
    }
    const hint = type === "application/json" ? expected?.mediaType : type;
    if (expected && type !== "application/json" && baseMediaType(expected.mediaType) !== type) {
      throw new LayerkitError("BAD_MANIFEST", `registry served ${digest} as ${type}, the descriptor says ${expected.mediaType}`, {
        url: url.href,
        contentType: type,
        mediaType: expected.mediaType,
      });
    }
    const parsed = parseManifestDocument(bytes, { mediaType: hint ?? null, maxBytes: this.#maxManifest });
    return { descriptor: { mediaType: parsed.mediaType, digest, size: bytes.length }, bytes, parsed };
  }

  /**
   * The image `reference` names, for `platform` (default linux/amd64) when it is an index, with
   * its config; every document verified against its digest.
   */
  async pullImage(repository: string, reference: string, options: { platform?: Platform } = {}): Promise<PulledImage> {
    let pulled = await this.getManifest(repository, reference);
    let index: PulledImage["index"];
    for (let depth = 0; pulled.parsed.kind === "index"; depth++) {
      if (depth >= 4) throw new LayerkitError("BAD_MANIFEST", "indexes nested too deeply", { digest: pulled.descriptor.digest });
      index = { descriptor: pulled.descriptor, index: pulled.parsed.manifest };
      const chosen = selectPlatform(pulled.parsed.manifest, options.platform ?? DEFAULT_PLATFORM);
      pulled = await this.getManifest(repository, chosen.digest, chosen);
    }
    const manifest = pulled.parsed.manifest;
    const configBytes = await this.getBlob(repository, manifest.config, MAX_CONFIG_BYTES);
    const out: PulledImage = { descriptor: pulled.descriptor, manifest, config: parseConfig(configBytes) };
    if (index) out.index = index;
    return out;
  }

  /**
   * A stream of the blob, verified as it flows: a wrong `Content-Length` fails at once
   * (`SIZE_MISMATCH`); a body that is longer, shorter or has another digest makes the stream
   * error at the end instead of closing, so only a cleanly closed stream is verified.
   */
  async openBlob(repository: string, descriptor: Pick<Descriptor, "digest" | "size">): Promise<ReadableStream<Uint8Array>> {
    checkRepository(repository);
    if (!isDigest(descriptor.digest)) {
      throw new LayerkitError("BAD_ARGUMENT", `invalid blob digest ${JSON.stringify(String(descriptor.digest).slice(0, 100))}`, {
        digest: descriptor.digest,
      });
    }
    const url = this.transport.url(`/v2/${repository}/blobs/${descriptor.digest}`);
    const res = await this.transport.request(url, { scopes: [`repository:${repository}:pull`] });
    await expectStatus(res, [200], `blob ${descriptor.digest}`);
    const declared = contentLength(res);
    if (declared !== undefined && declared !== descriptor.size) {
      await res.body?.cancel().catch(() => {});
      throw new LayerkitError(
        "SIZE_MISMATCH",
        `registry sends ${declared} bytes for blob ${descriptor.digest}, the descriptor says ${descriptor.size}`,
        {
          url: url.href,
          expected: descriptor.size,
          got: declared,
        },
      );
    }
    const what = { url: url.href, digest: descriptor.digest };
    return bodyStream(res, what).pipeThrough(verifyingStream({ digest: descriptor.digest, size: descriptor.size }, await this.#sha, what));
  }

  /** The whole blob in memory (at most `maxBytes`, default 64 MiB), verified. */
  async getBlob(repository: string, descriptor: Pick<Descriptor, "digest" | "size">, maxBytes = 64 * 1024 * 1024): Promise<Uint8Array> {
    if (descriptor.size > maxBytes) {
      throw new LayerkitError("LIMIT_EXCEEDED", `blob ${descriptor.digest} is larger than ${maxBytes} bytes`, {
        size: descriptor.size,
        maxBytes,
      });
    }
    return readAllLimited(await this.openBlob(repository, descriptor), maxBytes, { digest: descriptor.digest });
  }

  /** Random access to a blob with Range requests (for lazy reads); ranges are not verified. */
  blobSource(repository: string, descriptor: Pick<Descriptor, "digest" | "size">, options?: RegistryBlobSourceOptions): RegistryBlobSource {
    return new RegistryBlobSource(this, repository, descriptor, options);
  }

  /** The blob's size when the repository has it, else undefined. */
  async hasBlob(repository: string, digest: string): Promise<number | undefined> {
    checkRepository(repository);
    if (!isDigest(digest)) {
      throw new LayerkitError("BAD_ARGUMENT", `invalid blob digest ${JSON.stringify(String(digest).slice(0, 100))}`, { digest });
    }
    const res = await this.transport.request(this.transport.url(`/v2/${repository}/blobs/${digest}`), {
      method: "HEAD",
      scopes: [`repository:${repository}:pull`],
    });
    await res.body?.cancel().catch(() => {});
    if (res.status === 404) return undefined;
    await expectStatus(res, [200], `blob ${digest}`);
    return contentLength(res);
  }

  /** Pushes a blob (mount attempt, monolithic or chunked upload); see {@link PushBlobOptions}. */
  async pushBlob(repository: string, data: ByteSource, options: PushBlobOptions = {}): Promise<PushBlobResult> {
    checkRepository(repository);
    if (options.mountFrom !== undefined) checkRepository(options.mountFrom);
    if (options.digest !== undefined && !isDigest(options.digest)) {
      throw new LayerkitError("BAD_ARGUMENT", `invalid blob digest ${JSON.stringify(String(options.digest).slice(0, 100))}`, {
        digest: options.digest,
      });
    }
    return pushBlob(this.transport, await this.#sha, repository, data, options);
  }

  /**
   * Pushes a manifest or index under `reference` (a tag, or its digest). The document is
   * validated first (we never push what we would refuse to pull) and the registry's
   * `Docker-Content-Digest` must match ours.
   */
  async pushManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
    checkRepository(repository);
    checkRef(reference);
    const parsed = parseManifestDocument(bytes, { mediaType, maxBytes: this.#maxManifest });
    const digest = sha256Digest(await this.#sha, bytes);
    if (isDigest(reference) && reference !== digest) {
      throw new LayerkitError("DIGEST_MISMATCH", `manifest has digest ${digest}, pushed as ${reference}`, {
        expected: reference,
        got: digest,
      });
    }
    const res = await this.transport.request(this.transport.url(`/v2/${repository}/manifests/${reference}`), {
      method: "PUT",
      body: bytes,
      headers: { "content-type": parsed.mediaType },
      scopes: [`repository:${repository}:pull,push`],
    });
    await expectStatus(res, [201], `push manifest ${repository}:${reference}`);
    await res.body?.cancel().catch(() => {});
    const got = contentDigest(res);
    if (got !== undefined && got !== digest) {
      throw new LayerkitError("DIGEST_MISMATCH", `registry stored manifest ${got}, we sent ${digest}`, { expected: digest, got });
    }
    return { mediaType: parsed.mediaType, digest, size: bytes.length };
  }

  /**
   * Pushes an image built with `buildImage`: layers (skipped when present, mounted when asked),
   * the config, then the manifest under `tag` (or by digest when no tag is given).
   */
  async pushImage(repository: string, image: BuiltImage, layers: readonly PushLayer[], tag?: string): Promise<Descriptor> {
    const want = image.manifest.value.layers.map((l) => l.digest);
    const have = layers.map((l) => l.descriptor.digest);
    if (want.length !== have.length || want.some((d, i) => d !== have[i])) {
      throw new LayerkitError("BAD_ARGUMENT", "the layers given are not the image's layers (in order)", { manifest: want, given: have });
    }
    for (const l of layers) {
      // Present layers are neither read nor sent (a mount attempt finds them too).
      if (l.mountFrom === undefined && (await this.hasBlob(repository, l.descriptor.digest)) === l.descriptor.size) continue;
      const opts: PushBlobOptions = { digest: l.descriptor.digest, size: l.descriptor.size };
      if (l.mountFrom !== undefined) opts.mountFrom = l.mountFrom;
      await this.pushBlob(repository, await l.data(), opts);
    }
    await this.pushBlob(repository, image.config.bytes, { digest: image.config.descriptor.digest, size: image.config.descriptor.size });
    const d = await this.pushManifest(
      repository,
      tag ?? image.manifest.descriptor.digest,
      image.manifest.bytes,
      image.manifest.descriptor.mediaType,
    );
    return { ...d, ...(image.manifest.descriptor.platform ? { platform: image.manifest.descriptor.platform } : {}) };
  }

  /** The repository's tags (`GET /v2/<name>/tags/list`, first page). */
  async listTags(repository: string): Promise<string[]> {
    checkRepository(repository);
    const res = await this.transport.request(this.transport.url(`/v2/${repository}/tags/list`), {
      scopes: [`repository:${repository}:pull`],
    });
    await expectStatus(res, [200], `tags of ${repository}`);
    const body = await readBodyLimited(res, this.#maxManifest, "tag list");
    const doc = parseJsonLimited(body, { maxBytes: this.#maxManifest, maxDepth: 8, code: "HTTP", what: "tag list" }) as
      | { tags?: unknown }
      | null;
    if (doc?.tags === null) return [];
    if (!Array.isArray(doc?.tags) || !doc.tags.every((t) => typeof t === "string")) {
      throw new LayerkitError("HTTP", "malformed tag list", { repository });
    }
    return doc.tags as string[];
  }
}

/**
 * A client for the registry an image reference names, with its repository and tag or digest
 * (`latest` when the reference has neither; the digest when it has both).
 *
 * @example
 * ```ts
 * const { client, repository, reference } = openReference("127.0.0.1:5000/team/app:v1");
 * const image = await client.pullImage(repository, reference);
 * ```
 */
export function openReference(
  ref: string,
  options: RegistryClientOptions = {},
): { client: RegistryClient; repository: string; reference: string } {
  const r = parseReference(ref);
  return { client: new RegistryClient(r.registry, options), repository: r.repository, reference: r.digest ?? r.tag ?? "latest" };
}
