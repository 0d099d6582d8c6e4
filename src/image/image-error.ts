/**
 * Errors of whole-image operations name where they happened: the image, the platform and the
 * layer. The original error's code is kept (a digest mismatch stays DIGEST_MISMATCH) and it is
 * the cause.
 *
 * @module
 */
import { LayerkitError } from "../errors.js";

/** Where in an image something happened. */
export interface ImagePlace {
  image: string;
  /** `os/arch[/variant]`, when the image came from an index. */
  platform?: string;
  /** Layer index (0 = bottom). */
  layer?: number;
  /** The digest of the layer, config or manifest concerned. */
  digest?: string;
}

/** `e` as a LayerkitError whose message and details say {@link ImagePlace}; already-placed errors pass through. */
export function placeError(e: unknown, place: ImagePlace): LayerkitError {
  if (e instanceof LayerkitError && typeof e.details.image === "string") return e;
  const where = [place.image, place.platform, place.layer !== undefined ? `layer ${place.layer}` : undefined, place.digest].filter((x) =>
    x !== undefined
  ).join(" ");
  const message = (e as Error)?.message ?? String(e);
  const code = e instanceof LayerkitError ? e.code : "IO";
  const details = e instanceof LayerkitError ? { ...e.details, ...place } : { ...place };
  return new LayerkitError(code, `${where}: ${message}`, details, { cause: e });
}
