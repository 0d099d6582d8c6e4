// The benchmark corpus: a tar of real files from this machine (binaries, libraries, text, docs),
// built once into bench/data/real.tar (gitignored) and reused.
//
// Deterministic for a given machine state: directories are walked in sorted (byte) order, only
// regular files are taken, headers carry fixed metadata (mode 0644, uid/gid 0, mtime 0), and each
// root contributes files until its share of the target size is reached. Written by a tiny ustar
// writer, so no tar CLI flags or versions matter.
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const TARGET = 144 * 1024 * 1024;
const ROOTS = ["/usr/lib", "/usr/share"];
const MAX_FILE = 8 * 1024 * 1024; // keep one huge file from dominating the mix

const here = dirname(fileURLToPath(import.meta.url));
const tarPath = join(here, "data", "real.tar");

/** Path of bench/data/real.tar, created on first use (≥ 144 MiB). */
export async function corpus() {
  if (existsSync(tarPath) && statSync(tarPath).size >= TARGET) return tarPath;
  mkdirSync(dirname(tarPath), { recursive: true });
  const tmp = `${tarPath}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  let total = 0;
  try {
    for (const [i, root] of ROOTS.entries()) {
      const share = Math.ceil(((i + 1) * TARGET) / ROOTS.length);
      for (const file of walk(root)) {
        if (total >= share) break;
        let data;
        try {
          data = readFileSync(file);
        } catch {
          continue; // unreadable: skip
        }
        const header = ustarHeader(file.slice(1), data.length);
        if (!header) continue; // name does not fit ustar
        writeSync(fd, header);
        writeSync(fd, data);
        const pad = (512 - (data.length % 512)) % 512;
        if (pad) writeSync(fd, new Uint8Array(pad));
        total += 512 + data.length + pad;
      }
    }
    writeSync(fd, new Uint8Array(1024)); // end-of-archive
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, tarPath);
  return tarPath;
}

/** Regular files under `dir`, sorted walk, symlinks not followed. */
function* walk(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    const p = join(dir, name);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) yield* walk(p);
    else if (st.isFile() && st.size > 0 && st.size <= MAX_FILE) yield p;
  }
}

function ustarHeader(path, size) {
  const enc = new TextEncoder();
  let name = enc.encode(path);
  let prefix = new Uint8Array(0);
  if (name.length > 100) {
    const cut = path.lastIndexOf("/", 155);
    if (cut <= 0) return null;
    prefix = enc.encode(path.slice(0, cut));
    name = enc.encode(path.slice(cut + 1));
    if (prefix.length > 155 || name.length > 100 || name.length === 0) return null;
  }
  const h = new Uint8Array(512);
  const put = (off, bytes) => h.set(bytes, off);
  const octal = (off, len, n) => put(off, enc.encode(n.toString(8).padStart(len - 1, "0") + "\0"));
  put(0, name);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  h.fill(0x20, 148, 156); // checksum placeholder
  h[156] = 0x30; // regular file
  put(257, enc.encode("ustar\0"));
  put(263, enc.encode("00"));
  put(345, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  put(148, enc.encode(sum.toString(8).padStart(6, "0") + "\0 "));
  return h;
}

const bigTarPath = join(here, "data", "1gib.tar");

/**
 * Path of bench/data/1gib.tar, created on first use: the corpus' files repeated under `rN/`
 * prefixes until at least 1 GiB of tar, copied header by header (no file held in memory).
 */
export async function bigCorpus() {
  if (existsSync(bigTarPath) && statSync(bigTarPath).size >= 2 ** 30) return bigTarPath;
  const src = readFileSync(await corpus());
  const tmp = `${bigTarPath}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  let total = 0;
  try {
    for (let round = 0; total < 2 ** 30; round++) {
      for (let at = 0; at + 512 <= src.length;) {
        const h = src.subarray(at, at + 512);
        if (h.every((b) => b === 0)) break; // end-of-archive
        const size = parseInt(new TextDecoder().decode(h.subarray(124, 136)).replace(/\0.*$/, "").trim(), 8);
        const prefix = cstr(h.subarray(345, 500));
        const name = cstr(h.subarray(0, 100));
        const header = ustarHeader(`r${round}/${prefix ? prefix + "/" : ""}${name}`, size);
        const padded = Math.ceil(size / 512) * 512;
        if (header) {
          writeSync(fd, header);
          writeSync(fd, src.subarray(at + 512, at + 512 + padded));
          total += 512 + padded;
        }
        at += 512 + padded;
      }
    }
    writeSync(fd, new Uint8Array(1024));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, bigTarPath);
  return bigTarPath;
}

function cstr(bytes) {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const p = process.argv[2] === "big" ? await bigCorpus() : await corpus();
  console.log(`${p} (${(statSync(p).size / 2 ** 20).toFixed(1)} MiB)`);
}
