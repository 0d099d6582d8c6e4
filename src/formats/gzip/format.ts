/**
 * Plain gzip layers: the tar in gzip members, nothing seekable.
 *
 * @module
 */
import { OCI_LAYER_GZIP } from "../../oci/media-types.js";
import type { Format } from "../format.js";
import { createGzipLayer } from "./writer.js";

export const gzip: Format = {
  name: "gzip",
  compression: "gzip",
  mediaType: OCI_LAYER_GZIP,
  create: (core, input, { level }) => createGzipLayer(core, input, level === undefined ? {} : { level }),
};
