/**
 * Blob digests of createLayer for the good fixture tars, in all four formats, pinned in
 * test/fixtures/layer-golden.json: refactors of the tar and writer code must not change a byte.
 * Regenerate (only when a format change is intended) with LAYERKIT_WRITE_GOLDEN=1.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/runtime/node.js";
import type { Core } from "../../src/core.js";
import { createLayer } from "../../src/create-layer.js";
import type { LayerFormat } from "../../src/layer/result.js";
import * as tars from "../fixtures/tars.js";
import { bytesOf, streamOf } from "../support/streams.js";

const GOLDEN = new URL("../fixtures/layer-golden.json", import.meta.url);
const FORMATS: LayerFormat[] = ["zstd:chunked", "estargz", "zstd", "gzip"];

const fixtures: Record<string, () => Uint8Array> = {
  manySmallFiles: () => tars.manySmallFiles(),
  holes: tars.holesTar,
  emptyFiles: tars.emptyFilesTar,
  specialFiles: () => tars.specialFilesTar(),
  xattrs: tars.xattrsTar,
  longNamesPax: () => tars.longNamesTar(),
  longNamesGnu: () => tars.longNamesTar({ format: "gnu" }),
  unicodeNames: tars.unicodeNamesTar,
  escapeNames: tars.escapeNamesTar,
  paxTimes: tars.paxTimesTar,
  trailingPadding: () => tars.trailingPaddingTar(),
  gnuFormat: tars.gnuFormatTar,
  kitchenSink: tars.kitchenSinkTar,
  endBlocksOnly: () => new Uint8Array(1024),
};

let core: Core;
beforeAll(async () => {
  core = await loadCore();
});

describe("createLayer output stays byte-identical for valid tars", () => {
  const writing = process.env["LAYERKIT_WRITE_GOLDEN"] === "1";
  const golden: Record<string, string> = writing ? {} : JSON.parse(readFileSync(GOLDEN, "utf8"));
  for (const [name, make] of Object.entries(fixtures)) {
    it(`${name}: the blob digest of each format matches the golden file`, { timeout: 120_000 }, async () => {
      const tar = make();
      for (const format of FORMATS) {
        const w = createLayer(streamOf(tar), { format, core });
        await bytesOf(w.stream);
        const { digest } = await w.result;
        const key = `${name} ${format}`;
        if (writing) golden[key] = digest;
        else expect(digest, key).toBe(golden[key]);
      }
    });
  }
  if (writing) {
    it("writes the golden file", () => {
      writeFileSync(GOLDEN, JSON.stringify(Object.fromEntries(Object.entries(golden).sort()), null, 2) + "\n");
      expect(Object.keys(golden)).toHaveLength(Object.keys(fixtures).length * FORMATS.length);
    });
  }
});
