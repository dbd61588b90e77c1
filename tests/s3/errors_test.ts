/**
 * Error handling at the edges: unimplemented sub-resources and methods, odd
 * and over-long keys, malformed XML, and truncated request bodies.
 */
import {
  CreateBucketCommand,
  GetBucketAclCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  assertBytesEqual,
  assertEquals,
  assertErrorResponse,
  assertOk,
  assertS3Error,
  bodyBytes,
  encodeKey,
  md5Base64,
  randomBytes,
  rawSocketRequest,
  signedFetch,
  signHeaders,
  vaultSuite,
} from "../helpers/assert_s3.ts";

const B = "err-bucket";

vaultSuite("S3 errors and edge cases", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: "obj", Body: "x" }));
  const roundTrip = async (key: string, body: Uint8Array | string = key) => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: body }));
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
    const expected = typeof body === "string" ? new TextEncoder().encode(body) : body;
    assertBytesEqual(await bodyBytes(g.Body), expected, `key ${JSON.stringify(key)}`);
  };

  await t.step("GetObjectTagging - an object without tags has an empty TagSet", async () => {
    const r = await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: "obj" }));
    assertEquals(r.TagSet ?? [], []);
    await assertS3Error(
      s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: "no-such-object" })),
      "NoSuchKey",
      404,
    );
  });

  await t.step(
    "GetBucketTagging - bucket settings never set answer as S3 does for an unset one",
    async () => {
      await assertS3Error(s3.send(new GetBucketTaggingCommand({ Bucket: B })), "NoSuchTagSet", 404);
      const expected: Record<string, [string, number]> = {
        lifecycle: ["NoSuchLifecycleConfiguration", 404],
        policy: ["NoSuchBucketPolicy", 404],
        cors: ["NoSuchCORSConfiguration", 404],
        "object-lock": ["ObjectLockConfigurationNotFoundError", 404],
      };
      for (const [sub, [code, status]] of Object.entries(expected)) {
        const res = await signedFetch(vault, s3, {
          method: "GET",
          path: `/${B}`,
          query: { [sub]: "" },
        });
        await assertErrorResponse(res, code, status);
      }
      const missing = await signedFetch(vault, s3, {
        method: "GET",
        path: "/no-such-bucket-xyz",
        query: { cors: "" },
      });
      await assertErrorResponse(missing, "NoSuchBucket", 404);
    },
  );

  await t.step("GetBucketAcl - the owner holds FULL_CONTROL", async () => {
    const r = await s3.send(new GetBucketAclCommand({ Bucket: B }));
    assertEquals(r.Grants?.map((g) => g.Permission), ["FULL_CONTROL"]);
    assertOk(r.Owner?.ID);
  });

  await t.step("GetObject - unsupported sub-resources are 501 NotImplemented", async () => {
    for (const sub of ["torrent", "select", "restore"]) {
      const res = await signedFetch(vault, s3, {
        method: "GET",
        path: `/${B}/obj`,
        query: { [sub]: "" },
      });
      await assertErrorResponse(res, "NotImplemented", 501);
    }
    const res = await signedFetch(vault, s3, {
      method: "GET",
      path: `/${B}`,
      query: { inventory: "" },
    });
    await assertErrorResponse(res, "NotImplemented", 501);
  });

  await t.step("PutObject - an unsupported sub-resource write changes nothing", async () => {
    const body = "<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>";
    const res = await signedFetch(vault, s3, {
      method: "PUT",
      path: `/${B}/obj`,
      query: { tagging: "" },
      headers: { "content-md5": md5Base64(body) },
      body,
    });
    await assertErrorResponse(res, "NotImplemented", 501);
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "obj" }));
    assertEquals(new TextDecoder().decode(await bodyBytes(g.Body)), "x");
  });

  await t.step("GetObject - unsupported method is MethodNotAllowed", async () => {
    const res = await signedFetch(vault, s3, { method: "PATCH", path: `/${B}/obj`, body: "y" });
    await assertErrorResponse(res, "MethodNotAllowed", 405);
  });

  await t.step("PutObject - unicode keys round-trip and list verbatim", async () => {
    const keys = ["日本語/ファイル.txt", "ключ/значение", "emoji/🔑🗝️.bin", "mixed/Ünïcödé ñ"];
    for (const k of keys) await roundTrip(k);
    const l = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "" }));
    const listed = new Set(l.Contents?.map((c) => c.Key));
    for (const k of keys) assertOk(listed.has(k), `listing misses ${k}`);
  });

  await t.step("PutObject - keys with spaces, +, %, ?, #, & and = round-trip", async () => {
    const keys = [
      "sp ace/a b",
      "plus+key",
      "pct%20literal",
      "pct%",
      "q?mark",
      "hash#tag",
      "a&b=c;d",
      "tilde~star*(paren)!'",
      " leading-and-trailing ",
    ];
    for (const k of keys) await roundTrip(k);
    const l = await s3.send(new ListObjectsV2Command({ Bucket: B }));
    const listed = new Set(l.Contents?.map((c) => c.Key));
    for (const k of keys) assertOk(listed.has(k), `listing misses ${JSON.stringify(k)}`);
    // "plus+key" and "plus key" are different objects.
    await assertS3Error(
      s3.send(new HeadObjectCommand({ Bucket: B, Key: "plus key" })),
      "NotFound",
      404,
    );
  });

  await t.step("PutObject - keys with control characters round-trip", async () => {
    const keys = ["ctl/tab\there", "ctl/nl\nhere", "ctl/x\x01y", "ctl/del\x7f"];
    for (const k of keys) await roundTrip(k);
    for (const k of keys) {
      const res = await signedFetch(vault, s3, { method: "GET", path: `/${B}/${encodeKey(k)}` });
      assertEquals(res.status, 200);
      assertEquals(await res.text(), k);
    }
  });

  await t.step("PutObject - 1024-byte keys are accepted", async () => {
    await roundTrip("k".repeat(1024), "ascii");
    await roundTrip("é".repeat(512), "two-byte"); // 1024 UTF-8 bytes
  });

  await t.step("PutObject - 1025-byte key is KeyTooLongError", async () => {
    await assertS3Error(
      s3.send(new PutObjectCommand({ Bucket: B, Key: "k".repeat(1025), Body: "x" })),
      "KeyTooLongError",
      400,
    );
    await assertS3Error(
      s3.send(new PutObjectCommand({ Bucket: B, Key: "é".repeat(512) + "x", Body: "x" })),
      "KeyTooLongError",
      400,
    );
  });

  await t.step("DeleteObjects - a body that is not XML is MalformedXML", async () => {
    for (
      const body of [
        "this is not xml",
        "<Delete><Object><Key>obj</Key></Object>",
        "<Delete><Object>",
      ]
    ) {
      const res = await signedFetch(vault, s3, {
        method: "POST",
        path: `/${B}`,
        query: { delete: "" },
        headers: { "content-md5": md5Base64(body) },
        body,
      });
      await assertErrorResponse(res, "MalformedXML", 400);
    }
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "obj" }));
    assertEquals(h.$metadata.httpStatusCode, 200);
  });

  await t.step("CompleteMultipartUpload - malformed XML is MalformedXML", async () => {
    const res = await signedFetch(vault, s3, {
      method: "POST",
      path: `/${B}/obj`,
      query: { uploadId: "whatever" },
      body: "<CompleteMultipartUpload><Part>",
    });
    const text = await res.text();
    // S3 checks the upload first or the body first; either refusal is fine, success is not.
    assertOk(
      (res.status === 400 && text.includes("<Code>MalformedXML</Code>")) ||
        (res.status === 404 && text.includes("<Code>NoSuchUpload</Code>")),
      `${res.status} ${text}`,
    );
  });

  await t.step(
    "PutObject - body shorter than Content-Length does not create the object",
    async () => {
      const full = randomBytes(100_000, 5);
      const r = await rawSocketRequest(
        vault,
        s3,
        {
          method: "PUT",
          path: `/${B}/truncated`,
          headers: { "content-length": String(full.length) },
          unsignedPayload: true,
          body: full.subarray(0, 40_000),
        },
        { closeWrite: true, timeoutMs: 3000 },
      );
      await assertS3Error(
        s3.send(new HeadObjectCommand({ Bucket: B, Key: "truncated" })),
        "NotFound",
        404,
      );
      const l = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "truncated" }));
      assertEquals(l.KeyCount, 0);
      // Either a 400 IncompleteBody or a dropped connection; never a 200 (nor a 500).
      assertOk(r.status !== 200, `truncated PUT answered 200: ${r.text.slice(0, 200)}`);
      if (r.status !== 0) {
        assertEquals(r.status, 400, r.text);
        assertOk(r.text.includes("<Code>IncompleteBody</Code>"), r.text);
      }
    },
  );

  await t.step("PutObject - client vanishing mid-body does not create the object", async () => {
    const full = randomBytes(3 * 1024 * 1024, 6);
    const headers = await signHeaders(vault, s3, {
      method: "PUT",
      path: `/${B}/vanished`,
      headers: { "content-length": String(full.length) },
      unsignedPayload: true,
    });
    const head = `PUT /${B}/vanished HTTP/1.1\r\n` +
      Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: vault.port });
    await conn.write(new TextEncoder().encode(head));
    await conn.write(full.subarray(0, 1024 * 1024));
    await new Promise((r) => setTimeout(r, 200));
    conn.close();
    await new Promise((r) => setTimeout(r, 300));
    await assertS3Error(
      s3.send(new HeadObjectCommand({ Bucket: B, Key: "vanished" })),
      "NotFound",
      404,
    );
    // The vault still serves normally afterwards.
    await roundTrip("after-vanish");
  });
});
