/**
 * Bucket operations over the AWS SDK v3: ListBuckets, CreateBucket,
 * HeadBucket, GetBucketLocation, DeleteBucket.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketLocationCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  assertEquals,
  assertErrorResponse,
  assertOk,
  assertS3Error,
  signedFetch,
  vaultSuite,
} from "../helpers/assert_s3.ts";

vaultSuite("S3 bucket operations", async ({ t, s3, vault }) => {
  await t.step("ListBuckets - empty vault lists no buckets", async () => {
    const r = await s3.send(new ListBucketsCommand({}));
    assertEquals(r.$metadata.httpStatusCode, 200);
    assertEquals(r.Buckets ?? [], []);
    assertOk(r.Owner?.ID, "Owner.ID missing");
  });

  await t.step("CreateBucket - creates a bucket that ListBuckets then shows", async () => {
    const before = Date.now();
    const r = await s3.send(new CreateBucketCommand({ Bucket: "alpha" }));
    assertEquals(r.$metadata.httpStatusCode, 200);
    assertEquals(r.Location, "/alpha");
    await s3.send(new CreateBucketCommand({ Bucket: "beta.with-dots-1" }));
    const list = await s3.send(new ListBucketsCommand({}));
    assertEquals(list.Buckets?.map((b) => b.Name), ["alpha", "beta.with-dots-1"]);
    const created = list.Buckets![0].CreationDate!.getTime();
    assertOk(created >= before - 2000 && created <= Date.now() + 2000, "CreationDate is now");
  });

  await t.step("CreateBucket - existing own bucket is BucketAlreadyOwnedByYou", async () => {
    await assertS3Error(
      s3.send(new CreateBucketCommand({ Bucket: "alpha" })),
      "BucketAlreadyOwnedByYou",
      409,
    );
  });

  await t.step("CreateBucket - invalid names are InvalidBucketName", async () => {
    const bad = [
      "ab", // too short
      "a".repeat(64), // too long
      "UpperCase",
      "under_score",
      "-leading-dash",
      "trailing-dash-",
      "two..dots",
      "192.168.5.4",
      "xn--punycode",
      "dot-.dash",
    ];
    for (const name of bad) {
      await assertS3Error(
        s3.send(new CreateBucketCommand({ Bucket: name })),
        "InvalidBucketName",
        400,
      );
    }
    const list = await s3.send(new ListBucketsCommand({}));
    assertEquals(list.Buckets?.length, 2);
  });

  await t.step("CreateBucket - 3 and 63 character names are valid", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "abc" }));
    await s3.send(new CreateBucketCommand({ Bucket: "a".repeat(63) }));
    await s3.send(new DeleteBucketCommand({ Bucket: "abc" }));
    await s3.send(new DeleteBucketCommand({ Bucket: "a".repeat(63) }));
  });

  await t.step("CreateBucket - malformed configuration body is MalformedXML", async () => {
    const res = await signedFetch(vault, s3, {
      method: "PUT",
      path: "/gamma-bad-body",
      body: "<CreateBucketConfiguration><LocationConstraint>",
    });
    await assertErrorResponse(res, "MalformedXML", 400);
    await assertS3Error(
      s3.send(new HeadBucketCommand({ Bucket: "gamma-bad-body" })),
      "NotFound",
      404,
    );
    await s3.send(new CreateBucketCommand({ Bucket: "gamma" }));
  });

  await t.step("HeadBucket - existing bucket is 200 with its region", async () => {
    const r = await s3.send(new HeadBucketCommand({ Bucket: "alpha" }));
    assertEquals(r.$metadata.httpStatusCode, 200);
    assertEquals(r.BucketRegion, "us-east-1");
  });

  await t.step("HeadBucket - missing bucket is 404 NotFound", async () => {
    // HEAD responses carry no body, so the SDK reports the status as NotFound.
    await assertS3Error(
      s3.send(new HeadBucketCommand({ Bucket: "nope-missing" })),
      "NotFound",
      404,
    );
  });

  await t.step("GetBucketLocation - us-east-1 is an empty LocationConstraint", async () => {
    const r = await s3.send(new GetBucketLocationCommand({ Bucket: "alpha" }));
    assertEquals(r.$metadata.httpStatusCode, 200);
    assertEquals(r.LocationConstraint ?? "", "");
  });

  await t.step("GetBucketLocation - missing bucket is NoSuchBucket", async () => {
    await assertS3Error(
      s3.send(new GetBucketLocationCommand({ Bucket: "nope-missing" })),
      "NoSuchBucket",
      404,
    );
  });

  await t.step("DeleteBucket - non-empty bucket is BucketNotEmpty", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "alpha", Key: "k", Body: "x" }));
    await assertS3Error(
      s3.send(new DeleteBucketCommand({ Bucket: "alpha" })),
      "BucketNotEmpty",
      409,
    );
    const r = await s3.send(new HeadBucketCommand({ Bucket: "alpha" }));
    assertEquals(r.$metadata.httpStatusCode, 200);
  });

  await t.step("DeleteBucket - missing bucket is NoSuchBucket", async () => {
    await assertS3Error(
      s3.send(new DeleteBucketCommand({ Bucket: "nope-missing" })),
      "NoSuchBucket",
      404,
    );
  });

  await t.step("DeleteBucket - empty bucket is 204 and gone afterwards", async () => {
    const r = await s3.send(new DeleteBucketCommand({ Bucket: "beta.with-dots-1" }));
    assertEquals(r.$metadata.httpStatusCode, 204);
    await assertS3Error(
      s3.send(new HeadBucketCommand({ Bucket: "beta.with-dots-1" })),
      "NotFound",
      404,
    );
    const list = await s3.send(new ListBucketsCommand({}));
    assertEquals(list.Buckets?.map((b) => b.Name), ["alpha", "gamma"]);
  });

  await t.step("DeleteBucket - a deleted name can be created again", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "beta.with-dots-1" }));
    const r = await s3.send(new HeadBucketCommand({ Bucket: "beta.with-dots-1" }));
    assertEquals(r.$metadata.httpStatusCode, 200);
  });

  await t.step("PutObject - into a missing bucket is NoSuchBucket", async () => {
    await assertS3Error(
      s3.send(new PutObjectCommand({ Bucket: "nope-missing", Key: "k", Body: "x" })),
      "NoSuchBucket",
      404,
    );
  });
});
