/**
 * An append-level key changes no retention: on its own new versions in a
 * bucket with a default retention it may ask for a longer or stronger lock,
 * never a weaker one.
 */
import {
  CreateBucketCommand,
  GetObjectRetentionCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
} from "@aws-sdk/client-s3";
import { assertEquals, assertOk, assertS3Error } from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";

const TOKEN = "append-lock-admin-token-0123";
const DAY = 86_400_000;

Deno.test({
  name:
    "Object Lock - an append key cannot lock a new version less than the bucket's default retention",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({ env: { AMBER_ADMIN_TOKEN: TOKEN } });
    const root = s3For(vault);
    const backup = s3For(vault, {
      credentials: { accessKeyId: "backup", secretAccessKey: "backup-secret-0123" },
    });
    try {
      await root.send(
        new CreateBucketCommand({ Bucket: "vault", ObjectLockEnabledForBucket: true }),
      );
      await root.send(
        new PutObjectLockConfigurationCommand({
          Bucket: "vault",
          ObjectLockConfiguration: {
            ObjectLockEnabled: "Enabled",
            Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 1 } },
          },
        }),
      );
      const added = await fetch(`${vault.endpoint}/admin/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({
          accessKey: "backup",
          secretKey: "backup-secret-0123",
          level: "append",
        }),
      });
      assertEquals(added.status, 201, await added.text());
      const put = (Key: string, lock?: { mode: "GOVERNANCE" | "COMPLIANCE"; ms: number }) =>
        backup.send(
          new PutObjectCommand({
            Bucket: "vault",
            Key,
            Body: "data",
            ...(lock
              ? {
                ObjectLockMode: lock.mode,
                ObjectLockRetainUntilDate: new Date(Date.now() + lock.ms),
              }
              : {}),
          }),
        );
      await assertS3Error(
        put("weaker-mode", { mode: "GOVERNANCE", ms: 2 * DAY }),
        "AccessDenied",
        403,
      );
      await assertS3Error(put("shorter", { mode: "COMPLIANCE", ms: 1000 }), "AccessDenied", 403);
      const longer = await put("longer", { mode: "COMPLIANCE", ms: 2 * DAY });
      const plain = await put("plain");
      for (
        const [Key, v, atLeast] of [["longer", longer, 2 * DAY], ["plain", plain, DAY]] as const
      ) {
        const r = await root.send(
          new GetObjectRetentionCommand({ Bucket: "vault", Key, VersionId: v.VersionId }),
        );
        assertEquals(r.Retention?.Mode, "COMPLIANCE");
        assertOk(r.Retention!.RetainUntilDate!.getTime() > Date.now() + atLeast - 60_000, Key);
      }
    } finally {
      backup.destroy();
      root.destroy();
      await vault.stop();
    }
  },
});
