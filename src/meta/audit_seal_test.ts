import assert from "node:assert/strict";
import { type AuditSeal, auditSigner, verifySeals } from "./audit_seal.ts";
import { Db } from "./db.ts";
import { appendAudit } from "./audit.ts";
import { sealAudit } from "./audit_seal.ts";

async function sealedIndex(records: number): Promise<{ seals: AuditSeal[]; hashes: Uint8Array[] }> {
  const dir = await Deno.makeTempDir();
  const db = new Db(`${dir}/index.db`);
  const signer = auditSigner(new Uint8Array(32).fill(1));
  const seals: AuditSeal[] = [];
  for (let i = 1; i <= records; i++) {
    appendAudit(db, { time: i, op: "putVersion", target: `/b/${i}`, outcome: "done", detail: "" });
    if (i % 3 === 0) seals.push(sealAudit(db, signer, i)!);
  }
  assert.equal(sealAudit(db, signer, records + 1) === undefined, records % 3 === 0);
  const hashes = db.all<{ hash: Uint8Array }>("SELECT hash FROM audit ORDER BY seq").map((r) =>
    r.hash
  );
  db.close();
  await Deno.remove(dir, { recursive: true });
  return { seals, hashes };
}

Deno.test("verifySeals - seals over an intact chain verify and reach the last sealed record", async () => {
  const { seals, hashes } = await sealedIndex(9);
  const r = verifySeals(seals, (seq) => hashes[seq - 1]);
  assert.deepEqual(r, { valid: 3, sealedThrough: 9 });
  const pinned = auditSigner(new Uint8Array(32).fill(1)).publicKey;
  assert.equal(verifySeals(seals, (seq) => hashes[seq - 1], pinned).valid, 3);
});

Deno.test("verifySeals - a forged, moved, re-keyed or orphaned seal is named", async () => {
  const { seals, hashes } = await sealedIndex(9);
  const at = (seq: number) => hashes[seq - 1];
  const forged = seals.map((s, i) =>
    i === 1 ? { ...s, signature: s.signature.map((b, j) => j === 0 ? b ^ 1 : b) } : s
  );
  assert.deepEqual(verifySeals(forged, at).broken, {
    seq: 6,
    why: "its signature does not verify",
  });
  const moved = seals.map((s, i) => i === 1 ? { ...s, seq: 5 } : s);
  assert.equal(verifySeals(moved, at).broken?.seq, 5);
  const other = auditSigner(new Uint8Array(32).fill(2)).publicKey;
  assert.match(verifySeals(seals, at, other).broken!.why, /pinned public key/);
  const rewritten = (seq: number) => seq === 9 ? new Uint8Array(32) : at(seq);
  assert.deepEqual(verifySeals(seals, rewritten), {
    valid: 2,
    sealedThrough: 6,
    broken: { seq: 9, why: "the record it seals has changed" },
  });
  assert.match(verifySeals(seals, (seq) => seq < 9 ? at(seq) : undefined).broken!.why, /missing/);
});
