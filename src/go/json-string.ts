/**
 * {@link goJsonString} is Go's string escaping: HTML-escaped `<`, `>`, `&` (`\u003c` …), U+2028
 * and U+2029 escaped, control characters as `\n`, `\r`, `\t` or `\u00XX` (lower-case hex),
 * invalid UTF-8 as one `\ufffd` per byte (strings from the tar reader carry those bytes as lone
 * surrogates U+DC80..U+DCFF, see ./strings.ts). json-iterator and Go ≤ 1.21's `encoding/json`
 * write `\u0008`/`\u000c`; Go ≥ 1.22's `encoding/json` writes `\b`/`\f`.
 *
 * @module
 */

export interface GoJsonStringOptions {
  /** Write `\b` and `\f` as Go ≥ 1.22's encoding/json does (default false: `\u0008`, `\u000c`). */
  shortBackspaceFormfeed?: boolean;
  /** Escape `<`, `>`, `&` (default true, as both Go encoders do by default). */
  escapeHtml?: boolean;
  /**
   * Lone surrogates that do not stand for an invalid byte (JS strings not made by `goString`):
   * `\ufffd` escaped (true) or a raw U+FFFD (default), the two ways Go's encoders differ on them.
   */
  escapeAllLoneSurrogates?: boolean;
}

const HEX = "0123456789abcdef";
// deno-lint-ignore no-control-regex -- Go escapes U+0000..U+001F, so the class must name them
const NEEDS_ESCAPE_HTML = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/;
// deno-lint-ignore no-control-regex -- as above
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/;

/** A JSON string literal (with quotes) exactly as Go's encoders write `s`. */
export function goJsonString(s: string, options: GoJsonStringOptions = {}): string {
  const html = options.escapeHtml ?? true;
  if (!(html ? NEEDS_ESCAPE_HTML : NEEDS_ESCAPE).test(s)) return '"' + s + '"';
  const short = options.shortBackspaceFormfeed ?? false;
  const escapeAll = options.escapeAllLoneSurrogates ?? false;
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c < 0x20) {
      if (c === 0x0a) rep = "\\n";
      else if (c === 0x0d) rep = "\\r";
      else if (c === 0x09) rep = "\\t";
      else if (short && c === 0x08) rep = "\\b";
      else if (short && c === 0x0c) rep = "\\f";
      else rep = "\\u00" + HEX[c >> 4] + HEX[c & 15];
    } else if (c === 0x22) rep = '\\"';
    else if (c === 0x5c) rep = "\\\\";
    else if (html && (c === 0x3c || c === 0x3e || c === 0x26)) rep = "\\u00" + HEX[c >> 4] + HEX[c & 15];
    else if (c === 0x2028) rep = "\\u2028";
    else if (c === 0x2029) rep = "\\u2029";
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++; // a valid pair
        continue;
      }
      rep = escapeAll ? "\\ufffd" : "\uFFFD"; // not from goString: its bytes would be U+FFFD's
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      rep = escapeAll || (c >= 0xdc80 && c <= 0xdcff) ? "\\ufffd" : "\uFFFD";
    }
    if (rep !== undefined) {
      out += s.slice(start, i) + rep;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}
