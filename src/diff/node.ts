/**
 * The Node side of tree diffs: a {@link DirectoryFs} rooted at a directory that also reports
 * xattrs (read for the whole tree once, on first use, by ./node-xattrs.ts).
 *
 * @module
 */
import { realpath } from "node:fs/promises";
import { LayerkitError } from "../errors.js";
import type { DirectoryFs } from "../tar/from-directory.js";
import { nodeDirectoryFs } from "../tar/from-directory-node.js";
import { readTreeXattrs } from "./node-xattrs.js";

export interface NodeDiffFsOptions {
  /** Read xattrs (default true; needs `getfattr`). */
  xattrs?: boolean;
}

/**
 * A tree for {@link treeDiff}/{@link diffLayer} at `root`. The root itself is resolved once (a
 * symlink to a directory is fine); nothing below it is ever followed.
 */
export async function nodeDiffFs(root: string, options: NodeDiffFsOptions = {}): Promise<DirectoryFs> {
  let dir: string;
  try {
    dir = await realpath(root);
  } catch (e) {
    throw new LayerkitError("NOT_FOUND", `${root}: ${(e as Error).message}`, { path: root }, { cause: e });
  }
  const fs = nodeDirectoryFs(dir);
  if (options.xattrs === false) return fs;
  let all: Promise<Map<string, Map<string, Uint8Array>>> | undefined;
  return {
    ...fs,
    async xattrs(path) {
      all ??= readTreeXattrs(dir);
      return (await all).get(path);
    },
  };
}
