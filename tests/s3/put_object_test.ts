/**
 * PutObject over the AWS SDK v3 (default CRC32 aws-chunked bodies) and raw
 * signed requests: ETags, metadata, digests, overwrite.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  assertBytesEqual,
  assertEquals,
  assertErrorResponse,
  assertOk,
  assertS3Error,
  bodyBytes,
  md5Base64,
  md5Hex,
  randomBytes,
  rawSocketRequest,
  sha256Hex,
  signedFetch,
  vaultSuite,
} from "../helpers/assert_s3.ts";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";

const B = "put-bucket";

vaultSuite("S3 PutObject", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));

  await t.step("PutObject - returns the MD5 ETag and the CRC32 the SDK sent", async () => {
    const body = new TextEncoder().encode("hello, amber");
    const r = await s3.send(new PutObjectCommand({ Bucket: B, Key: "hello.txt", Body: body }));
    assertEquals(r.$metadata.httpStatusCode, 200);
    assertEquals(r.ETag, `"${md5Hex(body)}"`);
    assertOk(r.ChecksumCRC32, "x-amz-checksum-crc32 missing from the response");
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "hello.txt" }));
    assertBytesEqual(await bodyBytes(g.Body), body);
    assertEquals(g.ETag, r.ETag);
    assertEquals(g.ContentLength, body.length);
  });

  await t.step("PutObject - empty body stores a 0-byte object", async () => {
    const r = await s3.send(new PutObjectCommand({ Bucket: B, Key: "empty", Body: "" }));
    assertEquals(r.ETag, '"d41d8cd98f00b204e9800998ecf8427e"');
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "empty" }));
    assertEquals(h.ContentLength, 0);
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "empty" }));
    assertEquals((await bodyBytes(g.Body)).length, 0);
  });

  await t.step("PutObject - multi-MiB body round-trips byte-identical", async () => {
    const body = randomBytes(3 * 1024 * 1024 + 12345, 7);
    const r = await s3.send(new PutObjectCommand({ Bucket: B, Key: "dir/big.bin", Body: body }));
    assertEquals(r.ETag, `"${md5Hex(body)}"`);
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "dir/big.bin" }));
    assertEquals(g.ContentLength, body.length);
    assertBytesEqual(await bodyBytes(g.Body), body);
  });

  await t.step("PutObject - stores Content-Type, standard headers and user metadata", async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: B,
        Key: "meta.json",
        Body: "{}",
        ContentType: "application/json",
        CacheControl: "max-age=60",
        ContentDisposition: 'attachment; filename="m.json"',
        ContentLanguage: "en",
        ContentEncoding: "identity",
        Metadata: { colour: "amber", "multi-word": "a b c" },
      }),
    );
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "meta.json" }));
    assertEquals(h.ContentType, "application/json");
    assertEquals(h.CacheControl, "max-age=60");
    assertEquals(h.ContentDisposition, 'attachment; filename="m.json"');
    assertEquals(h.ContentLanguage, "en");
    assertEquals(h.ContentEncoding, "identity");
    assertEquals(h.Metadata, { colour: "amber", "multi-word": "a b c" });
    assertOk(h.LastModified instanceof Date, "LastModified missing");
    assertEquals(h.AcceptRanges, "bytes");
  });

  await t.step("PutObject - without Content-Type the object is binary/octet-stream", async () => {
    const res = await signedFetch(vault, s3, { method: "PUT", path: `/${B}/no-type`, body: "x" });
    assertEquals(res.status, 200, await res.text());
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "no-type" }));
    assertEquals(h.ContentType, "binary/octet-stream");
  });

  await t.step("PutObject - overwrite replaces bytes and metadata", async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: B, Key: "over", Body: "first", Metadata: { v: "1" } }),
    );
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "over", Body: "second!" }));
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "over" }));
    assertEquals(new TextDecoder().decode(await bodyBytes(g.Body)), "second!");
    assertEquals(g.Metadata, {});
    assertEquals(g.ETag, `"${md5Hex("second!")}"`);
  });

  await t.step("PutObject - correct Content-MD5 is accepted", async () => {
    const body = "md5 checked";
    const r = await s3.send(
      new PutObjectCommand({ Bucket: B, Key: "md5-ok", Body: body, ContentMD5: md5Base64(body) }),
    );
    assertEquals(r.ETag, `"${md5Hex(body)}"`);
  });

  await t.step("PutObject - malformed Content-MD5 is InvalidDigest", async () => {
    const res = await signedFetch(vault, s3, {
      method: "PUT",
      path: `/${B}/md5-malformed`,
      headers: { "content-md5": "not-an-md5" },
      body: "x",
    });
    await assertErrorResponse(res, "InvalidDigest", 400);
    await assertS3Error(
      s3.send(new HeadObjectCommand({ Bucket: B, Key: "md5-malformed" })),
      "NotFound",
      404,
    );
  });

  await t.step("PutObject - correct x-amz-checksum-sha256 is stored and returned", async () => {
    const body = new TextEncoder().encode("sha256 checked body");
    const sum = createHash("sha256").update(body).digest("base64");
    const r = await s3.send(
      new PutObjectCommand({ Bucket: B, Key: "sha", Body: body, ChecksumSHA256: sum }),
    );
    assertEquals(r.ChecksumSHA256, sum);
    const h = await s3.send(
      new HeadObjectCommand({ Bucket: B, Key: "sha", ChecksumMode: "ENABLED" }),
    );
    assertEquals(h.ChecksumSHA256, sum);
  });

  await t.step(
    "PutObject - body not matching the signed x-amz-content-sha256 is refused",
    async () => {
      const res = await signedFetch(vault, s3, {
        method: "PUT",
        path: `/${B}/sha-mismatch`,
        payloadHash: sha256Hex("something else"),
        body: "actual body",
      });
      await assertErrorResponse(res, "XAmzContentSHA256Mismatch", 400);
      await assertS3Error(
        s3.send(new HeadObjectCommand({ Bucket: B, Key: "sha-mismatch" })),
        "NotFound",
        404,
      );
    },
  );

  await t.step("PutObject - user metadata over 2 KB is MetadataTooLarge", async () => {
    await assertS3Error(
      s3.send(
        new PutObjectCommand({
          Bucket: B,
          Key: "big-meta",
          Body: "x",
          Metadata: { big: "v".repeat(2100) },
        }),
      ),
      "MetadataTooLarge",
      400,
    );
  });

  await t.step("PutObject - missing Content-Length is MissingContentLength", async () => {
    // Neither Content-Length nor Transfer-Encoding: only a raw socket can send that.
    const r = await rawSocketRequest(vault, s3, {
      method: "PUT",
      path: `/${B}/no-length`,
      unsignedPayload: true,
    });
    assertEquals(r.status, 411, r.text);
    assertOk(r.text.includes("<Code>MissingContentLength</Code>"), r.text);
  });

  await t.step(
    "PutObject - multi-MiB aws-chunked bodies: intact is stored; broken frame, wrong trailer or truncation store nothing",
    async () => {
      const data = randomBytes(3 * 1024 * 1024 + 777, 11);
      const crc = Buffer.from(crc32(data).toString(16).padStart(8, "0"), "hex").toString("base64");
      const good = awsChunked(data, crc);
      const put = async (key: string, body: Uint8Array, closeWrite = false) => {
        const r = await rawSocketRequest(vault, s3, {
          method: "PUT",
          path: `/${B}/${key}`,
          headers: {
            "content-length": String(good.length),
            "content-encoding": "aws-chunked",
            "x-amz-decoded-content-length": String(data.length),
            "x-amz-trailer": "x-amz-checksum-crc32",
          },
          payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
          body,
        }, { closeWrite, timeoutMs: 10_000 }).catch(() => ({ status: 0, text: "" }));
        if (r.status === 200) return r;
        await assertS3Error(
          s3.send(new HeadObjectCommand({ Bucket: B, Key: key })),
          "NotFound",
          404,
        );
        return r;
      };
      const ok = await put("chunked-ok", good);
      assertEquals(ok.status, 200, ok.text);
      const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "chunked-ok" }));
      assertEquals(g.ETag, `"${md5Hex(data)}"`);
      assertBytesEqual(await bodyBytes(g.Body), data);

      // A chunk-size line late in the body that is not hex: refused once the read reaches it.
      const at = new TextDecoder("latin1").decode(good).indexOf("\r\n10000\r\n", 2 << 20);
      const broken = good.slice();
      broken.set(new TextEncoder().encode("zz"), at + 2);
      const framing = await put("chunked-broken", broken);
      assertOk([0, 400].includes(framing.status), framing.text);
      if (framing.status) {
        assertOk(framing.text.includes("<Code>InvalidRequest</Code>"), framing.text);
      }

      const wrong = await put("chunked-wrong-crc", awsChunked(data, "AAAAAA=="));
      assertOk([0, 400].includes(wrong.status), wrong.text);
      if (wrong.status) assertOk(wrong.text.includes("<Code>BadDigest</Code>"), wrong.text);

      const cut = await put("chunked-cut", good.subarray(0, 2.5 * 1024 * 1024), true);
      assertOk(cut.status !== 200, cut.text);
      if (cut.status) assertOk(cut.text.includes("<Code>IncompleteBody</Code>"), cut.text);
    },
  );

  await t.step("PutObject - key with slashes and dots is stored verbatim", async () => {
    const key = "a/b/../c/./d//e";
    await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: "path" }));
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
    assertEquals(new TextDecoder().decode(await bodyBytes(g.Body)), "path");
    await assertS3Error(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "a/c/d/e" })),
      "NoSuchKey",
      404,
    );
  });
});

/** A `STREAMING-UNSIGNED-PAYLOAD-TRAILER` body of 64 KiB chunks ending with a CRC32 trailer. */
function awsChunked(data: Uint8Array, crc32Base64: string): Uint8Array {
  const parts: Uint8Array[] = [];
  const text = (s: string) => parts.push(new TextEncoder().encode(s));
  for (let o = 0; o < data.length; o += 65536) {
    const chunk = data.subarray(o, o + 65536);
    text(`${chunk.length.toString(16)}\r\n`);
    parts.push(chunk);
    text("\r\n");
  }
  text(`0\r\nx-amz-checksum-crc32:${crc32Base64}\r\n\r\n`);
  return new Uint8Array(Buffer.concat(parts)); // a Uint8Array, whose slice() copies
}
