/**
 * Shared by the CLI tests: runs the real `layerkit` bin (dist/, compiled by global-setup.ts) in
 * a child process; builds a temp directory tree with every entry kind the CLI handles.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const BIN = join(ROOT, "dist/cli/bin.js");

/** dist/ is compiled once for the whole run by test/node/global-setup.ts; this checks it is there. */
export function buildCli(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: test/node/global-setup.ts should have built it`);
}

export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
  });
}

/** Runs the bin asynchronously (for signal tests). */
export function spawnCli(args: string[]) {
  return spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
}

export const sha256 = (b: Uint8Array): string => "sha256:" + createHash("sha256").update(b).digest("hex");

/** A deterministic pseudo-random payload (xorshift), so a "big file" is not trivially compressible. */
export function noise(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) & 0x3f; // 6 bits: compressible a little, like real binaries
  }
  return out;
}

/**
 * A tree with nested and empty directories, empty files, a 9 MiB file, an executable, a long and
 * a non-ASCII name, relative and absolute symlinks, a dangling symlink, a hardlink pair and a FIFO.
 */
export function makeTree(dir: string): void {
  mkdirSync(join(dir, "usr/bin"), { recursive: true });
  mkdirSync(join(dir, "usr/share/empty-dir"), { recursive: true });
  mkdirSync(join(dir, "etc"), { recursive: true });
  writeFileSync(join(dir, "etc/os-release"), 'NAME="layerkit test"\nID=test\n');
  writeFileSync(join(dir, "etc/empty"), "");
  writeFileSync(join(dir, "usr/bin/tool"), "#!/bin/sh\necho tool\n", { mode: 0o755 });
  writeFileSync(join(dir, "usr/share/big.bin"), noise(9 * 1024 * 1024 + 123));
  writeFileSync(join(dir, "usr/share/" + "long-name-".repeat(12) + "end.txt"), "long\n");
  writeFileSync(join(dir, "usr/share/unicodé-ñame.txt"), "unicode\n");
  linkSync(join(dir, "usr/bin/tool"), join(dir, "usr/bin/tool-hardlink"));
  symlinkSync("tool", join(dir, "usr/bin/tool-rel"));
  symlinkSync("/etc/os-release", join(dir, "etc/abs-link"));
  symlinkSync("does/not/exist", join(dir, "etc/dangling"));
  spawnSync("mkfifo", [join(dir, "etc/fifo")]);
  if (!existsSync(join(dir, "etc/fifo"))) throw new Error("mkfifo failed");
}

export interface TreeFile {
  name: string;
  type: "reg" | "dir" | "symlink" | "fifo" | "other";
  digest?: string;
  size?: number;
  linkname?: string;
  mode: number;
}

/** Walks a directory the plain way (independent of the code under test), sorted by name. */
export function listTree(dir: string): TreeFile[] {
  const out: TreeFile[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(dir, r);
      const st = lstatSync(p);
      const mode = st.mode & 0o777;
      if (st.isDirectory()) {
        out.push({ name: r, type: "dir", mode });
        walk(r);
      } else if (st.isFile()) {
        const b = readFileSync(p);
        out.push({ name: r, type: "reg", digest: sha256(b), size: b.length, mode });
      } else if (st.isSymbolicLink()) {
        out.push({ name: r, type: "symlink", linkname: readlinkSync(p), mode: 0o777 });
      } else if (st.isFIFO()) {
        out.push({ name: r, type: "fifo", mode });
      } else {
        out.push({ name: r, type: "other", mode });
      }
    }
  };
  walk("");
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Like runCli, without blocking this process's event loop (needed when the test itself serves HTTP). */
export function runCliAsync(
  args: string[],
  options: { env?: Record<string, string> } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...options.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}
