/**
 * SigV4 over the wire, requests real clients (or the AWS spec) make: a header sent twice, the
 * `x-amz-*` headers a presigner hoists into the query (metadata and Object Lock applied, a checksum
 * not checked, as on S3), a checksum trailer not announced in `x-amz-trailer`, and an admin URL
 * presigned before its key was created. Each but the checksum case failed before session 12 (the
 * auth review).
 *
 * @module
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { assertEquals, assertOk, vaultSuite } from "../helpers/assert_s3.ts";
import { chunkedBody, codeOf, sendRaw, sha256, signRaw } from "../helpers/raw_sigv4.ts";

const B = "wire-review";
const LOCKED = "wire-review-locked";

vaultSuite("SigV4 over the wire", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: "plain", Body: "plain" }));
  const cred = {
    accessKey: vault.accessKey,
    secretKey: vault.secretKey,
    host: `127.0.0.1:${vault.port}`,
  };

  await t.step(
    "GetObject - a header sent twice, signed as SigV4 says (values joined by ','), is accepted",
    async () => {
      // botocore's S3SigV4Auth signs the same canonical form: ','.join(values).
      const s = signRaw({
        ...cred,
        method: "GET",
        path: `/${B}/plain`,
        headers: [["x-amz-meta-a", "one"], ["x-amz-meta-a", "two"]],
      });
      assertOk(s.canonical.includes("\nx-amz-meta-a:one,two\n"), s.canonical);
      const r = await sendRaw(vault.port, "GET", s.target, s.headers);
      assertEquals(r.status, 200, `${codeOf(r.body)}: ${r.body.slice(0, 300)}`);
    },
  );

  await t.step(
    "PutObject - presigned URL (SDK v3) with Metadata hoisted into the query stores the metadata",
    async () => {
      const url = await getSignedUrl(
        s3,
        new PutObjectCommand({ Bucket: B, Key: "presigned-meta", Metadata: { owner: "alice" } }),
        { expiresIn: 60 },
      );
      assertOk(url.includes("x-amz-meta-owner=alice"), url);
      const r = await fetch(url, { method: "PUT", body: "hello" });
      assertEquals(r.status, 200, await r.text());
      const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "presigned-meta" }));
      assertEquals(h.Metadata?.owner, "alice", "metadata from the signed query was dropped");
    },
  );

  await t.step(
    "PutObject - presigned URL with a retention in the query is not stored unlocked with 200",
    async () => {
      const until = new Date(Date.now() + 86_400_000);
      const url = await getSignedUrl(
        s3,
        new PutObjectCommand({
          Bucket: LOCKED,
          Key: "presigned-lock",
          ObjectLockMode: "COMPLIANCE",
          ObjectLockRetainUntilDate: until,
        }),
        { expiresIn: 60 },
      );
      assertOk(url.includes("x-amz-object-lock-mode=COMPLIANCE"), url);
      const r = await fetch(url, { method: "PUT", body: "must be locked" });
      const text = await r.text();
      if (r.status !== 200) return; // refusing what it cannot apply is acceptable
      const ret = await s3.send(
        new GetObjectRetentionCommand({ Bucket: LOCKED, Key: "presigned-lock" }),
      ).catch((e) => e as Error);
      assertEquals(
        (ret as { Retention?: { Mode?: string } }).Retention?.Mode,
        "COMPLIANCE",
        `200 (${text}) but the version has no retention: ${String((ret as Error).name ?? "")}`,
      );
    },
  );

  await t.step(
    "PutObject - a checksum in a presigned URL's query is not checked, as on S3 (the SDK signs the empty body's)",
    async () => {
      // S3: "presigned URLs don't support using the following data-integrity checksum algorithms
      // (CRC32, CRC32C, SHA-1, SHA-256)"; the SDK v3 signs the CRC32 of the body it has, none.
      const url = await getSignedUrl(
        s3,
        new PutObjectCommand({ Bucket: B, Key: "presigned-crc" }),
        { expiresIn: 60 },
      );
      assertOk(url.includes("x-amz-checksum-crc32=AAAAAA%3D%3D"), url);
      const r = await fetch(url, { method: "PUT", body: "hello" });
      assertEquals(r.status, 200, await r.text());
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: "presigned-crc" }));
      assertEquals(await got.Body!.transformToString(), "hello");
    },
  );

  await t.step(
    "PutObject - STREAMING-UNSIGNED-PAYLOAD-TRAILER with a checksum trailer not announced in " +
      "x-amz-trailer is refused, not stored unchecked",
    async () => {
      const body = new TextEncoder().encode("hello");
      const s = signRaw({
        ...cred,
        method: "PUT",
        path: `/${B}/undeclared-trailer`,
        headers: [
          ["content-encoding", "aws-chunked"],
          ["x-amz-decoded-content-length", String(body.length)],
        ],
        payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      });
      const chunked = chunkedBody(
        { signingKey: s.signingKey, date: s.date, scope: s.scope, seed: s.signature },
        [body],
        { unsigned: true, trailers: [["x-amz-checksum-crc32", "AAAAAA=="]] }, // wrong CRC
      );
      const r = await sendRaw(vault.port, "PUT", s.target, s.headers, chunked.body);
      assertEquals(
        r.status,
        400,
        `stored with a wrong, unchecked trailer: ${r.text.slice(0, 300)}`,
      );
      const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "undeclared-trailer" }))
        .then(() => "found", () => "absent");
      assertEquals(h, "absent");
    },
  );

  await t.step(
    "GET /admin/audit - a URL presigned before its key was created is refused, as on S3 paths",
    async () => {
      const ak = `REVIEWOPS${Date.now()}`;
      const secret = "review-ops-secret-0123456789";
      const body = JSON.stringify({ accessKey: ak, secretKey: secret, level: "owner" });
      const add = signRaw({
        ...cred,
        method: "POST",
        path: "/admin/keys",
        headers: [["content-type", "application/json"]],
        payloadHash: sha256(body),
      });
      const added = await sendRaw(vault.port, "POST", add.target, add.headers, body);
      assertEquals(added.status, 201, added.text);
      const ops = { ...cred, accessKey: ak, secretKey: secret };
      const before = Date.now() - 3_600_000;
      // The S3 surface refuses such a URL ("signed before this access key was created") ...
      const s3Url = signRaw({
        ...ops,
        method: "GET",
        path: `/${B}/plain`,
        nowMs: before,
        presign: { expires: 604800 },
      });
      const s3Res = await sendRaw(vault.port, "GET", s3Url.target, s3Url.headers);
      assertEquals(s3Res.status, 403, s3Res.text);
      // ... the admin audit export must too.
      const audit = signRaw({
        ...ops,
        method: "GET",
        path: "/admin/audit",
        nowMs: before,
        presign: { expires: 604800 },
      });
      const res = await sendRaw(vault.port, "GET", audit.target, audit.headers);
      assertEquals(res.status, 403, `audit exported: ${res.body.slice(0, 200)}`);
    },
  );
});
