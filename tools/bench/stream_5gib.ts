/**
 * `deno task bench:5gib`: moves one 5 GiB object through the vault with the
 * AWS SDK v3 (a multipart upload of 64 MiB parts, as backup clients send
 * large objects, then one streamed GET) and reports the vault's peak RSS,
 * which must stay under 256 MiB whatever the object size. Opt-in because it
 * moves 10 GiB through this machine (a few minutes).
 *
 * A single streamed 5 GiB PutObject from the JS SDK is not used: the SDK
 * sends it HTTP-chunked in small frames, and Deno 2.9.6's server reads such
 * bodies ever slower as they grow (see README, "Known limits").
 *
 * @module
 */

import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { createHash, randomBytes } from "node:crypto";
import { s3For } from "../../tests/helpers/s3_client.ts";
import { startVault } from "../../tests/helpers/vault.ts";
import { RssSampler, statusKiB } from "./observe.ts";

const MIB = 1024 * 1024;
/** The largest single PUT S3 accepts. */
const OBJECT_BYTES = 5 * 1024 * MIB;
const RSS_LIMIT_MIB = 256;

/** Size of each uploaded part. */
const PART_BYTES = 64 * MIB;

const vault = await startVault();
const s3 = s3For(vault, { requestHandler: { requestTimeout: 0 } as never });
const rss = new RssSampler(vault.pid);
try {
  await s3.send(new CreateBucketCommand({ Bucket: "stream" }));
  const sentMd5 = createHash("md5");
  let t = performance.now();
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: "stream", Key: "five-gib" }),
  );
  const parts: { PartNumber: number; ETag?: string }[] = [];
  for (let n = 1; n * PART_BYTES <= OBJECT_BYTES; n++) {
    const body = randomBytes(PART_BYTES);
    sentMd5.update(body);
    const r = await s3.send(
      new UploadPartCommand({
        Bucket: "stream",
        Key: "five-gib",
        UploadId,
        PartNumber: n,
        Body: body,
      }),
    );
    parts.push({ PartNumber: n, ETag: r.ETag });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: "stream",
      Key: "five-gib",
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
  const putSeconds = (performance.now() - t) / 1000;
  const putPeak = rss.max / 1024;
  rss.resetPhase();
  t = performance.now();
  const got = await s3.send(new GetObjectCommand({ Bucket: "stream", Key: "five-gib" }));
  const gotMd5 = createHash("md5");
  let n = 0;
  for await (const c of got.Body as unknown as AsyncIterable<Uint8Array>) {
    gotMd5.update(c);
    n += c.length;
  }
  const getSeconds = (performance.now() - t) / 1000;
  const same = n === OBJECT_BYTES && gotMd5.digest("hex") === sentMd5.digest("hex");
  const hwm = (await statusKiB(vault.pid, "VmHWM")) / 1024;
  await rss.stop();
  console.log(
    `5 GiB PUT: ${(OBJECT_BYTES / 1e6 / putSeconds).toFixed(1)} MB/s, peak RSS ${
      putPeak.toFixed(0)
    } MiB`,
  );
  console.log(
    `5 GiB GET: ${(OBJECT_BYTES / 1e6 / getSeconds).toFixed(1)} MB/s, peak RSS ${
      (rss.phaseMax / 1024).toFixed(0)
    } MiB`,
  );
  console.log(`round trip byte-identical: ${same}`);
  console.log(
    `vault VmHWM ${hwm.toFixed(0)} MiB (limit ${RSS_LIMIT_MIB} MiB): ${
      hwm <= RSS_LIMIT_MIB ? "pass" : "FAIL"
    }`,
  );
  if (!same || hwm > RSS_LIMIT_MIB) Deno.exitCode = 1;
} finally {
  s3.destroy();
  await vault.stop();
  await Deno.remove(vault.dataDir, { recursive: true });
}
