/**
 * Many concurrent transfers share one memory budget. Uploads: the pieces in
 * flight to the store and the sealed bytes waiting for the drives are bounded
 * across uploads, not per upload (before session 13, each upload could hold
 * about 20 MiB, and 16 concurrent 16 MiB PutObjects raised the vault's peak by
 * about 200 MiB). Downloads: batches read ahead of the client are bounded
 * across downloads (each download whose client read nothing held about
 * 3.5 MiB).
 *
 * @module
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  assertBytesEqual,
  assertOk,
  randomBytes,
  signedFetch,
  vaultSuite,
} from "../helpers/assert_s3.ts";
import { peakRssMiB } from "../helpers/vault.ts";

const B = "many-uploads";
const MIB = 1024 * 1024;
const UPLOADS = 16;
const DOWNLOADS = 60;

vaultSuite("PutObject and GetObject - concurrent transfers", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));

  await t.step(
    `PutObject - ${UPLOADS} concurrent 16 MiB uploads raise the peak RSS by far less than 16 MiB each`,
    async () => {
      // Warm up the upload path first, so the measure is what concurrency adds.
      await s3.send(
        new PutObjectCommand({ Bucket: B, Key: "warm", Body: randomBytes(16 * MIB, 99) }),
      );
      const before = await peakRssMiB(vault.pid);
      const bodies = Array.from({ length: UPLOADS }, (_, i) => randomBytes(16 * MIB, i + 1));
      await Promise.all(
        bodies.map((Body, i) => s3.send(new PutObjectCommand({ Bucket: B, Key: `o${i}`, Body }))),
      );
      const grown = (await peakRssMiB(vault.pid)) - before;
      console.log(`peak RSS grew ${grown.toFixed(0)} MiB for ${UPLOADS} concurrent uploads`);
      assertOk(grown < 160, `peak RSS grew ${grown.toFixed(0)} MiB`);
      // Every upload landed whole.
      for (const i of [0, UPLOADS - 1]) {
        const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: `o${i}` }));
        assertBytesEqual(await got.Body!.transformToByteArray(), bodies[i]);
      }
    },
  );
});

vaultSuite("GetObject - stalled downloads", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  // One at a time, so the uploads' own peak stays low.
  const objects = Array.from({ length: 4 }, (_, i) => randomBytes(16 * MIB, i + 1));
  for (const [i, Body] of objects.entries()) {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: `o${i}`, Body }));
  }
  const warm = await s3.send(new GetObjectCommand({ Bucket: B, Key: "o0" }));
  assertBytesEqual(await warm.Body!.transformToByteArray(), objects[0]);

  await t.step(
    `GetObject - ${DOWNLOADS} downloads whose clients read nothing hold little memory`,
    async () => {
      const before = await peakRssMiB(vault.pid);
      const stalled = await Promise.all(
        Array.from(
          { length: DOWNLOADS },
          (_, i) => signedFetch(vault, s3, { method: "GET", path: `/${B}/o${i % objects.length}` }),
        ),
      );
      // Long enough for every download to fill what it reads ahead and the sockets' buffers.
      await new Promise((r) => setTimeout(r, 3000));
      const grown = (await peakRssMiB(vault.pid)) - before;
      console.log(`peak RSS grew ${grown.toFixed(0)} MiB for ${DOWNLOADS} stalled downloads`);
      for (const res of stalled) await res.body?.cancel();
      assertOk(grown < 160, `peak RSS grew ${grown.toFixed(0)} MiB`);
      // A download started meanwhile still returns every byte.
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: "o3" }));
      assertBytesEqual(await got.Body!.transformToByteArray(), objects[3]);
    },
  );
});
