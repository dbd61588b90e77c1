/**
 * An owner key using the admin API cannot raise itself: not by changing its
 * own record, not by adding a key with rights it lacks, not by setting the
 * secret of a key that holds them.
 */
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { assertEquals, assertOk, assertS3Error, signedFetch } from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";

const TOKEN = "grant-escalation-admin-token-0123";

Deno.test({
  name:
    "Admin keys - an owner key grants only rights it holds, and cannot change its own key or take over a stronger one",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({ env: { AMBER_ADMIN_TOKEN: TOKEN } });
    const root = s3For(vault);
    const byToken = (method: string, path: string, body: unknown) =>
      fetch(`${vault.endpoint}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(body),
      });
    const ops = s3For(vault, {
      credentials: { accessKeyId: "ops", secretAccessKey: "ops-secret-0123456" },
    });
    const byOps = (method: string, path: string, body: unknown) =>
      signedFetch(vault, ops, { method, path, body: JSON.stringify(body) });
    const refused = async (r: Response, what: string) => {
      const text = await r.text();
      assertEquals(r.status, 403, `${what}: ${text}`);
      assertOk(/AccessDenied/.test(text), text);
    };
    try {
      await root.send(new CreateBucketCommand({ Bucket: "gov", ObjectLockEnabledForBucket: true }));
      const put = await root.send(
        new PutObjectCommand({
          Bucket: "gov",
          Key: "db.bak",
          Body: "precious",
          ObjectLockMode: "GOVERNANCE",
          ObjectLockRetainUntilDate: new Date(Date.now() + 30 * 86_400_000),
        }),
      );
      for (
        const key of [
          { accessKey: "ops", secretKey: "ops-secret-0123456", level: "owner" },
          {
            accessKey: "breaker",
            secretKey: "breaker-secret-0123",
            level: "write",
            bypassGovernance: true,
          },
        ]
      ) {
        const added = await byToken("POST", "/admin/keys", key);
        assertEquals(added.status, 201, await added.text());
      }
      await refused(await byOps("PATCH", "/admin/keys/ops", { bypassGovernance: true }), "self");
      await refused(
        await byOps("POST", "/admin/keys", {
          accessKey: "ops2",
          secretKey: "ops2-secret-0123",
          level: "owner",
          bypassGovernance: true,
        }),
        "a new key with the bypass right",
      );
      await refused(
        await byOps("PATCH", "/admin/keys/breaker", { secretKey: "known-secret-0123" }),
        "the secret of a key that holds the bypass right",
      );
      await refused(
        await byOps("PATCH", "/admin/keys/breaker", { level: "owner" }),
        "a change that leaves the bypass right with that key",
      );
      // What it holds, it may pass on; what it lacks, it may take away.
      const plain = await byOps("POST", "/admin/keys", {
        accessKey: "reader",
        secretKey: "reader-secret-0123",
        level: "read",
      });
      assertEquals(plain.status, 201, await plain.text());
      const lowered = await byOps("PATCH", "/admin/keys/breaker", { bypassGovernance: false });
      assertEquals(lowered.status, 200, await lowered.text());
      await assertS3Error(
        ops.send(
          new DeleteObjectCommand({
            Bucket: "gov",
            Key: "db.bak",
            VersionId: put.VersionId,
            BypassGovernanceRetention: true,
          }),
        ),
        "AccessDenied",
        403,
      );
      // The admin token is not a key: it grants the right.
      const granted = await byToken("PATCH", "/admin/keys/ops", { bypassGovernance: true });
      assertEquals(granted.status, 200, await granted.text());
    } finally {
      ops.destroy();
      root.destroy();
      await vault.stop();
    }
  },
});
