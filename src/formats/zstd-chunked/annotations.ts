/**
 * zstd:chunked's OCI layer-descriptor annotations (keys in ../../layer/annotations.ts), with strict parsers: every number must be a decimal safe integer, positions must lie
 * inside the blob and TOC lengths within the limit, before anything is used.
 *
 * @module
 */
import { LayerkitError } from "../../errors.js";
import { isDigest } from "../../layer/digest.js";
import { SKIPPABLE_HEADER_SIZE } from "./footer.js";
import {
  ANNOTATION_ESTARGZ_TOC_DIGEST,
  ANNOTATION_MANIFEST_CHECKSUM,
  ANNOTATION_MANIFEST_POSITION,
  ANNOTATION_TARSPLIT_CHECKSUM,
  ANNOTATION_TARSPLIT_POSITION,
  OLD_ANNOTATION_MANIFEST_CHECKSUM,
  OLD_ANNOTATION_MANIFEST_POSITION,
} from "../../layer/annotations.js";

/** A skippable-frame payload position: `offset` points past the 8-byte frame header. */
export interface Position {
  offset: number;
  length: number;
  uncompressedLength: number;
}

/** `manifest-position`: a {@link Position} plus the manifest type (always 1). */
export interface ManifestPosition extends Position {
  type: 1;
}

export interface PositionLimits {
  /** Blob size: the payload must lie inside `[8, blobSize)`. */
  blobSize?: number;
  /** Maximum `length` and `uncompressedLength` (LIMIT_EXCEEDED beyond). */
  maxLength?: number;
}

/** Validates an OCI sha256 digest string (`sha256:` + 64 lower-case hex), else BAD_ANNOTATION. */
export function parseDigest(value: string, key: string): string {
  if (typeof value !== "string" || !isDigest(value)) {
    throw new LayerkitError("BAD_ANNOTATION", `annotation ${key} is not a sha256 digest: ${JSON.stringify(value)}`, { key, value });
  }
  return value;
}

function parseFields(value: string, count: number, key: string): number[] {
  if (typeof value !== "string") throw new LayerkitError("BAD_ANNOTATION", `annotation ${key} is not a string`, { key, value });
  const parts = value.split(":");
  if (parts.length !== count || parts.some((p) => !/^\d{1,16}$/.test(p))) {
    throw new LayerkitError(
      "BAD_ANNOTATION",
      `annotation ${key} must be ${count} colon-separated decimal numbers: ${JSON.stringify(value)}`,
      {
        key,
        value,
      },
    );
  }
  const nums = parts.map(Number);
  if (nums.some((n) => !Number.isSafeInteger(n))) {
    throw new LayerkitError("OUT_OF_RANGE", `annotation ${key} has a number beyond 2^53: ${JSON.stringify(value)}`, { key, value });
  }
  return nums;
}

function checkPosition(p: Position, key: string, value: string, limits: PositionLimits): void {
  const max = limits.maxLength;
  if (max !== undefined && (p.length > max || p.uncompressedLength > max)) {
    throw new LayerkitError(
      "LIMIT_EXCEEDED",
      `annotation ${key} declares ${p.length} compressed / ${p.uncompressedLength} uncompressed bytes, limit ${max}`,
      {
        key,
        value,
        length: p.length,
        uncompressedLength: p.uncompressedLength,
        limit: max,
      },
    );
  }
  if (p.offset < SKIPPABLE_HEADER_SIZE || p.length === 0) {
    throw new LayerkitError("OUT_OF_RANGE", `annotation ${key} position ${value} cannot follow a skippable-frame header`, { key, value });
  }
  if (limits.blobSize !== undefined && p.offset + p.length > limits.blobSize) {
    throw new LayerkitError(
      "OUT_OF_RANGE",
      `annotation ${key} range ${p.offset}+${p.length} ends past the blob (${limits.blobSize} bytes)`,
      {
        key,
        value,
        blobSize: limits.blobSize,
      },
    );
  }
}

/** Parses `off:clen:ulen:type` (type must be 1). */
export function parseManifestPosition(value: string, limits: PositionLimits = {}, key = ANNOTATION_MANIFEST_POSITION): ManifestPosition {
  const [offset, length, uncompressedLength, type] = parseFields(value, 4, key) as [number, number, number, number];
  if (type !== 1) {
    throw new LayerkitError("BAD_ANNOTATION", `annotation ${key} has manifest type ${type}, expected 1`, { key, value, type });
  }
  const p: ManifestPosition = { offset, length, uncompressedLength, type: 1 };
  checkPosition(p, key, value, limits);
  return p;
}

/** Parses `off:clen:ulen`. */
export function parseTarSplitPosition(value: string, limits: PositionLimits = {}, key = ANNOTATION_TARSPLIT_POSITION): Position {
  const [offset, length, uncompressedLength] = parseFields(value, 3, key) as [number, number, number];
  const p: Position = { offset, length, uncompressedLength };
  checkPosition(p, key, value, limits);
  return p;
}

export function formatManifestPosition(p: Position): string {
  return `${num(p.offset)}:${num(p.length)}:${num(p.uncompressedLength)}:1`;
}

export function formatTarSplitPosition(p: Position): string {
  return `${num(p.offset)}:${num(p.length)}:${num(p.uncompressedLength)}`;
}

function num(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new LayerkitError("BAD_ARGUMENT", `position field ${n} is not a non-negative safe integer`, { value: n });
  }
  return String(n);
}

/** What the annotations of one layer say about its zstd:chunked metadata. */
export interface ZstdChunkedAnnotations {
  /** `current` = io.github.containers.*, `old` = io.containers.* (c/storage ≤ 1.43, stargz-snapshotter). */
  keys: "current" | "old";
  /** `manifest-checksum`: sha256 of the compressed TOC. */
  tocDigest: string;
  /** Absent only when the layer has a checksum but no position (the caller must probe the footer). */
  manifestPosition?: ManifestPosition;
  tarSplitPosition?: Position;
  /** Deprecated `tarsplit-checksum` (G2/G3); informational, never trusted. */
  tarSplitChecksum?: string;
  /**
   * `containerd.io/snapshot/stargz/toc.digest` next to the old keys (stargz-snapshotter's
   * zstdchunked converter): sha256 of the uncompressed TOC JSON.
   */
  estargzTocDigest?: string;
}

/**
 * Extracts the zstd:chunked annotations of a layer. Returns undefined when the layer has no
 * zstd:chunked TOC key. Errors:
 * - BAD_ANNOTATION: the eStargz TOC key next to the current zstd:chunked keys (ambiguous, as
 *   upstream ≥ 1.52; next to the old keys it is stargz-snapshotter's zstdchunked signature),
 *   current and old keys that disagree, a position without a checksum, malformed values;
 * - OUT_OF_RANGE / LIMIT_EXCEEDED from the position checks.
 */
export function readZstdChunkedAnnotations(
  annotations: Record<string, string> | undefined,
  limits: PositionLimits = {},
): ZstdChunkedAnnotations | undefined {
  if (!annotations) return undefined;
  const has = (k: string) => Object.prototype.hasOwnProperty.call(annotations, k);
  const current = has(ANNOTATION_MANIFEST_CHECKSUM) || has(ANNOTATION_MANIFEST_POSITION);
  const old = has(OLD_ANNOTATION_MANIFEST_CHECKSUM) || has(OLD_ANNOTATION_MANIFEST_POSITION);
  if (!current && !old) {
    if (has(ANNOTATION_TARSPLIT_POSITION) || has(ANNOTATION_TARSPLIT_CHECKSUM)) {
      throw new LayerkitError("BAD_ANNOTATION", "tar-split annotations without a zstd:chunked manifest annotation", {
        keys: Object.keys(annotations).filter((k) => k.includes("zstd-chunked")),
      });
    }
    return undefined;
  }
  // Current keys next to the eStargz key are ambiguous (upstream ≥ 1.52 rejects them). The old keys
  // next to it are what stargz-snapshotter's zstdchunked converter writes (nativeconverter/
  // zstdchunked): accepted, and the eStargz digest (of the uncompressed TOC) is checked as well.
  const estargzDigest = has(ANNOTATION_ESTARGZ_TOC_DIGEST);
  if (estargzDigest && current) {
    throw new LayerkitError("BAD_ANNOTATION", "layer has both an eStargz and a zstd:chunked TOC digest annotation", {
      keys: [ANNOTATION_ESTARGZ_TOC_DIGEST, ANNOTATION_MANIFEST_CHECKSUM],
    });
  }
  if (current && old) {
    for (
      const [a, b] of [
        [ANNOTATION_MANIFEST_CHECKSUM, OLD_ANNOTATION_MANIFEST_CHECKSUM],
        [ANNOTATION_MANIFEST_POSITION, OLD_ANNOTATION_MANIFEST_POSITION],
      ] as const
    ) {
      if (has(a) && has(b) && annotations[a] !== annotations[b]) {
        throw new LayerkitError("BAD_ANNOTATION", `annotations ${a} and ${b} disagree`, {
          keys: [a, b],
          values: [annotations[a], annotations[b]],
        });
      }
    }
  }
  const keys = current ? "current" : "old";
  const ck = current ? ANNOTATION_MANIFEST_CHECKSUM : OLD_ANNOTATION_MANIFEST_CHECKSUM;
  const pk = current ? ANNOTATION_MANIFEST_POSITION : OLD_ANNOTATION_MANIFEST_POSITION;
  const checksum = annotations[ck] ?? (current && old ? annotations[OLD_ANNOTATION_MANIFEST_CHECKSUM] : undefined);
  const position = annotations[pk] ?? (current && old ? annotations[OLD_ANNOTATION_MANIFEST_POSITION] : undefined);
  if (checksum === undefined) {
    throw new LayerkitError("BAD_ANNOTATION", `annotation ${pk} without ${ck}: the TOC cannot be authenticated`, { key: ck });
  }
  const out: ZstdChunkedAnnotations = { keys, tocDigest: parseDigest(checksum, ck) };
  if (estargzDigest) out.estargzTocDigest = parseDigest(annotations[ANNOTATION_ESTARGZ_TOC_DIGEST]!, ANNOTATION_ESTARGZ_TOC_DIGEST);
  if (position !== undefined) out.manifestPosition = parseManifestPosition(position, limits, pk);
  if (has(ANNOTATION_TARSPLIT_POSITION)) {
    // The tar-split size has no upstream limit; only the blob bounds apply.
    const ts = parseTarSplitPosition(
      annotations[ANNOTATION_TARSPLIT_POSITION]!,
      { blobSize: limits.blobSize },
      ANNOTATION_TARSPLIT_POSITION,
    );
    const toc = out.manifestPosition;
    if (
      toc &&
      rangesOverlap(
        toc.offset - SKIPPABLE_HEADER_SIZE,
        toc.length + SKIPPABLE_HEADER_SIZE,
        ts.offset - SKIPPABLE_HEADER_SIZE,
        ts.length + SKIPPABLE_HEADER_SIZE,
      )
    ) {
      throw new LayerkitError("OUT_OF_RANGE", "tar-split position overlaps the TOC", {
        key: ANNOTATION_TARSPLIT_POSITION,
        tarSplit: annotations[ANNOTATION_TARSPLIT_POSITION],
        toc: position,
      });
    }
    out.tarSplitPosition = ts;
  }
  if (has(ANNOTATION_TARSPLIT_CHECKSUM)) {
    out.tarSplitChecksum = parseDigest(annotations[ANNOTATION_TARSPLIT_CHECKSUM]!, ANNOTATION_TARSPLIT_CHECKSUM);
  }
  return out;
}

function rangesOverlap(a: number, al: number, b: number, bl: number): boolean {
  return a < b + bl && b < a + al;
}

/**
 * Which zstd:chunked annotation keys a writer puts on a descriptor: `current`
 * (`io.github.containers.zstd-chunked.*`, c/storage ≥ 1.44), `legacy` (`io.containers.zstd-chunked.*`
 * manifest checksum and position only, what c/storage ≤ 1.43 writes and reads: Debian 12's
 * podman 4.3 takes the partial-pull path only when it finds them) or `both` (the default: every
 * c/storage version finds the TOC; readers refuse a descriptor whose two sets disagree).
 */
export type ZstdChunkedAnnotationKeys = "current" | "legacy" | "both";

export const ZSTD_CHUNKED_ANNOTATION_KEYS: readonly ZstdChunkedAnnotationKeys[] = ["current", "legacy", "both"];

/** Checks a `ZstdChunkedAnnotationKeys` value (BAD_ARGUMENT otherwise); undefined means `both`. */
export function parseAnnotationKeys(value: unknown): ZstdChunkedAnnotationKeys {
  if (value === undefined) return "both";
  if (typeof value !== "string" || !(ZSTD_CHUNKED_ANNOTATION_KEYS as readonly string[]).includes(value)) {
    throw new LayerkitError(
      "BAD_ARGUMENT",
      `zstd:chunked annotation keys must be one of ${ZSTD_CHUNKED_ANNOTATION_KEYS.join(", ")}, not ${JSON.stringify(value)}`,
      { value },
    );
  }
  return value as ZstdChunkedAnnotationKeys;
}

/**
 * The annotations a writer puts on a zstd:chunked layer descriptor (never tarsplit-checksum).
 * `legacy` has no tar-split key: c/storage ≤ 1.43 has none, and the v3 footer locates it.
 */
export function formatZstdChunkedAnnotations(
  a: { tocDigest: string; manifestPosition: Position; tarSplitPosition?: Position },
  keys: ZstdChunkedAnnotationKeys = "both",
): Record<string, string> {
  const which = parseAnnotationKeys(keys);
  const checksum = parseDigest(a.tocDigest, ANNOTATION_MANIFEST_CHECKSUM);
  const position = formatManifestPosition(a.manifestPosition);
  const out: Record<string, string> = {};
  if (which !== "legacy") {
    out[ANNOTATION_MANIFEST_CHECKSUM] = checksum;
    out[ANNOTATION_MANIFEST_POSITION] = position;
    if (a.tarSplitPosition) out[ANNOTATION_TARSPLIT_POSITION] = formatTarSplitPosition(a.tarSplitPosition);
  }
  if (which !== "current") {
    out[OLD_ANNOTATION_MANIFEST_CHECKSUM] = checksum;
    out[OLD_ANNOTATION_MANIFEST_POSITION] = position;
  }
  return out;
}

const ALL_ZSTD_CHUNKED_KEYS = [
  ANNOTATION_MANIFEST_CHECKSUM,
  ANNOTATION_MANIFEST_POSITION,
  ANNOTATION_TARSPLIT_POSITION,
  OLD_ANNOTATION_MANIFEST_CHECKSUM,
  OLD_ANNOTATION_MANIFEST_POSITION,
];

/**
 * `annotations` with their zstd:chunked keys rewritten to the set `keys` names (other keys,
 * the deprecated tarsplit-checksum among them, kept). Descriptors without zstd:chunked keys, or with only a checksum (no position to copy),
 * and stargz-snapshotter's zstdchunked descriptors (old keys + the eStargz TOC digest, where the
 * current keys would make them ambiguous) come back unchanged. The values are checked first:
 * BAD_ANNOTATION when the two sets disagree.
 */
export function withZstdChunkedAnnotationKeys(
  annotations: Record<string, string> | undefined,
  keys: ZstdChunkedAnnotationKeys,
): Record<string, string> | undefined {
  const parsed = readZstdChunkedAnnotations(annotations);
  if (!annotations || !parsed || parsed.estargzTocDigest !== undefined || !parsed.manifestPosition) return annotations;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) if (!ALL_ZSTD_CHUNKED_KEYS.includes(k)) out[k] = v;
  return Object.assign(
    out,
    formatZstdChunkedAnnotations(
      {
        tocDigest: parsed.tocDigest,
        manifestPosition: parsed.manifestPosition,
        ...(parsed.tarSplitPosition ? { tarSplitPosition: parsed.tarSplitPosition } : {}),
      },
      keys,
    ),
  );
}
