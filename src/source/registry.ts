/**
 * A {@link BlobSource} for a registry blob: the {@link HttpSource} (Range requests) on the
 * blob URL, with requests sent through the registry client's transport so they carry the
 * registry's credentials — to the registry only, never to a storage host a redirect points at.
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
import { HttpSource } from "./http.js";

/** Random access to one blob of a repository. */
export class RegistryBlobSource implements BlobSource {
  readonly #http: HttpSource;
  readonly descriptor: Pick<Descriptor, "digest" | "size">;

  /** `client`: what a RegistryClient is to a blob read (its transport); the client itself depends on this module. */
  constructor(client: { readonly transport: RegistryTransport }, repository: string, descriptor: Pick<Descriptor, "digest" | "size">) {
    checkRepository(repository);
    if (!isDigest(descriptor.digest)) throw new LayerkitError("BAD_ARGUMENT", `invalid blob digest ${JSON.stringify(String(descriptor.digest).slice(0, 100))}`, { digest: descriptor.digest });
    this.descriptor = descriptor;
    const transport = client.transport;
    const scopes = [`repository:${repository}:pull`];
    const viaTransport = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const req: { method?: string; headers?: HeadersInit; scopes: string[] } = { scopes };
      if (init?.method !== undefined) req.method = init.method;
      if (init?.headers !== undefined) req.headers = init.headers;
      return transport.request(input instanceof Request ? input.url : String(input), req);
    };
    this.#http = new HttpSource(transport.url(`/v2/${repository}/blobs/${descriptor.digest}`), { fetch: viaTransport as typeof fetch, size: descriptor.size });
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
