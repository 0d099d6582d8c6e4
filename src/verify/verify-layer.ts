/**
 * `verifyLayer`: checks a layer blob of any of the four formats in one pass over its bytes, so
 * a layer that would show different content to a lazy (TOC) reader and a full (tar) reader, or
 * that does not match its descriptor or diffID, is rejected. See {@link verifyLayer}.
 *
 * @module
 */
import { type Core, getCore } from "../core.js";
import { LayerkitError } from "../errors.js";
import { isDigest } from "../layer/digest.js";
import { checkTarSplit } from "../formats/zstd-chunked/check-tar-split.js";
import type { LayerFormat } from "../layer/result.js";
import type { TocFile } from "../layer/toc-parse.js";
import type { BlobSource } from "../source/blob-source.js";
import { TarReader } from "../tar/reader.js";
import { DigestCounter } from "../util/digest-counter.js";
import { BlobReader } from "./blob-reader.js";
import { describeDifferences } from "./compare-entry.js";
import { ContentCheck } from "./content-check.js";
import { Findings } from "./findings.js";
import { resolveFormat } from "./format.js";
import { compressionOf, formatOf } from "../formats/registry.js";
import type { TocPlan } from "../formats/format.js";
import type { TarHeader } from "../tar/types.js";
import { describePathProblem, type LayerTarKind, pathProblems, tarReadOptions } from "../tar/layer-rules.js";
import { TarDecoder } from "./tar-decoder.js";
import { tarByteStream } from "./tar-stream.js";
import { TarSplitMatcher } from "./tar-split-matcher.js";
import type { VerifyDescriptor, VerifyOptions, VerifyReport } from "./types.js";

const DEFAULT_READ = 4 << 20;
/** The tar reader's one reused input buffer (see ./tar-stream.ts). */
const TAR_BUFFER = 256 << 10;

function checkArguments(descriptor: VerifyDescriptor, options: VerifyOptions): void {
  const bad = (message: string, details: Record<string, unknown>): never => {
    throw new LayerkitError("BAD_ARGUMENT", message, details);
  };
  if (typeof descriptor !== "object" || descriptor === null) bad("descriptor must be an object", {});
  if (descriptor.digest !== undefined && !isDigest(descriptor.digest)) {
    bad(`descriptor.digest must be sha256:<64 hex>, got ${JSON.stringify(descriptor?.digest)}`, { digest: descriptor?.digest });
  }
  if (!Number.isSafeInteger(descriptor.size) || descriptor.size < 0) {
    bad(`descriptor.size must be a non-negative integer, got ${descriptor.size}`, { size: descriptor.size });
  }
  for (const k of ["diffID", "tocDigest"] as const) {
    const v = options[k];
    if (v !== undefined && !isDigest(v)) bad(`${k} must be sha256:<64 hex>, got ${JSON.stringify(v)}`, { [k]: v });
  }
  const max = options.maxFailures;
  if (max !== undefined && (!Number.isSafeInteger(max) || max < 0)) {
    bad(`maxFailures must be a non-negative integer, got ${max}`, { maxFailures: max });
  }
  const rs = options.readSize;
  if (rs !== undefined && (!Number.isSafeInteger(rs) || rs < 1)) bad(`readSize must be a positive integer, got ${rs}`, { readSize: rs });
}

/** TOC entries by the name a tar entry is matched with (FIFO for duplicate names). */
class TocIndex {
  readonly #byName = new Map<string, TocFile[]>();
  readonly #key: (name: string) => string;

  constructor(files: readonly TocFile[], key: (name: string) => string) {
    this.#key = key;
    for (const f of files) {
      const k = key(f.name);
      const list = this.#byName.get(k);
      if (list) list.push(f);
      else this.#byName.set(k, [f]);
    }
  }

  take(name: string): TocFile | undefined {
    const k = this.#key(name);
    const list = this.#byName.get(k);
    const f = list?.shift();
    if (list && list.length === 0) this.#byName.delete(k);
    return f;
  }

  *left(): Generator<TocFile> {
    for (const list of this.#byName.values()) yield* list;
  }
}

/**
 * Verifies a layer blob against its descriptor, streaming it once in bounded memory (pieces of
 * `readSize`, default 4 MiB; the tar is never held), for zstd:chunked, eStargz, zstd and gzip:
 *
 * - blob size and sha256 against the descriptor;
 * - the blob decompresses to a readable tar; its sha256 against `options.diffID` when given;
 * - seekable formats: the TOC digest against the annotation (or `options.tocDigest`); every TOC
 *   entry against the tar entry of the same name (type, mode, owners, size, link target, times,
 *   xattrs, devices), both ways; every file and chunk digest (and `zeros` chunk) against the
 *   bytes in the tar; every chunk offset is a zstd frame / gzip member start holding the chunk's
 *   bytes at the TOC's position (and, zstd:chunked, every `endOffset` is where the file's bytes end);
 * - zstd:chunked with a tar-split: upstream's TOC ↔ tar-split rule, and that the tar-split
 *   rebuilds the tar byte for byte.
 *
 * Problems are collected, not thrown: the report lists each with its check, code, path and offset
 * (up to `maxFailures`). Throws only for bad arguments (BAD_ARGUMENT) and a missing core.
 *
 * @example
 * ```ts
 * const report = await verifyLayer(new FileSource("layer.blob"), manifest.layers[0], { diffID: config.rootfs.diff_ids[0] });
 * if (!report.ok) for (const f of report.failures) console.error(f.check, f.code, f.path ?? "", f.message);
 * ```
 */
export async function verifyLayer(source: BlobSource, descriptor: VerifyDescriptor, options: VerifyOptions = {}): Promise<VerifyReport> {
  checkArguments(descriptor, options);
  const core = options.core ?? (await getCore());
  const findings = new Findings(options.maxFailures ?? 100);
  const annotations = descriptor.annotations;

  let blobSize: number;
  try {
    blobSize = await source.size();
  } catch (e) {
    findings.error("blob-digest", e);
    return report(findings, options.format ?? "gzip", { digest: "", size: 0, entries: 0, filesChecked: 0, chunksChecked: 0 });
  }
  if (blobSize === descriptor.size) findings.ran("blob-size");
  else {findings.fail("blob-size", "SIZE_MISMATCH", `the blob has ${blobSize} bytes, the descriptor says ${descriptor.size}`, {
      offset: Math.min(blobSize, descriptor.size),
    });}

  const format = await resolveFormat(source, annotations, descriptor.mediaType, options.format, findings);
  const seekable = formatOf(format).seekable;
  const plan = seekable
    ? await seekable.loadTocForVerify(source, { core, annotations, tocDigest: options.tocDigest, findings })
    : undefined;

  const walk = new LayerWalk(core, findings, plan, seekable ? (format === "zstd:chunked" ? "zstd:chunked" : "estargz") : "plain");
  const reader = new BlobReader(source, blobSize, core, options.readSize ?? DEFAULT_READ, options.onProgress);
  const decoder = new TarDecoder(
    core,
    compressionOf(format),
    walk.marks(),
    options.maxUncompressedSize === undefined ? {} : { maxOutput: options.maxUncompressedSize },
  );
  const diff = new DigestCounter(core);
  let tarComplete = false;
  try {
    await walk.run(tarByteStream(reader, decoder, diff));
    tarComplete = true;
  } catch (e) {
    if (reader.readError !== undefined) findings.error("blob-digest", e, { offset: reader.offset });
    else {
      findings.error("decompress", e, { offset: decoder.failureStart });
      walk.blameFiles(decoder.failureStart, decoder.bytesIn, decoder.failureStart !== decoder.lastFeed, e);
    }
  } finally {
    decoder.free();
  }
  let blobComplete = reader.readError === undefined;
  if (blobComplete) {
    try {
      await reader.drain(); // whatever the tar did not need (or all of it after a decode failure)
    } catch (e) {
      blobComplete = false;
      findings.error("blob-digest", e, { offset: reader.offset });
    }
  }

  const digest = reader.digest();
  if (blobComplete) {
    if (descriptor.digest === undefined) findings.skipped("blob-digest", `no expected digest given; the blob's is ${digest}`);
    else if (digest === descriptor.digest) findings.ran("blob-digest");
    else findings.fail("blob-digest", "DIGEST_MISMATCH", `the blob's digest is ${digest}, the descriptor says ${descriptor.digest}`);
  }
  if (tarComplete) {
    findings.ran("decompress");
    findings.ran("safe-paths");
  } else findings.skipped("safe-paths", "the tar was not read completely");

  const out: Omit<VerifyReport, "ok" | "format" | "checks" | "failures" | "failuresOmitted" | "warnings"> = {
    digest,
    size: reader.offset,
    entries: walk.entries,
    filesChecked: walk.filesChecked,
    chunksChecked: walk.chunksChecked,
  };
  if (tarComplete) {
    out.diffID = diff.digest();
    out.uncompressedSize = diff.size;
    if (options.diffID === undefined) findings.skipped("diff-id", "no diffID given");
    else if (out.diffID === options.diffID) findings.ran("diff-id");
    else findings.fail("diff-id", "DIGEST_MISMATCH", `the decompressed tar's digest is ${out.diffID}, expected diffID ${options.diffID}`);
    if (plan) await walk.finish(decoder);
  } else {
    findings.skipped("diff-id", "the blob did not decompress completely");
  }
  if (plan) {
    out.tocDigest = plan.tocDigest;
    out.tocAuthenticated = plan.authenticated;
  } else if (seekable) {
    for (const c of ["toc-vs-tar", "file-digests", "chunk-digests", "chunk-layout"] as const) findings.skipped(c, "no usable TOC");
  }
  return report(findings, format, out);
}

function report(
  findings: Findings,
  format: LayerFormat,
  rest: Omit<VerifyReport, "ok" | "format" | "checks" | "failures" | "failuresOmitted" | "warnings">,
): VerifyReport {
  return {
    ok: findings.ok,
    format,
    checks: findings.checks,
    failures: findings.failures,
    failuresOmitted: findings.omitted,
    warnings: findings.warnings,
    ...rest,
  };
}

/** The tar walk with the TOC checks of a seekable layer. */
class LayerWalk {
  readonly #core: Core;
  readonly #findings: Findings;
  readonly #plan: TocPlan | undefined;
  readonly #index: TocIndex | undefined;
  readonly #matcher: TarSplitMatcher | undefined;
  /** Tar offset of the payload of each TOC file matched. */
  readonly #dataOffsets = new Map<TocFile, number>();
  /** Padding bytes after the previous entry's payload (they lead the next entry's raw bytes). */
  #pad = 0;
  /** TOC index of the last TOC entry matched (eStargz: they must come in tar order). */
  #lastIndex = -1;
  entries = 0;
  filesChecked = 0;
  chunksChecked = 0;

  readonly #kind: LayerTarKind;

  constructor(core: Core, findings: Findings, plan: TocPlan | undefined, kind: LayerTarKind) {
    this.#kind = kind;
    this.#core = core;
    this.#findings = findings;
    this.#plan = plan;
    if (plan) {
      this.#index = new TocIndex(plan.files, plan.rules.entryKey);
      if (plan.tarSplit) this.#matcher = new TarSplitMatcher(plan.tarSplit);
    }
  }

  /** Compressed offsets whose tar positions the layout check needs. */
  *marks(): Generator<number> {
    if (!this.#plan) return;
    for (const f of this.#plan.files) {
      for (const c of f.chunks) {
        yield c.offset;
        if (c.exact) yield c.end;
      }
      const end = this.#rawEndOffset(f);
      if (end !== undefined) yield end;
    }
  }

  #rawEndOffset(f: TocFile): number | undefined {
    if (this.#plan?.rules.schema !== "zstd:chunked" || f.chunks.length === 0) return undefined;
    return this.#plan.rawEntries?.[f.index]?.endOffset;
  }

  /** Every array the tar reader returns is valid only until its next call: nothing here keeps one. */
  async run(tar: ReadableStream<Uint8Array>): Promise<void> {
    const plan = this.#plan;
    // The tar rules of the layer's kind (src/tar/layer-rules.ts): plain layers carry what Go reads.
    const tr = new TarReader(tar, { ...tarReadOptions(this.#kind), reuseBuffer: TAR_BUFFER });
    for (let e = await tr.next(); e; e = await tr.next()) {
      this.entries++;
      this.#checkPaths(e.header, e.offset);
      this.#checkPadding(e.raw, e.header.name, e.offset);
      await this.#matcher?.entry(e);
      const name = e.header.name;
      let check: ContentCheck | undefined;
      if (plan && !plan.rules.isMetadataEntry(name)) {
        const file = this.#index!.take(name);
        if (!file) {
          this.#findings.fail(
            "toc-vs-tar",
            "INCONSISTENT",
            `${JSON.stringify(name)} is in the tar but not in the TOC: lazy readers do not see it`,
            { path: name, offset: e.offset, offsetKind: "tar" },
          );
        } else {
          this.#checkOrder(file, name, e.offset);
          this.#compare(e.header, file, e.offset);
          this.#dataOffsets.set(file, e.dataOffset);
          if (file.type === "reg" && e.dataSize === file.size) check = new ContentCheck(this.#core, file, e.dataOffset, this.#findings);
        }
      }
      for (let piece = await tr.read(); piece !== null; piece = await tr.read()) {
        this.#matcher?.payload(piece);
        check?.update(piece);
      }
      if (check) {
        check.finish();
        this.filesChecked++;
        this.chunksChecked += check.checked;
      }
      await this.#matcher?.entryDone();
      this.#pad = e.padding;
    }
    await this.#matcher?.end(tr.endBytes, tr.position - tr.endBytes.length);
    for await (const piece of tr.trailing()) await this.#matcher?.trailing(piece, tr.position - piece.length);
    await this.#matcher?.finish(tr.position);
  }

  #checkPaths(hdr: TarHeader, offset: number): void {
    for (const p of pathProblems(hdr)) {
      const message = describePathProblem(hdr, p);
      if (p.severity === "error") this.#findings.fail("safe-paths", "UNSAFE_PATH", message, { path: hdr.name, offset, offsetKind: "tar" });
      else this.#findings.warn("safe-paths", message, { path: hdr.name, offset });
    }
  }

  /**
   * eStargz readers refuse a member whose tar padding is not zero (that is how a file longer than
   * its TOC entry shows): verify refuses it too. `raw` starts with the previous entry's padding.
   */
  #checkPadding(raw: Uint8Array, name: string, offset: number): void {
    const pad = this.#pad;
    this.#pad = 0;
    if (this.#plan?.rules.schema !== "estargz" || pad === 0) return;
    for (let i = 0; i < pad && i < raw.length; i++) {
      if (raw[i] !== 0) {
        this.#findings.fail(
          "chunk-layout",
          "INCONSISTENT",
          `the tar padding before ${JSON.stringify(name)} is not zero: eStargz readers refuse the member that holds it`,
          { path: name, offset, offsetKind: "tar" },
        );
        return;
      }
    }
  }

  /**
   * eStargz readers find the tar headers that follow a chunk inside its member by counting the TOC
   * entries after it: the TOC must list entries in tar order, or a lazy read refuses the member.
   */
  #checkOrder(file: TocFile, name: string, offset: number): void {
    if (this.#plan!.rules.schema !== "estargz") return;
    if (file.index < this.#lastIndex) {
      this.#findings.fail(
        "toc-vs-tar",
        "INCONSISTENT",
        `${
          JSON.stringify(name)
        } comes after TOC entry ${this.#lastIndex} in the tar but is TOC entry ${file.index}: the TOC is not in tar order, which eStargz readers rely on`,
        { path: name, offset, offsetKind: "tar" },
      );
    }
    this.#lastIndex = file.index;
  }

  #compare(hdr: TarHeader, file: TocFile, offset: number): void {
    let diffs;
    try {
      diffs = this.#plan!.rules.compare(hdr, file);
    } catch (e) {
      this.#findings.error("toc-vs-tar", e, { path: hdr.name, offset, offsetKind: "tar" });
      return;
    }
    if (diffs.length > 0) {
      this.#findings.fail(
        "toc-vs-tar",
        "INCONSISTENT",
        `${JSON.stringify(hdr.name)}: the TOC and the tar disagree (${describeDifferences(diffs)})`,
        { path: hdr.name, offset, offsetKind: "tar" },
      );
    }
  }

  /**
   * After a decompression failure in `[from, to)` of the blob: name the TOC files whose compressed
   * ranges overlap it, as lazy readers of those files would fail (or, without frame checksums,
   * read wrong bytes). With `pinned`, `from` is the start of the one gzip member that failed:
   * only the files whose ranges hold that member are named, not every file fed after it.
   */
  blameFiles(from: number, to: number, pinned: boolean, e: unknown): void {
    if (!this.#plan) return;
    const why = e instanceof LayerkitError ? `${e.code}: ${e.message}` : String(e);
    for (const file of this.#plan.files) {
      for (const c of file.chunks) {
        if (pinned ? c.offset <= from && from < c.end : c.offset < to && c.end > from) {
          this.#findings.fail(
            "file-digests",
            e instanceof LayerkitError ? e.code : "INCONSISTENT",
            `${JSON.stringify(file.name)}: its compressed bytes at ${c.offset}..${c.end} do not decompress (${why})`,
            { path: file.name, offset: c.offset },
          );
          break;
        }
      }
    }
  }

  /** After the whole blob: leftovers, chunk layout, the tar-split checks. */
  async finish(decoder: TarDecoder): Promise<void> {
    const plan = this.#plan!;
    const f = this.#findings;
    for (const file of this.#index!.left()) {
      f.fail("toc-vs-tar", "INCONSISTENT", `${JSON.stringify(file.name)} is in the TOC but not in the tar: full pulls do not see it`, {
        path: file.name,
      });
    }
    f.ran("toc-vs-tar", `${plan.files.length} TOC entries`);
    f.ran("file-digests", `${this.filesChecked} files`);
    f.ran("chunk-digests", `${this.chunksChecked} chunks`);

    let layoutChecked = 0;
    for (const [file, dataOffset] of this.#dataOffsets) {
      for (const c of file.chunks) {
        layoutChecked++;
        const at = decoder.positionAt(c.offset);
        const want = dataOffset + c.fileOffset - c.innerOffset;
        if (!decoder.startsAt(c.offset)) {
          f.fail(
            "chunk-layout",
            "INCONSISTENT",
            `${
              JSON.stringify(file.name)
            }: no zstd frame or gzip member starts at the chunk offset ${c.offset} (file offset ${c.fileOffset})`,
            { path: file.name, offset: c.offset },
          );
        } else if (at !== want) {
          f.fail(
            "chunk-layout",
            "INCONSISTENT",
            `${JSON.stringify(file.name)}: the chunk at blob offset ${c.offset} decompresses to tar offset ${
              at ?? "beyond the end"
            }, the file's bytes at file offset ${c.fileOffset} are at tar offset ${want}`,
            { path: file.name, offset: c.offset },
          );
        } else if (c.exact) {
          // An exact range (zstd:chunked) is whole frames holding the chunk and nothing else:
          // lazy readers decode exactly [offset, end) and refuse a frame cut at either side.
          const endAt = decoder.positionAt(c.end);
          if (!decoder.boundaryAt(c.end)) {
            f.fail(
              "chunk-layout",
              "INCONSISTENT",
              `${
                JSON.stringify(file.name)
              }: the chunk at blob offset ${c.offset} ends at ${c.end}, where no frame starts (a lazy reader would decode a frame cut short)`,
              { path: file.name, offset: c.end },
            );
          } else if (endAt !== want + c.size) {
            f.fail(
              "chunk-layout",
              "INCONSISTENT",
              `${JSON.stringify(file.name)}: the chunk ${c.offset}..${c.end} decompresses to ${
                endAt === undefined ? "beyond the end" : endAt - want
              } bytes, the TOC says ${c.size}`,
              { path: file.name, offset: c.offset },
            );
          }
        }
      }
      const end = this.#rawEndOffset(file);
      if (end !== undefined) {
        const at = decoder.positionAt(end);
        if (at !== dataOffset + file.size) {
          f.fail(
            "chunk-layout",
            "INCONSISTENT",
            `${JSON.stringify(file.name)}: its endOffset ${end} is at tar offset ${at ?? "beyond the end"}, the file ends at tar offset ${
              dataOffset + file.size
            }`,
            { path: file.name, offset: end },
          );
        }
      }
    }
    f.ran("chunk-layout", `${layoutChecked} chunk offsets`);

    if (plan.rules.schema === "zstd:chunked") {
      if (plan.tarSplit) {
        try {
          await checkTarSplit(plan.rawEntries, plan.tarSplit);
          f.ran("toc-vs-tar-split");
        } catch (e) {
          const path = e instanceof LayerkitError && typeof e.details["path"] === "string" ? e.details["path"] : undefined;
          f.error("toc-vs-tar-split", e, { path });
        }
        const err = this.#matcher!.error;
        if (err) {
          f.error("tar-split-vs-tar", err, {
            offset: typeof err.details["offset"] === "number" ? err.details["offset"] : undefined,
            offsetKind: "tar",
          });
        } else f.ran("tar-split-vs-tar");
      } else if (!f.failed("tar-split-vs-tar")) {
        f.skipped("toc-vs-tar-split", "the layer has no tar-split (written by containers/storage < 1.47 or stargz-snapshotter)");
        f.skipped("tar-split-vs-tar", "the layer has no tar-split");
      }
    }
  }
}
