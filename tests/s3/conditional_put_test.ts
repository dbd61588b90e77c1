/**
 * Conditional writes (PutObject If-None-Match / If-Match) over the AWS SDK v3.
 */
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import {
  assertEquals,
  assertS3Error,
  bodyBytes,
  md5Hex,
  vaultSuite,
} from "../helpers/assert_s3.ts";

const B = "cond-bucket";

vaultSuite("S3 conditional writes", async ({ t, s3 }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  const text = async (key: string) => {
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
    return new TextDecoder().decode(await bodyBytes(g.Body));
  };

  await t.step("PutObject - If-None-Match * creates a missing key", async () => {
    const r = await s3.send(
      new PutObjectCommand({ Bucket: B, Key: "once", Body: "first", IfNoneMatch: "*" }),
    );
    assertEquals(r.$metadata.httpStatusCode, 200);
    assertEquals(await text("once"), "first");
  });

  await t.step("PutObject - If-None-Match * on an existing key is PreconditionFailed", async () => {
    await assertS3Error(
      s3.send(new PutObjectCommand({ Bucket: B, Key: "once", Body: "second", IfNoneMatch: "*" })),
      "PreconditionFailed",
      412,
    );
    assertEquals(await text("once"), "first");
  });

  await t.step("PutObject - If-Match with the current ETag overwrites", async () => {
    const r = await s3.send(
      new PutObjectCommand({
        Bucket: B,
        Key: "once",
        Body: "third",
        IfMatch: `"${md5Hex("first")}"`,
      }),
    );
    assertEquals(r.ETag, `"${md5Hex("third")}"`);
    assertEquals(await text("once"), "third");
  });

  await t.step("PutObject - If-Match with a stale ETag is PreconditionFailed", async () => {
    await assertS3Error(
      s3.send(
        new PutObjectCommand({
          Bucket: B,
          Key: "once",
          Body: "fourth",
          IfMatch: `"${md5Hex("first")}"`,
        }),
      ),
      "PreconditionFailed",
      412,
    );
    assertEquals(await text("once"), "third");
  });

  await t.step("PutObject - If-Match on a missing key is NoSuchKey", async () => {
    await assertS3Error(
      s3.send(new PutObjectCommand({ Bucket: B, Key: "absent", Body: "x", IfMatch: '"abc"' })),
      "NoSuchKey",
      404,
    );
  });

  await t.step("PutObject - concurrent If-None-Match * writes: exactly one wins", async () => {
    const results = await Promise.allSettled(
      Array.from(
        { length: 8 },
        (_, i) =>
          s3.send(
            new PutObjectCommand({ Bucket: B, Key: "race", Body: `w${i}`, IfNoneMatch: "*" }),
          ),
      ),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    assertEquals(won.length, 1, "exactly one conditional create succeeds");
    for (const r of results) {
      if (r.status === "rejected") {
        const e = r.reason as { name: string; $metadata?: { httpStatusCode?: number } };
        // S3 answers a losing concurrent conditional write with 412 or 409 ConditionalRequestConflict.
        assertEquals(
          ["PreconditionFailed", "ConditionalRequestConflict"].includes(e.name),
          true,
          `unexpected ${e.name}`,
        );
      }
    }
  });

  await t.step(
    "CompleteMultipartUpload - If-None-Match * on an existing key is PreconditionFailed",
    async () => {
      const mp = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: "once" }));
      const p = await s3.send(
        new UploadPartCommand({
          Bucket: B,
          Key: "once",
          UploadId: mp.UploadId,
          PartNumber: 1,
          Body: "mp",
        }),
      );
      await assertS3Error(
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: B,
            Key: "once",
            UploadId: mp.UploadId,
            IfNoneMatch: "*",
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.ETag }] },
          }),
        ),
        "PreconditionFailed",
        412,
      );
      assertEquals(await text("once"), "third");
    },
  );
});
