/**
 * The index service: one exhaustive dispatch from {@linkcode MetaRequest} to
 * the handlers. Reads answer at once; writes go through the group commit.
 *
 * @module
 */

import type { Handled, MetaRequest, MetaResults, WireError } from "../channel/mod.ts";
import { createBucket, deleteBucket, headBucket, listBuckets } from "./buckets.ts";
import { Db } from "./db.ts";
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

  /** Runs a write in the next group commit with the trusted time. */
  #write<T>(fn: (trustedNow: number) => T): Promise<T> {
    return this.#db.write(() => fn(this.#clock.now()));
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
        return db.write(() => createBucket(db, req));
      case "headBucket":
        return headBucket(db, req);
      case "deleteBucket":
        return db.write(() => deleteBucket(db, req));
      case "putVersion":
        return this.#write((now) => putVersion(db, req, now));
      case "getVersion":
        return getVersion(db, req);
      case "deleteObject":
        return this.#write((now) => deleteObject(db, req, now));
      case "deleteObjects":
        return this.#write((trustedNow) => {
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
                return {
                  ...o,
                  ok: true as const,
                  deleteMarker: r.deleteMarker,
                  deleteMarkerVersionId: r.deleteMarker ? r.versionId : undefined,
                };
              } catch (e) {
                db.sql.exec("ROLLBACK TO one");
                db.sql.exec("RELEASE one");
                return { ...o, ok: false as const, error: metaErrorToWire(e) };
              }
            }),
          };
        });
      case "listObjects":
        return listObjects(db, req);
      case "createUpload":
        return db.write(() => createUpload(db, req));
      case "putPart":
        return db.write(() => putPart(db, req));
      case "getUpload":
        return getUpload(db, req);
      case "completeUpload":
        return this.#write((now) => completeUpload(db, req, now));
      case "abortUpload":
        return db.write(() => abortUpload(db, req));
      case "listParts":
        return listParts(db, req);
      case "listUploads":
        return listUploads(db, req);
      case "putObjectLockConfiguration":
        return db.write(() => putObjectLockConfiguration(db, req));
      case "getObjectLockConfiguration":
        return getObjectLockConfiguration(db, req);
      case "putObjectRetention":
        return this.#write((now) => putObjectRetention(db, req, now));
      case "putObjectLegalHold":
        return db.write(() => putObjectLegalHold(db, req));
      case "putBucketVersioning":
        return db.write(() => putBucketVersioning(db, req));
      case "listVersions":
        return listVersions(db, req);
      case "chunkRefs":
        return { referenced: chunkRefs(db, req.ids) };
      case "stats":
        return this.#stats();
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
    return { buckets: b.n, versions: v.n, logicalBytes: v.bytes, chunks: c.n, chunkRefs: c.refs };
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
