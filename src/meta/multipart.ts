/**
 * Multipart uploads in the index. Parts hold chunk references of their own
 * until the upload completes (their references move to the version) or is
 * aborted (they are released).
 *
 * @module
 */

import type {
  ListResult,
  MetaRequest,
  MetaResults,
  PartRecord,
  UploadRecord,
  VersionRecord,
} from "../channel/mod.ts";
import { MANIFEST_ENTRY_BYTES } from "../channel/mod.ts";
import { createHash } from "node:crypto";
import type { Db } from "./db.ts";
import { writableBucket } from "./snapshots.ts";
import { noLockConfiguration } from "./lock.ts";
import { MetaError } from "./errors.ts";
import {
  type ChecksumAlgorithm,
  type ChecksumType,
  checksumTypeAllowed,
  defaultChecksumType,
  multipartChecksum,
} from "../checksum.ts";
import {
  addChunkRefs,
  getVersion,
  keyBytes,
  type NewVersion,
  putVersion,
  requireBucket,
  requireSource,
  walkListing,
} from "./objects.ts";

type Req<T extends MetaRequest["type"]> = Extract<MetaRequest, { type: T }>;

interface UploadRow {
  upload_id: string;
  bucket: string;
  key: Uint8Array;
  initiated: number;
  headers: string;
  user_meta: string;
  checksum_algorithm: string | null;
  checksum_type: "FULL_OBJECT" | "COMPOSITE" | null;
  lock: string | null;
}

const fromUtf8 = new TextDecoder();

function toUpload(row: UploadRow): UploadRecord {
  return {
    uploadId: row.upload_id,
    bucket: row.bucket,
    key: fromUtf8.decode(row.key),
    initiated: row.initiated,
    headers: JSON.parse(row.headers),
    userMeta: JSON.parse(row.user_meta),
    checksumAlgorithm: row.checksum_algorithm ?? undefined,
    checksumType: row.checksum_type ?? undefined,
    lock: row.lock ? JSON.parse(row.lock) : undefined,
  };
}

/** Reads an upload; `noSuchUpload` unless it exists for that bucket and key. */
export function getUpload(
  db: Db,
  req: { bucket: string; key: string; uploadId: string },
): UploadRecord {
  requireBucket(db, req.bucket);
  const row = db.get<UploadRow>(
    "SELECT * FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
    req.uploadId,
    req.bucket,
    keyBytes(req.key),
  );
  if (!row) throw new MetaError("noSuchUpload", `Upload "${req.uploadId}" does not exist`);
  return toUpload(row);
}

/** Records a new upload. */
export function createUpload(db: Db, req: Req<"createUpload">): MetaResults["createUpload"] {
  const u = req.upload;
  const bucket = writableBucket(db, u.bucket);
  // Refused now, as on S3, not at Complete after every part was sent.
  if (u.lock && bucket.object_lock !== 1) noLockConfiguration(u.bucket);
  db.run(
    "INSERT INTO uploads(upload_id, bucket, key, initiated, headers, user_meta, checksum_algorithm, checksum_type, lock) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
    u.uploadId,
    u.bucket,
    keyBytes(u.key),
    u.initiated,
    JSON.stringify(u.headers),
    JSON.stringify(u.userMeta),
    u.checksumAlgorithm ?? null,
    u.checksumType ?? null,
    u.lock ? JSON.stringify(u.lock) : null,
  );
  return { uploadId: u.uploadId };
}

function releaseParts(db: Db, uploadId: string, keep: Set<number> = new Set()): void {
  const parts = db.all<{ part_number: number; manifest: Uint8Array }>(
    "SELECT part_number, manifest FROM parts WHERE upload_id = ?",
    uploadId,
  );
  for (const p of parts) if (!keep.has(p.part_number)) addChunkRefs(db, p.manifest, -1);
  db.run("DELETE FROM parts WHERE upload_id = ?", uploadId);
}

/** Stores or replaces one part, with the sealed bytes it added to disk. */
export function putPart(db: Db, req: Req<"putPart">, storedBytes = 0): MetaResults["putPart"] {
  getUpload(db, req);
  if (req.copiedFrom) requireSource(db, req.copiedFrom, req.part.manifest);
  const p = req.part;
  const old = db.get<{ manifest: Uint8Array }>(
    "DELETE FROM parts WHERE upload_id = ? AND part_number = ? RETURNING manifest",
    req.uploadId,
    p.partNumber,
  );
  if (old) addChunkRefs(db, old.manifest, -1);
  db.run(
    "INSERT INTO parts(upload_id, part_number, size, etag, last_modified, checksum, manifest, stored_bytes) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
    req.uploadId,
    p.partNumber,
    p.size,
    p.etag,
    p.lastModified,
    p.checksum ? JSON.stringify(p.checksum) : null,
    p.manifest,
    storedBytes,
  );
  addChunkRefs(db, p.manifest, 1);
  return { replaced: old !== undefined };
}

interface PartRow {
  part_number: number;
  size: number;
  etag: string;
  last_modified: number;
  checksum: string | null;
  manifest: Uint8Array;
}

/**
 * Completes an upload: checks the part list, concatenates the part manifests
 * into a version, moves the chunk references and removes the upload.
 */
export function completeUpload(
  db: Db,
  req: Req<"completeUpload">,
  trustedNow: number,
  storedBytes = 0,
): MetaResults["completeUpload"] {
  const upload = getUpload(db, req);
  const rows = new Map(
    db.all<PartRow>("SELECT * FROM parts WHERE upload_id = ?", req.uploadId).map((
      r,
    ) => [r.part_number, r]),
  );
  if (req.parts.length === 0) throw new MetaError("invalidPart", "The upload lists no parts");
  const chosen: PartRow[] = [];
  let previous = 0;
  for (const p of req.parts) {
    if (p.partNumber <= previous) {
      throw new MetaError("invalidPartOrder", `Part ${p.partNumber} is out of order`);
    }
    previous = p.partNumber;
    const row = rows.get(p.partNumber);
    if (!row || row.etag !== p.etag.replace(/"/g, "")) {
      throw new MetaError("invalidPart", `Part ${p.partNumber} was not uploaded with that ETag`, {
        partNumber: p.partNumber,
      });
    }
    const stored = row.checksum ? JSON.parse(row.checksum) as PartRecord["checksum"] : undefined;
    if (
      p.checksum &&
      (p.checksum.algorithm !== stored?.algorithm || p.checksum.value !== stored.value)
    ) {
      throw new MetaError(
        "invalidPart",
        `Part ${p.partNumber} was not uploaded with that ${p.checksum.algorithm} checksum`,
        { partNumber: p.partNumber },
      );
    }
    const algorithm = upload.checksumAlgorithm;
    if (algorithm && !p.checksum && checksumTypeOf(upload) === "COMPOSITE") {
      throw new MetaError(
        "checksumInvalid",
        `The upload was created using a ${algorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${p.partNumber} in the request.`,
      );
    }
    chosen.push(row);
  }
  chosen.forEach((row, i) => {
    if (i < chosen.length - 1 && row.size < req.minPartBytes) {
      throw new MetaError(
        "partTooSmall",
        `Part ${row.part_number} is smaller than ${req.minPartBytes} bytes`,
        {
          partNumber: row.part_number,
          size: row.size,
        },
      );
    }
  });
  const manifest = new Uint8Array(chosen.reduce((n, r) => n + r.manifest.length, 0));
  let off = 0;
  const md5 = createHash("md5");
  for (const r of chosen) {
    manifest.set(r.manifest, off);
    off += r.manifest.length;
    md5.update(Buffer.from(r.etag, "hex"));
  }
  const checksum = objectChecksum(upload, chosen, req.checksum);
  const version: NewVersion = {
    size: chosen.reduce((n, r) => n + r.size, 0),
    etag: `${md5.digest("hex")}-${chosen.length}`,
    lastModified: req.now,
    headers: upload.headers,
    userMeta: upload.userMeta,
    checksum,
    partSizes: chosen.map((r) => r.size),
    manifest,
  };
  const { versionId, lock } = putVersion(db, {
    bucket: req.bucket,
    key: req.key,
    version,
    lock: upload.lock,
    // Every part's bytes were checked against its MD5 ETag on the way in.
    integrityChecked: true,
    ifMatch: req.ifMatch,
    ifNoneMatch: req.ifNoneMatch,
    appendOnly: req.appendOnly,
    refsHeld: true,
    storedBytes,
  }, trustedNow);
  // The chosen parts' references pass to the version; the others are let go.
  releaseParts(db, req.uploadId, new Set(chosen.map((r) => r.part_number)));
  db.run("DELETE FROM uploads WHERE upload_id = ?", req.uploadId);
  if (manifest.length % MANIFEST_ENTRY_BYTES !== 0) throw new Error("Corrupt part manifest");
  db.run("DELETE FROM completed_uploads WHERE completed < ?", req.now - COMPLETED_KEPT_MS);
  db.run(
    "INSERT INTO completed_uploads(upload_id, bucket, key, parts, version_id, etag, completed) VALUES(?, ?, ?, ?, ?, ?, ?)",
    req.uploadId,
    req.bucket,
    keyBytes(req.key),
    partList(req.parts),
    versionId,
    version.etag,
    req.now,
  );
  return withoutData({ ...version, versionId, lock });
}

/** A version's answer to the router, without its manifest (or body): the router needs neither. */
function withoutData(v: VersionRecord): MetaResults["completeUpload"] {
  const { manifest: _manifest, inline: _inline, ...rest } = v;
  return rest;
}

/** How long a completed upload answers a repeated Complete, ms. */
const COMPLETED_KEPT_MS = 24 * 3600 * 1000;

function partList(parts: { partNumber: number; etag: string }[]): string {
  return JSON.stringify(parts.map((p) => [p.partNumber, p.etag.replace(/"/g, "")]));
}

/**
 * The answer to a Complete of an upload completed already with the same
 * parts, as S3 gives it again (an SDK retries a Complete whose answer was
 * lost): the version it made, while that still stands. Undefined otherwise.
 */
export function completedUpload(
  db: Db,
  req: Req<"completeUpload">,
): MetaResults["completeUpload"] | undefined {
  const done = db.get<{ parts: string; version_id: string; etag: string }>(
    "SELECT parts, version_id, etag FROM completed_uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
    req.uploadId,
    req.bucket,
    keyBytes(req.key),
  );
  if (!done || done.parts !== partList(req.parts)) return undefined;
  try {
    const v = getVersion(db, { bucket: req.bucket, key: req.key, versionId: done.version_id });
    return v.etag === done.etag ? withoutData(v) : undefined;
  } catch (e) {
    if (e instanceof MetaError) return undefined; // deleted or replaced since
    throw e;
  }
}

/** The upload's checksum type: as created, or S3's default for its algorithm (uploads before index format 14). */
function checksumTypeOf(upload: UploadRecord): ChecksumType | undefined {
  if (!upload.checksumAlgorithm) return undefined;
  return upload.checksumType ?? defaultChecksumType(upload.checksumAlgorithm as ChecksumAlgorithm);
}

/**
 * The object's checksum, made from its parts' as the upload asked (or as
 * the client's claim names, for an upload created without an algorithm),
 * and checked against that claim. None when a part has no checksum of the
 * algorithm and nothing was claimed (a part copied before session 11).
 */
function objectChecksum(
  upload: UploadRecord,
  parts: PartRow[],
  claim: Req<"completeUpload">["checksum"],
): VersionRecord["checksum"] {
  const algorithm = (upload.checksumAlgorithm ?? claim?.algorithm) as
    | ChecksumAlgorithm
    | undefined;
  if (!algorithm) return undefined;
  if (claim && claim.algorithm !== algorithm) {
    throw new MetaError(
      "checksumInvalid",
      `The upload was created using the ${algorithm.toLowerCase()} checksum algorithm, not ${claim.algorithm.toLowerCase()}`,
    );
  }
  const type = checksumTypeOf(upload) ?? claim?.type ??
    (claim?.value.includes("-") ? "COMPOSITE" : defaultChecksumType(algorithm));
  if (claim?.type && claim.type !== type) {
    throw new MetaError(
      "checksumInvalid",
      `The upload was created using the ${type} checksum mode. The complete request must use the same checksum mode.`,
    );
  }
  if (!checksumTypeAllowed(algorithm, type)) {
    throw new MetaError(
      "checksumInvalid",
      `The ${type} checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`,
    );
  }
  const sums: { value: string; size: number }[] = [];
  for (const p of parts) {
    const c = p.checksum ? JSON.parse(p.checksum) as PartRecord["checksum"] : undefined;
    if (c?.algorithm !== algorithm) {
      if (!claim) return undefined;
      throw new MetaError(
        "checksumInvalid",
        `Part ${p.part_number} has no ${algorithm} checksum to check the object's against`,
      );
    }
    sums.push({ value: c.value, size: p.size });
  }
  const value = multipartChecksum(algorithm, type, sums);
  if (claim && claim.value.replace(/-\d+$/, "") !== value.replace(/-\d+$/, "")) {
    throw new MetaError(
      "checksumMismatch",
      `The ${algorithm} you specified did not match the calculated checksum.`,
    );
  }
  return { algorithm, value, type };
}

/** Aborts an upload and releases its parts. */
export function abortUpload(db: Db, req: Req<"abortUpload">): MetaResults["abortUpload"] {
  getUpload(db, req);
  releaseParts(db, req.uploadId);
  db.run("DELETE FROM uploads WHERE upload_id = ?", req.uploadId);
  return { aborted: true };
}

/**
 * Aborts multipart uploads started before `before` (ms), as an abort by the
 * client would, so abandoned uploads do not hold space for ever.
 *
 * @returns The uploads aborted (at most `limit`), for the audit log.
 */
export function expireUploads(
  db: Db,
  before: number,
  limit: number,
): { uploadId: string; bucket: string; key: string }[] {
  const rows = db.all<{ upload_id: string; bucket: string; key: Uint8Array }>(
    "SELECT upload_id, bucket, key FROM uploads WHERE initiated < ? ORDER BY initiated LIMIT ?",
    before,
    limit,
  );
  for (const r of rows) {
    releaseParts(db, r.upload_id);
    db.run("DELETE FROM uploads WHERE upload_id = ?", r.upload_id);
  }
  return rows.map((r) => ({
    uploadId: r.upload_id,
    bucket: r.bucket,
    key: new TextDecoder().decode(r.key),
  }));
}

/** Lists the parts of an upload after `marker`. */
export function listParts(db: Db, req: Req<"listParts">): MetaResults["listParts"] {
  const upload = getUpload(db, req);
  const rows = db.all<PartRow>(
    "SELECT * FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?",
    req.uploadId,
    req.marker,
    req.maxParts + 1,
  );
  // An empty page (max-parts=0) is not truncated: its next marker would be this one, for ever.
  const isTruncated = req.maxParts > 0 && rows.length > req.maxParts;
  const page = rows.slice(0, req.maxParts);
  const parts: Omit<PartRecord, "manifest">[] = page.map((r) => ({
    partNumber: r.part_number,
    size: r.size,
    etag: r.etag,
    lastModified: r.last_modified,
    checksum: r.checksum ? JSON.parse(r.checksum) : undefined,
  }));
  return { upload, parts, isTruncated, nextMarker: page.at(-1)?.part_number ?? req.marker };
}

/** Lists uploads in progress, ordered by key then upload id, with delimiter support. */
export function listUploads(db: Db, req: Req<"listUploads">): ListResult<UploadRecord> {
  requireBucket(db, req.bucket);
  // One key may have many uploads, ordered by upload id. The walk resumes "after a key"; when
  // that key is the last one fetched (or the key marker), resume after its last upload id instead.
  let resumeAt = req.keyMarker && req.uploadIdMarker
    ? { key: keyBytes(req.keyMarker), uploadId: req.uploadIdMarker }
    : undefined;
  return walkListing(
    {
      prefix: req.prefix,
      delimiter: req.delimiter,
      startAfter: req.keyMarker,
      maxKeys: req.maxUploads,
    },
    (after, inclusive, end, limit) => {
      const sameKey = !inclusive && resumeAt !== undefined &&
        Buffer.compare(resumeAt.key, after) === 0;
      const rows = db.all<UploadRow>(
        `SELECT * FROM uploads WHERE bucket = ? AND (${
          inclusive ? "key >= ?" : "key > ?"
        } OR (key = ? AND upload_id > ?)) AND key < ?
         ORDER BY key, upload_id LIMIT ?`,
        req.bucket,
        after,
        after,
        sameKey ? resumeAt!.uploadId : null,
        end ?? new Uint8Array([0xff, 0xff, 0xff, 0xff]),
        limit,
      );
      const last = rows.at(-1);
      resumeAt = last ? { key: last.key, uploadId: last.upload_id } : undefined;
      return rows.map(toUpload);
    },
  );
}
