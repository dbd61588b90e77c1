import assert from "node:assert/strict";
import { auditHash, type AuditRecord, verifyAudit } from "./audit.ts";

function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev: Uint8Array = new Uint8Array(32);
  for (let seq = 1; seq <= n; seq++) {
    const entry = {
      time: seq * 1000,
      op: "deleteObject",
      target: `/b/k${seq}`,
      outcome: "done" as const,
      detail: "",
    };
    const hash = auditHash(seq, entry, prev);
    out.push({ ...entry, seq, prev, hash });
    prev = hash;
  }
  return out;
}

Deno.test("verifyAudit - an intact chain verifies", () => {
  assert.deepEqual(verifyAudit(chain(50)), { checked: 50 });
  assert.deepEqual(verifyAudit([]), { checked: 0 });
});

Deno.test("verifyAudit - an edited, dropped or reordered record is named", () => {
  const edited = chain(10);
  edited[6] = { ...edited[6], target: "/b/other" };
  assert.equal(verifyAudit(edited).brokenAt, 7);
  const dropped = chain(10).filter((r) => r.seq !== 4);
  assert.equal(verifyAudit(dropped).brokenAt, 4);
  const swapped = chain(10);
  [swapped[2], swapped[3]] = [swapped[3], swapped[2]];
  assert.equal(verifyAudit(swapped).brokenAt, 3);
  const rehashed = chain(10);
  // Re-hashing an edited record alone does not help: the next record no longer follows it.
  const e = { ...rehashed[4], outcome: "refused" as const };
  rehashed[4] = { ...e, hash: auditHash(5, e, rehashed[4].prev) };
  assert.equal(verifyAudit(rehashed).brokenAt, 6);
});
