/**
 * A full disk, without root: the vault runs under RLIMIT_FSIZE (`prlimit
 * --fsize`, SIGXFSZ ignored), so a segment write past the limit fails with
 * EFBIG the way it would with ENOSPC. The client must get a clear S3 error
 * promptly, the segment must not keep a half-written record, earlier objects
 * must stay readable, and once there is room again (a restart without the
 * limit, after a kill -9) writes must succeed.
 */
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import {
  assertBytesEqual,
  assertEquals,
  assertOk,
  assertS3Error,
  bodyBytes,
  type SdkError,
} from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";
import { makeBody } from "./model.ts";

const B = "full";
const MIB = 1024 * 1024;
/** Room for the start-up files and a few MiB of segment. */
const LIMIT = 6 * MIB;

async function read(s3: S3Client, key: string): Promise<Uint8Array> {
  return await bodyBytes((await s3.send(new GetObjectCommand({ Bucket: B, Key: key }))).Body);
}

function segmentBytes(dataDir: string): number {
  let total = 0;
  for (const e of Deno.readDirSync(`${dataDir}/store`)) {
    if (e.name.endsWith(".seg")) total += Deno.statSync(`${dataDir}/store/${e.name}`).size;
  }
  return total;
}

/** Fails instead of hanging when the vault does not answer. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

Deno.test({
  name:
    "PutObject - a full disk is a clear S3 error; nothing half-written; writes resume with room",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let vault = await startVault({ fileSizeLimit: LIMIT });
    let s3 = s3For(vault);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      /** What the vault acknowledged. */
      const acked = new Map<string, Uint8Array>();
      const put = async (key: string, body: Uint8Array) => {
        await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: body }));
        acked.set(key, body);
      };
      await put("small", makeBody(5, 1, 300 * 1024));
      await put("medium", makeBody(5, 2, 2 * MIB));
      const before = segmentBytes(vault.dataDir);

      const big = makeBody(5, 3, 8 * MIB);
      const err = await within(
        30_000,
        "PutObject on a full disk",
        assertS3Error(
          s3.send(new PutObjectCommand({ Bucket: B, Key: "big", Body: big })),
          "InsufficientStorage",
          507,
        ),
      );
      console.log(`  the client saw ${err.$metadata?.httpStatusCode} ${err.name}: ${err.message}`);
      console.log(`  segments: ${before} bytes before, ${segmentBytes(vault.dataDir)} after`);
      // Nothing of the failed write is visible; earlier objects still read; a write that fits succeeds.
      await assertS3Error(
        s3.send(new HeadObjectCommand({ Bucket: B, Key: "big" })),
        "NotFound",
        404,
      );
      await within(
        30_000,
        "a small PutObject after a failed one",
        put("tiny", makeBody(5, 4, 1000)),
      );
      for (const [key, body] of acked) assertBytesEqual(await read(s3, key), body, key);

      // A multipart part that finds no room fails the same way and leaves no part behind.
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: B, Key: "parts" }),
      );
      await within(
        30_000,
        "UploadPart on a full disk",
        assertS3Error(
          s3.send(
            new UploadPartCommand({
              Bucket: B,
              Key: "parts",
              UploadId,
              PartNumber: 1,
              Body: makeBody(5, 5, 5 * MIB),
            }),
          ),
          "InsufficientStorage",
          507,
        ),
      );
      const parts = await s3.send(new ListPartsCommand({ Bucket: B, Key: "parts", UploadId }));
      assertEquals(parts.Parts ?? [], [], "parts after a failed UploadPart");
      await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: "parts", UploadId }));

      // Parallel PUTs racing for the last of the room: each is acknowledged whole or refused with
      // 507 and absent, never half there.
      const racers = Array.from(
        { length: 6 },
        (_, i) => [`race${i}`, makeBody(6, i, 900 * 1024)] as const,
      );
      const outcomes = await within(
        60_000,
        "parallel PutObject on a filling disk",
        Promise.all(
          racers.map(([key, body]) =>
            put(key, body).then(() => 200, (e) => (e as SdkError).$metadata?.httpStatusCode ?? 0)
          ),
        ),
      );
      console.log(`  parallel PutObject near full: ${outcomes.join(" ")}`);
      assertOk(outcomes.every((s) => s === 200 || s === 507), `statuses ${outcomes}`);
      assertOk(outcomes.includes(507), "the racers did not run out of room");
      for (const [key] of racers.filter((_, i) => outcomes[i] === 507)) {
        await assertS3Error(
          s3.send(new HeadObjectCommand({ Bucket: B, Key: key })),
          "NotFound",
          404,
        );
      }
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: B }));
      assertEquals(listed.Contents?.map((o) => o.Key), [...acked.keys()].sort(), "listed keys");
      for (const [key, body] of acked) assertBytesEqual(await read(s3, key), body, key);

      // Room again: kill -9 and restart without the limit. Recovery cuts a torn record off a
      // segment's end; there must be none to cut, because the failed writes left none behind.
      const whole = segmentBytes(vault.dataDir);
      s3.destroy();
      await vault.kill();
      vault = await startVault({ dataDir: vault.dataDir, port: vault.port });
      assertEquals(segmentBytes(vault.dataDir), whole, "segment bytes after recovery");
      s3 = s3For(vault);
      await put("big", big);
      for (const [key, body] of acked) assertBytesEqual(await read(s3, key), body, key);
    } finally {
      s3.destroy();
      await vault.stop();
      await Deno.remove(vault.dataDir, { recursive: true }).catch(() => undefined);
    }
  },
});
