/**
 * The in-runtime half of the runners that cannot reach the native zstd CLI themselves (the
 * Chromium page and the workerd worker; Deno uses it too): run one conformance case, time it,
 * capture its artifacts and error, and put the outcome in a JSON-safe form (base64 artifacts)
 * for the host, which checks the artifacts with `zstd -d` (test/host-checks.mjs).
 */
import type { Core } from "../../src/core.js";
import type { ConformanceCase } from "../conformance/harness.js";

export interface CaseArtifact {
  name: string;
  compressed: Uint8Array;
  expected: Uint8Array;
}

export interface CaseOutcome {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
  artifacts: CaseArtifact[];
}

export interface WireOutcome {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
  artifacts: { name: string; compressed: string; expected: string }[];
}

export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const head = `${e.name}${typeof code === "string" ? ` [${code}]` : ""}: ${e.message}`;
    const stack = (e.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l)).slice(0, 6).join("\n");
    return stack ? `${head}\n${stack}` : head;
  }
  return String(e);
}

/** Run `c` against the core `getCore` yields, with the blob server at `blobOrigin`; never throws. */
export async function runCase(getCore: () => Promise<Core>, c: ConformanceCase, blobOrigin: string): Promise<CaseOutcome> {
  const artifacts: CaseArtifact[] = [];
  const t0 = performance.now();
  try {
    const core = await getCore();
    await c.run({
      core,
      blobOrigin,
      artifact(name, compressed, expected) {
        artifacts.push({ name, compressed: compressed.slice(), expected: expected.slice() });
      },
    });
    return { name: c.name, ok: true, ms: performance.now() - t0, artifacts };
  } catch (e) {
    return { name: c.name, ok: false, error: describeError(e), ms: performance.now() - t0, artifacts };
  }
}

export function base64(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 0x8000) {
    parts.push(String.fromCharCode(...bytes.subarray(i, i + 0x8000)));
  }
  return btoa(parts.join(""));
}

export function toWire(o: CaseOutcome): WireOutcome {
  return {
    name: o.name,
    ok: o.ok,
    ...(o.error === undefined ? {} : { error: o.error }),
    ms: o.ms,
    artifacts: o.artifacts.map((a) => ({ name: a.name, compressed: base64(a.compressed), expected: base64(a.expected) })),
  };
}
