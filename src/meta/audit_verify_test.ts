import assert from "node:assert/strict";
import { appendAudit, type AuditEntry, auditHash } from "./audit.ts";
import { auditSigner, sealAudit } from "./audit_seal.ts";
import { verifyAuditLog } from "./audit_verify.ts";
import { Db } from "./db.ts";

const KEY = new Uint8Array(32).fill(7);

/**
 * A data dir whose index holds 9 audit records a minute apart, sealed at 3, 6 and 9 (as a running
 * vault would), and `tail` records `idleMs` after the last seal, 20 s apart (a vault killed before
 * sealing them).
 */
async function sealedVault(tail = 0, idleMs = 0): Promise<string> {
  const dataDir = await Deno.makeTempDir();
  await Deno.mkdir(`${dataDir}/meta`);
  const db = new Db(`${dataDir}/meta/index.db`);
  const signer = auditSigner(KEY);
  for (let i = 1; i <= 9 + tail; i++) {
    appendAudit(db, {
      time: i <= 9 ? i * 60_000 : 9 * 60_000 + idleMs + (i - 9) * 20_000,
      op: "deleteObject",
      target: `/b/k${i}?versionId=v${i}`,
      outcome: "done",
      detail: "",
    });
    if (i % 3 === 0 && i <= 9) sealAudit(db, signer, i * 60_000);
  }
  db.close();
  return dataDir;
}

/** What an attacker with the disk does: drop seals after `keep`, edit a record, rehash the rest. */
function rewriteAfter(dataDir: string, keep: number, edit: number): void {
  const db = new Db(`${dataDir}/meta/index.db`);
  db.run("DELETE FROM audit_seals WHERE seq > ?", keep);
  db.run("UPDATE audit SET target = '/b/innocent' WHERE seq = ?", edit);
  const rows = db.all<AuditEntry & { seq: number; prev: Uint8Array }>(
    "SELECT seq, time, op, target, outcome, detail, prev FROM audit ORDER BY seq",
  );
  let prev: Uint8Array = new Uint8Array(32);
  for (const r of rows) {
    const h = auditHash(r.seq, r, prev);
    db.run("UPDATE audit SET prev = ?, hash = ? WHERE seq = ?", prev, h, r.seq);
    prev = h;
  }
  db.close();
}

Deno.test("verifyAuditLog - records rewritten after the seals over them were deleted fail: their unsealed tail is too long", async () => {
  const dataDir = await sealedVault();
  try {
    const pinned = auditSigner(KEY).publicKey;
    assert.equal(verifyAuditLog(dataDir, { publicKey: pinned }).ok, true);
    rewriteAfter(dataDir, 3, 5); // record 5 was sealed (by the seal on 6); that seal is deleted
    const r = verifyAuditLog(dataDir, { publicKey: pinned });
    assert.equal(r.ok, false, `a rewritten, once-sealed record verifies: ${r.summary}`);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("verifyAuditLog - a log whose every seal was deleted fails", async () => {
  const dataDir = await sealedVault();
  try {
    const pinned = auditSigner(KEY).publicKey;
    rewriteAfter(dataDir, 0, 2);
    const r = verifyAuditLog(dataDir, { publicKey: pinned });
    assert.equal(r.ok, false, `a fully re-hashed, unsealed log verifies: ${r.summary}`);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("verifyAuditLog - a vault killed before its next seal leaves a short unsealed tail, which passes", async () => {
  // Idle for an hour after its last seal, then three records and a kill.
  const dataDir = await sealedVault(3, 3_600_000);
  try {
    const r = verifyAuditLog(dataDir, { publicKey: auditSigner(KEY).publicKey });
    assert.equal(r.ok, true, r.summary);
    assert.equal(r.sealedThrough, 9);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
