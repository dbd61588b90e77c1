/**
 * Reed–Solomon erasure coding over GF(2^8), systematic: `k` data shards are
 * stored as they are, `m` parity shards are linear combinations of them, and
 * any `k` of the `k + m` shards rebuild the rest.
 *
 * The parity rows form a Cauchy matrix (`1 / (x_i + y_j)` with `x_i = k + i`,
 * `y_j = j`): every square submatrix of a Cauchy matrix is invertible, so the
 * generator `[I; C]` stays invertible for any choice of `k` surviving rows.
 * Field: polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d), generator 2.
 *
 * Shards are multiplied and summed 16 bytes at a time in WebAssembly SIMD
 * (`gf_simd.ts`); single products (matrices, tests) use one 64 KiB table,
 * `MUL[c << 8 | x] = c · x`.
 *
 * Pure: no I/O.
 *
 * @example Usage
 * ```ts
 * import { ReedSolomon } from "./erasure.ts";
 * const rs = new ReedSolomon(2, 2);
 * const shards = rs.split(new TextEncoder().encode("hello, erasure"));
 * const lost: (Uint8Array | null)[] = [null, shards[1], null, shards[3]];
 * rs.reconstruct(lost);
 * if (new TextDecoder().decode(rs.join(lost as Uint8Array[], 14)) !== "hello, erasure") {
 *   throw new Error("not rebuilt");
 * }
 * ```
 *
 * @module
 */

import { simdCombine } from "./gf_simd.ts";

/** Most shards one stripe can have: the field has 256 elements. */
export const MAX_SHARDS = 256;

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
}

/** `MUL[(c << 8) | x]` is `c · x` in GF(2^8). */
const MUL = new Uint8Array(65536);
for (let c = 1; c < 256; c++) {
  for (let x = 1; x < 256; x++) MUL[(c << 8) | x] = EXP[LOG[c] + LOG[x]];
}

/**
 * Multiplies two field elements.
 *
 * @param a Element.
 * @param b Element.
 * @returns `a · b`.
 */
export function gfMul(a: number, b: number): number {
  return MUL[(a << 8) | b];
}

/**
 * The multiplicative inverse of a non-zero field element.
 *
 * @param a Non-zero element.
 * @returns `1 / a`.
 */
export function gfInv(a: number): number {
  if (a === 0) throw new RangeError("Cannot invert 0 in GF(2^8)");
  return EXP[255 - LOG[a]];
}

/** `outs[r] = Σ rows[r][j] · srcs[j]` over the first `n` bytes (see gf_simd.ts). */
const combine = simdCombine(gfMul);

/**
 * Inverts a square matrix over GF(2^8) by Gauss–Jordan elimination.
 *
 * @param rows The matrix, row-major, `size × size`.
 * @param size Its dimension.
 * @returns The inverse, row-major.
 * @throws {RangeError} when the matrix is singular.
 */
export function invertMatrix(rows: Uint8Array, size: number): Uint8Array {
  const a = rows.slice();
  const inv = new Uint8Array(size * size);
  for (let i = 0; i < size; i++) inv[i * size + i] = 1;
  for (let col = 0; col < size; col++) {
    let pivot = col;
    while (pivot < size && a[pivot * size + col] === 0) pivot++;
    if (pivot === size) throw new RangeError("Cannot invert matrix: it is singular");
    if (pivot !== col) {
      for (let j = 0; j < size; j++) {
        [a[col * size + j], a[pivot * size + j]] = [a[pivot * size + j], a[col * size + j]];
        [inv[col * size + j], inv[pivot * size + j]] = [inv[pivot * size + j], inv[col * size + j]];
      }
    }
    const scale = gfInv(a[col * size + col]);
    for (let j = 0; j < size; j++) {
      a[col * size + j] = gfMul(a[col * size + j], scale);
      inv[col * size + j] = gfMul(inv[col * size + j], scale);
    }
    for (let r = 0; r < size; r++) {
      const f = a[r * size + col];
      if (r === col || f === 0) continue;
      for (let j = 0; j < size; j++) {
        a[r * size + j] ^= gfMul(f, a[col * size + j]);
        inv[r * size + j] ^= gfMul(f, inv[col * size + j]);
      }
    }
  }
  return inv;
}

/** A Reed–Solomon code with `k` data and `m` parity shards. */
export class ReedSolomon {
  /** Data shards. */
  readonly k: number;
  /** Parity shards. */
  readonly m: number;
  /** Generator rows for the parity shards, `m × k`, row-major. */
  readonly #parity: Uint8Array;
  /** Decoding matrices by the set of shards used (a bit string), cached. */
  readonly #decoders = new Map<string, Uint8Array>();

  /**
   * @param k Data shards, at least 1.
   * @param m Parity shards, at least 0; `k + m` at most {@linkcode MAX_SHARDS}.
   */
  constructor(k: number, m: number) {
    if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || m < 0 || k + m > MAX_SHARDS) {
      throw new RangeError(`Cannot build a Reed–Solomon code with k=${k} and m=${m}`);
    }
    this.k = k;
    this.m = m;
    this.#parity = new Uint8Array(m * k);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < k; j++) this.#parity[i * k + j] = gfInv((k + i) ^ j);
    }
  }

  /** Row `r` of the generator matrix (`k` entries): identity for data, Cauchy for parity. */
  #row(r: number): Uint8Array {
    if (r >= this.k) return this.#parity.subarray((r - this.k) * this.k, (r - this.k + 1) * this.k);
    const row = new Uint8Array(this.k);
    row[r] = 1;
    return row;
  }

  /**
   * Bytes of each shard for `length` bytes of data: the data is cut into `k`
   * equal shards, the last one zero-padded.
   *
   * @param length Data bytes.
   * @returns Shard bytes.
   */
  shardBytes(length: number): number {
    return Math.max(1, Math.ceil(length / this.k));
  }

  /**
   * Cuts `data` into `k` data shards and computes the `m` parity shards.
   *
   * @param data The bytes to protect.
   * @returns `k + m` shards of {@linkcode shardBytes} each, data first.
   */
  split(data: Uint8Array): Uint8Array[] {
    if (this.k === 1 && this.m === 0) return [data]; // one drive: the chunk is its only shard, no copy
    const size = this.shardBytes(data.length);
    const buf = new Uint8Array(size * (this.k + this.m));
    const shards: Uint8Array[] = [];
    for (let i = 0; i < this.k + this.m; i++) shards.push(buf.subarray(i * size, (i + 1) * size));
    for (let i = 0; i < this.k; i++) shards[i].set(data.subarray(i * size, (i + 1) * size));
    this.encode(shards);
    return shards;
  }

  /**
   * Computes the parity shards from the data shards, in place.
   *
   * @param shards `k + m` shards of equal length; the parity ones are overwritten.
   */
  encode(shards: Uint8Array[]): void {
    this.#check(shards);
    const n = shards[0].length;
    const parity = [...Array(this.m).keys()].map((i) => this.#row(this.k + i));
    combine(shards.slice(this.k), shards.slice(0, this.k), parity, n);
  }

  /**
   * Rebuilds missing shards (given as `null`) from any `k` present ones, in
   * place. Which shards are present is the caller's knowledge: a shard that
   * failed its checksum must be passed as `null`, not as its bad bytes.
   *
   * @param shards `k + m` entries, at least `k` of them present and of equal length.
   * @param wanted Shard indexes to rebuild; every missing one by default.
   * @throws {RangeError} when fewer than `k` shards are present.
   */
  reconstruct(shards: (Uint8Array | null)[], wanted?: number[]): void {
    if (shards.length !== this.k + this.m) {
      throw new RangeError(`Cannot reconstruct: expected ${this.k + this.m} shards`);
    }
    const present: number[] = [];
    for (let i = 0; i < shards.length && present.length < this.k; i++) {
      if (shards[i]) present.push(i);
    }
    if (present.length < this.k) {
      throw new RangeError(
        `Cannot reconstruct: ${present.length} shards present, ${this.k} needed`,
      );
    }
    const missing = (wanted ?? shards.map((_, i) => i)).filter((i) => !shards[i]);
    if (missing.length === 0) return;
    const n = shards[present[0]]!.length;
    const sources = present.map((i) => shards[i]!);
    const missingData = missing.filter((i) => i < this.k);
    if (missingData.length > 0) {
      const decoder = this.#decoder(present);
      const outs = missingData.map(() => new Uint8Array(n));
      combine(
        outs,
        sources,
        missingData.map((d) => decoder.subarray(d * this.k, (d + 1) * this.k)),
        n,
      );
      missingData.forEach((d, i) => (shards[d] = outs[i]));
    }
    const missingParity = missing.filter((i) => i >= this.k);
    if (missingParity.length === 0) return;
    // Parity from data: every data shard is known once the data ones are rebuilt.
    const allData = shards.slice(0, this.k).every((s) => s !== null);
    const outs = missingParity.map(() => new Uint8Array(n));
    if (allData) {
      combine(
        outs,
        shards.slice(0, this.k) as Uint8Array[],
        missingParity.map((p) => this.#row(p)),
        n,
      );
    } else {
      // Some data shard is still unknown (not wanted): go through the decoder.
      const decoder = this.#decoder(present);
      const rows = missingParity.map((p) => {
        const row = this.#row(p);
        const coeffs = new Uint8Array(this.k);
        for (let j = 0; j < this.k; j++) {
          let c = 0;
          for (let t = 0; t < this.k; t++) c ^= gfMul(row[t], decoder[t * this.k + j]);
          coeffs[j] = c;
        }
        return coeffs;
      });
      combine(outs, sources, rows, n);
    }
    missingParity.forEach((p, i) => (shards[p] = outs[i]));
  }

  /**
   * Joins the data shards back into the original bytes.
   *
   * @param shards At least the `k` data shards.
   * @param length Original data length.
   * @returns The data (with `k` = 1, a view of the one data shard: no copy).
   */
  join(shards: Uint8Array[], length: number): Uint8Array {
    if (this.k === 1) return shards[0].subarray(0, length);
    const out = new Uint8Array(length);
    const size = shards[0].length;
    for (let i = 0; i < this.k && i * size < length; i++) {
      out.set(shards[i].subarray(0, Math.min(size, length - i * size)), i * size);
    }
    return out;
  }

  /** The inverse of the generator rows `present` (k of them): maps those shards to the data shards. */
  #decoder(present: number[]): Uint8Array {
    const key = present.join(",");
    let inv = this.#decoders.get(key);
    if (!inv) {
      const sub = new Uint8Array(this.k * this.k);
      present.forEach((r, i) => sub.set(this.#row(r), i * this.k));
      inv = invertMatrix(sub, this.k);
      this.#decoders.set(key, inv);
    }
    return inv;
  }

  #check(shards: Uint8Array[]): void {
    if (shards.length !== this.k + this.m) {
      throw new RangeError(`Cannot encode: expected ${this.k + this.m} shards`);
    }
    const n = shards[0].length;
    if (shards.some((s) => s.length !== n)) {
      throw new RangeError("Cannot encode: shards differ in length");
    }
  }
}
