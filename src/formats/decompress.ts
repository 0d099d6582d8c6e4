/**
 * `decompressLayer(blob: ReadableStream<Uint8Array>, compression: "gzip" | "zstd",
 *   { core?, maxOutput? })` → ReadableStream<Uint8Array> of the uncompressed tar bytes.
 *
 * Works for all four formats, because each is a valid plain stream of its compression:
 * - gzip / eStargz: every gzip member, concatenated (eStargz's per-chunk members, its TOC member
 *   and its empty footer member included; the TOC member's tar entry is part of the output, as it
 *   is for `gzip -d`), each member's CRC-32 and ISIZE checked;
 * - zstd / zstd:chunked: every zstd frame, concatenated; skippable frames (zstd:chunked's TOC,
 *   tar-split and footer) are skipped, content checksums checked when present.
 *
 * Streaming in bounded memory: the input is fed to the decoder in pieces of at most
 * {@link FEED_SIZE} bytes and output flows out with backpressure (the stream is pulled, nothing is
 * read ahead). What one step can hold: gzip inflates with zlib in WASM, which streams inside a
 * DEFLATE block, so one piece gives at most ~1032× its size in 256 KiB pieces; zstd produces one
 * piece's output at once (RLE blocks can expand a 16 KiB piece a lot). `maxOutput` bounds both.
 *
 * Errors (LayerkitError, they error the returned stream): TRUNCATED (input ends inside a gzip
 * member, or an empty gzip or zstd input), ZSTD_TRUNCATED (input ends inside a zstd frame),
 * GZIP_CORRUPT / ZSTD_CORRUPT (bad data, CRC or checksum mismatch, bad magic),
 * ZSTD_WINDOW_TOO_LARGE, LIMIT_EXCEEDED (more output than `maxOutput`), BAD_ARGUMENT.
 *
 * @module
 */
import { type Core, getCore } from "../core.js";
import { isLayerkitError, LayerkitError } from "../errors.js";
import { Gunzip } from "../gzip/gzip.js";
import type { LayerCompression } from "./format.js";

export interface DecompressLayerOptions {
  /** WASM core (zstd, and zlib for gzip); default {@link getCore}. */
  core?: Core;
  /** Refuse to produce more than this many bytes (LIMIT_EXCEEDED). Default: unbounded. */
  maxOutput?: number;
}

/** Largest input piece handed to a decoder in one step (bounds the output of one step). */
export const FEED_SIZE = 16 * 1024;

/** The steps of a streaming decoder: feed bytes, then finish (throws when input was cut short). */
interface Decoder {
  push(piece: Uint8Array): Uint8Array[];
  end(): Uint8Array[];
  free(): void;
}

function gzipDecoder(core: Core, maxOutput: number): Decoder {
  const g = new Gunzip({ maxOutput, multiMember: true, deflate: core.deflate });
  return {
    push: (p) => g.push(p),
    end: () => g.end(),
    free: () => g.free(),
  };
}

function zstdDecoder(core: Core, maxOutput: number): Decoder {
  const d = core.zstd.createDecompressor(Number.isFinite(maxOutput) ? { maxOutput } : {});
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      // One limit code for both compressions.
      if (isLayerkitError(e, "ZSTD_FRAME_TOO_LARGE")) {
        throw new LayerkitError("LIMIT_EXCEEDED", `zstd data decompresses to more than ${maxOutput} bytes`, { limit: maxOutput }, {
          cause: e,
        });
      }
      throw e;
    }
  };
  let pushed = 0;
  return {
    push: (p) => {
      pushed += p.length;
      const out = wrap(() => d.write(p));
      return out.length ? [out] : [];
    },
    end: () => {
      // No frame at all is no zstd data (the zstd CLI refuses it too), as an empty gzip input is.
      if (pushed === 0) throw new LayerkitError("TRUNCATED", "empty input: no zstd frame", { size: 0 });
      wrap(() => d.end());
      return [];
    },
    free: () => d.free(),
  };
}

function checkOptions(compression: LayerCompression, options: DecompressLayerOptions): number {
  if (compression !== "gzip" && compression !== "zstd") {
    throw new LayerkitError("BAD_ARGUMENT", `unknown compression ${JSON.stringify(compression)}; expected "gzip" or "zstd"`, {
      compression,
    });
  }
  const max = options.maxOutput ?? Number.POSITIVE_INFINITY;
  if (max !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(max) || max < 0)) {
    throw new LayerkitError("BAD_ARGUMENT", `maxOutput must be a non-negative safe integer, got ${max}`, { maxOutput: max });
  }
  return max;
}

/**
 * Decompresses a layer blob into its tar stream; see the module doc.
 *
 * @example
 * ```ts
 * const tar = decompressLayer(blobStream, "zstd", { maxOutput: 8 << 30 });
 * for await (const piece of tar) hash.update(piece);
 * ```
 */
export function decompressLayer(
  blob: ReadableStream<Uint8Array>,
  compression: LayerCompression,
  options: DecompressLayerOptions = {},
): ReadableStream<Uint8Array> {
  const maxOutput = checkOptions(compression, options);
  let decoder: Decoder | undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let pending: Uint8Array[] = [];
  let input: Uint8Array = new Uint8Array(0);
  let inputAt = 0;
  let finished = false;

  const open = async (): Promise<Decoder> => {
    if (decoder) return decoder;
    const core = options.core ?? (await getCore());
    decoder = compression === "gzip" ? gzipDecoder(core, maxOutput) : zstdDecoder(core, maxOutput);
    reader = blob.getReader();
    return decoder;
  };
  const release = (): void => {
    decoder?.free();
    finished = true;
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const d = await open();
          // Decode until some output exists (a pull must enqueue or close), one feed piece at a time.
          while (pending.length === 0) {
            if (finished) return controller.close();
            if (inputAt < input.length) {
              const piece = input.subarray(inputAt, inputAt + FEED_SIZE);
              inputAt += piece.length;
              pending = d.push(piece).filter((p) => p.length > 0);
              continue;
            }
            const { value, done } = await reader!.read();
            if (done) {
              pending = d.end().filter((p) => p.length > 0);
              release();
              continue;
            }
            input = value;
            inputAt = 0;
          }
          // One piece per pull keeps what we hold to one feed step's output.
          controller.enqueue(pending.shift()!);
        } catch (e) {
          release();
          await reader?.cancel(e).catch(() => {});
          throw e;
        }
      },
      async cancel(reason) {
        release();
        await reader?.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
