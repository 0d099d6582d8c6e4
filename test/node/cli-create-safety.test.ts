/**
 * `layerkit create` refuses what the layer's own verify would reject (issue 17.1/17.2): a non-tar
 * input and unsafe names fail with the verification exit code, one line naming the code, and no
 * output file; `--allow-unsafe-paths` writes the unsafe names (and verify then reports them).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_BAD_CONTENT } from "../../src/cli/errors.js";
import { dotDotTar, manySmallFiles } from "../fixtures/tars.js";
import { buildCli, runCli } from "./cli-run.js";

let work: string;
beforeAll(() => {
  buildCli();
  work = mkdtempSync(join(tmpdir(), "layerkit-cli-safety-"));
  writeFileSync(join(work, "rootfs.tar.gz"), gzipSync(manySmallFiles(10)));
  writeFileSync(join(work, "dotdot.tar"), dotDotTar("../escape.txt"));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("create refuses what verify would reject", () => {
  for (const format of ["zstd", "gzip", "zstd:chunked", "estargz"]) {
    it(`${format}: a .tar.gz input is TAR_CORRUPT, exit ${EXIT_BAD_CONTENT}, no output`, () => {
      const out = join(work, `gz-${format.replace(":", "-")}.blob`);
      const r = runCli(["create", join(work, "rootfs.tar.gz"), "-o", out, "--format", format]);
      expect(r.status).toBe(EXIT_BAD_CONTENT);
      expect(r.stderr).toMatch(/TAR_CORRUPT/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(out)).toBe(false);
    });

    it(`${format}: ../escape.txt is UNSAFE_PATH unless --allow-unsafe-paths, and verify then fails`, () => {
      const out = join(work, `dd-${format.replace(":", "-")}.blob`);
      const r = runCli(["create", join(work, "dotdot.tar"), "-o", out, "--format", format]);
      expect(r.status).toBe(EXIT_BAD_CONTENT);
      expect(r.stderr).toMatch(/UNSAFE_PATH/);
      expect(existsSync(out)).toBe(false);
      const ok = runCli(["create", join(work, "dotdot.tar"), "-o", out, "--format", format, "--allow-unsafe-paths"]);
      expect(ok.status, ok.stderr).toBe(0);
      const v = runCli(["verify", out]);
      expect(v.status).toBe(EXIT_BAD_CONTENT);
      expect(v.stdout + v.stderr).toMatch(/UNSAFE_PATH/);
    });
  }
});
