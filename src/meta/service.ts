/**
 * The index service: one exhaustive dispatch from {@linkcode MetaRequest} to
 * the handlers. Reads answer at once; writes go through the group commit.
 *
 * @module
 */

import type { Handled, MetaRequest, MetaResults, WireError } from "../channel/mod.ts";
import { createBucket, deleteBucket, headBucket, listBuckets } from "./buckets.ts";
import { appendAudit, auditTarget } from "./audit.ts";
import { Db } from "./db.ts";
import { createSnapshot } from "./snapshots.ts";
import {
  admitWrite,
  bucketHealthReports,
  getBucketPolicy,
  policed,
  putBucketPolicy,
} from "./policy_store.ts";
import {
  getObjectLockConfiguration,
  putObjectLegalHold,
  putObjectLockConfiguration,
  putObjectRetention,
  TrustedClock,
} from "./lock.ts";
import { listVersions, putBucketVersioning } from "./versions.ts";
import { MetaError } from "./errors.ts";
import {
  abortUpload,
  completeUpload,
  createUpload,
  getUpload,
  listParts,
  listUploads,
  putPart,
} from "./multipart.ts";
import {
  chunkRefs,
  deleteObject,
  getVersion,
  listObjects,
  putVersion,
  requireBucket,
} from "./objects.ts";

/** Requests name their target with these fields. */
type AuditedRequest = { bucket?: string; key?: string; versionId?: string };

/** A short, secret-free description of a write's result for the audit log. */
function auditDetail(result: unknown): string {
  if (typeof result !== "object" || result === null) return "";
  const r = result as { versionId?: unknown; deleteMarker?: unknown; results?: unknown[] };
  if (Array.isArray(r.results)) return `${r.results.length} objects`;
  const parts: string[] = [];
  if (typeof r.versionId === "string") parts.push(`versionId=${r.versionId}`);
  if (r.deleteMarker === true) parts.push("deleteMarker");
  return parts.join(" ");
}

function assertNever(x: never): never {
  throw new Error(`Unknown index request "${(x as { type: string }).type}"`);
}

/** The index of one vault. */
export class MetaService {
  #db: Db;
  #clock: TrustedClock;

  /**
   * @param path Path of the SQLite file.
   * @param opts Largest forward clock jump credited across a restart, and where clock alerts go.
   */
  constructor(
    path: string,
    opts: { maxClockJumpMs: number; onClockAlert: (message: string) => void },
  ) {
    this.#db = new Db(path);
    this.#clock = new TrustedClock(this.#db, {
      maxJumpMs: opts.maxClockJumpMs,
      onJump: opts.onClockAlert,
    });
    // One high-water-mark write per group commit, not per request.
    this.#db.beforeCommit(() => this.#clock.save());
  }

  /**
   * Runs a write in the next group commit with the trusted time, and records
   * it in the audit log in the same transaction; a refusal by the retention
   * engine is recorded on its own, since the write it refused rolls back.
   */
  #write<T>(req: MetaRequest & AuditedRequest, fn: (trustedNow: number) => T): Promise<T> {
    const db = this.#db;
    return db.write(() => {
      const time = this.#clock.now();
      const result = fn(time);
      appendAudit(db, {
        time,
        op: req.type,
        target: auditTarget(req),
        outcome: "done",
        detail: auditDetail(result),
      });
      return result;
    }).catch(async (e) => {
      if (e instanceof MetaError && e.kind === "locked") {
        await db.write(() =>
          appendAudit(db, {
            time: this.#clock.now(),
            op: req.type,
            target: auditTarget(req),
            outcome: "refused",
            detail: e.message,
          })
        );
      }
      throw e;
    });
  }

  /** Handles one request. */
  async handle(req: MetaRequest): Promise<Handled<MetaResults[MetaRequest["type"]]>> {
    return { result: await this.#dispatch(req) };
  }

  #dispatch(
    req: MetaRequest,
  ): MetaResults[MetaRequest["type"]] | Promise<MetaResults[MetaRequest["type"]]> {
    const db = this.#db;
    switch (req.type) {
      case "ping":
        return { ok: true };
      case "listBuckets":
        return listBuckets(db);
      case "createBucket":
        return this.#write(req, () => createBucket(db, req));
      case "headBucket":
        return headBucket(db, req);
      case "deleteBucket":
        return this.#write(req, () => deleteBucket(db, req));
      case "putVersion":
        return this.#write(req, (now) =>
          policed(
            db,
            { ...req, write: req.write ?? "put" },
            now,
            () => putVersion(db, req, now),
          ));
      case "getVersion":
        return getVersion(db, req);
      case "deleteObject":
        return this.#write(req, (now) => deleteObject(db, req, now));
      case "deleteObjects":
        return this.#write(req, (trustedNow) => {
          requireBucket(db, req.bucket);
          return {
            results: req.objects.map((o) => {
              try {
                db.sql.exec("SAVEPOINT one");
                const r = deleteObject(db, {
                  bucket: req.bucket,
                  now: req.now,
                  bypassGovernance: req.bypassGovernance,
                  ...o,
                }, trustedNow);
                db.sql.exec("RELEASE one");
                const target = auditTarget({ bucket: req.bucket, ...o });
                appendAudit(db, {
                  time: trustedNow,
                  op: "deleteObject",
                  target,
                  outcome: "done",
                  detail: "",
                });
                return {
                  ...o,
                  ok: true as const,
                  deleteMarker: r.deleteMarker,
                  deleteMarkerVersionId: r.deleteMarker ? r.versionId : undefined,
                };
              } catch (e) {
                db.sql.exec("ROLLBACK TO one");
                db.sql.exec("RELEASE one");
                const target = auditTarget({ bucket: req.bucket, ...o });
                const outcome = e instanceof MetaError && e.kind === "locked" ? "refused" : "done";
                if (outcome === "refused") {
                  appendAudit(db, {
                    time: trustedNow,
                    op: "deleteObject",
                    target,
                    outcome,
                    detail: (e as Error).message,
                  });
                }
                return { ...o, ok: false as const, error: metaErrorToWire(e) };
              }
            }),
          };
        });
      case "listObjects":
        return listObjects(db, req);
      case "createUpload":
        return this.#write(req, () => createUpload(db, req));
      case "putPart":
        return this.#write(req, (now) =>
          policed(
            db,
            { ...req, write: "uploadPart", partNumber: req.part.partNumber },
            now,
            () => putPart(db, req),
          ));
      case "getUpload":
        return getUpload(db, req);
      case "completeUpload":
        return this.#write(req, (now) =>
          policed(
            db,
            { ...req, write: "complete", partNumbers: req.parts.map((p) => p.partNumber) },
            now,
            () => completeUpload(db, req, now),
          ));
      case "abortUpload":
        return this.#write(req, () => abortUpload(db, req));
      case "listParts":
        return listParts(db, req);
      case "listUploads":
        return listUploads(db, req);
      case "putObjectLockConfiguration":
        return this.#write(req, () => putObjectLockConfiguration(db, req));
      case "getObjectLockConfiguration":
        return getObjectLockConfiguration(db, req);
      case "putObjectRetention":
        return this.#write(req, (now) => putObjectRetention(db, req, now));
      case "putObjectLegalHold":
        return this.#write(req, () => putObjectLegalHold(db, req));
      case "createSnapshot":
        return this.#write(req, () => createSnapshot(db, req));
      case "putBucketVersioning":
        return this.#write(req, () => putBucketVersioning(db, req));
      case "listVersions":
        return listVersions(db, req);
      case "chunkRefs":
        return { referenced: chunkRefs(db, req.ids) };
      case "stats":
        return this.#stats();
      case "putBucketPolicy":
        return this.#write(req, (now) => putBucketPolicy(db, req, now));
      case "getBucketPolicy":
        return getBucketPolicy(db, req);
      case "admitWrite":
        return admitWrite(db, req, this.#clock.now());
      case "bucketHealth":
        return bucketHealthReports(db, req, this.#clock.now());
      default:
        return assertNever(req);
    }
  }

  #stats(): MetaResults["stats"] {
    const db = this.#db;
    const v = db.get<{ n: number; bytes: number }>(
      "SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM versions WHERE delete_marker = 0",
    )!;
    const c = db.get<{ n: number; refs: number }>(
      "SELECT count(*) AS n, coalesce(sum(refs), 0) AS refs FROM chunks WHERE refs > 0",
    )!;
    const b = db.get<{ n: number }>("SELECT count(*) AS n FROM buckets")!;
    return {
      buckets: b.n,
      versions: v.n,
      logicalBytes: v.bytes,
      chunks: c.n,
      chunkRefs: c.refs,
      clock: this.#clock.status(),
    };
  }

  /** Closes the database once queued writes are committed. */
  close(): void {
    this.#db.close();
  }
}

/** Turns anything thrown by the index into a wire-safe error. */
export function metaErrorToWire(e: unknown): WireError {
  if (e instanceof MetaError) {
    return { area: "meta", kind: e.kind, message: e.message, details: e.details };
  }
  return {
    area: "internal",
    kind: "internal",
    message: e instanceof Error ? e.message : String(e),
  };
}
