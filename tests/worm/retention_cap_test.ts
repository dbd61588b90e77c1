/**
 * A bucket policy's `maxRetentionDays` caps the retention any write may set:
 * a stolen append key cannot lock junk in for a century (a lock bomb that
 * fills a quota'd bucket for good). New versions (PUT, copy, multipart),
 * PutObjectRetention extensions and the bucket's default retention are held
 * to it; a retention within it still works.
 *
 * @module
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { assertEquals, assertOk, assertS3Error } from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";
import { policyRequest, setPolicy } from "../quota/helpers.ts";

const TOKEN = "retention-cap-admin-token-0123";
const DAY = 86_400_000;

Deno.test({
  name: "Bucket policy - maxRetentionDays caps the retention an append key can set",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({ env: { AMBER_ADMIN_TOKEN: TOKEN } });
    const root = s3For(vault);
    const thief = s3For(vault, {
      credentials: { accessKeyId: "stolen", secretAccessKey: "stolen-secret-0123" },
    });
    try {
      await root.send(new CreateBucketCommand({ Bucket: "cap", ObjectLockEnabledForBucket: true }));
      const added = await fetch(`${vault.endpoint}/admin/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({
          accessKey: "stolen",
          secretKey: "stolen-secret-0123",
          level: "append",
        }),
      });
      assertEquals(added.status, 201, await added.text());
      await setPolicy(vault, root, "cap", { maxRetentionDays: 30 });

      const century = new Date(Date.now() + 36_000 * DAY);
      await assertS3Error(
        thief.send(
          new PutObjectCommand({
            Bucket: "cap",
            Key: "junk",
            Body: "junk",
            ContentMD5: "DIIfZ18TLXkLPyXnnac5pw==", // md5("junk")
            ObjectLockMode: "COMPLIANCE",
            ObjectLockRetainUntilDate: century,
          }),
        ),
        "AccessDenied",
        403,
      );
      const ok = await thief.send(
        new PutObjectCommand({
          Bucket: "cap",
          Key: "backup",
          Body: "junk",
          ContentMD5: "DIIfZ18TLXkLPyXnnac5pw==",
          ObjectLockMode: "COMPLIANCE",
          ObjectLockRetainUntilDate: new Date(Date.now() + 29 * DAY),
        }),
      );
      assertOk(ok.VersionId, "a retention within the cap is refused");

      // Extending a retention past the cap is refused too; within it, allowed.
      await assertS3Error(
        root.send(
          new PutObjectRetentionCommand({
            Bucket: "cap",
            Key: "backup",
            VersionId: ok.VersionId,
            Retention: { Mode: "COMPLIANCE", RetainUntilDate: century },
          }),
        ),
        "AccessDenied",
        403,
      );
      await root.send(
        new PutObjectRetentionCommand({
          Bucket: "cap",
          Key: "backup",
          VersionId: ok.VersionId,
          Retention: {
            Mode: "COMPLIANCE",
            RetainUntilDate: new Date(Date.now() + 30 * DAY - 60_000),
          },
        }),
      );

      // A copy and a multipart upload asking for a century are refused at their commit.
      await assertS3Error(
        root.send(
          new CopyObjectCommand({
            Bucket: "cap",
            Key: "copy",
            CopySource: "cap/backup",
            ObjectLockMode: "COMPLIANCE",
            ObjectLockRetainUntilDate: century,
          }),
        ),
        "AccessDenied",
        403,
      );
      const { UploadId } = await thief.send(
        new CreateMultipartUploadCommand({
          Bucket: "cap",
          Key: "parts",
          ObjectLockMode: "COMPLIANCE",
          ObjectLockRetainUntilDate: century,
        }),
      );
      const part = await thief.send(
        new UploadPartCommand({ Bucket: "cap", Key: "parts", UploadId, PartNumber: 1, Body: "p" }),
      );
      await assertS3Error(
        thief.send(
          new CompleteMultipartUploadCommand({
            Bucket: "cap",
            Key: "parts",
            UploadId,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
          }),
        ),
        "AccessDenied",
        403,
      );

      // The bucket's default retention must fit under the cap, and the cap over the default.
      await assertS3Error(
        root.send(
          new PutObjectLockConfigurationCommand({
            Bucket: "cap",
            ObjectLockConfiguration: {
              ObjectLockEnabled: "Enabled",
              Rule: { DefaultRetention: { Mode: "COMPLIANCE", Years: 1 } },
            },
          }),
        ),
        "AccessDenied",
        403,
      );
      await root.send(
        new PutObjectLockConfigurationCommand({
          Bucket: "cap",
          ObjectLockConfiguration: {
            ObjectLockEnabled: "Enabled",
            Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 7 } },
          },
        }),
      );
      const lower = await policyRequest(vault, root, "cap", "PUT", { maxRetentionDays: 3 });
      assertEquals(lower.status, 400, JSON.stringify(lower.body));
      assertOk(String(lower.body.error?.message).includes("default retention"));
      const defaulted = await thief.send(
        new PutObjectCommand({
          Bucket: "cap",
          Key: "nightly",
          Body: "junk",
          ContentMD5: "DIIfZ18TLXkLPyXnnac5pw==",
        }),
      );
      assertOk(defaulted.VersionId, "a write taking the default retention is refused");
    } finally {
      root.destroy();
      thief.destroy();
      await vault.stop();
    }
  },
});
