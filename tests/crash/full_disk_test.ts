/**
 * A full disk, without root: the vault runs under RLIMIT_FSIZE (`prlimit
 * --fsize`, SIGXFSZ ignored), so a segment write past the limit fails with
 * EFBIG the way it would with ENOSPC. The client must get a clear S3 error
 * promptly, the segment must not keep a half-written record, earlier objects
 * must stay readable, and once there is room again (a restart without the
 * limit) writes must succeed.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { assertBytesEqual, assertEquals, assertS3Error, bodyBytes } from "../helpers/assert_s3.ts";
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
      const small = makeBody(5, 1, 300 * 1024);
      const medium = makeBody(5, 2, 2 * MIB);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "small", Body: small }));
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "medium", Body: medium }));
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

      // Nothing of the failed write is visible, and no torn record stays at the segment's end.
      await assertS3Error(
        s3.send(new HeadObjectCommand({ Bucket: B, Key: "big" })),
        "NotFound",
        404,
      );
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: B }));
      assertEquals(listed.Contents?.map((o) => o.Key), ["medium", "small"]);
      console.log(`  segments: ${before} bytes before, ${segmentBytes(vault.dataDir)} after`);
      // Earlier objects still read, and a write that fits still succeeds.
      assertBytesEqual(await read(s3, "small"), small, "small");
      assertBytesEqual(await read(s3, "medium"), medium, "medium");
      const tiny = makeBody(5, 4, 1000);
      await within(
        30_000,
        "a small PutObject after a failed one",
        s3.send(new PutObjectCommand({ Bucket: B, Key: "tiny", Body: tiny })),
      );
      assertBytesEqual(await read(s3, "tiny"), tiny, "tiny");

      // Room again: restart without the limit. Recovery cuts a torn record off a segment's end;
      // there must be none to cut, because the failed write left none behind.
      const whole = segmentBytes(vault.dataDir);
      s3.destroy();
      assertEquals(await vault.stop(), 0, "exit code after SIGTERM");
      vault = await startVault({ dataDir: vault.dataDir, port: vault.port });
      assertEquals(segmentBytes(vault.dataDir), whole, "segment bytes after recovery");
      s3 = s3For(vault);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: "big", Body: big }));
      for (
        const [key, body] of [["small", small], ["medium", medium], ["tiny", tiny], [
          "big",
          big,
        ]] as const
      ) {
        assertBytesEqual(await read(s3, key), body, key);
      }
    } finally {
      s3.destroy();
      await vault.stop();
      await Deno.remove(vault.dataDir, { recursive: true }).catch(() => undefined);
    }
  },
});
