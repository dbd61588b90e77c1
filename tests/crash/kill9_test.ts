/**
 * kill -9 under load: cycles of parallel PUTs (single and multipart) and
 * deletes, SIGKILL at a random moment, restart. Every acknowledged object
 * must read back byte-identical, nothing unacknowledged may be half-visible.
 */
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import {
  assertBytesEqual,
  assertEquals,
  assertOk,
  bodyBytes,
  randomBytes,
} from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault, type TestVault } from "../helpers/vault.ts";

const B = "crash";
const CYCLES = 5;
const MIB = 1024 * 1024;

async function multipart(s3: S3Client, key: string, body: Uint8Array): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key }));
  const half = 5 * MIB;
  const p1 = await s3.send(
    new UploadPartCommand({
      Bucket: B,
      Key: key,
      UploadId,
      PartNumber: 1,
      Body: body.subarray(0, half),
    }),
  );
  const p2 = await s3.send(
    new UploadPartCommand({
      Bucket: B,
      Key: key,
      UploadId,
      PartNumber: 2,
      Body: body.subarray(half),
    }),
  );
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: B,
      Key: key,
      UploadId,
      MultipartUpload: {
        Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }],
      },
    }),
  );
}

Deno.test({
  name: "kill -9 - every acknowledged write survives, nothing half-written appears",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let vault: TestVault = await startVault();
    let s3 = s3For(vault);
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    /** What the vault acknowledged: key → expected bytes, or null once a delete was acknowledged. */
    const acked = new Map<string, Uint8Array | null>();
    let seed = 1000;
    try {
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        let stop = false;
        const workers = Array.from({ length: 6 }, async (_, w) => {
          for (let i = 0; !stop; i++) {
            const key = `c${cycle}/w${w}/o${i}`;
            const kind = (w + i) % 4;
            const body = randomBytes(
              kind === 0 ? 5 * MIB + 1234 : kind === 1 ? 300_000 : 4096,
              seed++,
            );
            try {
              if (kind === 0) await multipart(s3, key, body);
              else await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: body }));
              acked.set(key, body);
              if (kind === 2 && i > 0) {
                const victim = `c${cycle}/w${w}/o${i - 1}`;
                // Until the delete is acknowledged the object may or may not be gone after a kill.
                acked.delete(victim);
                await s3.send(new DeleteObjectCommand({ Bucket: B, Key: victim }));
                acked.set(victim, null);
              }
            } catch {
              return; // the vault died under this request: unacknowledged, so anything goes
            }
          }
        });
        await new Promise((r) => setTimeout(r, 300 + (cycle * 137) % 700));
        await vault.kill();
        stop = true;
        await Promise.all(workers);
        s3.destroy();
        vault = await startVault({ dataDir: vault.dataDir, port: vault.port });
        s3 = s3For(vault);
        for (const [key, body] of acked) {
          if (body === null) continue;
          const got = await bodyBytes(
            (await s3.send(new GetObjectCommand({ Bucket: B, Key: key }))).Body,
          );
          assertBytesEqual(got, body, `cycle ${cycle}: ${key}`);
        }
        // Everything listed is either acknowledged or was in flight and completed whole.
        let token: string | undefined;
        do {
          const page = await s3.send(
            new ListObjectsV2Command({ Bucket: B, ContinuationToken: token }),
          );
          for (const o of page.Contents ?? []) {
            const want = acked.get(o.Key!);
            if (want) assertEquals(o.Size, want.length, o.Key);
            else {
              // In flight at the kill but committed: it must be whole and readable.
              const got = await bodyBytes(
                (await s3.send(new GetObjectCommand({ Bucket: B, Key: o.Key! }))).Body,
              );
              assertEquals(got.length, o.Size, o.Key);
            }
          }
          token = page.NextContinuationToken;
        } while (token);
      }
      assertOk(acked.size > CYCLES * 6, `only ${acked.size} writes were acknowledged`);
    } finally {
      s3.destroy();
      await vault.stop();
    }
  },
});
