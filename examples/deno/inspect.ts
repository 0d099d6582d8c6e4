#!/usr/bin/env -S deno run -A
/**
 * Inspect and verify an OCI layer from Deno: format, TOC summary, largest files, then every
 * check of verifyLayer (blob size and digest, decompression, diffID, TOC digest against the
 * annotations, TOC against the tar, every file and chunk digest, chunk layout, tar-split).
 *
 *   deno run -A examples/deno/inspect.ts SOURCE [--digest sha256:…] [--size N] [--diff-id sha256:…] [--annotations JSON|FILE] [--json]
 *
 * SOURCE is a file path or an http(s) URL (fetched with Range requests). Exit codes: 0 verified,
 * 1 verification failed, 2 usage, 3 I/O or network error (one line on stderr, or a JSON error
 * object on stdout with --json).
 *
 * @module
 */
import { parseArgs } from "node:util";
// In an application: `from "jsr:@layerkit/layerkit"` (this repository's deno.json export).
import { type BlobSource, FileSource, HttpSource, isLayerkitError, LayerkitError, loadCore } from "../../src/runtime/deno.ts";
import { type Check, checkLayer, describe } from "../shared/checks.ts";

const USAGE =
  "usage: deno run -A examples/deno/inspect.ts SOURCE [--digest sha256:…] [--size N] [--diff-id sha256:…] [--annotations JSON|FILE] [--json]";
const EXIT = { ok: 0, failed: 1, usage: 2, io: 3 } as const;

async function openSource(arg: string): Promise<BlobSource> {
  return /^https?:\/\//i.test(arg) ? new HttpSource(arg) : await FileSource.open(arg);
}

/** `--annotations` is inline JSON or a file holding a map (or a descriptor with `annotations`). */
async function readAnnotations(value: string | undefined): Promise<Record<string, string> | undefined> {
  if (value === undefined) return undefined;
  const text = value.trimStart().startsWith("{") ? value : await Deno.readTextFile(value);
  const parsed = JSON.parse(text) as { annotations?: unknown };
  const map = parsed.annotations ?? parsed;
  if (typeof map !== "object" || map === null || !Object.values(map).every((v) => typeof v === "string")) {
    throw new LayerkitError("BAD_ARGUMENT", "--annotations must be a JSON object of strings", {});
  }
  return map as Record<string, string>;
}

function parseSize(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new LayerkitError("BAD_ARGUMENT", `--size must be a byte count, got ${JSON.stringify(value)}`, { size: value });
  }
  return n;
}

function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

async function main(args: string[]): Promise<number> {
  let values: { digest?: string; size?: string; "diff-id"?: string; annotations?: string; json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        digest: { type: "string" },
        size: { type: "string" },
        "diff-id": { type: "string" },
        annotations: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    console.log(`${USAGE}\nexample: deno run -A examples/deno/inspect.ts layer.zst --digest sha256:…`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) {
    console.error(USAGE);
    return EXIT.usage;
  }
  const json = values.json === true;
  let source: BlobSource | undefined;
  try {
    const core = await loadCore();
    source = await openSource(positionals[0]!);
    const annotations = await readAnnotations(values.annotations);
    const progress = Deno.stderr.isTerminal() && !json;
    const { checks, view } = await checkLayer(core, source, {
      ...(values.digest ? { digest: values.digest } : {}),
      ...(values.size !== undefined ? { size: parseSize(values.size) } : {}),
      ...(values["diff-id"] ? { diffID: values["diff-id"] } : {}),
      ...(annotations ? { annotations } : {}),
      onProgress: progress
        ? (phase, done, total) =>
          Deno.stderr.writeSync(new TextEncoder().encode(`\r${phase}: ${formatBytes(done)} / ${formatBytes(total)}   `))
        : undefined,
    });
    if (progress) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
    const ok = checks.every((c) => c.state !== "fail");
    const entries = view?.entries ?? [];
    const counts: Record<string, number> = {};
    for (const e of entries) counts[e.type] = (counts[e.type] ?? 0) + 1;
    const files = entries.filter((e) => e.type === "reg");
    const largest = [...files].sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1)).slice(0, 5).map((f) => ({
      name: f.name,
      size: f.size,
      chunks: f.chunks.length,
    }));
    const summary = {
      source: positionals[0],
      size: await source.size(),
      format: view?.format,
      tocDigest: view?.tocDigest,
      tocAuthenticated: view?.authenticated,
      entries: counts,
      fileBytes: files.reduce((n, f) => n + f.size, 0),
      largest,
      checks,
      ok,
    };
    if (json) console.log(JSON.stringify(summary, null, 2));
    else printText(summary, checks);
    return ok ? EXIT.ok : EXIT.failed;
  } catch (e) {
    const code = isLayerkitError(e) && (e.code === "IO" || e.code === "HTTP")
      ? EXIT.io
      : isLayerkitError(e, "BAD_ARGUMENT") || e instanceof SyntaxError
      ? EXIT.usage
      : EXIT.failed;
    if (json) {
      console.log(JSON.stringify({ ok: false, error: isLayerkitError(e) ? e.toJSON() : { code: "INTERNAL", message: describe(e) } }));
    } else console.error(`inspect: ${describe(e)}`);
    return code;
  } finally {
    await source?.close?.();
  }
}

function printText(
  s: {
    source?: string;
    size: number;
    format?: string;
    tocDigest?: string;
    tocAuthenticated?: boolean;
    entries: Record<string, number>;
    fileBytes: number;
    largest: { name: string; size: number; chunks: number }[];
    ok: boolean;
  },
  checks: Check[],
): void {
  console.log(`layer    ${s.source} (${formatBytes(s.size)})`);
  if (s.format) console.log(`format   ${s.format}`);
  if (s.tocDigest) {
    console.log(
      `TOC      ${s.tocDigest} (${s.tocAuthenticated ? "authenticated by the annotations" : "not authenticated: no annotations given"})`,
    );
  }
  const kinds = Object.entries(s.entries).map(([k, v]) => `${v} ${k}`).join(", ");
  if (kinds) console.log(`entries  ${kinds}; ${formatBytes(s.fileBytes)} of file content`);
  for (const f of s.largest) console.log(`  ${formatBytes(f.size).padStart(10)}  ${String(f.chunks).padStart(3)} chunk(s)  ${f.name}`);
  for (const c of checks) console.log(`${c.state.toUpperCase().padEnd(4)}     ${c.name}: ${c.detail}`);
  console.log(s.ok ? "verified" : "VERIFICATION FAILED");
}

if (import.meta.main) Deno.exit(await main(Deno.args));
