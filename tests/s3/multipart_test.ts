/**
 * Multipart uploads over the AWS SDK v3: CreateMultipartUpload, UploadPart,
 * UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload, ListParts,
 * ListMultipartUploads.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import {
  assertBytesEqual,
  assertEquals,
  assertOk,
  assertS3Error,
  bodyBytes,
  md5Hex,
  randomBytes,
  vaultSuite,
} from "../helpers/assert_s3.ts";

const B = "mp-bucket";
const MIB = 1024 * 1024;

/** The S3 multipart ETag: MD5 of the concatenated binary part MD5s, then "-N". */
function multipartEtag(parts: Uint8Array[]): string {
  const h = createHash("md5");
  for (const p of parts) h.update(createHash("md5").update(p).digest());
  return `"${h.digest("hex")}-${parts.length}"`;
}

async function create(s3: S3Client, key: string): Promise<string> {
  const r = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key }));
  return r.UploadId!;
}

async function upload(
  s3: S3Client,
  key: string,
  uploadId: string,
  partNumber: number,
  body: Uint8Array,
): Promise<string> {
  const r = await s3.send(
    new UploadPartCommand({
      Bucket: B,
      Key: key,
      UploadId: uploadId,
      PartNumber: partNumber,
      Body: body,
    }),
  );
  return r.ETag!;
}

function complete(s3: S3Client, key: string, uploadId: string, parts: [number, string][]) {
  return s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: B,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts.map(([PartNumber, ETag]) => ({ PartNumber, ETag })) },
    }),
  );
}

vaultSuite("S3 multipart uploads", async ({ t, s3 }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  const readAll = async (key: string) =>
    await bodyBytes((await s3.send(new GetObjectCommand({ Bucket: B, Key: key }))).Body);

  await t.step("CreateMultipartUpload - returns bucket, key and an upload id", async () => {
    const r = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: B,
        Key: "created",
        ContentType: "video/mp4",
        Metadata: { m: "1" },
      }),
    );
    assertEquals(r.$metadata.httpStatusCode, 200);
    assertEquals(r.Bucket, B);
    assertEquals(r.Key, "created");
    assertOk(r.UploadId && r.UploadId.length > 8, "UploadId missing");
    await s3.send(
      new AbortMultipartUploadCommand({ Bucket: B, Key: "created", UploadId: r.UploadId }),
    );
  });

  await t.step("CreateMultipartUpload - missing bucket is NoSuchBucket", async () => {
    await assertS3Error(
      s3.send(new CreateMultipartUploadCommand({ Bucket: "no-such-bkt", Key: "k" })),
      "NoSuchBucket",
      404,
    );
  });

  await t.step("UploadPart - parallel parts complete with the md5-of-md5s ETag", async () => {
    const parts = [
      randomBytes(5 * MIB, 11),
      randomBytes(5 * MIB + 7, 12),
      randomBytes(2 * MIB, 13),
    ];
    const id = await create(s3, "parallel");
    const etags = await Promise.all(parts.map((p, i) => upload(s3, "parallel", id, i + 1, p)));
    etags.forEach((e, i) => assertEquals(e, `"${md5Hex(parts[i])}"`));
    const r = await complete(s3, "parallel", id, etags.map((e, i) => [i + 1, e]));
    assertEquals(r.$metadata.httpStatusCode, 200);
    assertEquals(r.ETag, multipartEtag(parts));
    assertEquals(r.Bucket, B);
    assertEquals(r.Key, "parallel");
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "parallel" }));
    assertEquals(h.ETag, multipartEtag(parts));
    assertEquals(h.ContentLength, parts.reduce((n, p) => n + p.length, 0));
    const all = await readAll("parallel");
    let off = 0;
    for (const p of parts) {
      assertBytesEqual(all.subarray(off, off + p.length), p);
      off += p.length;
    }
  });

  await t.step("CreateMultipartUpload - metadata given at create is on the object", async () => {
    const r = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: B,
        Key: "meta",
        ContentType: "video/mp4",
        Metadata: { m: "1" },
      }),
    );
    const e = await upload(s3, "meta", r.UploadId!, 1, new TextEncoder().encode("tiny"));
    await complete(s3, "meta", r.UploadId!, [[1, e]]);
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "meta" }));
    assertEquals(h.ContentType, "video/mp4");
    assertEquals(h.Metadata, { m: "1" });
    assertEquals(h.ETag, multipartEtag([new TextEncoder().encode("tiny")]));
  });

  await t.step("UploadPart - re-uploading a part number replaces it", async () => {
    const id = await create(s3, "retry");
    const first = randomBytes(5 * MIB, 21);
    const second = randomBytes(5 * MIB, 22);
    const last = randomBytes(1000, 23);
    const e1 = await upload(s3, "retry", id, 1, first);
    const e1b = await upload(s3, "retry", id, 1, second);
    const e2 = await upload(s3, "retry", id, 2, last);
    const parts = await s3.send(new ListPartsCommand({ Bucket: B, Key: "retry", UploadId: id }));
    assertEquals(parts.Parts?.map((p) => [p.PartNumber, p.ETag]), [[1, e1b], [2, e2]]);
    await assertS3Error(complete(s3, "retry", id, [[1, e1], [2, e2]]), "InvalidPart", 400);
    const r = await complete(s3, "retry", id, [[1, e1b], [2, e2]]);
    assertEquals(r.ETag, multipartEtag([second, last]));
    const all = await readAll("retry");
    assertBytesEqual(all.subarray(0, second.length), second);
    assertBytesEqual(all.subarray(second.length), last);
  });

  await t.step("UploadPartCopy - CopySourceRange copies a byte range as a part", async () => {
    const source = randomBytes(6 * MIB, 31);
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "copy-source", Body: source }));
    const id = await create(s3, "from-copy");
    const c1 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: B,
        Key: "from-copy",
        UploadId: id,
        PartNumber: 1,
        CopySource: `${B}/copy-source`,
        CopySourceRange: `bytes=0-${5 * MIB - 1}`,
      }),
    );
    const p1 = source.subarray(0, 5 * MIB);
    assertEquals(c1.CopyPartResult?.ETag, `"${md5Hex(p1)}"`);
    assertOk(c1.CopyPartResult?.LastModified instanceof Date, "LastModified missing");
    const c2 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: B,
        Key: "from-copy",
        UploadId: id,
        PartNumber: 2,
        CopySource: `${B}/copy-source`,
        CopySourceRange: `bytes=${5 * MIB}-${6 * MIB - 1}`,
      }),
    );
    const p2 = source.subarray(5 * MIB);
    const r = await complete(s3, "from-copy", id, [[1, c1.CopyPartResult!.ETag!], [
      2,
      c2.CopyPartResult!.ETag!,
    ]]);
    assertEquals(r.ETag, multipartEtag([p1, p2]));
    assertBytesEqual(await readAll("from-copy"), source);
  });

  await t.step("UploadPartCopy - whole-object copy without a range", async () => {
    const id = await create(s3, "whole-copy");
    const c = await s3.send(
      new UploadPartCopyCommand({
        Bucket: B,
        Key: "whole-copy",
        UploadId: id,
        PartNumber: 1,
        CopySource: `${B}/retry`,
      }),
    );
    const src = await readAll("retry");
    assertEquals(c.CopyPartResult?.ETag, `"${md5Hex(src)}"`);
    await complete(s3, "whole-copy", id, [[1, c.CopyPartResult!.ETag!]]);
    assertBytesEqual(await readAll("whole-copy"), src);
  });

  await t.step("UploadPartCopy - range past the source end is InvalidRange", async () => {
    const id = await create(s3, "bad-range");
    await assertS3Error(
      s3.send(
        new UploadPartCopyCommand({
          Bucket: B,
          Key: "bad-range",
          UploadId: id,
          PartNumber: 1,
          CopySource: `${B}/copy-source`,
          CopySourceRange: `bytes=0-${7 * MIB}`,
        }),
      ),
      "InvalidRange",
      416,
    );
    await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: "bad-range", UploadId: id }));
  });

  await t.step("CompleteMultipartUpload - a part never uploaded is InvalidPart", async () => {
    const id = await create(s3, "invalid-part");
    const e1 = await upload(s3, "invalid-part", id, 1, randomBytes(100, 41));
    await assertS3Error(complete(s3, "invalid-part", id, [[1, e1], [2, e1]]), "InvalidPart", 400);
    await assertS3Error(
      complete(s3, "invalid-part", id, [[1, '"00000000000000000000000000000000"']]),
      "InvalidPart",
      400,
    );
    await assertS3Error(
      s3.send(new HeadObjectCommand({ Bucket: B, Key: "invalid-part" })),
      "NotFound",
      404,
    );
  });

  await t.step("CompleteMultipartUpload - parts out of order is InvalidPartOrder", async () => {
    const id = await create(s3, "order");
    const e1 = await upload(s3, "order", id, 1, randomBytes(5 * MIB, 51));
    const e2 = await upload(s3, "order", id, 2, randomBytes(100, 52));
    await assertS3Error(complete(s3, "order", id, [[2, e2], [1, e1]]), "InvalidPartOrder", 400);
    await assertS3Error(complete(s3, "order", id, [[1, e1], [1, e1]]), "InvalidPartOrder", 400);
    // The upload is still usable after a refused complete.
    const r = await complete(s3, "order", id, [[1, e1], [2, e2]]);
    assertEquals(r.$metadata.httpStatusCode, 200);
  });

  await t.step("CompleteMultipartUpload - a small non-last part is EntityTooSmall", async () => {
    const id = await create(s3, "small");
    const e1 = await upload(s3, "small", id, 1, randomBytes(1024, 61));
    const e2 = await upload(s3, "small", id, 2, randomBytes(1024, 62));
    await assertS3Error(complete(s3, "small", id, [[1, e1], [2, e2]]), "EntityTooSmall", 400);
    await assertS3Error(
      s3.send(new HeadObjectCommand({ Bucket: B, Key: "small" })),
      "NotFound",
      404,
    );
  });

  await t.step("CompleteMultipartUpload - parts may be skipped (1 and 3)", async () => {
    const id = await create(s3, "gaps");
    const p1 = randomBytes(5 * MIB, 71);
    const p3 = randomBytes(10, 73);
    const e1 = await upload(s3, "gaps", id, 1, p1);
    await upload(s3, "gaps", id, 2, randomBytes(5 * MIB, 72));
    const e3 = await upload(s3, "gaps", id, 3, p3);
    const r = await complete(s3, "gaps", id, [[1, e1], [3, e3]]);
    assertEquals(r.ETag, multipartEtag([p1, p3]));
    const all = await readAll("gaps");
    assertEquals(all.length, p1.length + p3.length);
    assertBytesEqual(all.subarray(p1.length), p3);
  });

  await t.step(
    "CompleteMultipartUpload - a repeat gets the first answer; other parts do not",
    async () => {
      const id = await create(s3, "again");
      const e1 = await upload(s3, "again", id, 1, randomBytes(100, 74));
      const first = await complete(s3, "again", id, [[1, e1]]);
      // The SDK retries a Complete whose answer was lost: S3 answers it again.
      const repeat = await complete(s3, "again", id, [[1, e1]]);
      assertEquals([repeat.ETag, repeat.VersionId], [first.ETag, first.VersionId]);
      await assertS3Error(
        complete(s3, "again", id, [[1, '"' + "0".repeat(32) + '"']]),
        "NoSuchUpload",
        404,
      );
    },
  );

  await t.step("UploadPart - part number 0 or 10001 is InvalidArgument", async () => {
    const id = await create(s3, "numbers");
    for (const n of [0, 10001]) {
      await assertS3Error(
        s3.send(
          new UploadPartCommand({
            Bucket: B,
            Key: "numbers",
            UploadId: id,
            PartNumber: n,
            Body: "x",
          }),
        ),
        "InvalidArgument",
        400,
      );
    }
    await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: "numbers", UploadId: id }));
  });

  await t.step("UploadPart - unknown upload id is NoSuchUpload", async () => {
    await assertS3Error(
      s3.send(
        new UploadPartCommand({
          Bucket: B,
          Key: "k",
          UploadId: "does-not-exist",
          PartNumber: 1,
          Body: "x",
        }),
      ),
      "NoSuchUpload",
      404,
    );
  });

  await t.step("AbortMultipartUpload - 204, then the upload is NoSuchUpload", async () => {
    const id = await create(s3, "aborted");
    const e1 = await upload(s3, "aborted", id, 1, randomBytes(100, 81));
    const r = await s3.send(
      new AbortMultipartUploadCommand({ Bucket: B, Key: "aborted", UploadId: id }),
    );
    assertEquals(r.$metadata.httpStatusCode, 204);
    await assertS3Error(
      s3.send(
        new UploadPartCommand({
          Bucket: B,
          Key: "aborted",
          UploadId: id,
          PartNumber: 2,
          Body: "x",
        }),
      ),
      "NoSuchUpload",
      404,
    );
    await assertS3Error(
      s3.send(new ListPartsCommand({ Bucket: B, Key: "aborted", UploadId: id })),
      "NoSuchUpload",
      404,
    );
    await assertS3Error(complete(s3, "aborted", id, [[1, e1]]), "NoSuchUpload", 404);
    await assertS3Error(
      s3.send(new HeadObjectCommand({ Bucket: B, Key: "aborted" })),
      "NotFound",
      404,
    );
  });

  await t.step(
    "CompleteMultipartUpload - a completed upload is gone from ListMultipartUploads",
    async () => {
      const id = await create(s3, "done");
      const e1 = await upload(s3, "done", id, 1, randomBytes(10, 91));
      await complete(s3, "done", id, [[1, e1]]);
      const l = await s3.send(new ListMultipartUploadsCommand({ Bucket: B, Prefix: "done" }));
      assertEquals(l.Uploads ?? [], []);
      await assertS3Error(
        s3.send(
          new UploadPartCommand({ Bucket: B, Key: "done", UploadId: id, PartNumber: 2, Body: "x" }),
        ),
        "NoSuchUpload",
        404,
      );
    },
  );

  await t.step("ListParts - lists parts with sizes and pages with max-parts", async () => {
    const id = await create(s3, "listed");
    const bodies = [randomBytes(300, 101), randomBytes(200, 102), randomBytes(100, 103)];
    const etags = await Promise.all(bodies.map((b, i) => upload(s3, "listed", id, i + 1, b)));
    const all = await s3.send(new ListPartsCommand({ Bucket: B, Key: "listed", UploadId: id }));
    assertEquals(all.Bucket, B);
    assertEquals(all.Key, "listed");
    assertEquals(all.UploadId, id);
    assertEquals(all.IsTruncated, false);
    assertEquals(all.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]), [
      [1, 300, etags[0]],
      [2, 200, etags[1]],
      [3, 100, etags[2]],
    ]);
    const page = await s3.send(
      new ListPartsCommand({ Bucket: B, Key: "listed", UploadId: id, MaxParts: 2 }),
    );
    assertEquals(page.Parts?.map((p) => p.PartNumber), [1, 2]);
    assertEquals(page.IsTruncated, true);
    assertEquals(page.NextPartNumberMarker, "2");
    const rest = await s3.send(
      new ListPartsCommand({
        Bucket: B,
        Key: "listed",
        UploadId: id,
        PartNumberMarker: page.NextPartNumberMarker,
      }),
    );
    assertEquals(rest.Parts?.map((p) => p.PartNumber), [3]);
    assertEquals(rest.IsTruncated, false);
  });

  await t.step("ListMultipartUploads - lists in-progress uploads by key", async () => {
    const a = await create(s3, "up/a");
    const b1 = await create(s3, "up/b");
    const b2 = await create(s3, "up/b");
    const l = await s3.send(new ListMultipartUploadsCommand({ Bucket: B, Prefix: "up/" }));
    assertEquals(l.Bucket, B);
    assertEquals(l.Uploads?.map((u) => u.Key), ["up/a", "up/b", "up/b"]);
    // One key's uploads in the order they were started, as S3 lists them.
    assertEquals(l.Uploads?.map((u) => u.UploadId), [a, b1, b2]);
    assertOk(l.Uploads?.[0].Initiated instanceof Date, "Initiated missing");
    assertEquals(l.IsTruncated, false);
    const limited = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: B, Prefix: "up/", MaxUploads: 1 }),
    );
    assertEquals(limited.Uploads?.length, 1);
    assertEquals(limited.IsTruncated, true);
    assertEquals(limited.NextKeyMarker, "up/a");
    // Page one upload at a time: both uploads of up/b come back, via upload-id-marker.
    const paged: string[] = [];
    let marker: { KeyMarker?: string; UploadIdMarker?: string } = {};
    for (let page = 0; page < 5; page++) {
      const p = await s3.send(
        new ListMultipartUploadsCommand({ Bucket: B, Prefix: "up/", MaxUploads: 1, ...marker }),
      );
      paged.push(...(p.Uploads ?? []).map((u) => `${u.Key}:${u.UploadId}`));
      if (!p.IsTruncated) break;
      marker = { KeyMarker: p.NextKeyMarker, UploadIdMarker: p.NextUploadIdMarker };
    }
    assertEquals(paged, l.Uploads?.map((u) => `${u.Key}:${u.UploadId}`));
    for (const [k, id] of [["up/a", a], ["up/b", b1], ["up/b", b2]]) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: k, UploadId: id }));
    }
    const after = await s3.send(new ListMultipartUploadsCommand({ Bucket: B, Prefix: "up/" }));
    assertEquals(after.Uploads ?? [], []);
  });
});
