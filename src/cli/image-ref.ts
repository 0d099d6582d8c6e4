/**
 * What a SOURCE or image argument names, in the spellings skopeo and crane users type:
 * `-` or `/dev/stdin`; `http(s)://…` (a blob by URL); `docker://HOST/REPO[:TAG|@DIGEST]`;
 * `oci:DIR[:TAG]` or a directory holding an OCI layout; an existing file; else a plain
 * `HOST/REPO[:TAG|@DIGEST]` (the first component must look like a host: it has a `.` or `:`
 * or is `localhost`). A registry reference without tag or digest means `latest`.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { type ImageReference, parseReference } from "../registry/reference.js";
import { UsageError } from "./errors.js";

export type ImageArg =
  | { kind: "stdin" }
  | { kind: "url"; url: string }
  | { kind: "registry"; ref: ImageReference & { reference: string } }
  | { kind: "layout"; dir: string; tag?: string }
  | { kind: "file"; path: string };

export const isStdin = (arg: string): boolean => arg === "-" || arg === "/dev/stdin";

function isLayoutDir(path: string): boolean {
  try {
    return statSync(path).isDirectory() && existsSync(join(path, "oci-layout"));
  } catch {
    return false;
  }
}

/** Parses a registry reference; `latest` when it names neither tag nor digest. Usage error when invalid. */
export function registryRef(text: string): ImageReference & { reference: string } {
  let ref: ImageReference;
  try {
    ref = parseReference(text);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const tag = ref.tag ?? (ref.digest === undefined ? "latest" : undefined);
  return { ...ref, ...(tag !== undefined ? { tag } : {}), reference: ref.digest ?? tag! };
}

/** `oci:DIR[:TAG]` (the first `:` after `oci:` starts the tag, as in containers/image). */
function layoutArg(rest: string): ImageArg {
  const colon = rest.indexOf(":");
  const dir = colon < 0 ? rest : rest.slice(0, colon);
  const tag = colon < 0 ? "" : rest.slice(colon + 1);
  if (dir === "") throw new UsageError("oci: needs a directory (oci:DIR[:TAG])");
  return tag === "" ? { kind: "layout", dir } : { kind: "layout", dir, tag };
}

const HOST_FIRST = /^(?:[^/]*[.:][^/]*|localhost)\//;

export function parseImageArg(arg: string): ImageArg {
  if (isStdin(arg)) return { kind: "stdin" };
  if (/^https?:\/\//i.test(arg)) return { kind: "url", url: arg };
  if (arg.startsWith("docker://")) return { kind: "registry", ref: registryRef(arg.slice("docker://".length)) };
  if (arg.startsWith("oci:")) return layoutArg(arg.slice(4));
  if (isLayoutDir(arg)) return { kind: "layout", dir: arg };
  if (existsSync(arg)) return { kind: "file", path: arg };
  if (HOST_FIRST.test(arg) && !arg.startsWith("./") && !arg.startsWith("../")) {
    try {
      return { kind: "registry", ref: registryRef(arg) };
    } catch {
      /* not a reference: a missing file */
    }
  }
  return { kind: "file", path: arg };
}

/** An image reference argument for pull/push: `docker://…` or a plain `HOST/REPO[:TAG|@DIGEST]`. */
export function parseRegistryArg(arg: string): ImageReference & { reference: string } {
  return registryRef(arg.startsWith("docker://") ? arg.slice("docker://".length) : arg);
}
