/**
 * Versioning as AWS S3 does it: version ids, delete markers, the null
 * version of suspended buckets, ListObjectVersions paging.
 */
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  assertEquals,
  assertErrorResponse,
  assertOk,
  assertS3Error,
  bodyBytes,
  signedFetch,
  vaultSuite,
} from "../helpers/assert_s3.ts";

const text = async (body: unknown) => new TextDecoder().decode(await bodyBytes(body as never));

vaultSuite("S3 versioning", async ({ t, vault, s3 }) => {
  const B = "versioned";
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  const put = async (key: string, body: string) =>
    (await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: body }))).VersionId;

  await t.step("GetBucketVersioning - a new bucket has no status", async () => {
    const r = await s3.send(new GetBucketVersioningCommand({ Bucket: B }));
    assertEquals(r.Status, undefined);
    assertEquals(
      await put("pre", "before versioning"),
      undefined,
      "no version id before versioning",
    );
  });

  await t.step("PutBucketVersioning - Enabled, then a bad status is MalformedXML", async () => {
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: "Enabled" } }),
    );
    assertEquals((await s3.send(new GetBucketVersioningCommand({ Bucket: B }))).Status, "Enabled");
    const res = await signedFetch(vault, s3, {
      method: "PUT",
      path: `/${B}`,
      query: { versioning: "" },
      body: "<VersioningConfiguration><Status>Disabled</Status></VersioningConfiguration>",
    });
    await assertErrorResponse(res, "MalformedXML", 400);
    await assertS3Error(
      s3.send(
        new PutBucketVersioningCommand({
          Bucket: "no-such-bucket-v",
          VersioningConfiguration: { Status: "Enabled" },
        }),
      ),
      "NoSuchBucket",
      404,
    );
  });

  let v1 = "", v2 = "", v3 = "";
  await t.step("PutObject - each write in a versioned bucket is a new version", async () => {
    v1 = (await put("doc", "one"))!;
    v2 = (await put("doc", "two"))!;
    v3 = (await put("doc", "three"))!;
    assertOk(v1 && v2 && v3 && new Set([v1, v2, v3]).size === 3);
    assertEquals(
      await text((await s3.send(new GetObjectCommand({ Bucket: B, Key: "doc" }))).Body),
      "three",
    );
    const old = await s3.send(new GetObjectCommand({ Bucket: B, Key: "doc", VersionId: v1 }));
    assertEquals(await text(old.Body), "one");
    assertEquals(old.VersionId, v1);
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "doc", VersionId: v2 }));
    assertEquals(head.ContentLength, 3);
    await assertS3Error(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "doc", VersionId: "AAAAAAAAAAAAAAAAAAAAAA" })),
      "NoSuchVersion",
      404,
    );
  });

  let marker = "";
  await t.step(
    "DeleteObject - without a version id adds a delete marker; the data stays",
    async () => {
      const d = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "doc" }));
      assertEquals(d.DeleteMarker, true);
      assertOk(d.VersionId);
      marker = d.VersionId!;
      const res = await signedFetch(vault, s3, { method: "GET", path: `/${B}/doc` });
      assertEquals(res.headers.get("x-amz-delete-marker"), "true");
      assertEquals(res.headers.get("x-amz-version-id"), marker);
      await assertErrorResponse(res, "NoSuchKey", 404);
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "doc" }));
      assertEquals(listed.KeyCount, 0, "ListObjectsV2 hides delete-marked keys");
      assertEquals(
        await text(
          (await s3.send(new GetObjectCommand({ Bucket: B, Key: "doc", VersionId: v3 }))).Body,
        ),
        "three",
      );
    },
  );

  await t.step("GetObject - a delete marker by version id is 405 MethodNotAllowed", async () => {
    const res = await signedFetch(vault, s3, {
      method: "GET",
      path: `/${B}/doc`,
      query: { versionId: marker },
    });
    assertEquals(res.headers.get("x-amz-delete-marker"), "true");
    await assertErrorResponse(res, "MethodNotAllowed", 405);
    const head = await signedFetch(vault, s3, {
      method: "HEAD",
      path: `/${B}/doc`,
      query: { versionId: marker },
    });
    await assertErrorResponse(head, "MethodNotAllowed", 405, { head: true });
  });

  await t.step(
    "ListObjectVersions - newest first per key, delete markers interleaved, IsLatest",
    async () => {
      const r = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: "doc" }));
      assertEquals(r.Versions?.map((v) => v.VersionId), [v3, v2, v1]);
      assertEquals(r.Versions?.map((v) => v.IsLatest), [false, false, false]);
      assertEquals(r.DeleteMarkers?.map((m) => [m.VersionId, m.IsLatest]), [[marker, true]]);
      assertEquals(r.Versions?.[0].Size, 5);
    },
  );

  await t.step(
    "DeleteObject - deleting the delete marker by version id restores the object",
    async () => {
      const d = await s3.send(
        new DeleteObjectCommand({ Bucket: B, Key: "doc", VersionId: marker }),
      );
      assertEquals(d.DeleteMarker, true);
      assertEquals(d.VersionId, marker);
      assertEquals(
        await text((await s3.send(new GetObjectCommand({ Bucket: B, Key: "doc" }))).Body),
        "three",
      );
    },
  );

  await t.step(
    "DeleteObject - a version by id goes for good; the next newest becomes latest",
    async () => {
      await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "doc", VersionId: v3 }));
      const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "doc" }));
      assertEquals(await text(g.Body), "two");
      assertEquals(g.VersionId, v2);
      await assertS3Error(
        s3.send(new GetObjectCommand({ Bucket: B, Key: "doc", VersionId: v3 })),
        "NoSuchVersion",
        404,
      );
      // Deleting a version that is gone succeeds, as S3 does.
      await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "doc", VersionId: v3 }));
    },
  );

  await t.step(
    "ListObjectVersions - paging with key and version-id markers covers every version once",
    async () => {
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j <= i; j++) await put(`page/k${i}`, `k${i}-v${j}`);
      }
      await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "page/k2" }));
      const seen: string[] = [];
      let keyMarker: string | undefined;
      let versionIdMarker: string | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const r = await s3.send(
          new ListObjectVersionsCommand({
            Bucket: B,
            Prefix: "page/",
            MaxKeys: 3,
            KeyMarker: keyMarker,
            VersionIdMarker: versionIdMarker,
          }),
        );
        const all = [...(r.Versions ?? []), ...(r.DeleteMarkers ?? [])];
        assertOk(all.length <= 3);
        for (const v of all) seen.push(`${v.Key}@${v.VersionId}`);
        if (!r.IsTruncated) break;
        keyMarker = r.NextKeyMarker;
        versionIdMarker = r.NextVersionIdMarker;
      }
      assertEquals(seen.length, 1 + 2 + 3 + 4 + 1, "10 versions and 1 delete marker");
      assertEquals(new Set(seen).size, seen.length, "no entry twice");
      const prefixes = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Delimiter: "/" }));
      assertEquals(prefixes.CommonPrefixes?.map((p) => p.Prefix), ["page/"]);
    },
  );

  await t.step("DeleteObjects - markers and version deletes are reported per key", async () => {
    const vk = (await put("batch/a", "a"))!;
    await put("batch/b", "b");
    const r = await s3.send(
      new DeleteObjectsCommand({
        Bucket: B,
        Delete: { Objects: [{ Key: "batch/a", VersionId: vk }, { Key: "batch/b" }] },
      }),
    );
    const byKey = Object.fromEntries((r.Deleted ?? []).map((d) => [d.Key, d]));
    assertEquals(byKey["batch/a"].VersionId, vk);
    assertEquals(byKey["batch/a"].DeleteMarker, undefined);
    assertEquals(byKey["batch/b"].DeleteMarker, true);
    assertOk(byKey["batch/b"].DeleteMarkerVersionId);
  });

  await t.step(
    "CopyObject - copying a version makes a new version and names its source",
    async () => {
      const r = await s3.send(
        new CopyObjectCommand({
          Bucket: B,
          Key: "copied",
          CopySource: `${B}/doc?versionId=${encodeURIComponent(v1)}`,
        }),
      );
      assertEquals(r.CopySourceVersionId, v1);
      assertOk(r.VersionId && r.VersionId !== v1);
      assertEquals(
        await text((await s3.send(new GetObjectCommand({ Bucket: B, Key: "copied" }))).Body),
        "one",
      );
    },
  );

  await t.step(
    "PutBucketVersioning - Suspended: writes replace the null version, older versions stay",
    async () => {
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: B,
          VersioningConfiguration: { Status: "Suspended" },
        }),
      );
      assertEquals(
        (await s3.send(new GetBucketVersioningCommand({ Bucket: B }))).Status,
        "Suspended",
      );
      assertEquals(await put("doc", "four"), undefined);
      assertEquals(await put("doc", "five"), undefined);
      const r = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: "doc" }));
      assertEquals(r.Versions?.map((v) => v.VersionId), ["null", v2, v1]);
      assertEquals(
        await text(
          (await s3.send(new GetObjectCommand({ Bucket: B, Key: "doc", VersionId: "null" }))).Body,
        ),
        "five",
      );
      const d = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "doc" }));
      assertEquals([d.DeleteMarker, d.VersionId], [true, "null"]);
      const after = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: "doc" }));
      assertEquals(
        after.Versions?.map((v) => v.VersionId),
        [v2, v1],
        "the null version was replaced by the marker",
      );
      assertEquals(after.DeleteMarkers?.map((m) => m.VersionId), ["null"]);
    },
  );

  await t.step("ListObjectVersions - paging by common prefix moves past each prefix", async () => {
    const P = "versioned-dirs";
    await s3.send(new CreateBucketCommand({ Bucket: P }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: P, VersioningConfiguration: { Status: "Enabled" } }),
    );
    for (const k of ["a/1", "a/2", "b/1", "c"]) {
      await s3.send(new PutObjectCommand({ Bucket: P, Key: k, Body: k }));
    }
    const seen: string[] = [];
    let marker: { KeyMarker?: string; VersionIdMarker?: string } = {};
    for (let page = 0; page < 10; page++) {
      const r = await s3.send(
        new ListObjectVersionsCommand({ Bucket: P, Delimiter: "/", MaxKeys: 1, ...marker }),
      );
      seen.push(...(r.CommonPrefixes ?? []).map((p) => p.Prefix!));
      seen.push(...(r.Versions ?? []).map((v) => v.Key!));
      if (!r.IsTruncated) break;
      marker = { KeyMarker: r.NextKeyMarker, VersionIdMarker: r.NextVersionIdMarker };
    }
    assertEquals(seen, ["a/", "b/", "c"]);
    // max-keys=0: an empty page that is not truncated (a client would page from it for ever).
    const none = await s3.send(new ListObjectVersionsCommand({ Bucket: P, MaxKeys: 0 }));
    assertEquals([none.IsTruncated, none.Versions, none.NextKeyMarker], [
      false,
      undefined,
      undefined,
    ]);
    // A key marker is compared with the prefix in UTF-8 byte order, as keys are ordered.
    await s3.send(new PutObjectCommand({ Bucket: P, Key: "\uFFFCx", Body: "x" }));
    const after = await s3.send(
      new ListObjectVersionsCommand({ Bucket: P, Prefix: "\uFFFC", KeyMarker: "\u{1F600}" }),
    );
    assertEquals(after.Versions, undefined);
    const v2 = await s3.send(
      new ListObjectsV2Command({ Bucket: P, Prefix: "\uFFFC", StartAfter: "\u{1F600}" }),
    );
    assertEquals(v2.Contents, undefined);
  });

  await t.step(
    "ListObjectVersions - a marker version deleted since: the next page goes on with the older ones",
    async () => {
      const E = "versioned-emptied";
      await s3.send(new CreateBucketCommand({ Bucket: E }));
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: E,
          VersioningConfiguration: { Status: "Enabled" },
        }),
      );
      for (let i = 0; i < 5; i++) {
        await s3.send(new PutObjectCommand({ Bucket: E, Key: "k", Body: `${i}` }));
      }
      // How boto3's object_versions.delete() empties a bucket: list a page, delete it, go on.
      let marker: { KeyMarker?: string; VersionIdMarker?: string } = {};
      for (let page = 0; page < 10; page++) {
        const r = await s3.send(
          new ListObjectVersionsCommand({ Bucket: E, MaxKeys: 2, ...marker }),
        );
        for (const v of r.Versions ?? []) {
          await s3.send(new DeleteObjectCommand({ Bucket: E, Key: v.Key, VersionId: v.VersionId }));
        }
        if (!r.IsTruncated) break;
        marker = { KeyMarker: r.NextKeyMarker, VersionIdMarker: r.NextVersionIdMarker };
      }
      const left = await s3.send(new ListObjectVersionsCommand({ Bucket: E }));
      assertEquals(left.Versions, undefined);
    },
  );

  await t.step("DeleteBucket - versions and delete markers keep a bucket non-empty", async () => {
    const res = await signedFetch(vault, s3, { method: "DELETE", path: `/${B}` });
    await assertErrorResponse(res, "BucketNotEmpty", 409);
  });
});
