/**
 * SOURCE arguments (see ./image-ref.ts for the spellings): a layer file, `-` (stdin), an http(s)
 * URL, or an image (registry or OCI layout) with `--layer N|DIGEST`; `@digest` names a manifest
 * or index, and a layer blob in a registry is named with `--blob`. A layer picked from an image
 * brings its descriptor annotations (so its TOC is authenticated) and its diffID.
 */
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { isLayerkitError, LayerkitError } from "../errors.js";
import { blobPath } from "../oci/layout.js";
import { openLayout } from "../oci/layout-node.js";
import type { Descriptor, ImageConfig, ImageManifest } from "../oci/types.js";
import { formatReference, type ImageReference, RegistryClient } from "../registry/index.js";
import type { BlobSource } from "../source/blob-source.js";
import { HttpSource } from "../source/http.js";
import { FileSource } from "../source/node-file.js";
import { trackTempPath, untrackTempPath } from "./atomic-file.js";
import { UsageError } from "./errors.js";
import { parseImageArg } from "./image-ref.js";
import { onSourceWarning } from "./source-warnings.js";
import { REGISTRY_HELP, REGISTRY_OPTIONS, registryOptions } from "./registry-options.js";

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

function parseLayerArg(value: unknown): number | string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" && /^sha256:[0-9a-f]{64}$/.test(value)) return value;
  const n = Number(value);
  if (typeof value !== "string" || value === "" || !Number.isSafeInteger(n) || n < 0) {
    throw new UsageError("--layer takes a layer index (0 = the bottom layer) or a layer digest sha256:…");
  }
  return n;
}

interface ImageLayers {
  manifest: ImageManifest;
  config: ImageConfig;
  /** The layer's bytes. */
  open(d: Descriptor): Promise<BlobSource>;
}

/** Picks `--layer N|DIGEST` from an image; without it, says how to pick one. */
async function pickLayer(image: ImageLayers, layer: number | string | undefined, name: string): Promise<SourceArg> {
  const layers = image.manifest.layers;
  if (layer === undefined) {
    throw new UsageError(
      `${name} is an image with ${layers.length} layer(s): pick one with --layer N (0 = bottom) or --layer sha256:…, or name a layer blob with --blob REPO@sha256:…`,
    );
  }
  const i = typeof layer === "number" ? layer : layers.findIndex((d) => d.digest === layer);
  const d = layers[i];
  if (!d) {
    if (typeof layer === "string") throw new LayerkitError("NOT_FOUND", `${name} has no layer ${layer}`, { digest: layer });
    throw new UsageError(`--layer ${layer}: ${name} has ${layers.length} layer(s)`);
  }
  const diffID = image.config.rootfs.diff_ids[i];
  return {
    source: await image.open(d),
    descriptor: d,
    ...(d.annotations ? { annotations: d.annotations } : {}),
    ...(diffID ? { diffID } : {}),
  };
}

async function openRegistrySource(
  ref: ImageReference & { reference: string },
  values: Record<string, unknown>,
  layer: number | string | undefined,
): Promise<SourceArg> {
  const client = new RegistryClient(ref.registry, registryOptions(values, ref.registry, ref.repository));
  const name = formatReference(ref);
  if (values.blob === true) {
    if (layer !== undefined) throw new UsageError("--blob names the layer itself: leave out --layer");
    if (ref.digest === undefined) throw new UsageError("--blob needs REPO@sha256:<blob digest>");
    const size = await client.hasBlob(ref.repository, ref.digest);
    if (size === undefined) {
      throw new LayerkitError("NOT_FOUND", `${ref.registry}/${ref.repository} has no blob ${ref.digest}`, { digest: ref.digest });
    }
    return {
      source: client.blobSource(ref.repository, { digest: ref.digest, size }, { onWarning: onSourceWarning }),
      descriptor: { digest: ref.digest, size },
    };
  }
  let image;
  try {
    image = await client.pullImage(ref.repository, ref.reference);
  } catch (e) {
    if ((isLayerkitError(e, "NOT_FOUND") || isLayerkitError(e, "HTTP") || isLayerkitError(e, "BAD_MANIFEST")) && ref.digest !== undefined) {
      throw new LayerkitError(e.code, `${e.message} (@digest names a manifest or index; for a layer blob add --blob)`, e.details, {
        cause: e,
      });
    }
    throw e;
  }
  return pickLayer({ ...image, open: async (d) => client.blobSource(ref.repository, d, { onWarning: onSourceWarning }) }, layer, name);
}

async function openLayoutSource(dir: string, tag: string | undefined, layer: number | string | undefined): Promise<SourceArg> {
  const layout = await openLayout(dir);
  const image = await layout.readImage(tag);
  return pickLayer({ ...image, open: (d) => openFile(join(dir, blobPath(d.digest))) }, layer, `oci:${dir}${tag ? `:${tag}` : ""}`);
}

async function openFile(path: string): Promise<BlobSource> {
  try {
    return await FileSource.open(path);
  } catch (e) {
    if (e instanceof LayerkitError) throw e;
    const code = (e as { code?: string }).code;
    throw new LayerkitError(
      code === "ENOENT" ? "NOT_FOUND" : "IO",
      `cannot open ${path}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`,
      { path },
      { cause: e },
    );
  }
}

/**
 * Stdin as a random-access source: spooled to a temporary file (bounded memory; the readers
 * need the footer first), removed when the source is closed or the process is interrupted.
 */
async function openStdin(): Promise<BlobSource> {
  const dir = await mkdtemp(join(tmpdir(), "layerkit-stdin-"));
  trackTempPath(dir);
  const path = join(dir, "blob");
  try {
    await pipeline(process.stdin, createWriteStream(path));
    const file = await FileSource.open(path);
    const close = file.close.bind(file);
    file.close = async () => {
      await close();
      await rm(dir, { recursive: true, force: true });
      untrackTempPath(dir);
    };
    return file;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    untrackTempPath(dir);
    throw new LayerkitError("IO", `cannot read stdin: ${(e as Error).message}`, {}, { cause: e });
  }
}

/** Opens SOURCE (see the module doc); `values` supplies `--layer`, `--blob`, `--annotations` and the registry flags. */
export async function openSource(arg: string, values: Record<string, unknown> = {}): Promise<SourceArg> {
  const layer = parseLayerArg(values.layer);
  const given = await readAnnotationsArg(values.annotations);
  const parsed = parseImageArg(arg);
  if (values.blob === true && parsed.kind !== "registry") {
    throw new UsageError("--blob applies to a registry SOURCE (REGISTRY/REPO@sha256:<blob>)");
  }
  if (layer !== undefined && parsed.kind !== "registry" && parsed.kind !== "layout") {
    throw new UsageError("--layer applies to an image SOURCE (REGISTRY/REPO[:TAG|@DIGEST], oci:DIR[:TAG])");
  }
  let out: SourceArg;
  switch (parsed.kind) {
    case "registry":
      out = await openRegistrySource(parsed.ref, values, layer);
      break;
    case "layout":
      out = await openLayoutSource(parsed.dir, parsed.tag, layer);
      break;
    case "url":
      out = { source: new HttpSource(parsed.url, { onWarning: onSourceWarning }) };
      break;
    case "stdin":
      out = { source: await openStdin() };
      break;
    case "file":
      out = { source: await openFile(parsed.path) };
      break;
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
  blob: { type: "boolean" },
  ...REGISTRY_OPTIONS,
} as const;

export const SOURCE_HELP: Array<[string, string]> = [
  [
    "SOURCE",
    "a layer file, - (stdin), an http(s):// URL, or an image: [docker://]HOST/REPO[:TAG|@DIGEST] (default tag latest), oci:DIR[:TAG] or a layout DIR, with --layer",
  ],
  [
    "--layer N|DIGEST",
    "the image's layer: index (0 = bottom) or digest; its annotations authenticate the TOC, the config gives its diffID",
  ],
  ["--blob", "SOURCE is HOST/REPO@sha256:<layer blob digest>, not a manifest"],
  ["--annotations JSON|FILE", "the layer descriptor's annotations (authenticate the TOC, locate it without probing)"],
  ...REGISTRY_HELP,
];
