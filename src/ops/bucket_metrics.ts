/**
 * Per-bucket metrics: usage against quota, backup-freshness health, and
 * soft-quota warnings.
 *
 * @module
 */

import client from "prom-client";

/** What the metrics read of a bucket's health report (the index's `BucketHealth`). */
export interface BucketReport {
  bucket: string;
  state: string;
  usage: { objects: number; logicalBytes: number; storedBytes: number; uploadBytes: number };
  quota?: { hardBytes?: number; softBytes?: number; maxObjects?: number; maxObjectBytes?: number };
  freshness: { prefix: string; lastBackupAt?: number }[];
}

const STATES = ["ok", "late", "too-small", "over-quota"];

/** The per-bucket instruments, registered with the vault's registry. */
export class BucketMetrics {
  readonly usageBytes: client.Gauge<"bucket" | "kind">;
  readonly objects: client.Gauge<"bucket">;
  readonly quotaBytes: client.Gauge<"bucket" | "limit">;
  readonly quotaObjects: client.Gauge<"bucket">;
  readonly health: client.Gauge<"bucket" | "state">;
  readonly backupAge: client.Gauge<"bucket" | "prefix">;
  readonly softWarnings: client.Counter<"bucket">;

  /** @param registers The registries to join. */
  constructor(registers: client.Registry[]) {
    this.usageBytes = new client.Gauge({
      name: "amber_bucket_usage_bytes",
      help:
        "Bucket usage: kind=logical (object versions as clients see them), stored (sealed bytes first written by the bucket), uploads (multipart uploads in progress)",
      labelNames: ["bucket", "kind"],
      registers,
    });
    this.objects = new client.Gauge({
      name: "amber_bucket_objects",
      help: "Object versions in the bucket, delete markers not counted",
      labelNames: ["bucket"],
      registers,
    });
    this.quotaBytes = new client.Gauge({
      name: "amber_bucket_quota_bytes",
      help: "Bucket byte limits: limit=hard, soft or max_object",
      labelNames: ["bucket", "limit"],
      registers,
    });
    this.quotaObjects = new client.Gauge({
      name: "amber_bucket_quota_objects",
      help: "Most object versions the bucket may hold",
      labelNames: ["bucket"],
      registers,
    });
    this.health = new client.Gauge({
      name: "amber_bucket_health",
      help:
        "1 for the bucket's current health state (ok, late, too-small, over-quota), 0 for the others",
      labelNames: ["bucket", "state"],
      registers,
    });
    this.backupAge = new client.Gauge({
      name: "amber_bucket_backup_age_seconds",
      help: "Seconds since the last backup under a freshness rule's prefix arrived (-1: none yet)",
      labelNames: ["bucket", "prefix"],
      registers,
    });
    this.softWarnings = new client.Counter({
      name: "amber_bucket_soft_quota_warnings_total",
      help: "Writes that left a bucket above its soft quota",
      labelNames: ["bucket"],
      registers,
    });
  }

  /**
   * Sets every gauge from fresh health reports; buckets that are gone disappear.
   *
   * @param now Trusted time of the reports, ms.
   * @param reports One per bucket.
   */
  update(now: number, reports: BucketReport[]): void {
    for (const g of [this.usageBytes, this.objects, this.quotaBytes, this.quotaObjects]) g.reset();
    this.health.reset();
    this.backupAge.reset();
    for (const r of reports) {
      const bucket = r.bucket;
      this.usageBytes.set({ bucket, kind: "logical" }, r.usage.logicalBytes);
      this.usageBytes.set({ bucket, kind: "stored" }, r.usage.storedBytes);
      this.usageBytes.set({ bucket, kind: "uploads" }, r.usage.uploadBytes);
      this.objects.set({ bucket }, r.usage.objects);
      const q = r.quota ?? {};
      if (q.hardBytes !== undefined) this.quotaBytes.set({ bucket, limit: "hard" }, q.hardBytes);
      if (q.softBytes !== undefined) this.quotaBytes.set({ bucket, limit: "soft" }, q.softBytes);
      if (q.maxObjectBytes !== undefined) {
        this.quotaBytes.set({ bucket, limit: "max_object" }, q.maxObjectBytes);
      }
      if (q.maxObjects !== undefined) this.quotaObjects.set({ bucket }, q.maxObjects);
      for (const state of STATES) this.health.set({ bucket, state }, r.state === state ? 1 : 0);
      for (const f of r.freshness) {
        const age = f.lastBackupAt === undefined ? -1 : (now - f.lastBackupAt) / 1000;
        this.backupAge.set({ bucket, prefix: f.prefix }, age);
      }
    }
  }
}
