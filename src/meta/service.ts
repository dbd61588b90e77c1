/**
 * The index service: one exhaustive dispatch from {@linkcode MetaRequest} to
 * the handlers. Reads answer at once; writes go through the group commit.
 *
 * @module
 */

import { log } from "../ops/mod.ts";
import {
  ChannelError,
  type Client,
  type Handled,
  INLINE_MAX_BYTES,
  type MetaRequest,
  type MetaResults,
  type StoreRequest,
  type StoreResults,
  type WireError,
} from "../channel/mod.ts";
import { createBucket, deleteBucket, headBucket, listBuckets } from "./buckets.ts";
import { appendAudit, auditTarget, exportAudit } from "./audit.ts";
import { AUDIT_SEAL_INTERVAL_MS, type AuditSigner, sealAudit } from "./audit_seal.ts";
import { FourEyes, type FourEyesConfig, type Gate } from "./four_eyes.ts";
import { APPROVAL_ACTIONS, type ApprovalAction } from "../retention/mod.ts";
import {
  addAccessKey,
  describeGrants,
  getAccessKey,
  listAccessKeys,
  revokeAccessKey,
  setAccessKey,
} from "./access_keys.ts";
import { Db } from "./db.ts";
import { IndexCheckpointer } from "./index_checkpoint.ts";
import type { InlineSealer } from "../inline_body.ts";
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
  completedUpload,
  completeUpload,
  createUpload,
  expireUploads,
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

/** Requests name their target with these fields, and may carry four-eyes approvals. */
type AuditedRequest = { bucket?: string; key?: string; versionId?: string; approvals?: string[] };

/** Refusals recorded in the audit log on their own, since the write they refused rolls back. */
const AUDITED_REFUSALS: ReadonlySet<string> = new Set([
  "locked",
  "approvalsRequired",
  "invalidApproval",
]);

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

/** Longest wait between checks for expired multipart uploads. */
const UPLOAD_EXPIRY_CHECK_MAX_MS = 3_600_000;
/** Most uploads expired in one transaction. */
const UPLOAD_EXPIRY_BATCH = 1000;

/** Checks that an action named on the wire is one approvals are given for. */
function approvalAction(action: string): ApprovalAction {
  if (!(APPROVAL_ACTIONS as readonly string[]).includes(action)) {
    throw new MetaError(
      "invalidApproval",
      `"${action}" is not an action approvals are given for (${APPROVAL_ACTIONS.join(", ")})`,
    );
  }
  return action as ApprovalAction;
}

/** The audit target of a managed key. */
function keyTarget(accessKey: string): string {
  return `/admin/keys/${accessKey}`;
}

function assertNever(x: never): never {
  throw new Error(`Unknown index request "${(x as { type: string }).type}"`);
}

/** The index of one vault. */
export class MetaService {
  #db: Db;
  #clock: TrustedClock;
  #signer: AuditSigner;
  #inline: InlineSealer;
  #fourEyes: FourEyes;
  #sealTimer: ReturnType<typeof setInterval>;
  #expiryTimer?: ReturnType<typeof setInterval>;
  #checkpointer?: IndexCheckpointer;

  /**
   * @param path Path of the SQLite file.
   * @param opts Largest forward clock jump credited across a restart, where clock alerts go,
   *   the key audit seals are signed with, and the four-eyes quorum.
   */
  constructor(
    path: string,
    opts: {
      maxClockJumpMs: number;
      onClockAlert: (message: string) => void;
      auditSigner: AuditSigner;
      /** Seals the bodies of tiny objects kept in the index. */
      inlineSealer: InlineSealer;
      fourEyes: FourEyesConfig;
      /** Unfinished multipart uploads older than this are aborted; 0 never. */
      uploadExpiryMs?: number;
      /** Journal every batch into this store and checkpoint the index onto its drives. */
      journal?: { store: Client<StoreRequest, StoreResults>; checkpointIntervalMs: number };
    },
  ) {
    this.#db = new Db(path);
    if (opts.journal) {
      this.#checkpointer = new IndexCheckpointer(this.#db, {
        store: opts.journal.store,
        dir: path.slice(0, path.lastIndexOf("/")) || ".",
        intervalMs: opts.journal.checkpointIntervalMs,
        onError: (message) => log("error", message),
      });
    }
    this.#signer = opts.auditSigner;
    this.#inline = opts.inlineSealer;
    this.#fourEyes = new FourEyes(opts.fourEyes);
    this.#clock = new TrustedClock(this.#db, {
      maxJumpMs: opts.maxClockJumpMs,
      onJump: (message) => {
        opts.onClockAlert(message);
        // The alert is evidence too: a clock pushed forward is how locks would be talked out of.
        this.#db.write(() =>
          appendAudit(this.#db, {
            time: this.#clock.now(),
            op: "clockAlert",
            target: "/",
            outcome: "refused",
            detail: message,
          })
        ).catch((e) => opts.onClockAlert(`Cannot audit the clock alert: ${(e as Error).message}`));
      },
    });
    // One high-water-mark write per group commit, not per request.
    this.#db.beforeCommit(() => this.#clock.save());
    this.#sealTimer = setInterval(() => {
      this.#db.write(() => sealAudit(this.#db, this.#signer, this.#clock.now())).catch((e) =>
        log("error", "Cannot seal the audit log", { error: String(e) })
      );
    }, AUDIT_SEAL_INTERVAL_MS);
    const expiry = opts.uploadExpiryMs ?? 0;
    if (expiry > 0) {
      const every = Math.min(Math.max(expiry / 4, 1000), UPLOAD_EXPIRY_CHECK_MAX_MS);
      this.#expiryTimer = setInterval(() => this.#expireUploads(expiry), every);
    }
  }

  /** Aborts uploads older than `expiryMs` on the trusted clock, each audited. */
  #expireUploads(expiryMs: number): void {
    const db = this.#db;
    db.write(() => {
      const now = this.#clock.now();
      for (const u of expireUploads(db, now - expiryMs, UPLOAD_EXPIRY_BATCH)) {
        appendAudit(db, {
          time: now,
          op: "abortUpload",
          target: `${auditTarget(u)}?uploadId=${u.uploadId}`,
          outcome: "done",
          detail: `expired: unfinished for more than ${Math.round(expiryMs / 1000)} s`,
        });
      }
    }).catch((e) => log("error", "Cannot expire multipart uploads", { error: String(e) }));
  }

  /**
   * Runs a write in the next group commit with the trusted time, and records
   * it in the audit log in the same transaction; a refusal by the retention
   * engine is recorded on its own, since the write it refused rolls back.
   */
  #write<T>(
    req: MetaRequest & AuditedRequest,
    fn: (trustedNow: number, gate: Gate) => T,
    audit: { target?: string; detail?: (result: T) => string } = {},
  ): Promise<T> {
    const db = this.#db;
    const writeIds = "writeIds" in req ? req.writeIds : undefined;
    return db.write(() => {
      const time = this.#clock.now();
      const result = fn(time, this.#fourEyes.gate(db, req.approvals ?? [], time));
      appendAudit(db, {
        time,
        op: req.type,
        target: audit.target ?? auditTarget(req),
        outcome: "done",
        detail: audit.detail?.(result) ?? auditDetail(result),
      });
      return result;
    }, writeIds).catch(async (e) => {
      if (e instanceof MetaError && AUDITED_REFUSALS.has(e.kind)) {
        await db.write(() =>
          appendAudit(db, {
            time: this.#clock.now(),
            op: req.type,
            target: audit.target ?? auditTarget(req),
            outcome: "refused",
            detail: e.message,
          })
        );
      }
      throw e;
    });
  }

  /** A write of a tiny object with its body sealed for the index, and that body's stored bytes. */
  #sealInline(
    req: Extract<MetaRequest, { type: "putVersion" }>,
  ): Extract<MetaRequest, { type: "putVersion" }> {
    const body = req.version.inline;
    if (!body) return req;
    if (
      body.length > INLINE_MAX_BYTES || body.length !== req.version.size ||
      req.version.manifest.length > 0
    ) {
      throw new Error(
        `An inline body must be the whole object, at most ${INLINE_MAX_BYTES} bytes, with no manifest`,
      );
    }
    const sealed = this.#inline.seal(body);
    return { ...req, version: { ...req.version, inline: sealed }, storedBytes: sealed.length };
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
        return this.#write(req, (_, gate) => deleteBucket(db, req, gate));
      case "putVersion": {
        const write = this.#sealInline(req);
        const admit = req.admit && { caller: req.admit, size: req.version.size };
        return this.#write(req, (now) =>
          policed(
            db,
            { ...write, write: req.write ?? "put", admit },
            now,
            (storedBytes) => putVersion(db, { ...write, storedBytes }, now),
          ));
      }
      case "getVersion": {
        const v = getVersion(db, req);
        if (v.inline) v.inline = this.#inline.open(v.inline);
        return v;
      }
      case "deleteObject":
        return this.#write(req, (now, gate) => deleteObject(db, req, now, gate));
      case "deleteObjects":
        return this.#write(req, (trustedNow, gate) => {
          requireBucket(db, req.bucket);
          return {
            results: req.objects.map(({ ifMatch, ...o }) => {
              try {
                db.sql.exec("SAVEPOINT one");
                const r = deleteObject(
                  db,
                  {
                    bucket: req.bucket,
                    now: req.now,
                    bypassGovernance: req.bypassGovernance,
                    ifMatch,
                    ...o,
                  },
                  trustedNow,
                  gate,
                );
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
                const outcome = e instanceof MetaError && AUDITED_REFUSALS.has(e.kind)
                  ? "refused"
                  : "done";
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
            (storedBytes) => putPart(db, req, storedBytes),
          ));
      case "getUpload":
        return getUpload(db, req);
      case "completeUpload":
        // A repeat (its first answer lost) gets that answer again, as on S3, here or in its batch.
        return completedUpload(db, req) ??
          this.#write(req, (now) =>
            completedUpload(db, req) ?? policed(
              db,
              { ...req, write: "complete", partNumbers: req.parts.map((p) => p.partNumber) },
              now,
              (storedBytes) => completeUpload(db, req, now, storedBytes),
            ));
      case "abortUpload":
        return this.#write(req, () => abortUpload(db, req));
      case "listParts":
        return listParts(db, req);
      case "listUploads":
        return listUploads(db, req);
      case "putObjectLockConfiguration":
        return this.#write(req, (_, gate) => putObjectLockConfiguration(db, req, gate));
      case "getObjectLockConfiguration":
        return getObjectLockConfiguration(db, req);
      case "putObjectRetention":
        return this.#write(req, (now, gate) => putObjectRetention(db, req, now, gate));
      case "putObjectLegalHold":
        return this.#write(req, () => putObjectLegalHold(db, req));
      case "createSnapshot":
        // `at` is a system-clock time; when that clock runs ahead of trusted time (a downtime longer
        // than the clock credits), the commits it means were made that much earlier on it.
        return this.#write(
          req,
          () => createSnapshot(db, req, Math.max(0, this.#clock.status().wallAheadMs)),
        );
      case "putBucketVersioning":
        return this.#write(req, () => putBucketVersioning(db, req));
      case "listVersions":
        return listVersions(db, req);
      case "chunkRefs":
        return { referenced: chunkRefs(db, req.ids) };
      case "stats":
        return this.#stats(req.chunks === true);
      case "exportAudit":
        return exportAudit(db, { ...req, publicKey: this.#signer.publicKey });
      case "stageApproval": {
        const action = approvalAction(req.action);
        // Anyone can POST /approve: only a token that verifies may reach the audit log.
        this.#fourEyes.verify({ ...req, action }, this.#clock.now());
        return this.#write(req, (now) => this.#fourEyes.stage(db, { ...req, action }, now), {
          target: `${action} ${req.resource}`,
          detail: (r) => `approver=${r.approver}`,
        });
      }
      case "attestTime":
        return this.#write(req, () => {
          // The trusted clock lags by what is being attested, so the approvals' lifetime is
          // judged at the attested time they sign; their nonces still make them single-use.
          this.#fourEyes.gate(db, req.approvals, req.time)("AttestTime", `/?time=${req.time}`);
          return { trustedMs: this.#clock.attest(req.time) };
        }, { target: `/?time=${req.time}` });
      case "addAccessKey":
        return this.#write(req, () => addAccessKey(db, req), {
          target: keyTarget(req.record.accessKey),
          detail: (key) => describeGrants(key, req.actor),
        });
      case "setAccessKey":
        return this.#write(req, () => setAccessKey(db, req), {
          target: keyTarget(req.accessKey),
          detail: (key) =>
            describeGrants(key, req.actor) + (req.change.sealedSecret ? " secret-rotated" : ""),
        });
      case "revokeAccessKey":
        return this.#write(req, () => revokeAccessKey(db, req), {
          target: keyTarget(req.accessKey),
          detail: () => `by=${req.actor}`,
        });
      case "getAccessKey":
        return getAccessKey(db, req);
      case "listAccessKeys":
        return listAccessKeys(db);
      case "audit":
        return db.write(() => {
          const { type: _, ...entry } = req;
          appendAudit(db, { time: this.#clock.now(), ...entry });
          return { recorded: true as const };
        });
      case "putBucketPolicy":
        return this.#write(req, (now) => putBucketPolicy(db, req, now));
      case "getBucketPolicy":
        return getBucketPolicy(db, req);
      case "admitWrite":
        return admitWrite(db, req, this.#clock.now());
      case "bucketHealth":
        return bucketHealthReports(db, req, this.#clock.now());
      case "getSetting":
        return {
          value: db.get<{ value: string }>("SELECT value FROM settings WHERE name = ?", req.name)
            ?.value,
        };
      case "putSetting":
        return db.write(() => {
          db.run(
            "INSERT INTO settings(name, value) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            req.name,
            req.value,
          );
          return { saved: true as const };
        });
      default:
        return assertNever(req);
    }
  }

  /**
   * Totals without a scan (anyone may ask `/metrics`, and every S3 request waits on this
   * Worker): from the per-bucket usage and the counters the triggers keep; chunks only when
   * asked.
   */
  #stats(withChunks: boolean): MetaResults["stats"] {
    const db = this.#db;
    const v = db.get<{ buckets: number; n: number; bytes: number; inline: number }>(
      `SELECT (SELECT count(*) FROM buckets) AS buckets, coalesce(sum(objects), 0) AS n,
         coalesce(sum(logical_bytes), 0) AS bytes,
         (SELECT value FROM counters WHERE name = 'inline_bytes') AS inline FROM bucket_usage`,
    )!;
    const c = withChunks
      ? db.get<{ n: number; refs: number }>(
        "SELECT count(*) AS n, coalesce(sum(refs), 0) AS refs FROM chunks WHERE refs > 0",
      )
      : undefined;
    return {
      buckets: v.buckets,
      versions: v.n,
      logicalBytes: v.bytes,
      inlineBytes: v.inline ?? 0,
      chunks: c?.n,
      chunkRefs: c?.refs,
      clock: this.#clock.status(),
    };
  }

  /**
   * Brings the index up to date from the journal and takes the start-up
   * checkpoint when the drives do not hold the current state. Call before serving.
   */
  async startJournal(): Promise<void> {
    await this.#checkpointer?.startUp();
  }

  /**
   * Seals the audit log, waits for queued writes, takes a last checkpoint
   * (with a journal) and closes the database.
   */
  async close(): Promise<void> {
    clearInterval(this.#sealTimer);
    clearInterval(this.#expiryTimer);
    // The last seal is one more batch (the clock's mark rides with every batch), journaled like any;
    // drives gone at shutdown must not keep the index from closing (the next start seals again).
    await this.#db.write(() => sealAudit(this.#db, this.#signer, this.#clock.now())).catch((e) =>
      log("error", "Cannot seal the audit log at shutdown", { error: String(e) })
    );
    await this.#checkpointer?.close();
    await this.#db.close();
  }

  /** Closes a start that was refused: no seal and no checkpoint, nothing more written. */
  async abandon(): Promise<void> {
    clearInterval(this.#sealTimer);
    clearInterval(this.#expiryTimer);
    this.#checkpointer?.stop();
    await this.#db.close();
  }
}

/** Turns anything thrown by the index into a wire-safe error. */
export function metaErrorToWire(e: unknown): WireError {
  if (e instanceof MetaError) {
    return { area: "meta", kind: e.kind, message: e.message, details: e.details };
  }
  // The store refused a batch's journal record or its chunks (full or missing drives): as it said.
  if (e instanceof ChannelError && e.wire.area === "store") return e.wire;
  return {
    area: "internal",
    kind: "internal",
    message: e instanceof Error ? e.message : String(e),
  };
}
