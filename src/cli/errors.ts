/**
 * CLI exit codes: ONE table, used by every command, printed by `layerkit --help` and copied into
 * the README (the doc test checks the copy). `EXIT_FOR_CODE` is a `Record<ErrorCode, …>`, so a new
 * library error code does not compile until it has an exit code here.
 */
import { type ErrorCode, LayerkitError } from "../errors.js";

export const EXIT_OK = 0;
/** The layer or image is bad: corrupt, truncated, inconsistent, a digest that does not match. */
export const EXIT_BAD_CONTENT = 1;
export const EXIT_USAGE = 2;
/** I/O, network, authentication, or the environment (WASM did not load, out of memory). */
export const EXIT_IO = 3;
/** Not found, or not supported for this input's format. */
export const EXIT_UNSUPPORTED = 4;

export type ExitCode = typeof EXIT_OK | typeof EXIT_BAD_CONTENT | typeof EXIT_USAGE | typeof EXIT_IO | typeof EXIT_UNSUPPORTED;

/** What each exit code means, in the words `--help` and the README use. */
export const EXIT_MEANING: Record<ExitCode, string> = {
  [EXIT_OK]: "ok",
  [EXIT_BAD_CONTENT]: "the layer or image is bad (corrupt, truncated, inconsistent, digest mismatch; any format)",
  [EXIT_USAGE]: "usage (unknown option, missing or invalid argument)",
  [EXIT_IO]: "I/O, network or authentication failure (also: WASM failed to load, out of memory, internal error)",
  [EXIT_UNSUPPORTED]: "not found, or not supported for this input's format (e.g. ls of a gzip layer)",
};

/** Every library error code → its exit code. Exhaustive at compile time. */
export const EXIT_FOR_CODE: Record<ErrorCode, ExitCode> = {
  // WASM core
  WASM_LOAD_FAILED: EXIT_IO,
  ZSTD_CORRUPT: EXIT_BAD_CONTENT,
  ZSTD_TRUNCATED: EXIT_BAD_CONTENT,
  ZSTD_FRAME_TOO_LARGE: EXIT_BAD_CONTENT,
  ZSTD_WINDOW_TOO_LARGE: EXIT_BAD_CONTENT,
  ZSTD_BAD_USAGE: EXIT_IO,
  ZSTD_OUT_OF_MEMORY: EXIT_IO,
  ZSTD_INTERNAL: EXIT_IO,
  HASH_BAD_USAGE: EXIT_IO,
  // input validation
  BAD_ARGUMENT: EXIT_USAGE,
  OUT_OF_RANGE: EXIT_BAD_CONTENT,
  LIMIT_EXCEEDED: EXIT_BAD_CONTENT,
  TRUNCATED: EXIT_BAD_CONTENT,
  // tar
  TAR_CORRUPT: EXIT_BAD_CONTENT,
  TAR_UNSUPPORTED: EXIT_UNSUPPORTED,
  TAR_DUPLICATE_PATH: EXIT_BAD_CONTENT,
  BAD_TAR_SPLIT: EXIT_BAD_CONTENT,
  UNSAFE_PATH: EXIT_BAD_CONTENT,
  // formats
  BAD_MAGIC: EXIT_BAD_CONTENT,
  BAD_FOOTER: EXIT_BAD_CONTENT,
  BAD_TOC: EXIT_BAD_CONTENT,
  BAD_ANNOTATION: EXIT_BAD_CONTENT,
  DIGEST_MISMATCH: EXIT_BAD_CONTENT,
  SIZE_MISMATCH: EXIT_BAD_CONTENT,
  INCONSISTENT: EXIT_BAD_CONTENT,
  NOT_FOUND: EXIT_UNSUPPORTED,
  UNSUPPORTED_FORMAT: EXIT_UNSUPPORTED,
  GZIP_CORRUPT: EXIT_BAD_CONTENT,
  BAD_MANIFEST: EXIT_BAD_CONTENT,
  // A contentmeta file is the user's own input, not something verified: a usage mistake.
  BAD_CONTENTMETA: EXIT_USAGE,
  // I/O
  IO: EXIT_IO,
  HTTP: EXIT_IO,
  UNAUTHORIZED: EXIT_IO,
  TIMEOUT: EXIT_IO,
};

/** The exit-code lines of `--help` and the README. */
export function exitCodeHelp(): string[] {
  return (Object.keys(EXIT_MEANING).map(Number) as ExitCode[]).map((c) => `  ${c}  ${EXIT_MEANING[c]}`);
}

/** A usage mistake: a one-line message, a pointer at --help, exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Exit code for an error that escaped a command. */
export function exitCodeFor(e: unknown): ExitCode {
  if (e instanceof UsageError) return EXIT_USAGE;
  if (e instanceof LayerkitError) return EXIT_FOR_CODE[e.code] ?? EXIT_IO;
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
