/**
 * The tar bytes of a layer blob as a byte stream that the tar reader reads into one reused
 * buffer: the blob is read piece by piece, decoded, hashed for the diffID, and copied out of the
 * decompressor's memory into a staging buffer that is reused too. A gigabyte layer then leaves
 * no trail of per-piece buffers for the garbage collector (which, for external memory, runs
 * only after tens of MiB of it have piled up).
 *
 * @module
 */
import type { DigestCounter } from "../util/digest-counter.js";
import type { BlobReader } from "./blob-reader.js";
import type { TarDecoder } from "./tar-decoder.js";

/**
 * Compressed bytes handed to the decompressor at a time: what one push can expand to (and so the
 * staging buffer) is bounded by this times the format's worst ratio (gzip ≈ 1032:1).
 */
const FEED = 64 << 10;

export function tarByteStream(reader: BlobReader, decoder: TarDecoder, diff: DigestCounter): ReadableStream<Uint8Array> {
  let staged = new Uint8Array(FEED * 8);
  let stagedEnd = 0;
  let stagedAt = 0;
  let piece: Uint8Array | null = new Uint8Array(0);
  let pieceAt = 0;
  let ended = false;
  const stage = (view: Uint8Array): void => {
    diff.update(view);
    if (stagedEnd + view.length > staged.length) {
      const bigger = new Uint8Array(Math.max(staged.length * 2, stagedEnd + view.length));
      bigger.set(staged.subarray(0, stagedEnd));
      staged = bigger;
    }
    staged.set(view, stagedEnd);
    stagedEnd += view.length;
  };
  /** Decodes until something is staged; false at the end of the tar. */
  const refill = async (): Promise<boolean> => {
    stagedAt = stagedEnd = 0;
    while (stagedEnd === 0) {
      if (ended) return false;
      if (piece !== null && pieceAt >= piece.length) {
        piece = await reader.next();
        pieceAt = 0;
      }
      if (piece === null) {
        ended = true;
        decoder.end(stage);
      } else {
        decoder.push(piece.subarray(pieceAt, pieceAt + FEED), stage);
        pieceAt += FEED;
      }
    }
    return true;
  };
  return new ReadableStream({
    type: "bytes",
    async pull(controller) {
      if (stagedAt >= stagedEnd && !(await refill())) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const request = controller.byobRequest;
      const n = Math.min(request ? request.view!.byteLength : stagedEnd - stagedAt, stagedEnd - stagedAt);
      const bytes = staged.subarray(stagedAt, stagedAt + n);
      stagedAt += n;
      if (request) {
        new Uint8Array(request.view!.buffer, request.view!.byteOffset, n).set(bytes);
        request.respond(n);
      } else controller.enqueue(bytes.slice());
    },
  });
}
