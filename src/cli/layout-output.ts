/**
 * `-o LAYOUT` for commands that write an OCI image layout: a new layout is built under a
 * temporary name and renamed into place when complete (removed on failure or Ctrl-C); an
 * existing one only gets whole blobs and, last, an atomically replaced index.json.
 */
import { existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { OciLayout } from "../oci/layout.js";
import { openLayout } from "../oci/layout-node.js";
import { outputError, trackTempPath, untrackTempPath } from "./atomic-file.js";

export async function withLayoutOutput<T>(out: string, fn: (layout: OciLayout) => Promise<T>): Promise<T> {
  const fresh = !existsSync(out);
  if (fresh && !existsSync(dirname(out) || ".")) throw outputError(out, Object.assign(new Error("ENOENT"), { code: "ENOENT" }));
  const dir = fresh ? join(dirname(out), `.${basename(out)}.${process.pid}.tmp`) : out;
  if (fresh) trackTempPath(dir);
  try {
    const result = await fn(await openLayout(dir, { create: true }));
    if (fresh) await rename(dir, out);
    untrackTempPath(dir);
    return result;
  } catch (e) {
    if (fresh) {
      await rm(dir, { recursive: true, force: true });
      untrackTempPath(dir);
    }
    throw e;
  }
}
