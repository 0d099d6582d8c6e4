/**
 * containers/storage's TOC ↔ tar-split consistency rule (≥ 1.55, docs/formats/zstd-chunked.md §3.3): a full pull
 * re-creates the layer from the tar-split, a partial pull from the TOC, so both must describe the
 * same entries, or a layer could show different content to the two kinds of client.
 *
 * - every tar header in the tar-split (parsed from its Segments, as Go's tar reader would) has a
 *   TOC entry with exactly its name, and no TOC entry is left over;
 * - no name appears twice in the TOC;
 * - type, linkName, mode, size, uid, gid, devMajor, devMinor and xattrs are equal; modtime,
 *   accesstime and changetime are equal as instants, with absent, Go's zero time and the Unix
 *   epoch all meaning "no time".
 *
 * @module
 */
import { LayerkitError } from "../../errors.js";
import { readTarHeaderBytes } from "../../tar/reader.js";
import type { ByteSource } from "../../util/bytes.js";
import { fileMetadataFromHeader } from "../../layer/file-metadata.js";
import { tocTimesMatch } from "../../go/time.js";
import { readTarSplit, TAR_SPLIT_FILE } from "./tar-split.js";
import type { TocEntry } from "../../layer/toc.js";

function inconsistent(message: string, details: Record<string, unknown>): LayerkitError {
  return new LayerkitError("INCONSISTENT", `TOC and tar-split disagree: ${message}`, details);
}

const SCALARS = ["type", "linkName", "mode", "size", "uid", "gid", "devMajor", "devMinor"] as const;
const TIMES = ["modtime", "accesstime", "changetime"] as const;

function compareEntry(fromTar: TocEntry, fromToc: TocEntry): void {
  const name = fromTar.name;
  for (const k of SCALARS) {
    const a = fromTar[k] ?? (k === "linkName" ? "" : 0);
    const b = fromToc[k] ?? (k === "linkName" ? "" : 0);
    if (a !== b) {
      throw inconsistent(`${JSON.stringify(name)}: ${k} is ${JSON.stringify(a)} in the tar-split but ${JSON.stringify(b)} in the TOC`, {
        path: name,
        field: k,
        tarSplit: a,
        toc: b,
      });
    }
  }
  for (const k of TIMES) {
    if (!tocTimesMatch(fromTar[k], fromToc[k])) {
      throw inconsistent(
        `${JSON.stringify(name)}: ${k} is ${fromTar[k] ?? "absent"} in the tar-split but ${fromToc[k] ?? "absent"} in the TOC`,
        { path: name, field: k, tarSplit: fromTar[k], toc: fromToc[k] },
      );
    }
  }
  const xa = fromTar.xattrs ?? {};
  const xb = fromToc.xattrs ?? {};
  const keys = new Set([...Object.keys(xa), ...Object.keys(xb)]);
  for (const key of keys) {
    if (xa[key] !== xb[key]) {
      throw inconsistent(`${JSON.stringify(name)}: xattr ${JSON.stringify(key)} differs`, {
        path: name,
        field: "xattrs",
        xattr: key,
        tarSplit: xa[key],
        toc: xb[key],
      });
    }
  }
}

/**
 * Checks the TOC entries against a tar-split stream (the decompressed JSON lines). Throws
 * INCONSISTENT naming the first entry that differs; BAD_TAR_SPLIT / TAR_CORRUPT for a tar-split
 * that cannot be parsed.
 */
export async function checkTarSplit(entries: readonly TocEntry[] | null, tarSplit: ByteSource): Promise<void> {
  const pending = new Map<string, TocEntry>();
  for (const e of entries ?? []) {
    if (e.type === "chunk") continue;
    if (pending.has(e.name)) throw inconsistent(`${JSON.stringify(e.name)} appears twice in the TOC`, { path: e.name });
    pending.set(e.name, e);
  }
  let padding = 0; // padding of the previous entry, expected at the start of the next Segment
  let header: { name: string; dataSize: number } | undefined;
  let ended = false;
  for await (const ts of readTarSplit(tarSplit)) {
    if (ts.type === TAR_SPLIT_FILE) {
      if (header && ((ts.name ?? "") !== header.name || ts.size !== header.dataSize)) {
        throw inconsistent(
          `file entry ${JSON.stringify(ts.name)} (${ts.size} bytes) does not follow its header ${
            JSON.stringify(header.name)
          } (${header.dataSize} bytes)`,
          { path: ts.name, position: ts.position },
        );
      }
      header = undefined;
      continue;
    }
    if (ended) continue; // end-of-archive blocks and trailing bytes
    const payload = ts.payload ?? new Uint8Array(0);
    if (payload.length < padding) {
      throw inconsistent(`segment ${ts.position} is shorter than the ${padding} bytes of padding expected`, { position: ts.position });
    }
    const r = readTarHeaderBytes(payload, { pad: padding, strictTypes: false });
    if (r.kind === "end") {
      ended = true;
      continue;
    }
    const hdr = r.header;
    const fromToc = pending.get(hdr.name);
    if (!fromToc) {
      throw inconsistent(`${JSON.stringify(hdr.name)} is in the tar-split but not in the TOC`, { path: hdr.name, position: ts.position });
    }
    compareEntry(fileMetadataFromHeader(hdr), fromToc);
    pending.delete(hdr.name);
    header = { name: hdr.name, dataSize: r.dataSize };
    padding = r.padding;
  }
  if (pending.size > 0) {
    const [first] = pending.keys();
    throw inconsistent(
      `${pending.size} TOC entr${pending.size === 1 ? "y is" : "ies are"} not in the tar-split, e.g. ${JSON.stringify(first)}`,
      { path: first, missing: pending.size },
    );
  }
}
