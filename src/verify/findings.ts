/**
 * Collects check outcomes and a bounded list of failures while a layer is verified.
 *
 * @module
 */
import { type ErrorCode, isLayerkitError } from "../errors.js";
import type { VerifyCheck, VerifyCheckName, VerifyFailure, VerifyWarning } from "./types.js";

export class Findings {
  readonly failures: VerifyFailure[] = [];
  omitted = 0;
  readonly #max: number;
  readonly #checks = new Map<VerifyCheckName, VerifyCheck>();

  constructor(maxFailures: number) {
    this.#max = maxFailures;
  }

  /** Marks a check as run (ok unless a failure is or was recorded for it). */
  ran(name: VerifyCheckName, note?: string): void {
    const c = this.#checks.get(name);
    if (c) {
      if (c.status === "skipped") c.status = "ok";
      if (note !== undefined) c.note = note;
      return;
    }
    this.#checks.set(name, note === undefined ? { name, status: "ok" } : { name, status: "ok", note });
  }

  /** Marks a check as not run, with the reason (unless it already ran). */
  skipped(name: VerifyCheckName, note: string): void {
    if (!this.#checks.has(name)) this.#checks.set(name, { name, status: "skipped", note });
  }

  fail(
    check: VerifyCheckName,
    code: ErrorCode,
    message: string,
    where: { path?: string | undefined; offset?: number | undefined; offsetKind?: "blob" | "tar" } = {},
  ): void {
    const c = this.#checks.get(check);
    if (c) c.status = "failed";
    else this.#checks.set(check, { name: check, status: "failed" });
    if (this.failures.length >= this.#max) {
      this.omitted++;
      return;
    }
    const f: VerifyFailure = { check, code, message };
    if (where.path !== undefined) f.path = where.path;
    if (where.offset !== undefined) {
      f.offset = where.offset;
      f.offsetKind = where.offsetKind ?? "blob";
    }
    this.failures.push(f);
  }

  /** Records a thrown error as a failure of `check`; non-layerkit errors are rethrown (bugs). */
  error(
    check: VerifyCheckName,
    e: unknown,
    where: { path?: string | undefined; offset?: number | undefined; offsetKind?: "blob" | "tar" } = {},
  ): void {
    if (!isLayerkitError(e)) throw e;
    const path = where.path ??
      (typeof e.details["path"] === "string" ? e.details["path"] : typeof e.details["name"] === "string" ? e.details["name"] : undefined);
    this.fail(check, e.code, e.message, { ...where, path });
  }

  readonly warnings: VerifyWarning[] = [];

  /** Records a warning (bounded like failures; it does not fail the check). */
  warn(check: VerifyCheckName, message: string, where: { path?: string; offset?: number } = {}): void {
    if (this.warnings.length >= this.#max) return;
    this.warnings.push({ check, message, ...where });
  }

  failed(name: VerifyCheckName): boolean {
    return this.#checks.get(name)?.status === "failed";
  }

  get checks(): VerifyCheck[] {
    return [...this.#checks.values()];
  }

  get ok(): boolean {
    return this.failures.length === 0 && this.omitted === 0;
  }
}

/**
 * Reads a TOC with its expected digest checked; a failure is reported, and after a digest
 * mismatch the TOC is read again unchecked (what the footer says), to report what else is wrong.
 */
export async function readReporting<T>(
  findings: Findings,
  hasExpected: boolean,
  read: (checked: boolean) => Promise<T>,
): Promise<T | undefined> {
  try {
    return await read(true);
  } catch (e) {
    findings.error("toc", e);
    if (!hasExpected || !isLayerkitError(e, "DIGEST_MISMATCH")) return undefined;
    try {
      return await read(false);
    } catch {
      return undefined;
    }
  }
}

/** The note on the `toc` check: matched, mismatched (a failure says how), or nothing to compare with. */
export function tocNote(authenticated: boolean, failed: boolean): string {
  if (authenticated) return "TOC digest matched";
  if (failed) return "TOC digest does not match the expected one";
  return "TOC not authenticated: no expected digest in the annotations or options";
}
