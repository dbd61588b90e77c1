/**
 * The schema of bucket policies: one migration (appended to `MIGRATIONS` in
 * db.ts). Usage counters are kept by triggers, so every path that adds or
 * drops a version or a part (puts, deletes, snapshots, completes, aborts)
 * keeps them right in its own transaction without knowing of them.
 *
 * @module
 */

/** Bucket policy tables, usage triggers and the backfill of existing usage. */
export const POLICY_MIGRATION = `
  CREATE TABLE bucket_policies(
    bucket TEXT PRIMARY KEY,
    policy TEXT NOT NULL,
    freshness_since INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE bucket_usage(
    bucket TEXT PRIMARY KEY,
    objects INTEGER NOT NULL DEFAULT 0,
    logical_bytes INTEGER NOT NULL DEFAULT 0,
    stored_bytes INTEGER NOT NULL DEFAULT 0,
    upload_bytes INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  CREATE TABLE freshness_marks(
    bucket TEXT NOT NULL,
    rule INTEGER NOT NULL,
    last_backup_at INTEGER,
    last_backup_bytes INTEGER,
    last_object_at INTEGER,
    PRIMARY KEY(bucket, rule)
  ) WITHOUT ROWID;
  CREATE TABLE key_last_version(
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY(bucket, key)
  ) WITHOUT ROWID;
  ALTER TABLE versions ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE parts ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;

  INSERT INTO bucket_usage(bucket, objects, logical_bytes)
    SELECT bucket, sum(1 - delete_marker), sum(size) FROM versions GROUP BY bucket;
  INSERT INTO bucket_usage(bucket, upload_bytes)
    SELECT u.bucket, sum(p.size) FROM parts p JOIN uploads u USING(upload_id) WHERE true GROUP BY u.bucket
    ON CONFLICT(bucket) DO UPDATE SET upload_bytes = excluded.upload_bytes;

  CREATE TRIGGER usage_version_added AFTER INSERT ON versions BEGIN
    INSERT INTO bucket_usage(bucket, objects, logical_bytes, stored_bytes)
      VALUES(NEW.bucket, 1 - NEW.delete_marker, NEW.size, NEW.stored_bytes)
      ON CONFLICT(bucket) DO UPDATE SET objects = objects + excluded.objects,
        logical_bytes = logical_bytes + excluded.logical_bytes,
        stored_bytes = stored_bytes + excluded.stored_bytes;
  END;
  CREATE TRIGGER usage_version_removed AFTER DELETE ON versions BEGIN
    UPDATE bucket_usage SET objects = objects - (1 - OLD.delete_marker),
      logical_bytes = logical_bytes - OLD.size, stored_bytes = stored_bytes - OLD.stored_bytes
      WHERE bucket = OLD.bucket;
  END;
  CREATE TRIGGER usage_version_stored AFTER UPDATE OF stored_bytes ON versions BEGIN
    UPDATE bucket_usage SET stored_bytes = stored_bytes + NEW.stored_bytes - OLD.stored_bytes
      WHERE bucket = NEW.bucket;
  END;
  CREATE TRIGGER usage_part_added AFTER INSERT ON parts BEGIN
    INSERT INTO bucket_usage(bucket, upload_bytes)
      SELECT bucket, NEW.size FROM uploads WHERE upload_id = NEW.upload_id
      ON CONFLICT(bucket) DO UPDATE SET upload_bytes = upload_bytes + excluded.upload_bytes;
  END;
  CREATE TRIGGER usage_part_removed AFTER DELETE ON parts BEGIN
    UPDATE bucket_usage SET upload_bytes = upload_bytes - OLD.size
      WHERE bucket = (SELECT bucket FROM uploads WHERE upload_id = OLD.upload_id);
  END;
  CREATE TRIGGER policy_bucket_dropped AFTER DELETE ON buckets BEGIN
    DELETE FROM bucket_usage WHERE bucket = OLD.name;
    DELETE FROM bucket_policies WHERE bucket = OLD.name;
    DELETE FROM freshness_marks WHERE bucket = OLD.name;
    DELETE FROM key_last_version WHERE bucket = OLD.name;
  END;
`;
