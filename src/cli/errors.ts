/**
 * CLI exit codes and the mapping from library errors to them.
 *
 * 0 ok · 1 verification failed · 2 usage · 3 I/O or network · 4 unsupported input.
 */
import { LayerkitError, type ErrorCode } from "../errors.js";

export const EXIT_OK = 0;
export const EXIT_VERIFY_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_IO = 3;

/** A usage mistake: print the subcommand's usage and exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

const VERIFY_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "DIGEST_MISMATCH", "SIZE_MISMATCH", "INCONSISTENT", "BAD_TOC", "BAD_FOOTER", "BAD_MAGIC", "BAD_ANNOTATION",
  "ZSTD_CORRUPT", "ZSTD_TRUNCATED", "TAR_CORRUPT", "TRUNCATED", "OUT_OF_RANGE", "UNSAFE_PATH", "LIMIT_EXCEEDED",
  "ZSTD_WINDOW_TOO_LARGE", "ZSTD_FRAME_TOO_LARGE",
]);

/** Exit code for an error that escaped a command. */
export function exitCodeFor(e: unknown): number {
  if (e instanceof UsageError) return EXIT_USAGE;
  if (e instanceof LayerkitError) {
    if (e.code === "BAD_ARGUMENT") return EXIT_USAGE;
    // A contentmeta file is the user's own input, not something verified: a usage mistake.
    if (e.code === "BAD_CONTENTMETA") return EXIT_USAGE;
    if (VERIFY_CODES.has(e.code)) return EXIT_VERIFY_FAILED;
    return EXIT_IO;
  }
  return EXIT_IO; // file system and network errors from the runtime
}

/** One line for humans, no stack trace. */
export function describeError(e: unknown): string {
  if (e instanceof LayerkitError) return `${e.message} [${e.code}]`;
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === "string" ? `${e.message} [${code}]` : e.message;
  }
  return String(e);
}

/** The JSON error object printed with `--json`. */
export function errorJson(e: unknown): Record<string, unknown> {
  if (e instanceof LayerkitError) return { error: e.toJSON() };
  const code = (e as { code?: unknown } | null)?.code;
  return { error: { code: typeof code === "string" ? code : e instanceof UsageError ? "USAGE" : "IO", message: describeError(e) } };
}
