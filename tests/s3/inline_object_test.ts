/**
 * Tiny objects (at most 4 KiB) kept in the index instead of the chunk store:
 * every read and copy path, versions, restart, and a damaged body.
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { DatabaseSync } from "node:sqlite";
import { s3For } from "../helpers/s3_client.ts";
import { metricValue, startVault } from "../helpers/vault.ts";
import { scrubViaAdmin } from "../helpers/scrub_admin.ts";
import {
  assertBytesEqual,
  assertEquals,
  assertS3Error,
  bodyBytes,
  md5Base64,
  md5Hex,
  randomBytes,
  vaultSuite,
} from "../helpers/assert_s3.ts";

const B = "tiny";
const INLINE_MAX = 4096;
/** What sealing adds to an inline body: format byte, nonce, tag. */
const SEALED_OVERHEAD = 29;

vaultSuite("S3 tiny objects kept in the index", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  const largest = randomBytes(INLINE_MAX, 11);
  const oneMore = randomBytes(INLINE_MAX + 1, 12);

  await t.step(
    "PutObject - 4 KiB lives in the index, one byte more in the chunk store",
    async () => {
      const inline0 = await metricValue(vault, "amber_inline_bytes");
      // Object data in chunks (the journal records that carry the index's batches count nothing here).
      const chunkBytes0 = await metricValue(vault, "amber_unique_chunk_bytes");
      const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: "largest", Body: largest }));
      assertEquals(put.ETag, `"${md5Hex(largest)}"`);
      const inline1 = await metricValue(vault, "amber_inline_bytes");
      assertEquals(inline1 - inline0, INLINE_MAX + SEALED_OVERHEAD);
      assertEquals(await metricValue(vault, "amber_unique_chunk_bytes"), chunkBytes0);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "one-more", Body: oneMore }));
      assertEquals(await metricValue(vault, "amber_inline_bytes"), inline1);
      assertEquals(
        await metricValue(vault, "amber_unique_chunk_bytes"),
        chunkBytes0 + oneMore.length,
      );
      for (const [key, body] of [["largest", largest], ["one-more", oneMore]] as const) {
        const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
        assertEquals(g.ContentLength, body.length);
        assertEquals(g.ETag, `"${md5Hex(body)}"`);
        assertBytesEqual(await bodyBytes(g.Body), body);
      }
    },
  );

  await t.step("GetObject - ranges of a tiny object; past its end is InvalidRange", async () => {
    const g = await s3.send(
      new GetObjectCommand({ Bucket: B, Key: "largest", Range: "bytes=10-99" }),
    );
    assertEquals(g.$metadata.httpStatusCode, 206);
    assertEquals(g.ContentRange, `bytes 10-99/${INLINE_MAX}`);
    assertBytesEqual(await bodyBytes(g.Body), largest.subarray(10, 100));
    const tail = await s3.send(
      new GetObjectCommand({ Bucket: B, Key: "largest", Range: "bytes=-5" }),
    );
    assertBytesEqual(await bodyBytes(tail.Body), largest.subarray(INLINE_MAX - 5));
    await assertS3Error(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "largest", Range: "bytes=5000-" })),
      "InvalidRange",
      416,
    );
  });

  await t.step("PutObject - a wrong Content-MD5 leaves no tiny object behind", async () => {
    await assertS3Error(
      s3.send(
        new PutObjectCommand({
          Bucket: B,
          Key: "bad-md5",
          Body: randomBytes(100, 13),
          ContentMD5: md5Base64("something else"),
        }),
      ),
      "BadDigest",
      400,
    );
    await assertS3Error(
      s3.send(new GetObjectCommand({ Bucket: B, Key: "bad-md5" })),
      "NoSuchKey",
      404,
    );
  });

  await t.step("CopyObject - the copy outlives its deleted tiny source", async () => {
    await s3.send(
      new CopyObjectCommand({
        Bucket: B,
        Key: "copy",
        CopySource: `${B}/largest`,
        MetadataDirective: "REPLACE",
        ContentType: "text/plain",
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "source", Body: oneMore.subarray(0, 7) }));
    await s3.send(new CopyObjectCommand({ Bucket: B, Key: "copy2", CopySource: `${B}/source` }));
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "source" }));
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "copy" }));
    assertEquals(g.ContentType, "text/plain");
    assertBytesEqual(await bodyBytes(g.Body), largest);
    const g2 = await s3.send(new GetObjectCommand({ Bucket: B, Key: "copy2" }));
    assertBytesEqual(await bodyBytes(g2.Body), oneMore.subarray(0, 7));
  });

  await t.step("UploadPartCopy - whole and ranged tiny sources become parts", async () => {
    const first = randomBytes(5 * 1024 * 1024, 14);
    // A tiny part can only be the last one: one upload per way of copying.
    for (const range of [undefined, "bytes=100-199"]) {
      const key = `assembled-${range ?? "whole"}`;
      const mp = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key }));
      const base = { Bucket: B, Key: key, UploadId: mp.UploadId };
      const p1 = await s3.send(new UploadPartCommand({ ...base, PartNumber: 1, Body: first }));
      const p2 = await s3.send(
        new UploadPartCopyCommand({
          ...base,
          PartNumber: 2,
          CopySource: `${B}/largest`,
          CopySourceRange: range,
        }),
      );
      const copied = range ? largest.subarray(100, 200) : largest;
      assertEquals(p2.CopyPartResult?.ETag, `"${md5Hex(copied)}"`);
      await s3.send(
        new CompleteMultipartUploadCommand({
          ...base,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: p1.ETag },
              { PartNumber: 2, ETag: p2.CopyPartResult?.ETag },
            ],
          },
        }),
      );
      const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
      const want = new Uint8Array(first.length + copied.length);
      want.set(first);
      want.set(copied, first.length);
      assertBytesEqual(await bodyBytes(g.Body), want);
    }
  });

  await t.step("versions - each tiny version keeps its own body", async () => {
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: B,
        VersioningConfiguration: { Status: "Enabled" },
      }),
    );
    const a = randomBytes(300, 15);
    const b = randomBytes(301, 16);
    const va = await s3.send(new PutObjectCommand({ Bucket: B, Key: "versioned", Body: a }));
    const vb = await s3.send(new PutObjectCommand({ Bucket: B, Key: "versioned", Body: b }));
    const inlineBefore = await metricValue(vault, "amber_inline_bytes");
    await s3.send(
      new DeleteObjectCommand({ Bucket: B, Key: "versioned", VersionId: va.VersionId }),
    );
    assertEquals(
      await metricValue(vault, "amber_inline_bytes"),
      inlineBefore - a.length - SEALED_OVERHEAD,
    );
    const g = await s3.send(
      new GetObjectCommand({ Bucket: B, Key: "versioned", VersionId: vb.VersionId }),
    );
    assertBytesEqual(await bodyBytes(g.Body), b);
  });
});

Deno.test({
  name: "S3 tiny objects across a restart, and a damaged body in the index",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    let v = await startVault();
    let s3 = s3For(v);
    const dataDir = v.dataDir;
    try {
      const bodies = [randomBytes(1, 21), randomBytes(1000, 22), randomBytes(INLINE_MAX, 23)];
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      for (const [i, body] of bodies.entries()) {
        await s3.send(new PutObjectCommand({ Bucket: B, Key: `k${i}`, Body: body }));
      }

      await t.step("GetObject - tiny objects survive SIGTERM and restart", async () => {
        s3.destroy();
        assertEquals(await v.stop(), 0);
        v = await startVault({ dataDir });
        s3 = s3For(v);
        for (const [i, body] of bodies.entries()) {
          const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: `k${i}` }));
          assertBytesEqual(await bodyBytes(g.Body), body);
        }
      });

      await t.step(
        "GetObject - a flipped byte in a tiny body is an error, never data",
        async () => {
          s3.destroy();
          assertEquals(await v.stop(), 0);
          const db = new DatabaseSync(`${dataDir}/meta/index.db`);
          const row = db.prepare(
            "SELECT b.id, b.sealed FROM versions v JOIN inline_bodies b ON b.id = v.inline_id WHERE v.key = ?",
          ).get(new TextEncoder().encode("k1")) as { id: number; sealed: Uint8Array };
          const sealed = new Uint8Array(row.sealed);
          sealed[100] ^= 0x01;
          db.prepare("UPDATE inline_bodies SET sealed = ? WHERE id = ?").run(sealed, row.id);
          db.close();
          v = await startVault({ dataDir });
          s3 = s3For(v);
          await assertS3Error(
            s3.send(new GetObjectCommand({ Bucket: B, Key: "k1" })),
            "InternalError",
            500,
          );
          const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: "k2" }));
          assertBytesEqual(await bodyBytes(g.Body), bodies[2]);
        },
      );

      await t.step("POST /admin/scrub - names the object whose tiny body is damaged", async () => {
        const pass = await scrubViaAdmin(v);
        assertEquals(pass.unrecoverable, 1);
        assertEquals(
          pass.findings.map((f) => [f.kind, f.objects]),
          [["badInline", [{ bucket: B, key: "k1", versionId: "null" }]]],
        );
      });
    } finally {
      s3.destroy();
      await v.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => undefined);
    }
  },
});
