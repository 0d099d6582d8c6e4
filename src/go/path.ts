/**
 * Path helpers with Go semantics.
 *
 * @module
 */

/** Go's `path.Clean` / Unix `filepath.Clean`: lexical normalisation, "" → ".". */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  let dotdot = 0; // leading ".." count kept for unrooted paths
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > dotdot) out.pop();
      else if (!rooted) {
        out.push("..");
        dotdot++;
      }
      continue;
    }
    out.push(part);
  }
  const s = out.join("/");
  if (rooted) return "/" + s;
  return s === "" ? "." : s;
}

/** stargz-snapshotter's `cleanEntryName`: `path.Clean("/" + name)` without the leading slash. */
export function cleanEntryName(name: string): string {
  const out: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}
