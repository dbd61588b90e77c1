/**
 * Bucket policies in the index: storing them, admitting writes before their
 * bodies are read, judging each committed write inside its transaction (so
 * a refused write rolls back and leaves nothing visible), usage, freshness
 * marks, and the health of buckets. The decisions themselves are pure
 * (quota.ts, freshness.ts); time is the trusted clock's.
 *
 * @module
 */

import type {
  BucketHealth,
  BucketPolicy,
  BucketUsage,
  MetaRequest,
  MetaResults,
  ObjectLock,
  PolicedWrite,
  WriteCaller,
} from "../channel/mod.ts";
import type { Db } from "./db.ts";
import { MetaError } from "./errors.ts";
import { bucketHealth, type FreshnessMark } from "./freshness.ts";
import { parsePolicy } from "./policy.ts";
import { retentionEnd } from "../retention/mod.ts";
import { bodyLimit, commitVerdict, intervalRefusal, type Refusal, windowRefusal } from "./quota.ts";
import { keyBytes, prefixEnd, requireBucket } from "./objects.ts";

type Req<T extends MetaRequest["type"]> = Extract<MetaRequest, { type: T }>;

/** Writes that create a new version of their key (the minimum interval applies). */
const NEW_VERSION_WRITES: ReadonlySet<PolicedWrite> = new Set([
  "put",
  "copy",
  "createUpload",
  "complete",
]);
/** Writes that add bytes, refused up front when the bucket is already full (a complete only moves its parts' bytes). */
const GROWING_WRITES: ReadonlySet<PolicedWrite> = new Set([
  "put",
  "copy",
  "createUpload",
  "uploadPart",
]);

function refuse(r: Refusal): never {
  throw new MetaError(r.kind, r.message);
}

/** A bucket's stored policy, or undefined when it has none. */
function policyOf(db: Db, bucket: string): { policy: BucketPolicy; since: number } | undefined {
  const row = db.get<{ policy: string; freshness_since: number }>(
    "SELECT policy, freshness_since FROM bucket_policies WHERE bucket = ?",
    bucket,
  );
  return row ? { policy: JSON.parse(row.policy), since: row.freshness_since } : undefined;
}

/** The bucket policy's `maxRetentionDays`, if it sets one. */
export function retentionCapOf(db: Db, bucket: string): number | undefined {
  return policyOf(db, bucket)?.policy.maxRetentionDays;
}

/**
 * Refuses a retention ending more than `maxDays` after `from` (when the write sets it: the later
 * of trusted time and the system clock, as default retentions are dated).
 */
export function requireRetentionWithinCap(
  maxDays: number | undefined,
  bucket: string,
  retainUntil: number | undefined,
  from: number,
): void {
  if (maxDays === undefined || retainUntil === undefined) return;
  if (beyondCap(maxDays, retainUntil, from)) {
    throw new MetaError(
      "retentionTooLong",
      `A retention until ${
        new Date(retainUntil).toISOString()
      } is longer than bucket "${bucket}"'s policy allows (maxRetentionDays ${maxDays})`,
    );
  }
}

/** Whether a retention until `retainUntil`, set at `from`, is longer than `maxDays` allows. */
function beyondCap(maxDays: number, retainUntil: number, from: number): boolean {
  return retainUntil - from > maxDays * 86_400_000;
}

/** A bucket's usage (zeros before its first write). */
export function usageOf(db: Db, bucket: string): BucketUsage {
  const row = db.get<BucketUsage>(
    `SELECT objects, logical_bytes AS logicalBytes, stored_bytes AS storedBytes, upload_bytes AS uploadBytes
     FROM bucket_usage WHERE bucket = ?`,
    bucket,
  );
  return row ? { ...row } : { objects: 0, logicalBytes: 0, storedBytes: 0, uploadBytes: 0 };
}

/** Recomputes one bucket's freshness marks from the versions it holds (when its rules change). */
function backfillMarks(db: Db, bucket: string, policy: BucketPolicy): void {
  db.run("DELETE FROM freshness_marks WHERE bucket = ?", bucket);
  (policy.freshness ?? []).forEach((rule, i) => {
    const from = keyBytes(rule.prefix);
    const to = prefixEnd(from) ?? new Uint8Array([0xff, 0xff, 0xff, 0xff]);
    const range = "bucket = ? AND key >= ? AND key < ? AND delete_marker = 0";
    const any = db.get<{ at: number | null }>(
      `SELECT max(last_modified) AS at FROM versions WHERE ${range}`,
      bucket,
      from,
      to,
    );
    const backup = db.get<{ at: number; size: number }>(
      `SELECT last_modified AS at, size FROM versions WHERE ${range} AND size >= ?
       ORDER BY last_modified DESC LIMIT 1`,
      bucket,
      from,
      to,
      rule.minBytes,
    );
    db.run(
      "INSERT INTO freshness_marks(bucket, rule, last_backup_at, last_backup_bytes, last_object_at) VALUES(?, ?, ?, ?, ?)",
      bucket,
      i,
      backup?.at ?? null,
      backup?.size ?? null,
      any?.at ?? null,
    );
  });
}

/** Sets (replaces) a bucket's policy; `{}` clears it. */
export function putBucketPolicy(
  db: Db,
  req: Req<"putBucketPolicy">,
  now: number,
): MetaResults["putBucketPolicy"] {
  const b = requireBucket(db, req.bucket);
  let policy: BucketPolicy;
  try {
    policy = parsePolicy(req.policy);
  } catch (e) {
    throw new MetaError("invalidPolicy", (e as Error).message);
  }
  // A cap below the bucket's own default would refuse every write that takes the default.
  if (policy.maxRetentionDays !== undefined && b.default_retention) {
    const from = Date.now();
    if (
      beyondCap(policy.maxRetentionDays, retentionEnd(from, JSON.parse(b.default_retention)), from)
    ) {
      throw new MetaError(
        "invalidPolicy",
        `"maxRetentionDays" (${policy.maxRetentionDays}) is shorter than bucket "${req.bucket}"'s default retention`,
      );
    }
  }
  const old = policyOf(db, req.bucket);
  const sameRules = JSON.stringify(old?.policy.freshness ?? []) ===
    JSON.stringify(policy.freshness ?? []);
  db.run(
    `INSERT INTO bucket_policies(bucket, policy, freshness_since) VALUES(?, ?, ?)
     ON CONFLICT(bucket) DO UPDATE SET policy = excluded.policy, freshness_since = excluded.freshness_since`,
    req.bucket,
    JSON.stringify(policy),
    sameRules && old ? old.since : now,
  );
  if (!sameRules) backfillMarks(db, req.bucket, policy);
  if (policy.minVersionIntervalSeconds === undefined) {
    db.run("DELETE FROM key_last_version WHERE bucket = ?", req.bucket);
  }
  return { bucket: req.bucket, policy, usage: usageOf(db, req.bucket) };
}

/** Reads a bucket's policy (`{}` when none) and usage. */
export function getBucketPolicy(
  db: Db,
  req: Req<"getBucketPolicy">,
): MetaResults["getBucketPolicy"] {
  requireBucket(db, req.bucket);
  return {
    bucket: req.bucket,
    policy: policyOf(db, req.bucket)?.policy ?? {},
    usage: usageOf(db, req.bucket),
  };
}

/** Refuses a new version of the key sooner than the policy's minimum interval after the last. */
function checkInterval(
  db: Db,
  target: { bucket: string; key: string },
  policy: BucketPolicy,
  now: number,
): void {
  if (policy.minVersionIntervalSeconds === undefined) return;
  const last = db.get<{ at: number }>(
    "SELECT at FROM key_last_version WHERE bucket = ? AND key = ?",
    target.bucket,
    keyBytes(target.key),
  )?.at;
  const early = intervalRefusal(target, policy.minVersionIntervalSeconds, last, now);
  if (early) refuse(early);
}

/** The size of the object a new `null` version would replace (a bucket not versioning), if any. */
function replacedObjectBytes(
  db: Db,
  bucket: string,
  key: string,
  versioning: string,
): number | undefined {
  if (versioning === "Enabled") return undefined;
  return db.get<{ size: number }>(
    "SELECT size FROM versions WHERE bucket = ? AND key = ? AND version_id = 'null' AND delete_marker = 0",
    bucket,
    keyBytes(key),
  )?.size;
}

/**
 * Decides, before any body is read, whether a write may start, and how many
 * body bytes it may carry. The commit is judged again (see {@linkcode policed}),
 * since concurrent writes share the room.
 */
export function admitWrite(
  db: Db,
  req: Req<"admitWrite">,
  now: number,
  found = policyOf(db, req.bucket),
): MetaResults["admitWrite"] {
  if (!req.uploadAnytime) {
    const closed = (req.keyWindows &&
      windowRefusal(`by access key "${req.keyWindows.accessKey}"`, req.keyWindows.windows, now)) ??
      windowRefusal(`to bucket "${req.bucket}"`, found?.policy.uploadWindows, now);
    if (closed) refuse(closed);
  }
  // No policy, nothing more to decide: the operation itself reports a missing bucket.
  if (!found) return {};
  const bucket = requireBucket(db, req.bucket);
  const { policy } = found;
  if (NEW_VERSION_WRITES.has(req.write)) checkInterval(db, req, policy, now);
  if (!GROWING_WRITES.has(req.write)) return {};
  const otherParts = req.write === "uploadPart"
    ? db.get<{ n: number }>(
      "SELECT coalesce(sum(size), 0) AS n FROM parts WHERE upload_id = ? AND part_number != ?",
      req.uploadId ?? "",
      req.partNumber ?? 0,
    )!.n
    : 0;
  const replacedObject = req.write === "uploadPart"
    ? undefined
    : replacedObjectBytes(db, req.bucket, req.key, bucket.versioning);
  const replacedPart = req.write === "uploadPart"
    ? db.get<{ size: number }>(
      "SELECT size FROM parts WHERE upload_id = ? AND part_number = ?",
      req.uploadId ?? "",
      req.partNumber ?? 0,
    )?.size
    : undefined;
  const decided = bodyLimit(req.bucket, policy.quota, usageOf(db, req.bucket), {
    // Only a PUT frees the old object as it lands; an upload's parts coexist with it until complete.
    freedBytes: (req.write === "put" ? replacedObject : replacedPart) ?? 0,
    objectBytesSoFar: otherParts,
    addsObject: req.write !== "uploadPart" && replacedObject === undefined,
  });
  if ("refusal" in decided) refuse(decided.refusal);
  if (!decided.limit || (req.write !== "put" && req.write !== "uploadPart")) return {};
  return {
    limit: {
      bytes: decided.limit.bytes,
      kind: decided.limit.refusal.kind as "quotaExceeded" | "objectTooLarge",
      message: decided.limit.refusal.message,
    },
  };
}

/**
 * Admits a PUT whose body was read before it was admitted: as
 * {@linkcode admitWrite}, and the body must fit the room it would have been
 * cut off at.
 */
function admitBody(
  db: Db,
  req: { bucket: string; key: string },
  admit: { caller: WriteCaller; size: number },
  now: number,
  found: ReturnType<typeof policyOf>,
): void {
  const { limit } = admitWrite(
    db,
    { type: "admitWrite", bucket: req.bucket, key: req.key, write: "put", ...admit.caller },
    now,
    found,
  );
  if (limit && admit.size > limit.bytes) refuse(limit);
}

/** What {@linkcode policed} needs to know of a write. */
export interface PolicedRequest {
  bucket: string;
  key: string;
  write: "put" | "copy" | "uploadPart" | "complete";
  uploadId?: string;
  partNumber?: number;
  /** Sealed bytes the write added to disk. */
  storedBytes?: number;
  /** For `complete`: the part numbers that make the object. */
  partNumbers?: number[];
  /** A PUT whose body was read before it was admitted: admit it now (see `admitBody`). */
  admit?: { caller: WriteCaller; size: number };
}

function updateMarks(
  db: Db,
  bucket: string,
  policy: BucketPolicy,
  write: { key: string; size: number },
  now: number,
): void {
  (policy.freshness ?? []).forEach((rule, i) => {
    if (!write.key.startsWith(rule.prefix)) return;
    const big = write.size >= rule.minBytes;
    db.run(
      `INSERT INTO freshness_marks(bucket, rule, last_backup_at, last_backup_bytes, last_object_at) VALUES(?, ?, ?, ?, ?)
       ON CONFLICT(bucket, rule) DO UPDATE SET last_object_at = excluded.last_object_at,
         last_backup_at = coalesce(excluded.last_backup_at, last_backup_at),
         last_backup_bytes = coalesce(excluded.last_backup_bytes, last_backup_bytes)`,
      bucket,
      i,
      big ? now : null,
      big ? write.size : null,
      now,
    );
  });
}

/**
 * Runs a write that adds a version or a part, inside its transaction, and
 * judges what it left against the bucket's policy: a refusal throws, so the
 * caller's savepoint rolls the write back. Admits a small PUT first (one read
 * of the policy serves both). Also records freshness and the key's last new
 * version.
 *
 * @param db The index.
 * @param req What the write is.
 * @param now Trusted time.
 * @param fn The write itself, given the sealed bytes it added to disk to record in its row;
 *   returns the version id it made, if any.
 * @returns What `fn` returned, with the soft-limit warning when usage is above it.
 */
export function policed<T extends object>(
  db: Db,
  req: PolicedRequest,
  now: number,
  fn: (storedBytes: number) => T,
): T & { quotaWarning?: string } {
  const found = policyOf(db, req.bucket);
  if (req.admit) admitBody(db, req, req.admit, now, found);
  const policy = found?.policy;
  const before = policy ? usageOf(db, req.bucket) : undefined;
  const newVersion = req.write !== "uploadPart";
  if (newVersion && policy) checkInterval(db, req, policy, now);
  let stored = req.storedBytes ?? 0;
  if (req.write === "complete") {
    stored = db.get<{ n: number }>(
      "SELECT coalesce(sum(stored_bytes), 0) AS n FROM parts WHERE upload_id = ? AND part_number IN (SELECT value FROM json_each(?))",
      req.uploadId ?? "",
      JSON.stringify(req.partNumbers ?? []),
    )!.n;
  }
  // The write records its stored bytes in the row it inserts (the usage triggers count them).
  const result = fn(stored);
  const lock = (result as { lock?: ObjectLock }).lock;
  requireRetentionWithinCap(
    policy?.maxRetentionDays,
    req.bucket,
    lock?.mode ? lock.retainUntil : undefined,
    Math.max(now, Date.now()),
  );
  const versionId = (result as { versionId?: string }).versionId ?? "";
  const key = keyBytes(req.key);
  if (!policy || !before) return result;
  const objectBytes = req.write === "uploadPart"
    ? db.get<{ n: number }>(
      "SELECT coalesce(sum(size), 0) AS n FROM parts WHERE upload_id = ?",
      req.uploadId ?? "",
    )!.n
    : db.get<{ size: number }>(
      "SELECT size FROM versions WHERE bucket = ? AND key = ? AND version_id = ?",
      req.bucket,
      key,
      versionId,
    )?.size ?? 0;
  const verdict = commitVerdict(
    req.bucket,
    policy.quota,
    before,
    usageOf(db, req.bucket),
    objectBytes,
  );
  if (verdict.refusal) refuse(verdict.refusal);
  if (newVersion) {
    if (policy.minVersionIntervalSeconds !== undefined) {
      db.run(
        `INSERT INTO key_last_version(bucket, key, at) VALUES(?, ?, ?)
         ON CONFLICT(bucket, key) DO UPDATE SET at = excluded.at`,
        req.bucket,
        key,
        now,
      );
    }
    updateMarks(db, req.bucket, policy, { key: req.key, size: objectBytes }, now);
  }
  return verdict.warning ? { ...result, quotaWarning: verdict.warning } : result;
}

/**
 * The health of one bucket, or of every bucket, at trusted time `now`.
 *
 * @throws {MetaError} `noSuchBucket` when a named bucket does not exist.
 */
export function bucketHealthReports(
  db: Db,
  req: Req<"bucketHealth">,
  now: number,
): MetaResults["bucketHealth"] {
  if (req.bucket !== undefined) requireBucket(db, req.bucket);
  const names = req.bucket !== undefined
    ? [req.bucket]
    : db.all<{ name: string }>("SELECT name FROM buckets ORDER BY name").map((r) => r.name);
  const buckets: BucketHealth[] = names.map((bucket) => {
    const found = policyOf(db, bucket);
    const rules = found?.policy.freshness ?? [];
    const marks = new Map(
      db.all<
        {
          rule: number;
          last_backup_at: number | null;
          last_backup_bytes: number | null;
          last_object_at: number | null;
        }
      >("SELECT * FROM freshness_marks WHERE bucket = ?", bucket).map((r) => [r.rule, r]),
    );
    return bucketHealth({
      bucket,
      quota: found?.policy.quota,
      rules,
      marks: rules.map((_, i): FreshnessMark => {
        const m = marks.get(i);
        return {
          lastBackupAt: m?.last_backup_at ?? undefined,
          lastBackupBytes: m?.last_backup_bytes ?? undefined,
          lastObjectAt: m?.last_object_at ?? undefined,
        };
      }),
      usage: usageOf(db, bucket),
      since: found?.since ?? now,
      now,
    });
  });
  return { now, buckets };
}
