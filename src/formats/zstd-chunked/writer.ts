/**
 * The zstd:chunked writer, producing what current containers/storage writes (generation G4):
 * one zstd frame per payload chunk with tar headers in frames between them, the TOC and the
 * tar-split in skippable frames, footer v3, and the three `io.github.containers.zstd-chunked.*`
 * annotations (plus, by default, the two old `io.containers.zstd-chunked.*` ones c/storage ≤ 1.43 reads). Decompressing the blob gives back the input tar byte for byte.
 *
 * Format: docs/formats/zstd-chunked.md §1.2 (segmentation), §2 (TOC), §3 (tar-split), §5 (chunking).
 *
 * @module
 */
import type { Core, Hasher } from "../../core.js";
import { LayerkitError } from "../../errors.js";
import { byteStreamFromGenerator } from "../../util/async-queue.js";
import { DigestCounter } from "../../util/digest-counter.js";
import { OCI_LAYER_ZSTD } from "../../oci/media-types.js";
import type { LayerResult, LayerWriter } from "../../layer/result.js";
import { formatZstdChunkedAnnotations, parseAnnotationKeys, type ZstdChunkedAnnotationKeys } from "./annotations.js";
import { buildFooterV3, SKIPPABLE_HEADER_SIZE, skippableFrameHeader } from "./footer.js";
import type { Toc, TocEntry } from "../../layer/toc.js";
import { TarReader } from "../../tar/reader.js";
import { concatBytes } from "../../util/bytes.js";
import { hasInvalidUtf8 } from "../../go/strings.js";
import { Crc64 } from "../../util/crc64.js";
import type { ZstdCompressor } from "../../wasm/zstd.js";
import { Chunker } from "./chunker.js";
import { fileMetadataFromHeader } from "../../layer/file-metadata.js";
import { serializeTocEntry } from "./toc-json.js";
import { goJsonString } from "../../go/json-string.js";
import { TarSplitWriter } from "./tar-split.js";
import { LinkRules, WRITER_LINK_CODES } from "../../layer/link-rules.js";

export interface ZstdChunkedOptions {
  /** zstd level for payload, TOC and tar-split (default 3; upstream's own default is 10). */
  level?: number;
  /** Which annotation keys the descriptor gets (default `both`: the current and the old ones). */
  annotationKeys?: ZstdChunkedAnnotationKeys;
}

/** One chunk of a file as the chunker cut it, with where its frame landed. */
interface WrittenChunk {
  fileOffset: number;
  size: number;
  offset: number;
  digest: string;
  zeros: boolean;
}

export function createZstdChunkedLayer(core: Core, input: ReadableStream<Uint8Array>, options: ZstdChunkedOptions = {}): LayerWriter {
  const level = options.level ?? 3;
  const annotationKeys = parseAnnotationKeys(options.annotationKeys);
  let settle!: { resolve: (r: LayerResult) => void; reject: (e: unknown) => void };
  const result = new Promise<LayerResult>((resolve, reject) => (settle = { resolve, reject }));
  result.catch(() => {});

  const blob = new BlobOutput(core);

  async function* run(): AsyncGenerator<Uint8Array, void, void> {
    const tarDigest = new DigestCounter(core);
    // Three compressors are alive at once (payload, TOC, tar-split): compact rings keep the
    // WASM heap at ~18 MiB instead of ~57 MiB (a 1 GiB tar).
    const zstd = core.zstd.createCompressor({ level, checksum: true, compact: true });
    // The TOC JSON and the tar-split are compressed as they grow (each into its own frame), so
    // only their compressed bytes are held until the end of the layer: for a 1 GiB tar the
    // uncompressed tar-split alone is ~70 MiB and 90,000 TOC entries as objects ~75 MiB. The TOC
    // JSON starts with `{"version":1,"entries":[` at the first entry; a layer without entries
    // gets `"entries":null` at the end.
    const tocJson = new CompressedFrame(core, level);
    let entryCount = 0;
    const addEntries = (...added: TocEntry[]): void => {
      for (const e of added) {
        tocJson.pushText((entryCount > 0 ? "," : tocHead(true)) + serializeTocEntry(e));
        entryCount++;
      }
    };
    const tarSplitJson = new CompressedFrame(core, level);
    const tarSplit = new TarSplitWriter((line) => tarSplitJson.push(line));
    // Every input byte is hashed as it arrives: the diffID covers trailing bytes too. A byte
    // stream is read into one reused buffer (everything below uses each piece before the next read).
    const tar = new TarReader(input, { strictTypes: true, reuseBuffer: INPUT_BUFFER, onPiece: (bytes) => tarDigest.update(bytes) });
    const links = new LinkRules(WRITER_LINK_CODES);
    let entryIndex = 0;
    try {
      for await (const entry of tar) {
        const name = entry.header.name;
        if (hasInvalidUtf8(name)) {
          // The TOC would carry U+FFFD where tar-split keeps the raw bytes: upstream's consistency check fails.
          throw new LayerkitError(
            "TAR_UNSUPPORTED",
            `tar entry name ${JSON.stringify(name)} is not valid UTF-8, which zstd:chunked cannot represent consistently`,
            { name },
          );
        }
        const meta = fileMetadataFromHeader(entry.header);
        links.add(meta.type, name, meta.linkName, entryIndex++); // readers refuse ambiguous hardlinks: never write one
        // Header bytes (with the previous entry's padding) go into the current header frame.
        zstd.writeTo(entry.raw, blob.put);
        tarSplit.addSegment(entry.raw);
        if (entry.dataSize === 0) {
          addEntries(meta);
          tarSplit.addFile(name, 0);
          yield* blob.drain();
          continue;
        }
        // The header frame ends before the first payload byte, so payload frames hold nothing else.
        zstd.endFrameTo(blob.put);
        const file = new FileFrames(core, blob, zstd);
        for (let piece = await tar.read(); piece !== null; piece = await tar.read()) {
          file.write(piece);
          yield* blob.drain();
        }
        file.finish();
        yield* blob.drain();
        addEntries(...fileEntries(meta, file.digest(), file.chunks, blob.offset));
        tarSplit.addFile(name, entry.dataSize, file.crc());
      }
      // Last padding, end-of-archive blocks and every trailing byte: the blob decompresses to the input.
      zstd.writeTo(tar.endBytes, blob.put);
      tarSplit.addSegment(tar.endBytes);
      for await (const piece of tar.trailing()) {
        zstd.writeTo(piece, blob.put);
        tarSplit.addTrailing(piece);
        yield* blob.drain();
      }
      zstd.endFrameTo(blob.put);
      tarSplit.finish();
      yield* blob.drain();

      const tarSplitFrame = tarSplitJson.finish();
      const tarSplitDigest = digestOfParts(core, tarSplitFrame.parts);
      tocJson.pushText((entryCount === 0 ? tocHead(false) : "") + tocTail(entryCount > 0, tarSplitDigest));
      const tocFrame = tocJson.finish();

      // The metadata frames go out piece by piece: a copy of each in one array would be the
      // writer's largest allocation.
      const tocPosition = { offset: blob.offset + SKIPPABLE_HEADER_SIZE, length: tocFrame.size, uncompressedLength: tocFrame.length };
      blob.push(skippableFrameHeader(tocFrame.size));
      for (const part of tocFrame.parts) {
        blob.push(part);
        yield* blob.drain();
      }
      const tarSplitPosition = {
        offset: blob.offset + SKIPPABLE_HEADER_SIZE,
        length: tarSplitFrame.size,
        uncompressedLength: tarSplitFrame.length,
      };
      blob.push(skippableFrameHeader(tarSplitFrame.size));
      for (const part of tarSplitFrame.parts.splice(0)) {
        blob.push(part);
        yield* blob.drain();
      }
      blob.push(
        buildFooterV3({
          tocOffset: tocPosition.offset,
          tocLength: tocPosition.length,
          tocUncompressedLength: tocPosition.uncompressedLength,
          tarSplitOffset: tarSplitPosition.offset,
          tarSplitLength: tarSplitPosition.length,
          tarSplitUncompressedLength: tarSplitPosition.uncompressedLength,
        }),
      );
      yield* blob.drain(true);

      const tocDigest = digestOfParts(core, tocFrame.parts);
      const annotations = formatZstdChunkedAnnotations({ tocDigest, manifestPosition: tocPosition, tarSplitPosition }, annotationKeys);
      const blobDigest = blob.digest();
      const result: LayerResult = {
        format: "zstd:chunked",
        descriptor: { mediaType: OCI_LAYER_ZSTD, digest: blobDigest, size: blob.offset, annotations },
        digest: blobDigest,
        size: blob.offset,
        diffID: tarDigest.digest(),
        uncompressedSize: tarDigest.size,
        annotations,
        tocDigest,
      };
      const tocParts = tocFrame.parts;
      settle.resolve(withLazyToc(result, () => JSON.parse(new TextDecoder().decode(core.zstd.decompress(concatBytes(tocParts)))) as Toc));
    } catch (e) {
      settle.reject(e);
      await tar.cancel().catch(() => {});
      throw e;
    } finally {
      zstd.free();
      tocJson.free();
      tarSplitJson.free();
    }
  }
  return { stream: byteStreamFromGenerator(run(), blob.recycle), result };
}

const utf8 = new TextEncoder();

/** Size of the reused input buffer when the tar arrives as a byte stream. */
const INPUT_BUFFER = 1 << 20;

/** The text of `serializeToc(toc)` before its entries (toc-json.ts: same layout). */
function tocHead(hasEntries: boolean): string {
  return '{"version":1,"entries":' + (hasEntries ? "[" : "null");
}

/** The text of `serializeToc(toc)` after its entries. */
function tocTail(hasEntries: boolean, tarSplitDigest: string): string {
  return (hasEntries ? "]" : "") + ',"tarSplitDigest":' + goJsonString(tarSplitDigest) + "}";
}

/**
 * `result.toc`, parsed from the compressed TOC frame on first access: holding the entries as
 * objects while the layer is written would cost ~0.8 KiB per entry, most of the writer's memory.
 */
function withLazyToc(result: LayerResult, parse: () => Toc): LayerResult {
  let toc: Toc | undefined;
  return Object.defineProperty(result, "toc", {
    enumerable: true,
    configurable: true,
    get: () => (toc ??= parse()),
  });
}

/**
 * The TOC and tar-split frames use at most a 512 KiB window (2 MiB at level 3): their compressor
 * contexts stay ~3 MiB each for ~1% more bytes.
 */
const METADATA_WINDOW_LOG = 19;

/** Input handed to a {@link CompressedFrame}'s compressor in pieces of this size. */
const FEED_BLOCK = 1 << 20;

/**
 * A zstd frame (level, checksum on) of bytes pushed a few at a time: they are packed into 1 MiB
 * blocks, each compressed as it fills, and only the compressed output is kept. Feeding fixed
 * blocks keeps the output a function of the bytes alone, whatever the pushes were.
 */
class CompressedFrame {
  private readonly compressor: ZstdCompressor;
  private readonly block = new Uint8Array(FEED_BLOCK);
  private used = 0;
  private readonly parts: Uint8Array[] = [];
  private size = 0;
  private readonly keep = (view: Uint8Array): void => {
    this.parts.push(view.slice());
    this.size += view.length;
  };
  /** Uncompressed bytes pushed. */
  length = 0;

  constructor(core: Core, level: number) {
    this.compressor = core.zstd.createCompressor({ level, checksum: true, compact: true, windowLog: METADATA_WINDOW_LOG });
  }

  push(bytes: Uint8Array): void {
    this.length += bytes.length;
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(FEED_BLOCK - this.used, bytes.length - at);
      this.block.set(bytes.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
      if (this.used === FEED_BLOCK) this.flushBlock();
    }
  }

  /** Pushes the UTF-8 of `text`, encoded straight into the block (the same blocks as push()). */
  pushText(text: string): void {
    for (;;) {
      const { read, written } = utf8.encodeInto(text, this.block.subarray(this.used));
      this.used += written;
      this.length += written;
      if (this.used === FEED_BLOCK) this.flushBlock();
      if (read === text.length) return;
      text = text.slice(read);
      if (this.used > 0) {
        // The next character does not fit whole: split its bytes across blocks as push() does.
        const n = text.codePointAt(0)! > 0xffff ? 2 : 1;
        this.push(utf8.encode(text.slice(0, n)));
        text = text.slice(n);
      }
    }
  }

  private flushBlock(): void {
    this.compressor.writeTo(this.block.subarray(0, this.used), this.keep);
    this.used = 0;
  }

  /** The frame's bytes (in pieces), their total size, and the number of bytes it holds. */
  finish(): { parts: Uint8Array[]; size: number; length: number } {
    if (this.used > 0) this.flushBlock();
    this.compressor.endFrameTo(this.keep);
    return { parts: this.parts, size: this.size, length: this.length };
  }

  free(): void {
    this.compressor.free();
  }
}

/** Compressed output is handed out in pieces of exactly this size (but the last). */
const OUTPUT_BATCH = 256 * 1024;

/** Batches kept for reuse after a BYOB consumer copied them (one would do; a few absorb bursts). */
const SPARE_BATCHES = 4;

/**
 * Compressed output on its way out: hashed and counted when produced, and copied straight from
 * WASM memory into fixed-size batches, the only buffers the writer allocates per output byte
 * (and none once a BYOB consumer hands them back through `recycle`).
 */
class BlobOutput {
  private readonly counter: DigestCounter;
  /** The batch being filled (taken on the first byte after the previous one left). */
  private batch: Uint8Array | undefined;
  private used = 0;
  private ready: Uint8Array[] = [];
  private readonly spare: Uint8Array[] = [];
  /** For ZstdCompressor.writeTo/endFrameTo: takes a view valid only during the call. */
  readonly put = (view: Uint8Array): void => this.push(view);
  /** A batch handed out earlier whose bytes the consumer copied: it may be filled again. */
  readonly recycle = (piece: Uint8Array): void => {
    if (piece.buffer.byteLength === OUTPUT_BATCH && this.spare.length < SPARE_BATCHES) this.spare.push(new Uint8Array(piece.buffer));
  };

  constructor(core: Core) {
    this.counter = new DigestCounter(core);
  }

  /** Offset in the blob of the next byte produced. */
  get offset(): number {
    return this.counter.size;
  }

  /** Appends `bytes` (copied). */
  push(bytes: Uint8Array): void {
    this.counter.update(bytes);
    for (let at = 0; at < bytes.length;) {
      const batch = (this.batch ??= this.spare.pop() ?? new Uint8Array(OUTPUT_BATCH));
      const n = Math.min(OUTPUT_BATCH - this.used, bytes.length - at);
      batch.set(n === bytes.length ? bytes : bytes.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
      if (this.used === OUTPUT_BATCH) {
        this.ready.push(batch);
        this.batch = undefined;
        this.used = 0;
      }
    }
  }

  /** Hands out the full batches (with `all`, the partial one too). */
  *drain(all = false): Generator<Uint8Array, void, void> {
    if (this.ready.length > 0) {
      const ready = this.ready;
      this.ready = [];
      yield* ready;
    }
    if (all && this.batch) {
      const last = this.batch.subarray(0, this.used);
      this.batch = undefined;
      this.used = 0;
      yield last;
    }
  }

  digest(): string {
    return this.counter.digest();
  }
}

/**
 * One regular file's payload: cut into chunks by upstream's rolling checksum, one zstd frame per
 * chunk, with the file digest, chunk digests and the tar-split CRC-64 computed on the way.
 *
 * Most files are one chunk, whose digest is the file digest: the first chunk is hashed only by
 * the file hasher, whose state at the chunk's end is cloned when a second chunk follows, so each
 * payload byte is hashed once.
 */
class FileFrames {
  readonly chunks: WrittenChunk[] = [];
  private readonly fileHash: Hasher;
  /** The current chunk's hasher (from the second chunk on, created on its first byte). */
  private chunkHash: Hasher | undefined;
  private readonly crc64 = new Crc64();
  private chunkStart: number;
  private readonly chunker: Chunker;

  constructor(
    private readonly core: Core,
    private readonly blob: BlobOutput,
    private readonly zstd: ZstdCompressor,
  ) {
    this.fileHash = core.sha256();
    this.chunkStart = blob.offset;
    this.chunker = new Chunker({
      data: (bytes) => {
        if (this.chunks.length > 0) {
          if (!this.chunkHash) {
            // A second chunk begins: the file hasher holds exactly the first chunk.
            if (this.chunks.length === 1) this.chunks[0]!.digest = "sha256:" + this.fileHash.clone().hex();
            this.chunkHash = this.core.sha256();
          }
          this.chunkHash.update(bytes);
        }
        this.fileHash.update(bytes);
        this.zstd.writeTo(bytes, this.blob.put);
      },
      end: (chunk) => {
        this.zstd.endFrameTo(this.blob.put);
        // The first chunk's digest is decided by what follows (see data, and digest()).
        const digest = this.chunkHash ? "sha256:" + this.chunkHash.hex() : "";
        this.chunkHash = undefined;
        this.chunks.push({ fileOffset: chunk.offset, size: chunk.length, offset: this.chunkStart, digest, zeros: chunk.zeros });
        this.chunkStart = this.blob.offset;
      },
    });
  }

  write(piece: Uint8Array): void {
    this.crc64.update(piece);
    this.chunker.write(piece);
  }

  finish(): void {
    this.chunker.finish();
  }

  /** The file digest; call once, after finish(). */
  digest(): string {
    const d = "sha256:" + this.fileHash.hex();
    if (this.chunks.length === 1) this.chunks[0]!.digest = d; // the only chunk is the whole file
    return d;
  }

  crc(): Uint8Array {
    return this.crc64.sum();
  }
}

function digestOfParts(core: Core, parts: readonly Uint8Array[]): string {
  const h = core.sha256();
  for (const p of parts) h.update(p);
  return "sha256:" + h.hex();
}

/**
 * The TOC entries of one regular file with payload (docs/formats/zstd-chunked.md §2.4): chunk fields only when the file
 * has more than one chunk; chunk 0's fields ride on the `reg` entry, the rest are `chunk` entries.
 *
 * The `reg` entry is `meta` itself, completed in place: a `{ ...meta }` copy per file made V8
 * pretenure the copies, whose dead old-space bodies then kept each file's young strings alive
 * through scavenges (measured: 43 MiB promoted per GiB of tar instead of 7, and a young
 * generation grown to its 32 MiB maximum).
 */
function fileEntries(meta: TocEntry, fileDigest: string, chunks: WrittenChunk[], endOffset: number): TocEntry[] {
  const first = chunks[0]!;
  const reg = meta;
  reg.digest = fileDigest;
  reg.offset = first.offset;
  reg.endOffset = endOffset;
  if (chunks.length === 1) return [reg];
  reg.chunkSize = first.size;
  reg.chunkDigest = first.digest;
  if (first.zeros) reg.chunkType = "zeros";
  const out: TocEntry[] = [reg];
  for (const c of chunks.slice(1)) {
    const e: TocEntry = {
      type: "chunk",
      name: meta.name,
      offset: c.offset,
      chunkSize: c.size,
      chunkOffset: c.fileOffset,
      chunkDigest: c.digest,
    };
    if (c.zeros) e.chunkType = "zeros";
    out.push(e);
  }
  return out;
}
