/**
 * Shared by the web page, the edge worker and the Deno script (runtime-neutral: Web APIs only).
 *
 * The checks the examples run on a whole layer: {@link verifyLayer} streams the blob once
 * (blob size and digest, decompression, diffID, and for seekable formats the TOC digest, TOC
 * against tar, every file and chunk digest, chunk layout, tar-split), then the TOC is opened
 * for browsing and lazy reads. Each check of the report becomes one line with its failures.
 *
 * @module
 */
// In an application: `from "layerkit"` (this repository's runtime-neutral surface, src/index.ts).
import {
  type BlobSource,
  type Core,
  isLayerkitError,
  type VerifyCheck,
  type VerifyFailure,
  verifyLayer,
  type VerifyReport,
} from "../../src/index.js";
import { type LayerView, openLayer } from "./layer.js";

export type CheckState = "pass" | "fail" | "info";

export interface Check {
  /** verifyLayer's check name (`blob-digest`, `toc`, `file-digests`, …). */
  name: string;
  state: CheckState;
  detail: string;
}

export interface CheckOptions {
  /** Expected `sha256:` of the blob (the descriptor's digest). Without it digest and size are only shown. */
  digest?: string;
  /** Expected blob size (the descriptor's size; default: the source's size). */
  size?: number;
  /** Expected `sha256:` of the uncompressed tar (the image config's diff_id). */
  diffID?: string;
  /** The descriptor's annotations (authenticate the TOC). */
  annotations?: Record<string, string>;
  /** Called as checks finish. */
  onCheck?(check: Check): void;
  /** Called with bytes done / total as the blob is read. */
  onProgress?(phase: string, done: number, total: number): void;
}

/**
 * Stands in for the descriptor digest when none was given (verifyLayer requires one); its certain
 * mismatch is shown as the computed digest, not as a failure.
 */
const UNKNOWN_DIGEST = `sha256:${"0".repeat(64)}`;
/** Failures listed per check line. */
const SHOWN = 5;

/**
 * Verify the layer, then open its TOC; resolves with one {@link Check} per verifyLayer check and
 * the layer view (absent when the TOC could not be read). Throws only when the source itself
 * cannot be read at all (e.g. HTTP 404), with the source's LayerkitError.
 */
export async function checkLayer(
  core: Core,
  source: BlobSource,
  options: CheckOptions = {},
): Promise<{ checks: Check[]; view?: LayerView; report: VerifyReport }> {
  const size = options.size ?? (await source.size());
  const report = await verifyLayer(
    source,
    { digest: options.digest ?? UNKNOWN_DIGEST, size, ...(options.annotations ? { annotations: options.annotations } : {}) },
    {
      core,
      ...(options.diffID ? { diffID: options.diffID } : {}),
      onProgress: (done, total) => options.onProgress?.("verifying", done, total),
    },
  );
  const checks: Check[] = [];
  for (const c of [...report.checks].sort((a, b) => rank(a.name) - rank(b.name))) {
    const check = toCheck(c, report, { digest: options.digest !== undefined, size: options.size !== undefined });
    checks.push(check);
    options.onCheck?.(check);
  }
  let view: LayerView | undefined;
  try {
    view = await openLayer(source, options.annotations);
  } catch {
    // verifyLayer's toc check already says why
  }
  return view ? { checks, view, report } : { checks, report };
}

/** Display order: the descriptor, the stream, then the TOC against what the stream holds. */
const ORDER = [
  "blob-size",
  "blob-digest",
  "decompress",
  "diff-id",
  "toc",
  "toc-vs-tar",
  "file-digests",
  "chunk-digests",
  "chunk-layout",
  "toc-vs-tar-split",
  "tar-split-vs-tar",
];

function rank(name: string): number {
  const i = ORDER.indexOf(name);
  return i < 0 ? ORDER.length : i;
}

function toCheck(c: VerifyCheck, report: VerifyReport, given: { digest: boolean; size: boolean }): Check {
  const failures = [...new Set(report.failures.filter((f) => f.check === c.name).map(describeFailure))];
  if (!given.size && c.name === "blob-size") {
    return { name: c.name, state: "info", detail: `${report.size} bytes (no expected size given)` };
  }
  if (!given.digest && c.name === "blob-digest" && report.failures.every((f) => f.check !== c.name || f.code === "DIGEST_MISMATCH")) {
    return { name: c.name, state: "info", detail: `${report.digest} (no expected digest given)` };
  }
  if (failures.length > 0 || c.status === "failed") {
    const more = failures.length > SHOWN ? `; and ${failures.length - SHOWN} more` : "";
    return { name: c.name, state: "fail", detail: (failures.slice(0, SHOWN).join("; ") || "failed") + more };
  }
  if (c.status === "skipped") return { name: c.name, state: "info", detail: `skipped: ${c.note ?? ""}` };
  return { name: c.name, state: "pass", detail: passDetail(c, report) };
}

/** What a passing check covered, from the report's numbers. */
function passDetail(c: VerifyCheck, r: VerifyReport): string {
  switch (c.name) {
    case "blob-size":
      return `${r.size} bytes, as expected`;
    case "blob-digest":
      return `${r.digest} matches`;
    case "diff-id":
    case "decompress":
      return `${r.diffID ?? ""} (${r.uncompressedSize ?? 0} bytes of tar, ${r.entries} entries)`;
    case "toc":
      return `${r.format}, TOC digest ${r.tocDigest ?? "?"}${
        r.tocAuthenticated ? " (authenticated by the annotations)" : " (not authenticated: no annotations given)"
      }`;
    default:
      return c.note ?? "ok";
  }
}

function describeFailure(f: VerifyFailure): string {
  return `${f.path ? `${f.path}: ` : ""}${f.code}: ${f.message}`;
}

/** `CODE: message` for layerkit errors, the message otherwise. */
export function describe(e: unknown): string {
  if (isLayerkitError(e)) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
