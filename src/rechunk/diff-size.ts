/**
 * What an update costs: the bytes and requests a client holding image OLD needs to get image NEW.
 *
 * The model (a c/storage-like client pulling NEW from a registry):
 * - the manifest and the config: one request each (none for the config when OLD has it);
 * - a NEW layer whose digest OLD has: nothing;
 * - a NEW zstd:chunked layer: one request for its metadata (the TOC and the tar-split, fetched
 *   together), then the payload ranges of the chunks the client lacks: a chunk is held when a
 *   chunk (or whole file) with the same digest is in one of OLD's seekable layers (their TOCs
 *   list them), and a chunk that is all zeros is never fetched. Chunks with the same digest are
 *   fetched once. The ranges are coalesced as the HTTP source does (gap 16 KiB, spans up to
 *   16 MiB by default), and each span is a request;
 * - any other NEW layer: the whole blob in one request.
 *
 * OLD's non-seekable layers contribute only their digests (their files are not indexed).
 *
 * @module
 */
import { coalesceRanges } from "../source/coalesce.js";
import type { BlobSource, ByteRange } from "../source/blob-source.js";
import type { Core } from "../core.js";
import { openLayerIndex } from "../lazy/layer-index.js";
import type { Descriptor, ImageManifest } from "../oci/types.js";
import type { LayerIndex } from "../formats/format.js";

export interface DiffSizeOptions {
  /** Opens a blob of either image (OLD's and NEW's layers); each source is closed after its TOC is read. */
  openBlob: (descriptor: Descriptor) => Promise<BlobSource>;
  /** Ranges this close merge into one request (default 16 KiB, as the HTTP source). */
  gap?: number;
  /** Longest merged request (default 16 MiB, as the HTTP source). */
  maxSpan?: number;
  core?: Core;
}

export interface LayerCost {
  digest: string;
  size: number;
  /** `present`: OLD has the blob; `chunks`: zstd:chunked, missing chunks fetched; `whole`: the blob. */
  fetch: "present" | "chunks" | "whole";
  bytes: number;
  requests: number;
  /** For `chunks`: chunks in the layer (with payload, zeros excluded) and how many were missing. */
  chunks?: { total: number; missing: number; metadataBytes: number };
}

export interface DiffSize {
  /** Total bytes to fetch: manifest, config and layers. */
  bytes: number;
  /** Total requests. */
  requests: number;
  manifest: { bytes: number; requests: number };
  config: { bytes: number; requests: number };
  layers: LayerCost[];
}

async function seekableIndex(d: Descriptor, options: DiffSizeOptions): Promise<LayerIndex | undefined> {
  if (!d.mediaType.includes("zstd") && !d.mediaType.includes("gzip")) return undefined;
  const source = await options.openBlob(d);
  try {
    return await openLayerIndex(source, {
      ...(d.annotations ? { annotations: d.annotations } : {}),
      ...(options.core ? { core: options.core } : {}),
    });
  } catch {
    return undefined; // not seekable: only its digest counts
  } finally {
    await source.close?.(); // only the TOC is used, and it is read by now
  }
}

/** The cost of getting `next` (its manifest of `manifestSize` bytes) for a client holding `old`. */
export async function imageDiffSize(
  old: ImageManifest,
  next: ImageManifest,
  nextManifestSize: number,
  options: DiffSizeOptions,
): Promise<DiffSize> {
  const held = new Set<string>(old.layers.map((l) => l.digest));
  const heldChunks = new Set<string>();
  for (const d of old.layers) {
    const ix = await seekableIndex(d, options);
    if (!ix) continue;
    for (const f of ix.entries) {
      if (f.digest) heldChunks.add(f.digest);
      for (const c of f.chunks) if (c.digest) heldChunks.add(c.digest);
    }
  }

  const layers: LayerCost[] = [];
  for (const d of next.layers) {
    const base = { digest: d.digest, size: d.size };
    if (held.has(d.digest)) {
      layers.push({ ...base, fetch: "present", bytes: 0, requests: 0 });
      continue;
    }
    const ix = await seekableIndex(d, options);
    if (!ix || ix.detail.kind !== "zstd-chunked") {
      layers.push({ ...base, fetch: "whole", bytes: d.size, requests: 1 });
      continue;
    }
    const toc = ix.detail.toc;
    const metadataBytes = toc.tocPosition.length + (toc.tarSplitPosition?.length ?? 0);
    const ranges: ByteRange[] = [];
    const wanted = new Set<string>();
    let total = 0;
    for (const f of ix.entries) {
      // A file whose whole content the client has needs none of its chunks.
      const fileHeld = f.digest !== undefined && heldChunks.has(f.digest);
      for (const c of f.chunks) {
        if (c.zeros) continue;
        total++;
        if (fileHeld || (c.digest !== undefined && heldChunks.has(c.digest))) continue;
        if (c.digest !== undefined) {
          if (wanted.has(c.digest)) continue;
          wanted.add(c.digest);
        }
        ranges.push({ offset: c.offset, length: c.end - c.offset });
      }
    }
    const spans = coalesceRanges(ranges, { gap: options.gap ?? 16 * 1024, maxLength: options.maxSpan ?? 16 * 1024 * 1024 });
    const payload = spans.reduce((n, s) => n + s.length, 0);
    layers.push({
      ...base,
      fetch: "chunks",
      bytes: metadataBytes + payload,
      requests: 1 + spans.length,
      chunks: { total, missing: ranges.length, metadataBytes },
    });
  }

  const manifest = { bytes: nextManifestSize, requests: 1 };
  const config = old.config.digest === next.config.digest ? { bytes: 0, requests: 0 } : { bytes: next.config.size, requests: 1 };
  const bytes = manifest.bytes + config.bytes + layers.reduce((n, l) => n + l.bytes, 0);
  const requests = manifest.requests + config.requests + layers.reduce((n, l) => n + l.requests, 0);
  return { bytes, requests, manifest, config, layers };
}
