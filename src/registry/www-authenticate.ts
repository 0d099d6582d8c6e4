/**
 * Parsing `WWW-Authenticate` headers (RFC 7235): one or more challenges, each a scheme and
 * `key=value` / `key="quoted"` parameters, e.g.
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"`.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";

/** One challenge: the scheme in lower case and its parameters (keys in lower case). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Longest header we parse; registries send a few hundred bytes. */
const MAX_HEADER = 16 * 1024;
const TOKEN_RE = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;

/** Parses a `WWW-Authenticate` value into its challenges. Malformed input is an `HTTP` error. */
export function parseWwwAuthenticate(header: string): Challenge[] {
  if (header.length > MAX_HEADER) {
    throw new LayerkitError("HTTP", `WWW-Authenticate header is longer than ${MAX_HEADER} bytes`, { length: header.length });
  }
  const out: Challenge[] = [];
  let i = 0;
  const fail = (why: string): LayerkitError =>
    new LayerkitError("HTTP", `malformed WWW-Authenticate header: ${why} at character ${i}`, { header: header.slice(0, 300), position: i });
  const ws = (): void => {
    while (i < header.length && (header[i] === " " || header[i] === "\t")) i++;
  };
  const token = (): string | undefined => {
    TOKEN_RE.lastIndex = i;
    const m = TOKEN_RE.exec(header);
    if (!m) return undefined;
    i += m[0].length;
    return m[0];
  };
  for (;;) {
    ws();
    while (header[i] === ",") {
      i++;
      ws();
    }
    if (i >= header.length) return out;
    const scheme = token();
    if (!scheme) throw fail("expected an auth scheme");
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    // Parameters until the next scheme (a token not followed by "=") or the end.
    for (;;) {
      ws();
      while (header[i] === ",") {
        i++;
        ws();
      }
      if (i >= header.length) return out;
      const save = i;
      const key = token();
      if (!key) throw fail("expected a parameter");
      ws();
      if (header[i] !== "=") {
        i = save; // a new challenge starts here
        break;
      }
      i++;
      ws();
      let value: string;
      if (header[i] === '"') {
        i++;
        value = "";
        for (;;) {
          if (i >= header.length) throw fail("unterminated quoted string");
          const c = header[i]!;
          if (c === "\\") {
            if (i + 1 >= header.length) throw fail("unterminated quoted string");
            value += header[i + 1];
            i += 2;
          } else if (c === '"') {
            i++;
            break;
          } else {
            value += c;
            i++;
          }
        }
      } else {
        const t = token();
        if (t === undefined) throw fail("expected a parameter value");
        value = t;
      }
      challenge.params[key.toLowerCase()] = value;
    }
  }
}
