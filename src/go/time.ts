/**
 * Go `time.Time` as the zstd:chunked TOC carries it: `MarshalJSON` output (RFC 3339 with up to
 * nine fraction digits, trailing zeros trimmed) rendered in UTC (`Z`), from exact
 * seconds + nanoseconds; and RFC 3339 parsing (any offset) back to an exact instant.
 *
 * Zero values (docs/formats/zstd-chunked.md §2.7, §3.3): Go's zero `time.Time` is 0001-01-01T00:00:00Z
 * ({@link GO_ZERO_UNIX}); upstream omits it from TOCs (c/storage ≥ 1.55), while a tar mtime of 0
 * is the Unix epoch, which is not Go's zero time and is written. The TOC↔tar-split comparison
 * treats absent, zero and the Unix epoch as equal ({@link tocTimesMatch}).
 *
 * @module
 */
import { type ErrorCode, LayerkitError } from "../errors.js";

/** An exact instant: seconds since the Unix epoch and nanoseconds in [0, 1e9). */
export interface Instant {
  sec: number;
  nsec: number;
}

/** Unix seconds of Go's zero time, 0001-01-01T00:00:00Z. */
export const GO_ZERO_UNIX = -62135596800;
/** Unix seconds of 0000-01-01T00:00:00Z, the first instant Go can marshal. */
export const MIN_MARSHAL_UNIX = -62167219200;
/** Unix seconds of 9999-12-31T23:59:59Z, the last second Go can marshal. */
export const MAX_MARSHAL_UNIX = 253402300799;

/** Normalises `(sec, nsec)` (nsec may be negative or ≥ 1e9, as Go's `time.Unix` allows). */
export function instant(sec: number | bigint, nsec = 0): Instant {
  if (!Number.isInteger(nsec)) throw new LayerkitError("BAD_ARGUMENT", `nanoseconds must be an integer, got ${nsec}`, { nsec });
  let s: number;
  if (typeof sec === "bigint") {
    if (sec > BigInt(Number.MAX_SAFE_INTEGER) || sec < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new LayerkitError("OUT_OF_RANGE", `time ${sec}s is out of range`, { sec: sec.toString() });
    }
    s = Number(sec);
  } else {
    if (!Number.isSafeInteger(sec)) throw new LayerkitError("OUT_OF_RANGE", `time ${sec}s is not a safe integer`, { sec });
    s = sec;
  }
  if (nsec < 0 || nsec >= 1e9) {
    const carry = Math.floor(nsec / 1e9);
    s += carry;
    nsec -= carry * 1e9;
  }
  return { sec: s, nsec };
}

/** True for Go's zero time (`time.Time{}.IsZero()`). */
export function isGoZero(t: Instant): boolean {
  return t.sec === GO_ZERO_UNIX && t.nsec === 0;
}

/** True for the Unix epoch. */
export function isUnixEpoch(t: Instant): boolean {
  return t.sec === 0 && t.nsec === 0;
}

/** `time.Equal`. */
export function sameInstant(a: Instant, b: Instant): boolean {
  return a.sec === b.sec && a.nsec === b.nsec;
}

/** Orders two instants (negative when `a` is earlier). */
export function compareInstants(a: Instant, b: Instant): number {
  return a.sec !== b.sec ? a.sec - b.sec : a.nsec - b.nsec;
}

// Days since 1970-01-01 ↔ proleptic Gregorian civil dates (H. Hinnant's algorithms).
function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysIn(y: number, m: number): number {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}

/**
 * `time.Time.MarshalJSON` text (without the quotes) of the instant in UTC, e.g.
 * `2023-11-14T22:13:20.123456789Z` or `1970-01-01T00:00:00Z`. Years outside 0000–9999 throw
 * OUT_OF_RANGE, as Go's encoder fails on them.
 */
export function formatGoTime(sec: number | bigint, nsec = 0): string {
  const t = instant(sec, nsec);
  if (t.sec < MIN_MARSHAL_UNIX || t.sec > MAX_MARSHAL_UNIX) {
    throw new LayerkitError("OUT_OF_RANGE", `time ${t.sec}s since the epoch has a year outside [0,9999], which Go cannot marshal`, {
      sec: t.sec,
      nsec: t.nsec,
    });
  }
  const days = Math.floor(t.sec / 86400);
  let rem = t.sec - days * 86400;
  const [y, m, d] = civilFromDays(days);
  const hh = Math.floor(rem / 3600);
  rem -= hh * 3600;
  const mm = Math.floor(rem / 60);
  const ss = rem - mm * 60;
  let out = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}`;
  if (t.nsec !== 0) out += "." + pad(t.nsec, 9).replace(/0+$/, "");
  return out + "Z";
}

/** {@link formatGoTime} of an {@link Instant}. */
export function formatInstant(t: Instant): string {
  return formatGoTime(t.sec, t.nsec);
}

// Go's general layout parser decides what time.Parse(time.RFC3339) accepts: a one- or two-digit
// hour, a '.' or ',' before the fraction, and zone offsets up to 24:60 (range tests use '>').
const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 time as Go's `time.Parse(time.RFC3339, s)` does (any number of fraction
 * digits, truncated to nanoseconds; `Z` or a `±hh:mm` offset; Go's leniencies noted above) to the
 * exact instant. Throws `code` (default BAD_ARGUMENT) on anything else, including impossible dates.
 */
export function parseRfc3339(s: string, code: ErrorCode = "BAD_ARGUMENT"): Instant {
  const m = RFC3339_RE.exec(s);
  const bad = (why: string): never => {
    throw new LayerkitError(code, `not an RFC 3339 time (${why}): ${JSON.stringify(s)}`, { value: s });
  };
  if (!m) return bad("syntax");
  const y = +m[1]!;
  const mo = +m[2]!;
  const d = +m[3]!;
  const hh = +m[4]!;
  const mi = +m[5]!;
  const ss = +m[6]!;
  if (mo < 1 || mo > 12) bad("month out of range");
  if (d < 1 || d > daysIn(y, mo)) bad("day out of range");
  if (hh > 23 || mi > 59 || ss > 59) bad("time out of range");
  let nsec = 0;
  if (m[7] !== undefined) nsec = +m[7].slice(0, 9).padEnd(9, "0");
  let offset = 0;
  if (m[8] !== undefined) {
    const oh = +m[9]!;
    const om = +m[10]!;
    if (oh > 24 || om > 60) bad("offset out of range");
    offset = (oh * 60 + om) * 60 * (m[8] === "-" ? -1 : 1);
  }
  const sec = daysFromCivil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - offset;
  return { sec, nsec };
}

/**
 * c/storage's `ensureTimePointersMatch` on TOC time strings: absent, Go's zero time and the Unix
 * epoch are all "no time"; otherwise the instants must be equal (the offset does not matter).
 */
export function tocTimesMatch(a: string | undefined, b: string | undefined, code: ErrorCode = "BAD_TOC"): boolean {
  const norm = (v: string | undefined): Instant | undefined => {
    if (v === undefined) return undefined;
    const t = parseRfc3339(v, code);
    return isGoZero(t) || isUnixEpoch(t) ? undefined : t;
  };
  const x = norm(a);
  const y = norm(b);
  if (x === undefined || y === undefined) return x === y;
  return sameInstant(x, y);
}
