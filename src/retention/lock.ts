/**
 * The retention engine's rules: whether a request may touch a locked object
 * version. Pure — no I/O and no clock: `now` is an argument, taken from the
 * trusted clock (`clock.ts`) by the caller.
 *
 * AWS S3 semantics: a version under COMPLIANCE retention can be neither
 * deleted nor have its retention shortened, removed or changed to GOVERNANCE
 * by anyone until it expires; only extensions are allowed. Under GOVERNANCE
 * the same holds unless the caller holds the bypass right *and* asked for it
 * (`x-amz-bypass-governance-retention: true`). A legal hold blocks deletion
 * whatever the retention. New versions over a locked key are always allowed:
 * locks protect versions, not keys.
 *
 * @module
 */

/** Object Lock retention modes. */
export type LockMode = "GOVERNANCE" | "COMPLIANCE";

/** The lock state of one object version. */
export interface VersionLock {
  /** Retention mode, when the version has a retention period. */
  mode?: LockMode;
  /** End of retention, ms since the epoch. */
  retainUntil?: number;
  /** Whether a legal hold is on. */
  legalHold: boolean;
}

/** What a request wants to do to a version. */
export type LockRequest =
  | { kind: "deleteVersion"; bypassGovernance: boolean }
  | { kind: "putRetention"; mode?: LockMode; retainUntil?: number; bypassGovernance: boolean }
  | { kind: "putLegalHold"; on: boolean };

/** Why a request was refused. */
export type RefusalReason =
  | "legalHold"
  | "compliance"
  | "governance"
  | "shorten"
  | "modeChange"
  | "remove";

/** The engine's answer. */
export type Decision = { allowed: true } | {
  allowed: false;
  reason: RefusalReason;
  message: string;
};

const ALLOWED: Decision = { allowed: true };

function refuse(reason: RefusalReason, message: string): Decision {
  return { allowed: false, reason, message };
}

/** Whether the version's retention is still in force at `now`. */
export function isRetained(lock: VersionLock, now: number): boolean {
  return lock.mode !== undefined && lock.retainUntil !== undefined && lock.retainUntil > now;
}

/**
 * Decides whether `req` may act on a version with lock state `lock`.
 *
 * @param lock The version's lock state.
 * @param req What is asked, with whether governance bypass is both held and requested.
 * @param now Trusted time, ms since the epoch.
 * @returns Allowed, or the refusal with a reason.
 *
 * @example
 * ```ts
 * import { decide } from "./lock.ts";
 * const lock = { mode: "COMPLIANCE" as const, retainUntil: 2_000, legalHold: false };
 * if (decide(lock, { kind: "deleteVersion", bypassGovernance: true }, 1_000).allowed) throw new Error("deleted a locked version");
 * ```
 */
export function decide(lock: VersionLock, req: LockRequest, now: number): Decision {
  switch (req.kind) {
    case "putLegalHold":
      return ALLOWED;
    case "deleteVersion":
      if (lock.legalHold) {
        return refuse("legalHold", "The object version has a legal hold and cannot be deleted");
      }
      if (!isRetained(lock, now)) return ALLOWED;
      if (lock.mode === "COMPLIANCE") {
        return refuse(
          "compliance",
          "The object version is under COMPLIANCE retention and cannot be deleted",
        );
      }
      return req.bypassGovernance ? ALLOWED : refuse(
        "governance",
        "The object version is under GOVERNANCE retention; deleting it needs the bypass",
      );
    case "putRetention": {
      if (!isRetained(lock, now)) return ALLOWED;
      if (lock.mode === "GOVERNANCE" && req.bypassGovernance) return ALLOWED;
      if (req.mode === undefined || req.retainUntil === undefined) {
        return refuse(
          "remove",
          `The object version's ${lock.mode} retention cannot be removed before it expires`,
        );
      }
      if (req.mode !== lock.mode) {
        return refuse(
          "modeChange",
          `The object version's retention mode ${lock.mode} cannot be changed before it expires`,
        );
      }
      if (req.retainUntil < lock.retainUntil!) {
        return refuse(
          "shorten",
          `The object version's ${lock.mode} retention can only be extended`,
        );
      }
      return ALLOWED;
    }
  }
}

/** The last time a JavaScript Date holds, ms. */
const MAX_DATE_MS = 8.64e15;

/** A retention period as a bucket's default retention states it: days, or calendar years. */
export interface RetentionPeriod {
  days?: number;
  years?: number;
}

/**
 * When a retention period starting at `from` ends: days of 24 hours, or the same date that many
 * calendar years on, as S3 counts them.
 *
 * @throws {RangeError} When the end cannot be represented (the router refuses such periods).
 */
export function retentionEnd(from: number, period: RetentionPeriod): number {
  let until: number;
  if (period.days !== undefined) until = from + period.days * 86_400_000;
  else {
    const t = new Date(from);
    t.setUTCFullYear(t.getUTCFullYear() + (period.years ?? 0));
    until = t.getTime();
  }
  if (!(Math.abs(until) <= MAX_DATE_MS)) {
    throw new RangeError(`Cannot end retention period ${JSON.stringify(period)}`);
  }
  return until;
}
