/**
 * Extended attributes of a whole tree for a Node tree diff. Node has no xattr API, so Debian's
 * `getfattr` (package attr, which extraction's `setfattr` comes from too) dumps the tree once:
 * `-R -P -h` walks without following any symlink, `-m -` takes every namespace the caller may
 * read (trusted.* only as root), `-e hex` keeps values byte-exact. Only files that have
 * attributes are listed, so memory is one map entry per such file, not per file.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { LayerkitError } from "../errors.js";

/** getfattr escapes bytes in names as `\ooo` octal (a backslash as `\134`). */
function unescapeName(s: string): string {
  if (!s.includes("\\")) return s;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\" && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      bytes.push(...enc.encode(String.fromCodePoint(cp)));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Every attribute under `root`, keyed by the path relative to it (`""` is the root). */
export async function readTreeXattrs(root: string): Promise<Map<string, Map<string, Uint8Array>>> {
  const out = new Map<string, Map<string, Uint8Array>>();
  const child = spawn("getfattr", ["-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", "."], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  let current: Map<string, Uint8Array> | undefined;
  try {
    for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
      if (line.startsWith("# file: ")) {
        const name = unescapeName(line.slice(8));
        const rel = name === "." ? "" : name.startsWith("./") ? name.slice(2) : name;
        current = new Map();
        out.set(rel, current);
      } else if (line !== "" && current) {
        const eq = line.indexOf("=");
        const key = unescapeName(eq < 0 ? line : line.slice(0, eq));
        const value = eq < 0 ? "" : line.slice(eq + 1);
        if (!value.startsWith("0x") && value !== "") {
          throw new LayerkitError("IO", `getfattr: unexpected value for ${key}: ${value.slice(0, 40)}`, { root });
        }
        current.set(key, value === "" ? new Uint8Array(0) : new Uint8Array(Buffer.from(value.slice(2), "hex")));
      }
    }
    const code = await exited;
    if (code !== 0) throw new LayerkitError("IO", `getfattr -R ${root} failed (exit ${code}): ${stderr.trim()}`, { root });
  } catch (e) {
    child.kill();
    if (e instanceof LayerkitError) throw e;
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    throw new LayerkitError(
      "IO",
      missing ? "reading xattrs needs getfattr (Debian: apt-get install attr), or turn xattrs off" : `getfattr: ${(e as Error).message}`,
      { root },
      { cause: e },
    );
  }
  return out;
}
