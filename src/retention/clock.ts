/**
 * The trusted clock retention is measured on. Pure: the caller supplies the
 * wall clock and a monotonic clock reading and persists the state.
 *
 * While the vault runs, trusted time advances with the monotonic clock only,
 * so moving the system clock does nothing. Across a restart, where there is
 * no monotonic continuity, the persisted high-water mark is the floor (time
 * never goes back) and a forward jump is credited from a budget of at most
 * `maxJumpMs`: what one restart credits is gone for the next, and the budget
 * refills only with time the vault runs (one part in
 * {@linkcode CREDIT_REFILL_RATIO}) or with an operator's attestation. So no
 * number of quick restarts with the clock pushed ahead adds up to more than
 * `maxJumpMs`. Anything beyond is reported so an operator can look, and locks
 * end later than the wall clock would say — never earlier.
 *
 * @module
 */

/** Running time that refills one ms of restart credit: a month of running refills a day. */
export const CREDIT_REFILL_RATIO = 30;

/** What is persisted between readings. */
export interface ClockState {
  /** Trusted time at the last reading, ms since the epoch. */
  trusted: number;
  /** Monotonic reading then, ms; undefined right after a restart. */
  monotonic?: number;
  /** Forward jump the next restart may still credit, ms; a full `maxJumpMs` when undefined. */
  creditMs?: number;
}

/** One reading of the trusted clock. */
export interface ClockReading {
  /** The new state to persist. */
  state: ClockState;
  /** Trusted now, ms since the epoch. */
  now: number;
  /** Set when the wall clock jumped ahead by more than was credited: how far, ms. */
  uncreditedJumpMs?: number;
  /** Set when the wall clock stood behind trusted time (ignored), ms. */
  backwardMs?: number;
}

/**
 * Reads the trusted clock.
 *
 * @param state The persisted state (`undefined` on a brand-new vault).
 * @param wallNow The system clock, ms since the epoch.
 * @param opts `monotonicNow` (ms, e.g. `performance.now()`) and `maxJumpMs`.
 * @returns The trusted time and the state to persist.
 *
 * @example
 * ```ts
 * import { readClock } from "./clock.ts";
 * const a = readClock(undefined, 1_000, { monotonicNow: 0, maxJumpMs: 60_000 });
 * // The system clock jumps ten years ahead while running: trusted time follows the monotonic clock.
 * const b = readClock(a.state, 1_000 + 315_360_000_000, { monotonicNow: 5, maxJumpMs: 60_000 });
 * if (b.now !== 1_005) throw new Error("the jump was credited");
 * ```
 */
export function readClock(
  state: ClockState | undefined,
  wallNow: number,
  opts: { monotonicNow: number; maxJumpMs: number },
): ClockReading {
  const monotonic = opts.monotonicNow;
  if (state === undefined) {
    return { state: { trusted: wallNow, monotonic, creditMs: opts.maxJumpMs }, now: wallNow };
  }
  const credit = Math.min(opts.maxJumpMs, state.creditMs ?? opts.maxJumpMs);
  if (state.monotonic !== undefined) {
    const ran = Math.max(0, monotonic - state.monotonic);
    const now = state.trusted + ran;
    const creditMs = Math.min(opts.maxJumpMs, credit + ran / CREDIT_REFILL_RATIO);
    return { state: { trusted: now, monotonic, creditMs }, now };
  }
  // First reading after a restart.
  const ahead = wallNow - state.trusted;
  if (ahead < 0) {
    return {
      state: { trusted: state.trusted, monotonic, creditMs: credit },
      now: state.trusted,
      backwardMs: -ahead,
    };
  }
  const credited = Math.min(ahead, credit);
  const now = state.trusted + credited;
  const reading: ClockReading = {
    state: { trusted: now, monotonic, creditMs: credit - credited },
    now,
  };
  if (ahead > credited) reading.uncreditedJumpMs = ahead - credited;
  return reading;
}

/** The state to persist: monotonic readings mean nothing after a restart. */
export function persistable(state: ClockState): ClockState {
  return { trusted: state.trusted, creditMs: state.creditMs };
}

/** How far ahead of the system clock an attested time may lie, ms. */
export const ATTESTATION_LEAD_MAX_MS = 300_000;

/**
 * Applies an operator's signed time attestation: trusted time moves forward
 * to the attested time, never back, and never past the system clock by more
 * than {@linkcode ATTESTATION_LEAD_MAX_MS}. The restart credit is full again.
 *
 * @param state The current state (after a reading).
 * @param attestedMs The attested time, ms since the epoch.
 * @param opts The system clock and a monotonic reading, ms, and the restart allowance.
 * @returns The new state, or why the attestation is refused.
 *
 * @example
 * ```ts
 * import { attestClock } from "./clock.ts";
 * const r = attestClock({ trusted: 1_000, monotonic: 0 }, 5_000, {
 *   wallNow: 5_000,
 *   monotonicNow: 1,
 *   maxJumpMs: 60_000,
 * });
 * if (!("state" in r) || r.state.trusted !== 5_000) throw new Error("not credited");
 * ```
 */
export function attestClock(
  state: ClockState,
  attestedMs: number,
  opts: { wallNow: number; monotonicNow: number; maxJumpMs: number },
): { state: ClockState } | { refused: string } {
  if (attestedMs > opts.wallNow + ATTESTATION_LEAD_MAX_MS) {
    return { refused: "The attested time is ahead of the system clock" };
  }
  return {
    state: {
      trusted: Math.max(state.trusted, attestedMs),
      monotonic: opts.monotonicNow,
      creditMs: opts.maxJumpMs,
    },
  };
}
