/**
 * Image references as skopeo writes them: `docker://HOST/REPO[:TAG][@DIGEST]`, plain
 * `HOST/REPO[:TAG][@DIGEST]`, and OCI layouts `oci:DIR[:TAG]`. Runtime-neutral: this only parses;
 * opening is ./open-image.ts (Node) or the caller's own {@link ImageSource}.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";
import { formatReference, type ImageReference, parseReference } from "../registry/reference.js";
import { checkRefName } from "../oci/layout.js";

/** A parsed image reference: a registry image or an image in an OCI layout directory. */
export type ImageRef =
  | { transport: "docker"; image: ImageReference; /** tag or digest to ask for (`latest` when neither was given) */ reference: string }
  | { transport: "oci"; dir: string; /** `org.opencontainers.image.ref.name`; absent: the layout's only image */ tag?: string };

/**
 * Parses an image reference. `oci:DIR[:TAG]` splits at the first `:` after `oci:` as skopeo does
 * (so DIR cannot contain one); `docker://` is optional for registry references, which then need a
 * host part (`HOST/REPO…`): a bare `alpine` is refused rather than sent to Docker Hub by surprise.
 */
export function parseImageRef(text: string): ImageRef {
  if (typeof text !== "string" || text.length === 0) throw new LayerkitError("BAD_ARGUMENT", "empty image reference", { reference: text });
  if (text.startsWith("oci:")) {
    const rest = text.slice(4);
    const colon = rest.indexOf(":");
    const dir = colon < 0 ? rest : rest.slice(0, colon);
    const tag = colon < 0 ? undefined : rest.slice(colon + 1);
    if (dir === "") {
      throw new LayerkitError("BAD_ARGUMENT", `image reference ${JSON.stringify(text)} names no layout directory`, { reference: text });
    }
    if (tag !== undefined) checkRefName(tag);
    return tag === undefined ? { transport: "oci", dir } : { transport: "oci", dir, tag };
  }
  let name = text;
  if (text.startsWith("docker://")) name = text.slice("docker://".length);
  else if (/^[a-z][a-z0-9+.-]*:(?!\d)/i.test(text)) {
    throw new LayerkitError(
      "BAD_ARGUMENT",
      `unsupported image transport in ${JSON.stringify(text)} (use docker://HOST/REPO:TAG or oci:DIR[:TAG])`,
      { reference: text },
    );
  }
  if (!name.includes("/")) {
    throw new LayerkitError("BAD_ARGUMENT", `image reference ${JSON.stringify(text)} has no registry host (write HOST/REPO[:TAG])`, {
      reference: text,
    });
  }
  const image = parseReference(name);
  return { transport: "docker", image, reference: image.digest ?? image.tag ?? "latest" };
}

/** The reference as text (`docker://HOST/REPO:TAG` or `oci:DIR[:TAG]`), for messages and reports. */
export function formatImageRef(ref: ImageRef): string {
  if (ref.transport === "oci") return `oci:${ref.dir}${ref.tag !== undefined ? ":" + ref.tag : ""}`;
  return `docker://${formatReference(ref.image)}`;
}

/** True when `text` looks like an image reference (a transport prefix or `HOST/REPO:TAG|@DIGEST`), not a file or URL. */
export function looksLikeImageRef(text: string): boolean {
  if (text.startsWith("oci:") || text.startsWith("docker://")) return true;
  if (/^[a-z]+:\/\//i.test(text) || !text.includes("/")) return false;
  const first = text.slice(0, text.indexOf("/"));
  if (!(first.includes(".") || first.includes(":") || first === "localhost")) return false;
  return text.includes("@") || /:[\w][\w.-]*$/.test(text.slice(text.indexOf("/")));
}
