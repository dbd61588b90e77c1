/**
 * Object Lock in the index: bucket lock configuration, the lock a new
 * version gets, and every change to a locked version — each decided by the
 * retention engine on the trusted clock.
 *
 * @module
 */

import type { DefaultRetention, MetaRequest, MetaResults, ObjectLock } from "../channel/mod.ts";
import {
  attestClock,
  type ClockState,
  decide,
  type Decision,
  type LockRequest,
  persistable,
  readClock,
  retentionEnd,
} from "../retention/mod.ts";
import type { Db } from "./db.ts";
import { MetaError } from "./errors.ts";
import { auditTarget } from "./audit.ts";
import type { Gate } from "./four_eyes.ts";
import { type BucketRow, keyBytes, requireBucket } from "./objects.ts";
import { requireRetentionWithinCap, retentionCapOf } from "./policy_store.ts";
import { requireWritable } from "./snapshots.ts";

type Req<T extends MetaRequest["type"]> = Extract<MetaRequest, { type: T }>;

/** The trusted clock of one index, persisted in it. */
export class TrustedClock {
  #db: Db;
  #state: ClockState | undefined;
  #uncreditedJumpMs = 0;
  #maxJumpMs: number;
  #onJump: (message: string) => void;

  /**
   * @param db The index holding the high-water mark.
   * @param opts Largest forward jump credited across a restart, and where alerts go.
   */
  constructor(db: Db, opts: { maxJumpMs: number; onJump: (message: string) => void }) {
    this.#db = db;
    this.#maxJumpMs = opts.maxJumpMs;
    this.#onJump = opts.onJump;
    const row = db.get<{ trusted: number; credit_ms: number | null }>(
      "SELECT trusted, credit_ms FROM clock WHERE id = 1",
    );
    this.#state = row ? { trusted: row.trusted, creditMs: row.credit_ms ?? undefined } : undefined;
    this.now();
  }

  /** Trusted now, ms since the epoch; records the high-water mark inside the caller's transaction. */
  now(): number {
    const r = readClock(this.#state, Date.now(), {
      monotonicNow: performance.now(),
      maxJumpMs: this.#maxJumpMs,
    });
    if (r.uncreditedJumpMs !== undefined) {
      this.#uncreditedJumpMs = r.uncreditedJumpMs;
      const credited = r.now - (this.#state?.trusted ?? r.now);
      this.#onJump(
        `The system clock is ${
          Math.round(r.uncreditedJumpMs / 1000)
        } s ahead of the trusted clock; ` +
          `${
            Math.round(credited / 1000)
          } s were credited, what was left of the restart allowance (AMBER_MAX_CLOCK_JUMP, ` +
          `refilled by running time or an approver's time attestation)`,
      );
    }
    this.#state = r.state;
    return r.now;
  }

  /**
   * Moves trusted time forward to an attested time (inside a write transaction,
   * after the approvals were checked).
   *
   * @param attestedMs The attested time, ms since the epoch.
   * @returns Trusted now.
   */
  attest(attestedMs: number): number {
    this.now();
    const r = attestClock(this.#state!, attestedMs, {
      wallNow: Date.now(),
      monotonicNow: performance.now(),
      maxJumpMs: this.#maxJumpMs,
    });
    if ("refused" in r) throw new MetaError("invalidApproval", r.refused);
    this.#state = r.state;
    this.#uncreditedJumpMs = 0;
    return r.state.trusted;
  }

  /** What `/metrics` shows: trusted time, how far the wall clock runs ahead of it, the last uncredited jump. */
  status(): { trustedMs: number; wallAheadMs: number; uncreditedJumpMs: number } {
    const trustedMs = this.now();
    return {
      trustedMs,
      wallAheadMs: Date.now() - trustedMs,
      uncreditedJumpMs: this.#uncreditedJumpMs,
    };
  }

  /** Persists the high-water mark (call inside a write transaction). */
  save(): void {
    const { trusted, creditMs } = persistable(this.#state!);
    this.#db.run(
      `INSERT INTO clock(id, trusted, credit_ms) VALUES(1, ?, ?)
       ON CONFLICT(id) DO UPDATE SET trusted = max(trusted, excluded.trusted), credit_ms = excluded.credit_ms`,
      trusted,
      creditMs ?? null,
    );
  }
}

function requireLockBucket(db: Db, bucket: string): BucketRow {
  const b = requireBucket(db, bucket);
  if (b.object_lock !== 1) {
    throw new MetaError(
      "noLockConfiguration",
      `Bucket "${bucket}" has no Object Lock configuration`,
      { bucket },
    );
  }
  return b;
}

/** Enables Object Lock on a versioning-enabled bucket and sets (or clears) its default retention. */
export function putObjectLockConfiguration(
  db: Db,
  req: Req<"putObjectLockConfiguration">,
  gate: Gate,
): MetaResults["putObjectLockConfiguration"] {
  const b = requireBucket(db, req.bucket);
  if (b.object_lock !== 1 && b.versioning !== "Enabled") {
    throw new MetaError(
      "invalidBucketState",
      `Object Lock needs versioning enabled on bucket "${req.bucket}"`,
    );
  }
  if (req.defaultRetention) {
    const from = Date.now();
    requireRetentionWithinCap(
      retentionCapOf(db, req.bucket),
      req.bucket,
      retentionEnd(from, req.defaultRetention),
      from,
    );
  }
  // The approval names the settings too: one given for a 30-day default must not remove it.
  gate(
    "PutObjectLockConfiguration",
    `/${req.bucket}?retention=${retentionName(req.defaultRetention)}`,
  );
  db.run(
    "UPDATE buckets SET object_lock = 1, default_retention = ? WHERE name = ?",
    req.defaultRetention ? JSON.stringify(req.defaultRetention) : null,
    req.bucket,
  );
  return { enabled: true };
}

/** Reads a bucket's lock configuration; `noLockConfiguration` unless lock is on. */
export function getObjectLockConfiguration(
  db: Db,
  req: Req<"getObjectLockConfiguration">,
): MetaResults["getObjectLockConfiguration"] {
  const b = requireLockBucket(db, req.bucket);
  return { defaultRetention: b.default_retention ? JSON.parse(b.default_retention) : undefined };
}

/** Refuses to suspend versioning on a lock bucket. */
export function checkVersioningChange(db: Db, bucket: string, status: string): void {
  if (status !== "Enabled" && requireBucket(db, bucket).object_lock === 1) {
    throw new MetaError(
      "invalidBucketState",
      `Versioning cannot be suspended on Object Lock bucket "${bucket}"`,
    );
  }
}

/**
 * A retention as an approval's resource names it: `none`, `MODE:<n>d` or `MODE:<n>y` for a default
 * retention, `MODE:<ISO 8601 with milliseconds>` for a version's.
 */
function retentionName(
  r: DefaultRetention | { mode?: string; retainUntil?: number } | undefined,
): string {
  if (!r?.mode) return "none";
  if ("days" in r && r.days !== undefined) return `${r.mode}:${r.days}d`;
  if ("years" in r && r.years !== undefined) return `${r.mode}:${r.years}y`;
  const until = (r as { retainUntil?: number }).retainUntil;
  return `${r.mode}:${until === undefined ? "" : new Date(until).toISOString()}`;
}

/** Refuses Object Lock settings on a write to a bucket without Object Lock. */
export function noLockConfiguration(bucket: string): never {
  throw new MetaError(
    "noLockConfiguration",
    `Bucket "${bucket}" has no Object Lock configuration`,
    {
      bucket,
    },
  );
}

/**
 * The lock a new version gets: what the write asked for, else the bucket's
 * default retention. Locked writes must have carried Content-MD5 or a
 * flexible checksum, as AWS requires.
 *
 * @param b The bucket's row.
 * @param req The write.
 * @param now When a default retention starts: as on S3, when the version was made. The caller
 *   passes the later of trusted time and the version's Last-Modified, since trusted time lags the
 *   real time after a downtime longer than the clock credits: dated from it, a default retention
 *   would end before Last-Modified plus its period, and attesting the real time would free the
 *   version at once. A system clock set ahead can only lengthen it.
 */
export function lockForNewVersion(
  b: BucketRow,
  req: { bucket: string; lock?: ObjectLock; integrityChecked?: boolean; appendOnly?: boolean },
  now: number,
): ObjectLock | undefined {
  if (b.object_lock !== 1) {
    if (req.lock) noLockConfiguration(req.bucket);
    return undefined;
  }
  const def: DefaultRetention | undefined = b.default_retention
    ? JSON.parse(b.default_retention)
    : undefined;
  const lock: ObjectLock = { legalHold: req.lock?.legalHold ?? false };
  if (req.lock?.mode) {
    // An append-level key changes no retention (its key cannot shorten one): on its own new
    // versions it may ask for more than the bucket's default, never less.
    if (
      req.appendOnly && def &&
      ((def.mode === "COMPLIANCE" && req.lock.mode === "GOVERNANCE") ||
        (req.lock.retainUntil ?? 0) < retentionEnd(now, def))
    ) {
      throw new MetaError(
        "appendOnly",
        `An append-level key cannot lock a new version less than bucket "${req.bucket}"'s default retention`,
      );
    }
    lock.mode = req.lock.mode;
    lock.retainUntil = req.lock.retainUntil;
  } else if (def) {
    lock.mode = def.mode;
    lock.retainUntil = retentionEnd(now, def);
  }
  if ((lock.mode || lock.legalHold) && !req.integrityChecked) {
    throw new MetaError(
      "integrityRequired",
      "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters",
    );
  }
  return lock.mode || lock.legalHold ? lock : undefined;
}

/** The Object Lock columns of a `versions` row. */
export interface LockColumns {
  lock_mode: "GOVERNANCE" | "COMPLIANCE" | null;
  retain_until: number | null;
  legal_hold: number;
}

interface LockRow extends LockColumns {
  version_id: string;
  delete_marker: number;
}

/** The lock row of a version (the latest when no id is given). */
function lockRow(db: Db, req: { bucket: string; key: string; versionId?: string }): LockRow {
  const key = keyBytes(req.key);
  const row = req.versionId === undefined
    ? db.get<LockRow>(
      `SELECT v.version_id, v.delete_marker, v.lock_mode, v.retain_until, v.legal_hold FROM latest l
       JOIN versions v ON v.bucket = l.bucket AND v.key = l.key AND v.version_id = l.version_id
       WHERE l.bucket = ? AND l.key = ?`,
      req.bucket,
      key,
    )
    : db.get<LockRow>(
      "SELECT version_id, delete_marker, lock_mode, retain_until, legal_hold FROM versions WHERE bucket = ? AND key = ? AND version_id = ?",
      req.bucket,
      key,
      req.versionId,
    );
  if (!row || (req.versionId === undefined && row.delete_marker === 1)) {
    throw req.versionId === undefined
      ? new MetaError("noSuchKey", `Object "${req.key}" does not exist`, { key: req.key })
      : new MetaError(
        "noSuchVersion",
        `Version "${req.versionId}" of "${req.key}" does not exist`,
        { key: req.key },
      );
  }
  if (row.delete_marker === 1) {
    throw new MetaError("methodNotAllowed", "A delete marker has no retention or legal hold");
  }
  return row;
}

/** Asks the retention engine; throws `locked` on refusal. */
export function enforce(
  row: LockColumns,
  req: LockRequest,
  now: number,
): void {
  const d = decideRow(row, req, now);
  if (!d.allowed) throw new MetaError("locked", d.message, { reason: d.reason });
}

function decideRow(row: LockColumns, req: LockRequest, now: number): Decision {
  return decide(
    {
      mode: row.lock_mode ?? undefined,
      retainUntil: row.retain_until ?? undefined,
      legalHold: row.legal_hold === 1,
    },
    req,
    now,
  );
}

/** Whether the engine would allow `req` on the version in `row`. */
function allows(row: LockColumns, req: LockRequest, now: number): boolean {
  return decideRow(row, req, now).allowed;
}

/** PutObjectRetention: set, extend, shorten or remove as the engine allows. */
export function putObjectRetention(
  db: Db,
  req: Req<"putObjectRetention">,
  now: number,
  gate: Gate,
): MetaResults["putObjectRetention"] {
  requireLockBucket(db, req.bucket);
  const row = lockRow(db, req);
  // A snapshot (read-only) takes only what the engine allows without bypass: longer, never shorter.
  if (!allows(row, { kind: "putRetention", ...req.retention, bypassGovernance: false }, now)) {
    requireWritable(db, req.bucket);
  }
  enforce(
    row,
    { kind: "putRetention", ...req.retention, bypassGovernance: req.bypassGovernance },
    now,
  );
  if (
    req.bypassGovernance &&
    !allows(row, { kind: "putRetention", ...req.retention, bypassGovernance: false }, now)
  ) {
    gate(
      "PutObjectRetention",
      `${auditTarget({ ...req, versionId: row.version_id })}&retention=${
        retentionName(req.retention)
      }`,
    );
  }
  requireRetentionWithinCap(
    retentionCapOf(db, req.bucket),
    req.bucket,
    req.retention.mode ? req.retention.retainUntil : undefined,
    Math.max(now, Date.now()),
  );
  db.run(
    "UPDATE versions SET lock_mode = ?, retain_until = ? WHERE bucket = ? AND key = ? AND version_id = ?",
    req.retention.mode ?? null,
    req.retention.mode ? req.retention.retainUntil ?? null : null,
    req.bucket,
    keyBytes(req.key),
    row.version_id,
  );
  return { versionId: row.version_id };
}

/** PutObjectLegalHold. */
export function putObjectLegalHold(
  db: Db,
  req: Req<"putObjectLegalHold">,
): MetaResults["putObjectLegalHold"] {
  requireLockBucket(db, req.bucket);
  const row = lockRow(db, req);
  // A snapshot (read-only) may gain a hold, never lose one.
  if (!req.on) requireWritable(db, req.bucket);
  db.run(
    "UPDATE versions SET legal_hold = ? WHERE bucket = ? AND key = ? AND version_id = ?",
    req.on ? 1 : 0,
    req.bucket,
    keyBytes(req.key),
    row.version_id,
  );
  return { versionId: row.version_id };
}
