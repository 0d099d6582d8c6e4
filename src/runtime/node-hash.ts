/**
 * SHA-256 on node:crypto (OpenSSL, SHA-NI where the CPU has it) behind the {@link Hasher}
 * interface: ~1 GB/s streaming in Node, several times the WASM hasher. Used by the Node adapter,
 * and by the Deno adapter when asked for the native hasher.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import type { Hasher } from "../core.js";
import { LayerkitError } from "../errors.js";

/** A streaming SHA-256 on node:crypto with the same contract as the WASM hasher. */
export class NodeSha256 implements Hasher {
  private finished = false;

  constructor(private readonly hash: Hash = createHash("sha256")) {}

  /** An independent hasher in the same state; this one stays usable. */
  clone(): NodeSha256 {
    if (this.finished) throw badUsage("clone() called after the hash was finished by digest()/hex()");
    return new NodeSha256(this.hash.copy());
  }

  /** Hash `data` (any length; it is not retained). Returns this hasher, for chaining. */
  update(data: Uint8Array): this {
    if (this.finished) throw badUsage("update() called after the hash was finished by digest()/hex()");
    if (!ArrayBuffer.isView(data)) {
      throw new LayerkitError("BAD_ARGUMENT", "sha256: update() takes a Uint8Array", { type: typeof data });
    }
    this.hash.update(data);
    return this;
  }

  /** Finish the hash and return the 32-byte digest (a plain Uint8Array, not a pooled Buffer). */
  digest(): Uint8Array {
    if (this.finished) throw badUsage("digest() called after the hash was finished by digest()/hex()");
    this.finished = true;
    return new Uint8Array(this.hash.digest());
  }

  /** Finish the hash and return the digest as 64 lower-case hex digits. */
  hex(): string {
    if (this.finished) throw badUsage("hex() called after the hash was finished by digest()/hex()");
    this.finished = true;
    return this.hash.digest("hex");
  }
}

/** A new node:crypto SHA-256 {@link Hasher}. */
export function nodeSha256(): Hasher {
  return new NodeSha256();
}

function badUsage(message: string): LayerkitError {
  return new LayerkitError("HASH_BAD_USAGE", `sha256: ${message}`);
}
