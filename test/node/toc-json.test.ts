/**
 * TOC JSON against Go itself: goJsonString vs Go's encoding/json and json-iterator
 * (ConfigCompatibleWithStandardLibrary, what c/storage marshals TOCs with) on every ASCII
 * character, HTML characters, U+2028/U+2029, and invalid UTF-8 of every kind; formatGoTime vs
 * `time.Time.MarshalJSON` and parseRfc3339 vs `time.Parse(time.RFC3339, …)`, with zones. The
 * little Go program is built offline against Debian's packages (Go 1.19, so `\u0008`/`\u000c`).
 */
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LayerkitError } from "../../src/errors.js";
import { fileMetadataFromHeader } from "../../src/layer/file-metadata.js";
import { formatGoTime, MAX_MARSHAL_UNIX, MIN_MARSHAL_UNIX, parseRfc3339 } from "../../src/go/time.js";
import { serializeToc } from "../../src/formats/zstd-chunked/toc-json.js";
import { goJsonString } from "../../src/go/json-string.js";
import { isRfc3339, parseToc } from "../../src/layer/toc-parse.js";
import type { Toc } from "../../src/layer/toc.js";
import { readTar } from "../../src/tar/index.js";
import { goString, goStringBytes, hasInvalidUtf8 } from "../../src/go/strings.js";
import { randomBytes, xattrsTar } from "../fixtures/tars.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

const GO_SOURCE = `package main

import (
	"encoding/json"
	"os"
	"time"

	jsoniter "github.com/json-iterator/go"
)

type input struct {
	Strings  [][]byte   \`json:"strings"\`
	Times    [][2]int64 \`json:"times"\`
	Parse    []string   \`json:"parse"\`
	Literals [][]byte   \`json:"literals"\`
}

type output struct {
	Std     [][]byte  \`json:"std"\`
	Iter    [][]byte  \`json:"iter"\`
	Times   []*string \`json:"times"\`
	Parse   [][]int64 \`json:"parse"\`
	Decoded [][]byte  \`json:"decoded"\`
	StdDec  [][]byte  \`json:"stdDec"\`
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		panic(err)
	}
	iter := jsoniter.ConfigCompatibleWithStandardLibrary
	var out output
	for _, b := range in.Strings {
		s, err := json.Marshal(string(b))
		if err != nil {
			panic(err)
		}
		out.Std = append(out.Std, s)
		t, err := iter.Marshal(string(b))
		if err != nil {
			panic(err)
		}
		out.Iter = append(out.Iter, t)
	}
	for _, t := range in.Times {
		b, err := time.Unix(t[0], t[1]).UTC().MarshalJSON()
		if err != nil {
			out.Times = append(out.Times, nil)
			continue
		}
		s := string(b)
		out.Times = append(out.Times, &s)
	}
	for _, s := range in.Parse {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			out.Parse = append(out.Parse, nil)
			continue
		}
		out.Parse = append(out.Parse, []int64{t.Unix(), int64(t.Nanosecond())})
	}
	// JSON string literals read as c/storage's unmarshalToc reads TOC names (jsoniter.ConfigFastest).
	for _, lit := range in.Literals {
		it := jsoniter.ParseBytes(jsoniter.ConfigFastest, lit)
		s := it.ReadString()
		if it.Error != nil {
			out.Decoded = append(out.Decoded, nil)
			continue
		}
		out.Decoded = append(out.Decoded, []byte(s))
		var std string
		if err := json.Unmarshal(lit, &std); err != nil {
			out.StdDec = append(out.StdDec, nil)
			continue
		}
		out.StdDec = append(out.StdDec, []byte(std))
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}
`;

interface GoOut {
  std: string[];
  iter: string[];
  times: Array<string | null>;
  parse: Array<[number, number] | null>;
  decoded: Array<Uint8Array | null>;
  stdDec: Array<Uint8Array | null>;
}

let bin = "";
beforeAll(() => {
  const dir = join(tmpdir(), "layerkit-gojson-" + createHash("sha256").update(GO_SOURCE).digest("hex").slice(0, 12));
  bin = join(dir, "gojson");
  if (existsSync(bin)) return;
  mkdirSync(join(dir, "src/gojson"), { recursive: true });
  writeFileSync(join(dir, "src/gojson/main.go"), GO_SOURCE);
  const r = spawnSync("go", ["build", "-o", bin, "gojson"], {
    cwd: dir,
    env: { ...process.env, GO111MODULE: "off", GOPATH: `${dir}:/usr/share/gocode`, GOFLAGS: "" },
    encoding: "utf8",
  });
  if (r.status !== 0) {
    throw new Error(`building the Go JSON helper failed (apt-get install golang-go golang-github-json-iterator-go-dev):\n${r.stderr}`);
  }
}, 300_000);

function runGo(input: { strings?: Uint8Array[]; times?: Array<[number, number]>; parse?: string[]; literals?: Uint8Array[] }): GoOut {
  const body = JSON.stringify({
    strings: (input.strings ?? []).map((b) => Buffer.from(b).toString("base64")),
    times: input.times ?? [],
    parse: input.parse ?? [],
    literals: (input.literals ?? []).map((b) => Buffer.from(b).toString("base64")),
  });
  const r = spawnSync(bin, [], { input: body, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  const out = JSON.parse(r.stdout.toString()) as {
    std: string[] | null;
    iter: string[] | null;
    times: Array<string | null> | null;
    parse: Array<[number, number] | null> | null;
    decoded: Array<string | null> | null;
    stdDec: Array<string | null> | null;
  };
  const b64 = (s: string): string => dec.decode(Buffer.from(s, "base64"));
  return {
    std: (out.std ?? []).map(b64),
    iter: (out.iter ?? []).map(b64),
    times: out.times ?? [],
    parse: out.parse ?? [],
    decoded: (out.decoded ?? []).map((d) => (d === null ? null : new Uint8Array(Buffer.from(d, "base64")))),
    stdDec: (out.stdDec ?? []).map((d) => (d === null ? null : new Uint8Array(Buffer.from(d, "base64")))),
  };
}

/** Byte strings that exercise every escaping rule and every kind of invalid UTF-8. */
function tricky(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let c = 0; c < 0x80; c++) out.push(Uint8Array.of(0x61, c, 0x62));
  for (
    const s of [
      "<script>&amp;</script>",
      "\u2028\u2029",
      "\u00e9\u65e5\u{1F600}",
      "\uFFFD",
      'quote"back\\slash',
      "\u007f\u0080\u009f",
      "\ufeffbom",
    ]
  ) out.push(enc.encode(s));
  const invalid = [
    [0x80],
    [0xff],
    [0xc0, 0x80], // overlong NUL
    [0xc1, 0xbf],
    [0xe0, 0x80, 0x80], // overlong
    [0xed, 0xa0, 0x80], // UTF-16 surrogate in UTF-8
    [0xed, 0xbf, 0xbf],
    [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
    [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0xe2, 0x82], // truncated
    [0xf0, 0x9f, 0x98], // truncated emoji
    [0x61, 0xe2, 0x82, 0x62],
    [0xef, 0xbf, 0xbd, 0xff, 0xe2, 0x80, 0xa8], // valid U+FFFD, invalid byte, U+2028
  ];
  for (const b of invalid) out.push(Uint8Array.from(b));
  for (let seed = 1; seed <= 300; seed++) out.push(randomBytes(1 + (seed % 40), seed));
  return out;
}

describe("goJsonString vs Go's encoding/json and json-iterator", () => {
  it("escapes every test string exactly as both Go encoders do (HTML, U+2028/9, control characters, invalid UTF-8)", () => {
    const strings = tricky();
    const go = runGo({ strings });
    strings.forEach((b, i) => {
      const ours = goJsonString(goString(b));
      const what = `bytes ${Buffer.from(b).toString("hex")}`;
      expect(ours, `${what} vs encoding/json`).toBe(go.std[i]);
      expect(ours, `${what} vs json-iterator`).toBe(go.iter[i]);
    });
  });

  it("Go ≥ 1.22's short \\b and \\f escapes are an option, and HTML escaping can be turned off", () => {
    expect(goJsonString("\b\f", { shortBackspaceFormfeed: true })).toBe('"\\b\\f"');
    expect(goJsonString("\b\f")).toBe('"\\u0008\\u000c"');
    expect(goJsonString("<&>", { escapeHtml: false })).toBe('"<&>"');
  });
});

describe("TOC names as Go decodes them", () => {
  it("parseToc decodes JSON string literals as Go's encoding/json does (one U+FFFD per invalid byte), and as jsoniter does for valid UTF-8", () => {
    const q = (...parts: Array<string | number[]>): Uint8Array =>
      new Uint8Array(Buffer.concat([Buffer.from('"'), ...parts.map((p) => Buffer.from(p as string)), Buffer.from('"')]));
    const literals = [
      q("plain/name"),
      q("caf", [0xe9]),
      q("trunc", [0xe2, 0x82], "x"),
      q([0xff, 0xfe]),
      q([0xc0, 0x80]),
      q([0xed, 0xa0, 0x80]),
      q("\u00e9\u65e5\u{1F600}"),
      q("esc\\u00e9\\n\\t\\/"),
      q("pair\\ud83d\\ude00"),
    ];
    const go = runGo({ literals });
    const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
    literals.forEach((lit, i) => {
      const json = new Uint8Array(
        Buffer.concat([Buffer.from('{"version":1,"entries":[{"type":"dir","name":'), Buffer.from(lit), Buffer.from("}]}")]),
      );
      const ours = hex(goStringBytes(parseToc(json, { payloadEnd: 1 << 20 }).files[0]!.name));
      expect(ours, `literal ${hex(lit)} vs encoding/json`).toBe(hex(go.stdDec[i]!));
      // c/storage's unmarshalToc (jsoniter) agrees wherever the literal is valid UTF-8; for raw
      // invalid bytes it keeps the bytes (not U+FFFD), which our JSON reader does not (yet).
      if (!hasInvalidUtf8(goString(lit))) expect(ours, `literal ${hex(lit)} vs jsoniter`).toBe(hex(go.decoded[i]!));
    });
  });
});

describe("TOC serialisation", () => {
  it("writes fields in upstream order with omitempty, xattr keys in byte order, and parses back to the same document", async () => {
    const entries = (await readTar(xattrsTar())).entries.map((e) => fileMetadataFromHeader(e.header));
    const toc: Toc = {
      version: 1,
      entries: [...entries, {
        type: "chunk",
        name: "x/file",
        offset: 10,
        endOffset: 20,
        chunkSize: 1,
        chunkOffset: 1,
        chunkDigest: "sha256:" + "a".repeat(64),
      }],
      tarSplitDigest: "sha256:" + "b".repeat(64),
    };
    const text = serializeToc(toc);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(toc)));
    expect(
      text.startsWith(
        '{"version":1,"entries":[{"type":"reg","name":"x/file","mode":420,"size":1,"modtime":"2023-11-14T22:13:20Z","xattrs":{',
      ),
    ).toBe(true);
    const keys = Object.keys((JSON.parse(text) as { entries: Array<{ xattrs?: Record<string, string> }> }).entries[0]!.xattrs!);
    expect(keys).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(text.endsWith(',"tarSplitDigest":"sha256:' + "b".repeat(64) + '"}')).toBe(true);
    expect(serializeToc({ version: 1, entries: null })).toBe('{"version":1,"entries":null}');
  });

  it("numbers that are not safe integers are BAD_ARGUMENT", () => {
    for (const bad of [1.5, 2 ** 53, -Infinity]) {
      expect(() => serializeToc({ version: 1, entries: [{ type: "reg", name: "f", size: bad }] })).toThrow(
        expect.objectContaining({ code: "BAD_ARGUMENT" }),
      );
    }
  });
});

describe("TOC times vs Go's time package", () => {
  it("formatGoTime equals time.Unix(sec, nsec).UTC().MarshalJSON() across years 0000-9999, and fails where Go fails", () => {
    const times: Array<[number, number]> = [
      [0, 0],
      [-1, 999999999],
      [1700000000, 123456789],
      [1700000000, 120000000],
      [1700000000, 1],
      [951782400, 0], // 2000-02-29
      [-2208988800, 0],
      [-62135596800, 0], // Go's zero time
      [MIN_MARSHAL_UNIX, 0],
      [MAX_MARSHAL_UNIX, 999999999],
      [MIN_MARSHAL_UNIX - 1, 0],
      [MAX_MARSHAL_UNIX + 1, 0],
      [1e15, 0],
    ];
    let x = 12345;
    for (let i = 0; i < 400; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const sec = MIN_MARSHAL_UNIX + Math.floor((x / 2 ** 32) * (MAX_MARSHAL_UNIX - MIN_MARSHAL_UNIX));
      times.push([sec, i % 3 === 0 ? 0 : (x * 7919) % 1e9]);
    }
    const go = runGo({ times });
    times.forEach(([sec, nsec], i) => {
      const want = go.times[i];
      if (want === null) {
        expect(() => formatGoTime(sec, nsec), `${sec}`).toThrow(expect.objectContaining({ code: "OUT_OF_RANGE" }));
      } else {
        expect(JSON.stringify(formatGoTime(sec, nsec)), `${sec}.${nsec}`).toBe(want);
      }
    });
  });

  it("parseRfc3339 agrees with time.Parse(time.RFC3339) on instants and on what it rejects", () => {
    const inputs = [
      "2023-11-14T22:13:20Z",
      "2023-11-14T22:13:20.123456789Z",
      "2023-11-14T22:13:20.1234567891234Z",
      "2023-11-14T22:13:20.5+01:00",
      "2023-11-14T22:13:20-07:30",
      "2023-11-14T22:13:20+00:00",
      "0001-01-01T00:00:00Z",
      "0000-01-01T00:00:00Z",
      "9999-12-31T23:59:59.999999999Z",
      "2024-02-29T00:00:00Z",
      "2023-02-29T00:00:00Z",
      "2023-04-31T00:00:00Z",
      "2023-13-01T00:00:00Z",
      "2023-11-14T24:00:00Z",
      "2023-11-14T23:60:00Z",
      "2023-11-14T23:59:60Z",
      "2023-11-14 22:13:20Z",
      "2023-11-14t22:13:20z",
      "2023-11-14T22:13:20",
      "2023-11-14T22:13:20.Z",
      "2023-11-14T22:13Z",
      "23-11-14T22:13:20Z",
      "2023-11-14T22:13:20+0100",
      "2023-11-14T22:13:20+01",
      "",
      "garbage",
      "2023-11-14T22:13:20Z ",
      "+2023-11-14T22:13:20Z",
      "2023-11-14T22:13:20+23:59",
    ];
    const go = runGo({ parse: inputs });
    inputs.forEach((s, i) => {
      const want = go.parse[i];
      let ours: [number, number] | null;
      try {
        const t = parseRfc3339(s, "BAD_TOC");
        ours = [t.sec, t.nsec];
      } catch (e) {
        expect(e).toBeInstanceOf(LayerkitError);
        expect((e as LayerkitError).code).toBe("BAD_TOC");
        ours = null;
      }
      expect(ours, JSON.stringify(s)).toEqual(want);
      // The TOC parser's validity check says the same.
      expect(isRfc3339(s), JSON.stringify(s)).toBe(want !== null);
    });
  });

  it("accepts what Go's lenient layout parser accepts: offsets up to 24:60, a one-digit hour, a comma before the fraction", () => {
    const lenient = [
      "2023-11-14T22:13:20+24:00",
      "2023-11-14T22:13:20-01:60",
      "2023-11-14T22:13:20+24:60",
      "2023-11-14T5:13:20Z",
      "2023-11-14T22:13:20,5Z",
    ];
    const go = runGo({ parse: lenient });
    lenient.forEach((s, i) => {
      const t = parseRfc3339(s, "BAD_TOC");
      expect([t.sec, t.nsec], s).toEqual(go.parse[i]);
      expect(isRfc3339(s), s).toBe(true);
    });
  });

  it("offsets beyond 24:60 are BAD_TOC, as current Go rejects them (hr > 24, mm > 60; Debian's Go 1.19 did not check)", () => {
    for (const s of ["2023-11-14T22:13:20+25:00", "2023-11-14T22:13:20+01:61", "2023-11-14T22:13:20+-1:00"]) {
      expect(() => parseRfc3339(s, "BAD_TOC"), s).toThrow(expect.objectContaining({ code: "BAD_TOC" }));
      expect(isRfc3339(s), s).toBe(false);
    }
  });
});
