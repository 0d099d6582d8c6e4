/**
 * Our tar reader against two others on the same bytes: Go's archive/tar (the reference: through
 * one long-lived Go harness process per worker, `tar-list-stream`, never a spawn per input) and
 * tar-stream (an independent JavaScript reader). Each lists entries as name, typeflag, size,
 * link name and the digest of the payload read.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { extract as tarStreamExtract } from "tar-stream";
import { LayerkitError } from "../../src/errors.js";
import { TarReader } from "../../src/tar/index.js";

export interface TarListEntry {
  name: string;
  typeflag: string;
  size: number;
  linkname: string;
  digest: string;
}

export interface TarList {
  entries: TarListEntry[];
  /** Why the reader stopped early (a code for ours, a message for the others). */
  error?: string;
}

const sha = (b: Uint8Array): string => "sha256:" + createHash("sha256").update(b).digest("hex");

/** Our TarReader (as the campaign's extraction reads: every payload to the end, the trailer too). */
export async function ourTarList(tar: Uint8Array): Promise<TarList> {
  const entries: TarListEntry[] = [];
  try {
    const tr = new TarReader(tar, { strictTypes: false });
    for (let e = await tr.next(); e; e = await tr.next()) {
      const h = e.header;
      entries.push({ name: h.name, typeflag: h.typeflag, size: h.size, linkname: h.linkname, digest: sha(await tr.readAll()) });
    }
    for await (const piece of tr.trailing()) void piece;
    return { entries };
  } catch (e) {
    if (!(e instanceof LayerkitError)) throw e;
    return { entries, error: e.code };
  }
}

/** tar-stream's reading of the same bytes (it skips PAX/GNU extension headers itself). */
export function tarStreamList(tar: Uint8Array): Promise<TarList> {
  return new Promise((resolve) => {
    const entries: TarListEntry[] = [];
    const ex = tarStreamExtract();
    let settled = false;
    const done = (error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(error === undefined ? { entries } : { entries, error });
    };
    // tar-stream 3 never ends the entry stream of a directory header with a nonzero size (it
    // waits for a payload it does not deliver): such inputs are reported as stalled, not waited on.
    const timer = setTimeout(() => {
      done(STALLED);
      ex.destroy();
    }, 2000);
    ex.on("entry", (h, stream, next) => {
      const hash = createHash("sha256");
      stream.on("data", (d: unknown) => void hash.update(d as Buffer));
      stream.on("end", () => {
        entries.push({
          name: h.name,
          typeflag: TYPEFLAGS[h.type ?? "file"] ?? String(h.type),
          size: h.size ?? 0,
          linkname: h.linkname ?? "",
          digest: "sha256:" + hash.digest("hex"),
        });
        next();
      });
      stream.on("error", (e: Error) => done(e.message));
      stream.resume();
    });
    ex.on("finish", () => done());
    ex.on("error", (e: Error) => done(e.message));
    // streamx may close without "finish" (destroyed mid-entry): whatever was read by then.
    ex.on("close", () => done("closed before the end"));
    Readable.from([Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength)]).pipe(ex);
  });
}

const TYPEFLAGS: Record<string, string> = {
  file: "0",
  link: "1",
  symlink: "2",
  "character-device": "3",
  "block-device": "4",
  directory: "5",
  fifo: "6",
  "contiguous-file": "7",
  "pax-header": "x",
  "pax-global-header": "g",
  "gnu-long-link-path": "K",
  "gnu-long-path": "L",
};

/** tarStreamList's error when tar-stream stopped making progress. */
export const STALLED = "tar-stream stalled";

/** One Go harness process answering `tar-list` for a stream of tars, in order. */
export class GoTarLister {
  readonly #child: ChildProcess;
  readonly #waiting: Array<(l: TarList) => void> = [];
  #buf = "";

  constructor(harness: string) {
    this.#child = spawn(harness, ["tar-list-stream"], { stdio: ["pipe", "pipe", "inherit"] });
    this.#child.stdout!.setEncoding("utf8");
    this.#child.stdout!.on("data", (d: string) => {
      this.#buf += d;
      for (let nl = this.#buf.indexOf("\n"); nl >= 0; nl = this.#buf.indexOf("\n")) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        this.#waiting.shift()?.(JSON.parse(line) as TarList);
      }
    });
  }

  list(tar: Uint8Array): Promise<TarList> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      const n = Buffer.alloc(4);
      n.writeUInt32BE(tar.length);
      this.#child.stdin!.write(n);
      this.#child.stdin!.write(tar);
    });
  }

  close(): void {
    this.#child.stdin!.end();
  }
}

/** Where two listings differ, or undefined: the first entries both read must be the same. */
export function listDiff(a: TarList, b: TarList): string | undefined {
  const n = Math.min(a.entries.length, b.entries.length);
  for (let i = 0; i < n; i++) {
    const x = a.entries[i]!;
    const y = b.entries[i]!;
    for (const k of ["name", "typeflag", "size", "linkname", "digest"] as const) {
      if (x[k] !== y[k]) return `entry ${i} ${k}: ${JSON.stringify(x[k])} vs ${JSON.stringify(y[k])}`;
    }
  }
  if (a.entries.length !== b.entries.length && a.error === undefined && b.error === undefined) {
    return `${a.entries.length} entries vs ${b.entries.length}`;
  }
  return undefined;
}
