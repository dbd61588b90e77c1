/**
 * Point-in-time snapshots: a read-only bucket holding a versioned bucket as
 * it stood at time T, readable by any S3 client after the source was pruned.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";

import {
  assertEquals,
  assertOk,
  assertS3Error,
  bodyBytes,
  signedFetch,
  signHeaders,
  vaultSuite,
} from "../helpers/assert_s3.ts";

const text = async (body: unknown) => new TextDecoder().decode(await bodyBytes(body as never));

vaultSuite("Point-in-time snapshots", async ({ t, vault, s3 }) => {
  const S = "repo";
  await s3.send(new CreateBucketCommand({ Bucket: S }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: S, VersioningConfiguration: { Status: "Enabled" } }),
  );
  await s3.send(new PutObjectCommand({ Bucket: S, Key: "data/pack-1", Body: "pack one" }));
  await s3.send(new PutObjectCommand({ Bucket: S, Key: "snapshots/a", Body: "snapshot a" }));
  await s3.send(new PutObjectCommand({ Bucket: S, Key: "index/0", Body: "index v1" }));
  await new Promise((r) => setTimeout(r, 20));
  const before = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 20));
  // The "ransomware prune": deletes and overwrites after T.
  await s3.send(new DeleteObjectCommand({ Bucket: S, Key: "data/pack-1" }));
  await s3.send(new DeleteObjectCommand({ Bucket: S, Key: "snapshots/a" }));
  await s3.send(
    new PutObjectCommand({ Bucket: S, Key: "index/0", Body: "index v2 (encrypted garbage)" }),
  );
  await s3.send(new PutObjectCommand({ Bucket: S, Key: "later", Body: "written after T" }));

  const snapshot = (body: unknown) =>
    signedFetch(vault, s3, {
      method: "POST",
      path: "/admin/snapshots",
      body: JSON.stringify(body),
    });

  await t.step("POST /admin/snapshots - makes the bucket as it stood at T", async () => {
    const res = await snapshot({ source: S, bucket: "repo-before-prune", at: before });
    const r = await res.json();
    assertEquals(res.status, 201, JSON.stringify(r));
    assertEquals(r.objects, 3);
    assertOk(res.headers.get("x-amz-request-id"));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "repo-before-prune" }));
    assertEquals(listed.Contents?.map((o) => o.Key), ["data/pack-1", "index/0", "snapshots/a"]);
    const idx = await s3.send(
      new GetObjectCommand({ Bucket: "repo-before-prune", Key: "index/0" }),
    );
    assertEquals(await text(idx.Body), "index v1");
  });

  await t.step("Snapshot - survives the source losing every version", async () => {
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: S }));
    for (const v of [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])]) {
      await s3.send(new DeleteObjectCommand({ Bucket: S, Key: v.Key!, VersionId: v.VersionId }));
    }
    const g = await s3.send(
      new GetObjectCommand({ Bucket: "repo-before-prune", Key: "data/pack-1" }),
    );
    assertEquals(await text(g.Body), "pack one");
  });

  await t.step("Snapshot - is read-only: writes and delete markers are refused", async () => {
    await assertS3Error(
      s3.send(new PutObjectCommand({ Bucket: "repo-before-prune", Key: "x", Body: "x" })),
      "AccessDenied",
      403,
    );
    await assertS3Error(
      s3.send(new DeleteObjectCommand({ Bucket: "repo-before-prune", Key: "index/0" })),
      "AccessDenied",
      403,
    );
  });

  await t.step(
    "POST /admin/snapshots - bad requests get JSON errors with the request id",
    async () => {
      const unversioned = "plain-source";
      await s3.send(new CreateBucketCommand({ Bucket: unversioned }));
      const cases: [unknown, number, string][] = [
        [{ source: unversioned, bucket: "snap-a", at: before }, 409, "InvalidBucketState"],
        [{ source: "no-such-bucket-x", bucket: "snap-b", at: before }, 404, "NoSuchBucket"],
        [{ source: S, bucket: "repo-before-prune", at: before }, 409, "BucketAlreadyOwnedByYou"],
        [{ source: S, bucket: "Bad_Name", at: before }, 400, "InvalidBucketName"],
        [{ source: S, bucket: "snap-c", at: "not a time" }, 400, "InvalidArgument"],
        [{ source: S }, 400, "InvalidRequest"],
      ];
      for (const [body, status, code] of cases) {
        const res = await snapshot(body);
        const r = await res.json();
        assertEquals([res.status, r.error.code], [status, code], JSON.stringify(body));
        assertEquals(r.error.requestId, res.headers.get("x-amz-request-id"));
      }
      const unsigned = await fetch(`${vault.endpoint}/admin/snapshots`, {
        method: "POST",
        body: "{}",
      });
      assertEquals(unsigned.status, 403);
      await unsigned.body?.cancel();
    },
  );
  await t.step(
    "POST /admin/snapshots - a PUT that began before T but committed after it is not in it",
    async () => {
      await s3.send(new PutObjectCommand({ Bucket: S, Key: "slow", Body: "v1" }));
      // A slow upload of "slow" starts (its Last-Modified is its start), ...
      const slowBody = "slow-".repeat(2000);
      const slow = streamedPut(`/${S}/slow`, slowBody, 2500);
      await new Promise((r) => setTimeout(r, 500));
      // ... and a fast one commits while it streams: at T the key holds "fast".
      await s3.send(new PutObjectCommand({ Bucket: S, Key: "slow", Body: "fast" }));
      await new Promise((r) => setTimeout(r, 200));
      const at = new Date().toISOString();
      assertEquals(await slow, 200, "the slow PUT is acknowledged after T");
      const res = await snapshot({ source: S, bucket: "repo-at-fast", at });
      assertEquals(res.status, 201, await res.text());
      const got = await s3.send(new GetObjectCommand({ Bucket: "repo-at-fast", Key: "slow" }));
      assertEquals(await text(got.Body), "fast");
    },
  );

  /** A PUT whose body arrives in two halves `gapMs` apart; its status. */
  async function streamedPut(path: string, body: string, gapMs: number): Promise<number> {
    const bytes = new TextEncoder().encode(body);
    const headers = await signHeaders(vault, s3, { method: "PUT", path, unsignedPayload: true });
    delete headers.host;
    const stream = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(bytes.slice(0, bytes.length >> 1));
        await new Promise((r) => setTimeout(r, gapMs));
        c.enqueue(bytes.slice(bytes.length >> 1));
        c.close();
      },
    });
    const res = await fetch(`${vault.endpoint}${path}`, { method: "PUT", headers, body: stream });
    await res.body?.cancel();
    return res.status;
  }
});
