/**
 * FastCDC-style content-defined chunking.
 *
 * A gear hash rolls over the input; a chunk ends where the hash's top bits are
 * all zero. Normalized chunking (FastCDC, level 2) uses a stricter mask before
 * the average size and a looser one after it, which pulls chunk sizes towards
 * the average. The first `minBytes` of each chunk are skipped without hashing.
 *
 * Boundaries depend only on the bytes, never on how they were split into
 * {@linkcode Chunker.push} calls, so an edit inside a large stream changes only
 * the chunks around it and the rest deduplicate.
 *
 * Pure: no I/O, no clock, no randomness.
 *
 * @module
 */

/**
 * Default minimum chunk size: a quarter of the average, so the skipped prefix
 * saves hashing work without hurting dedup much.
 */
export const CHUNK_MIN_BYTES = 16 * 1024;
/**
 * Default target average chunk size, chosen by `tools/bench/dedup.ts`: the
 * largest average that keeps ten nightly tar archives (5 % of files changed
 * per night) near 1.3× one archive. Measured: 32 KiB → 1.15×, 64 KiB → 1.25×,
 * 128 KiB → 1.44×, 256 KiB → 1.73×. Real mean chunk is about 73 KiB.
 */
export const CHUNK_AVG_BYTES = 64 * 1024;
/** Default maximum chunk size: four times the average. */
export const CHUNK_MAX_BYTES = 256 * 1024;

/**
 * Seed of the gear table. Changing it (or the generator) moves every chunk
 * boundary, so existing data would stop deduplicating against new writes.
 */
const GEAR_SEED = 0x616d6272; // "ambr"

/** 256 pseudo-random 32-bit gear values, fixed forever (see GEAR_SEED). */
const GEAR: Int32Array = makeGearTable(GEAR_SEED);

function makeGearTable(seed: number): Int32Array {
  // splitmix32: tiny, well-mixed and fully specified here.
  const table = new Int32Array(256);
  let s = seed | 0;
  for (let i = 0; i < 256; i++) {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    table[i] = z ^ (z >>> 16);
  }
  return table;
}

/** A mask selecting the top `bits` bits of a 32-bit hash. */
function topBitsMask(bits: number): number {
  return (0xffffffff << (32 - bits)) | 0;
}

/** Chunk size limits for a {@linkcode Chunker}. */
export interface ChunkerOptions {
  /**
   * Smallest chunk, except the final one.
   * @default {CHUNK_MIN_BYTES}
   */
  minBytes?: number;
  /**
   * Target average; rounded to a power of two for the masks.
   * @default {CHUNK_AVG_BYTES}
   */
  avgBytes?: number;
  /**
   * Largest chunk; a cut is forced here.
   * @default {CHUNK_MAX_BYTES}
   */
  maxBytes?: number;
}

/**
 * A streaming content-defined chunker.
 *
 * Every returned chunk is a fresh `Uint8Array` that owns its whole
 * `ArrayBuffer` (offset 0, length equal to the buffer), so it can be
 * transferred to a Worker without copying and without detaching anything else.
 *
 * @example Usage
 * ```ts
 * import { Chunker } from "./chunker.ts";
 * const chunker = new Chunker({ minBytes: 1024, avgBytes: 4096, maxBytes: 16384 });
 * const input = new Uint8Array(100_000);
 * crypto.getRandomValues(input.subarray(0, 65536));
 * crypto.getRandomValues(input.subarray(65536));
 * const chunks = chunker.push(input);
 * const tail = chunker.flush();
 * if (tail) chunks.push(tail);
 * const total = chunks.reduce((n, c) => n + c.length, 0);
 * if (total !== input.length) throw new Error("lost bytes");
 * ```
 */
export class Chunker {
  readonly #min: number;
  readonly #avg: number;
  readonly #max: number;
  readonly #maskS: number;
  readonly #maskL: number;
  /** Copies of the bytes of the current, unfinished chunk. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** Gear hash state of the current chunk. */
  #hash = 0;

  /**
   * Creates a chunker.
   *
   * @param opts Chunk size limits; must satisfy `64 <= min <= avg <= max`.
   */
  constructor(opts: ChunkerOptions = {}) {
    const min = opts.minBytes ?? CHUNK_MIN_BYTES;
    const avg = opts.avgBytes ?? CHUNK_AVG_BYTES;
    const max = opts.maxBytes ?? CHUNK_MAX_BYTES;
    for (const [name, v] of [["minBytes", min], ["avgBytes", avg], ["maxBytes", max]] as const) {
      if (!Number.isSafeInteger(v) || v < 64) {
        throw new RangeError(`Cannot create chunker: "${name}" must be an integer >= 64, got ${v}`);
      }
    }
    if (!(min <= avg && avg <= max)) {
      throw new RangeError(
        `Cannot create chunker: need minBytes <= avgBytes <= maxBytes, got ${min}, ${avg}, ${max}`,
      );
    }
    const bits = Math.round(Math.log2(avg));
    if (bits + 2 > 32) {
      throw new RangeError(`Cannot create chunker: "avgBytes" is too large, got ${avg}`);
    }
    this.#min = min;
    this.#avg = avg;
    this.#max = max;
    this.#maskS = topBitsMask(bits + 2);
    this.#maskL = topBitsMask(bits - 2);
  }

  /**
   * Feeds the next piece of the stream.
   *
   * A chunk that lies wholly within `data` is returned as a view of it (no
   * copy: the store seals it at once); bytes kept for an unfinished chunk are
   * copied. So the caller may reuse `data` once it is done with the chunks.
   *
   * @param data The next bytes of the stream, of any length.
   * @returns The chunks completed by these bytes, in stream order.
   */
  push(data: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let start = 0;
    while (start < data.length) {
      const cut = this.#findCut(data, start);
      if (cut < 0) {
        this.#pending.push(data.slice(start));
        this.#pendingBytes += data.length - start;
        break;
      }
      out.push(this.#take(data, start, cut));
      start = cut;
    }
    return out;
  }

  /**
   * Ends the stream and resets the chunker for reuse.
   *
   * @returns The final chunk (possibly shorter than `minBytes`), or `null` if
   * the stream ended on a boundary.
   */
  flush(): Uint8Array | null {
    if (this.#pendingBytes === 0) return null;
    const tail = this.#take(new Uint8Array(0), 0, 0);
    return tail;
  }

  /**
   * Scans `data[start..]` as the continuation of the current chunk.
   * Returns the exclusive end of the chunk in `data`, or -1 if none yet.
   */
  #findCut(data: Uint8Array, start: number): number {
    const end = data.length;
    // Index in `data` where the current chunk began (may be negative).
    const base = start - this.#pendingBytes;
    let i = Math.max(start, base + this.#min);
    if (i >= end) return -1;
    const gear = GEAR;
    let h = this.#hash;
    const normEnd = Math.min(end, base + this.#avg);
    const maskS = this.#maskS;
    for (; i < normEnd; i++) {
      h = ((h << 1) + gear[data[i]]) | 0;
      if ((h & maskS) === 0) {
        this.#hash = 0;
        return i + 1;
      }
    }
    const maxEnd = Math.min(end, base + this.#max);
    const maskL = this.#maskL;
    for (; i < maxEnd; i++) {
      h = ((h << 1) + gear[data[i]]) | 0;
      if ((h & maskL) === 0) {
        this.#hash = 0;
        return i + 1;
      }
    }
    if (i === base + this.#max) {
      this.#hash = 0;
      return i;
    }
    this.#hash = h;
    return -1;
  }

  /** Builds the chunk made of the pending bytes plus `data[start..cut)`. */
  #take(data: Uint8Array, start: number, cut: number): Uint8Array {
    if (this.#pendingBytes === 0) return data.subarray(start, cut);
    const chunk = new Uint8Array(this.#pendingBytes + (cut - start));
    let off = 0;
    for (const piece of this.#pending) {
      chunk.set(piece, off);
      off += piece.length;
    }
    chunk.set(data.subarray(start, cut), off);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#hash = 0;
    return chunk;
  }
}
