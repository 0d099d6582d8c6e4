/**
 * Opening an image reference on Node (and Deno): a registry repository through
 * {@link RegistryClient}, or an OCI layout directory through the Node file system with random
 * access to its blobs ({@link FileSource}).
 *
 * @module
 */
import { join } from "node:path";
import { type NodeLayoutFs, openLayout } from "../oci/layout-node.js";
import { RegistryClient, type RegistryClientOptions } from "../registry/client.js";
import { FileSource } from "../source/node-file.js";
import { formatImageRef, type ImageRef, parseImageRef } from "./image-ref.js";
import { OciLayoutImage, RegistryImage } from "./image-source.js";

export interface OpenImageOptions {
  /** Create the OCI layout when it does not exist (for a target). */
  create?: boolean;
  /** Options of the registry client (credentials, fetch, …). */
  registry?: RegistryClientOptions;
  /** Bytes per upload request to a registry (default 8 MiB). */
  chunkSize?: number;
}

/** Opens `ref` (text or parsed) as a source and target; see {@link parseImageRef} for the syntax. */
export async function openImage(ref: string | ImageRef, options: OpenImageOptions = {}): Promise<RegistryImage | OciLayoutImage> {
  const parsed = typeof ref === "string" ? parseImageRef(ref) : ref;
  const name = formatImageRef(parsed);
  if (parsed.transport === "docker") {
    const client = new RegistryClient(parsed.image.registry, options.registry ?? {});
    return new RegistryImage(client, parsed.image.repository, parsed.reference, {
      name,
      ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
    });
  }
  const layout = await openLayout(parsed.dir, options.create ? { create: true } : {});
  const root = (layout.fs as NodeLayoutFs).root;
  return new OciLayoutImage(layout, parsed.tag, (path) => FileSource.open(join(root, ...path.split("/"))), name);
}
