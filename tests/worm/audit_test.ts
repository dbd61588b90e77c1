/**
 * The audit log: mutations and refusals are chained, the chain verifies
 * offline, and editing one byte of one record is pinpointed.
 */
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertOk, assertS3Error } from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";

const VERIFY = new URL("../../tools/audit_verify.ts", import.meta.url).pathname;

async function verify(dataDir: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", VERIFY, dataDir],
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
    } finally {
      s3.destroy();
      assertEquals(await vault.stop(), 0);
    }
    const ok = await verify(vault.dataDir);
    assertEquals(ok.code, 0, ok.out);
    assertOk(/4 records, chain intact/.test(ok.out), ok.out);

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
    ]);
    // One byte of record 2's target, as someone with the disk might change it.
    db.prepare(
      "UPDATE audit SET target = replace(target, '/audited/k', '/audited/j') WHERE seq = 2",
    ).run();
    db.close();
    const broken = await verify(vault.dataDir);
    assertEquals(broken.code, 1, broken.out);
    assertOk(broken.out.includes("record 2 is broken"), broken.out);
  },
});
