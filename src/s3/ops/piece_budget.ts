/**
 * Pieces in flight to the store, counted across all uploads.
 *
 * Each upload keeps a few pieces in flight (`PIECES_IN_FLIGHT` in `body.ts`),
 * and the store holds a piece until it is sealed and its turn of the drives
 * has come, so memory grew with the number of concurrent uploads: twelve
 * 32 MiB PutObjects held 48 MiB of pieces in the store. A slot is taken only
 * when a piece is full and given back when the store replies, so a slow
 * uploader holds none while its next piece fills: it cannot keep others out
 * the way a cap on concurrent bodies would.
 *
 * @module
 */

/** A first-come, first-served count of slots. */
export class PieceBudget {
  #free: number;
  #waiting: (() => void)[] = [];

  /** @param slots Pieces that may be in flight at once. */
  constructor(slots: number) {
    this.#free = slots;
  }

  /**
   * Takes a slot, waiting behind earlier callers when none is free.
   *
   * @example Usage
   * ```ts
   * import { PieceBudget } from "./piece_budget.ts";
   * const budget = new PieceBudget(1);
   * await budget.take();
   * const second = budget.take(); // waits
   * budget.give();
   * await second;
   * ```
   */
  take(): Promise<void> {
    if (this.#free > 0 && this.#waiting.length === 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Gives a slot back: to the longest waiter, if any. */
  give(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}
