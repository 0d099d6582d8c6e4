/**
 * Mutations of one layer, each named so a finding says what was done: structure-aware ones that
 * edit the TOC, the payload, zstd frames or gzip members and re-seal TOC, footer and digests
 * (./reseal.ts), and blind ones (bit flips, truncations) on the sealed bytes.
 *
 * @module
 */
import type { Core } from "../../src/core.js";
import { Gunzip, gzipMember } from "../../src/gzip/index.js";
import { buildSkippableFrame } from "../../src/formats/zstd-chunked/footer.js";
import type { LayerFormat } from "../../src/layer/result.js";
import type { Rng } from "./rng.js";
import { concat, seal, type Sealed, type SeekableParts, sha, shiftOffsets, type TocEntryJson } from "./reseal.js";

export interface Mutated extends Sealed {
  format: LayerFormat;
  /** What was done, in order (for the report and the reproduction's name). */
  ops: string[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Values a TOC field is set to: boundaries, wrong types, unsafe names. */
export const INTERESTING: readonly unknown[] = [
  -1,
  0,
  1,
  4,
  7,
  8,
  511,
  512,
  2 ** 31,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  1e300,
  1.5,
  "",
  ".",
  "..",
  "../x",
  "/abs",
  "a\u0000b",
  "d",
  "d/f1",
  "x/f2",
  "sha256:",
  "sha256:" + "0".repeat(64),
  "zeros",
  "reg",
  "chunk",
  "hardlink",
  "dir",
  null,
  true,
  [],
  {},
];
/** Every TOC entry field the readers look at. */
export const FIELDS: readonly string[] = [
  "type",
  "name",
  "linkName",
  "mode",
  "size",
  "uid",
  "gid",
  "modtime",
  "digest",
  "offset",
  "endOffset",
  "chunkSize",
  "chunkOffset",
  "chunkDigest",
  "chunkType",
  "xattrs",
  "innerOffset",
];
const OTHER_DIGEST = "sha256:" + "ab".repeat(32);

/** One blind byte-level edit of `b` (a copy; may change the length). */
export function mutateBytes(r: Rng, b: Uint8Array, from = 0, to = b.length): { bytes: Uint8Array; op: string } {
  const at = from + r.int(Math.max(1, to - from));
  const out = b.slice();
  switch (r.int(7)) {
    case 0:
      out[at]! ^= 1 << r.int(8);
      return { bytes: out, op: `flip@${at}` };
    case 1:
      out[at] = r.pick([0, 0xff, 0x7f, 0x80, 0x30, 0x20, 0x22, 0x2f]);
      return { bytes: out, op: `byte@${at}` };
    case 2:
      for (let i = 0; i < 1 + r.int(8) && at + i < out.length; i++) out[at + i] = r.int(256);
      return { bytes: out, op: `bytes@${at}` };
    case 3:
      return { bytes: out.subarray(0, at), op: `truncate@${at}` };
    case 4: {
      const n = 1 + r.int(64);
      return { bytes: concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + n))]), op: `delete@${at}+${n}` };
    }
    case 5: {
      const n = 1 + r.int(32);
      return { bytes: concat([out.subarray(0, at), r.bytes(n), out.subarray(at)]), op: `insert@${at}+${n}` };
    }
    default: {
      const v = r.pick([0n, 1n, 8n, 0x7fffffffn, 0x80000008n, 0xfffffff0n, 0xffffffffn, (1n << 53n) - 1n, BigInt(b.length)]);
      if (at + 8 <= out.length) new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(at, v, true);
      return { bytes: out, op: `u64@${at}=${v}` };
    }
  }
}

const payloadEntries = (toc: SeekableParts["toc"]): TocEntryJson[] =>
  toc.entries.filter((e) => typeof e["offset"] === "number" && (e["offset"] as number) > 0);

/** A structure-aware edit of the TOC object. */
function mutateTocEntries(r: Rng, p: SeekableParts): string {
  const es = p.toc.entries;
  if (es.length === 0) return "toc:empty";
  const i = r.int(es.length);
  const e = es[i]!;
  switch (r.int(12)) {
    case 0: {
      const f = r.pick(FIELDS);
      e[f] = r.pick(INTERESTING);
      return `toc:set#${i}.${f}`;
    }
    case 1: {
      const f = r.pick(FIELDS);
      delete e[f];
      return `toc:delete#${i}.${f}`;
    }
    case 2: {
      const f = r.pick(["offset", "endOffset", "size", "chunkSize", "chunkOffset", "innerOffset"]);
      const d = r.pick([-1, 1, -4, 4, -8, 8, 512]);
      if (typeof e[f] === "number") e[f] = (e[f] as number) + d;
      return `toc:shift#${i}.${f}${d > 0 ? "+" : ""}${d}`;
    }
    case 3: {
      const j = r.int(es.length + 1);
      es.splice(j, 0, structuredClone(es[r.int(es.length)]!));
      return `toc:dup@${j}`;
    }
    case 4:
      es.splice(i, 1);
      return `toc:remove#${i}`;
    case 5: {
      const j = r.int(es.length);
      [es[i], es[j]] = [es[j]!, es[i]!];
      return `toc:swap#${i},${j}`;
    }
    case 6: {
      // A hardlink moved before its target, or to a later name.
      const links = es.map((x, k) => [x, k] as const).filter(([x]) => x["type"] === "hardlink");
      if (links.length === 0) return "toc:no-hardlink";
      const [l, k] = r.pick(links);
      es.splice(k, 1);
      es.splice(r.int(k + 1), 0, l);
      return `toc:hardlink-earlier#${k}`;
    }
    case 7: {
      // An empty file committed to another digest.
      const empties = es.filter((x) => x["type"] === "reg" && !x["size"]);
      if (empties.length === 0) return "toc:no-empty";
      r.pick(empties)["digest"] = OTHER_DIGEST;
      return "toc:empty-digest";
    }
    case 8: {
      const pe = payloadEntries(p.toc);
      if (pe.length === 0) return "toc:no-payload";
      const x = r.pick(pe);
      delete x["chunkDigest"];
      return "toc:no-chunkDigest";
    }
    case 9: {
      const regs = es.filter((x) => x["type"] === "reg");
      if (regs.length === 0) return "toc:no-reg";
      r.pick(regs)["size"] = 2 ** 53 - 1;
      return "toc:size-max";
    }
    case 10: {
      // The same name defined again at the end (a reg copy of an earlier entry).
      const regs = es.filter((x) => x["type"] === "reg");
      if (regs.length === 0) return "toc:no-reg";
      const c = structuredClone(r.pick(regs));
      es.push(c);
      return "toc:redefine";
    }
    default: {
      const pe = payloadEntries(p.toc);
      if (pe.length === 0) return "toc:no-payload";
      const x = r.pick(pe);
      x["endOffset"] = ((x["endOffset"] as number | undefined) ?? (x["offset"] as number)) + r.pick([-4, -1, 1, 4]);
      return "toc:endOffset";
    }
  }
}

/** Offsets where a zstd frame / gzip member starts, from the TOC. */
function frameStarts(p: SeekableParts): number[] {
  const set = new Set<number>();
  for (const e of p.toc.entries) {
    for (const k of ["offset", "endOffset"]) {
      if (typeof e[k] === "number" && (e[k] as number) > 0 && (e[k] as number) < p.payload.length) set.add(e[k] as number);
    }
  }
  return [...set].sort((a, b) => a - b);
}

/** Inserts a skippable frame or an empty zstd frame inside the payload, shifting later offsets. */
function frameSurgery(r: Rng, core: Core, p: SeekableParts): string {
  const starts = frameStarts(p);
  const at = starts.length > 0 && r.chance(0.7) ? r.pick(starts) : r.int(p.payload.length);
  const insert = r.chance(0.5) ? buildSkippableFrame(r.bytes(r.int(16))) : core.zstd.compress(new Uint8Array(0), { level: 1 });
  p.payload = concat([p.payload.subarray(0, at), insert, p.payload.subarray(at)]);
  const shiftFrom = at + (r.chance(0.5) ? 0 : 1); // 0: the frame joins the range that starts here; 1: the one before
  shiftOffsets(p.toc, shiftFrom, insert.length);
  return `frame:insert@${at}+${insert.length}${shiftFrom > at ? ":before" : ":after"}`;
}

/**
 * Re-writes one gzip member of an eStargz payload with a byte of its decompressed bytes changed
 * (a tar header after the chunk, or the chunk itself), the header checksum recomputed when the
 * change is in a header block; later offsets shift by the size difference.
 */
function memberSurgery(r: Rng, p: SeekableParts): string {
  const starts = frameStarts(p);
  if (starts.length === 0) return "member:none";
  const k = r.int(starts.length);
  const start = starts[k]!;
  const end = starts[k + 1] ?? p.payload.length;
  let data: Uint8Array;
  try {
    const g = new Gunzip({ multiMember: true, maxOutput: 1 << 24 });
    data = concat([...g.push(p.payload.subarray(start, end)), ...g.end()]);
  } catch {
    return "member:undecodable";
  }
  if (data.length === 0) return "member:empty";
  const out = data.slice();
  // Header blocks: 512-aligned blocks from the end of the chunk's padding; pick one, or anywhere.
  const entry = p.toc.entries.find((e) => e["offset"] === start);
  const chunk = typeof entry?.["chunkSize"] === "number" && (entry["chunkSize"] as number) > 0
    ? (entry["chunkSize"] as number)
    : typeof entry?.["size"] === "number"
    ? (entry["size"] as number)
    : 0;
  const inner = typeof entry?.["innerOffset"] === "number" ? (entry["innerOffset"] as number) : 0;
  const headerStart = inner + Math.ceil(chunk / 512) * 512;
  let at: number;
  let where: string;
  if (headerStart + 512 <= out.length && r.chance(0.8)) {
    const block = headerStart + 512 * r.int(Math.floor((out.length - headerStart) / 512));
    // Fields: name, mode, uid, gid, size, mtime, typeflag, linkname, magic…
    const field = r.pick([[0, 100], [100, 8], [124, 12], [136, 12], [156, 1], [157, 100], [345, 155]] as const);
    at = block + field[0] + r.int(field[1]);
    out[at] = r.pick([0x30, 0x31, 0x37, 0x35, 0x78, 0x4c, 0x00, 0x2f, 0x61, out[at]! ^ 1]);
    fixChecksum(out, block);
    where = `header@${block}`;
  } else {
    at = r.int(out.length);
    out[at]! ^= 1 << r.int(8);
    where = `data@${at}`;
  }
  const member = gzipMember(out, 1);
  p.payload = concat([p.payload.subarray(0, start), member, p.payload.subarray(end)]);
  shiftOffsets(p.toc, end, member.length - (end - start));
  return `member:${start}:${where}`;
}

function fixChecksum(b: Uint8Array, block: number): void {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : b[block + i]!;
  const s = sum.toString(8).padStart(6, "0");
  for (let i = 0; i < 6; i++) b[block + 148 + i] = s.charCodeAt(i);
  b[block + 154] = 0;
  b[block + 155] = 0x20;
}

/** A JSON-text edit of the TOC (the JSON reader behind the digest). */
function mutateTocText(r: Rng, p: SeekableParts): { text: Uint8Array; op: string } {
  const text = enc.encode(JSON.stringify(p.toc));
  const m = mutateBytes(r, text);
  return { text: m.bytes, op: "json:" + m.op };
}

/** One mutated input from a seekable layer's parts (a fresh copy is made). */
export function mutateSeekable(
  r: Rng,
  core: Core,
  base: SeekableParts,
  baseAnnotations: Record<string, string>,
  baseBlob: Uint8Array,
): Mutated {
  const p: SeekableParts = { ...base, toc: structuredClone(base.toc) };
  const ops: string[] = [];
  const kind = r.int(10);
  if (kind < 4) {
    const n = 1 + r.int(2);
    for (let i = 0; i < n; i++) ops.push(mutateTocEntries(r, p));
  } else if (kind < 5) {
    const m = mutateBytes(r, p.payload);
    p.payload = m.bytes.slice();
    ops.push("payload:" + m.op);
  } else if (kind < 7) {
    ops.push(p.format === "zstd:chunked" ? frameSurgery(r, core, p) : memberSurgery(r, p));
  } else if (kind < 8) {
    const { text, op } = mutateTocText(r, p);
    const s = seal(core, p, text);
    return { format: p.format, ...s, ops: [op] };
  } else {
    // Blind edits of the original sealed blob (footer, TOC frame, tar-split), annotations kept or not.
    const m = mutateBytes(r, baseBlob, r.chance(0.5) ? Math.max(0, baseBlob.length - 200) : 0);
    const keep = r.chance(0.5);
    return {
      format: p.format,
      blob: m.bytes,
      annotations: keep ? baseAnnotations : {},
      ops: ["blind:" + m.op + (keep ? "" : ":no-annotations")],
    };
  }
  const s = seal(core, p);
  return { format: p.format, ...s, ops };
}

/** One mutated input from a plain zstd or gzip layer: its compressed bytes, or its tar before compression. */
export function mutatePlain(r: Rng, core: Core, format: LayerFormat, base: { blob: Uint8Array; tar: Uint8Array }): Mutated {
  const ops: string[] = [];
  let b = base.blob;
  if (r.chance(0.3)) {
    // The tar itself (headers mostly, where parsing happens), compressed again: the tar readers' input.
    const m = mutateBytes(r, base.tar, 0, r.chance(0.8) ? Math.min(2048, base.tar.length) : base.tar.length);
    b = format === "zstd" ? core.zstd.compress(m.bytes, { level: 1 }) : gzipMember(m.bytes, 1);
    ops.push("tar:" + m.op);
    if (r.chance(0.7)) return { format, blob: b, annotations: {}, ops };
  }
  if (format === "zstd" && r.chance(0.3)) {
    const at = r.int(b.length + 1);
    const frame = r.chance(0.5) ? buildSkippableFrame(r.bytes(r.int(8))) : (() => {
      const f = buildSkippableFrame(new Uint8Array(0));
      new DataView(f.buffer, f.byteOffset).setUint32(4, r.pick([0x80000008, 0xfffffff0, 0x7fffffff, 100]), true);
      return f;
    })();
    b = concat([b.subarray(0, at), frame, b.subarray(at)]);
    ops.push(`frame:skippable@${at}`);
  }
  const n = r.int(3);
  for (let i = 0; i < n; i++) {
    const m = mutateBytes(r, b);
    b = m.bytes;
    ops.push(m.op);
  }
  if (ops.length === 0) ops.push("none");
  return { format, blob: b, annotations: {}, ops };
}

export const shaOf = sha;
export const textOf = (b: Uint8Array): string => dec.decode(b);
