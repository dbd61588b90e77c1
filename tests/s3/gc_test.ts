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
import {
  assertBytesEqual,
  bodyBytes,
  randomBytes,
  signedFetch,
  waitFor,
} from "../helpers/assert_s3.ts";

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

Deno.test({
  name:
    "Garbage collection - a download keeps its chunks while it streams, though its version is deleted",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({ env: { AMBER_GC_INTERVAL: "1", AMBER_GC_GRACE: "0" } });
    const s3 = s3For(vault);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "gc-read" }));
      // Far more than the read-ahead and the socket buffers hold, so most is read after the delete.
      const body = randomBytes(48 * MIB, 21);
      await s3.send(new PutObjectCommand({ Bucket: "gc-read", Key: "big", Body: body }));
      const res = await signedFetch(vault, s3, { method: "GET", path: "/gc-read/big" });
      const reader = res.body!.getReader();
      const first = await reader.read();
      await s3.send(new DeleteObjectCommand({ Bucket: "gc-read", Key: "big" }));
      const runs = await metricValue(vault, "amber_gc_runs");
      await waitFor(
        "two collections after the delete",
        async () => (await metricValue(vault, "amber_gc_runs")) >= runs + 2,
      );
      const parts = [first.value!];
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
      }
      const got = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) got.set(p, at), at += p.length;
      assertBytesEqual(got, body, "the download");
      // Once it ended, the chunks go; so do those of a download its client gave up on.
      await waitFor(
        "the deleted object's chunks collected",
        async () => (await metricValue(vault, "amber_unique_chunk_bytes")) < MIB,
      );
      await s3.send(new PutObjectCommand({ Bucket: "gc-read", Key: "big", Body: body }));
      const dropped = await signedFetch(vault, s3, { method: "GET", path: "/gc-read/big" });
      const droppedReader = dropped.body!.getReader();
      await droppedReader.read();
      await s3.send(new DeleteObjectCommand({ Bucket: "gc-read", Key: "big" }));
      await droppedReader.cancel();
      await waitFor(
        "the abandoned download's chunks collected",
        async () => (await metricValue(vault, "amber_unique_chunk_bytes")) < MIB,
      );
    } finally {
      s3.destroy();
      await vault.stop();
    }
  },
});
