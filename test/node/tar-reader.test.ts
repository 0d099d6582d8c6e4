/**
 * TarReader on good and bad archives: every damaged input must give a typed LayerkitError with a
 * code (TRUNCATED, TAR_CORRUPT, TAR_UNSUPPORTED, LIMIT_EXCEEDED, UNSAFE_PATH), memory stays
 * bounded on huge extension headers, and good archives read back exactly what was written.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { LayerkitError } from "../../src/errors.js";
import { parseEntryHeaders } from "../../src/tar/header-run.js";
import {
  buildTar,
  encodeTarHeader,
  MAX_SPECIAL_FILE_SIZE,
  readTar,
  readTarHeaderBytes,
  TarReader,
  type TarReaderOptions,
} from "../../src/tar/index.js";
import {
  badChecksumTar,
  badOctalTar,
  cat,
  contiguousTar,
  dotDotTar,
  globalHeaderTar,
  gnuSparseTar,
  hugePaxHeaderTar,
  kitchenSinkTar,
  missingEndTars,
  negativeSizeTar,
  paxSparseTar,
  randomBytes,
  resealHeader,
  trailingPaddingTar,
  truncatedTars,
  unknownTypeTar,
  zeroThenGarbageTar,
} from "../fixtures/tars.js";
import { expectCode } from "../support/registry.js";

const enc = new TextEncoder();
const MTIME = 1700000000;

/** Reads a whole archive; resolves to the error's code, or "ok". */
async function outcome(tar: Uint8Array, options: TarReaderOptions = {}): Promise<string> {
  try {
    await readTar(tar, options);
    return "ok";
  } catch (e) {
    if (e instanceof LayerkitError) return e.code;
    throw e;
  }
}

/** A stream that hands out `data` in pieces of `piece` bytes and records cancellation. */
function pieces(data: Uint8Array, piece: number): { stream: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let at = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= data.length) return c.close();
      c.enqueue(data.slice(at, at + piece));
      at += piece;
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
}

/** A one-entry archive whose size field is set to base-256 bytes `field` (12 bytes). */
function base256SizeTar(field: Uint8Array, payload: Uint8Array): Uint8Array {
  const h = encodeTarHeader({ name: "b256", size: payload.length, mtime: MTIME }, { format: "gnu" });
  h.set(field, 124);
  resealHeader(h, 0);
  const pad = new Uint8Array((512 - (payload.length % 512)) % 512);
  return cat(h, payload, pad, new Uint8Array(1024));
}

function base256(v: bigint, negative = false): Uint8Array {
  const f = new Uint8Array(12);
  let x = negative ? (1n << 96n) + v : v; // two's complement in 96 bits
  for (let i = 11; i >= 0; i--) {
    f[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  f[0]! |= 0x80;
  return f;
}

/** A PAX `x` header with raw `records`, then a file. */
function paxTar(records: string | Uint8Array): Uint8Array {
  const data = typeof records === "string" ? enc.encode(records) : records;
  return buildTar([
    { name: "PaxHeaders.0/f", typeflag: "x", data, mtime: 0 },
    { name: "f", data: enc.encode("f"), mtime: MTIME },
  ]);
}

describe("TarReader: good archives", () => {
  it("reads back names, sizes and payloads, with offsets that add up, in any piece size", async () => {
    const tar = kitchenSinkTar();
    const whole = await readTar(tar);
    for (const piece of [1, 511, 512, 4096, 1 << 20]) {
      const r = await readTar(pieces(tar, piece).stream);
      expect(r.entries.map((e) => [e.header.name, e.dataSize, e.offset, e.dataOffset])).toEqual(
        whole.entries.map((e) => [e.header.name, e.dataSize, e.offset, e.dataOffset]),
      );
      r.entries.forEach((e, i) => expect(e.data).toEqual(whole.entries[i]!.data));
    }
    // Every byte is accounted for: raw header bytes + payload, then end bytes and trailing.
    let n = 0;
    for (const e of whole.entries) {
      expect(e.offset).toBe(n);
      expect(e.dataOffset).toBe(n + e.raw.length);
      expect(tar.subarray(e.dataOffset, e.dataOffset + e.dataSize)).toEqual(e.data);
      n = e.dataOffset + e.dataSize;
    }
    expect(n + whole.end.length + whole.trailing.length).toBe(tar.length);
    // Names agree with GNU tar's own listing.
    const gnu = execFileSync("tar", ["-tf", "-"], { input: tar }).toString("utf8").trimEnd().split("\n");
    expect(whole.entries.map((e) => e.header.name)).toEqual(gnu);
  });

  it("reads payloads piece by piece, skips unread payloads and reports remaining bytes", async () => {
    const big = randomBytes(3000, 9);
    const tar = buildTar([
      { name: "big", data: big, mtime: MTIME },
      { name: "small", data: enc.encode("small"), mtime: MTIME },
    ]);
    const tr = new TarReader(pieces(tar, 700).stream);
    const e = await tr.next();
    expect(e?.header.name).toBe("big");
    expect(tr.remaining).toBe(3000);
    const first = await tr.read(100);
    expect(first).toEqual(big.subarray(0, 100));
    expect(tr.remaining).toBe(2900);
    // Skip the rest of "big": the next entry still parses.
    const e2 = await tr.next();
    expect(e2?.header.name).toBe("small");
    expect(await tr.readAll()).toEqual(enc.encode("small"));
    expect(await tr.read()).toBeNull();
    expect(await tr.next()).toBeNull();
    expect(tr.ended).toBe(true);
    expect(tr.endBytes.length).toBe(512 - 5 + 1024);
    expect(await tr.next()).toBeNull();
  });

  it("streams every trailing byte after the end-of-archive blocks", async () => {
    const garbage = randomBytes(5000, 3);
    const r = await readTar(pieces(trailingPaddingTar(garbage), 333).stream);
    expect(r.trailing).toEqual(garbage);
    const padded = await readTar(trailingPaddingTar(0, 20));
    expect(padded.end.length + padded.trailing.length + padded.entries.reduce((n, e) => n + e.raw.length + e.dataSize, 0)).toBe(20 * 512);
  });

  it("accepts archives without end blocks or with one zero block, as Go does", async () => {
    for (const [what, tar] of Object.entries(missingEndTars())) {
      const r = await readTar(tar);
      expect(r.entries.map((e) => e.header.name.slice(0, 1)), what).toEqual(["a", "b"]);
    }
  });

  it("endBytes and trailing() before the end are BAD_ARGUMENT", async () => {
    const tr = new TarReader(trailingPaddingTar());
    await tr.next();
    expect(() => tr.endBytes).toThrow(expect.objectContaining({ code: "BAD_ARGUMENT" }));
    await expectCode(tr.trailing().next(), "BAD_ARGUMENT");
  });

  it("cancel() releases the source stream", async () => {
    const src = pieces(kitchenSinkTar(), 512);
    const tr = new TarReader(src.stream);
    await tr.next();
    await tr.cancel();
    expect(src.cancelled()).toBe(true);
  });

  it("readTarHeaderBytes parses one entry's headers from memory and reports what it consumed", () => {
    const tar = buildTar([{ name: "x".repeat(150), data: enc.encode("payload"), mtime: { sec: MTIME, nsec: 5 } }]);
    const r = readTarHeaderBytes(tar);
    expect(r.kind).toBe("entry");
    if (r.kind !== "entry") return;
    expect(r.header.name).toBe("x".repeat(150));
    expect(r.header.mtime).toEqual({ sec: MTIME, nsec: 5 });
    expect(r.consumed).toBe(r.raw.length);
    expect(r.padding).toBe(512 - 7);
    const end = readTarHeaderBytes(tar.subarray(r.consumed + 7), { pad: r.padding });
    expect(end.kind).toBe("end");
    expect(() => readTarHeaderBytes(tar.subarray(0, 700))).toThrow(expect.objectContaining({ code: "TRUNCATED" }));
  });
});

describe("TarReader: bad input", () => {
  it("truncated archives are TRUNCATED wherever they are cut, with the offset", async () => {
    for (const [what, tar] of Object.entries(truncatedTars())) {
      const e = await expectCode(readTar(tar), "TRUNCATED").catch((err: unknown) => {
        throw new Error(`${what}: ${String(err)}`);
      });
      expect(typeof e.details["offset"], what).toBe("number");
    }
  });

  it("an error is sticky: later calls throw it again", async () => {
    const tr = new TarReader(truncatedTars()["inSecondHeader"]!);
    await tr.next();
    const e = await expectCode(tr.next(), "TRUNCATED");
    await expect(tr.next()).rejects.toBe(e);
    await expect(tr.read()).rejects.toBe(e);
  });

  it("a bad checksum, a bad octal digit and a negative size are TAR_CORRUPT", async () => {
    expect(await outcome(badChecksumTar())).toBe("TAR_CORRUPT");
    expect(await outcome(badOctalTar())).toBe("TAR_CORRUPT");
    expect(await outcome(negativeSizeTar())).toBe("TAR_CORRUPT");
    expect(await outcome(zeroThenGarbageTar())).toBe("TAR_CORRUPT");
    const e = await expectCode(readTar(badChecksumTar()), "TAR_CORRUPT");
    expect(e.details["offset"]).toBe(0);
  });

  it("a header of random bytes is TAR_CORRUPT, never anything else", async () => {
    for (let seed = 1; seed <= 200; seed++) {
      expect(await outcome(cat(randomBytes(512, seed), new Uint8Array(1024)))).toBe("TAR_CORRUPT");
    }
  });

  it("base-256 sizes: exact values read, negative is TAR_CORRUPT, over 2^53 TAR_UNSUPPORTED, over int64 TAR_CORRUPT", async () => {
    const payload = randomBytes(1234, 4);
    const r = await readTar(base256SizeTar(base256(1234n), payload));
    expect(r.entries[0]!.header.size).toBe(1234);
    expect(r.entries[0]!.data).toEqual(payload);
    expect(await outcome(base256SizeTar(base256(5n, true), payload))).toBe("TAR_CORRUPT");
    expect(await outcome(base256SizeTar(base256(1n << 60n), payload))).toBe("TAR_UNSUPPORTED");
    expect(await outcome(base256SizeTar(base256(1n << 70n), payload))).toBe("TAR_CORRUPT");
    // A plausible but huge size (1 TiB) with little data: the payload is TRUNCATED, nothing is allocated.
    const tr = new TarReader(base256SizeTar(base256(1n << 40n), payload));
    expect((await tr.next())?.dataSize).toBe(2 ** 40);
    await expectCode(tr.readAll(), "LIMIT_EXCEEDED");
    // A size just under readAll's limit with little data behind it: TRUNCATED, and the size field
    // never sized an allocation (ArrayBuffer memory does not grow by anything like 2 GiB).
    const before = process.memoryUsage().arrayBuffers;
    const lying = new TarReader(base256SizeTar(base256(0x7ffff000n), payload));
    await lying.next();
    await expectCode(lying.readAll(), "TRUNCATED");
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
    const skip = new TarReader(base256SizeTar(base256(1n << 40n), payload));
    await skip.next();
    await expectCode(skip.next(), "TRUNCATED");
  });

  it("PAX records with bad lengths or syntax are TAR_CORRUPT", async () => {
    const bad = [
      "0 a=b\n",
      "4 a=\n",
      "x a=b\n",
      "-6 a=b\n",
      "99 a=b\n",
      "7 a=b\nX", // length one too large: the record ends in X
      "5 a=b\n", // length one too small: no newline where it must be
      "6 ab c\n", // no '='
      "6 =bc\n", // empty key
      "6 a=bc", // no newline, length past the end
      "6a=bc\n", // no space
      "18446744073709551622 a=b\n", // overflows int64
      "mtime=1\n",
      "12 mtime=1.x\n",
      "8 uid=x\n",
      "16 size=-1000000\n",
    ];
    for (const rec of bad) expect(await outcome(paxTar(rec)), JSON.stringify(rec)).toBe("TAR_CORRUPT");
    // The in-memory header helper eStargz uses (src/tar/header-run.ts) refuses exactly the same
    // records: it is the same parser (it used to be a separate walker that read only path and size).
    for (const rec of [...bad, "0x8 a=b\n", "8.0 a=b\n", " 7 a=b\n", "1e1 ab=cd\n", "0009 a=b\n"]) {
      const go = await outcome(paxTar(rec));
      let walker = "ok";
      try {
        parseEntryHeaders(paxTar(rec), 0);
      } catch (e) {
        if (!(e instanceof LayerkitError)) throw e;
        walker = e.code;
      }
      expect(walker === "ok", `estargz walker on ${JSON.stringify(rec)} (Go-semantics reader: ${go})`).toBe(go === "ok");
    }
    // A good record for comparison, and +-signed lengths as Go's ParseInt allows.
    expect(await outcome(paxTar("6 a=b\n"))).toBe("ok");
    expect(await outcome(paxTar("+7 a=b\n"))).toBe("ok");
  });

  it("a PAX size beyond 2^53 is TAR_UNSUPPORTED, a NUL in a PAX path or linkpath is UNSAFE_PATH", async () => {
    expect(await outcome(paxTar("25 size=9007199254740993\n"))).toBe("TAR_UNSUPPORTED");
    expect(await outcome(paxTar(cat(enc.encode("12 path=a"), Uint8Array.of(0), enc.encode("b\n"))))).toBe("UNSAFE_PATH");
    expect(await outcome(paxTar(cat(enc.encode("16 linkpath=a"), Uint8Array.of(0), enc.encode("b\n"))))).toBe("UNSAFE_PATH");
    expect(await outcome(paxTar(cat(enc.encode("13 uname=a"), Uint8Array.of(0), enc.encode("b\n"))))).toBe("TAR_CORRUPT");
  });

  it("huge PAX data and GNU long names are LIMIT_EXCEEDED before they are read", async () => {
    const e = await expectCode(readTar(hugePaxHeaderTar()), "LIMIT_EXCEEDED");
    expect(e.details["limit"]).toBe(MAX_SPECIAL_FILE_SIZE);
    // A GNU long name header claiming 2 GiB of name, with nothing behind it.
    const h = encodeTarHeader({ name: "././@LongLink", typeflag: "L", size: 0x7fffffff, mtime: 0 }, { format: "gnu" });
    expect(await outcome(cat(h, new Uint8Array(1024)))).toBe("LIMIT_EXCEEDED");
    // Just under the limit is fine.
    const ok = buildTar([{ name: "n/" + "a".repeat(MAX_SPECIAL_FILE_SIZE - 10), data: enc.encode("x"), mtime: MTIME }], { format: "gnu" });
    expect((await readTar(ok)).entries[0]!.header.name.length).toBe(MAX_SPECIAL_FILE_SIZE - 8);
  });

  it("a chain of extension headers is bounded by maxHeaderBytes", async () => {
    const chain: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) chain.push(encodeTarHeader({ name: "x", typeflag: "x", size: 0, mtime: 0 }));
    const tar = cat(...chain, buildTar([{ name: "f", mtime: MTIME }]));
    expect(await outcome(tar)).toBe("ok");
    const e = await expectCode(readTar(tar, { maxHeaderBytes: 10 * 512 }), "LIMIT_EXCEEDED");
    expect(e.details["limit"]).toBe(10 * 512);
  });

  it("safeNames: '..' components and NUL bytes are UNSAFE_PATH, in names and hardlink targets", async () => {
    for (const name of ["../evil", "a/../../evil", "a/..", "/../etc/passwd", "./.."]) {
      expect(await outcome(dotDotTar(name), { safeNames: true }), name).toBe("UNSAFE_PATH");
      expect(await outcome(dotDotTar(name)), name).toBe("ok");
    }
    // Names that merely contain dots, and absolute names (Go's reader allows them; the option is about climbing out).
    for (const name of ["a..b", "..a/b", "a/b..", "/etc/passwd", "./a/./b"]) {
      expect(await outcome(dotDotTar(name), { safeNames: true }), name).toBe("ok");
    }
    const hard = buildTar([
      { name: "a", data: enc.encode("a"), mtime: MTIME },
      { name: "h", type: "hardlink", linkname: "../../etc/shadow", mtime: MTIME },
    ]);
    const e = await expectCode(readTar(hard, { safeNames: true }), "UNSAFE_PATH");
    expect(e.details["field"]).toBe("linkname");
    // A symlink target is not a path the archive writes to: allowed.
    const sym = buildTar([{ name: "s", type: "symlink", linkname: "../../x", mtime: MTIME }]);
    expect(await outcome(sym, { safeNames: true })).toBe("ok");
  });

  it("strictTypes: sparse files are always TAR_UNSUPPORTED; 'g', '7' and unknown types only when strict", async () => {
    expect(await outcome(gnuSparseTar())).toBe("TAR_UNSUPPORTED");
    expect(await outcome(gnuSparseTar(), { strictTypes: false })).toBe("TAR_UNSUPPORTED");
    expect(await outcome(paxSparseTar())).toBe("TAR_UNSUPPORTED");
    expect(await outcome(paxSparseTar(), { strictTypes: false })).toBe("TAR_UNSUPPORTED");
    for (
      const [what, tar] of [
        ["global", globalHeaderTar()],
        ["contiguous", contiguousTar()],
        ["unknown", unknownTypeTar()],
      ] as const
    ) {
      const e = await expectCode(readTar(tar), "TAR_UNSUPPORTED");
      expect(e.details["typeflag"], what).toBeDefined();
      expect(await outcome(tar, { strictTypes: false }), what).toBe("ok");
    }
    const global = buildTar([
      { name: "pax_global_header", typeflag: "g", data: enc.encode("28 comment=0123456789abcdef\n"), mtime: 0 },
      { name: "file", data: enc.encode("x"), mtime: MTIME },
    ]);
    expect(await outcome(global)).toBe("TAR_UNSUPPORTED");
    const g = await readTar(global, { strictTypes: false });
    expect(g.entries.map((e) => e.header.typeflag)).toEqual(["g", "0"]);
    expect(new TextDecoder().decode(g.entries[0]!.header.pax?.get("comment"))).toBe("0123456789abcdef");
  });
});
