/**
 * Bucket versioning state and ListObjectVersions.
 *
 * @module
 */

import type { ListedVersion, MetaRequest, MetaResults } from "../channel/mod.ts";
import type { Db } from "./db.ts";
import { checkVersioningChange } from "./lock.ts";
import { requireWritable } from "./snapshots.ts";
import { keyBytes, listingStart, prefixEnd, requireBucket, seqOfVersionId } from "./objects.ts";

type Req<T extends MetaRequest["type"]> = Extract<MetaRequest, { type: T }>;

const fromUtf8 = new TextDecoder();

/** Sets a bucket's versioning to Enabled or Suspended (never back to unversioned). */
export function putBucketVersioning(
  db: Db,
  req: Req<"putBucketVersioning">,
): MetaResults["putBucketVersioning"] {
  requireBucket(db, req.bucket);
  checkVersioningChange(db, req.bucket, req.status);
  requireWritable(db, req.bucket);
  db.run("UPDATE buckets SET versioning = ? WHERE name = ?", req.status, req.bucket);
  return { status: req.status };
}

interface VersionRow {
  key: Uint8Array;
  version_id: string;
  seq: number;
  delete_marker: number;
  size: number;
  etag: string;
  last_modified: number;
  latest: string | null;
}

/**
 * Lists versions and delete markers by key, newest first within a key, with
 * prefix, delimiter and key / version-id markers as S3 does. Common prefixes
 * are skipped with one index seek each.
 */
export function listVersions(db: Db, req: Req<"listVersions">): MetaResults["listVersions"] {
  requireBucket(db, req.bucket);
  const items: ListedVersion[] = [];
  const commonPrefixes: string[] = [];
  const end = req.prefix ? prefixEnd(keyBytes(req.prefix)) : undefined;
  const top = end ?? new Uint8Array([0xff, 0xff, 0xff, 0xff]);
  // The position after which listing resumes: (key, seq) with versions of a key in descending seq.
  const start = listingStart(req.prefix, req.delimiter, req.keyMarker);
  let afterKey = start.after;
  let inclusiveKey = start.inclusive;
  let afterSeq = inclusiveKey ? Number.MAX_SAFE_INTEGER : -1; // -1: past every version of afterKey
  if (!inclusiveKey && req.keyMarker && req.versionIdMarker) {
    const m = db.get<{ seq: number }>(
      "SELECT seq FROM versions WHERE bucket = ? AND key = ? AND version_id = ?",
      req.bucket,
      afterKey,
      req.versionIdMarker,
    );
    // A marker version deleted since (a client emptying the bucket page by page): its id says where
    // it stood, and the listing goes on with the versions older than it. A `null` id (or an id of
    // the format before) says nothing: the key's remaining versions are listed again from its
    // newest, since a repeat is harmless to such a loop and a skip leaves versions behind.
    afterSeq = m?.seq ?? seqOfVersionId(req.versionIdMarker) ?? Number.MAX_SAFE_INTEGER;
  }
  if (req.maxKeys <= 0) return { items, commonPrefixes, isTruncated: false };
  const count = () => items.length + commonPrefixes.length;
  let last: { key: string; versionId?: string } | undefined;
  const truncated = () => ({
    items,
    commonPrefixes,
    isTruncated: true,
    nextMarker: last?.key,
    nextVersionIdMarker: last?.versionId,
  });
  while (true) {
    const rows = db.all<VersionRow>(
      `SELECT v.key, v.version_id, v.seq, v.delete_marker, v.size, v.etag, v.last_modified, l.version_id AS latest
       FROM versions v LEFT JOIN latest l ON l.bucket = v.bucket AND l.key = v.key
       WHERE v.bucket = ? AND v.key < ? AND (${
        inclusiveKey ? "v.key >= ?" : "v.key > ?"
      } OR (v.key = ? AND v.seq < ?))
       ORDER BY v.key, v.seq DESC LIMIT ?`,
      req.bucket,
      top,
      afterKey,
      afterKey,
      afterSeq,
      Math.min(1000, req.maxKeys - count() + 1),
    );
    if (rows.length === 0) return { items, commonPrefixes, isTruncated: false };
    for (const row of rows) {
      const key = fromUtf8.decode(row.key);
      let prefix: string | undefined;
      if (req.delimiter) {
        const at = key.indexOf(req.delimiter, req.prefix.length);
        if (at >= 0) prefix = key.slice(0, at + req.delimiter.length);
      }
      if (count() === req.maxKeys) return truncated();
      if (prefix !== undefined) {
        commonPrefixes.push(prefix);
        last = { key: prefix };
        const skip = prefixEnd(keyBytes(prefix));
        if (!skip) return { items, commonPrefixes, isTruncated: false };
        afterKey = skip;
        inclusiveKey = true;
        afterSeq = Number.MAX_SAFE_INTEGER;
        break;
      }
      items.push({
        key,
        versionId: row.version_id,
        isLatest: row.latest === row.version_id,
        deleteMarker: row.delete_marker === 1,
        size: row.size,
        etag: row.etag,
        lastModified: row.last_modified,
      });
      last = { key, versionId: row.version_id };
      afterKey = row.key;
      afterSeq = row.seq;
      inclusiveKey = false;
    }
  }
}
