/**
 * DeleteObject and DeleteObjects over the AWS SDK v3 and raw signed requests.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  assertEquals,
  assertErrorResponse,
  assertS3Error,
  md5Base64,
  parallel,
  signedFetch,
  vaultSuite,
} from "../helpers/assert_s3.ts";

const B = "del-bucket";

vaultSuite("S3 DeleteObject and DeleteObjects", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  const put = (key: string) => s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: key }));
  const count = async (prefix = "") => {
    let n = 0;
    let token: string | undefined;
    do {
      const r = await s3.send(
        new ListObjectsV2Command({ Bucket: B, Prefix: prefix, ContinuationToken: token }),
      );
      n += r.KeyCount ?? 0;
      token = r.NextContinuationToken;
    } while (token);
    return n;
  };

  await t.step("DeleteObject - missing key is 204", async () => {
    const r = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "never-existed" }));
    assertEquals(r.$metadata.httpStatusCode, 204);
  });

  await t.step("DeleteObject - existing key is 204 and then NoSuchKey", async () => {
    await put("doomed");
    const r = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "doomed" }));
    assertEquals(r.$metadata.httpStatusCode, 204);
    await assertS3Error(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "doomed" })),
      "NoSuchKey",
      404,
    );
    const again = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "doomed" }));
    assertEquals(again.$metadata.httpStatusCode, 204);
  });

  await t.step("DeleteObject - missing bucket is NoSuchBucket", async () => {
    await assertS3Error(
      s3.send(new DeleteObjectCommand({ Bucket: "no-such-bkt", Key: "k" })),
      "NoSuchBucket",
      404,
    );
  });

  await t.step("DeleteObjects - reports every key deleted, including missing ones", async () => {
    await put("d/1");
    await put("d/2");
    const r = await s3.send(
      new DeleteObjectsCommand({
        Bucket: B,
        Delete: { Objects: [{ Key: "d/1" }, { Key: "d/2" }, { Key: "d/missing" }] },
      }),
    );
    assertEquals(r.$metadata.httpStatusCode, 200);
    assertEquals(r.Deleted?.map((d) => d.Key).sort(), ["d/1", "d/2", "d/missing"]);
    assertEquals(r.Errors ?? [], []);
    assertEquals(await count("d/"), 0);
  });

  await t.step("DeleteObjects - Quiet mode returns no Deleted entries", async () => {
    await put("q/1");
    await put("q/2");
    const r = await s3.send(
      new DeleteObjectsCommand({
        Bucket: B,
        Delete: { Quiet: true, Objects: [{ Key: "q/1" }, { Key: "q/2" }] },
      }),
    );
    assertEquals(r.$metadata.httpStatusCode, 200);
    assertEquals(r.Deleted ?? [], []);
    assertEquals(r.Errors ?? [], []);
    assertEquals(await count("q/"), 0);
  });

  await t.step("DeleteObjects - 1000 keys in one request", async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `many/${String(i).padStart(4, "0")}`);
    await parallel(keys, 16, async (k) => {
      await put(k);
    });
    assertEquals(await count("many/"), 1000);
    const r = await s3.send(
      new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
    );
    assertEquals(r.Deleted?.length, 1000);
    assertEquals(r.Errors ?? [], []);
    assertEquals(await count("many/"), 0);
  });

  await t.step("DeleteObjects - 1001 keys is MalformedXML", async () => {
    await put("keep-me");
    const keys = Array.from({ length: 1001 }, (_, i) => ({ Key: i === 0 ? "keep-me" : `x${i}` }));
    await assertS3Error(
      s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: keys } })),
      "MalformedXML",
      400,
    );
    assertEquals(await count("keep-me"), 1);
  });

  await t.step("DeleteObjects - malformed XML body is MalformedXML", async () => {
    const body = "<Delete><Object><Key>keep-me</Key></Object>";
    const res = await signedFetch(vault, s3, {
      method: "POST",
      path: `/${B}`,
      query: { delete: "" },
      headers: { "content-md5": md5Base64(body), "content-type": "application/xml" },
      body,
    });
    await assertErrorResponse(res, "MalformedXML", 400);
    assertEquals(await count("keep-me"), 1);
  });

  await t.step("DeleteObjects - a body that is not a Delete document is MalformedXML", async () => {
    const body = "<NotDelete><Object><Key>keep-me</Key></Object></NotDelete>";
    const res = await signedFetch(vault, s3, {
      method: "POST",
      path: `/${B}`,
      query: { delete: "" },
      headers: { "content-md5": md5Base64(body) },
      body,
    });
    await assertErrorResponse(res, "MalformedXML", 400);
  });

  await t.step("DeleteObjects - empty Delete is MalformedXML", async () => {
    const body = "<Delete></Delete>";
    const res = await signedFetch(vault, s3, {
      method: "POST",
      path: `/${B}`,
      query: { delete: "" },
      headers: { "content-md5": md5Base64(body) },
      body,
    });
    await assertErrorResponse(res, "MalformedXML", 400);
  });

  await t.step("DeleteObjects - wrong Content-MD5 is BadDigest and deletes nothing", async () => {
    const body = "<Delete><Object><Key>keep-me</Key></Object></Delete>";
    const res = await signedFetch(vault, s3, {
      method: "POST",
      path: `/${B}`,
      query: { delete: "" },
      headers: { "content-md5": md5Base64("something else") },
      body,
    });
    await assertErrorResponse(res, "BadDigest", 400);
    assertEquals(await count("keep-me"), 1);
  });

  await t.step("DeleteObjects - XML namespace and special characters in keys", async () => {
    const key = "a&b <c> \"q\" 'x'";
    await put(key);
    const body = `<?xml version="1.0" encoding="UTF-8"?>` +
      `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>` +
      `a&amp;b &lt;c&gt; &quot;q&quot; &apos;x&apos;</Key></Object></Delete>`;
    const res = await signedFetch(vault, s3, {
      method: "POST",
      path: `/${B}`,
      query: { delete: "" },
      headers: { "content-md5": md5Base64(body) },
      body,
    });
    const text = await res.text();
    assertEquals(res.status, 200, text);
    assertEquals(text.includes("<Deleted>"), true, text);
    assertEquals(await count("a&b"), 0);
  });

  await t.step("DeleteObjects - missing bucket is NoSuchBucket", async () => {
    await assertS3Error(
      s3.send(
        new DeleteObjectsCommand({ Bucket: "no-such-bkt", Delete: { Objects: [{ Key: "k" }] } }),
      ),
      "NoSuchBucket",
      404,
    );
  });
});
