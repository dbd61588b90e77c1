/**
 * GetObject/HeadObject on the wire: many concurrent ranges of a multipart object, delete markers
 * named by version id, 304 headers, ranges of a version deleted while it streams.
 *
 * @module
 */
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { metricValue, startVault } from "../helpers/vault.ts";
import {
  assertBytesEqual,
  assertEquals,
  assertErrorResponse,
  assertOk,
  bodyBytes,
  parallel,
  randomBytes,
  signedFetch,
  vaultSuite,
  waitFor,
} from "../helpers/assert_s3.ts";

const B = "wire-bucket";
const MIB = 1024 * 1024;

vaultSuite("GetObject - wire behaviour of reads", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: "Enabled" } }),
  );

  // A three-part multipart object with CRC32 (COMPOSITE) checksums: 5 MiB + 5 MiB + 2 MiB + 7.
  const parts = [randomBytes(5 * MIB, 31), randomBytes(5 * MIB, 32), randomBytes(2 * MIB + 7, 33)];
  const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (whole.set(p, at), at + p.length), 0);
  const up = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: B, Key: "mp", ChecksumAlgorithm: "CRC32" }),
  );
  const done: { PartNumber: number; ETag?: string; ChecksumCRC32?: string }[] = [];
  for (const [i, p] of parts.entries()) {
    const r = await s3.send(
      new UploadPartCommand({
        Bucket: B,
        Key: "mp",
        UploadId: up.UploadId,
        PartNumber: i + 1,
        Body: p,
        ChecksumAlgorithm: "CRC32",
      }),
    );
    done.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32 });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: B,
      Key: "mp",
      UploadId: up.UploadId,
      MultipartUpload: { Parts: done },
    }),
  );

  await t.step(
    "GetObject - 200 concurrent ranges of a multipart object return its bytes",
    async () => {
      let x = 12345;
      const rnd = (n: number) => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return x % n;
      };
      const size = whole.length;
      const ranges: [number, number][] = [
        [0, 0],
        [5 * MIB - 1, 5 * MIB],
        [10 * MIB - 3, 10 * MIB + 3],
        [size - 1, size - 1],
        [0, size - 1],
      ];
      while (ranges.length < 200) {
        const a = rnd(size);
        const len = rnd(4) === 0 ? rnd(3 * MIB) : rnd(70_000);
        ranges.push([a, Math.min(size - 1, a + len)]);
      }
      await parallel(ranges, 16, async ([a, b]) => {
        const res = await signedFetch(vault, s3, {
          method: "GET",
          path: `/${B}/mp`,
          headers: { range: `bytes=${a}-${b}` },
        });
        const got = new Uint8Array(await res.arrayBuffer());
        assertEquals(res.status, 206);
        assertEquals(res.headers.get("content-range"), `bytes ${a}-${b}/${size}`);
        assertBytesEqual(got, whole.subarray(a, b + 1), `bytes=${a}-${b}`);
      });
    },
  );

  await t.step(
    "GetObject - repeated and compressible content reads back whole and by range",
    async () => {
      const block = randomBytes(300 * 1024, 51);
      const repeated = new Uint8Array(6 * MIB);
      for (let at = 0; at < repeated.length; at += block.length) {
        repeated.set(block.subarray(0, Math.min(block.length, repeated.length - at)), at);
      }
      const zeros = new Uint8Array(5 * MIB + 3);
      const text = new TextEncoder().encode("amber vault line\n".repeat(300_000));
      for (const [key, data] of [["rep", repeated], ["zeros", zeros], ["text", text]] as const) {
        await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: data }));
        const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
        assertBytesEqual(await bodyBytes(g.Body), data, key);
        for (
          const [a, b] of [[0, 0], [MIB - 5, 3 * MIB + 7], [data.length - 10, data.length - 1]]
        ) {
          const r = await s3.send(
            new GetObjectCommand({ Bucket: B, Key: key, Range: `bytes=${a}-${b}` }),
          );
          assertBytesEqual(await bodyBytes(r.Body), data.subarray(a, b + 1), `${key} ${a}-${b}`);
        }
      }
    },
  );

  await t.step("GetObject/HeadObject - a delete marker by version id is 405", async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "dm", Body: "x" }));
    const del = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "dm" }));
    assertOk(del.DeleteMarker);
    const res = await signedFetch(vault, s3, {
      method: "GET",
      path: `/${B}/dm`,
      query: { versionId: del.VersionId! },
    });
    await assertErrorResponse(res, "MethodNotAllowed", 405);
    assertEquals(res.headers.get("x-amz-delete-marker"), "true");
    assertOk(res.headers.get("last-modified"));
    const head = await signedFetch(vault, s3, {
      method: "HEAD",
      path: `/${B}/dm`,
      query: { versionId: del.VersionId! },
    });
    await assertErrorResponse(head, "MethodNotAllowed", 405, { head: true });
    assertEquals(head.headers.get("x-amz-delete-marker"), "true");
  });

  await t.step("GetObject - 304 carries the Cache-Control and Expires a 200 would", async () => {
    // RFC 9110 15.4.5: a 304 MUST carry Cache-Control, Content-Location, Date, ETag, Expires and
    // Vary if they would have been sent in the 200.
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: B,
        Key: "cached",
        Body: "cached body",
        CacheControl: "max-age=60",
        Expires: new Date("2030-01-01T00:00:00Z"),
      }),
    );
    const res = await signedFetch(vault, s3, {
      method: "GET",
      path: `/${B}/cached`,
      headers: { "if-none-match": put.ETag! },
    });
    await res.arrayBuffer();
    assertEquals(res.status, 304);
    assertEquals(
      [res.headers.get("etag"), res.headers.get("cache-control"), res.headers.get("expires")],
      [put.ETag, "max-age=60", "Tue, 01 Jan 2030 00:00:00 GMT"],
    );
  });
});

Deno.test({
  name: "GetObject - a range read keeps its chunks though its version is deleted",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const vault = await startVault({ env: { AMBER_GC_INTERVAL: "1", AMBER_GC_GRACE: "0" } });
    const s3 = s3For(vault);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "gc-range" }));
      const body = randomBytes(40 * MIB, 41);
      await s3.send(new PutObjectCommand({ Bucket: "gc-range", Key: "big", Body: body }));
      await t.step("GetObject - bytes=3MiB-35MiB survives delete + two collections", async () => {
        const [a, b] = [3 * MIB + 17, 35 * MIB + 5];
        const res = await signedFetch(vault, s3, {
          method: "GET",
          path: "/gc-range/big",
          headers: { range: `bytes=${a}-${b}` },
        });
        const reader = res.body!.getReader();
        const chunks = [(await reader.read()).value!];
        await s3.send(new DeleteObjectCommand({ Bucket: "gc-range", Key: "big" }));
        const runs = await metricValue(vault, "amber_gc_runs");
        await waitFor(
          "two collections",
          async () => (await metricValue(vault, "amber_gc_runs")) >= runs + 2,
        );
        while (true) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks.push(value);
        }
        const got = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        chunks.reduce((at, c) => (got.set(c, at), at + c.length), 0);
        assertBytesEqual(got, body.subarray(a, b + 1), "the ranged download");
      });
    } finally {
      s3.destroy();
      await vault.stop();
    }
  },
});
