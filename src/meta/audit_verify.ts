/**
 * Offline verification of a vault's audit log: the hash chain record by
 * record, then every Ed25519 seal against the chain. Opens the index
 * read-only, so it runs beside a live vault or on a copy of its disks.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { type AuditRecord, verifyAudit } from "./audit.ts";
import { type AuditSeal, UNSEALED_TAIL_MAX_MS, verifySeals } from "./audit_seal.ts";

/** The outcome of {@linkcode verifyAuditLog}. */
export interface AuditVerification {
  /** Whether the chain and every seal hold. */
  ok: boolean;
  /** One line for a person. */
  summary: string;
  /** Records checked. */
  records: number;
  /** The newest record covered by a valid seal. */
  sealedThrough: number;
}

/** Path of the index inside a data dir. */
export function indexPath(dataDir: string): string {
  return `${dataDir}/meta/index.db`;
}

/**
 * Verifies the audit log of the vault in `dataDir`.
 *
 * @param dataDir The vault's data dir.
 * @param opts `publicKey`: the signing key (hex) every seal must be made with.
 * @returns Whether the log holds, and a one-line summary naming the first broken record or seal.
 * @throws If the index cannot be opened.
 */
export function verifyAuditLog(
  dataDir: string,
  opts: { publicKey?: Uint8Array } = {},
): AuditVerification {
  const db = new DatabaseSync(indexPath(dataDir), { readOnly: true });
  try {
    const started = performance.now();
    const seals = db.prepare(
      "SELECT seq, hash, time, public_key AS publicKey, signature FROM audit_seals ORDER BY seq",
    ).all() as unknown as AuditSeal[];
    const sealed = new Set(seals.map((s) => s.seq));
    const hashes = new Map<number, Uint8Array>();
    const rows = db.prepare(
      "SELECT seq, time, op, target, outcome, detail, prev, hash FROM audit ORDER BY seq",
    ).iterate() as Iterable<AuditRecord>;
    const chain = verifyAudit(remember(rows, sealed, hashes));
    if (chain.brokenAt !== undefined) {
      return {
        ok: false,
        records: chain.checked,
        sealedThrough: 0,
        summary:
          `record ${chain.brokenAt} is broken: ${chain.why} (${chain.checked} records before it are intact)`,
      };
    }
    const check = verifySeals(seals, (seq) => hashes.get(seq), opts.publicKey);
    const ms = performance.now() - started;
    if (check.broken) {
      return {
        ok: false,
        records: chain.checked,
        sealedThrough: check.sealedThrough,
        summary: `the seal on record ${check.broken.seq} is broken: ${check.broken.why}` +
          ` (records up to ${check.broken.seq} may have been rewritten)`,
      };
    }
    const unsealed = chain.checked - check.sealedThrough;
    // Seals are plain rows: someone with the disk who rewrites records can delete the seals over
    // them too. The vault seals what is new every minute and at shutdown, so the records it leaves
    // unsealed (a kill, a power cut) were all written within about a minute of each other.
    const times = db.prepare(
      "SELECT min(time) AS first, max(time) AS last FROM audit WHERE seq > ?",
    ).get(check.sealedThrough) as { first: number | null; last: number | null };
    if (unsealed > 0 && times.first !== null && times.last !== null) {
      const span = times.last - times.first;
      if (span > UNSEALED_TAIL_MAX_MS) {
        return {
          ok: false,
          records: chain.checked,
          sealedThrough: check.sealedThrough,
          summary: `the ${unsealed} records after record ${check.sealedThrough} are unsealed and ` +
            `span ${Math.round(span / 1000)} s, longer than the vault leaves records unsealed ` +
            `(${UNSEALED_TAIL_MAX_MS / 1000} s): seals were removed, or sealing stopped`,
        };
      }
    }
    return {
      ok: true,
      records: chain.checked,
      sealedThrough: check.sealedThrough,
      summary: `${chain.checked} records, chain intact, ${check.valid} seals valid` +
        ` (sealed through record ${check.sealedThrough}; ${unsealed} newer records unsealed)` +
        ` (${ms.toFixed(0)} ms)`,
    };
  } finally {
    db.close();
  }
}

/** Passes records through, keeping the hashes of the sealed ones. */
function* remember(
  rows: Iterable<AuditRecord>,
  sealed: Set<number>,
  hashes: Map<number, Uint8Array>,
): Generator<AuditRecord> {
  for (const r of rows) {
    if (sealed.has(r.seq)) hashes.set(r.seq, r.hash);
    yield r;
  }
}
