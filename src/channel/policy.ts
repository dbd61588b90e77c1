/**
 * Per-bucket policy as it crosses the channel: quotas, upload windows, the
 * minimum interval between versions of a key, and backup-freshness rules;
 * with the bucket's usage and health. Plain structured-clone-safe data.
 *
 * @module
 */

/** Byte and count limits of a bucket. Every field is optional; absent means unlimited. */
export interface QuotaPolicy {
  /** Writes that would take logical usage past this are refused (QuotaExceeded). */
  hardBytes?: number;
  /**
   * Writes that take logical usage past this succeed with a warning; the room
   * up to `hardBytes` is headroom for an occasional larger backup.
   */
  softBytes?: number;
  /** Most object versions (delete markers not counted) the bucket may hold. */
  maxObjects?: number;
  /** Largest single object, bytes (EntityTooLarge beyond). */
  maxObjectBytes?: number;
}

/** A recurring window in which writes are accepted: opens at each `cron` match, for `durationMinutes`. */
export interface UploadWindow {
  /** Five-field cron expression (minute hour day-of-month month day-of-week), in UTC. */
  cron: string;
  /** How long the window stays open, minutes. */
  durationMinutes: number;
}

/** Expected cadence and minimum size of new backups under a prefix. */
export interface FreshnessRule {
  /** Key prefix the backups land under; empty for the whole bucket. */
  prefix: string;
  /** A new object of at least `minBytes` must arrive at least this often, hours (fractions allowed). */
  everyHours: number;
  /** Smallest size that counts as a backup, bytes. */
  minBytes: number;
}

/** The whole policy of one bucket. */
export interface BucketPolicy {
  quota?: QuotaPolicy;
  /** Writes are accepted only inside one of these (none: always). */
  uploadWindows?: UploadWindow[];
  /** Least time between two new versions of the same key, seconds. */
  minVersionIntervalSeconds?: number;
  freshness?: FreshnessRule[];
  /**
   * Longest retention a write may set, days from when it is set: a stolen key of any level below
   * owner cannot lock junk in for centuries (S3 caps it with `s3:object-lock-remaining-retention-days`).
   */
  maxRetentionDays?: number;
}

/** What a bucket holds. */
export interface BucketUsage {
  /** Object versions, delete markers not counted. */
  objects: number;
  /** Their plaintext bytes, as clients see them. */
  logicalBytes: number;
  /**
   * Sealed bytes on disk first written by this bucket's versions (after
   * compression; a chunk already stored, in any bucket, adds nothing).
   */
  storedBytes: number;
  /** Plaintext bytes of multipart uploads in progress (they count against the hard limit too). */
  uploadBytes: number;
}

/** Health states, most urgent first. */
export type HealthState = "late" | "too-small" | "over-quota" | "ok";

/** One freshness rule's standing. */
export interface FreshnessStatus {
  prefix: string;
  state: "ok" | "late" | "too-small";
  /** Trusted time of the last new object of at least `minBytes` under the prefix, ms; absent when none. */
  lastBackupAt?: number;
  /** Size of that object, bytes. */
  lastBackupBytes?: number;
  /** Trusted time of the last new object of any size under the prefix, ms. */
  lastObjectAt?: number;
  /** When the next backup is due, ms. */
  dueAt: number;
}

/** The health of one bucket. */
export interface BucketHealth {
  bucket: string;
  state: HealthState;
  /** Why, one sentence each; empty when ok. Names no object. */
  reasons: string[];
  usage: BucketUsage;
  quota?: QuotaPolicy;
  freshness: FreshnessStatus[];
}

/** The kinds of write a policy admits or refuses. */
export type PolicedWrite = "put" | "copy" | "createUpload" | "uploadPart" | "complete" | "delete";
