/**
 * A set of strings kept as bytes in a few growing ArrayBuffers instead of as JS strings.
 *
 * Writers check every path of a layer for duplicates. As a `Set<string>` the paths of a 1 GiB
 * root file system (66,000 names) cost ~7 MiB of V8 heap that every scavenge copies and promotes
 * while the set grows, which is what grows V8's young generation to its maximum; here they cost
 * ~5 MiB outside the JS heap and no per-name objects at all.
 *
 * Strings are stored as WTF-8 (UTF-8 that also encodes lone surrogates), so two strings are equal
 * in the set exactly when they are equal as JS strings.
 *
 * @module
 */

const EMPTY_SLOT = -1;

export class CompactStringSet {
  /** Bytes of all stored strings, back to back. */
  #bytes = new Uint8Array(64 * 1024);
  #used = 0;
  /** Per stored string: start in #bytes, byte length and hash. */
  #starts = new Uint32Array(1024);
  #lengths = new Uint32Array(1024);
  #hashes = new Uint32Array(1024);
  #count = 0;
  /** Open addressing, linear probing: index of a stored string, or EMPTY_SLOT. */
  #slots = new Int32Array(2048).fill(EMPTY_SLOT);
  /** The string being looked up, encoded (grown as needed). */
  #scratch = new Uint8Array(1024);

  /** Number of strings in the set. */
  get size(): number {
    return this.#count;
  }

  has(value: string): boolean {
    const n = this.#encode(value);
    return this.#find(n, hashBytes(this.#scratch, n)) >= 0;
  }

  /** Adds `value`; returns false when it was already there. */
  add(value: string): boolean {
    const n = this.#encode(value);
    const hash = hashBytes(this.#scratch, n);
    const slot = this.#find(n, hash);
    if (slot >= 0) return false;
    this.#store(n, hash, -slot - 1);
    return true;
  }

  /** The slot holding the scratch string (≥ 0), or -(free slot) - 1. */
  #find(n: number, hash: number): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const k = slots[i]!;
      if (k === EMPTY_SLOT) return -i - 1;
      if (this.#hashes[k] === hash && this.#lengths[k] === n && this.#equalsScratch(this.#starts[k]!, n)) return i;
    }
  }

  #equalsScratch(start: number, n: number): boolean {
    const bytes = this.#bytes;
    const scratch = this.#scratch;
    for (let i = 0; i < n; i++) if (bytes[start + i] !== scratch[i]) return false;
    return true;
  }

  #store(n: number, hash: number, slot: number): void {
    if (this.#used + n > this.#bytes.length) this.#bytes = grow(this.#bytes, this.#used + n);
    this.#bytes.set(this.#scratch.subarray(0, n), this.#used);
    const k = this.#count++;
    if (k === this.#starts.length) {
      this.#starts = grow(this.#starts, k + 1);
      this.#lengths = grow(this.#lengths, k + 1);
      this.#hashes = grow(this.#hashes, k + 1);
    }
    this.#starts[k] = this.#used;
    this.#lengths[k] = n;
    this.#hashes[k] = hash;
    this.#used += n;
    this.#slots[slot] = k;
    // Keep the table at most half full, so probes stay short.
    if (this.#count * 2 > this.#slots.length) this.#rehash();
  }

  #rehash(): void {
    const slots = new Int32Array(this.#slots.length * 2).fill(EMPTY_SLOT);
    const mask = slots.length - 1;
    for (let k = 0; k < this.#count; k++) {
      let i = this.#hashes[k]! & mask;
      while (slots[i] !== EMPTY_SLOT) i = (i + 1) & mask;
      slots[i] = k;
    }
    this.#slots = slots;
  }

  /** Encodes `value` as WTF-8 into #scratch; returns its byte length. */
  #encode(value: string): number {
    // At most 3 bytes per UTF-16 code unit.
    if (value.length * 3 > this.#scratch.length) this.#scratch = new Uint8Array(value.length * 3);
    const out = this.#scratch;
    let n = 0;
    for (let i = 0; i < value.length; i++) {
      let c = value.charCodeAt(i);
      if (c < 0x80) {
        out[n++] = c;
        continue;
      }
      if (c < 0x800) {
        out[n++] = 0xc0 | (c >> 6);
        out[n++] = 0x80 | (c & 0x3f);
        continue;
      }
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
        const d = value.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          out[n++] = 0xf0 | (c >> 18);
          out[n++] = 0x80 | ((c >> 12) & 0x3f);
          out[n++] = 0x80 | ((c >> 6) & 0x3f);
          out[n++] = 0x80 | (c & 0x3f);
          continue;
        }
      }
      // Other BMP characters and lone surrogates.
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
    }
    return n;
  }
}

/** FNV-1a over `bytes[0..n)`. */
function hashBytes(bytes: Uint8Array, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function grow<T extends Uint8Array | Uint32Array>(a: T, atLeast: number): T {
  let size = a.length * 2;
  while (size < atLeast) size *= 2;
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}
