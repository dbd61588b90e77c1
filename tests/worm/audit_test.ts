/**
 * The audit log: mutations and refusals are chained, the chain verifies
 * offline, and editing one byte of one record is pinpointed.
 */
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertOk, assertS3Error, signedFetch } from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";
import { type AuditEntry, auditHash } from "../../src/meta/audit.ts";

const VERIFY = new URL("../../tools/audit_verify.ts", import.meta.url).pathname;

async function verify(dataDir: string, ...extra: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", VERIFY, dataDir, ...extra],
  }).output();
  return {
    code: r.code,
    out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr),
  };
}

Deno.test({
  name: "audit-verify - mutations and refusals are chained; one edited byte is named",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault();
    const s3 = s3For(vault);
    let publicKey = "";
    try {
      await s3.send(
        new CreateBucketCommand({ Bucket: "audited", ObjectLockEnabledForBucket: true }),
      );
      const v = await s3.send(
        new PutObjectCommand({
          Bucket: "audited",
          Key: "k",
          Body: "x",
          ObjectLockMode: "COMPLIANCE",
          ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000),
        }),
      );
      await assertS3Error(
        s3.send(new DeleteObjectCommand({ Bucket: "audited", Key: "k", VersionId: v.VersionId })),
        "AccessDenied",
        403,
      );
      await s3.send(new DeleteObjectCommand({ Bucket: "audited", Key: "k" }));
      const res = await signedFetch(vault, s3, {
        method: "GET",
        path: "/admin/audit",
        query: { since: "1", limit: "2" },
      });
      const page = await res.json();
      assertEquals(res.status, 200, JSON.stringify(page));
      assertEquals(page.records.map((r: { seq: number }) => r.seq), [2, 3]);
      assertEquals(page.records[1].outcome, "refused");
      assertEquals(page.next, 3);
      publicKey = page.publicKey;
      assertOk(/^[0-9a-f]{64}$/.test(publicKey), publicKey);
      const unsigned = await fetch(`${vault.endpoint}/admin/audit`);
      assertEquals(unsigned.status, 403);
      assertEquals((await unsigned.json()).error.code, "AccessDenied");
    } finally {
      s3.destroy();
      assertEquals(await vault.stop(), 0);
    }
    // A clean stop seals the chain through its last record.
    const ok = await verify(vault.dataDir, "--public-key", publicKey);
    assertEquals(ok.code, 0, ok.out);
    assertOk(
      /5 records, chain intact, 1 seals valid \(sealed through record 5; 0 newer/.test(ok.out),
      ok.out,
    );
    const otherKey = await verify(vault.dataDir, "--public-key", "ab".repeat(32));
    assertEquals(otherKey.code, 1, otherKey.out);
    assertOk(otherKey.out.includes("pinned public key"), otherKey.out);

    const db = new DatabaseSync(`${vault.dataDir}/meta/index.db`);
    const rows = db.prepare("SELECT seq, op, outcome FROM audit ORDER BY seq").all() as {
      seq: number;
      op: string;
      outcome: string;
    }[];
    assertEquals(rows.map((r) => `${r.op}:${r.outcome}`), [
      "createBucket:done",
      "putVersion:done",
      "deleteObject:refused",
      "deleteObject:done",
      "admin GET:refused",
    ]);
    // One byte of record 2's target, as someone with the disk might change it.
    db.prepare(
      "UPDATE audit SET target = replace(target, '/audited/k', '/audited/j') WHERE seq = 2",
    ).run();
    db.close();
    const broken = await verify(vault.dataDir);
    assertEquals(broken.code, 1, broken.out);
    assertOk(broken.out.includes("record 2 is broken"), broken.out);

    // Someone with the disk recomputes every hash after the edit: the chain holds, the seal does not.
    const rw = new DatabaseSync(`${vault.dataDir}/meta/index.db`);
    const all = rw.prepare(
      "SELECT seq, time, op, target, outcome, detail FROM audit ORDER BY seq",
    ).all() as unknown as (AuditEntry & { seq: number })[];
    let prev: Uint8Array = new Uint8Array(32);
    for (const r of all) {
      const hash = auditHash(r.seq, r, prev);
      rw.prepare("UPDATE audit SET prev = ?, hash = ? WHERE seq = ?").run(prev, hash, r.seq);
      prev = hash;
    }
    rw.close();
    const resealed = await verify(vault.dataDir);
    assertEquals(resealed.code, 1, resealed.out);
    assertOk(resealed.out.includes("the seal on record 5 is broken"), resealed.out);
  },
});
