/**
 * Authentication and integrity over the AWS SDK v3 and raw requests: wrong
 * secrets, unknown keys, unsigned requests, presigned URLs, clock skew,
 * Content-MD5 and checksum headers, and the shape of every error response.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { s3For } from "../helpers/s3_client.ts";
import {
  assertEquals,
  assertErrorResponse,
  assertOk,
  assertS3Error,
  bodyBytes,
  md5Base64,
  signedFetch,
  vaultSuite,
  xmlText,
} from "../helpers/assert_s3.ts";

const B = "auth-bucket";

vaultSuite("S3 authentication and integrity", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: "secret.txt", Body: "top secret" }));

  await t.step("ListBuckets - wrong secret key is SignatureDoesNotMatch", async () => {
    const bad = s3For(vault, {
      credentials: { accessKeyId: vault.accessKey, secretAccessKey: "not-the-secret-0123456789" },
    });
    try {
      await assertS3Error(bad.send(new ListBucketsCommand({})), "SignatureDoesNotMatch", 403);
      await assertS3Error(
        bad.send(new PutObjectCommand({ Bucket: B, Key: "forged", Body: "x" })),
        "SignatureDoesNotMatch",
        403,
      );
      const res = await signedFetch(vault, bad, { method: "GET", path: `/${B}/secret.txt` });
      await assertErrorResponse(res, "SignatureDoesNotMatch", 403);
    } finally {
      bad.destroy();
    }
    await assertS3Error(
      s3.send(new HeadObjectCommand({ Bucket: B, Key: "forged" })),
      "NotFound",
      404,
    );
  });

  await t.step("ListBuckets - unknown access key is InvalidAccessKeyId", async () => {
    const bad = s3For(vault, {
      credentials: { accessKeyId: "NOSUCHKEY123", secretAccessKey: vault.secretKey },
    });
    try {
      await assertS3Error(bad.send(new ListBucketsCommand({})), "InvalidAccessKeyId", 403);
      const res = await signedFetch(vault, bad, { method: "GET", path: `/${B}` });
      await assertErrorResponse(res, "InvalidAccessKeyId", 403);
    } finally {
      bad.destroy();
    }
  });

  await t.step("GetObject - unsigned request is AccessDenied", async () => {
    for (const path of [`/${B}/secret.txt`, `/${B}`, "/"]) {
      const res = await fetch(`${vault.endpoint}${path}`);
      const text = await assertErrorResponse(res, "AccessDenied", 403);
      assertOk(!text.includes("top secret"), "object bytes leaked");
    }
    const put = await fetch(`${vault.endpoint}/${B}/anon`, { method: "PUT", body: "x" });
    await assertErrorResponse(put, "AccessDenied", 403);
    await assertS3Error(
      s3.send(new HeadObjectCommand({ Bucket: B, Key: "anon" })),
      "NotFound",
      404,
    );
  });

  await t.step("GetObject - presigned URL works without credentials", async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: B, Key: "secret.txt" }), {
      expiresIn: 60,
    });
    assertOk(url.includes("X-Amz-Signature="), url);
    const res = await fetch(url);
    assertEquals(res.status, 200);
    assertEquals(await res.text(), "top secret");
  });

  await t.step("PutObject - presigned PUT URL uploads", async () => {
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: B, Key: "presigned-put" }), {
      expiresIn: 60,
    });
    const res = await fetch(url, { method: "PUT", body: "via url" });
    assertEquals(res.status, 200, await res.text());
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "presigned-put" }));
    assertEquals(new TextDecoder().decode(await bodyBytes(g.Body)), "via url");
  });

  await t.step("GetObject - presigned URL for another key is SignatureDoesNotMatch", async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: B, Key: "secret.txt" }), {
      expiresIn: 60,
    });
    const res = await fetch(url.replace("/secret.txt?", "/presigned-put?"));
    await assertErrorResponse(res, "SignatureDoesNotMatch", 403);
  });

  await t.step("GetObject - expired presigned URL is AccessDenied", async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: B, Key: "secret.txt" }), {
      expiresIn: 1,
    });
    await new Promise((r) => setTimeout(r, 2000));
    const res = await fetch(url);
    const text = await assertErrorResponse(res, "AccessDenied", 403);
    assertOk(!text.includes("top secret"), "object bytes leaked");
  });

  await t.step("ListBuckets - clock 20 minutes slow is RequestTimeTooSkewed", async () => {
    const skewed = s3For(vault, { systemClockOffset: -20 * 60 * 1000 });
    try {
      // Raw first: once the SDK sees a skew error it corrects its own clock offset.
      const res = await signedFetch(vault, skewed, { method: "GET", path: "/" });
      const text = await assertErrorResponse(res, "RequestTimeTooSkewed", 403);
      assertOk(xmlText(text, "ServerTime"), `ServerTime missing: ${text}`);
      assertOk(xmlText(text, "RequestTime"), `RequestTime missing: ${text}`);
      await assertS3Error(skewed.send(new ListBucketsCommand({})), "RequestTimeTooSkewed", 403);
    } finally {
      skewed.destroy();
    }
  });

  await t.step("PutObject - wrong Content-MD5 is BadDigest and stores nothing", async () => {
    await assertS3Error(
      s3.send(
        new PutObjectCommand({
          Bucket: B,
          Key: "md5-bad",
          Body: "payload",
          ContentMD5: md5Base64("other payload"),
        }),
      ),
      "BadDigest",
      400,
    );
    await assertS3Error(
      s3.send(new HeadObjectCommand({ Bucket: B, Key: "md5-bad" })),
      "NotFound",
      404,
    );
  });

  await t.step(
    "PutObject - wrong x-amz-checksum-crc32 is BadDigest and stores nothing",
    async () => {
      await assertS3Error(
        s3.send(
          new PutObjectCommand({
            Bucket: B,
            Key: "crc-bad",
            Body: "payload",
            ChecksumCRC32: "AAAAAA==",
          }),
        ),
        "BadDigest",
        400,
      );
      const res = await signedFetch(vault, s3, {
        method: "PUT",
        path: `/${B}/crc-bad-raw`,
        headers: { "x-amz-checksum-crc32": "AAAAAA==" },
        body: "payload",
      });
      await assertErrorResponse(res, "BadDigest", 400);
      await assertS3Error(
        s3.send(new HeadObjectCommand({ Bucket: B, Key: "crc-bad" })),
        "NotFound",
        404,
      );
      await assertS3Error(
        s3.send(new HeadObjectCommand({ Bucket: B, Key: "crc-bad-raw" })),
        "NotFound",
        404,
      );
    },
  );

  await t.step(
    "GetObject - error responses carry Code, Message, RequestId and x-amz-request-id",
    async () => {
      const cases: [Response, string, number][] = [
        [
          await signedFetch(vault, s3, { method: "GET", path: "/no-such-bkt" }),
          "NoSuchBucket",
          404,
        ],
        [await signedFetch(vault, s3, { method: "GET", path: `/${B}/nope` }), "NoSuchKey", 404],
        [
          await signedFetch(vault, s3, { method: "DELETE", path: "/no-such-bkt" }),
          "NoSuchBucket",
          404,
        ],
        [
          await signedFetch(vault, s3, { method: "PUT", path: "/Bad_Name" }),
          "InvalidBucketName",
          400,
        ],
        [
          await signedFetch(vault, s3, {
            method: "GET",
            path: `/${B}/secret.txt`,
            query: { uploadId: "nope" },
          }),
          "NoSuchUpload",
          404,
        ],
        [await fetch(`${vault.endpoint}/${B}`), "AccessDenied", 403],
      ];
      const ids = new Set<string>();
      for (const [res, code, status] of cases) {
        await assertErrorResponse(res, code, status);
        ids.add(res.headers.get("x-amz-request-id")!);
      }
      assertEquals(ids.size, cases.length, "request ids are unique");
    },
  );

  await t.step("GetObject - successful responses carry x-amz-request-id", async () => {
    const res = await signedFetch(vault, s3, { method: "GET", path: `/${B}/secret.txt` });
    assertEquals(res.status, 200);
    assertOk(res.headers.get("x-amz-request-id"), "x-amz-request-id missing");
    assertEquals(await res.text(), "top secret");
  });
});
