/**
 * Backup-freshness health of a bucket, pure: from its policy, usage and the
 * times backups last arrived, decide ok / late / too-small / over-quota with
 * reasons. `now` is passed in (the trusted clock).
 *
 * @module
 */

import type {
  BucketHealth,
  BucketUsage,
  FreshnessRule,
  FreshnessStatus,
  HealthState,
  QuotaPolicy,
} from "../channel/mod.ts";
import { chargedBytes, formatBytes } from "./quota.ts";

const HOUR_MS = 3_600_000;

/** When backups last arrived under one rule's prefix (trusted times, ms). */
export interface FreshnessMark {
  /** Last new object of at least the rule's `minBytes`. */
  lastBackupAt?: number;
  lastBackupBytes?: number;
  /** Last new object of any size. */
  lastObjectAt?: number;
}

/** Everything the health of one bucket depends on. */
export interface HealthInput {
  bucket: string;
  quota?: QuotaPolicy;
  rules: FreshnessRule[];
  /** One mark per rule, in the same order. */
  marks: FreshnessMark[];
  usage: BucketUsage;
  /** When the freshness rules were set: a rule with no backup yet is due one period after. */
  since: number;
  now: number;
}

const ORDER: HealthState[] = ["late", "too-small", "over-quota", "ok"];

function where(rule: FreshnessRule): string {
  return rule.prefix ? `under "${rule.prefix}"` : "in the bucket";
}

function iso(t: number): string {
  return new Date(t).toISOString();
}

function ruleStatus(
  rule: FreshnessRule,
  mark: FreshnessMark,
  since: number,
  now: number,
): { status: FreshnessStatus; reason?: string } {
  const periodMs = rule.everyHours * HOUR_MS;
  const dueAt = (mark.lastBackupAt ?? since) + periodMs;
  const status: FreshnessStatus = { prefix: rule.prefix, state: "ok", dueAt, ...mark };
  if (now <= dueAt) return { status };
  const wanted = `a new object of at least ${formatBytes(rule.minBytes)} ${
    where(rule)
  } every ${rule.everyHours} h`;
  const last = mark.lastBackupAt === undefined
    ? "none has arrived"
    : `the last arrived at ${iso(mark.lastBackupAt)}`;
  if (mark.lastObjectAt !== undefined && mark.lastObjectAt > now - periodMs) {
    status.state = "too-small";
    return {
      status,
      reason: `Expected ${wanted}; objects arrived (the last at ${
        iso(mark.lastObjectAt)
      }) but all were smaller, and ${last}`,
    };
  }
  status.state = "late";
  return { status, reason: `Expected ${wanted}, due by ${iso(dueAt)}; ${last}` };
}

function quotaReason(quota: QuotaPolicy | undefined, usage: BucketUsage): string | undefined {
  if (!quota) return undefined;
  const charged = chargedBytes(usage);
  if (quota.hardBytes !== undefined && charged >= quota.hardBytes) {
    return `Usage ${formatBytes(charged)} has reached the hard quota of ${
      formatBytes(quota.hardBytes)
    }: new backups are refused`;
  }
  if (quota.maxObjects !== undefined && usage.objects >= quota.maxObjects) {
    return `The bucket holds ${usage.objects} object versions, its limit: new objects are refused`;
  }
  if (quota.softBytes !== undefined && charged > quota.softBytes) {
    return `Usage ${formatBytes(charged)} is above the soft quota of ${
      formatBytes(quota.softBytes)
    }`;
  }
  return undefined;
}

/**
 * Decides a bucket's health. The state is the most urgent that applies
 * (late, then too-small, then over-quota); `reasons` lists every one.
 *
 * @param input Policy, usage, when backups last arrived, and the trusted now.
 * @returns The health report.
 *
 * @example
 * ```ts
 * import { bucketHealth } from "./freshness.ts";
 * const h = bucketHealth({
 *   bucket: "db", rules: [{ prefix: "db/", everyHours: 26, minBytes: 1 }], marks: [{}],
 *   usage: { objects: 0, logicalBytes: 0, storedBytes: 0, uploadBytes: 0 },
 *   since: 0, now: 27 * 3_600_000,
 * });
 * if (h.state !== "late") throw new Error("no backup in 27 h is late");
 * ```
 */
export function bucketHealth(input: HealthInput): BucketHealth {
  const reasons: string[] = [];
  const states = new Set<HealthState>();
  const freshness = input.rules.map((rule, i) => {
    const r = ruleStatus(rule, input.marks[i] ?? {}, input.since, input.now);
    if (r.reason) {
      reasons.push(r.reason);
      states.add(r.status.state);
    }
    return r.status;
  });
  const q = quotaReason(input.quota, input.usage);
  if (q) {
    reasons.push(q);
    states.add("over-quota");
  }
  return {
    bucket: input.bucket,
    state: ORDER.find((s) => states.has(s)) ?? "ok",
    reasons,
    usage: input.usage,
    quota: input.quota,
    freshness,
  };
}
