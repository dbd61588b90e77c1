/**
 * GetObject and HeadObject over the AWS SDK v3: ranges, conditional
 * requests, part numbers, response header overrides, checksum mode.
 */
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import {
  assertBytesEqual,
  assertEquals,
  assertErrorResponse,
  assertOk,
  assertS3Error,
  assertS3Status,
  bodyBytes,
  randomBytes,
  signedFetch,
  vaultSuite,
} from "../helpers/assert_s3.ts";

const B = "get-bucket";
const SIZE = 1000;
const DATA = randomBytes(SIZE, 42);
const MIB = 1024 * 1024;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32 (IEEE) as S3 reports it: base64 of the big-endian 4 bytes. */
function crc32Base64(bytes: Uint8Array): string {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  c = (c ^ 0xffffffff) >>> 0;
  const out = new Uint8Array([c >>> 24, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff]);
  return btoa(String.fromCharCode(...out));
}

vaultSuite("S3 GetObject and HeadObject", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  const put = await s3.send(
    new PutObjectCommand({ Bucket: B, Key: "obj", Body: DATA, ContentType: "text/plain" }),
  );
  const etag = put.ETag!;
  const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "obj" }));
  const lastModified = head.LastModified!;

  const range = async (r: string) => {
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "obj", Range: r }));
    return { g, bytes: await bodyBytes(g.Body) };
  };

  await t.step("GetObject - whole object is 200 with length, type and ETag", async () => {
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "obj" }));
    assertEquals(g.$metadata.httpStatusCode, 200);
    assertEquals(g.ContentLength, SIZE);
    assertEquals(g.ContentType, "text/plain");
    assertEquals(g.ETag, etag);
    assertEquals(g.AcceptRanges, "bytes");
    assertEquals(g.ContentRange, undefined);
    assertBytesEqual(await bodyBytes(g.Body), DATA);
  });

  await t.step("GetObject - Range bytes=a-b is 206 with Content-Range", async () => {
    const { g, bytes } = await range("bytes=10-19");
    assertEquals(g.$metadata.httpStatusCode, 206);
    assertEquals(g.ContentRange, `bytes 10-19/${SIZE}`);
    assertEquals(g.ContentLength, 10);
    assertBytesEqual(bytes, DATA.subarray(10, 20));
  });

  await t.step("GetObject - Range bytes=a- reads to the end", async () => {
    const { g, bytes } = await range("bytes=990-");
    assertEquals(g.$metadata.httpStatusCode, 206);
    assertEquals(g.ContentRange, `bytes 990-999/${SIZE}`);
    assertBytesEqual(bytes, DATA.subarray(990));
  });

  await t.step("GetObject - Range bytes=-n reads the last n bytes", async () => {
    const { g, bytes } = await range("bytes=-7");
    assertEquals(g.$metadata.httpStatusCode, 206);
    assertEquals(g.ContentRange, `bytes 993-999/${SIZE}`);
    assertEquals(g.ContentLength, 7);
    assertBytesEqual(bytes, DATA.subarray(993));
  });

  await t.step("GetObject - Range past the end is clamped to the object", async () => {
    const { g, bytes } = await range("bytes=995-5000");
    assertEquals(g.$metadata.httpStatusCode, 206);
    assertEquals(g.ContentRange, `bytes 995-999/${SIZE}`);
    assertBytesEqual(bytes, DATA.subarray(995));
    const all = await range("bytes=-5000");
    assertEquals(all.g.ContentRange, `bytes 0-999/${SIZE}`);
    assertBytesEqual(all.bytes, DATA);
  });

  await t.step("GetObject - Range starting at the size is 416 InvalidRange", async () => {
    await assertS3Error(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "obj", Range: `bytes=${SIZE}-` })),
      "InvalidRange",
      416,
    );
    await assertS3Error(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "obj", Range: "bytes=5000-6000" })),
      "InvalidRange",
      416,
    );
  });

  await t.step(
    "GetObject - suffix Range on an empty object is 200 with no Content-Range",
    async () => {
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "empty", Body: new Uint8Array(0) }));
      const res = await signedFetch(vault, s3, {
        method: "GET",
        path: `/${B}/empty`,
        headers: { range: "bytes=-5" },
      });
      assertEquals([res.status, res.headers.get("content-range"), await res.text()], [
        200,
        null,
        "",
      ]);
    },
  );

  await t.step(
    "GetObject - partNumber 1 of a single-part object is 206, whole, no PartsCount",
    async () => {
      const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "obj", PartNumber: 1 }));
      assertEquals(g.$metadata.httpStatusCode, 206);
      assertEquals(g.ContentRange, `bytes 0-${SIZE - 1}/${SIZE}`);
      assertEquals(g.PartsCount, undefined);
      assertBytesEqual(await bodyBytes(g.Body), DATA);
    },
  );

  await t.step("HeadObject - response-* overrides apply as on GET", async () => {
    const h = await s3.send(
      new HeadObjectCommand({
        Bucket: B,
        Key: "obj",
        ResponseContentType: "text/x-probe",
        ResponseContentDisposition: "attachment",
      }),
    );
    assertEquals([h.ContentType, h.ContentDisposition], ["text/x-probe", "attachment"]);
  });

  await t.step("GetObject - InvalidRange error body names the object size", async () => {
    const res = await signedFetch(vault, s3, {
      method: "GET",
      path: `/${B}/obj`,
      headers: { range: "bytes=2000-" },
    });
    const text = await assertErrorResponse(res, "InvalidRange", 416);
    assertOk(text.includes(`<ActualObjectSize>${SIZE}</ActualObjectSize>`), text);
  });

  await t.step("GetObject - missing key is NoSuchKey, missing bucket NoSuchBucket", async () => {
    await assertS3Error(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "nope" })),
      "NoSuchKey",
      404,
    );
    await assertS3Error(
      s3.send(new GetObjectCommand({ Bucket: "no-such-bucket-x", Key: "obj" })),
      "NoSuchBucket",
      404,
    );
    const res = await signedFetch(vault, s3, { method: "GET", path: `/${B}/nope` });
    const text = await assertErrorResponse(res, "NoSuchKey", 404);
    assertOk(text.includes("<Key>nope</Key>"), `NoSuchKey names the key: ${text}`);
  });

  await t.step("HeadObject - missing key is 404 NotFound without a body", async () => {
    await assertS3Error(
      s3.send(new HeadObjectCommand({ Bucket: B, Key: "nope" })),
      "NotFound",
      404,
    );
    const res = await signedFetch(vault, s3, { method: "HEAD", path: `/${B}/nope` });
    await assertErrorResponse(res, "NoSuchKey", 404, { head: true });
  });

  await t.step("GetObject - If-Match with the ETag is 200, another is 412", async () => {
    const ok = await s3.send(new GetObjectCommand({ Bucket: B, Key: "obj", IfMatch: etag }));
    assertEquals(ok.$metadata.httpStatusCode, 200);
    await ok.Body?.transformToByteArray();
    await assertS3Error(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "obj", IfMatch: '"0000"' })),
      "PreconditionFailed",
      412,
    );
    const star = await s3.send(new GetObjectCommand({ Bucket: B, Key: "obj", IfMatch: "*" }));
    assertEquals(star.$metadata.httpStatusCode, 200);
    await star.Body?.transformToByteArray();
  });

  await t.step("GetObject - If-None-Match with the ETag is 304 Not Modified", async () => {
    await assertS3Status(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "obj", IfNoneMatch: etag })),
      304,
    );
    const res = await signedFetch(vault, s3, {
      method: "GET",
      path: `/${B}/obj`,
      headers: { "if-none-match": etag },
    });
    assertEquals(res.status, 304);
    assertEquals(res.headers.get("etag"), etag);
    assertEquals(await res.text(), "");
    const other = await s3.send(
      new GetObjectCommand({ Bucket: B, Key: "obj", IfNoneMatch: '"0000"' }),
    );
    assertEquals(other.$metadata.httpStatusCode, 200);
    await other.Body?.transformToByteArray();
  });

  await t.step("GetObject - If-Modified-Since before/after Last-Modified is 200/304", async () => {
    const before = new Date(lastModified.getTime() - 60_000);
    const after = new Date(lastModified.getTime() + 60_000);
    const g = await s3.send(
      new GetObjectCommand({ Bucket: B, Key: "obj", IfModifiedSince: before }),
    );
    assertEquals(g.$metadata.httpStatusCode, 200);
    await g.Body?.transformToByteArray();
    await assertS3Status(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "obj", IfModifiedSince: after })),
      304,
    );
  });

  await t.step("GetObject - If-Unmodified-Since before Last-Modified is 412", async () => {
    const before = new Date(lastModified.getTime() - 60_000);
    const after = new Date(lastModified.getTime() + 60_000);
    await assertS3Error(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "obj", IfUnmodifiedSince: before })),
      "PreconditionFailed",
      412,
    );
    const g = await s3.send(
      new GetObjectCommand({ Bucket: B, Key: "obj", IfUnmodifiedSince: after }),
    );
    assertEquals(g.$metadata.httpStatusCode, 200);
    await g.Body?.transformToByteArray();
  });

  await t.step("GetObject - true If-Match wins over a false If-Unmodified-Since", async () => {
    const before = new Date(lastModified.getTime() - 60_000);
    const g = await s3.send(
      new GetObjectCommand({ Bucket: B, Key: "obj", IfMatch: etag, IfUnmodifiedSince: before }),
    );
    assertEquals(g.$metadata.httpStatusCode, 200);
    await g.Body?.transformToByteArray();
  });

  await t.step("GetObject - false If-None-Match with true If-Modified-Since is 304", async () => {
    const before = new Date(lastModified.getTime() - 60_000);
    await assertS3Status(
      s3.send(
        new GetObjectCommand({ Bucket: B, Key: "obj", IfNoneMatch: etag, IfModifiedSince: before }),
      ),
      304,
    );
  });

  await t.step("HeadObject - conditional headers give 304 and 412", async () => {
    await assertS3Status(
      s3.send(new HeadObjectCommand({ Bucket: B, Key: "obj", IfNoneMatch: etag })),
      304,
    );
    // HEAD errors carry no body; the raw response must still be a 412 with a request id.
    await assertS3Status(
      s3.send(new HeadObjectCommand({ Bucket: B, Key: "obj", IfMatch: '"0000"' })),
      412,
    );
    const res = await signedFetch(vault, s3, {
      method: "HEAD",
      path: `/${B}/obj`,
      headers: { "if-match": '"0000"' },
    });
    await assertErrorResponse(res, "PreconditionFailed", 412, { head: true });
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "obj", IfMatch: etag }));
    assertEquals(h.$metadata.httpStatusCode, 200);
    assertEquals(h.ContentLength, SIZE);
  });

  await t.step("GetObject - response-* query parameters override headers", async () => {
    const g = await s3.send(
      new GetObjectCommand({
        Bucket: B,
        Key: "obj",
        ResponseContentType: "application/x-override",
        ResponseContentDisposition: 'attachment; filename="x.bin"',
        ResponseCacheControl: "no-store",
        ResponseContentLanguage: "fr",
        ResponseContentEncoding: "identity",
        ResponseExpires: new Date("2030-01-01T00:00:00Z"),
      }),
    );
    assertEquals(g.ContentType, "application/x-override");
    assertEquals(g.ContentDisposition, 'attachment; filename="x.bin"');
    assertEquals(g.CacheControl, "no-store");
    assertEquals(g.ContentLanguage, "fr");
    assertEquals(g.ContentEncoding, "identity");
    assertEquals(g.Expires?.toISOString(), "2030-01-01T00:00:00.000Z");
    await g.Body?.transformToByteArray();
    // The stored headers are unchanged.
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "obj" }));
    assertEquals(h.ContentType, "text/plain");
  });

  await t.step("GetObject - x-amz-checksum-mode ENABLED returns the CRC32", async () => {
    const expected = crc32Base64(DATA);
    assertEquals(put.ChecksumCRC32, expected);
    const g = await s3.send(
      new GetObjectCommand({ Bucket: B, Key: "obj", ChecksumMode: "ENABLED" }),
    );
    assertEquals(g.ChecksumCRC32, expected);
    assertBytesEqual(await bodyBytes(g.Body), DATA);
    const h = await s3.send(
      new HeadObjectCommand({ Bucket: B, Key: "obj", ChecksumMode: "ENABLED" }),
    );
    assertEquals(h.ChecksumCRC32, expected);
    const plain = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "obj" }));
    assertEquals(plain.ChecksumCRC32, undefined);
  });

  // A two-part multipart object: 5 MiB + 1 MiB + 3 bytes.
  const part1 = randomBytes(5 * MIB, 1);
  const part2 = randomBytes(MIB + 3, 2);
  const mp = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: "mp" }));
  const e1 = await s3.send(
    new UploadPartCommand({
      Bucket: B,
      Key: "mp",
      UploadId: mp.UploadId,
      PartNumber: 1,
      Body: part1,
    }),
  );
  const e2 = await s3.send(
    new UploadPartCommand({
      Bucket: B,
      Key: "mp",
      UploadId: mp.UploadId,
      PartNumber: 2,
      Body: part2,
    }),
  );
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: B,
      Key: "mp",
      UploadId: mp.UploadId,
      MultipartUpload: {
        Parts: [{ PartNumber: 1, ETag: e1.ETag }, { PartNumber: 2, ETag: e2.ETag }],
      },
    }),
  );
  const total = part1.length + part2.length;

  await t.step("GetObject - partNumber of a multipart object returns that part", async () => {
    const g1 = await s3.send(new GetObjectCommand({ Bucket: B, Key: "mp", PartNumber: 1 }));
    assertEquals(g1.$metadata.httpStatusCode, 206);
    assertEquals(g1.PartsCount, 2);
    assertEquals(g1.ContentLength, part1.length);
    assertEquals(g1.ContentRange, `bytes 0-${part1.length - 1}/${total}`);
    assertBytesEqual(await bodyBytes(g1.Body), part1);
    const g2 = await s3.send(new GetObjectCommand({ Bucket: B, Key: "mp", PartNumber: 2 }));
    assertEquals(g2.$metadata.httpStatusCode, 206);
    assertEquals(g2.ContentRange, `bytes ${part1.length}-${total - 1}/${total}`);
    assertBytesEqual(await bodyBytes(g2.Body), part2);
  });

  await t.step("HeadObject - partNumber gives the part's length and PartsCount", async () => {
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "mp", PartNumber: 2 }));
    assertEquals(h.$metadata.httpStatusCode, 206);
    assertEquals(h.ContentLength, part2.length);
    assertEquals(h.PartsCount, 2);
    const whole = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "mp" }));
    assertEquals(whole.ContentLength, total);
    assertOk(/-2"$/.test(whole.ETag ?? ""), `multipart ETag ends in -2: ${whole.ETag}`);
  });

  await t.step("GetObject - partNumber past the last part is 416 InvalidPartNumber", async () => {
    await assertS3Error(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "mp", PartNumber: 3 })),
      "InvalidPartNumber",
      416,
    );
  });

  await t.step("GetObject - Range across the part boundary of a multipart object", async () => {
    const start = part1.length - 5;
    const g = await s3.send(
      new GetObjectCommand({ Bucket: B, Key: "mp", Range: `bytes=${start}-${start + 9}` }),
    );
    assertEquals(g.ContentRange, `bytes ${start}-${start + 9}/${total}`);
    const bytes = await bodyBytes(g.Body);
    assertBytesEqual(bytes.subarray(0, 5), part1.subarray(start));
    assertBytesEqual(bytes.subarray(5), part2.subarray(0, 5));
  });
});
