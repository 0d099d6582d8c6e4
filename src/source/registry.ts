/**
 * A {@link BlobSource} for a registry blob: the {@link HttpSource} (Range requests) on the
 * blob URL, with requests sent through the registry client's transport so they carry the
 * registry's credentials — to the registry only, never to a storage host a redirect points at.
 * The transport's one HTTP client follows the redirects (once: the source does not follow them
 * again), remembers the CDN URL a blob redirects to, so later ranges go straight there, and counts
 * every request into the source's stats.
 *
 * Ranges are not verified here (a range cannot be checked against the blob digest); readers that
 * need integrity verify what they read against the TOC or the whole blob (`verifyLayer`).
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { isDigest } from "../layer/digest.js";
import type { Descriptor } from "../oci/types.js";
import type { RegistryTransport } from "../registry/transport.js";
import { checkRepository } from "../registry/reference.js";
import type { BlobSource, ByteRange, SourceStats } from "./blob-source.js";
import { HttpSource, type HttpSourceOptions, type SourceWarning } from "./http.js";

/** Options of a registry blob source (what {@link HttpSource} takes besides its exchange). */
export type RegistryBlobSourceOptions = Pick<
  HttpSourceOptions,
  "coalesceGap" | "maxSpan" | "multiRange" | "maxRangesPerRequest" | "maxFullBody" | "onWarning"
>;

/** Random access to one blob of a repository. */
export class RegistryBlobSource implements BlobSource {
  readonly #http: HttpSource;
  readonly descriptor: Pick<Descriptor, "digest" | "size">;

  /** `client`: what a RegistryClient is to a blob read (its transport); the client itself depends on this module. */
  constructor(
    client: { readonly transport: RegistryTransport },
    repository: string,
    descriptor: Pick<Descriptor, "digest" | "size">,
    options: RegistryBlobSourceOptions = {},
  ) {
    checkRepository(repository);
    if (!isDigest(descriptor.digest)) {
      throw new LayerkitError("BAD_ARGUMENT", `invalid blob digest ${JSON.stringify(String(descriptor.digest).slice(0, 100))}`, {
        digest: descriptor.digest,
      });
    }
    this.descriptor = descriptor;
    const transport = client.transport;
    this.#http = new HttpSource(transport.url(`/v2/${repository}/blobs/${descriptor.digest}`), {
      ...options,
      exchange: transport.exchange([`repository:${repository}:pull`]),
      size: descriptor.size,
    });
  }

  /** Warnings of the underlying HTTP source (e.g. a storage host that ignores Range). */
  get warnings(): readonly SourceWarning[] {
    return this.#http.warnings;
  }

  get knownSize(): number | undefined {
    return this.#http.knownSize;
  }

  /** See {@link HttpSource.requestBound}. */
  requestBound(units = 1): number {
    return this.#http.requestBound(units);
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  readTail(length: number): Promise<{ bytes: Uint8Array; offset: number; size: number }> {
    return this.#http.readTail(length);
  }

  get stats(): SourceStats {
    return this.#http.stats;
  }

  size(): Promise<number> {
    return this.#http.size();
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    return this.#http.read(offset, length);
  }

  readRanges(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    return this.#http.readRanges(ranges);
  }
}
