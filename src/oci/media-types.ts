/**
 * Media types of OCI image-spec v1.1 and Docker image manifest v2 schema 2.
 *
 * @module
 */

/** OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image index (multi-platform). */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** OCI image config. */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** OCI empty descriptor / artifact config (`{}`). */
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
/** OCI uncompressed tar layer. */
export const OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
/** OCI gzip layer (also eStargz). */
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
/** OCI zstd layer (also zstd:chunked). */
export const OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
/** OCI non-distributable layers (deprecated, still accepted when reading). */
export const OCI_LAYER_NONDIST_TAR = "application/vnd.oci.image.layer.nondistributable.v1.tar";
export const OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
export const OCI_LAYER_NONDIST_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

/** Docker v2 schema 2 manifest. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Docker manifest list (multi-platform). */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** Docker image config. */
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
/** Docker gzip layer. */
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/** Docker uncompressed layer (rare, but valid for schema 2). */
export const DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar";
/** Docker foreign (non-distributable) gzip layer. */
export const DOCKER_LAYER_FOREIGN_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/** Docker schema 1 (signed and unsigned): recognised only to refuse it. */
export const DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json";
export const DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/** Media types of single-image manifests. */
export const MANIFEST_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST];
/** Media types of multi-platform indexes. */
export const INDEX_TYPES: readonly string[] = [OCI_INDEX, DOCKER_MANIFEST_LIST];

/** The `Accept` header value for manifest pulls: every type this library can read. */
export const MANIFEST_ACCEPT: string = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(", ");

/** Layer compression implied by a layer media type (`none`: an uncompressed tar). */
export type MediaTypeCompression = "none" | "gzip" | "zstd";

const LAYER_COMPRESSION: Record<string, MediaTypeCompression> = {
  [OCI_LAYER_TAR]: "none",
  [OCI_LAYER_GZIP]: "gzip",
  [OCI_LAYER_ZSTD]: "zstd",
  [OCI_LAYER_NONDIST_TAR]: "none",
  [OCI_LAYER_NONDIST_GZIP]: "gzip",
  [OCI_LAYER_NONDIST_ZSTD]: "zstd",
  [DOCKER_LAYER_GZIP]: "gzip",
  [DOCKER_LAYER_TAR]: "none",
  [DOCKER_LAYER_FOREIGN_GZIP]: "gzip",
};

/** The compression of a known layer media type, or undefined for anything else. */
export function layerCompression(mediaType: string): MediaTypeCompression | undefined {
  return LAYER_COMPRESSION[mediaType];
}

/** True for OCI and Docker image manifests. */
export function isManifestType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && MANIFEST_TYPES.includes(mediaType);
}

/** True for OCI indexes and Docker manifest lists. */
export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_TYPES.includes(mediaType);
}

/** A `Content-Type` value without parameters, lower-cased (`"a/b; charset=x"` → `"a/b"`). */
export function baseMediaType(contentType: string | null | undefined): string | undefined {
  if (!contentType) return undefined;
  const t = contentType.split(";")[0]!.trim().toLowerCase();
  return t === "" ? undefined : t;
}
