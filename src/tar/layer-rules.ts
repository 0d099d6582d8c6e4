/**
 * What a layer's tar may hold, in one place.
 *
 * - **Plain layers** (zstd, gzip) carry any tar Go's `archive/tar` reads, as containers/image and
 *   containers/storage extract them: global PAX headers (`git archive` writes one), GNU `D`
 *   entries, contiguous files and other typeflags, GNU long names/links, sparse files.
 * - **Seekable layers** (zstd:chunked, eStargz) hold only what upstream's writers accept:
 *   typeflags `0`–`6` (containers/storage 1.43 `internal.GetType`: "unknown tarball type";
 *   estargz 0.12 `Writer.appendTar`: "unsupported input tar entry"), no sparse entries (both
 *   copy the logical content of a sparse file under its sparse headers, which is not a tar any
 *   reader agrees on), and for eStargz names that are valid UTF-8 (its TOC is JSON: other bytes
 *   become U+FFFD and the TOC no longer names the tar's entry).
 * - **Every layer** written by `createLayer`: names without `..` components, NUL bytes or a
 *   leading `/`, and hardlink targets that stay inside the root. A symlink may point anywhere
 *   (images have such links; extraction must not follow them); a relative target that climbs
 *   above the root is reported by verify as a warning (an absolute one resolves inside the root).
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { hasInvalidUtf8 } from "../go/strings.js";
import type { NextOptions } from "./header.js";
import type { TarHeader } from "./types.js";

/** The two kinds of layer tar. */
export type LayerTarKind = "plain" | "zstd:chunked" | "estargz";

/** Reader options for the tar of a plain layer: what Go's reader accepts. */
export const PLAIN_TAR_READ: Readonly<NextOptions> = Object.freeze({ strictTypes: false, allowSparse: true });

/** Reader options for the tar of a seekable layer (types `0`–`6`, no global headers, no sparse files). */
export const SEEKABLE_TAR_READ: Readonly<NextOptions> = Object.freeze({ strictTypes: true, allowSparse: false });

/** The reader options of a layer kind. */
export function tarReadOptions(kind: LayerTarKind): Readonly<NextOptions> {
  return kind === "plain" ? PLAIN_TAR_READ : SEEKABLE_TAR_READ;
}

/** Throws TAR_UNSUPPORTED for an entry a seekable format cannot carry beyond what its reader options refuse. */
export function checkSeekableEntry(kind: LayerTarKind, header: TarHeader): void {
  if (kind === "plain") return;
  if (hasInvalidUtf8(header.name) || hasInvalidUtf8(header.linkname)) {
    const field = hasInvalidUtf8(header.name) ? "name" : "link target";
    throw new LayerkitError(
      "TAR_UNSUPPORTED",
      `tar entry ${field} ${
        JSON.stringify(field === "name" ? header.name : header.linkname)
      } is not valid UTF-8, which a ${kind} TOC (JSON) cannot represent; use --format zstd or gzip`,
      { name: header.name, format: kind },
    );
  }
}

/** How unsafe a name is: a failure (`error`) or something verify only reports (`warning`). */
export interface PathProblem {
  severity: "error" | "warning";
  field: "name" | "linkname";
  reason: string;
}

/** True when `p`, cleaned, climbs above the directory it is resolved against. */
function escapes(p: string): boolean {
  let depth = 0;
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (--depth < 0) return true;
    } else depth++;
  }
  return false;
}

/**
 * The path-safety rules of a layer entry: `..` components, absolute names, NUL bytes and hardlink
 * targets that leave the root are errors; a symlink whose target leaves the root (absolute, or
 * climbing above it from the link's directory) is a warning.
 */
export function pathProblems(header: TarHeader): PathProblem[] {
  const out: PathProblem[] = [];
  const name = header.name;
  if (name.includes("\0")) out.push({ severity: "error", field: "name", reason: "contains a NUL byte" });
  else if (name.startsWith("/")) out.push({ severity: "error", field: "name", reason: "is absolute" });
  else if (name.split("/").includes("..")) out.push({ severity: "error", field: "name", reason: 'has a ".." component' });
  const link = header.linkname;
  if (header.typeflag === "1") {
    if (link.includes("\0")) out.push({ severity: "error", field: "linkname", reason: "hardlink target contains a NUL byte" });
    else if (link.startsWith("/") || escapes(link)) {
      out.push({ severity: "error", field: "linkname", reason: "hardlink target leaves the root" });
    }
  } else if (header.typeflag === "2") {
    const dir = name.split("/").slice(0, -1).join("/");
    if (link.includes("\0")) out.push({ severity: "error", field: "linkname", reason: "symlink target contains a NUL byte" });
    // An absolute target resolves inside the container's root; a relative one may climb out of it.
    else if (!link.startsWith("/") && escapes(dir === "" ? link : `${dir}/${link}`)) {
      out.push({ severity: "warning", field: "linkname", reason: "symlink target leaves the root" });
    }
  }
  return out;
}

/** Describes a problem of `header` as one line. */
export function describePathProblem(header: TarHeader, p: PathProblem): string {
  return p.field === "name"
    ? `tar entry name ${JSON.stringify(header.name)} ${p.reason}`
    : `${JSON.stringify(header.name)}: ${p.reason} (${JSON.stringify(header.linkname)})`;
}

/** Throws UNSAFE_PATH for the first error-level path problem of `header`. */
export function checkSafePaths(header: TarHeader, offset?: number): void {
  for (const p of pathProblems(header)) {
    if (p.severity !== "error") continue;
    throw new LayerkitError(
      "UNSAFE_PATH",
      `${describePathProblem(header, p)}; pass allowUnsafePaths (--allow-unsafe-paths) to write it anyway`,
      {
        name: header.name,
        linkname: header.linkname || undefined,
        field: p.field,
        offset,
      },
    );
  }
}
