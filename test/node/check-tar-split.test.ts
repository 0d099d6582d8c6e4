import { beforeAll, describe, expect, it } from "vitest";
import type { Core } from "../../src/core.js";
import { createLayer } from "../../src/create-layer.js";
import { checkTarSplit } from "../../src/formats/zstd-chunked/check-tar-split.js";
import { readToc } from "../../src/formats/zstd-chunked/read-toc.js";
import type { TocEntry } from "../../src/layer/toc.js";
import { loadCore } from "../../src/runtime/node.js";
import { MemorySource } from "../../src/source/memory.js";
import * as tars from "../fixtures/tars.js";

let core: Core;
beforeAll(async () => {
  core = await loadCore();
});

async function layer(tar: Uint8Array) {
  const w = createLayer(new Blob([tar as Uint8Array<ArrayBuffer>]).stream(), { format: "zstd:chunked", core });
  const blob = new Uint8Array(await new Response(w.stream).arrayBuffer());
  const result = await w.result;
  const index = await readToc(new MemorySource(blob), { annotations: result.annotations, core, tarSplit: true });
  return { entries: result.toc!.entries!, tarSplit: index.tarSplit! };
}

const clone = (e: TocEntry[]): TocEntry[] => JSON.parse(JSON.stringify(e)) as TocEntry[];

describe("checkTarSplit (TOC ↔ tar-split, upstream's rule)", () => {
  for (
    const [name, make] of Object.entries({
      kitchenSink: tars.kitchenSinkTar,
      paxTimes: tars.paxTimesTar,
      xattrs: tars.xattrsTar,
      longNames: tars.longNamesTar,
      gnu: tars.gnuFormatTar,
      trailing: () => tars.trailingPaddingTar(4096),
    })
  ) {
    it(`accepts what our writer produced: ${name}`, async () => {
      const { entries, tarSplit } = await layer(make());
      await expect(checkTarSplit(entries, tarSplit)).resolves.toBeUndefined();
    });
  }

  it("compares times as instants: another UTC offset for the same instant is fine", async () => {
    const { entries, tarSplit } = await layer(tars.paxTimesTar());
    const e = clone(entries);
    const withTime = e.find((x) => x.modtime && x.modtime.endsWith("Z") && !x.modtime.startsWith("1970"))!;
    const t = new Date(withTime.modtime!.replace(/\.\d+/, ""));
    const frac = /\.(\d+)Z$/.exec(withTime.modtime!)?.[1];
    const shifted = new Date(t.getTime() + 3600_000).toISOString().replace(/\.\d+Z$/, "");
    withTime.modtime = `${shifted}${frac ? "." + frac : ""}+01:00`;
    await expect(checkTarSplit(e, tarSplit)).resolves.toBeUndefined();
  });

  const TAMPER: Array<[string, (e: TocEntry[]) => void]> = [
    ["a different mode", (e) => {
      e.find((x) => x.type === "reg")!.mode = 0o4755;
    }],
    ["a different size", (e) => {
      const r = e.find((x) => x.type === "reg" && x.size)!;
      r.size = r.size! + 1;
    }],
    ["a different uid", (e) => {
      e.find((x) => x.type === "reg")!.uid = 4242;
    }],
    ["a different link target", (e) => {
      e.find((x) => x.type === "symlink")!.linkName = "/etc/shadow";
    }],
    ["a different type", (e) => {
      e.find((x) => x.type === "fifo")!.type = "reg";
    }],
    ["a nanosecond-different mtime", (e) => {
      const r = e.find((x) => x.modtime && /\.\d+Z$/.test(x.modtime))!;
      r.modtime = r.modtime!.replace(/(\d)Z$/, (_m, d: string) => `${(Number(d) + 1) % 10}Z`);
    }],
    ["an extra xattr", (e) => {
      e.find((x) => x.type === "reg")!.xattrs = { "user.evil": "AA==" };
    }],
    ["a missing entry", (e) => {
      e.splice(e.findIndex((x) => x.type === "dir"), 1);
    }],
    ["an extra entry", (e) => {
      e.push({ type: "reg", name: "./ghost" });
    }],
    ["a duplicate entry", (e) => {
      e.push({ ...e.find((x) => x.type === "dir")! });
    }],
    ["a renamed entry", (e) => {
      e.find((x) => x.type === "symlink")!.name += "2";
    }],
  ];
  for (const [what, tamper] of TAMPER) {
    it(`rejects a TOC with ${what} (INCONSISTENT, naming the path)`, async () => {
      const { entries, tarSplit } = await layer(what.includes("mtime") ? tars.paxTimesTar() : tars.kitchenSinkTar());
      const e = clone(entries);
      tamper(e);
      const err = await checkTarSplit(e, tarSplit).then(() => undefined, (x: unknown) => x);
      expect(err).toMatchObject({ code: "INCONSISTENT" });
      expect((err as { details: { path?: string } }).details.path).toBeTypeOf("string");
    });
  }

  it("rejects a tar-split that is not JSON lines with a typed error", async () => {
    await expect(checkTarSplit([], new TextEncoder().encode("not json\n"))).rejects.toMatchObject({ code: "BAD_TAR_SPLIT" });
  });
});
