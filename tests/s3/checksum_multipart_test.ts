/**
 * Flexible checksums of multipart uploads and copies, as AWS S3 makes and
 * checks them: the object's checksum claimed on CompleteMultipartUpload, part
 * checksums of the upload's algorithm only, per-part checksums in the Complete
 * document, FULL_OBJECT CRCs combined from the parts', and the checksum asked
 * for on CopyObject and UploadPartCopy. (From the session-11 review; each step
 * failed before its fix.)
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { Buffer } from "node:buffer";
import {
  assertEquals,
  assertOk,
  assertS3Error,
  randomBytes,
  signedFetch,
  vaultSuite,
} from "../helpers/assert_s3.ts";

const B = "mp-checksums";
const MIB = 1024 * 1024;

const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest();
/** S3's COMPOSITE SHA256: SHA-256 of the concatenated binary part SHA-256s, then "-N". */
function compositeSha256(parts: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(sha256(p));
  return `${h.digest("base64")}-${parts.length}`;
}

vaultSuite("Checksums - multipart uploads and copies", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));

  await t.step(
    "CompleteMultipartUpload - x-amz-checksum-crc32 is the object's FULL_OBJECT checksum, not the XML body's",
    async () => {
      const key = "f1a";
      const { uploadId, parts } = await upload(key, [randomBytes(1000, 1)], "CRC32", "FULL_OBJECT");
      // One part: the full-object CRC32 is the part's CRC32.
      const r = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: key,
          UploadId: uploadId,
          ChecksumCRC32: parts[0].ChecksumCRC32,
          ChecksumType: "FULL_OBJECT",
          MultipartUpload: { Parts: parts },
        }),
      );
      assertEquals(r.$metadata.httpStatusCode, 200);
    },
  );

  await t.step(
    "CompleteMultipartUpload - x-amz-checksum-sha256 carries the object's COMPOSITE checksum",
    async () => {
      const key = "f1b";
      const body = randomBytes(1000, 2);
      const { uploadId, parts } = await upload(key, [body], "SHA256");
      const composite = compositeSha256([body]);
      const r = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: key,
          UploadId: uploadId,
          ChecksumSHA256: composite,
          MultipartUpload: { Parts: parts },
        }),
      );
      assertEquals(r.ChecksumSHA256, composite);
    },
  );

  await t.step(
    "UploadPart - a checksum of another algorithm than the upload's is InvalidRequest",
    async () => {
      const key = "f2a";
      const c = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: B, Key: key, ChecksumAlgorithm: "SHA256" }),
      );
      await assertS3Error(
        s3.send(
          new UploadPartCommand({
            Bucket: B,
            Key: key,
            UploadId: c.UploadId,
            PartNumber: 1,
            Body: randomBytes(1000, 3),
            ChecksumAlgorithm: "CRC32",
          }),
        ),
        "InvalidRequest",
        400,
      );
    },
  );

  await t.step(
    "CompleteMultipartUpload - a stored COMPOSITE SHA256 is built from SHA-256 digests only",
    async () => {
      const key = "f2b";
      const p1 = randomBytes(5 * MIB, 4);
      const p2 = randomBytes(1000, 5);
      const c = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: B, Key: key, ChecksumAlgorithm: "SHA256" }),
      );
      const u1 = await s3.send(
        new UploadPartCommand({
          Bucket: B,
          Key: key,
          UploadId: c.UploadId,
          PartNumber: 1,
          Body: p1,
          ChecksumAlgorithm: "SHA256",
        }),
      );
      let u2;
      try {
        u2 = await s3.send(
          new UploadPartCommand({
            Bucket: B,
            Key: key,
            UploadId: c.UploadId,
            PartNumber: 2,
            Body: p2,
            ChecksumAlgorithm: "CRC32",
          }),
        );
      } catch {
        return; // refused, as S3 does: nothing wrong can be stored
      }
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: key,
          UploadId: c.UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: u1.ETag, ChecksumSHA256: u1.ChecksumSHA256 },
              { PartNumber: 2, ETag: u2.ETag },
            ],
          },
        }),
      );
      const h = await s3.send(
        new HeadObjectCommand({ Bucket: B, Key: key, ChecksumMode: "ENABLED" }),
      );
      if (h.ChecksumSHA256 !== undefined) {
        assertEquals(
          h.ChecksumSHA256,
          compositeSha256([p1, p2]),
          "the object's x-amz-checksum-sha256 is not the SHA-256 composite of its parts",
        );
      }
    },
  );

  await t.step(
    "CompleteMultipartUpload - a wrong per-part ChecksumSHA256 is InvalidPart",
    async () => {
      const { uploadId, parts } = await upload("f3a", [randomBytes(1000, 6)], "SHA256");
      await assertS3Error(
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: B,
            Key: "f3a",
            UploadId: uploadId,
            MultipartUpload: {
              Parts: [{ ...parts[0], ChecksumSHA256: sha256("not the part").toString("base64") }],
            },
          }),
        ),
        "InvalidPart",
        400,
      );
    },
  );

  await t.step(
    "CompleteMultipartUpload - part checksums missing on a SHA256 upload is InvalidRequest",
    async () => {
      const { uploadId, parts } = await upload("f3b", [randomBytes(1000, 7)], "SHA256");
      await assertS3Error(
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: B,
            Key: "f3b",
            UploadId: uploadId,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: parts[0].ETag }] },
          }),
        ),
        "InvalidRequest",
        400,
      );
    },
  );

  await t.step(
    "CopyObject - x-amz-checksum-algorithm gives the copy a checksum of that algorithm",
    async () => {
      const body = "hello copy checksum";
      await s3.send(
        new PutObjectCommand({ Bucket: B, Key: "f4-src", Body: body, ChecksumAlgorithm: "CRC32" }),
      );
      const r = await s3.send(
        new CopyObjectCommand({
          Bucket: B,
          Key: "f4-dst",
          CopySource: `${B}/f4-src`,
          ChecksumAlgorithm: "SHA256",
        }),
      );
      const want = sha256(body).toString("base64");
      assertEquals(
        r.CopyObjectResult?.ChecksumSHA256,
        want,
        "CopyObjectResult lacks ChecksumSHA256",
      );
      const h = await s3.send(
        new HeadObjectCommand({ Bucket: B, Key: "f4-dst", ChecksumMode: "ENABLED" }),
      );
      assertEquals(h.ChecksumSHA256, want);
    },
  );

  await t.step("CopyObject - an unknown x-amz-checksum-algorithm is 400", async () => {
    const res = await signedFetch(vault, s3, {
      method: "PUT",
      path: `/${B}/f4-bogus`,
      headers: { "x-amz-copy-source": `/${B}/f4-src`, "x-amz-checksum-algorithm": "BOGUS" },
    });
    const text = await res.text();
    assertEquals(res.status, 400, `got ${res.status}: ${text.slice(0, 200)}`);
  });

  await t.step(
    "UploadPartCopy - a part copied into a SHA256 upload gets a SHA256, and so does the object",
    async () => {
      const src = randomBytes(2000, 8);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "f5-src", Body: src }));
      const key = "f5";
      const c = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: B, Key: key, ChecksumAlgorithm: "SHA256" }),
      );
      const p = await s3.send(
        new UploadPartCopyCommand({
          Bucket: B,
          Key: key,
          UploadId: c.UploadId,
          PartNumber: 1,
          CopySource: `${B}/f5-src`,
        }),
      );
      assertEquals(
        p.CopyPartResult?.ChecksumSHA256,
        sha256(src).toString("base64"),
        "CopyPartResult lacks ChecksumSHA256",
      );
      const r = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: key,
          UploadId: c.UploadId,
          MultipartUpload: {
            Parts: [{
              PartNumber: 1,
              ETag: p.CopyPartResult?.ETag,
              ChecksumSHA256: p.CopyPartResult?.ChecksumSHA256,
            }],
          },
        }),
      );
      assertEquals(r.ChecksumSHA256, compositeSha256([src]));
    },
  );

  await t.step(
    "CreateMultipartUpload - FULL_OBJECT with SHA256 is InvalidRequest",
    async () => {
      await assertS3Error(
        s3.send(
          new CreateMultipartUploadCommand({
            Bucket: B,
            Key: "f6",
            ChecksumAlgorithm: "SHA256",
            ChecksumType: "FULL_OBJECT",
          }),
        ),
        "InvalidRequest",
        400,
      );
    },
  );

  await t.step(
    "CompleteMultipartUpload - a CRC64NVME upload keeps a FULL_OBJECT CRC64NVME",
    async () => {
      const key = "f7";
      const { uploadId, parts } = await upload(key, [randomBytes(1000, 9)], "CRC64NVME");
      const u = parts[0];
      assertOk(u.ChecksumCRC64NVME, "part has no CRC64NVME");
      const r = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      // One part: the full-object CRC64NVME is the part's.
      assertEquals(r.ChecksumCRC64NVME, u.ChecksumCRC64NVME, "Complete returns no CRC64NVME");
      const h = await s3.send(
        new HeadObjectCommand({ Bucket: B, Key: key, ChecksumMode: "ENABLED" }),
      );
      assertEquals([h.ChecksumCRC64NVME, h.ChecksumType], [u.ChecksumCRC64NVME, "FULL_OBJECT"]);
    },
  );

  /** Uploads `parts` into a new upload of `algorithm` (and `type`); the parts' answers, in order. */
  async function upload(
    key: string,
    parts: Uint8Array[],
    algorithm: "CRC32" | "SHA256" | "CRC64NVME",
    type?: "FULL_OBJECT",
  ) {
    const c = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: B,
        Key: key,
        ChecksumAlgorithm: algorithm,
        ChecksumType: type,
      }),
    );
    const answers = [];
    for (const [i, body] of parts.entries()) {
      const u = await s3.send(
        new UploadPartCommand({
          Bucket: B,
          Key: key,
          UploadId: c.UploadId,
          PartNumber: i + 1,
          Body: body,
          ChecksumAlgorithm: algorithm,
        }),
      );
      answers.push({
        PartNumber: i + 1,
        ETag: u.ETag,
        ChecksumCRC32: u.ChecksumCRC32,
        ChecksumCRC64NVME: u.ChecksumCRC64NVME,
        ChecksumSHA256: u.ChecksumSHA256,
      });
    }
    return { uploadId: c.UploadId, parts: answers };
  }

  await t.step(
    "CompleteMultipartUpload - CRC32 parts make a COMPOSITE CRC32, or a FULL_OBJECT one when asked",
    async () => {
      const bodies = [randomBytes(5 * MIB, 31), randomBytes(1000, 32)];
      const crc32 = (b: Uint8Array) => {
        const v = zlib.crc32(b);
        return Buffer.from([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
      };
      const composite = await upload("crc32-composite", bodies, "CRC32");
      const r = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: "crc32-composite",
          UploadId: composite.uploadId,
          MultipartUpload: { Parts: composite.parts },
        }),
      );
      const ofParts = crc32(Buffer.concat(bodies.map(crc32))).toString("base64");
      assertEquals([r.ChecksumCRC32, r.ChecksumType], [`${ofParts}-2`, "COMPOSITE"]);
      const full = await upload("crc32-full", bodies, "CRC32", "FULL_OBJECT");
      const whole = crc32(Buffer.concat(bodies)).toString("base64");
      // A wrong claim of the object's checksum is refused, and the upload stays to be completed.
      await assertS3Error(
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: B,
            Key: "crc32-full",
            UploadId: full.uploadId,
            MultipartUpload: { Parts: full.parts },
            ChecksumCRC32: crc32(bodies[0]).toString("base64"),
            ChecksumType: "FULL_OBJECT",
          }),
        ),
        "BadDigest",
        400,
      );
      const done = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: "crc32-full",
          UploadId: full.uploadId,
          MultipartUpload: { Parts: full.parts },
          ChecksumCRC32: whole,
          ChecksumType: "FULL_OBJECT",
        }),
      );
      assertEquals([done.ChecksumCRC32, done.ChecksumType], [whole, "FULL_OBJECT"]);
      const h = await s3.send(
        new HeadObjectCommand({ Bucket: B, Key: "crc32-full", ChecksumMode: "ENABLED" }),
      );
      assertEquals([h.ChecksumCRC32, h.ChecksumType], [whole, "FULL_OBJECT"]);
    },
  );
});
