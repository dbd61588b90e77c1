/**
 * Listings and version ids on the wire, as S3 has them: keys holding a CR,
 * a deleted `null` marker version between pages, ListBuckets paging, the
 * `null` version id header, empty and malformed version ids, max-keys past
 * the integer range, ListParts with max-parts=0. Each failed on the vault
 * before session 12 (the listing review).
 *
 * @module
 */
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import {
  assertEquals,
  assertErrorResponse,
  assertOk,
  signedFetch,
  vaultSuite,
} from "../helpers/assert_s3.ts";

vaultSuite("Listings and version ids on the wire", async ({ t, vault, s3 }) => {
  const enable = (Bucket: string, Status: "Enabled" | "Suspended") =>
    s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status } }));

  await t.step(
    "ListObjectsV2/ListObjects/ListObjectVersions - a key holding a carriage return is listed as itself",
    async () => {
      const B = "cr-keys";
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      // A classic macOS folder icon file: "Icon\r". Any XML 1.0 parser turns a literal CR into LF.
      const key = "photos/Icon\r";
      await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: "icon" }));
      // On the wire the CR must be a character reference, as S3 writes it (&#13;).
      for (
        const query of [
          { "list-type": "2" },
          {},
          { versions: "" },
          { delimiter: "\r", "max-keys": "1" },
        ] as Record<string, string>[]
      ) {
        const res = await signedFetch(vault, s3, { method: "GET", path: `/${B}`, query });
        const xml = await res.text();
        assertEquals(res.status, 200);
        assertOk(
          !xml.includes("\r"),
          `literal CR in the XML for ${JSON.stringify(query)}: ${
            JSON.stringify(xml.slice(0, 400))
          }`,
        );
      }
      // What a client sees: the SDK lists a key, then reads it back by that name.
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: B }));
      const got = listed.Contents?.map((c) => c.Key);
      assertEquals(got, [key], `listed ${JSON.stringify(got)}`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: got![0] }));
      assertEquals(head.ContentLength, 4);
      const v1 = await s3.send(new ListObjectsCommand({ Bucket: B }));
      assertEquals(v1.Contents?.map((c) => c.Key), [key]);
    },
  );

  await t.step(
    "ListObjectVersions - a 'null' marker version deleted between pages: the older versions are still listed",
    async () => {
      const B = "null-marker";
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      await enable(B, "Enabled");
      const v1 =
        (await s3.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "1" }))).VersionId;
      const v2 =
        (await s3.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "2" }))).VersionId;
      await enable(B, "Suspended");
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "3" })); // the null version, newest
      // Page 1 (one entry): the null version. A client emptying the bucket deletes what it was shown
      // (boto3's bucket.object_versions.delete() does exactly this), then asks for the next page.
      const p1 = await s3.send(new ListObjectVersionsCommand({ Bucket: B, MaxKeys: 1 }));
      assertEquals(p1.Versions?.map((v) => v.VersionId), ["null"]);
      assertEquals([p1.IsTruncated, p1.NextKeyMarker, p1.NextVersionIdMarker], [true, "k", "null"]);
      await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "k", VersionId: "null" }));
      const p2 = await s3.send(
        new ListObjectVersionsCommand({
          Bucket: B,
          KeyMarker: p1.NextKeyMarker,
          VersionIdMarker: p1.NextVersionIdMarker,
        }),
      );
      assertEquals(
        p2.Versions?.map((v) => v.VersionId),
        [v2, v1],
        "the versions older than the deleted null marker were skipped",
      );
      // The same through the whole boto3-style emptying loop: the bucket must end empty.
      const E = "null-marker-emptied";
      await s3.send(new CreateBucketCommand({ Bucket: E }));
      await enable(E, "Enabled");
      for (let i = 0; i < 3; i++) {
        await s3.send(new PutObjectCommand({ Bucket: E, Key: "k", Body: `${i}` }));
      }
      await enable(E, "Suspended");
      await s3.send(new PutObjectCommand({ Bucket: E, Key: "k", Body: "null" }));
      let marker: { KeyMarker?: string; VersionIdMarker?: string } = {};
      for (let page = 0; page < 10; page++) {
        const r = await s3.send(
          new ListObjectVersionsCommand({ Bucket: E, MaxKeys: 1, ...marker }),
        );
        for (const v of r.Versions ?? []) {
          await s3.send(new DeleteObjectCommand({ Bucket: E, Key: v.Key, VersionId: v.VersionId }));
        }
        if (!r.IsTruncated) break;
        marker = { KeyMarker: r.NextKeyMarker, VersionIdMarker: r.NextVersionIdMarker };
      }
      const left = await s3.send(new ListObjectVersionsCommand({ Bucket: E }));
      assertEquals(left.Versions?.length ?? 0, 0, "versions left behind by the emptying loop");
    },
  );

  await t.step("ListBuckets - prefix limits the answer to matching buckets", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "zeta-one" }));
    await s3.send(new CreateBucketCommand({ Bucket: "zeta-two" }));
    const r = await s3.send(new ListBucketsCommand({ Prefix: "zeta-" }));
    assertEquals(r.Buckets?.map((b) => b.Name), ["zeta-one", "zeta-two"]);
    assertEquals(r.Prefix, "zeta-");
    const one = await s3.send(new ListBucketsCommand({ MaxBuckets: 1 }));
    assertEquals(one.Buckets?.length, 1, "max-buckets is ignored");
    assertOk(one.ContinuationToken, "no ContinuationToken after a limited page");
  });

  await t.step(
    "HeadObject/GetObject - the null version of a once-versioned bucket answers x-amz-version-id: null",
    async () => {
      const B = "null-header";
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      await enable(B, "Suspended");
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "x" }));
      const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "k" }));
      assertEquals(head.VersionId, "null");
      const get = await s3.send(new GetObjectCommand({ Bucket: B, Key: "k", VersionId: "null" }));
      await get.Body!.transformToByteArray();
      assertEquals(get.VersionId, "null");
    },
  );

  await t.step(
    "DeleteObject/GetObject - an empty versionId is InvalidArgument, not a silent no-op",
    async () => {
      const B = "empty-vid";
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      await enable(B, "Enabled");
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "x" }));
      // DELETE ?versionId= answers 204 and deletes nothing: the caller believes a version is gone.
      const del = await signedFetch(vault, s3, {
        method: "DELETE",
        path: `/${B}/k`,
        query: { versionId: "" },
      });
      await assertErrorResponse(del, "InvalidArgument", 400);
      const get = await signedFetch(vault, s3, {
        method: "GET",
        path: `/${B}/k`,
        query: { versionId: "" },
      });
      await assertErrorResponse(get, "InvalidArgument", 400);
      // In DeleteObjects that key fails on its own; the others go.
      const r = await s3.send(
        new DeleteObjectsCommand({
          Bucket: B,
          Delete: { Objects: [{ Key: "k", VersionId: "" }, { Key: "other" }] },
        }),
      );
      assertEquals(r.Errors?.map((e) => [e.Key, e.Code]), [["k", "InvalidArgument"]]);
      assertEquals(r.Deleted?.map((d) => d.Key), ["other"]);
      const still = await s3.send(new GetObjectCommand({ Bucket: B, Key: "k" }));
      assertEquals(await still.Body!.transformToString(), "x");
    },
  );

  await t.step(
    "GetObject/DeleteObject - a malformed versionId is InvalidArgument (400), not NoSuchVersion / 204",
    async () => {
      const B = "bad-vid";
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      await enable(B, "Enabled");
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "x" }));
      const get = await signedFetch(vault, s3, {
        method: "GET",
        path: `/${B}/k`,
        query: { versionId: "not a version" },
      });
      await assertErrorResponse(get, "InvalidArgument", 400);
      const del = await signedFetch(vault, s3, {
        method: "DELETE",
        path: `/${B}/k`,
        query: { versionId: "not a version" },
      });
      await assertErrorResponse(del, "InvalidArgument", 400);
    },
  );

  await t.step(
    "ListObjectsV2 - max-keys past the integer range is InvalidArgument",
    async () => {
      const res = await signedFetch(vault, s3, {
        method: "GET",
        path: "/cr-keys",
        query: { "list-type": "2", "max-keys": "99999999999999" },
      });
      await assertErrorResponse(res, "InvalidArgument", 400);
    },
  );

  await t.step(
    "ListParts - max-parts=0 is not a truncated page whose NextPartNumberMarker repeats the marker",
    async () => {
      const B = "parts-zero";
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      const u = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: "m" }));
      await s3.send(
        new UploadPartCommand({
          Bucket: B,
          Key: "m",
          UploadId: u.UploadId,
          PartNumber: 1,
          Body: "a",
        }),
      );
      // A client paging "while IsTruncated: marker = NextPartNumberMarker" never ends here.
      const r = await s3.send(
        new ListPartsCommand({ Bucket: B, Key: "m", UploadId: u.UploadId, MaxParts: 0 }),
      );
      assertOk(
        !(r.IsTruncated && (r.NextPartNumberMarker ?? "0") === (r.PartNumberMarker ?? "0")),
        `IsTruncated=${r.IsTruncated} NextPartNumberMarker=${r.NextPartNumberMarker}`,
      );
    },
  );
});
