/**
 * Conditional deletes (DeleteObject `If-Match`, the `<ETag>` of a DeleteObjects
 * object) over the AWS SDK v3: the condition is on the key's current version
 * and is checked in the delete's own transaction, so a delete meant for
 * content a client saw never removes what another client wrote since.
 * (Session-11 race review: both were ignored, and the delete was unconditional.)
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { assertEquals, assertS3Error, bodyBytes, vaultSuite } from "../helpers/assert_s3.ts";

const B = "cond-delete";

vaultSuite("S3 conditional deletes", async ({ t, s3 }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  const put = async (key: string, body: string) =>
    (await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: body }))).ETag!;
  const text = async (key: string) => {
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
    return new TextDecoder().decode(await bodyBytes(g.Body));
  };

  await t.step(
    "DeleteObject - If-Match with an ETag overwritten since is 412; the data stays",
    async () => {
      const seen = await put("k", "old");
      await put("k", "new, acknowledged");
      await assertS3Error(
        s3.send(new DeleteObjectCommand({ Bucket: B, Key: "k", IfMatch: seen })),
        "PreconditionFailed",
        412,
      );
      assertEquals(await text("k"), "new, acknowledged");
    },
  );

  await t.step("DeleteObject - If-Match with the current ETag, or *, deletes", async () => {
    const etag = await put("k", "current");
    const r = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "k", IfMatch: etag }));
    assertEquals(r.$metadata.httpStatusCode, 204);
    await assertS3Error(s3.send(new GetObjectCommand({ Bucket: B, Key: "k" })), "NoSuchKey", 404);
    await put("star", "any");
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "star", IfMatch: "*" }));
    await assertS3Error(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "star" })),
      "NoSuchKey",
      404,
    );
  });

  await t.step("DeleteObject - If-Match on a missing key is NoSuchKey", async () => {
    await assertS3Error(
      s3.send(new DeleteObjectCommand({ Bucket: B, Key: "never", IfMatch: "*" })),
      "NoSuchKey",
      404,
    );
  });

  await t.step(
    "DeleteObjects - a stale <ETag> is a PreconditionFailed entry; a current one deletes",
    async () => {
      const stale = await put("a", "old");
      await put("a", "new, acknowledged");
      const current = await put("b", "b");
      const r = await s3.send(
        new DeleteObjectsCommand({
          Bucket: B,
          Delete: { Objects: [{ Key: "a", ETag: stale }, { Key: "b", ETag: current }] },
        }),
      );
      assertEquals(r.Errors?.map((e) => [e.Key, e.Code]), [["a", "PreconditionFailed"]]);
      assertEquals(r.Deleted?.map((d) => d.Key), ["b"]);
      assertEquals(await text("a"), "new, acknowledged");
    },
  );

  await t.step("Versioned bucket - a stale If-Match adds no delete marker", async () => {
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: B,
        VersioningConfiguration: { Status: "Enabled" },
      }),
    );
    const seen = await put("v", "one");
    const latest = await put("v", "two");
    await assertS3Error(
      s3.send(new DeleteObjectCommand({ Bucket: B, Key: "v", IfMatch: seen })),
      "PreconditionFailed",
      412,
    );
    const r = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "v", IfMatch: latest }));
    assertEquals(r.DeleteMarker, true);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: "v" }));
    assertEquals([versions.Versions?.length, versions.DeleteMarkers?.length], [2, 1]);
  });
});
