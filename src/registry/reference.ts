/**
 * Image references (`host[:port]/path[:tag][@sha256:…]`) parsed by the grammar of the
 * distribution reference package, with Docker Hub's defaults for short names.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { isDigest } from "../layer/digest.js";

/** A parsed image reference. */
export interface ImageReference {
  /** Registry host with optional port (`docker.io` names use `registry-1.docker.io`). */
  registry: string;
  /** Repository path (`library/alpine`, `team/app`). */
  repository: string;
  tag?: string;
  digest?: string;
}

const HOST_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_RE = new RegExp(`^(?:${HOST_COMPONENT}(?:\\.${HOST_COMPONENT})*|\\[[0-9A-Fa-f:]+\\])(?::[0-9]{1,5})?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
/** The longest repository name the distribution spec allows. */
const MAX_NAME = 255;

function bad(ref: string, why: string): LayerkitError {
  return new LayerkitError("BAD_ARGUMENT", `invalid image reference ${JSON.stringify(ref.slice(0, 300))}: ${why}`, {
    reference: ref.slice(0, 300),
  });
}

/** Checks a repository path (`a/b/c`, lower-case components). Throws `BAD_ARGUMENT`. */
export function checkRepository(repository: string): string {
  if (typeof repository !== "string" || repository.length === 0 || repository.length > MAX_NAME) {
    throw bad(String(repository), "repository name must be 1-255 characters");
  }
  if (!repository.split("/").every((c) => PATH_COMPONENT_RE.test(c))) {
    throw bad(repository, "repository path components must be lower-case alphanumerics separated by . _ __ or -");
  }
  return repository;
}

/** Checks a tag. Throws `BAD_ARGUMENT`. */
export function checkTag(tag: string): string {
  if (typeof tag !== "string" || !TAG_RE.test(tag)) throw bad(String(tag), "a tag is 1-128 of [A-Za-z0-9_.-], not starting with . or -");
  return tag;
}

/**
 * Parses `[host[:port]/]path[:tag][@digest]`. Without a host (first component has no `.` or `:`
 * and is not `localhost`) the name is a Docker Hub one (`alpine` → `registry-1.docker.io`,
 * `library/alpine`). Neither tag nor digest: no default is filled in (callers use `latest`).
 */
export function parseReference(ref: string): ImageReference {
  if (typeof ref !== "string" || ref.length === 0 || ref.length > 1024) throw bad(String(ref), "empty or too long");
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    if (!isDigest(digest)) throw bad(ref, "the digest must be sha256: followed by 64 lower-case hex digits");
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.indexOf(":", lastSlash + 1);
  if (colon >= 0) {
    tag = checkTag(rest.slice(colon + 1));
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf("/");
  let registry: string;
  let repository: string;
  const first = slash < 0 ? "" : rest.slice(0, slash);
  if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase())) {
    if (!DOMAIN_RE.test(first)) throw bad(ref, `invalid registry host ${JSON.stringify(first)}`);
    registry = first;
    repository = rest.slice(slash + 1);
  } else {
    registry = "registry-1.docker.io";
    repository = rest.includes("/") ? rest : `library/${rest}`;
  }
  if (registry === "docker.io" || registry === "index.docker.io") {
    registry = "registry-1.docker.io";
    if (!repository.includes("/")) repository = `library/${repository}`;
  }
  checkRepository(repository);
  const out: ImageReference = { registry, repository };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** `registry/repository[:tag][@digest]`. */
export function formatReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag !== undefined ? ":" + r.tag : ""}${r.digest !== undefined ? "@" + r.digest : ""}`;
}
