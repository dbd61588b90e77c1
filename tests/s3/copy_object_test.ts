/**
 * CopyObject over the AWS SDK v3: metadata directives, copy onto itself,
 * copy-source conditions.
 */
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  assertBytesEqual,
  assertEquals,
  assertOk,
  assertS3Error,
  bodyBytes,
  md5Hex,
  randomBytes,
  vaultSuite,
} from "../helpers/assert_s3.ts";

const B = "copy-src";
const D = "copy-dst";

vaultSuite("S3 CopyObject", async ({ t, s3 }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new CreateBucketCommand({ Bucket: D }));
  const data = randomBytes(200_000, 3);
  const put = await s3.send(
    new PutObjectCommand({
      Bucket: B,
      Key: "src",
      Body: data,
      ContentType: "image/png",
      CacheControl: "max-age=1",
      Metadata: { origin: "source" },
    }),
  );
  const srcHead = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "src" }));

  await t.step("CopyObject - default COPY directive keeps bytes and metadata", async () => {
    const r = await s3.send(
      new CopyObjectCommand({ Bucket: D, Key: "copied", CopySource: `${B}/src` }),
    );
    assertEquals(r.$metadata.httpStatusCode, 200);
    assertEquals(r.CopyObjectResult?.ETag, put.ETag);
    assertOk(r.CopyObjectResult?.LastModified instanceof Date, "LastModified missing");
    const g = await s3.send(new GetObjectCommand({ Bucket: D, Key: "copied" }));
    assertEquals(g.ContentType, "image/png");
    assertEquals(g.CacheControl, "max-age=1");
    assertEquals(g.Metadata, { origin: "source" });
    assertEquals(g.ETag, `"${md5Hex(data)}"`);
    assertBytesEqual(await bodyBytes(g.Body), data);
  });

  await t.step("CopyObject - COPY ignores metadata sent with the request", async () => {
    await s3.send(
      new CopyObjectCommand({
        Bucket: D,
        Key: "copied-2",
        CopySource: `/${B}/src`,
        MetadataDirective: "COPY",
        Metadata: { ignored: "yes" },
        ContentType: "text/ignored",
      }),
    );
    const h = await s3.send(new HeadObjectCommand({ Bucket: D, Key: "copied-2" }));
    assertEquals(h.Metadata, { origin: "source" });
    assertEquals(h.ContentType, "image/png");
  });

  await t.step("CopyObject - REPLACE directive takes the request's metadata", async () => {
    await s3.send(
      new CopyObjectCommand({
        Bucket: D,
        Key: "replaced",
        CopySource: `${B}/src`,
        MetadataDirective: "REPLACE",
        Metadata: { fresh: "1" },
        ContentType: "application/octet-stream",
      }),
    );
    const h = await s3.send(new HeadObjectCommand({ Bucket: D, Key: "replaced" }));
    assertEquals(h.Metadata, { fresh: "1" });
    assertEquals(h.ContentType, "application/octet-stream");
    assertEquals(h.CacheControl, undefined);
    assertEquals(h.ContentLength, data.length);
  });

  await t.step("CopyObject - onto itself with REPLACE changes the metadata", async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: B, Key: "self", Body: "self", Metadata: { v: "1" } }),
    );
    const r = await s3.send(
      new CopyObjectCommand({
        Bucket: B,
        Key: "self",
        CopySource: `${B}/self`,
        MetadataDirective: "REPLACE",
        Metadata: { v: "2" },
      }),
    );
    assertEquals(r.CopyObjectResult?.ETag, `"${md5Hex("self")}"`);
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "self" }));
    assertEquals(g.Metadata, { v: "2" });
    assertEquals(new TextDecoder().decode(await bodyBytes(g.Body)), "self");
  });

  await t.step("CopyObject - onto itself without changes is InvalidRequest", async () => {
    await assertS3Error(
      s3.send(new CopyObjectCommand({ Bucket: B, Key: "src", CopySource: `${B}/src` })),
      "InvalidRequest",
      400,
    );
  });

  await t.step("CopyObject - key with spaces and unicode in the copy source", async () => {
    const key = "dir/ünï cødé +%.txt";
    await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: "odd" }));
    await s3.send(
      new CopyObjectCommand({
        Bucket: D,
        Key: "odd-copy",
        CopySource: `${B}/${encodeURIComponent(key)}`,
      }),
    );
    const g = await s3.send(new GetObjectCommand({ Bucket: D, Key: "odd-copy" }));
    assertEquals(new TextDecoder().decode(await bodyBytes(g.Body)), "odd");
  });

  await t.step("CopyObject - missing source key is NoSuchKey", async () => {
    await assertS3Error(
      s3.send(new CopyObjectCommand({ Bucket: D, Key: "x", CopySource: `${B}/missing` })),
      "NoSuchKey",
      404,
    );
  });

  await t.step("CopyObject - missing source bucket is NoSuchBucket", async () => {
    await assertS3Error(
      s3.send(new CopyObjectCommand({ Bucket: D, Key: "x", CopySource: `no-such-bkt/src` })),
      "NoSuchBucket",
      404,
    );
  });

  await t.step("CopyObject - missing destination bucket is NoSuchBucket", async () => {
    await assertS3Error(
      s3.send(new CopyObjectCommand({ Bucket: "no-such-bkt", Key: "x", CopySource: `${B}/src` })),
      "NoSuchBucket",
      404,
    );
  });

  await t.step("CopyObject - x-amz-copy-source-if-match with the ETag copies", async () => {
    const r = await s3.send(
      new CopyObjectCommand({
        Bucket: D,
        Key: "if-match",
        CopySource: `${B}/src`,
        CopySourceIfMatch: put.ETag,
      }),
    );
    assertEquals(r.$metadata.httpStatusCode, 200);
  });

  await t.step(
    "CopyObject - x-amz-copy-source-if-match mismatch is PreconditionFailed",
    async () => {
      await assertS3Error(
        s3.send(
          new CopyObjectCommand({
            Bucket: D,
            Key: "if-match-bad",
            CopySource: `${B}/src`,
            CopySourceIfMatch: '"00000000000000000000000000000000"',
          }),
        ),
        "PreconditionFailed",
        412,
      );
      await assertS3Error(
        s3.send(new HeadObjectCommand({ Bucket: D, Key: "if-match-bad" })),
        "NotFound",
        404,
      );
    },
  );

  await t.step(
    "CopyObject - x-amz-copy-source-if-none-match with the ETag is PreconditionFailed",
    async () => {
      await assertS3Error(
        s3.send(
          new CopyObjectCommand({
            Bucket: D,
            Key: "if-none-match",
            CopySource: `${B}/src`,
            CopySourceIfNoneMatch: put.ETag,
          }),
        ),
        "PreconditionFailed",
        412,
      );
    },
  );

  await t.step(
    "CopyObject - x-amz-copy-source-if-modified-since in the future is PreconditionFailed",
    async () => {
      await assertS3Error(
        s3.send(
          new CopyObjectCommand({
            Bucket: D,
            Key: "if-modified",
            CopySource: `${B}/src`,
            CopySourceIfModifiedSince: new Date(srcHead.LastModified!.getTime() + 60_000),
          }),
        ),
        "PreconditionFailed",
        412,
      );
    },
  );

  await t.step(
    "CopyObject - x-amz-copy-source-if-unmodified-since in the past is PreconditionFailed",
    async () => {
      await assertS3Error(
        s3.send(
          new CopyObjectCommand({
            Bucket: D,
            Key: "if-unmodified",
            CopySource: `${B}/src`,
            CopySourceIfUnmodifiedSince: new Date(srcHead.LastModified!.getTime() - 60_000),
          }),
        ),
        "PreconditionFailed",
        412,
      );
      const ok = await s3.send(
        new CopyObjectCommand({
          Bucket: D,
          Key: "if-unmodified",
          CopySource: `${B}/src`,
          CopySourceIfUnmodifiedSince: new Date(srcHead.LastModified!.getTime() + 60_000),
        }),
      );
      assertEquals(ok.$metadata.httpStatusCode, 200);
    },
  );

  await t.step("CopyObject - invalid metadata directive is InvalidArgument", async () => {
    await assertS3Error(
      s3.send(
        new CopyObjectCommand({
          Bucket: D,
          Key: "bad-directive",
          CopySource: `${B}/src`,
          MetadataDirective: "MERGE" as "COPY",
        }),
      ),
      "InvalidArgument",
      400,
    );
  });

  await t.step("CopyObject - overwriting the source later does not change the copy", async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "mut", Body: "before" }));
    await s3.send(new CopyObjectCommand({ Bucket: D, Key: "mut-copy", CopySource: `${B}/mut` }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "mut", Body: "after!" }));
    const g = await s3.send(new GetObjectCommand({ Bucket: D, Key: "mut-copy" }));
    assertEquals(new TextDecoder().decode(await bodyBytes(g.Body)), "before");
  });
});
