/**
 * The rules that keep a layer's hardlinks unambiguous, shared by the TOC parser (so verify and
 * every lazy reader refuse the same TOCs) and the seekable writers (so they never write one).
 *
 * Tar extraction creates a hardlink from the entry its target names *at that point*; lazy readers
 * resolve a hardlink through the TOC by name, to the last entry of that name. The two agree only
 * when every hardlink's target is defined before the link (`h → d` then `d`: `tar -x` fails to
 * create `h`, a TOC reader returns `d`'s bytes) and is not defined again after it (`a`, `h → a`,
 * `a` again: extraction gives `h` the first `a`, a TOC reader the second). Names are compared as
 * Go's cleanEntryName leaves them, as both upstream readers do.
 *
 * @module
 */
import { type ErrorCode, LayerkitError } from "../errors.js";
import { cleanEntryName } from "../go/path.js";

/** What a rule violation is reported as: BAD_TOC for a TOC, the writers' own codes for an input tar. */
export interface LinkRuleCodes {
  /** A hardlink whose target is not an earlier entry. */
  forward: ErrorCode;
  /** An entry that redefines a name a hardlink already points at. */
  redefined: ErrorCode;
}

export const TOC_LINK_CODES: LinkRuleCodes = { forward: "BAD_TOC", redefined: "BAD_TOC" };
/** For a writer's input tar: a link it cannot write as a seekable layer, or a duplicate path. */
export const WRITER_LINK_CODES: LinkRuleCodes = { forward: "TAR_UNSUPPORTED", redefined: "TAR_DUPLICATE_PATH" };

/** Feed entries in layer order; throws on the first that breaks a rule. */
export class LinkRules {
  readonly #defined = new Set<string>();
  /** Names some hardlink already resolved to: redefining one makes extraction and TOC reads differ. */
  readonly #linked = new Set<string>();
  readonly #codes: LinkRuleCodes;

  constructor(codes: LinkRuleCodes = TOC_LINK_CODES) {
    this.#codes = codes;
  }

  /** `index`: the entry's position, for the error's details. */
  add(type: string, name: string, linkName: string | undefined, index: number): void {
    const key = cleanEntryName(name);
    if (this.#linked.has(key)) {
      throw new LayerkitError(
        this.#codes.redefined,
        `entry ${index} (${
          JSON.stringify(name)
        }) redefines the target of an earlier hardlink: extraction links to the first definition, lazy readers to the last`,
        { index, name },
      );
    }
    if (type === "hardlink") {
      const target = cleanEntryName(linkName ?? "");
      if (!this.#defined.has(target)) {
        throw new LayerkitError(
          this.#codes.forward,
          `entry ${index}: hardlink ${JSON.stringify(name)} points at ${
            JSON.stringify(linkName ?? "")
          }, which is not an earlier entry of the layer (tar extraction cannot create it)`,
          { index, name, linkName },
        );
      }
      this.#linked.add(target);
    }
    this.#defined.add(key);
  }
}
