/**
 * A push-driven tar validator: bytes go in as they stream past (to a compressor, say) and every
 * entry's headers are parsed by the one header parser ({@link nextEntry}), so a writer never
 * emits a layer whose tar the readers refuse. Payloads are counted, not kept: memory is bounded
 * by one entry's headers (extension data at most 1 MiB, as in Go).
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { concatBytes } from "../util/bytes.js";
import { nextEntry, type NextOptions, type NextResult } from "./header.js";
import type { TarHeader } from "./types.js";

/** Called for each entry once its headers are parsed; throw to refuse it. */
export type TarEntryCheck = (header: TarHeader, offset: number) => void;

const EMPTY = new Uint8Array(0);

export class TarChecker {
  readonly #options: NextOptions;
  readonly #onEntry: TarEntryCheck | undefined;
  #gen: Generator<number, NextResult, Uint8Array> | undefined;
  #want = 0;
  #parts: Uint8Array[] = [];
  #have = 0;
  /** Payload bytes of the current entry still to pass. */
  #skip = 0;
  #pad = 0;
  /** Stream offset of the next byte. */
  #pos = 0;
  #entryAt = 0;
  #name = "";
  #ended = false;
  #error: unknown;
  /** Entries checked. */
  entries = 0;

  constructor(options: NextOptions = {}, onEntry?: TarEntryCheck) {
    this.#options = options;
    this.#onEntry = onEntry;
  }

  /** True once the end-of-archive marker (or the end of input) was reached. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Checks the next piece of the tar stream (bytes after the end of the archive are ignored, as Go does). */
  push(bytes: Uint8Array): void {
    this.#guard(() => {
      let at = 0;
      while (at < bytes.length && !this.#ended) {
        if (this.#skip > 0) {
          const n = Math.min(this.#skip, bytes.length - at);
          this.#skip -= n;
          at += n;
          this.#pos += n;
          continue;
        }
        if (!this.#gen) this.#start();
        if (this.#ended) break;
        const n = Math.min(this.#want - this.#have, bytes.length - at);
        // Copied: the parser keeps views of header bytes across requests, and callers may reuse buffers.
        this.#parts.push(bytes.slice(at, at + n));
        this.#have += n;
        at += n;
        this.#pos += n;
        if (this.#have === this.#want) this.#reply(this.#take());
      }
    });
  }

  /** Declares the end of input: throws TRUNCATED when it stopped inside an entry. */
  end(): void {
    this.#guard(() => {
      if (this.#ended) return;
      if (this.#skip > 0) {
        throw new LayerkitError(
          "TRUNCATED",
          `tar: unexpected end of input in the payload of ${JSON.stringify(this.#name)} (${this.#skip} bytes missing)`,
          {
            offset: this.#pos,
            name: this.#name,
            missing: this.#skip,
          },
        );
      }
      if (!this.#gen) this.#start();
      if (this.#gen) this.#reply(this.#take());
      while (this.#gen) this.#reply(EMPTY);
    });
  }

  #guard(run: () => void): void {
    if (this.#error !== undefined) throw this.#error;
    try {
      run();
    } catch (e) {
      this.#error = e;
      throw e;
    }
  }

  #take(): Uint8Array {
    const b = this.#parts.length === 1 ? this.#parts[0]! : concatBytes(this.#parts);
    this.#parts = [];
    this.#have = 0;
    return b;
  }

  #start(): void {
    this.#entryAt = this.#pos;
    this.#gen = nextEntry(this.#pad, this.#pos, this.#options);
    this.#settle(this.#gen.next());
  }

  #reply(bytes: Uint8Array): void {
    this.#settle(this.#gen!.next(bytes));
  }

  #settle(step: IteratorResult<number, NextResult>): void {
    if (!step.done) {
      this.#want = step.value;
      return;
    }
    this.#gen = undefined;
    const r = step.value;
    if (r.kind === "end") {
      this.#ended = true;
      return;
    }
    this.entries++;
    this.#name = r.header.name;
    this.#onEntry?.(r.header, this.#entryAt);
    this.#skip = r.dataSize;
    this.#pad = r.pad;
  }
}

/**
 * `input` passed through unchanged while a {@link TarChecker} validates it: a piece that completes
 * a bad header is not passed on, and the stream errors with the checker's typed error instead.
 * A byte stream stays one: BYOB reads of the result read into the caller's buffer.
 */
export function checkedTarStream(
  input: ReadableStream<Uint8Array>,
  options: NextOptions,
  onEntry?: TarEntryCheck,
): ReadableStream<Uint8Array> {
  const checker = new TarChecker(options, onEntry);
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = input.getReader({ mode: "byob" });
  } catch {
    byob = undefined; // not a byte stream
  }
  if (byob) return checkedByteStream(byob, checker);
  return input.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        checker.push(chunk);
        controller.enqueue(chunk);
      },
      flush() {
        checker.end();
      },
    }),
  );
}

function checkedByteStream(reader: ReadableStreamBYOBReader, checker: TarChecker): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: 64 * 1024,
    async pull(controller) {
      const request = controller.byobRequest!;
      const view = request.view!;
      const { value, done } = await reader.read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      if (done) {
        checker.end();
        controller.close();
        // A closed stream still owes the pending request an answer (of no bytes).
        if (value) controller.byobRequest?.respondWithNewView(value);
        return;
      }
      checker.push(value);
      request.respondWithNewView(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
