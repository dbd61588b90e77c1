/**
 * The audit log: every mutation the index accepts and every refusal of the
 * retention engine, appended to a hash chain in the index. Each record's hash
 * covers its content and the previous record's hash, so editing, dropping or
 * reordering any record breaks the chain from there on; `deno task
 * audit-verify` walks it offline and names the first broken record.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { MetaResults } from "../channel/mod.ts";
import type { Db } from "./db.ts";

/** What one audit record says. */
export interface AuditEntry {
  /** Trusted time, ms since the epoch. */
  time: number;
  /** The index operation (for example `deleteObject`). */
  op: string;
  /** `/bucket[/key][?versionId=…]`. */
  target: string;
  /** Whether it was done or refused. */
  outcome: "done" | "refused";
  /** Why it was refused, or what was done (for example the new version id). */
  detail: string;
}

/** A stored record. */
export interface AuditRecord extends AuditEntry {
  seq: number;
  prev: Uint8Array;
  hash: Uint8Array;
}

const GENESIS: Uint8Array = new Uint8Array(32);

/**
 * The hash of a record: SHA-256 over the previous hash and the record's
 * fields in a fixed order.
 *
 * @param seq Sequence number.
 * @param entry The content.
 * @param prev The previous record's hash (32 zero bytes for the first).
 * @returns 32 bytes.
 */
export function auditHash(seq: number, entry: AuditEntry, prev: Uint8Array): Uint8Array {
  const h = createHash("sha256");
  h.update(prev);
  h.update(JSON.stringify([seq, entry.time, entry.op, entry.target, entry.outcome, entry.detail]));
  return new Uint8Array(h.digest());
}

/** Appends one record inside the caller's transaction. */
export function appendAudit(db: Db, entry: AuditEntry): void {
  const last = db.get<{ seq: number; hash: Uint8Array }>(
    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
  );
  const seq = (last?.seq ?? 0) + 1;
  const prev = last?.hash ?? GENESIS;
  db.run(
    "INSERT INTO audit(seq, time, op, target, outcome, detail, prev, hash) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
    seq,
    entry.time,
    entry.op,
    entry.target,
    entry.outcome,
    entry.detail,
    prev,
    auditHash(seq, entry, prev),
  );
}

/**
 * Checks a chain of records in sequence order.
 *
 * @param records Every record, in `seq` order.
 * @returns How many were checked and the first broken one, if any.
 */
export function verifyAudit(
  records: Iterable<AuditRecord>,
): { checked: number; brokenAt?: number; why?: string } {
  let prev: Uint8Array = GENESIS;
  let expectedSeq = 1;
  let checked = 0;
  for (const r of records) {
    if (r.seq !== expectedSeq) {
      return { checked, brokenAt: expectedSeq, why: `record ${expectedSeq} is missing` };
    }
    if (Buffer.compare(r.prev, prev) !== 0) {
      return { checked, brokenAt: r.seq, why: "it does not follow the previous record" };
    }
    if (Buffer.compare(auditHash(r.seq, r, prev), r.hash) !== 0) {
      return { checked, brokenAt: r.seq, why: "its content does not match its hash" };
    }
    prev = r.hash;
    expectedSeq++;
    checked++;
  }
  return { checked };
}

/** Names a request's target for the log. */
export function auditTarget(req: { bucket?: string; key?: string; versionId?: string }): string {
  return `/${req.bucket ?? ""}${req.key !== undefined ? `/${req.key}` : ""}${
    req.versionId !== undefined ? `?versionId=${req.versionId}` : ""
  }`;
}

/** Most audit records one export page holds. */
const AUDIT_EXPORT_MAX = 10_000;

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

/**
 * A page of the audit log after record `since`, with the seals among it.
 *
 * @param db The index.
 * @param req Where to start, how many records at most, and the signing key to name.
 * @returns Records and seals with binary fields in hex, and where the next page starts.
 */
export function exportAudit(
  db: Db,
  req: { since: number; limit: number; publicKey: Uint8Array },
): MetaResults["exportAudit"] {
  const n = Math.max(1, Math.min(req.limit, AUDIT_EXPORT_MAX));
  const records = db.all<AuditRecord>(
    "SELECT seq, time, op, target, outcome, detail, prev, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
    req.since,
    n + 1,
  );
  const more = records.length > n;
  if (more) records.pop();
  const last = records.at(-1)?.seq ?? req.since;
  const seals = db.all<{ seq: number; time: number; hash: Uint8Array; signature: Uint8Array }>(
    "SELECT seq, time, hash, signature FROM audit_seals WHERE seq > ? AND seq <= ? ORDER BY seq",
    req.since,
    last,
  );
  return {
    publicKey: hex(req.publicKey),
    records: records.map((r) => ({ ...r, prev: hex(r.prev), hash: hex(r.hash) })),
    seals: seals.map((s) => ({ ...s, hash: hex(s.hash), signature: hex(s.signature) })),
    next: more ? last : undefined,
  };
}
