/**
 * OCI digests. layerkit produces and accepts `sha256:` followed by exactly 64 lower-case hex
 * digits; anything else is a `BAD_ARGUMENT` {@link LayerkitError}.
 *
 * @module
 */
import { getCore, type Hasher } from "../core.js";
import { LayerkitError } from "../errors.js";

/** A parsed digest. */
export interface ParsedDigest {
  algorithm: "sha256";
  /** 64 lower-case hex digits. */
  hex: string;
}

const SHA256_RE = /^sha256:([0-9a-f]{64})$/;

/** True when `s` is `sha256:` + 64 lower-case hex digits. */
export function isDigest(s: unknown): s is string {
  return typeof s === "string" && SHA256_RE.test(s);
}

/** Parses `sha256:<64 lower-hex>`; throws `BAD_ARGUMENT` (with `details.digest`) otherwise. */
export function parseDigest(s: unknown, what = "digest"): ParsedDigest {
  if (typeof s === "string") {
    const m = SHA256_RE.exec(s);
    if (m) return { algorithm: "sha256", hex: m[1]! };
  }
  const shown = typeof s === "string" ? (s.length > 100 ? s.slice(0, 100) + "…" : s) : typeof s;
  let why = "expected sha256: followed by 64 lower-case hex digits";
  if (typeof s === "string" && /^[a-z0-9]+([+._-][a-z0-9]+)*:/.test(s) && !s.startsWith("sha256:")) {
    why = `unsupported digest algorithm (only sha256 is supported)`;
  }
  throw new LayerkitError("BAD_ARGUMENT", `invalid ${what} ${JSON.stringify(shown)}: ${why}`, { digest: shown });
}

/** Returns `s` after checking it with {@link parseDigest}. */
export function checkDigest(s: unknown, what = "digest"): string {
  parseDigest(s, what);
  return s as string;
}

/** A SHA-256 hasher factory (e.g. `core.sha256`). */
export type Sha256Factory = () => Hasher;

/** `factory` when given, else the runtime core's hasher. */
export async function sha256Factory(factory?: Sha256Factory): Promise<Sha256Factory> {
  if (factory) return factory;
  const core = await getCore();
  return () => core.sha256();
}

/** `sha256:<hex>` of `data`. */
export function sha256Digest(factory: Sha256Factory, data: Uint8Array): string {
  return "sha256:" + factory().update(data).hex();
}
