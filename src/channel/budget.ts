/**
 * Memory budgets shared by all transfers.
 *
 * Uploads keep a few pieces in flight to the store, downloads read a batch
 * ahead of their client, and the store reads each batch into a 2 MiB buffer.
 * Counted per transfer, memory grew with the number of transfers: twelve
 * concurrent 32 MiB PutObjects held 48 MiB of pieces in the store, and sixty
 * downloads started at once 120 MiB of read buffers. A {@linkcode Budget}
 * counts them across transfers.
 *
 * A slot is held only while it costs memory: an upload takes one when a piece
 * is full and gives it back when the store replies, so a slow uploader holds
 * none while its next piece fills (a cap on concurrent bodies would let four
 * slow remote sites hold every other client off). A download reads ahead only
 * while a slot is free, and always reads what its client asks for next.
 *
 * @module
 */

/** A first-come, first-served count of slots. */
export class Budget {
  #free: number;
  #waiting: (() => void)[] = [];

  /** @param slots Slots that may be out at once. */
  constructor(slots: number) {
    this.#free = slots;
  }

  /**
   * Takes a slot, waiting behind earlier callers when none is free.
   *
   * @example Usage
   * ```ts
   * import { Budget } from "./budget.ts";
   * const budget = new Budget(1);
   * await budget.take();
   * const second = budget.take(); // waits
   * budget.give();
   * await second;
   * ```
   */
  take(): Promise<void> {
    return this.tryTake() ? Promise.resolve() : new Promise((r) => this.#waiting.push(r));
  }

  /**
   * Takes a slot if one is free and nobody waits for it.
   *
   * @returns Whether a slot was taken.
   */
  tryTake(): boolean {
    if (this.#free === 0 || this.#waiting.length > 0) return false;
    this.#free--;
    return true;
  }

  /** Gives a slot back: to the longest waiter, if any. */
  give(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}
