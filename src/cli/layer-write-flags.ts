/**
 * The flags that shape a written layer (`--level`, eStargz `--prioritize`/`--chunk-size`,
 * zstd:chunked `--annotation-keys`), parsed once into the writers' {@link FormatWriteOptions}
 * so every command that writes a layer passes all of them through.
 */
import type { FormatWriteOptions } from "../formats/format.js";
import type { LayerFormat } from "../layer/result.js";
import type { OptionSpec } from "./command.js";
import { ZSTD_CHUNKED_ANNOTATION_KEYS, type ZstdChunkedAnnotationKeys } from "../formats/zstd-chunked/annotations.js";
import { UsageError } from "./errors.js";

export function parseLevel(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < -7 || n > 22) throw new UsageError(`--level must be an integer (zstd -7..22, gzip 0..9, estargz 0..12)`);
  return n;
}

/** `--annotation-keys current|legacy|both` (zstd:chunked descriptors; default both). */
export const ANNOTATION_KEYS_HELP: [string, string] = [
  "--annotation-keys K",
  "zstd:chunked descriptor keys: current, legacy (c/storage <= 1.43) or both (default)",
];

export function parseAnnotationKeysArg(value: unknown): ZstdChunkedAnnotationKeys | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !(ZSTD_CHUNKED_ANNOTATION_KEYS as readonly string[]).includes(value)) {
    throw new UsageError(`--annotation-keys must be one of ${ZSTD_CHUNKED_ANNOTATION_KEYS.join(", ")}`);
  }
  return value as ZstdChunkedAnnotationKeys;
}

export const LAYER_WRITE_OPTIONS = {
  level: { type: "string" },
  prioritize: { type: "string", multiple: true },
  "chunk-size": { type: "string" },
  "annotation-keys": { type: "string" },
} as const satisfies OptionSpec;

export const LAYER_WRITE_HELP: Array<[string, string]> = [
  ["--level N", "compression level (default: zstd 3, gzip 6, estargz 6 with libdeflate, 0–12)"],
  ["--prioritize FILE", "eStargz: put FILE first and mark it for prefetch (repeatable)"],
  ["--chunk-size N", "eStargz: uncompressed chunk size in bytes (default 4 MiB)"],
  ANNOTATION_KEYS_HELP,
];

/** The writer options `values` ask for; eStargz-only flags with another format are a usage error. */
export function layerWriteOptions(values: Record<string, unknown>, format: LayerFormat): FormatWriteOptions {
  const out: FormatWriteOptions = {};
  const level = parseLevel(values.level);
  if (level !== undefined) out.level = level;
  const prioritized = values.prioritize as string[] | undefined;
  if (prioritized && prioritized.length > 0) {
    if (format !== "estargz") throw new UsageError("--prioritize applies to --format estargz only");
    out.prioritizedFiles = prioritized;
  }
  const chunk = values["chunk-size"];
  if (chunk !== undefined) {
    const n = Number(chunk);
    if (typeof chunk !== "string" || !Number.isSafeInteger(n) || n < 1) throw new UsageError("--chunk-size takes a positive integer");
    if (format !== "estargz") throw new UsageError("--chunk-size applies to --format estargz only");
    out.chunkSize = n;
  }
  const keys = parseAnnotationKeysArg(values["annotation-keys"]);
  if (keys !== undefined) out.annotationKeys = keys;
  return out;
}
