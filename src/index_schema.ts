/**
 * The schema of the SQLite index, as migrations: index format N is the first
 * N of them applied. Shared by the index, which migrates itself when it opens,
 * and by `rebuild-index`, which must migrate a checkpoint of an older format
 * before it applies journal records written in the newer one (SQLite skips,
 * without a word, every change to a table that lacks the change's columns).
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/** Bucket policy tables, usage triggers and the backfill of existing usage. */
const POLICY_MIGRATION = `
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

/** Every migration, oldest first. */
const MIGRATIONS: string[] = [
  `CREATE TABLE buckets(
     name TEXT PRIMARY KEY,
     created INTEGER NOT NULL,
     region TEXT NOT NULL,
     versioning TEXT NOT NULL DEFAULT 'Unversioned'
   ) WITHOUT ROWID;
   CREATE TABLE versions(
     bucket TEXT NOT NULL,
     key BLOB NOT NULL,
     version_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     delete_marker INTEGER NOT NULL DEFAULT 0,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL,
     headers TEXT NOT NULL,
     user_meta TEXT NOT NULL,
     checksum TEXT,
     part_sizes TEXT,
     manifest BLOB NOT NULL,
     PRIMARY KEY(bucket, key, version_id)
   ) WITHOUT ROWID;
   CREATE TABLE latest(
     bucket TEXT NOT NULL,
     key BLOB NOT NULL,
     version_id TEXT NOT NULL,
     delete_marker INTEGER NOT NULL,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL,
     PRIMARY KEY(bucket, key)
   ) WITHOUT ROWID;
   CREATE TABLE chunks(id BLOB PRIMARY KEY, refs INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE uploads(
     upload_id TEXT PRIMARY KEY,
     bucket TEXT NOT NULL,
     key BLOB NOT NULL,
     initiated INTEGER NOT NULL,
     headers TEXT NOT NULL,
     user_meta TEXT NOT NULL,
     checksum_algorithm TEXT
   );
   CREATE INDEX uploads_by_key ON uploads(bucket, key, upload_id);
   CREATE TABLE parts(
     upload_id TEXT NOT NULL,
     part_number INTEGER NOT NULL,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL,
     checksum TEXT,
     manifest BLOB NOT NULL,
     PRIMARY KEY(upload_id, part_number)
   ) WITHOUT ROWID;
   CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;`,
  // Object Lock: bucket configuration, per-version retention and legal hold, upload lock settings,
  // and the trusted clock's high-water mark.
  `ALTER TABLE buckets ADD COLUMN object_lock INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE buckets ADD COLUMN default_retention TEXT;
   ALTER TABLE versions ADD COLUMN lock_mode TEXT;
   ALTER TABLE versions ADD COLUMN retain_until INTEGER;
   ALTER TABLE versions ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE uploads ADD COLUMN lock TEXT;
   CREATE TABLE clock(id INTEGER PRIMARY KEY CHECK (id = 1), trusted INTEGER NOT NULL);`,
  // The hash-chained audit log (audit.ts).
  `CREATE TABLE audit(
     seq INTEGER PRIMARY KEY,
     time INTEGER NOT NULL,
     op TEXT NOT NULL,
     target TEXT NOT NULL,
     outcome TEXT NOT NULL,
     detail TEXT NOT NULL,
     prev BLOB NOT NULL,
     hash BLOB NOT NULL
   );`,
  // Point-in-time snapshot buckets (snapshots.ts).
  `ALTER TABLE buckets ADD COLUMN snapshot_of TEXT;
   ALTER TABLE buckets ADD COLUMN snapshot_at INTEGER;`,
  // Ed25519 seals on the audit chain (audit_seal.ts) and four-eyes approvals (approvals.ts):
  // staged ones wait to be consumed; used synchronous ones are kept until expiry against replay.
  `CREATE TABLE audit_seals(
     seq INTEGER PRIMARY KEY,
     hash BLOB NOT NULL,
     time INTEGER NOT NULL,
     public_key BLOB NOT NULL,
     signature BLOB NOT NULL
   );
   CREATE TABLE approvals(
     approver TEXT NOT NULL,
     nonce TEXT NOT NULL,
     action TEXT NOT NULL,
     resource TEXT NOT NULL,
     expires INTEGER NOT NULL,
     consumed INTEGER NOT NULL,
     PRIMARY KEY(approver, nonce)
   ) WITHOUT ROWID;
   CREATE INDEX approvals_by_resource ON approvals(action, resource);`,
  // Managed access keys (access_keys.ts): grants in the clear, secrets sealed by the store.
  `CREATE TABLE access_keys(
     access_key TEXT PRIMARY KEY,
     sealed_secret TEXT NOT NULL,
     level TEXT NOT NULL,
     buckets TEXT NOT NULL,
     bypass_governance INTEGER NOT NULL,
     allow_from TEXT NOT NULL,
     created INTEGER NOT NULL,
     updated INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // Bucket policies (quotas, upload windows, freshness), usage kept by triggers, freshness marks and
  // each key's last new version (policy_store.ts).
  POLICY_MIGRATION,
  // Small named state of background parts (the router's learned ransomware-signal profiles).
  `CREATE TABLE settings(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`,
  // Per-key upload windows and the upload-anytime right (access_keys.ts).
  `ALTER TABLE access_keys ADD COLUMN upload_anytime INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE access_keys ADD COLUMN upload_windows TEXT NOT NULL DEFAULT '[]';`,
  // Tiny object bodies kept in the index, sealed (src/inline_body.ts). A table of their own: a 4 KiB body in
  // the versions row costs SQLite about twice as much to write (that table is WITHOUT ROWID).
  `CREATE TABLE inline_bodies(id INTEGER PRIMARY KEY, sealed BLOB NOT NULL);
   ALTER TABLE versions ADD COLUMN inline_id INTEGER;`,
  // The trusted clock's restart credit left (src/retention/clock.ts); null: the full allowance.
  `ALTER TABLE clock ADD COLUMN credit_ms REAL;`,
  // Completed multipart uploads, kept a day so a retried Complete gets its answer again (multipart.ts).
  `CREATE TABLE completed_uploads(
     upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key BLOB NOT NULL, parts TEXT NOT NULL,
     version_id TEXT NOT NULL, etag TEXT NOT NULL, completed INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX completed_uploads_by_time ON completed_uploads(completed);`,
  // The tiny-object bytes, kept by triggers: /metrics reads them without a scan.
  `INSERT INTO counters(name, value)
     SELECT 'inline_bytes', coalesce(sum(length(sealed)), 0) FROM inline_bodies WHERE true
     ON CONFLICT(name) DO UPDATE SET value = excluded.value;
   CREATE TRIGGER inline_body_added AFTER INSERT ON inline_bodies BEGIN
     UPDATE counters SET value = value + length(NEW.sealed) WHERE name = 'inline_bytes';
   END;
   CREATE TRIGGER inline_body_removed AFTER DELETE ON inline_bodies BEGIN
     UPDATE counters SET value = value - length(OLD.sealed) WHERE name = 'inline_bytes';
   END;`,
  // How a multipart object's checksum is made from its parts' (FULL_OBJECT or COMPOSITE); when a
  // version was committed, on the trusted clock (a snapshot at T holds what was committed by T).
  `ALTER TABLE uploads ADD COLUMN checksum_type TEXT;
   ALTER TABLE versions ADD COLUMN committed INTEGER;`,
];

/** The index format this build writes. */
export const INDEX_FORMAT: number = MIGRATIONS.length;

/**
 * Brings an index up to {@linkcode INDEX_FORMAT}, one transaction per migration.
 *
 * @param db The open index (no transaction open).
 * @param path Its file, for the message.
 * @param format The format to reach (tests make older ones).
 * @throws {Error} When the index is of a newer format than this build knows: it must not write.
 */
export function migrateIndex(db: DatabaseSync, path: string, format = INDEX_FORMAT): void {
  const version = Number(
    (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
  );
  if (version > MIGRATIONS.length) {
    throw new Error(
      `The index "${path}" was written by a newer Amber (index format ${version}); this build reads up to format ${MIGRATIONS.length}`,
    );
  }
  for (let v = version; v < format; v++) {
    db.exec("BEGIN");
    db.exec(MIGRATIONS[v]);
    db.exec(`PRAGMA user_version=${v + 1}`);
    db.exec("COMMIT");
  }
}
