#!/usr/bin/env node
/**
 * Builds the edge worker for workerd / Cloudflare Workers: worker.js (esbuild bundle, conditions
 * workerd/worker) with its two `.wasm` imports left as module imports (`./zstd.wasm`,
 * `./sha256.wasm`, copied next to it), and a config.capnp to run it locally with workerd.
 *
 *   node examples/edge/build.mjs [--out DIR] [--port 8787] [--origin https://layers.example.com/blobs] [--allow-private]
 *   npx workerd serve DIR/config.capnp
 *
 * --allow-private: let the worker fetch layers from loopback/private addresses (127.0.0.1,
 * 10/8, 192.168/16, localhost, …). workerd's default network reaches public addresses only, and
 * the worker refuses such layer URLs with 403 unless ALLOW_PRIVATE=1; this flag sets both (the
 * binding and a "net" service allowing private and local addresses). For local testing only.
 *
 * With wrangler, point `main` at worker.ts instead: it bundles the same way (`.wasm` imports
 * become modules) and LAYER_ORIGIN / MAX_FILE_SIZE / ALLOW_PRIVATE go in `vars`.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "../..");
const COMPATIBILITY_DATE = "2025-09-01";

/** `import x from "…/name.wasm"` stays an import of the module `./name.wasm` next to worker.js. */
const wasmModules = {
  name: "wasm-modules",
  setup(build) {
    build.onResolve({ filter: /\.wasm$/ }, (args) => ({ path: `./${basename(args.path)}`, external: true }));
  },
};

/** Bundle the worker into `outDir` (worker.js, zstd.wasm, sha256.wasm). */
export async function buildEdgeWorker(outDir = join(HERE, "dist")) {
  mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: [join(HERE, "worker.ts")],
    outfile: join(outDir, "worker.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker"],
    target: "es2022",
    plugins: [wasmModules],
    logLevel: "warning",
  });
  for (const f of ["zstd.wasm", "sha256.wasm"]) copyFileSync(join(ROOT, "wasm", f), join(outDir, f));
}

/**
 * A workerd config serving the worker once per entry of `services` (each its own port and vars).
 * `allowPrivate` lets the worker fetch layers from private/loopback addresses (workerd's default
 * outbound network allows only public ones; the worker also needs ALLOW_PRIVATE=1, added here):
 * for local testing. A service's own `allowPrivate` overrides the option.
 * @param {{ name: string, port: number, vars?: Record<string, string>, allowPrivate?: boolean }[]} services
 * @param {{ allowPrivate?: boolean }} [options]
 */
export function workerdConfig(services, options = {}) {
  const privateFor = (s) => s.allowPrivate ?? Boolean(options.allowPrivate);
  const netService = services.some(privateFor) ? `\n    (name = "net", network = (allow = ["public", "private", "local"])),` : "";
  const workers = services
    .map((s) => {
      const outbound = privateFor(s) ? `\n      globalOutbound = "net",` : "";
      const vars = privateFor(s) ? { ...s.vars, ALLOW_PRIVATE: "1" } : (s.vars ?? {});
      const bindings = Object.entries(vars).map(([k, v]) => `(name = ${JSON.stringify(k)}, text = ${JSON.stringify(v)})`);
      return `    (name = ${JSON.stringify(s.name)}, worker = (
      modules = [
        (name = "worker.js", esModule = embed "worker.js"),
        (name = "zstd.wasm", wasm = embed "zstd.wasm"),
        (name = "sha256.wasm", wasm = embed "sha256.wasm"),
      ],
      bindings = [${bindings.join(", ")}],
      compatibilityDate = "${COMPATIBILITY_DATE}",${outbound}
    )),`;
    })
    .join("\n");
  const sockets = services.map((s) =>
    `    (name = ${JSON.stringify(s.name)}, address = "127.0.0.1:${s.port}", http = (), service = ${JSON.stringify(s.name)}),`
  ).join("\n");
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
${workers}${netService}
  ],
  sockets = [
${sockets}
  ],
);
`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      port: { type: "string", default: "8787" },
      origin: { type: "string" },
      "allow-private": { type: "boolean", default: false },
    },
  });
  const out = resolve(values.out ?? join(HERE, "dist"));
  await buildEdgeWorker(out);
  const vars = values.origin ? { LAYER_ORIGIN: values.origin } : {};
  writeFileSync(
    join(out, "config.capnp"),
    workerdConfig([{ name: "layers", port: Number(values.port), vars }], { allowPrivate: values["allow-private"] }),
  );
  console.log(`built the edge worker into ${out}; run: npx workerd serve ${join(out, "config.capnp")}`);
}
