/**
 * Choosing one image from an index by platform.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import type { Descriptor, ImageIndex, Platform } from "./types.js";

/** The default platform: `linux/amd64`. */
export const DEFAULT_PLATFORM: Platform = { os: "linux", architecture: "amd64" };

/** Parses `os/arch[/variant]` (e.g. `linux/arm64/v8`). */
export function parsePlatform(s: string): Platform {
  const parts = s.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9._-]+$/.test(p))) {
    throw new LayerkitError("BAD_ARGUMENT", `invalid platform ${JSON.stringify(s)}: expected os/architecture[/variant]`, { platform: s });
  }
  const p: Platform = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2] !== undefined) p.variant = parts[2];
  return p;
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? "/" + p.variant : ""}`;
}

function normVariant(p: Platform): string | undefined {
  if (p.variant) return p.variant;
  if (p.architecture === "arm64") return "v8";
  if (p.architecture === "arm") return "v7";
  return undefined;
}

/** True when `candidate` runs on `wanted` (os and architecture equal; variant equal when `wanted` names one). */
export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return false;
  if (wanted.variant !== undefined && normVariant(candidate) !== normVariant(wanted)) return false;
  if (wanted["os.version"] !== undefined && candidate["os.version"] !== wanted["os.version"]) return false;
  return true;
}

/**
 * The index entry for `wanted` (default linux/amd64). Among several matches, one whose variant
 * equals the wanted one (after arm defaults: arm64 → v8, arm → v7) wins, else the first.
 * No match is `NOT_FOUND` with the available platforms in `details.available`.
 */
export function selectPlatform(index: ImageIndex, wanted: Platform = DEFAULT_PLATFORM): Descriptor {
  const matches = index.manifests.filter((m) => m.platform && platformMatches(m.platform, wanted));
  const exact = matches.find((m) => normVariant(m.platform!) === normVariant(wanted));
  const chosen = exact ?? matches[0];
  if (!chosen) {
    const available = index.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!));
    throw new LayerkitError(
      "NOT_FOUND",
      `no image for platform ${formatPlatform(wanted)} in the index (available: ${available.join(", ") || "none"})`,
      {
        platform: formatPlatform(wanted),
        available,
      },
    );
  }
  return chosen;
}
