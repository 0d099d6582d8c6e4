/**
 * Entry names as extraction uses them: a list of path components under the root. Absolute
 * names and names with `..` components are refused (UNSAFE_PATH) rather than cleaned, so a
 * layer can never name a place outside the root, whatever symlinks the tree holds (those are
 * resolved inside the root by the file-system adapter).
 *
 * @module
 */
import { LayerkitError } from "../errors.js";

/** The whiteout prefix and the opaque-directory marker (OCI image spec, layer.md). */
export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";

/** `name` as components (`.` and empty components dropped); `[]` is the root itself. */
export function entryPath(name: string): string[] {
  if (typeof name !== "string" || name.includes("\0")) {
    throw new LayerkitError("UNSAFE_PATH", `entry name ${JSON.stringify(name)} has a NUL byte`, { name });
  }
  if (name.startsWith("/")) throw new LayerkitError("UNSAFE_PATH", `entry name ${JSON.stringify(name)} is absolute`, { name });
  const parts = name.split("/").filter((c) => c !== "" && c !== ".");
  if (parts.includes("..")) throw new LayerkitError("UNSAFE_PATH", `entry name ${JSON.stringify(name)} has a ".." component`, { name });
  return parts;
}

/** What a whiteout entry at `path` means, or undefined for an ordinary entry. */
export function whiteoutOf(
  path: readonly string[],
): { kind: "opaque"; dir: string[] } | { kind: "remove"; path: string[] } | { kind: "meta" } | undefined {
  const base = path[path.length - 1];
  if (base === undefined || !base.startsWith(WHITEOUT_PREFIX)) return undefined;
  const dir = path.slice(0, -1);
  if (base === OPAQUE_MARKER) return { kind: "opaque", dir };
  // Other `.wh..wh.` names are AUFS metadata (hard-link directories): never extracted.
  if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return { kind: "meta" };
  const target = base.slice(WHITEOUT_PREFIX.length);
  if (target === "" || target === "." || target === "..") {
    throw new LayerkitError("UNSAFE_PATH", `whiteout ${JSON.stringify(path.join("/"))} names no entry`, { name: path.join("/") });
  }
  return { kind: "remove", path: [...dir, target] };
}

export const pathKey = (p: readonly string[]): string => p.join("/");
