/**
 * The vault-wide transfer budgets (session 13, from their review): UploadPartCopy (reads with readObject,
 * writes with storeStream, so it holds piece slots while its reads wait for
 * the store's read turns) and CopyObject with a new checksum, all at once with
 * PutObjects and GetObjects: nothing deadlocks, every byte lands where it
 * should, and the budgets are whole afterwards.
 *
 * @module
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import {
  assertBytesEqual,
  assertOk,
  randomBytes,
  signHeaders,
  vaultSuite,
} from "../helpers/assert_s3.ts";

const MIB = 1024 * 1024;
const B = "copy-budget";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${what} hung for ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

vaultSuite(
  "UploadPartCopy, CopyObject, PutObject and GetObject all at once",
  async ({ t, s3, vault }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    const source = randomBytes(49 * MIB, 5);
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "src", Body: source }));

    await t.step(
      "three uploads of 8 range copies each, with PUTs, GETs and re-checksummed copies",
      async () => {
        const PARTS = 8;
        const part = 6 * MIB;
        const uploads = await Promise.all([0, 1, 2].map(async (u) => {
          const { UploadId } = await s3.send(
            new CreateMultipartUploadCommand({ Bucket: B, Key: `mp${u}` }),
          );
          return UploadId!;
        }));
        const copies = uploads.flatMap((UploadId, u) =>
          Array.from({ length: PARTS }, async (_, i) => {
            // Each upload takes the source's parts in another order, so ranges overlap in time.
            const j = (i + u * 3) % PARTS;
            const first = j * part;
            const r = await s3.send(
              new UploadPartCopyCommand({
                Bucket: B,
                Key: `mp${u}`,
                UploadId,
                PartNumber: j + 1,
                CopySource: `${B}/src`,
                CopySourceRange: `bytes=${first + 1}-${first + part}`,
              }),
            );
            return { u, PartNumber: j + 1, ETag: r.CopyPartResult!.ETag! };
          })
        );
        const puts = Array.from({ length: 6 }, (_, i) =>
          s3.send(
            new PutObjectCommand({ Bucket: B, Key: `put${i}`, Body: randomBytes(8 * MIB, 30 + i) }),
          ));
        const gets = Array.from({ length: 6 }, async () => {
          const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: "src" }));
          assertBytesEqual(await got.Body!.transformToByteArray(), source, "src during copies");
        });
        const rechecks = Array.from({ length: 3 }, (_, i) =>
          s3.send(
            new CopyObjectCommand({
              Bucket: B,
              Key: `copy${i}`,
              CopySource: `${B}/src`,
              ChecksumAlgorithm: "SHA256",
            }),
          ));
        const [parts] = await within(
          Promise.all([
            Promise.all(copies),
            Promise.all(puts),
            Promise.all(gets),
            Promise.all(rechecks),
          ]),
          120_000,
          "copies, puts and gets",
        );
        for (const [u, UploadId] of uploads.entries()) {
          const mine = parts.filter((p) => p.u === u).sort((a, b) => a.PartNumber - b.PartNumber);
          await s3.send(
            new CompleteMultipartUploadCommand({
              Bucket: B,
              Key: `mp${u}`,
              UploadId,
              MultipartUpload: {
                Parts: mine.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })),
              },
            }),
          );
          const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: `mp${u}` }));
          const bytes = await got.Body!.transformToByteArray();
          assertBytesEqual(bytes, source.subarray(1, 1 + PARTS * part), `mp${u}`);
        }
        for (let i = 0; i < 6; i++) {
          const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: `put${i}` }));
          assertBytesEqual(
            await got.Body!.transformToByteArray(),
            randomBytes(8 * MIB, 30 + i),
            `put${i}`,
          );
        }
      },
    );

    await t.step("clients that go away during range copies leave uploads working", async () => {
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: B, Key: "gone" }),
      );
      for (let i = 0; i < 16; i++) {
        const path = `/${B}/gone`;
        const query = { partNumber: String(i + 1), uploadId: UploadId! };
        const headers = await signHeaders(vault, s3, {
          method: "PUT",
          path,
          query,
          headers: {
            "x-amz-copy-source": `/${B}/src`,
            "x-amz-copy-source-range": `bytes=0-${12 * MIB - 1}`,
          },
        });
        const qs = `partNumber=${i + 1}&uploadId=${encodeURIComponent(UploadId!)}`;
        const head = `PUT ${path}?${qs} HTTP/1.1\r\n` +
          Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: vault.port });
        await conn.write(new TextEncoder().encode(head));
        await sleep(30);
        conn.close();
      }
      const body = randomBytes(24 * MIB, 99);
      await within(
        s3.send(new PutObjectCommand({ Bucket: B, Key: "after", Body: body })),
        60_000,
        "PutObject after",
      );
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: "after" }));
      assertBytesEqual(await got.Body!.transformToByteArray(), body, "after");
      assertOk(true);
    });
  },
);
