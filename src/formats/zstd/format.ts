/**
 * Plain zstd layers: the tar in zstd frames, nothing seekable.
 *
 * @module
 */
import { OCI_LAYER_ZSTD } from "../../oci/media-types.js";
import type { Format } from "../format.js";
import { createZstdLayer } from "./writer.js";

export const zstd: Format = {
  name: "zstd",
  compression: "zstd",
  mediaType: OCI_LAYER_ZSTD,
  create: (core, input, { level }) => createZstdLayer(core, input, level === undefined ? {} : { level }),
};
