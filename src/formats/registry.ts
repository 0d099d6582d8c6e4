/**
 * The formats layerkit knows, in detection order, and look-ups by name. Adding a format is one
 * folder with its `format.ts` and one line here.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import type { LayerFormat } from "../layer/result.js";
import { estargz } from "./estargz/format.js";
import { estargzZstdSeekable } from "./estargz-zstd/format.js";
import type { Format, LayerCompression, SeekableFormat, SeekableFormatName } from "./format.js";
import { gzip } from "./gzip/format.js";
import { zstd } from "./zstd/format.js";
import { zstdChunked } from "./zstd-chunked/format.js";

/** Every layer format. */
export const FORMATS: readonly Format[] = [zstdChunked, estargz, zstd, gzip];

/**
 * Every seekable layout, in the order detection asks them: the stargz zstd variant (recognised by
 * its annotations only) before zstd:chunked, whose footer it shares.
 */
export const SEEKABLE_FORMATS: readonly SeekableFormat[] = [
  estargzZstdSeekable,
  ...FORMATS.flatMap((f) => (f.seekable ? [f.seekable] : [])),
];

/** The names {@link formatOf} accepts. */
export const FORMAT_NAMES: readonly LayerFormat[] = FORMATS.map((f) => f.name);

/** The format named `name`; UNSUPPORTED_FORMAT (naming the known ones) otherwise. */
export function formatOf(name: unknown, what = "layer"): Format {
  const f = FORMATS.find((x) => x.name === name);
  if (!f) {
    throw new LayerkitError("UNSUPPORTED_FORMAT", `${what} format ${JSON.stringify(name)} is not one of ${FORMAT_NAMES.join(", ")}`, {
      format: name,
    });
  }
  return f;
}

/** The seekable layout named `name`. */
export function seekableFormatOf(name: SeekableFormatName): SeekableFormat {
  return SEEKABLE_FORMATS.find((x) => x.name === name)!;
}

/** The plain (non-seekable) format of a compression: what a blob is when no seekable format claims it. */
export function plainFormatOf(compression: LayerCompression): Format {
  return FORMATS.find((f) => f.compression === compression && !f.seekable)!;
}

/** The blob compression of format `name`. */
export function compressionOf(name: LayerFormat): LayerCompression {
  return formatOf(name).compression;
}
