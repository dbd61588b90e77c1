/**
 * Object Lock compared with AWS S3's documented behaviour: lock headers on
 * CreateMultipartUpload and CopyObject to a bucket without Object Lock,
 * GOVERNANCE to COMPLIANCE, retention reads, a Complete onto a locked key
 * (from the session-12 lock review).
 *
 * @module
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { assertEquals, assertOk, assertS3Error, bodyBytes } from "../helpers/assert_s3.ts";
import { vaultSuite } from "../helpers/assert_s3.ts";

const DAY = 86_400_000;
const inDays = (d: number) => new Date(Date.now() + d * DAY);

vaultSuite("Object Lock compared with AWS S3", async ({ t, s3 }) => {
  const L = "rc-locked";
  const P = "rc-plain";
  await s3.send(new CreateBucketCommand({ Bucket: L, ObjectLockEnabledForBucket: true }));
  await s3.send(new CreateBucketCommand({ Bucket: P }));

  await t.step(
    "CreateMultipartUpload - lock headers on a bucket without Object Lock are InvalidRequest at once",
    async () => {
      const r = await s3.send(
        new CreateMultipartUploadCommand({
          Bucket: P,
          Key: "mpu",
          ObjectLockMode: "GOVERNANCE",
          ObjectLockRetainUntilDate: inDays(1),
        }),
      ).then((r) => r, (e) => e as { name: string });
      let late = "";
      if ("UploadId" in r && r.UploadId) {
        const part = await s3.send(
          new UploadPartCommand({
            Bucket: P,
            Key: "mpu",
            UploadId: r.UploadId,
            PartNumber: 1,
            Body: "p",
          }),
        );
        late = await s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: P,
            Key: "mpu",
            UploadId: r.UploadId,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
          }),
        ).then(() => "completed", (e) => `${(e as Error).name}: ${(e as Error).message}`);
        await s3.send(
          new AbortMultipartUploadCommand({ Bucket: P, Key: "mpu", UploadId: r.UploadId }),
        )
          .catch(() => undefined);
      }
      assertEquals(
        (r as { name?: string }).name,
        "InvalidRequest",
        `the upload was accepted, parts too; CompleteMultipartUpload then gave: ${late}`,
      );
    },
  );

  await t.step(
    "PutObjectRetention - GOVERNANCE to COMPLIANCE needs the bypass; extending GOVERNANCE does not",
    async () => {
      const v = (await s3.send(
        new PutObjectCommand({
          Bucket: L,
          Key: "gov",
          Body: "g",
          ObjectLockMode: "GOVERNANCE",
          ObjectLockRetainUntilDate: inDays(1),
        }),
      )).VersionId!;
      await s3.send(
        new PutObjectRetentionCommand({
          Bucket: L,
          Key: "gov",
          VersionId: v,
          Retention: { Mode: "GOVERNANCE", RetainUntilDate: inDays(2) },
        }),
      );
      await assertS3Error(
        s3.send(
          new PutObjectRetentionCommand({
            Bucket: L,
            Key: "gov",
            VersionId: v,
            Retention: { Mode: "COMPLIANCE", RetainUntilDate: inDays(3) },
          }),
        ),
        "AccessDenied",
        403,
      );
      await s3.send(
        new PutObjectRetentionCommand({
          Bucket: L,
          Key: "gov",
          VersionId: v,
          BypassGovernanceRetention: true,
          Retention: { Mode: "COMPLIANCE", RetainUntilDate: inDays(3) },
        }),
      );
      const h = await s3.send(new HeadObjectCommand({ Bucket: L, Key: "gov", VersionId: v }));
      assertEquals(h.ObjectLockMode, "COMPLIANCE");
      await assertS3Error(
        s3.send(
          new DeleteObjectCommand({
            Bucket: L,
            Key: "gov",
            VersionId: v,
            BypassGovernanceRetention: true,
          }),
        ),
        "AccessDenied",
        403,
      );
    },
  );

  await t.step(
    "GetObjectRetention - a version without retention is NoSuchObjectLockConfiguration",
    async () => {
      await s3.send(new PutObjectCommand({ Bucket: L, Key: "nohold", Body: "n" }));
      await assertS3Error(
        s3.send(new GetObjectRetentionCommand({ Bucket: L, Key: "nohold" })),
        "NoSuchObjectLockConfiguration",
        404,
      );
    },
  );

  await t.step(
    "CopyObject - lock headers onto a bucket without Object Lock are InvalidRequest; the copy takes the destination default, not the source's lock",
    async () => {
      await s3.send(new PutObjectCommand({ Bucket: P, Key: "src", Body: "s" }));
      await assertS3Error(
        s3.send(
          new CopyObjectCommand({
            Bucket: P,
            Key: "dst",
            CopySource: `${L}/gov`,
            ObjectLockMode: "GOVERNANCE",
            ObjectLockRetainUntilDate: inDays(1),
          }),
        ),
        "InvalidRequest",
        400,
      );
      await s3.send(new CopyObjectCommand({ Bucket: P, Key: "dst", CopySource: `${L}/gov` }));
      const h = await s3.send(new HeadObjectCommand({ Bucket: P, Key: "dst" }));
      assertEquals(h.ObjectLockMode, undefined);
    },
  );

  await t.step(
    "Multipart - Complete onto a key whose current version is locked makes a new version; default retention applies",
    async () => {
      await s3.send(
        new PutObjectLockConfigurationCommand({
          Bucket: L,
          ObjectLockConfiguration: {
            ObjectLockEnabled: "Enabled",
            Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 2 } },
          },
        }),
      );
      const first = (await s3.send(new PutObjectCommand({ Bucket: L, Key: "mp", Body: "one" })))
        .VersionId!;
      const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: L, Key: "mp" }));
      const part = await s3.send(
        new UploadPartCommand({
          Bucket: L,
          Key: "mp",
          UploadId: up.UploadId,
          PartNumber: 1,
          Body: "two",
        }),
      );
      const done = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: L,
          Key: "mp",
          UploadId: up.UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
      assertOk(done.VersionId && done.VersionId !== first);
      const h = await s3.send(new HeadObjectCommand({ Bucket: L, Key: "mp" }));
      assertEquals(h.ObjectLockMode, "COMPLIANCE");
      const old = await s3.send(new GetObjectCommand({ Bucket: L, Key: "mp", VersionId: first }));
      assertEquals(new TextDecoder().decode(await bodyBytes(old.Body)), "one");
    },
  );
});
