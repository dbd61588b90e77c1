/**
 * Buckets in the index.
 *
 * @module
 */

import type { MetaResults } from "../channel/mod.ts";
import type { Db } from "./db.ts";
import { MetaError } from "./errors.ts";
import { requireBucket } from "./objects.ts";
import type { Gate } from "./four_eyes.ts";

/** Lists every bucket by name. */
export function listBuckets(db: Db): MetaResults["listBuckets"] {
  return {
    buckets: db.all<{ name: string; created: number }>(
      "SELECT name, created FROM buckets ORDER BY name",
    ),
  };
}

/** Creates a bucket; `bucketExists` when it already exists. */
export function createBucket(
  db: Db,
  req: { bucket: string; region: string; now: number; objectLock?: boolean },
): MetaResults["createBucket"] {
  const exists = db.get("SELECT 1 AS x FROM buckets WHERE name = ?", req.bucket);
  if (exists) {
    throw new MetaError("bucketExists", `Bucket "${req.bucket}" already exists`, {
      bucket: req.bucket,
    });
  }
  // An Object Lock bucket is versioned from birth, and never stops being either.
  db.run(
    "INSERT INTO buckets(name, created, region, versioning, object_lock) VALUES(?, ?, ?, ?, ?)",
    req.bucket,
    req.now,
    req.region,
    req.objectLock ? "Enabled" : "Unversioned",
    req.objectLock ? 1 : 0,
  );
  return { created: true };
}

/** Reads a bucket; `noSuchBucket` when absent. */
export function headBucket(db: Db, req: { bucket: string }): MetaResults["headBucket"] {
  const row = db.get<MetaResults["headBucket"]>(
    "SELECT name, created, region, versioning FROM buckets WHERE name = ?",
    req.bucket,
  );
  if (!row) {
    throw new MetaError("noSuchBucket", `Bucket "${req.bucket}" does not exist`, {
      bucket: req.bucket,
    });
  }
  return row;
}

/** Deletes an empty bucket; `bucketNotEmpty` while it holds versions or uploads. */
export function deleteBucket(
  db: Db,
  req: { bucket: string },
  gate: Gate,
): MetaResults["deleteBucket"] {
  requireBucket(db, req.bucket);
  const used = db.get("SELECT 1 AS x FROM versions WHERE bucket = ? LIMIT 1", req.bucket) ??
    db.get("SELECT 1 AS x FROM uploads WHERE bucket = ? LIMIT 1", req.bucket);
  if (used) {
    throw new MetaError("bucketNotEmpty", `Bucket "${req.bucket}" is not empty`, {
      bucket: req.bucket,
    });
  }
  gate("DeleteBucket", `/${req.bucket}`);
  db.run("DELETE FROM buckets WHERE name = ?", req.bucket);
  return { deleted: true };
}
