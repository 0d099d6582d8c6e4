/**
 * Every failure layerkit reports is a {@link LayerkitError} with a stable `code`, so callers
 * (and the CLI's `--json` mode) can branch on the kind of failure without parsing messages.
 *
 * @module
 */

/** Stable error codes. Grouped by the layer of the stack that raises them. */
export type ErrorCode =
  // WASM core
  | "WASM_LOAD_FAILED"
  | "ZSTD_CORRUPT"
  | "ZSTD_TRUNCATED"
  | "ZSTD_FRAME_TOO_LARGE"
  | "ZSTD_WINDOW_TOO_LARGE"
  | "ZSTD_BAD_USAGE"
  | "ZSTD_OUT_OF_MEMORY"
  | "ZSTD_INTERNAL"
  | "HASH_BAD_USAGE"
  // Input validation shared by all parsers
  | "BAD_ARGUMENT"
  | "OUT_OF_RANGE"
  | "LIMIT_EXCEEDED"
  | "TRUNCATED"
  // tar
  | "TAR_CORRUPT"
  | "TAR_UNSUPPORTED"
  | "TAR_DUPLICATE_PATH"
  | "BAD_TAR_SPLIT"
  | "UNSAFE_PATH"
  // formats
  | "BAD_MAGIC"
  | "BAD_FOOTER"
  | "BAD_TOC"
  | "BAD_ANNOTATION"
  | "DIGEST_MISMATCH"
  | "SIZE_MISMATCH"
  | "INCONSISTENT"
  | "NOT_FOUND"
  | "UNSUPPORTED_FORMAT"
  | "GZIP_CORRUPT"
  | "BAD_MANIFEST"
  | "BAD_CONTENTMETA"
  // I/O
  | "IO"
  | "HTTP"
  | "UNAUTHORIZED"
  | "TIMEOUT";

/** The one error type layerkit throws. `details` carries the offending values. */
export class LayerkitError extends Error {
  override readonly name = "LayerkitError";
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  /** A plain object for JSON output (CLI `--json`, worker responses, test runners). */
  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `e` is a {@link LayerkitError}, optionally with the given code. */
export function isLayerkitError(e: unknown, code?: ErrorCode): e is LayerkitError {
  return e instanceof LayerkitError && (code === undefined || e.code === code);
}
