/**
 * Garbage collection: failed, aborted and deleted uploads leave nothing that
 * lasts, and nothing still referenced is ever collected. The vault runs with
 * a 1 s collection interval and no grace period, so collections race the
 * requests; pinned write sessions and the index's references are what keep
 * live data safe.
 */
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { metricValue, startVault } from "../helpers/vault.ts";
import { assertBytesEqual, bodyBytes, randomBytes, waitFor } from "../helpers/assert_s3.ts";

const MIB = 1024 * 1024;

Deno.test({
  name: "Garbage collection - aborted, deleted and replaced data is reclaimed; live data survives",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({ env: { AMBER_GC_INTERVAL: "1", AMBER_GC_GRACE: "0" } });
    const s3 = s3For(vault);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "gc-test" }));
      const keep = randomBytes(3 * MIB, 11);
      await s3.send(new PutObjectCommand({ Bucket: "gc-test", Key: "keep", Body: keep }));

      // An aborted multipart upload.
      const up = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: "gc-test", Key: "aborted" }),
      );
      await s3.send(
        new UploadPartCommand({
          Bucket: "gc-test",
          Key: "aborted",
          UploadId: up.UploadId,
          PartNumber: 1,
          Body: randomBytes(6 * MIB, 12),
        }),
      );
      await s3.send(
        new AbortMultipartUploadCommand({
          Bucket: "gc-test",
          Key: "aborted",
          UploadId: up.UploadId,
        }),
      );
      // A deleted object, and an overwritten one.
      await s3.send(
        new PutObjectCommand({ Bucket: "gc-test", Key: "deleted", Body: randomBytes(2 * MIB, 13) }),
      );
      await s3.send(new DeleteObjectCommand({ Bucket: "gc-test", Key: "deleted" }));
      await s3.send(
        new PutObjectCommand({
          Bucket: "gc-test",
          Key: "replaced",
          Body: randomBytes(2 * MIB, 14),
        }),
      );
      const replacement = randomBytes(MIB, 15);
      await s3.send(
        new PutObjectCommand({ Bucket: "gc-test", Key: "replaced", Body: replacement }),
      );
      // A copy shares the source's chunks; deleting the source must not take them.
      await s3.send(
        new CopyObjectCommand({ Bucket: "gc-test", Key: "copy", CopySource: "gc-test/keep" }),
      );
      await s3.send(
        new PutObjectCommand({ Bucket: "gc-test", Key: "source", Body: randomBytes(MIB, 16) }),
      );
      await s3.send(
        new CopyObjectCommand({ Bucket: "gc-test", Key: "copy2", CopySource: "gc-test/source" }),
      );
      await s3.send(new DeleteObjectCommand({ Bucket: "gc-test", Key: "source" }));

      // Live: keep (3 MiB; copy shares it), replacement (1 MiB), copy2 (1 MiB). Everything else is garbage.
      const liveBytes = 5 * MIB;
      // The collector, not anything else, took them: its count is up by the time both are scraped.
      await waitFor("only live chunks remain, collected", async () => {
        const unique = await metricValue(vault, "amber_unique_chunk_bytes");
        return unique === liveBytes &&
          (await metricValue(vault, "amber_gc_deleted_chunks")) > 0;
      });

      for (
        const [key, bytes] of [["keep", keep], ["copy", keep], ["replaced", replacement]] as const
      ) {
        const got = await bodyBytes(
          (await s3.send(new GetObjectCommand({ Bucket: "gc-test", Key: key }))).Body,
        );
        assertBytesEqual(got, bytes, key);
      }
      assertBytesEqual(
        await bodyBytes(
          (await s3.send(new GetObjectCommand({ Bucket: "gc-test", Key: "copy2" }))).Body,
        ),
        randomBytes(MIB, 16),
        "copy2",
      );

      // Uploads keep succeeding while collections run every second.
      for (let i = 0; i < 20; i++) {
        const body = randomBytes(256 * 1024, 100 + i);
        await s3.send(new PutObjectCommand({ Bucket: "gc-test", Key: `busy/${i}`, Body: body }));
        const got = await bodyBytes(
          (await s3.send(new GetObjectCommand({ Bucket: "gc-test", Key: `busy/${i}` }))).Body,
        );
        assertBytesEqual(got, body, `busy/${i}`);
      }
    } finally {
      s3.destroy();
      await vault.stop();
    }
  },
});
