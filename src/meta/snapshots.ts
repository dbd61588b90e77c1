/**
 * Point-in-time snapshots: a read-only bucket holding a versioned bucket
 * exactly as it stood at time T. The snapshot's versions share the source's
 * manifests (no bytes are copied; chunk references are counted), so later
 * deletes and prunes in the source cannot take its data. Its versions keep
 * their locks, and leave only through the retention engine.
 *
 * @module
 */

import type { MetaRequest, MetaResults } from "../channel/mod.ts";
import type { Db } from "./db.ts";
import { MetaError } from "./errors.ts";
import { addChunkRefs, type BucketRow, copyInlineBody, requireBucket } from "./objects.ts";

type Req<T extends MetaRequest["type"]> = Extract<MetaRequest, { type: T }>;

/**
 * Creates snapshot bucket `req.bucket` of `req.source` as of `req.at` (ms since the epoch, on the
 * system clock), read on the trusted clock as `req.at - wallAheadMs`.
 *
 * @param wallAheadMs How far the system clock runs ahead of trusted time now (0 when behind: a
 *   clock set back must not move the snapshot past the time asked for).
 */
export function createSnapshot(
  db: Db,
  req: Req<"createSnapshot">,
  wallAheadMs: number,
): MetaResults["createSnapshot"] {
  const trustedAt = req.at - wallAheadMs;
  const source = requireBucket(db, req.source);
  if (source.versioning === "Unversioned") {
    throw new MetaError(
      "invalidBucketState",
      `Bucket "${req.source}" is not versioned, so it has no past to snapshot`,
    );
  }
  if (db.get("SELECT 1 AS x FROM buckets WHERE name = ?", req.bucket)) {
    throw new MetaError("bucketExists", `Bucket "${req.bucket}" already exists`, {
      bucket: req.bucket,
    });
  }
  db.run(
    `INSERT INTO buckets(name, created, region, versioning, object_lock, snapshot_of, snapshot_at)
     SELECT ?, ?, region, 'Enabled', object_lock, name, ? FROM buckets WHERE name = ?`,
    req.bucket,
    req.now,
    req.at,
    req.source,
  );
  // Each key's newest version committed at or before T (a write that began before T and committed
  // after it was not there at T); keys whose newest is a delete marker are absent. Versions from
  // before index format 14 have only the time their write began.
  const rows = db.all<{ key: Uint8Array; version_id: string }>(
    `SELECT v.key, v.version_id FROM versions v
     JOIN (SELECT key, max(seq) AS seq FROM versions
           WHERE bucket = ? AND coalesce(committed, last_modified) <= ? GROUP BY key) m
       ON v.key = m.key AND v.seq = m.seq
     WHERE v.bucket = ? AND v.delete_marker = 0`,
    req.source,
    trustedAt,
    req.source,
  );
  for (const r of rows) {
    const copied = db.get<
      {
        manifest: Uint8Array;
        inline_id: number | null;
        size: number;
        etag: string;
        last_modified: number;
      }
    >(
      `INSERT INTO versions(bucket, key, version_id, seq, delete_marker, size, etag, last_modified, headers, user_meta,
         checksum, part_sizes, manifest, inline_id, lock_mode, retain_until, legal_hold, committed)
       SELECT ?, key, version_id, seq, 0, size, etag, last_modified, headers, user_meta, checksum, part_sizes, manifest,
         inline_id, lock_mode, retain_until, legal_hold, committed
       FROM versions WHERE bucket = ? AND key = ? AND version_id = ?
       RETURNING manifest, inline_id, size, etag, last_modified`,
      req.bucket,
      req.source,
      r.key,
      r.version_id,
    )!;
    addChunkRefs(db, copied.manifest, 1);
    if (copied.inline_id !== null) {
      db.run(
        "UPDATE versions SET inline_id = ? WHERE bucket = ? AND key = ? AND version_id = ?",
        copyInlineBody(db, copied.inline_id),
        req.bucket,
        r.key,
        r.version_id,
      );
    }
    db.run(
      "INSERT INTO latest(bucket, key, version_id, delete_marker, size, etag, last_modified) VALUES(?, ?, ?, 0, ?, ?, ?)",
      req.bucket,
      r.key,
      r.version_id,
      copied.size,
      copied.etag,
      copied.last_modified,
    );
  }
  return { bucket: req.bucket, source: req.source, at: req.at, trustedAt, objects: rows.length };
}

/** Refuses writes that would change a snapshot (its versions may still be deleted, through the engine). */
export function requireWritable(db: Db, bucket: string): void {
  const row = db.get<{ snapshot_of: string | null }>(
    "SELECT snapshot_of FROM buckets WHERE name = ?",
    bucket,
  );
  if (row) refuseSnapshot(bucket, row);
}

/** The bucket, which must exist and take writes (see {@linkcode requireWritable}): one read of its row. */
export function writableBucket(db: Db, bucket: string): BucketRow {
  const row = requireBucket(db, bucket);
  refuseSnapshot(bucket, row);
  return row;
}

function refuseSnapshot(bucket: string, row: { snapshot_of: string | null }): void {
  if (row.snapshot_of) {
    throw new MetaError(
      "readOnly",
      `Bucket "${bucket}" is a snapshot of "${row.snapshot_of}" and is read-only`,
    );
  }
}
