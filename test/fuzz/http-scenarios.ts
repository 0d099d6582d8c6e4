/**
 * HTTP fault scenarios: a seekable base layer served by the fault server of
 * test/support/http-server.ts on 127.0.0.1 with a seeded mix of misbehaviours (200 instead of
 * 206, 5xx bursts, resets, cut bodies, stalls, wrong Content-Range/Length, bad multipart,
 * refused or merged multi-range, redirects and redirect loops), then read lazily through
 * HttpSource: the TOC, some files, raw ranges and the tail. Oracles:
 *
 * - every result is the right bytes (those a MemorySource over the same blob gives) or a
 *   LayerkitError, never other bytes, never an untyped error;
 * - the server saw exactly the requests the source counted, and no more than the documented
 *   bound of the operations made (HttpSource.requestBound per operation);
 * - nothing hangs: the idle timeout ends stalls (the campaign's watcher catches a hang).
 *
 * @module
 */
import type { Core } from "../../src/core.js";
import { LayerkitError } from "../../src/errors.js";
import { readFile } from "../../src/lazy/read-file.js";
import { openLayerIndex } from "../../src/lazy/layer-index.js";
import type { BlobSource, ByteRange } from "../../src/source/blob-source.js";
import { HttpSource } from "../../src/source/http.js";
import { MemorySource } from "../../src/source/memory.js";
import { type BlobBehaviour, FaultServer, type TransientFault } from "../support/http-server.js";
import type { Finding } from "./oracle.js";
import { sha } from "./reseal.js";
import type { Rng } from "./rng.js";
import type { BaseLayer } from "./samples.js";

interface Expected {
  base: BaseLayer;
  files: Map<string, string>; // name → digest of what readFile gives from memory
}

/** An upper bound on the requests of each call, from the source's own documented bound. */
class Bounded implements BlobSource {
  bound = 0;
  constructor(readonly inner: HttpSource) {}
  get stats() {
    return this.inner.stats;
  }
  get knownSize() {
    return this.inner.knownSize;
  }
  size(): Promise<number> {
    this.bound += this.inner.requestBound(2);
    return this.inner.size();
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    this.bound += this.inner.requestBound(1);
    return this.inner.read(offset, length);
  }
  readRanges(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    this.bound += this.inner.requestBound(ranges.length + 8);
    return this.inner.readRanges(ranges);
  }
  readTail(length: number) {
    // One suffix request, or (size known) size() then read().
    this.bound += this.inner.requestBound(1) + this.inner.requestBound(2) + this.inner.requestBound(1);
    return this.inner.readTail(length);
  }
}

const FAULTS: TransientFault[] = ["500", "503", "reset", "reset-mid-body", "short-body", "stall-mid-body"];

function behaviour(r: Rng, tags: string[]): BlobBehaviour {
  const b: BlobBehaviour = {};
  const on = (p: number, tag: string, set: () => void): void => {
    if (r.chance(p)) {
      set();
      tags.push("fault:" + tag);
    }
  };
  on(0.1, "ignore-range", () => (b.ignoreRange = true));
  on(0.1, "refuse-multi", () => (b.refuseMultiRange = r.pick([400, 416, 501] as const)));
  on(0.08, "merge-multi", () => (b.mergeMultiRange = true));
  on(0.4, "transient", () => (b.transient = { fault: r.pick(FAULTS), times: r.pick([1, 2, 3, 1000]) }));
  on(0.05, "wrong-content-range", () => (b.wrongContentRange = true));
  on(0.05, "wrong-content-length", () => (b.wrongContentLength = true));
  on(0.1, "bad-multipart", () => (b.badMultipart = r.pick(["wrong-range", "no-boundary-end", "garbage"] as const)));
  on(0.2, "no-head", () => (b.noHead = true));
  on(0.02, "stall", () => (b.stall = r.pick(["headers", "body"] as const)));
  on(0.1, "max-ranges", () => (b.maxRanges = r.pick([1, 2])));
  return b;
}

export class HttpScenarios {
  readonly #expected: Expected[];
  #n = 0;

  private constructor(readonly server: FaultServer, expected: Expected[]) {
    this.#expected = expected;
  }

  static async start(core: Core, bases: BaseLayer[]): Promise<HttpScenarios> {
    const expected: Expected[] = [];
    for (const base of bases) {
      const source = new MemorySource(base.blob);
      const index = await openLayerIndex(source, { core, annotations: base.annotations });
      const files = new Map<string, string>();
      for (const e of index.entries) {
        if (e.type !== "reg" || files.has(e.name)) continue;
        files.set(e.name, sha(await readFile(source, e.name, { core, index })));
      }
      expected.push({ base, files });
    }
    return new HttpScenarios(await FaultServer.start(), expected);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  /** One scenario. */
  async run(core: Core, r: Rng): Promise<{ findings: Finding[]; tags: string[] }> {
    const findings: Finding[] = [];
    const tags: string[] = [];
    const { base, files } = r.pick(this.#expected);
    const blob = base.blob;
    tags.push("http:" + base.format);
    const id = this.#n++;
    const path = `/s${id}`;
    const served = [path];
    const b = behaviour(r, tags);
    let url: string;
    const redirect = r.int(20);
    if (redirect === 0) {
      url = this.server.serve(path, blob, { redirectTo: this.server.url(path) });
      tags.push("fault:redirect-loop");
    } else if (redirect < 4) {
      const target = `/t${id}`;
      served.push(target);
      this.server.serve(target, blob, b);
      url = this.server.serve(path, blob, { redirectTo: this.server.url(target) });
      tags.push("fault:redirect");
    } else url = this.server.serve(path, blob, b);
    const http = new HttpSource(url, {
      retry: { retries: r.int(4), baseDelayMs: r.int(2), maxDelayMs: 2 },
      idleTimeoutMs: 150,
      maxRedirects: r.pick([0, 1, 3, 10]),
      ...(r.chance(0.3) ? { size: blob.length } : {}),
      ...(r.chance(0.2) ? { multiRange: false } : {}),
      ...(r.chance(0.2) ? { coalesceGap: 0 } : {}),
    });
    const source = new Bounded(http);
    const fail = (what: string, e: unknown): void => {
      if (e instanceof LayerkitError && typeof e.code === "string" && e.code.length > 0) {
        tags.push(`http-${what}:${e.code}`);
        return;
      }
      findings.push({ kind: "untyped", message: `${what} over HTTP: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` });
    };
    const same = (what: string, got: Uint8Array, want: Uint8Array | string): void => {
      tags.push(`http-${what}:ok`);
      if (sha(got) !== (typeof want === "string" ? want : sha(want))) {
        findings.push({ kind: "disagree", message: `${what} over a faulty network returned other bytes (${got.length})` });
      }
    };
    const op = r.int(4);
    try {
      if (op <= 1) {
        const index = await openLayerIndex(source, { core, annotations: base.annotations });
        tags.push("http-index:ok");
        const names = [...files.keys()];
        for (let k = 1 + r.int(3); k > 0 && names.length > 0; k--) {
          const name = r.pick(names);
          try {
            same("readFile", await readFile(source, name, { core, index }), files.get(name)!);
          } catch (e) {
            fail("readFile", e);
          }
        }
      } else if (op === 2) {
        const ranges: ByteRange[] = [];
        for (let k = 1 + r.int(5); k > 0; k--) {
          const offset = r.int(blob.length);
          ranges.push({ offset, length: Math.min(blob.length - offset, 1 + r.int(3000)) });
        }
        const got = await source.readRanges(ranges);
        got.forEach((g, i) => same("readRanges", g, blob.subarray(ranges[i]!.offset, ranges[i]!.offset + ranges[i]!.length)));
      } else {
        const n = 1 + r.int(200);
        const t = await source.readTail(n);
        same("readTail", t.bytes, blob.subarray(blob.length - Math.min(n, blob.length)));
        if (t.size !== blob.length) {
          findings.push({ kind: "disagree", message: `readTail says size ${t.size}, the blob has ${blob.length}` });
        }
        const offset = r.int(blob.length);
        same(
          "read",
          await source.read(offset, Math.min(100, blob.length - offset)),
          blob.subarray(offset, offset + Math.min(100, blob.length - offset)),
        );
      }
    } catch (e) {
      fail(["index", "index", "readRanges", "read"][op]!, e);
    }
    const sent = this.server.log.filter((l) => served.includes(l.path)).length;
    // Client and server share one event loop: a request the client gave up on (idle timeout) may
    // never reach the handler, so the server can see fewer than were sent, never more.
    const counted = http.stats.requests;
    if (sent > counted) findings.push({ kind: "disagree", message: `the server saw ${sent} requests, the source counted ${counted}` });
    if (counted > source.bound) findings.push({ kind: "disagree", message: `${counted} requests, over the bound of ${source.bound}` });
    tags.push(`http-requests:${sent <= 2 ? sent : sent <= 8 ? "3-8" : "9+"}`);
    for (const p of served) this.server.unserve(p);
    this.server.log.length = 0;
    return { findings, tags };
  }
}
