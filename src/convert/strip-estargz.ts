/**
 * Removes eStargz's own entries (`stargz.index.json`, `.prefetch.landmark`,
 * `.no.prefetch.landmark`) from a tar stream, passing every other byte through unchanged:
 * headers, extension records, payloads, padding, the end-of-archive blocks and anything after
 * them. These are the entries stargz-snapshotter's `estargz.Build` drops from its input
 * (importTar skips landmarks, the writer skips `stargz.index.json`), and the ones our
 * zstd:chunked reader takes as the eStargz schema.
 *
 * @module
 */
import { TarReader } from "../tar/reader.js";
import { streamFromGenerator } from "../util/async-queue.js";
import { cleanEntryName } from "../go/path.js";
import { NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK, TOC_TAR_NAME } from "../formats/estargz/constants.js";

/** True for the names eStargz adds to a layer (compared after cleaning, as upstream does). */
export function isEstargzEntryName(name: string): boolean {
  const c = cleanEntryName(name);
  return c === TOC_TAR_NAME || c === PREFETCH_LANDMARK || c === NO_PREFETCH_LANDMARK;
}

/**
 * The tar without eStargz's entries. `onStripped` hears each dropped entry's name. Errors are the
 * tar reader's (TAR_CORRUPT, TRUNCATED, …).
 */
export function stripEstargzEntries(tar: ReadableStream<Uint8Array>, onStripped?: (name: string) => void): ReadableStream<Uint8Array> {
  async function* run(): AsyncGenerator<Uint8Array, void, void> {
    const tr = new TarReader(tar, { strictTypes: false });
    // An entry's `raw` starts with the previous entry's padding: it belongs to (and goes with)
    // the previous entry.
    let lead = 0;
    let previousDropped = false;
    try {
      for (let e = await tr.next(); e; e = await tr.next()) {
        const drop = isEstargzEntryName(e.header.name);
        yield e.raw.subarray(previousDropped ? lead : 0, drop ? lead : e.raw.length);
        // A dropped entry's payload is skipped by the next `next()`.
        if (drop) onStripped?.(e.header.name);
        else for await (const piece of tr.data()) yield piece;
        lead = e.padding;
        previousDropped = drop;
      }
      yield tr.endBytes.subarray(previousDropped ? Math.min(lead, tr.endBytes.length) : 0);
      for await (const piece of tr.trailing()) yield piece;
    } catch (e) {
      await tr.cancel().catch(() => {});
      throw e;
    }
  }
  return streamFromGenerator(run());
}
