/**
 * The additional layer store (ALS) layout as containers/storage's overlay driver reads it
 * (drivers/overlay/overlay.go, `getAdditionalLayerPath`): a store configured as `STORE` looks
 * for `STORE/<key>/`, one configured as `STORE:ref` for `STORE/<base64(ref)>/<key>/`, where
 * base64 is the standard alphabet with padding (Go's `base64.StdEncoding`) of the image
 * reference as c/image prints it (`registry/repository:tag`), and the key is the layer's blob
 * digest in c/storage 1.43 (Debian 12) or its TOC digest in current c/storage. A layer directory
 * is used only when `diff`, `info` and `blob` all exist; `info` is decoded into c/storage's
 * `Layer` record (layers.go), so its names are that struct's JSON tags.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";

/** What names a layer directory: the blob digest (older c/storage, 1.43 among them) or the TOC digest (current). */
export type AlsKey = "layer-digest" | "toc-digest";
export const ALS_KEYS: readonly AlsKey[] = ["layer-digest", "toc-digest"];

/** c/storage's `archive.Compression` numbers (pkg/archive/archive.go). */
export const ALS_COMPRESSION = { none: 0, gzip: 2, zstd: 4 } as const;

/** The `info` record: the fields of c/storage's `Layer` that an ALS layer supplies. */
export interface AlsInfo {
  "compressed-diff-digest": string;
  "compressed-size": number;
  "diff-digest": string;
  "diff-size": number;
  compression: number;
  "toc-digest"?: string;
}

/** `info`'s bytes: fixed key order, no whitespace, newline-terminated (deterministic). */
export function alsInfoBytes(info: AlsInfo): Uint8Array {
  const ordered: AlsInfo = {
    "compressed-diff-digest": info["compressed-diff-digest"],
    "compressed-size": info["compressed-size"],
    "diff-digest": info["diff-digest"],
    "diff-size": info["diff-size"],
    compression: info.compression,
    ...(info["toc-digest"] !== undefined ? { "toc-digest": info["toc-digest"] } : {}),
  };
  return new TextEncoder().encode(JSON.stringify(ordered) + "\n");
}

/** Go's `base64.StdEncoding` of the reference's UTF-8 bytes (may contain `/`: it nests). */
export function alsRefElement(ref: string): string {
  let bin = "";
  for (const b of new TextEncoder().encode(ref)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * The layer directory's path relative to the store, `/`-separated: `[base64(ref)/]key`.
 * `key` must be a `sha256:` digest (it becomes a path element).
 */
export function alsLayerPath(key: string, ref?: string): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(key)) {
    throw new LayerkitError("BAD_ARGUMENT", `ALS key ${JSON.stringify(key)} is not a sha256 digest`, { key });
  }
  if (ref === undefined) return key;
  if (ref.length === 0) throw new LayerkitError("BAD_ARGUMENT", "the ALS image reference is empty", {});
  return `${alsRefElement(ref)}/${key}`;
}
