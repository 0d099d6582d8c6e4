/**
 * The tar a layer is made from: a directory (archived deterministically, see
 * src/tar/from-directory.ts) or a tar file. Shared by `create` and `image build`.
 */
import { parseRfc3339 } from "../go/time.js";
import { directoryTar } from "../tar/from-directory.js";
import { nodeDirectoryFs } from "../tar/from-directory-node.js";
import type { Instant } from "../tar/types.js";
import type { CliContext, OptionSpec } from "./command.js";
import { Readable } from "node:stream";
import { UsageError } from "./errors.js";
import { isStdin } from "./image-ref.js";
import { isDirectory, openFileStream } from "./node-io.js";
import { countingStream, type Progress } from "./progress.js";

export const TAR_INPUT_OPTIONS = {
  mtime: { type: "string" },
  "keep-owners": { type: "boolean" },
  devices: { type: "boolean" },
} as const satisfies OptionSpec;

export const TAR_INPUT_HELP: Array<[string, string]> = [
  [
    "--mtime T",
    "from a directory: pin every mtime to T (Unix seconds or RFC 3339; default $SOURCE_DATE_EPOCH, else each file's whole seconds)",
  ],
  ["--keep-owners", "from a directory: keep numeric uid/gid (default 0/0)"],
  ["--devices", "from a directory: include character/block devices (default: skipped, with a note)"],
];

/** `--mtime` takes Unix seconds or an RFC 3339 time; without it, `SOURCE_DATE_EPOCH` pins times too. */
export function parseMtime(value: unknown, env: string | undefined): Instant | undefined {
  const raw = value ?? (env === undefined || env === "" ? undefined : env);
  if (raw === undefined) return undefined;
  const flag = value === undefined ? "SOURCE_DATE_EPOCH" : "--mtime";
  if (typeof raw !== "string") throw new UsageError(`${flag} takes Unix seconds or an RFC 3339 time`);
  if (/^-?\d+$/.test(raw)) {
    const sec = Number(raw);
    if (!Number.isSafeInteger(sec)) throw new UsageError(`${flag} ${raw} is out of range`);
    return { sec, nsec: 0 };
  }
  try {
    return { sec: parseRfc3339(raw).sec, nsec: 0 };
  } catch {
    throw new UsageError(`${flag} takes Unix seconds or an RFC 3339 time, got ${JSON.stringify(raw)}`);
  }
}

export interface TarInput {
  tar: ReadableStream<Uint8Array>;
  /** Paths left out of a directory (devices without --devices, sockets). */
  skipped: string[];
}

/**
 * Opens `path` (a directory or a tar file) as a tar stream, counting bytes into `progress`. With
 * `strict`, directory-only flags on a tar input are a usage error (with several inputs they
 * apply to the directories among them).
 */
export async function openTarInput(
  path: string,
  values: Record<string, unknown>,
  ctx: CliContext,
  progress: Progress,
  strict = true,
): Promise<TarInput> {
  const skipped: string[] = [];
  if (isStdin(path)) {
    if (strict && (values.mtime !== undefined || values["keep-owners"] || values.devices)) {
      throw new UsageError("--mtime, --keep-owners and --devices apply to a directory input only");
    }
    return { tar: (Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>).pipeThrough(countingStream(progress)), skipped };
  }
  if (await isDirectory(path)) {
    const mtime = parseMtime(values.mtime, process.env.SOURCE_DATE_EPOCH);
    const tar = directoryTar(nodeDirectoryFs(path), {
      ...(mtime === undefined ? {} : { mtime }),
      keepOwners: Boolean(values["keep-owners"]),
      includeDevices: Boolean(values.devices),
      onSkip: (p, reason) => {
        skipped.push(p);
        if (!ctx.quiet && !ctx.json) process.stderr.write(`layerkit: skipping ${reason} ${p}\n`);
      },
    }).pipeThrough(countingStream(progress));
    return { tar, skipped };
  }
  if (strict && (values.mtime !== undefined || values["keep-owners"] || values.devices)) {
    throw new UsageError("--mtime, --keep-owners and --devices apply to a directory input only");
  }
  return { tar: (await openFileStream(path, progress)).stream, skipped };
}
