/**
 * Object versions, manifests and chunk reference counts in the index.
 *
 * A version row holds its manifest, or points at a tiny object's body in
 * `inline_bodies` (sealed by the service, see src/inline_body.ts: these functions
 * store and return it sealed); `latest` points at each key's current version
 * and backs listings. Chunk reference counts change in the same transaction as
 * the versions that hold them.
 *
 * @module
 */

import type {
  ListedObject,
  ListResult,
  MetaRequest,
  MetaResults,
  ObjectLock,
  VersionRecord,
  VersionRef,
} from "../channel/mod.ts";
import { enforce, type LockColumns, lockForNewVersion } from "./lock.ts";
import { requireWritable, writableBucket } from "./snapshots.ts";
import { MANIFEST_ENTRY_BYTES } from "../channel/mod.ts";
import type { Db } from "./db.ts";
import { MetaError } from "./errors.ts";
import { auditTarget } from "./audit.ts";
import type { Gate } from "./four_eyes.ts";

const utf8 = new TextEncoder();

/** A bucket's versioning state; it never returns to `Unversioned`. */
export type VersioningState = "Unversioned" | "Enabled" | "Suspended";

/** What writes need to know of a bucket. */
export interface BucketRow {
  versioning: VersioningState;
  object_lock: number;
  default_retention: string | null;
  /** The bucket this one is a read-only snapshot of, if it is one. */
  snapshot_of: string | null;
}

/** A version as written: the index assigns its id. */
export type NewVersion = Omit<VersionRecord, "versionId">;

/** First byte of version ids that carry their sequence. */
const VERSION_ID_FORMAT = 1;

/**
 * A new opaque version id, URL-safe (24 characters): a format byte, the
 * version's sequence (8 bytes: a listing can resume after a marker version
 * deleted since, as S3 does) and 72 random bits. It always starts with "A", never
 * with "-", which aws-cli takes `--version-id -x…` for an option. Ids made
 * before this (22 characters, all random) stay valid.
 *
 * @param seq The version's sequence (its `seq` column).
 */
export function newVersionId(seq: number): string {
  const id = new Uint8Array(18);
  id[0] = VERSION_ID_FORMAT;
  new DataView(id.buffer).setBigUint64(1, BigInt(seq));
  crypto.getRandomValues(id.subarray(9));
  return Buffer.from(id).toString("base64url");
}

/** The sequence a version id from {@linkcode newVersionId} carries; undefined for any other id. */
export function seqOfVersionId(versionId: string): number | undefined {
  if (!/^[A-Za-z0-9_-]{24}$/.test(versionId)) return undefined;
  const id = Buffer.from(versionId, "base64url");
  if (id[0] !== VERSION_ID_FORMAT) return undefined;
  return Number(new DataView(id.buffer, id.byteOffset, id.byteLength).getBigUint64(1));
}
const fromUtf8 = new TextDecoder();

/** UTF-8 bytes of a key: keys are stored and ordered as bytes, as S3 orders them. */
export function keyBytes(key: string): Uint8Array {
  return utf8.encode(key);
}

/** Throws `noSuchBucket` unless the bucket exists. */
export function requireBucket(db: Db, bucket: string): BucketRow {
  const row = db.get<BucketRow>(
    "SELECT versioning, object_lock, default_retention, snapshot_of FROM buckets WHERE name = ?",
    bucket,
  );
  if (!row) throw new MetaError("noSuchBucket", `Bucket "${bucket}" does not exist`, { bucket });
  return row;
}

/**
 * Adds `delta` to the reference count of every chunk in a manifest.
 *
 * @param db The index.
 * @param manifest Packed manifest.
 * @param delta +1 when a version or part starts holding the chunks, -1 when it lets go.
 */
export function addChunkRefs(db: Db, manifest: Uint8Array, delta: 1 | -1): void {
  for (let off = 0; off < manifest.length; off += MANIFEST_ENTRY_BYTES) {
    const id = manifest.subarray(off, off + 32);
    if (delta > 0) {
      db.run(
        "INSERT INTO chunks(id, refs) VALUES(?, 1) ON CONFLICT(id) DO UPDATE SET refs = refs + 1",
        id,
      );
    } else {
      // A chunk nothing holds has no row: garbage collection asks for rows.
      const row = db.get<{ refs: number }>(
        "UPDATE chunks SET refs = refs - 1 WHERE id = ? RETURNING refs",
        id,
      );
      if (row && row.refs <= 0) db.run("DELETE FROM chunks WHERE id = ?", id);
    }
  }
}

interface VersionRow extends LockColumns {
  version_id: string;
  delete_marker: number;
  size: number;
  etag: string;
  last_modified: number;
  headers: string;
  user_meta: string;
  checksum: string | null;
  part_sizes: string | null;
  manifest: Uint8Array;
  /** The sealed inline body, joined from `inline_bodies`. */
  inline: Uint8Array | null;
}

function toRecord(row: VersionRow): VersionRecord {
  return {
    versionId: row.version_id,
    size: row.size,
    etag: row.etag,
    lastModified: row.last_modified,
    headers: JSON.parse(row.headers),
    userMeta: JSON.parse(row.user_meta),
    checksum: row.checksum ? JSON.parse(row.checksum) : undefined,
    partSizes: row.part_sizes ? JSON.parse(row.part_sizes) : undefined,
    manifest: row.manifest,
    inline: row.inline ?? undefined,
    deleteMarker: row.delete_marker === 1 ? true : undefined,
    lock: row.lock_mode || row.legal_hold
      ? {
        mode: row.lock_mode ?? undefined,
        retainUntil: row.retain_until ?? undefined,
        legalHold: row.legal_hold === 1,
      }
      : undefined,
  };
}

function nextSeq(db: Db): number {
  const row = db.get<{ value: number }>(
    "INSERT INTO counters(name, value) VALUES('seq', 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
  );
  return row!.value;
}

function latestOf(db: Db, bucket: string, key: Uint8Array) {
  return db.get<{ version_id: string; delete_marker: number; etag: string }>(
    "SELECT version_id, delete_marker, etag FROM latest WHERE bucket = ? AND key = ?",
    bucket,
    key,
  );
}

function dropVersion(db: Db, bucket: string, key: Uint8Array, versionId: string): boolean {
  const row = db.get<{ manifest: Uint8Array; inline_id: number | null }>(
    "DELETE FROM versions WHERE bucket = ? AND key = ? AND version_id = ? RETURNING manifest, inline_id",
    bucket,
    key,
    versionId,
  );
  if (!row) return false;
  addChunkRefs(db, row.manifest, -1);
  if (row.inline_id !== null) db.run("DELETE FROM inline_bodies WHERE id = ?", row.inline_id);
  return true;
}

/** Stores a sealed inline body for a version row to point at. */
function addInlineBody(db: Db, sealed: Uint8Array): number {
  return db.get<{ id: number }>("INSERT INTO inline_bodies(sealed) VALUES(?) RETURNING id", sealed)!
    .id;
}

/** A copy of an inline body, for a version row copied from another: each row owns its body. */
export function copyInlineBody(db: Db, id: number): number {
  return db.get<{ id: number }>(
    "INSERT INTO inline_bodies(sealed) SELECT sealed FROM inline_bodies WHERE id = ? RETURNING id",
    id,
  )!.id;
}

/**
 * Which of the packed 32-byte chunk ids some version or part still holds.
 *
 * @returns One byte per id: 1 when referenced.
 */
export function chunkRefs(db: Db, ids: Uint8Array): Uint8Array {
  const out = new Uint8Array(ids.length / 32);
  for (let i = 0; i < out.length; i++) {
    out[i] = db.get(
        "SELECT 1 AS x FROM chunks WHERE id = ? AND refs > 0",
        ids.subarray(i * 32, i * 32 + 32),
      )
      ? 1
      : 0;
  }
  return out;
}

/**
 * Throws unless a version still exists with exactly this manifest. A copy
 * reuses its source's chunks without writing them, so it must commit in the
 * same transaction that finds the source still holding them; otherwise a
 * concurrent delete and garbage collection could free them first.
 */
export function requireSource(
  db: Db,
  src: { bucket: string; key: string; versionId: string },
  manifest: Uint8Array,
): void {
  const row = db.get<{ manifest: Uint8Array }>(
    "SELECT manifest FROM versions WHERE bucket = ? AND key = ? AND version_id = ?",
    src.bucket,
    keyBytes(src.key),
    src.versionId,
  );
  if (!row || Buffer.compare(row.manifest, manifest) !== 0) {
    throw new MetaError(
      "sourceChanged",
      `The copy source "${src.key}" changed while it was being copied`,
    );
  }
}

/** Whether a key's `null` version holds data (not a delete marker), so replacing it would lose that data. */
function replacesData(db: Db, bucket: string, key: Uint8Array): boolean {
  return db.get(
    "SELECT 1 AS x FROM versions WHERE bucket = ? AND key = ? AND version_id = 'null' AND delete_marker = 0",
    bucket,
    key,
  ) !== undefined;
}

/**
 * Stores a new version and makes it the key's latest, inside the caller's
 * transaction. With versioning enabled it gets a new version id; otherwise it
 * replaces the key's `null` version.
 *
 * @param db The index.
 * @param req Bucket, key, the version and the PUT's preconditions.
 * @returns The version id.
 */
export function putVersion(
  db: Db,
  req: {
    bucket: string;
    key: string;
    version: NewVersion;
    lock?: ObjectLock;
    integrityChecked?: boolean;
    ifMatch?: string;
    ifNoneMatch?: boolean;
    copiedFrom?: VersionRef;
    appendOnly?: boolean;
    /** The caller hands over references it already holds on every chunk of the manifest. */
    refsHeld?: boolean;
    /** Sealed bytes the write added to disk, counted in the bucket's stored usage. */
    storedBytes?: number;
  },
  trustedNow: number,
): MetaResults["putVersion"] {
  const bucket = writableBucket(db, req.bucket);
  const { versioning } = bucket;
  if (req.copiedFrom) requireSource(db, req.copiedFrom, req.version.manifest);
  const lock = req.version.deleteMarker
    ? undefined
    : lockForNewVersion(bucket, req, Math.max(trustedNow, req.version.lastModified));
  const key = keyBytes(req.key);
  const current = latestOf(db, req.bucket, key);
  const live = current && current.delete_marker === 0 ? current : undefined;
  if (req.ifNoneMatch && live) {
    throw new MetaError("preconditionFailed", `Object "${req.key}" already exists`);
  }
  if (req.ifMatch !== undefined) requireMatch(live, req.ifMatch, req.key);
  // Versioning enabled: every write is a new version. Otherwise it replaces the `null` version.
  const seq = nextSeq(db);
  const v: VersionRecord = {
    ...req.version,
    versionId: versioning === "Enabled" ? newVersionId(seq) : "null",
  };
  if (v.versionId === "null") {
    // Replacing the null version deletes it, which its own lock may forbid.
    const old = db.get<LockColumns>(
      "SELECT lock_mode, retain_until, legal_hold FROM versions WHERE bucket = ? AND key = ? AND version_id = 'null'",
      req.bucket,
      key,
    );
    if (old) enforce(old, { kind: "deleteVersion", bypassGovernance: false }, trustedNow);
    if (req.appendOnly && replacesData(db, req.bucket, key)) {
      throw new MetaError(
        "appendOnly",
        `An append-level key cannot replace object "${req.key}": bucket "${req.bucket}" keeps no other versions`,
      );
    }
    dropVersion(db, req.bucket, key, "null");
  }
  db.run(
    `INSERT INTO versions(bucket, key, version_id, seq, delete_marker, size, etag, last_modified, headers,
       user_meta, checksum, part_sizes, manifest, inline_id, lock_mode, retain_until, legal_hold, committed,
       stored_bytes)
     VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    req.bucket,
    key,
    v.versionId,
    seq,
    v.deleteMarker ? 1 : 0,
    v.size,
    v.etag,
    v.lastModified,
    JSON.stringify(v.headers),
    JSON.stringify(v.userMeta),
    v.checksum ? JSON.stringify(v.checksum) : null,
    v.partSizes ? JSON.stringify(v.partSizes) : null,
    v.manifest,
    v.inline ? addInlineBody(db, v.inline) : null,
    lock?.mode ?? null,
    lock?.retainUntil ?? null,
    lock?.legalHold ? 1 : 0,
    trustedNow,
    req.storedBytes ?? 0,
  );
  if (!req.refsHeld) addChunkRefs(db, v.manifest, 1);
  db.run(
    `INSERT INTO latest(bucket, key, version_id, delete_marker, size, etag, last_modified) VALUES(?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(bucket, key) DO UPDATE SET version_id = excluded.version_id, delete_marker = excluded.delete_marker,
       size = excluded.size, etag = excluded.etag, last_modified = excluded.last_modified`,
    req.bucket,
    key,
    v.versionId,
    v.deleteMarker ? 1 : 0,
    v.size,
    v.etag,
    v.lastModified,
  );
  return { versionId: v.versionId, lock };
}

/**
 * Reads one version with its manifest: the latest when no version id is given.
 *
 * @throws {MetaError} `noSuchBucket`, `noSuchKey`, `noSuchVersion`, or `deleteMarker` when the latest is a delete marker.
 */
export function getVersion(
  db: Db,
  req: { bucket: string; key: string; versionId?: string },
): MetaResults["getVersion"] {
  const bucket = requireBucket(db, req.bucket);
  const key = keyBytes(req.key);
  let versionId = req.versionId;
  if (versionId === undefined) {
    const current = latestOf(db, req.bucket, key);
    if (!current) {
      throw new MetaError("noSuchKey", `Object "${req.key}" does not exist`, { key: req.key });
    }
    if (current.delete_marker === 1) {
      throw new MetaError("deleteMarker", `Object "${req.key}" is deleted`, {
        key: req.key,
        versionId: current.version_id,
      });
    }
    versionId = current.version_id;
  }
  const row = db.get<VersionRow>(
    `SELECT v.*, b.sealed AS inline FROM versions v LEFT JOIN inline_bodies b ON b.id = v.inline_id
     WHERE v.bucket = ? AND v.key = ? AND v.version_id = ?`,
    req.bucket,
    key,
    versionId,
  );
  if (!row) {
    throw req.versionId === undefined
      ? new MetaError("noSuchKey", `Object "${req.key}" does not exist`, { key: req.key })
      : new MetaError("noSuchVersion", `Version "${versionId}" of "${req.key}" does not exist`, {
        key: req.key,
      });
  }
  return { ...toRecord(row), bucketVersioned: bucket.versioning !== "Unversioned" };
}

/** Points `latest` at the key's newest remaining version, or removes it when none is left. */
function refreshLatest(db: Db, bucket: string, key: Uint8Array): void {
  const next = db.get<
    { version_id: string; delete_marker: number; size: number; etag: string; last_modified: number }
  >(
    `SELECT version_id, delete_marker, size, etag, last_modified FROM versions WHERE bucket = ? AND key = ?
     ORDER BY seq DESC LIMIT 1`,
    bucket,
    key,
  );
  if (!next) {
    db.run("DELETE FROM latest WHERE bucket = ? AND key = ?", bucket, key);
    return;
  }
  db.run(
    `INSERT INTO latest(bucket, key, version_id, delete_marker, size, etag, last_modified) VALUES(?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(bucket, key) DO UPDATE SET version_id = excluded.version_id, delete_marker = excluded.delete_marker,
       size = excluded.size, etag = excluded.etag, last_modified = excluded.last_modified`,
    bucket,
    key,
    next.version_id,
    next.delete_marker,
    next.size,
    next.etag,
    next.last_modified,
  );
}

/**
 * `If-Match` against a key's current version (`live`: none, or a delete
 * marker, is undefined): `noSuchKey` without one, `preconditionFailed` when
 * its ETag differs (`*` matches any).
 */
function requireMatch(live: { etag: string } | undefined, ifMatch: string, key: string): void {
  if (!live) throw new MetaError("noSuchKey", `Object "${key}" does not exist`, { key });
  if (ifMatch !== "*" && ifMatch !== live.etag) {
    throw new MetaError("preconditionFailed", `Object "${key}" has a different ETag`);
  }
}

/**
 * Deletes as S3 does: with a version id, that version goes for good (deleting
 * a missing one succeeds); without one, an unversioned bucket drops the
 * object and a versioned one adds a delete marker (`null` while suspended).
 */
export function deleteObject(
  db: Db,
  // The request's fields but its approvals (the gate holds those); DeleteObjects passes one object's.
  req: Omit<Extract<MetaRequest, { type: "deleteObject" }>, "type" | "approvals">,
  trustedNow: number,
  gate: Gate,
): MetaResults["deleteObject"] {
  const { versioning } = requireBucket(db, req.bucket);
  const key = keyBytes(req.key);
  if (req.ifMatch !== undefined) {
    // As on S3, the condition is on the key's current version, whichever version is named.
    const current = latestOf(db, req.bucket, key);
    requireMatch(current?.delete_marker === 0 ? current : undefined, req.ifMatch, req.key);
  }
  if (req.versionId === undefined && versioning !== "Unversioned") {
    if (versioning === "Suspended") {
      // The marker takes the `null` version's place: where that holds data, this removes a
      // version, and four-eyes covers it as a delete by version id.
      const held = db.get<{ delete_marker: number }>(
        "SELECT delete_marker FROM versions WHERE bucket = ? AND key = ? AND version_id = 'null'",
        req.bucket,
        key,
      );
      if (held && held.delete_marker === 0) {
        gate("DeleteObject", auditTarget({ ...req, versionId: "null" }));
      }
    }
    const marker = putVersion(db, {
      bucket: req.bucket,
      key: req.key,
      version: {
        size: 0,
        etag: "",
        lastModified: req.now,
        headers: {},
        userMeta: {},
        manifest: new Uint8Array(0),
        deleteMarker: true,
      },
    }, trustedNow);
    return { deleted: true, versionId: marker.versionId, deleteMarker: true };
  }
  const versionId = req.versionId ?? "null";
  const row = db.get<LockColumns & { delete_marker: number }>(
    "SELECT delete_marker, lock_mode, retain_until, legal_hold FROM versions WHERE bucket = ? AND key = ? AND version_id = ?",
    req.bucket,
    key,
    versionId,
  );
  // The retention engine decides; only it can let a locked version go.
  if (row) {
    // A snapshot is read-only to everyone: it is the way back after a prune.
    requireWritable(db, req.bucket);
    enforce(row, { kind: "deleteVersion", bypassGovernance: req.bypassGovernance }, trustedNow);
    gate("DeleteObject", auditTarget({ ...req, versionId }));
  }
  const deleted = dropVersion(db, req.bucket, key, versionId);
  if (latestOf(db, req.bucket, key)?.version_id === versionId) refreshLatest(db, req.bucket, key);
  return {
    deleted,
    versionId: req.versionId,
    deleteMarker: row?.delete_marker === 1 ? true : undefined,
  };
}

/** The smallest byte string greater than every string starting with `prefix`; undefined when none. */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

/**
 * Where a listing resumes after `marker` (start-after, marker, key-marker or a
 * continuation): at the prefix when the marker sorts before it (in byte
 * order, as keys do); past a whole common prefix when the marker lies inside
 * one (the page before ended on it, and a marker inside a rolled-up prefix
 * means that prefix was returned); else just after the marker.
 *
 * @returns The key to resume at, and whether that key itself (and, for versions, all of its
 *   versions) is still to come.
 */
export function listingStart(
  prefix: string,
  delimiter: string,
  marker: string,
): { after: Uint8Array; inclusive: boolean } {
  const prefixBytes = keyBytes(prefix);
  const markerBytes = keyBytes(marker);
  if (prefix && Buffer.compare(markerBytes, prefixBytes) < 0) {
    return { after: prefixBytes, inclusive: true };
  }
  if (delimiter && marker.startsWith(prefix)) {
    const at = marker.indexOf(delimiter, prefix.length);
    const skip = at >= 0 ? prefixEnd(keyBytes(marker.slice(0, at + delimiter.length))) : undefined;
    if (skip) return { after: skip, inclusive: true };
  }
  return { after: markerBytes, inclusive: false };
}

/**
 * Walks keys in byte order from `startAfter`, folding keys that contain the
 * delimiter after the prefix into common prefixes and skipping past each
 * prefix with one index seek, so a page costs O(page) whatever the key count.
 *
 * @param fetch Returns up to `limit` keys (with payload) greater than `after` and below `end`, in order.
 */
export function walkListing<T extends { key: string }>(
  opts: { prefix: string; delimiter: string; startAfter: string; maxKeys: number },
  fetch: (after: Uint8Array, inclusive: boolean, end: Uint8Array | undefined, limit: number) => T[],
): ListResult<T> {
  const items: T[] = [];
  const commonPrefixes: string[] = [];
  const end = opts.prefix ? prefixEnd(keyBytes(opts.prefix)) : undefined;
  let { after, inclusive } = listingStart(opts.prefix, opts.delimiter, opts.startAfter);
  const count = () => items.length + commonPrefixes.length;
  let lastReturned: string | undefined;
  if (opts.maxKeys <= 0) return { items, commonPrefixes, isTruncated: false };
  while (true) {
    const batchSize = Math.min(1000, opts.maxKeys - count() + 1);
    const rows = fetch(after, inclusive, end, batchSize);
    if (rows.length === 0) {
      return { items, commonPrefixes, isTruncated: false, nextMarker: lastReturned };
    }
    for (const row of rows) {
      let prefix: string | undefined;
      if (opts.delimiter) {
        const at = row.key.indexOf(opts.delimiter, opts.prefix.length);
        if (at >= 0) prefix = row.key.slice(0, at + opts.delimiter.length);
      }
      if (count() === opts.maxKeys) {
        return { items, commonPrefixes, isTruncated: true, nextMarker: lastReturned };
      }
      if (prefix !== undefined) {
        commonPrefixes.push(prefix);
        lastReturned = prefix;
        const skip = prefixEnd(keyBytes(prefix));
        if (!skip) return { items, commonPrefixes, isTruncated: false, nextMarker: lastReturned };
        after = skip;
        inclusive = true;
        break;
      }
      items.push(row);
      lastReturned = row.key;
      after = keyBytes(row.key);
      inclusive = false;
    }
  }
}

/** ListObjects over the `latest` table, hiding delete markers. */
export function listObjects(
  db: Db,
  req: { bucket: string; prefix: string; delimiter: string; startAfter: string; maxKeys: number },
): ListResult<ListedObject> {
  requireBucket(db, req.bucket);
  return walkListing(req, (after, inclusive, end, limit) => {
    const rows = db.all<{ key: Uint8Array; size: number; etag: string; last_modified: number }>(
      `SELECT key, size, etag, last_modified FROM latest
       WHERE bucket = ? AND ${inclusive ? "key >= ?" : "key > ?"} AND key < ? AND delete_marker = 0
       ORDER BY key LIMIT ?`,
      req.bucket,
      after,
      end ?? new Uint8Array([0xff, 0xff, 0xff, 0xff]),
      limit,
    );
    return rows.map((r) => ({
      key: fromUtf8.decode(r.key),
      size: r.size,
      etag: r.etag,
      lastModified: r.last_modified,
    }));
  });
}
