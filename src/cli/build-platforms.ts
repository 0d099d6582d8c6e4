/**
 * `image build --platform`: `P` (os/arch[/variant]) shares the `--layer` list; `P=PATH` adds
 * PATH (a directory, tar or layer blob) as that platform's own top layer. With two or more
 * platforms the build writes one manifest each and an OCI index over them.
 */
import { formatPlatform, parsePlatform } from "../oci/platform.js";
import type { Platform } from "../oci/types.js";
import { UsageError } from "./errors.js";

export interface BuildPlatform {
  platform: Platform;
  /** This platform's own top layer, if any. */
  layer?: string;
}

export function parseBuildPlatforms(values: string[] | undefined): BuildPlatform[] {
  const list = values && values.length > 0 ? values : ["linux/amd64"];
  const out: BuildPlatform[] = [];
  const seen = new Set<string>();
  for (const v of list) {
    const eq = v.indexOf("=");
    let platform: Platform;
    try {
      platform = parsePlatform(eq < 0 ? v : v.slice(0, eq));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const key = formatPlatform(platform);
    if (seen.has(key)) throw new UsageError(`--platform ${key} is given twice`);
    seen.add(key);
    const layer = eq < 0 ? undefined : v.slice(eq + 1);
    if (layer === "") throw new UsageError(`--platform ${v}: the path after = is empty`);
    out.push(layer === undefined ? { platform } : { platform, layer });
  }
  return out;
}
