/**
 * Seals on the audit chain: every so often the vault signs the hash of the
 * newest audit record with its Ed25519 signing key. The chain alone shows an
 * edit unless the editor recomputes every later hash; a seal pins the chain up
 * to its record, and nobody without the vault key can make a new one.
 *
 * The signing key is derived from the vault's index key, so it needs no
 * storage of its own and is lost with the vault key. The public key is stored
 * with every seal so `audit-verify` works offline; pin it with
 * `--public-key` (printed at start-up and by `GET /admin/audit`) so a
 * re-signed log with a key of the attacker's own is caught too.
 *
 * @module
 */

import { hkdfSync } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import type { Db } from "./db.ts";

/** HKDF label of the audit signing key; changing it changes the key. */
const AUDIT_SIGNING_LABEL = "amber/v1/audit-signing";
const SEAL_CONTEXT = "amber-audit-seal-v1";

/** How often new audit records are sealed with the vault's signing key (and at every shutdown). */
export const AUDIT_SEAL_INTERVAL_MS = 60_000;

/**
 * Longest a record stays unsealed in a vault that seals as it should: a seal's period, once more
 * for a seal that failed, and slack. A longer unsealed tail means seals were removed (or sealing
 * stopped), and the records in it are only as trustworthy as the disk.
 */
export const UNSEALED_TAIL_MAX_MS = 3 * AUDIT_SEAL_INTERVAL_MS;

/** The vault's audit signing key pair. */
export interface AuditSigner {
  /** Ed25519 secret key (32 bytes). */
  secretKey: Uint8Array;
  /** Ed25519 public key (32 bytes). */
  publicKey: Uint8Array;
}

/** A stored seal: the signature over the hash of record `seq`. */
export interface AuditSeal {
  seq: number;
  hash: Uint8Array;
  time: number;
  publicKey: Uint8Array;
  signature: Uint8Array;
}

/**
 * Derives the audit signing key pair from the index key.
 *
 * @param indexKey The keyring's 32-byte index key.
 * @returns The key pair.
 *
 * @example
 * ```ts
 * import { auditSigner } from "./audit_seal.ts";
 * const a = auditSigner(new Uint8Array(32));
 * if (a.publicKey.length !== 32) throw new Error("not an Ed25519 key");
 * ```
 */
export function auditSigner(indexKey: Uint8Array): AuditSigner {
  const secretKey = new Uint8Array(
    hkdfSync("sha256", indexKey, new Uint8Array(0), AUDIT_SIGNING_LABEL, 32),
  );
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

/** The bytes a seal signs: context, record number, record hash and time. */
function sealMessage(seq: number, hash: Uint8Array, time: number): Uint8Array {
  const head = new TextEncoder().encode(`${SEAL_CONTEXT}\n${seq}\n${time}\n`);
  const out = new Uint8Array(head.length + hash.length);
  out.set(head);
  out.set(hash, head.length);
  return out;
}

/**
 * Seals the chain up to its newest record, inside the caller's transaction.
 *
 * @param db The index.
 * @param signer The vault's signing key.
 * @param time Trusted time of the seal, ms.
 * @returns The new seal, or undefined when nothing was added since the last one.
 */
export function sealAudit(db: Db, signer: AuditSigner, time: number): AuditSeal | undefined {
  const last = db.get<{ seq: number; hash: Uint8Array }>(
    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
  );
  if (!last) return undefined;
  const sealed = db.get<{ seq: number }>("SELECT max(seq) AS seq FROM audit_seals");
  if (sealed?.seq !== null && sealed?.seq !== undefined && sealed.seq >= last.seq) return undefined;
  const signature = ed25519.sign(sealMessage(last.seq, last.hash, time), signer.secretKey);
  db.run(
    "INSERT INTO audit_seals(seq, hash, time, public_key, signature) VALUES(?, ?, ?, ?, ?)",
    last.seq,
    last.hash,
    time,
    signer.publicKey,
    signature,
  );
  return { seq: last.seq, hash: last.hash, time, publicKey: signer.publicKey, signature };
}

/** What checking the seals found. */
export interface SealCheck {
  /** Seals whose signature and hash both hold. */
  valid: number;
  /** The newest record a valid seal covers (0 when none). */
  sealedThrough: number;
  /** The first bad seal and why, if any. */
  broken?: { seq: number; why: string };
}

/**
 * Checks seals against the chain's record hashes.
 *
 * @param seals Every seal, in `seq` order.
 * @param hashAt The chain's hash of record `seq` (already verified), or undefined if there is none.
 * @param pinnedPublicKey The key every seal must be made with; without it, all seals must share one key.
 * @returns How many seals hold, how far they reach, and the first bad one.
 */
export function verifySeals(
  seals: Iterable<AuditSeal>,
  hashAt: (seq: number) => Uint8Array | undefined,
  pinnedPublicKey?: Uint8Array,
): SealCheck {
  let key = pinnedPublicKey;
  let valid = 0;
  let sealedThrough = 0;
  for (const s of seals) {
    const fail = (why: string): SealCheck => ({
      valid,
      sealedThrough,
      broken: { seq: s.seq, why },
    });
    key ??= s.publicKey;
    if (Buffer.compare(key, s.publicKey) !== 0) {
      return fail(
        pinnedPublicKey
          ? "it is signed with a key other than the pinned public key"
          : "it is signed with a different key than earlier seals",
      );
    }
    let ok = false;
    try {
      ok = ed25519.verify(s.signature, sealMessage(s.seq, s.hash, s.time), s.publicKey);
    } catch {
      ok = false;
    }
    if (!ok) return fail("its signature does not verify");
    const hash = hashAt(s.seq);
    if (hash === undefined) return fail("the record it seals is missing");
    if (Buffer.compare(hash, s.hash) !== 0) return fail("the record it seals has changed");
    valid++;
    sealedThrough = s.seq;
  }
  return { valid, sealedThrough };
}
