/**
 * SOURCE arguments: a file path, an http(s) URL, `REGISTRY/REPO@sha256:…` (a blob), or
 * `REGISTRY/REPO:TAG` / `REGISTRY/REPO@sha256:<manifest>` with `--layer N`. A layer picked from a
 * manifest brings its descriptor annotations, so its TOC is authenticated. Also `--annotations`.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { LayerkitError } from "../errors.js";
import type { Descriptor } from "../oci/types.js";
import { RegistryClient, parseReference, type ImageReference, type RegistryClientOptions } from "../registry/index.js";
import type { BlobSource } from "../source/blob-source.js";
import { HttpSource } from "../source/http.js";
import { FileSource } from "../source/node-file.js";
import { UsageError } from "./errors.js";
import { onSourceWarning } from "./source-warnings.js";

/** A resolved SOURCE: the blob, and what the manifest said about it when it came from one. */
export interface SourceArg {
  source: BlobSource;
  /** `--annotations`, else the manifest's layer annotations. */
  annotations?: Record<string, string>;
  /** The layer descriptor (registry sources). */
  descriptor?: Pick<Descriptor, "digest" | "size"> & Partial<Descriptor>;
  /** The layer's diffID from the image config (REPO:TAG --layer N). */
  diffID?: string;
}

/** Registry client options from the environment: `LAYERKIT_REGISTRY_USER` / `LAYERKIT_REGISTRY_PASSWORD`. */
export function registryOptions(): RegistryClientOptions {
  const username = process.env.LAYERKIT_REGISTRY_USER;
  const password = process.env.LAYERKIT_REGISTRY_PASSWORD;
  return username !== undefined && password !== undefined ? { credentials: { username, password } } : {};
}

/** A registry reference, when `arg` is one and not an existing file. */
export function asRegistryRef(arg: string): ImageReference | undefined {
  if (/^[a-z]+:\/\//i.test(arg) || existsSync(arg) || !arg.includes("/")) return undefined;
  if (!arg.includes("@") && !/:[\w][\w.-]*$/.test(arg.slice(arg.indexOf("/")))) return undefined;
  try {
    return parseReference(arg);
  } catch {
    return undefined;
  }
}

function parseLayerIndex(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== "string" || !Number.isSafeInteger(n) || n < 0) throw new UsageError("--layer takes a layer index (0 = the bottom layer)");
  return n;
}

async function openRegistrySource(ref: ImageReference, layer: number | undefined): Promise<SourceArg> {
  const client = new RegistryClient(ref.registry, registryOptions());
  if (layer === undefined) {
    if (ref.digest === undefined) throw new UsageError("a registry SOURCE is REPO@sha256:<blob digest>, or REPO:TAG with --layer N");
    const size = await client.hasBlob(ref.repository, ref.digest);
    if (size === undefined) throw new LayerkitError("NOT_FOUND", `${ref.registry}/${ref.repository} has no blob ${ref.digest}`, { digest: ref.digest });
    return { source: client.blobSource(ref.repository, { digest: ref.digest, size }, { onWarning: onSourceWarning }), descriptor: { digest: ref.digest, size } };
  }
  const image = await client.pullImage(ref.repository, ref.digest ?? ref.tag ?? "latest");
  const d = image.manifest.layers[layer];
  if (!d) throw new UsageError(`--layer ${layer}: the image has ${image.manifest.layers.length} layer(s)`);
  const diffID = image.config.rootfs.diff_ids[layer];
  return { source: client.blobSource(ref.repository, d, { onWarning: onSourceWarning }), descriptor: d, ...(d.annotations ? { annotations: d.annotations } : {}), ...(diffID ? { diffID } : {}) };
}

/** Opens SOURCE (see the module doc); `values` supplies `--layer` and `--annotations`. */
export async function openSource(arg: string, values: Record<string, unknown> = {}): Promise<SourceArg> {
  const layer = parseLayerIndex(values.layer);
  const given = await readAnnotationsArg(values.annotations);
  const ref = asRegistryRef(arg);
  if (layer !== undefined && !ref) throw new UsageError("--layer applies to a registry SOURCE (REGISTRY/REPO:TAG)");
  let out: SourceArg;
  if (ref) {
    out = await openRegistrySource(ref, layer);
  } else if (/^https?:\/\//i.test(arg)) {
    out = { source: new HttpSource(arg, { onWarning: onSourceWarning }) };
  } else {
    try {
      out = { source: await FileSource.open(arg) };
    } catch (e) {
      if (e instanceof LayerkitError) throw e;
      throw new LayerkitError("IO", `cannot open ${arg}: ${(e as Error).message}`, { path: arg }, { cause: e });
    }
  }
  return given ? { ...out, annotations: given } : out;
}

/** `--annotations` takes inline JSON (`{"k":"v"}`) or a path to a JSON file (a map, or a descriptor with `annotations`). */
export async function readAnnotationsArg(value: unknown): Promise<Record<string, string> | undefined> {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new UsageError("--annotations takes JSON or a file path");
  const text = value.trimStart().startsWith("{") ? value : await readFile(value, "utf8").catch((e: Error) => {
    throw new LayerkitError("IO", `cannot read annotations file ${value}: ${e.message}`, { path: value });
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError("--annotations is not valid JSON");
  }
  const map = (parsed as { annotations?: unknown }).annotations ?? parsed;
  if (typeof map !== "object" || map === null || Array.isArray(map) || !Object.values(map).every((v) => typeof v === "string")) {
    throw new UsageError("--annotations must be a JSON object of strings (or a descriptor with one)");
  }
  return map as Record<string, string>;
}

export const SOURCE_OPTIONS = {
  annotations: { type: "string" },
  layer: { type: "string" },
} as const;

export const SOURCE_HELP: Array<[string, string]> = [
  ["SOURCE", "a file, an http(s):// URL, REGISTRY/REPO@sha256:<blob>, or REGISTRY/REPO:TAG with --layer N"],
  ["--layer N", "with an image reference: the Nth layer (0 = bottom); its annotations authenticate the TOC"],
  ["--annotations JSON|FILE", "the layer descriptor's annotations (authenticate the TOC, locate it without probing)"],
];
