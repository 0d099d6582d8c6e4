/**
 * The page: pick a layer (URL or file), run the checks with progress, show the TOC as a tree,
 * and fetch one file lazily on click (text shown, binary as size + digest). State for scripts
 * and tests: `body[data-state]` is idle | loading | done | error, each check is
 * `#checks li[data-state=pass|fail|info]`, the viewer is `#viewer[data-state]`.
 *
 * @module
 */
// In an application: `from "layerkit"` (bundlers pick the browser entry by the "browser" condition).
import { BlobFileSource, type BlobSource, type Core, HttpSource, init, loadCore } from "../../src/runtime/browser.js";
import { type Check, checkLayer, describe } from "../shared/checks.js";
import type { LayerView } from "../shared/layer.js";
import { buildTree, isDir, sortedChildren, type TreeNode } from "./tree.js";

// The build puts the WASM next to app.js.
init({ zstd: new URL("./zstd.wasm", import.meta.url), sha256: new URL("./sha256.wasm", import.meta.url) });

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

/** Bumped per run, so a slow earlier run cannot paint over a newer one. */
let generation = 0;

async function run(source: BlobSource, label: string): Promise<void> {
  const mine = ++generation;
  const live = () => mine === generation;
  document.body.dataset.state = "loading";
  delete document.body.dataset.ok;
  $("checks").replaceChildren();
  $("tree").replaceChildren();
  $("viewer").replaceChildren(el("h2", {}, "File"), el("p", { id: "viewer-hint" }, "Click a file to fetch just that file, verified."));
  delete $("viewer").dataset.state;
  $("error").hidden = true;
  setProgress(`opening ${label}`, 0, 1);
  try {
    const core = await loadCore();
    const { checks, view } = await checkLayer(core, source, {
      ...readDescriptorInputs(),
      onCheck: (c) => live() && $("checks").append(renderCheck(c)),
      onProgress: (phase, done, total) => live() && setProgress(phase, done, total),
    });
    if (!live()) return;
    if (view) renderTree(core, source, view);
    const ok = checks.every((c) => c.state !== "fail");
    setProgress(ok ? "verified" : "verification failed", 1, 1);
    document.body.dataset.ok = String(ok);
    document.body.dataset.state = "done";
  } catch (e) {
    if (!live()) return;
    $("error").textContent = describe(e);
    $("error").hidden = false;
    setProgress("error", 0, 1);
    document.body.dataset.state = "error";
  }
}

function readDescriptorInputs(): { digest?: string; size?: number; diffID?: string; annotations?: Record<string, string> } {
  const out: { digest?: string; size?: number; diffID?: string; annotations?: Record<string, string> } = {};
  const digest = $<HTMLInputElement>("digest").value.trim();
  if (digest) out.digest = digest;
  const size = $<HTMLInputElement>("size").value.trim();
  if (size) out.size = Number(size);
  const diffID = $<HTMLInputElement>("diff-id").value.trim();
  if (diffID) out.diffID = diffID;
  const annotations = $<HTMLTextAreaElement>("annotations").value.trim();
  if (annotations) out.annotations = JSON.parse(annotations) as Record<string, string>;
  return out;
}

function setProgress(phase: string, done: number, total: number): void {
  const bar = $<HTMLProgressElement>("progress");
  bar.max = Math.max(total, 1);
  bar.value = done;
  $("progress-text").textContent = total > 1 ? `${phase}: ${formatBytes(done)} / ${formatBytes(total)}` : phase;
}

function renderCheck(c: Check): HTMLLIElement {
  const li = el("li", {}, el("strong", {}, c.name), " ", c.detail);
  li.dataset.state = c.state;
  li.dataset.check = c.name;
  return li;
}

function renderTree(core: Core, source: BlobSource, view: LayerView): void {
  const tree = $("tree");
  if (view.entries.length === 0) {
    tree.append(el("p", {}, `A plain ${view.format} layer has no TOC to browse.`));
    return;
  }
  const list = (node: TreeNode, depth: number): HTMLUListElement =>
    el(
      "ul",
      {},
      ...sortedChildren(node).map((child) => {
        if (isDir(child) && child.children.size > 0) {
          const details = el("details", { open: depth < 2 }, el("summary", {}, `${child.name}/`), list(child, depth + 1));
          details.dataset.dir = child.path;
          return el("li", {}, details);
        }
        return el("li", {}, renderEntry(core, source, view, child));
      }),
    );
  tree.append(list(buildTree(view.entries), 0));
}

function renderEntry(core: Core, source: BlobSource, view: LayerView, node: TreeNode): Node {
  const e = node.entry!;
  if (e.type === "reg") {
    const button = el("button", { className: "file", type: "button" }, node.name);
    button.dataset.path = node.path;
    button.addEventListener("click", () => void showFile(core, source, view, node.path));
    return el("span", {}, button, " ", el("span", { className: "meta" }, formatBytes(e.size)));
  }
  const suffix = e.type === "dir" ? "/" : e.type === "symlink" || e.type === "hardlink" ? ` → ${e.linkName ?? "?"}` : "";
  return el("span", {}, `${node.name}${suffix} `, el("span", { className: "meta" }, e.type));
}

async function showFile(core: Core, source: BlobSource, view: LayerView, path: string): Promise<void> {
  const viewer = $("viewer");
  viewer.dataset.state = "loading";
  viewer.dataset.path = path;
  viewer.replaceChildren(el("h2", {}, path), el("p", {}, "fetching…"));
  const before = { ...source.stats };
  try {
    const bytes = await view.readFile(path);
    if (viewer.dataset.path !== path) return;
    const cost = el(
      "p",
      { id: "fetch-stats" },
      `verified against the TOC; fetched ${source.stats.bytes - before.bytes} bytes in ${
        source.stats.requests - before.requests
      } request(s)`,
    );
    const text = asText(bytes);
    const body = text !== undefined ? el("pre", { id: "file-text" }, text) : el(
      "dl",
      {},
      el("dt", {}, "size"),
      el("dd", { id: "file-size" }, `${bytes.length} bytes`),
      el("dt", {}, "sha256"),
      el("dd", { id: "file-digest" }, `sha256:${core.sha256().update(bytes).hex()}`),
    );
    viewer.replaceChildren(el("h2", {}, path), cost, body);
    viewer.dataset.state = "done";
  } catch (e) {
    if (viewer.dataset.path !== path) return;
    viewer.replaceChildren(el("h2", {}, path), el("p", { id: "file-error" }, describe(e)));
    viewer.dataset.state = "error";
  }
}

/** UTF-8 text without NULs (shown), or undefined (binary). */
function asText(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

$("url-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const url = $<HTMLInputElement>("layer-url").value.trim();
  void run(new HttpSource(new URL(url, location.href)), url);
});
$<HTMLInputElement>("file").addEventListener("change", (ev) => {
  const file = (ev.target as HTMLInputElement).files?.[0];
  if (file) void run(new BlobFileSource(file), file.name);
});
const drop = $("drop");
drop.addEventListener("dragover", (ev) => {
  ev.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (ev) => {
  ev.preventDefault();
  drop.classList.remove("over");
  const file = ev.dataTransfer?.files[0];
  if (file) void run(new BlobFileSource(file), file.name);
});
document.body.dataset.ready = "true";
