/**
 * A small range near the start of a large object must read about the range from the store, not
 * the whole rest of the object (`readObject` batches: the last, unfilled batch ran to the end of
 * the manifest, before session 12).
 *
 * @module
 */
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  assertBytesEqual,
  assertOk,
  randomBytes,
  signedFetch,
  vaultSuite,
} from "../helpers/assert_s3.ts";

import { peakRssMiB } from "../helpers/vault.ts";

const B = "tail-bucket";
const MIB = 1024 * 1024;

vaultSuite("GetObject - small ranges of a large object", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  const data = randomBytes(96 * MIB, 7);
  await s3.send(new PutObjectCommand({ Bucket: B, Key: "big", Body: data }));

  const get = async (range: string) => {
    const res = await signedFetch(vault, s3, {
      method: "GET",
      path: `/${B}/big`,
      headers: { range },
    });
    return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
  };

  await t.step(
    "GetObject - bytes=0-0 of a 96 MiB object does not read the rest of the object",
    async () => {
      // Warm up, then measure the peak resident memory of the vault process across the reads (the
      // upload's peak is far below what 4 reads of the whole rest of the object held).
      await get("bytes=-1");
      const before = await peakRssMiB(vault.pid);
      const t0 = performance.now();
      const tail = await get(`bytes=${data.length - 100}-`);
      const tailMs = performance.now() - t0;
      assertBytesEqual(tail.bytes, data.subarray(data.length - 100));
      const t1 = performance.now();
      const results = await Promise.all([0, 1, 2, 3].map(() => get("bytes=0-0")));
      const headMs = (performance.now() - t1) / 4;
      for (const r of results) assertBytesEqual(r.bytes, data.subarray(0, 1));
      const grown = (await peakRssMiB(vault.pid)) - before;
      console.log(
        `last 100 bytes: ${tailMs.toFixed(0)} ms; bytes=0-0 (x4 concurrent): ${
          headMs.toFixed(0)
        } ms each; peak RSS grew ${grown.toFixed(0)} MiB`,
      );
      assertOk(
        grown < 48,
        `peak RSS grew ${grown.toFixed(0)} MiB for 4 one-byte reads`,
      );
    },
  );
});
