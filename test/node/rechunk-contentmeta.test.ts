/**
 * contentmeta v1 reader and writer: what ostree-rs-ext accepts reads back in file order, and
 * every kind of bad input is a BAD_CONTENTMETA error whose message names the entry.
 */
import { describe, expect, it } from "vitest";
import { isLayerkitError } from "../../src/errors.js";
import { type ContentMeta, formatContentMeta, parseContentMeta } from "../../src/rechunk/contentmeta.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const D = "sha256:" + "ab".repeat(32);

function doc(over: Record<string, unknown> = {}): string {
  return JSON.stringify({ version: 1, layers: { base: "glibc", app: "bash" }, mapping: { "/usr/bin/bash": "app", [D]: "base" }, ...over });
}

function fails(input: string | Uint8Array, message: RegExp, options = {}): void {
  let err: unknown;
  try {
    parseContentMeta(typeof input === "string" ? enc(input) : input, options);
  } catch (e) {
    err = e;
  }
  expect(isLayerkitError(err, "BAD_CONTENTMETA"), String(err)).toBe(true);
  expect((err as Error).message).toMatch(message);
}

describe("contentmeta reader", () => {
  it("reads ostree-rs-ext's shape, keeping the file's order (integer-like ids too)", () => {
    const text = `{"version":1,"created":"2024-05-01T12:00:00Z","labels":{"b":"2","a":"1"},
      "layers":{"9":"nine","10":"ten","2":"two"},
      "mapping":{"/z":"10","/a":"9","${D}":"2"},"ordered":true,"extra":{"ignored":[1,2]}}`;
    const m = parseContentMeta(enc(text));
    expect(m.layers.map((l) => l.id)).toEqual(["9", "10", "2"]);
    expect(m.mapping.map((e) => e.key)).toEqual(["/z", "/a", D]);
    expect(m.labels).toEqual([["b", "2"], ["a", "1"]]);
    expect(m.created).toBe("2024-05-01T12:00:00Z");
    expect(m.ordered).toBe(true);
  });

  it("optional members default as upstream: no created, no labels, ordered false", () => {
    const m = parseContentMeta(enc(doc()));
    expect(m.created).toBeUndefined();
    expect(m.labels).toEqual([]);
    expect(m.ordered).toBe(false);
    expect(parseContentMeta(enc(doc({ labels: null, ordered: null, created: null }))).ordered).toBe(false);
  });

  it("refuses each kind of bad input with a message naming the entry", () => {
    fails("{", /expected a member name at byte 1/);
    fails(`{"version":1`, /expected .,. or .}. at byte 12/);
    fails(`{"version":1,}`, /expected a member name at byte 13/);
    fails("[1]", /must be a JSON object/);
    fails(doc({ version: 2 }), /unsupported version 2 \(supported: 1\)/);
    fails(doc({ version: "1" }), /"version" must be an integer/);
    fails(JSON.stringify({ layers: {}, mapping: {} }), /"version" is missing/);
    fails(doc({ layers: ["a"] }), /"layers" must be an object, not a array/);
    fails(doc({ mapping: { "/x": 3 } }), /mapping entry "\/x" must be a string, not a number/);
    fails(doc({ labels: { k: true } }), /labels entry "k" must be a string, not a bool/);
    fails(doc({ ordered: "yes" }), /"ordered" must be true or false/);
    fails(doc({ created: "yesterday" }), /"created" "yesterday" is not an RFC 3339 time/);
    fails(
      doc({ mapping: { "/usr/bin/bash": "app", [D]: "base", "/x": "nope" } }),
      /mapping key "\/x" names layer "nope", which "layers" does not declare/,
    );
    fails(doc({ layers: { base: "glibc", app: "bash", lonely: "x" } }), /layer "lonely" is left empty: no mapping entry names it/);
    fails(doc({ layers: {} }), /"layers" declares no layer/);
    fails(doc({ mapping: { "/usr/../etc/passwd": "app", [D]: "base" } }), /mapping key "\/usr\/..\/etc\/passwd" contains a ".." component/);
    fails(doc({ mapping: { "/usr/bin\u0000x": "app", [D]: "base" } }), /contains a NUL byte/);
    fails(doc({ mapping: { "usr/bin/bash": "app", [D]: "base" } }), /neither a sha256:<hex> digest nor an absolute path/);
    fails(doc({ mapping: { "/usr//bin": "app", [D]: "base" } }), /is not a clean path/);
    fails(doc({ mapping: { "/usr/bin/": "app", [D]: "base" } }), /is not a clean path/);
    fails(doc({ mapping: { "/": "app", [D]: "base" } }), /names the root/);
    fails(doc({ mapping: { "/a": "app", "sha256:ABC": "base" } }), /"sha256:ABC" is not a sha256 digest/);
    fails(doc({ mapping: { "/a": "app", ["ab".repeat(32)]: "base" } }), /looks like an ostree object checksum/);
  });

  it("detects duplicate keys that JSON.parse would silently drop, naming them", () => {
    fails(`{"version":1,"layers":{"a":"A"},"mapping":{"/x":"a","/y":"a","/x":"a"}}`, /duplicate key "\/x" at byte \d+ \(in "mapping"\)/);
    fails(`{"version":1,"layers":{"a":"A","a":"B"},"mapping":{"/x":"a"}}`, /duplicate key "a" at byte \d+ \(in "layers"\)/);
    fails(`{"version":1,"version":1,"layers":{"a":"A"},"mapping":{"/x":"a"}}`, /duplicate key "version"/);
  });

  it("refuses invalid UTF-8 and lone surrogates, saying where", () => {
    const head = enc(`{"version":1,"layers":{"a":"A"},"mapping":{"/ok":"a","/bad`);
    const tail = enc(`":"a"}}`);
    const bytes = new Uint8Array([...head, 0xff, ...tail]);
    fails(bytes, new RegExp(`string is not valid UTF-8 at byte ${head.length} \\(in "mapping" › after "/ok"\\)`));
    fails(new Uint8Array([...head, 0xed, 0xa0, 0x80, ...tail]), /not valid UTF-8/); // an encoded surrogate
    fails(`{"version":1,"layers":{"a":"A"},"mapping":{"/x\\ud800":"a"}}`, /lone surrogate/);
    // A well-formed pair is fine.
    expect(parseContentMeta(enc(`{"version":1,"layers":{"a":"A"},"mapping":{"/x\\ud83d\\ude00":"a"}}`)).mapping[0]!.key).toBe(
      "/x\u{1f600}",
    );
  });

  it("bounds the entries: 10^6 mapping entries are refused by the default limit", () => {
    const parts = ['{"version":1,"layers":{"a":"A"},"mapping":{'];
    for (let i = 0; i < 1_000_000; i++) parts.push(`${i ? "," : ""}"/f${i}":"a"`);
    parts.push("}}");
    fails(parts.join(""), /more than 500016 entries \(the limit\)/);
    // and a smaller limit, given explicitly, counts typed entries exactly
    fails(doc(), /4 entries, more than the limit of 2/, { maxEntries: 2 });
    fails(doc(), /more than the limit of 10/, { maxBytes: 10 });
  });
});

describe("contentmeta writer", () => {
  it("writes deterministic JSON that reads back to the same value", () => {
    const meta: ContentMeta = {
      version: 1,
      created: "2024-05-01T12:00:00Z",
      labels: [["z", "1"], ["a", "\u00e9\n"]],
      layers: [{ id: "10", name: "ten" }, { id: "2", name: "two" }],
      mapping: [{ key: "/b", layer: "2" }, { key: D, layer: "10" }, { key: "/a", layer: "2" }],
      ordered: true,
    };
    const text = formatContentMeta(meta);
    expect(formatContentMeta(structuredClone(meta))).toBe(text);
    const back = parseContentMeta(enc(text));
    expect(back).toEqual({ ...meta, labels: [["a", "\u00e9\n"], ["z", "1"]] });
    expect(formatContentMeta(back)).toBe(text);
    expect(text.startsWith('{\n  "version": 1,\n  "created": "2024-05-01T12:00:00Z",\n')).toBe(true);
    expect(JSON.parse(text)).toMatchObject({ ordered: true, layers: { "10": "ten", "2": "two" } });
  });

  it("refuses to write what the reader would refuse", () => {
    expect(() =>
      formatContentMeta({
        version: 1,
        labels: [],
        layers: [{ id: "a", name: "A" }],
        mapping: [{ key: "/x/../y", layer: "a" }],
        ordered: false,
      })
    ).toThrow(/contains a "\.\." component/);
  });
});
