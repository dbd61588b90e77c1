/**
 * Reusable buffers for reads whose bytes are consumed at once.
 *
 * A GET reads about a MiB of sealed records per batch and opens them straight
 * away. A fresh buffer for each read is fresh memory: the kernel zeroes and
 * maps every page of it on first touch, which measured a fifth of a GET's
 * store-side CPU. Reads made under a {@linkcode ReadLease} borrow pooled
 * buffers instead, and give them back when the lease ends.
 *
 * @module
 */

/** Bytes of a pooled buffer: a read batch of sealed chunks (about 1 MiB) fits in one. */
export const READ_BUFFER_BYTES = 2 * 1024 * 1024;

/**
 * Buffers borrowed for one piece of work, all given back by {@linkcode ReadLease.release}.
 * Successive reads share a pooled buffer while they fit in it: on a striped vault a batch is
 * several reads, one or more per drive, and a whole buffer each churned megabytes per batch.
 */
export class ReadLease {
  readonly #pool: ReadBufferPool;
  readonly #held: Uint8Array<ArrayBuffer>[] = [];
  /** Bytes of the last borrowed buffer already handed out. */
  #used = 0;

  constructor(pool: ReadBufferPool) {
    this.#pool = pool;
  }

  /**
   * A buffer of `length` bytes, with arbitrary contents, that stays valid
   * until {@linkcode release}; it overlaps no other buffer of this lease.
   *
   * @param length Bytes wanted.
   * @returns The buffer.
   */
  take(length: number): Uint8Array<ArrayBuffer> {
    const last = this.#held.at(-1);
    if (last && this.#used + length <= last.length) {
      this.#used += length;
      return last.subarray(this.#used - length, this.#used);
    }
    const whole = this.#pool.borrow(length);
    if (!whole) return new Uint8Array(length);
    this.#held.push(whole);
    this.#used = length;
    return whole.subarray(0, length);
  }

  /** Gives every borrowed buffer back: nothing read under this lease may be used afterwards. */
  release(): void {
    for (const b of this.#held.splice(0)) this.#pool.giveBack(b);
  }
}

/** A small pool of {@linkcode READ_BUFFER_BYTES} buffers. */
export class ReadBufferPool {
  readonly #idle: Uint8Array<ArrayBuffer>[] = [];
  readonly #idleMax: number;

  /** @param idleMax Buffers kept between uses; more are allocated when needed and dropped after. */
  constructor(idleMax: number) {
    this.#idleMax = idleMax;
  }

  /** @returns A lease to read under. */
  lease(): ReadLease {
    return new ReadLease(this);
  }

  /** A whole pooled buffer for `length` bytes, or undefined when they do not fit one. */
  borrow(length: number): Uint8Array<ArrayBuffer> | undefined {
    if (length > READ_BUFFER_BYTES) return undefined;
    return this.#idle.pop() ?? new Uint8Array(READ_BUFFER_BYTES);
  }

  /** Takes a buffer back from a lease. */
  giveBack(buffer: Uint8Array<ArrayBuffer>): void {
    if (this.#idle.length < this.#idleMax) this.#idle.push(buffer);
  }
}
