/**
 * verifyLayer on layers upstream wrote (Debian 12's Go packages through our harnesses):
 * containers/storage 1.43's zstd:chunked compressor, stargz-snapshotter's estargz.Build (gzip)
 * and its zstdchunked variant. They must verify OK against the digests and diffIDs the upstream
 * tools report (or, for c/storage, the native zstd CLI's decompression), and a lie edited into
 * upstream's own blob must still be caught.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/runtime/node.js";
import type { Core } from "../../src/core.js";
import { MemorySource } from "../../src/source/memory.js";
import { verifyLayer, type VerifyReport } from "../../src/verify/index.js";
import * as tars from "../fixtures/tars.js";
import { runHarness } from "../support/go-harness.js";

const TIMEOUT = 300_000;
const sha = (b: Uint8Array): string => "sha256:" + createHash("sha256").update(b).digest("hex");

let core: Core;
let dir: string;
let estargzBin: string;
beforeAll(async () => {
  core = await loadCore();
  dir = mkdtempSync(join(tmpdir(), "layerkit-verify-interop-"));
  // Fails loudly (no skip) when Go or Debian's packages are missing.
  estargzBin = execFileSync("bash", [join(import.meta.dirname, "../go/build-estargz.sh"), join(dir, "bin")], { encoding: "utf8" }).trim()
    .split("\n").pop()!;
}, TIMEOUT);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const fixtures: [string, () => Uint8Array][] = [
  ["kitchen sink", tars.kitchenSinkTar],
  ["holes", tars.holesTar],
  ["300 small files", () => tars.manySmallFiles(300)],
  ["xattrs", tars.xattrsTar],
];

function statusOf(r: VerifyReport, name: string): string | undefined {
  return r.checks.find((c) => c.name === name)?.status;
}

describe("containers/storage 1.43 zstd:chunked", () => {
  for (const [name, make] of fixtures) {
    it(
      name,
      async () => {
        const tarPath = join(dir, `cs-${name}.tar`);
        const blobPath = join(dir, `cs-${name}.blob`);
        writeFileSync(tarPath, make());
        const w = runHarness<{ annotations: Record<string, string>; size: number; digest: string }>(["cstorage-write", tarPath, blobPath]);
        const blob = new Uint8Array(readFileSync(blobPath));
        // 1.43 drops bytes after the end-of-archive blocks: its diffID is what zstd -d gives
        const diffID = sha(new Uint8Array(execFileSync("zstd", ["-q", "-d", "-c", blobPath], { maxBuffer: 1 << 28 })));
        const r = await verifyLayer(new MemorySource(blob), { digest: w.digest, size: w.size, annotations: w.annotations }, {
          diffID,
          core,
        });
        expect(r.failures).toEqual([]);
        expect(r.format).toBe("zstd:chunked");
        expect(r.tocAuthenticated).toBe(true);
        expect(r.filesChecked).toBeGreaterThan(0);
        for (const c of ["blob-digest", "diff-id", "toc", "toc-vs-tar", "file-digests", "chunk-digests", "chunk-layout"]) {
          expect(statusOf(r, c)).toBe("ok");
        }
        // no tar-split in 1.43 layers
        expect(statusOf(r, "tar-split-vs-tar")).toBe("skipped");
      },
      TIMEOUT,
    );
  }

  it(
    "a flipped byte in upstream's payload is caught and blamed on the file",
    async () => {
      const tarPath = join(dir, "cs-flip.tar");
      const blobPath = join(dir, "cs-flip.blob");
      writeFileSync(tarPath, tars.kitchenSinkTar());
      const w = runHarness<{ annotations: Record<string, string>; size: number; digest: string }>(["cstorage-write", tarPath, blobPath]);
      const blob = new Uint8Array(readFileSync(blobPath));
      const good = await verifyLayer(new MemorySource(blob), { digest: w.digest, size: w.size, annotations: w.annotations }, { core });
      expect(good.ok).toBe(true);
      // ./bin/tool is 200,000 random bytes: the middle of the blob's first half is its payload
      const bad = blob.slice();
      const at = 100_000;
      bad[at] = bad[at]! ^ 0x01;
      const r = await verifyLayer(new MemorySource(bad), { digest: w.digest, size: w.size, annotations: w.annotations }, { core });
      expect(r.ok).toBe(false);
      expect(statusOf(r, "blob-digest")).toBe("failed");
      expect(r.failures.find((f) => f.check === "file-digests")?.path).toBe("./bin/tool");
    },
    TIMEOUT,
  );
});

describe("stargz-snapshotter estargz.Build", () => {
  for (const [name, make] of fixtures) {
    for (const procs of ["1", "2"]) {
      it(
        `${name} (GOMAXPROCS ${procs})`,
        async () => {
          const tarPath = join(dir, `es-${name}.tar`);
          const blobPath = join(dir, `es-${name}-${procs}.blob`);
          writeFileSync(tarPath, make());
          const out = execFileSync(estargzBin, ["build", "--chunk-size", "262144", tarPath, blobPath], {
            encoding: "utf8",
            env: { ...process.env, GOMAXPROCS: procs },
          });
          const b = JSON.parse(out) as { tocDigest: string; diffID: string; size: number };
          const blob = new Uint8Array(readFileSync(blobPath));
          const descriptor = {
            digest: sha(blob),
            size: blob.length,
            mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
            annotations: { "containerd.io/snapshot/stargz/toc.digest": b.tocDigest },
          };
          const r = await verifyLayer(new MemorySource(blob), descriptor, { diffID: b.diffID, core });
          expect(r.failures).toEqual([]);
          expect(r.format).toBe("estargz");
          expect(r.tocDigest).toBe(b.tocDigest);
          expect(r.tocAuthenticated).toBe(true);
          for (const c of ["diff-id", "toc-vs-tar", "file-digests", "chunk-digests", "chunk-layout"]) expect(statusOf(r, c)).toBe("ok");
        },
        TIMEOUT,
      );
    }
  }
});

describe("stargz-snapshotter zstdchunked (eStargz TOC in zstd:chunked framing)", () => {
  for (const [name, make] of fixtures) {
    it(
      name,
      async () => {
        const tarPath = join(dir, `sz-${name}.tar`);
        const blobPath = join(dir, `sz-${name}.blob`);
        writeFileSync(tarPath, make());
        const w = runHarness<{ annotations: Record<string, string>; tocDigest: string; diffID: string }>([
          "stargz-zstd-write",
          tarPath,
          blobPath,
        ]);
        const blob = new Uint8Array(readFileSync(blobPath));
        const r = await verifyLayer(new MemorySource(blob), { digest: sha(blob), size: blob.length, annotations: w.annotations }, {
          diffID: w.diffID,
          core,
        });
        expect(r.failures).toEqual([]);
        expect(r.format).toBe("zstd:chunked");
        expect(r.tocDigest).toBe(w.tocDigest);
        for (const c of ["diff-id", "toc", "toc-vs-tar", "file-digests", "chunk-digests", "chunk-layout"]) {
          expect(statusOf(r, c)).toBe("ok");
        }
      },
      TIMEOUT,
    );
  }
});
