/**
 * SHA-256 on the AssemblyScript core (asm/sha256.ts → wasm/sha256.wasm), with a hand-written
 * loader: no generated glue, no imports, one small instance for any number of hashers.
 *
 * One WASM instance serves every {@link Sha256} created from its {@link Sha256Module}. The instance
 * holds the chaining state (8 words) and partial block (< 64 bytes) of the hasher that used it
 * last; every other hasher keeps its own in JS fields, and they are swapped only when another
 * hasher takes over. Streaming one hash at a time therefore never swaps, a small one-shot hash
 * allocates nothing but the hasher and its digest, and interleaving thousands of hashers costs
 * two small copies per switch (~0.1 µs: 100-byte updates that switch hasher every time run at ~80%
 * of the speed of the same updates to one hasher; at 4 KiB, ~99%). Unlike state slots in WASM
 * memory, nothing needs freeing, which the Hasher interface has no call for.
 *
 * @module
 */
import type { Hasher } from "../core.js";
import { LayerkitError } from "../errors.js";
import { toHex } from "../util/hex.js";
import { instantiateWasm, type WasmSource } from "./load.js";

/** What the WASM exports (see asm/sha256.ts). */
interface Sha256Exports {
  memory: WebAssembly.Memory;
  /** Compress the n 64-byte blocks at INPUT into the 8 state words at STATE. */
  blocks(n: number): void;
  STATE: WebAssembly.Global;
  INPUT: WebAssembly.Global;
  INPUT_SIZE: WebAssembly.Global;
}

/** Bytes the WASM may read past INPUT + INPUT_SIZE (192: unused lanes of a short group), with margin. */
const LOOKAHEAD = 512;

/** The shared instance and which hasher's state it currently holds. @internal */
export class Sha256Engine {
  readonly mem: Uint8Array;
  /** Little-endian access to the state words, whatever the platform's byte order. */
  readonly view: DataView;
  readonly blocks: (n: number) => void;
  readonly state: number;
  readonly input: number;
  readonly inputSize: number;
  /**
   * The hasher using the instance: its chaining state is at `state` and its partial block at
   * `input`, and its own copies of both are stale.
   */
  owner: Sha256 | null = null;

  constructor(exports: Sha256Exports) {
    this.blocks = exports.blocks;
    this.state = exports.STATE.value as number;
    this.input = exports.INPUT.value as number;
    this.inputSize = exports.INPUT_SIZE.value as number;
    // The memory is fixed-size (no memory.grow in the module), so these views never detach.
    this.mem = new Uint8Array(exports.memory.buffer);
    this.view = new DataView(exports.memory.buffer);
  }

  /** Put `h`'s state and partial block into WASM memory, saving the previous owner's. */
  acquire(h: Sha256): void {
    const prev = this.owner;
    if (prev === h) return;
    if (prev !== null) prev.save(this);
    h.restore(this);
    this.owner = h;
  }
}

/**
 * A streaming SHA-256 hash. Create one with {@link Sha256Module.create}.
 *
 * `digest()` and `hex()` finish the hash; calling `update()`, `digest()` or `hex()` on a finished
 * hash throws a {@link LayerkitError} with code `HASH_BAD_USAGE`.
 *
 * @example
 * ```ts
 * const mod = await loadSha256(await readFile("node_modules/layerkit/wasm/sha256.wasm"));
 * const h = mod.create();
 * h.update(new TextEncoder().encode("ab")).update(new TextEncoder().encode("c"));
 * h.hex(); // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 * ```
 */
export class Sha256 implements Hasher {
  private readonly engine: Sha256Engine;
  // While this hasher does not own the engine: its chaining state a..h (plain fields, so creating
  // a hasher allocates nothing else, which matters when hashing 100,000 small files) ...
  private s0 = 0x6a09e667;
  private s1 = 0xbb67ae85 | 0;
  private s2 = 0x3c6ef372;
  private s3 = 0xa54ff53a | 0;
  private s4 = 0x510e527f;
  private s5 = 0x9b05688c | 0;
  private s6 = 0x1f83d9ab;
  private s7 = 0x5be0cd19;
  /** ... and its partial block (allocated when first saved). */
  private pending: Uint8Array | null = null;
  /** Bytes of the partial block, always valid. */
  private pendingLength = 0;
  private total = 0;
  private finished = false;

  /** @internal Use {@link Sha256Module.create}. */
  constructor(engine: Sha256Engine) {
    this.engine = engine;
  }

  /** Bytes hashed so far. */
  get length(): number {
    return this.total;
  }

  /** Copy state and partial block out of WASM memory (another hasher takes over). @internal */
  save(e: Sha256Engine): void {
    const v = e.view, at = e.state;
    this.s0 = v.getInt32(at, true);
    this.s1 = v.getInt32(at + 4, true);
    this.s2 = v.getInt32(at + 8, true);
    this.s3 = v.getInt32(at + 12, true);
    this.s4 = v.getInt32(at + 16, true);
    this.s5 = v.getInt32(at + 20, true);
    this.s6 = v.getInt32(at + 24, true);
    this.s7 = v.getInt32(at + 28, true);
    const n = this.pendingLength;
    if (n > 0) {
      const pending = this.pending ?? (this.pending = new Uint8Array(64));
      const mem = e.mem, input = e.input;
      for (let i = 0; i < n; i++) pending[i] = mem[input + i]!;
    }
  }

  /** Copy state and partial block into WASM memory. @internal */
  restore(e: Sha256Engine): void {
    const v = e.view, at = e.state;
    v.setInt32(at, this.s0, true);
    v.setInt32(at + 4, this.s1, true);
    v.setInt32(at + 8, this.s2, true);
    v.setInt32(at + 12, this.s3, true);
    v.setInt32(at + 16, this.s4, true);
    v.setInt32(at + 20, this.s5, true);
    v.setInt32(at + 24, this.s6, true);
    v.setInt32(at + 28, this.s7, true);
    const n = this.pendingLength;
    if (n > 0) {
      const pending = this.pending!;
      const mem = e.mem, input = e.input;
      for (let i = 0; i < n; i++) mem[input + i] = pending[i]!;
    }
  }

  /** Hash `data` (any length; it is not retained). Returns this hasher, for chaining. */
  update(data: Uint8Array): this {
    if (this.finished) throw badUsage("update() called after the hash was finished by digest()/hex()");
    if (!(data instanceof Uint8Array)) data = asBytes(data);
    const len = data.length;
    if (len === 0) return this;
    this.total += len;
    const e = this.engine;
    e.acquire(this);
    const mem = e.mem;
    const input = e.input;
    const cap = e.inputSize;
    // The partial block is at INPUT already; append, compress whole blocks, keep the rest at INPUT.
    let pos = this.pendingLength;
    if (pos + len < 64) {
      for (let i = 0; i < len; i++) mem[input + pos + i] = data[i]!;
      this.pendingLength = pos + len;
      return this;
    }
    let off = 0;
    for (;;) {
      const take = Math.min(cap - pos, len - off);
      mem.set(take === len ? data : data.subarray(off, off + take), input + pos);
      pos += take;
      off += take;
      const whole = pos >>> 6;
      if (whole > 0) e.blocks(whole);
      if (off === len) {
        const rest = pos & 63;
        if (rest > 0 && whole > 0) mem.copyWithin(input, input + pos - rest, input + pos);
        this.pendingLength = rest;
        return this;
      }
      pos = 0; // the buffer was filled exactly (cap is a multiple of 64)
    }
  }

  /** An independent hasher in the same state; this one stays usable. */
  clone(): Sha256 {
    if (this.finished) throw badUsage("clone() called after the hash was finished by digest()/hex()");
    const e = this.engine;
    // While this hasher owns the instance its fields are stale: refresh them (it keeps owning it).
    if (e.owner === this) this.save(e);
    const c = new Sha256(e);
    c.s0 = this.s0;
    c.s1 = this.s1;
    c.s2 = this.s2;
    c.s3 = this.s3;
    c.s4 = this.s4;
    c.s5 = this.s5;
    c.s6 = this.s6;
    c.s7 = this.s7;
    c.pendingLength = this.pendingLength;
    if (this.pendingLength > 0) c.pending = this.pending!.slice();
    c.total = this.total;
    return c;
  }

  /** Finish the hash and return the 32-byte digest. */
  digest(): Uint8Array {
    if (this.finished) throw badUsage("digest() called after the hash was finished by digest()/hex()");
    this.finished = true;
    const e = this.engine;
    e.acquire(this);
    const mem = e.mem;
    const input = e.input;
    const held = this.pendingLength;
    // Padding after the partial block: 0x80, zeros, the bit length as a 64-bit big-endian number.
    mem[input + held] = 0x80;
    const n = held < 56 ? 1 : 2;
    const end = input + n * 64;
    for (let i = input + held + 1; i < end - 8; i++) mem[i] = 0;
    const v = e.view;
    v.setUint32(end - 8, Math.floor(this.total / 0x20000000)); // bits >> 32, exact for any safe integer
    v.setUint32(end - 4, (this.total % 0x20000000) * 8);
    e.blocks(n);
    e.owner = null; // nothing left worth saving
    this.pending = null;
    // The state words are little-endian in WASM memory; the digest is big-endian.
    const out = new Uint8Array(32);
    for (let i = 0, s = e.state; i < 32; i += 4, s += 4) {
      out[i] = mem[s + 3]!;
      out[i + 1] = mem[s + 2]!;
      out[i + 2] = mem[s + 1]!;
      out[i + 3] = mem[s]!;
    }
    return out;
  }

  /** Finish the hash and return the digest as 64 lower-case hex digits. */
  hex(): string {
    if (this.finished) throw badUsage("hex() called after the hash was finished by digest()/hex()");
    return toHex(this.digest());
  }
}

/** A loaded SHA-256 WASM instance. Cheap to use from many hashers at once. */
export interface Sha256Module {
  /** A new streaming hasher sharing this module's instance. */
  create(): Sha256;
  /** One-shot digest of `data`. */
  sha256(data: Uint8Array): Uint8Array;
}

/**
 * Instantiate wasm/sha256.wasm (a compiled module, its bytes, a URL or a Response).
 * Throws {@link LayerkitError} `WASM_LOAD_FAILED` when it cannot be compiled or is not the
 * expected module.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * import { loadSha256 } from "layerkit/core";
 *
 * const sha = await loadSha256(await readFile("node_modules/layerkit/wasm/sha256.wasm"));
 * const a = sha.create(), b = sha.create(); // any number, interleaved freely
 * a.update(chunk1); b.update(other); a.update(chunk2);
 * console.log(a.hex(), b.hex());
 * const digest: Uint8Array = sha.sha256(new TextEncoder().encode("abc")); // one-shot, 32 bytes
 * ```
 */
export async function loadSha256(source: WasmSource): Promise<Sha256Module> {
  const instance = await instantiateWasm(source, {}, "sha256.wasm");
  const x = instance.exports as Partial<Sha256Exports>;
  if (
    !(x.memory instanceof WebAssembly.Memory) || typeof x.blocks !== "function" ||
    !(x.STATE instanceof WebAssembly.Global) || !(x.INPUT instanceof WebAssembly.Global) ||
    !(x.INPUT_SIZE instanceof WebAssembly.Global)
  ) {
    throw new LayerkitError("WASM_LOAD_FAILED", "sha256.wasm: not the layerkit SHA-256 module (missing exports)", { name: "sha256.wasm" });
  }
  const engine = new Sha256Engine(x as Sha256Exports);
  if (engine.input + engine.inputSize + LOOKAHEAD > engine.mem.length || engine.inputSize % 64 !== 0 || engine.inputSize < 64) {
    throw new LayerkitError("WASM_LOAD_FAILED", "sha256.wasm: unexpected memory layout", { name: "sha256.wasm" });
  }
  return Object.freeze({
    create: () => new Sha256(engine),
    sha256: (data: Uint8Array) => new Sha256(engine).update(data).digest(),
  });
}

function asBytes(data: unknown): Uint8Array {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new LayerkitError("BAD_ARGUMENT", "sha256: update() takes a Uint8Array", { type: typeof data });
}

function badUsage(message: string): LayerkitError {
  return new LayerkitError("HASH_BAD_USAGE", `sha256: ${message}`);
}
