/**
 * The tar writer against GNU tar (listing with `tar -tvf`, extraction with `tar -xf` into a temp
 * directory, and GNU tar's own archives read back by our reader), round trips through our
 * reader, streaming (TarWriter, tarStream) and bad arguments.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  buildTar,
  encodeTarEnd,
  encodeTarHeader,
  readTar,
  tarStream,
  type TarWriteEntry,
  TarWriter,
  xattrsOf,
} from "../../src/tar/index.js";
import {
  emptyFilesTar,
  escapeNamesTar,
  gnuFormatTar,
  holesPayload,
  kitchenSinkTar,
  longNamesTar,
  manySmallFiles,
  paxTimesTar,
  randomBytes,
  specialFilesTar,
  unicodeNamesTar,
  xattrsTar,
} from "../fixtures/tars.js";
import { expectCode, readAll as collect } from "../support/registry.js";

const enc = new TextEncoder();
const MTIME = 1700000000;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "layerkit-tarw-"));
  dirs.push(d);
  return d;
}

const gnuList = (tar: Uint8Array, ...flags: string[]): string[] =>
  execFileSync("tar", ["--quoting-style=literal", ...flags, "-tf", "-"], { input: tar, maxBuffer: 1 << 28 }).toString("utf8").split("\n")
    .slice(0, -1);

function gnuExtract(tar: Uint8Array, ...flags: string[]): string {
  const d = tempDir();
  execFileSync("tar", ["-xf", "-", "-C", d, "--numeric-owner", ...flags], { input: tar, maxBuffer: 1 << 28 });
  return d;
}

/** Byte equality without vitest's slow element-wise diff of large arrays. */
function expectSameBytes(a: Uint8Array, b: Uint8Array, what = "bytes"): void {
  expect(Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length)), what).toBe(true);
}

describe("TarWriter vs GNU tar", () => {
  const fixtures: Record<string, () => Uint8Array> = {
    manySmallFiles: () => manySmallFiles(50),
    emptyFiles: emptyFilesTar,
    specialFiles: () => specialFilesTar(),
    specialFilesGnu: () => specialFilesTar({ format: "gnu" }),
    longNamesPax: () => longNamesTar(),
    longNamesGnu: () => longNamesTar({ format: "gnu" }),
    unicodeNames: unicodeNamesTar,
    escapeNames: escapeNamesTar,
    paxTimes: paxTimesTar,
    gnuFormat: gnuFormatTar,
    kitchenSink: kitchenSinkTar,
    xattrs: xattrsTar,
  };

  for (const [name, make] of Object.entries(fixtures)) {
    it(`${name}: GNU tar lists the names our reader reads, and complains about nothing`, async () => {
      const tar = make();
      const ours = (await readTar(tar)).entries.map((e) => e.header.name);
      const v = spawnSync("tar", ["--quoting-style=literal", "-tvf", "-"], { input: tar, maxBuffer: 1 << 28 });
      // The GNU fixture's gid 70e9 is valid base-256 but beyond GNU tar's 32-bit gid_t.
      const stderr = v.stderr.toString().replace(/.*out of gid_t range.*\n/, "").replace(/.*Exiting with failure status.*\n/, "");
      expect(stderr, name).toBe("");
      // Compared as whole text: names with a newline would split a line-by-line comparison.
      const listed = spawnSync("tar", ["--quoting-style=literal", "-tf", "-"], { input: tar, maxBuffer: 1 << 28 }).stdout.toString("utf8");
      expect(listed).toBe(ours.join("\n") + "\n");
    });
  }

  it("GNU tar extracts exactly what was written: contents, modes, owners, links, devices, times with nanoseconds", () => {
    const entries: TarWriteEntry[] = [
      { name: "x/", type: "dir", mtime: MTIME, mode: 0o750 },
      { name: "x/file", data: randomBytes(5000, 1), mtime: { sec: MTIME, nsec: 123456789 }, mode: 0o640, uid: 1234, gid: 5678 },
      { name: "x/empty", mtime: MTIME, mode: 0o600 },
      { name: "x/holes", data: holesPayload().subarray(0, 300_000), mtime: MTIME },
      { name: "x/" + "long".repeat(60), data: enc.encode("long name"), mtime: MTIME },
      { name: "x/ünï", data: enc.encode("utf8"), mtime: MTIME },
      { name: "x/sym", type: "symlink", linkname: "file", mtime: MTIME },
      { name: "x/sym-long", type: "symlink", linkname: "t/".repeat(90) + "x", mtime: MTIME },
      { name: "x/hard", type: "hardlink", linkname: "x/file", mtime: MTIME },
      { name: "x/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666, mtime: MTIME },
      { name: "x/blk", type: "block", devmajor: 7, devminor: 200, mode: 0o600, mtime: MTIME },
      { name: "x/fifo", type: "fifo", mode: 0o644, mtime: MTIME },
      { name: "x/old", data: enc.encode("1966"), mtime: -100_000_000 },
    ];
    for (const format of ["pax", "gnu"] as const) {
      const d = gnuExtract(buildTar(entries, { format }), "--same-permissions", "--same-owner");
      for (const e of entries) {
        const p = join(d, e.name);
        const st = lstatSync(p, { bigint: true });
        const kind = e.type ?? "file";
        if (kind === "file") {
          expectSameBytes(new Uint8Array(readFileSync(p)), e.data ?? new Uint8Array(0), `${format} ${e.name}`);
          if (e.uid !== undefined) expect([Number(st.uid), Number(st.gid)]).toEqual([e.uid, e.gid]);
        } else if (kind === "symlink") expect(readlinkSync(p)).toBe(e.linkname);
        else if (kind === "hardlink") expect(st.ino).toBe(lstatSync(join(d, e.linkname!), { bigint: true }).ino);
        else if (kind === "char" || kind === "block") {
          expect(kind === "char" ? st.isCharacterDevice() : st.isBlockDevice()).toBe(true);
          expect([Number(st.rdev >> 8n) & 0xfff, Number((st.rdev & 0xffn) | ((st.rdev >> 12n) & 0xfff00n))]).toEqual([
            e.devmajor,
            e.devminor,
          ]);
        } else if (kind === "fifo") expect(st.isFIFO()).toBe(true);
        if (e.mode !== undefined && kind !== "symlink") expect(Number(st.mode) & 0o7777, `${format} ${e.name} mode`).toBe(e.mode);
        if (kind === "file" && e.name !== "x/hard") {
          const m = typeof e.mtime === "object" && !(e.mtime instanceof Date) ? e.mtime : { sec: e.mtime as number, nsec: 0 };
          // GNU tar restores PAX nanoseconds; the GNU format carries whole seconds only (plus our PAX record).
          expect(st.mtimeNs, `${format} ${e.name} mtime`).toBe(BigInt(m.sec) * 1_000_000_000n + BigInt(m.nsec));
        }
      }
    }
  });

  it("GNU tar extracts xattrs written as SCHILY.xattr records", () => {
    const d = gnuExtract(
      buildTar([{
        name: "f",
        data: enc.encode("x"),
        mtime: MTIME,
        xattrs: { "user.layerkit": "v\u00e4lue", "user.bin": Uint8Array.of(0, 1, 255) },
      }]),
      "--xattrs",
      "--xattrs-include=user.*",
    );
    const got = execFileSync("python3", [
      "-c",
      "import os,sys,json; p=sys.argv[1]; print(json.dumps({k: list(os.getxattr(p,k)) for k in sorted(os.listxattr(p))}))",
      join(d, "f"),
    ]).toString();
    expect(JSON.parse(got)).toEqual({ "user.bin": [0, 1, 255], "user.layerkit": [...enc.encode("v\u00e4lue")] });
  });

  it("our reader reads GNU tar's own archives (pax, gnu, ustar, v7) of a real directory", async () => {
    const src = tempDir();
    mkdirSync(join(src, "d/sub"), { recursive: true });
    writeFileSync(join(src, "d/a.txt"), "alpha\n");
    writeFileSync(join(src, "d/sub/" + "n".repeat(120)), randomBytes(70_000, 5));
    writeFileSync(join(src, "d/ünï"), "ü");
    symlinkSync("a.txt", join(src, "d/link"));
    linkSync(join(src, "d/a.txt"), join(src, "d/hard"));
    utimesSync(join(src, "d/a.txt"), 1600000000.25, 1600000000.5);
    for (const format of ["pax", "gnu", "ustar", "v7"]) {
      const names = [
        "d/a.txt",
        "d/link",
        "d/hard",
        ...(format === "v7" || format === "ustar" ? [] : ["d/sub/" + "n".repeat(120), "d/ünï"]),
      ];
      const tar = new Uint8Array(
        execFileSync("tar", ["-cf", "-", `--format=${format}`, "--sort=name", "-C", src, ...names], { maxBuffer: 1 << 28 }),
      );
      const r = await readTar(tar);
      expect(r.entries.map((e) => e.header.name), format).toEqual(gnuList(tar));
      for (const e of r.entries) {
        const st = lstatSync(join(src, e.header.name));
        if (e.header.typeflag === "0") {
          expectSameBytes(e.data, new Uint8Array(readFileSync(join(src, e.header.name))), `${format} ${e.header.name}`);
        }
        if (e.header.typeflag === "2") expect(e.header.linkname).toBe(readlinkSync(join(src, e.header.name)));
        if (e.header.typeflag === "1") expect(e.header.linkname).toBe("d/a.txt");
        expect(e.header.mtime.sec, `${format} ${e.header.name}`).toBe(Math.floor(st.mtimeMs / 1000));
        if (format === "pax" && e.header.name === "d/a.txt") expect(e.header.mtime).toEqual({ sec: 1600000000, nsec: 500000000 });
      }
      expect(r.entries[0]!.header.format).toBe(format === "v7" ? "unknown" : format === "pax" ? "pax" : format);
    }
  });
});

describe("TarWriter round trips and streaming", () => {
  it("every field comes back from our reader as written (pax and gnu)", async () => {
    const entries: TarWriteEntry[] = [
      {
        name: "r/" + "é".repeat(70),
        data: randomBytes(777, 2),
        mode: 0o4755,
        uid: 3_000_000_000,
        gid: 70_000,
        uname: "ü".repeat(20),
        gname: "grp",
        mtime: { sec: MTIME, nsec: 1 },
        atime: { sec: 1600000000, nsec: 0 },
        ctime: { sec: 1650000000, nsec: 999999999 },
        xattrs: { "user.a": "1", "user.empty": "" },
        pax: { "LAYERKIT.custom": "yes" },
      },
      { name: "r/dev", type: "char", devmajor: 4095, devminor: 1 << 19, mtime: -5 },
      { name: "r/date", data: enc.encode("d"), mtime: new Date(1_700_000_000_250) },
      { name: "r/frac", data: enc.encode("f"), mtime: 1_700_000_000.5 },
    ];
    for (const format of ["pax", "gnu"] as const) {
      const r = await readTar(buildTar(entries, { format }));
      const [a, dev, date, frac] = r.entries.map((e) => e.header);
      expect(a!.name).toBe(entries[0]!.name);
      expect(r.entries[0]!.data).toEqual(entries[0]!.data);
      expect([a!.mode, a!.uid, a!.gid, a!.uname, a!.gname]).toEqual([0o4755, 3_000_000_000, 70_000, "ü".repeat(20), "grp"]);
      expect(a!.mtime).toEqual({ sec: MTIME, nsec: 1 });
      expect(a!.ctime).toEqual({ sec: 1650000000, nsec: 999999999 });
      expect(a!.atime).toEqual({ sec: 1600000000, nsec: 0 });
      expect(Object.fromEntries([...xattrsOf(a!)!].map(([k, v]) => [k, new TextDecoder().decode(v)]))).toEqual({
        "user.a": "1",
        "user.empty": "",
      });
      expect(new TextDecoder().decode(a!.pax!.get("LAYERKIT.custom"))).toBe("yes");
      expect([dev!.devmajor, dev!.devminor, dev!.mtime.sec]).toEqual([4095, 1 << 19, -5]);
      expect(date!.mtime).toEqual({ sec: 1_700_000_000, nsec: 250_000_000 });
      expect(frac!.mtime).toEqual({ sec: 1_700_000_000, nsec: 500_000_000 });
    }
  });

  it("is deterministic, and TarWriter, tarStream and buildTar write the same bytes", async () => {
    const tar = kitchenSinkTar();
    expectSameBytes(kitchenSinkTar(), tar);
    const entries = (await readTar(tar)).entries;
    const asWrite = (e: (typeof entries)[number]): TarWriteEntry => ({
      name: e.header.name,
      typeflag: e.header.typeflag,
      linkname: e.header.linkname,
      data: e.data,
      mode: e.header.mode,
      mtime: e.header.mtime,
      devmajor: e.header.devmajor,
      devminor: e.header.devminor,
      ...(e.header.pax ? { pax: Object.fromEntries([...e.header.pax].filter(([k]) => k.startsWith("SCHILY."))) } : {}),
    });
    const opts = { blockingFactor: 20 };
    const built = buildTar(entries.map(asWrite), opts);
    expectSameBytes(built, tar, "buildTar");
    expectSameBytes(await collect(tarStream(entries.map(asWrite), opts)), tar, "tarStream");
    const parts: Uint8Array[] = [];
    const w = new TarWriter((c) => void parts.push(c.slice()));
    for (const e of entries) {
      const { data, ...rest } = asWrite(e);
      // Stream the payload in pieces from a ReadableStream.
      const d = data ?? new Uint8Array(0);
      let at = 0;
      const rs = new ReadableStream<Uint8Array>({
        pull(c) {
          if (at >= d.length) return c.close();
          c.enqueue(d.subarray(at, at + 1000));
          at += 1000;
        },
      });
      await w.add({ ...rest, size: d.length }, rs);
    }
    await w.finish(opts);
    await w.finish(opts); // idempotent
    expectSameBytes(new Uint8Array(Buffer.concat(parts)), tar, "TarWriter");
    expect(w.length).toBe(tar.length);
  });

  it("encodeTarEnd pads to the blocking factor and appends trailing bytes", () => {
    expect(encodeTarEnd(512).length).toBe(1024);
    expect((512 + encodeTarEnd(512, { blockingFactor: 20 }).length) % (20 * 512)).toBe(0);
    expect(encodeTarEnd(0, { trailing: Uint8Array.of(1, 2, 3) }).subarray(1024)).toEqual(Uint8Array.of(1, 2, 3));
    expect(encodeTarEnd(0, { trailing: 100 }).length).toBe(1124);
  });
});

describe("TarWriter: bad arguments", () => {
  it("streamed payloads of the wrong size are SIZE_MISMATCH; misuse is BAD_ARGUMENT", async () => {
    const w = new TarWriter(() => {});
    await expectCode(w.add({ name: "short", size: 10 }, [Uint8Array.of(1, 2, 3)]), "SIZE_MISMATCH");
    await expectCode(new TarWriter(() => {}).add({ name: "long", size: 2 }, [Uint8Array.of(1, 2, 3)]), "SIZE_MISMATCH");
    await expectCode(new TarWriter(() => {}).add({ name: "nosize" }, [Uint8Array.of(1)]), "BAD_ARGUMENT");
    const done = new TarWriter(() => {});
    await done.finish();
    await expectCode(done.add({ name: "late" }), "BAD_ARGUMENT");
  });

  it("values that cannot be encoded are BAD_ARGUMENT naming the entry", async () => {
    const bad: TarWriteEntry[] = [
      { name: "neg", size: -1 },
      { name: "nan", size: Number.NaN },
      { name: "frac", size: 1.5 },
      { name: "tf", typeflag: "xx" },
      { name: "dev", type: "char", devmajor: 2 ** 21 },
      { name: "uid", uid: 0.5 },
      { name: "date", mtime: new Date(Number.NaN) },
      { name: "nsec", mtime: { sec: 1, nsec: 0.5 } },
    ];
    for (const e of bad) await expectCode(() => encodeTarHeader(e), "BAD_ARGUMENT");
    // The GNU format takes base-256 where PAX would need a record; a device number beyond both is refused.
    expect(() => encodeTarHeader({ name: "dev", type: "char", devmajor: 2 ** 21 }, { format: "gnu" })).not.toThrow();
    await expectCode(() => encodeTarHeader({ name: "dev", type: "char", devmajor: 2 ** 60 }, { format: "gnu" }), "BAD_ARGUMENT");
  });

  it("sizes too large for octal become a PAX size record (pax) or base-256 (gnu) that GNU tar reads", () => {
    const size = 8 ** 11 + 1; // 8 GiB + 1: one more than octal holds
    for (const format of ["pax", "gnu"] as const) {
      const h = encodeTarHeader({ name: "huge", size, mtime: MTIME }, { format });
      // GNU tar lists the entry with its size before running out of data.
      const out = (() => {
        try {
          return execFileSync("tar", ["-tvf", "-"], {
            input: new Uint8Array(Buffer.concat([h, new Uint8Array(1024)])),
            stdio: ["pipe", "pipe", "pipe"],
          }).toString();
        } catch (e) {
          return String((e as { stdout?: Buffer }).stdout ?? "");
        }
      })();
      expect(out, format).toContain(String(size));
    }
  });
});
