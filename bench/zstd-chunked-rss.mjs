// Child process of bench/zstd-chunked.mjs: converts a tar file (bench/data/1gib.tar) to a
// zstd:chunked layer file with the library, or, with `baseline`, only streams the same file
// through the same web-stream plumbing to the output (Node's own floor for this job). Reports
// size and time; bench/peak-rss.cjs (preloaded) reports its peak RSS.
import { open } from "node:fs/promises";

const [mode, tarPath, outPath] = process.argv.slice(2);

const { fileHandleStream } = await import(new URL("../dist/source/node-file-stream.js", import.meta.url).href);
const tar = fileHandleStream(await open(tarPath, "r"), { readError: (e) => e });

const t0 = performance.now();
let blob = tar;
let result = Promise.resolve(undefined);
if (mode !== "baseline") {
  const { loadCore } = await import(new URL("../dist/runtime/node.js", import.meta.url).href);
  const { createLayer } = await import(new URL("../dist/create-layer.js", import.meta.url).href);
  const layer = createLayer(tar, { format: "zstd:chunked", level: 3, core: await loadCore() });
  blob = layer.stream;
  result = layer.result;
}
// Read as the CLI writes files: a byte stream into one reused buffer (BYOB), so neither side
// allocates per piece.
const { ByteReader } = await import(new URL("../dist/util/bytes.js", import.meta.url).href);
const out = await open(outPath, "w");
let size = 0;
const r = new ByteReader(blob, { reuseBuffer: 256 * 1024 });
for (let piece = await r.readSome(); piece !== null; piece = await r.readSome()) {
  await out.write(piece);
  size += piece.length;
}
await out.close();
const res = await result;
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ tarBytes: res?.uncompressedSize ?? size, size, seconds }));
