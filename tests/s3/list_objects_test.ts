/**
 * ListObjectsV2 and ListObjects (v1) over the AWS SDK v3: prefixes,
 * delimiters, paging, start-after, owners, URL encoding.
 */
import {
  CreateBucketCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  assertEquals,
  assertOk,
  assertS3Error,
  md5Hex,
  parallel,
  signedFetch,
  vaultSuite,
} from "../helpers/assert_s3.ts";

const B = "list-bucket";
const MANY = 2500;

/** Decodes an `encoding-type=url` value as S3 clients do (form decoding: `+` is a space). */
function formDecode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, " "));
}

function xmlAll(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, "g"))].map((m) => m[1]);
}

vaultSuite("S3 ListObjectsV2 and ListObjects", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new CreateBucketCommand({ Bucket: "list-empty" }));
  const put = (key: string) => s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: key }));

  const tree = [
    "docs/x",
    "photos/2024/a.jpg",
    "photos/2024/b.jpg",
    "photos/2025/c.jpg",
    "photos/top.jpg",
    "root.txt",
  ];
  const many = Array.from({ length: MANY }, (_, i) => `many/${String(i).padStart(5, "0")}`);
  const cp = Array.from(
    { length: 30 },
    (_, i) => `cp/${String(Math.floor(i / 3)).padStart(3, "0")}/${i % 3}`,
  );
  await parallel([...tree, ...many, ...cp], 16, async (k) => {
    await put(k);
  });

  await t.step("ListObjectsV2 - empty bucket", async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: "list-empty" }));
    assertEquals(r.$metadata.httpStatusCode, 200);
    assertEquals(r.KeyCount, 0);
    assertEquals(r.IsTruncated, false);
    assertEquals(r.Contents ?? [], []);
    assertEquals(r.Name, "list-empty");
  });

  await t.step("ListObjectsV2 - prefix selects keys, with size, ETag and class", async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "photos/" }));
    assertEquals(r.Contents?.map((c) => c.Key), [
      "photos/2024/a.jpg",
      "photos/2024/b.jpg",
      "photos/2025/c.jpg",
      "photos/top.jpg",
    ]);
    assertEquals(r.KeyCount, 4);
    assertEquals(r.Prefix, "photos/");
    const first = r.Contents![0];
    assertEquals(first.Size, "photos/2024/a.jpg".length);
    assertEquals(first.ETag, `"${md5Hex("photos/2024/a.jpg")}"`);
    assertEquals(first.StorageClass, "STANDARD");
    assertOk(first.LastModified instanceof Date, "LastModified missing");
  });

  await t.step("ListObjectsV2 - delimiter groups CommonPrefixes", async () => {
    const top = await s3.send(
      new ListObjectsV2Command({ Bucket: B, Delimiter: "/", Prefix: "" }),
    );
    assertEquals(top.CommonPrefixes?.map((p) => p.Prefix), ["cp/", "docs/", "many/", "photos/"]);
    assertEquals(top.Contents?.map((c) => c.Key), ["root.txt"]);
    assertEquals(top.KeyCount, 5);
    assertEquals(top.Delimiter, "/");
    const photos = await s3.send(
      new ListObjectsV2Command({ Bucket: B, Delimiter: "/", Prefix: "photos/" }),
    );
    assertEquals(photos.CommonPrefixes?.map((p) => p.Prefix), ["photos/2024/", "photos/2025/"]);
    assertEquals(photos.Contents?.map((c) => c.Key), ["photos/top.jpg"]);
  });

  await t.step("ListObjectsV2 - a delimiter other than / groups on it", async () => {
    const r = await s3.send(
      new ListObjectsV2Command({ Bucket: B, Delimiter: ".", Prefix: "photos/" }),
    );
    assertEquals(r.CommonPrefixes?.map((p) => p.Prefix), [
      "photos/2024/a.",
      "photos/2024/b.",
      "photos/2025/c.",
      "photos/top.",
    ]);
    assertEquals(r.Contents ?? [], []);
  });

  await t.step("ListObjectsV2 - max-keys truncates with a continuation token", async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "photos/", MaxKeys: 2 }));
    assertEquals(r.Contents?.map((c) => c.Key), ["photos/2024/a.jpg", "photos/2024/b.jpg"]);
    assertEquals(r.KeyCount, 2);
    assertEquals(r.MaxKeys, 2);
    assertEquals(r.IsTruncated, true);
    assertOk(r.NextContinuationToken, "NextContinuationToken missing");
    const next = await s3.send(
      new ListObjectsV2Command({
        Bucket: B,
        Prefix: "photos/",
        MaxKeys: 2,
        ContinuationToken: r.NextContinuationToken,
      }),
    );
    assertEquals(next.Contents?.map((c) => c.Key), ["photos/2025/c.jpg", "photos/top.jpg"]);
    assertEquals(next.ContinuationToken, r.NextContinuationToken);
    assertEquals(next.IsTruncated, false);
    assertEquals(next.NextContinuationToken, undefined);
  });

  await t.step(`ListObjectsV2 - continuation-token paging over ${MANY} keys`, async () => {
    const seen: string[] = [];
    const pages: number[] = [];
    let token: string | undefined;
    do {
      const r: ListObjectsV2CommandOutput = await s3.send(
        new ListObjectsV2Command({ Bucket: B, Prefix: "many/", ContinuationToken: token }),
      );
      pages.push(r.KeyCount ?? 0);
      for (const c of r.Contents ?? []) seen.push(c.Key!);
      token = r.NextContinuationToken;
      assertEquals(r.IsTruncated, token !== undefined);
    } while (token);
    assertEquals(pages, [1000, 1000, 500]);
    assertEquals(seen, many);
  });

  await t.step("ListObjectsV2 - paging CommonPrefixes never repeats a prefix", async () => {
    const prefixes: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r: ListObjectsV2CommandOutput = await s3.send(
        new ListObjectsV2Command({
          Bucket: B,
          Prefix: "cp/",
          Delimiter: "/",
          MaxKeys: 3,
          ContinuationToken: token,
        }),
      );
      pages++;
      assertOk((r.KeyCount ?? 0) <= 3, "page larger than max-keys");
      for (const p of r.CommonPrefixes ?? []) prefixes.push(p.Prefix!);
      token = r.NextContinuationToken;
    } while (token && pages < 20);
    assertEquals(
      prefixes,
      Array.from({ length: 10 }, (_, i) => `cp/${String(i).padStart(3, "0")}/`),
    );
  });

  await t.step("ListObjectsV2 - start-after skips keys up to and including it", async () => {
    const r = await s3.send(
      new ListObjectsV2Command({ Bucket: B, Prefix: "photos/", StartAfter: "photos/2024/b.jpg" }),
    );
    assertEquals(r.Contents?.map((c) => c.Key), ["photos/2025/c.jpg", "photos/top.jpg"]);
    assertEquals(r.StartAfter, "photos/2024/b.jpg");
    const between = await s3.send(
      new ListObjectsV2Command({ Bucket: B, Prefix: "photos/", StartAfter: "photos/2024/zzz" }),
    );
    assertEquals(between.Contents?.map((c) => c.Key), ["photos/2025/c.jpg", "photos/top.jpg"]);
  });

  await t.step("ListObjectsV2 - fetch-owner adds Owner, default omits it", async () => {
    const plain = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "docs/" }));
    assertEquals(plain.Contents?.[0].Owner, undefined);
    const owned = await s3.send(
      new ListObjectsV2Command({ Bucket: B, Prefix: "docs/", FetchOwner: true }),
    );
    assertOk(owned.Contents?.[0].Owner?.ID, "Owner.ID missing with fetch-owner");
  });

  await t.step("ListObjectsV2 - encoding-type=url encodes odd keys", async () => {
    const odd = [
      "odd/sp ace",
      "odd/plus+sign",
      "odd/pct%41",
      "odd/ünïcødé",
      "odd/ctl\x01char",
      "odd/amp&lt",
    ];
    for (const k of odd) await put(k);
    const res = await signedFetch(vault, s3, {
      method: "GET",
      path: `/${B}`,
      query: { "list-type": "2", prefix: "odd/", "encoding-type": "url" },
    });
    const xml = await res.text();
    assertEquals(res.status, 200, xml);
    assertEquals(xmlAll(xml, "EncodingType"), ["url"]);
    const keys = xmlAll(xml, "Key");
    for (const k of keys) assertOk(/^[A-Za-z0-9%+\-_.~/*]*$/.test(k), `key not URL-encoded: ${k}`);
    assertEquals(keys.map(formDecode).sort(), [...odd].sort());
  });

  await t.step("ListObjectsV2 - missing bucket is NoSuchBucket", async () => {
    await assertS3Error(
      s3.send(new ListObjectsV2Command({ Bucket: "no-such-bkt" })),
      "NoSuchBucket",
      404,
    );
  });

  await t.step("ListObjectsV2 - garbage continuation token is InvalidArgument", async () => {
    await assertS3Error(
      s3.send(new ListObjectsV2Command({ Bucket: B, ContinuationToken: "%%%not-a-token" })),
      "InvalidArgument",
      400,
    );
  });

  await t.step("ListObjectsV2 - negative max-keys is InvalidArgument", async () => {
    await assertS3Error(
      s3.send(new ListObjectsV2Command({ Bucket: B, MaxKeys: -1 })),
      "InvalidArgument",
      400,
    );
  });

  await t.step("ListObjects - v1 marker pages and NextMarker with a delimiter", async () => {
    const first = await s3.send(
      new ListObjectsCommand({ Bucket: B, Prefix: "photos/", Delimiter: "/", MaxKeys: 1 }),
    );
    assertEquals(first.CommonPrefixes?.map((p) => p.Prefix), ["photos/2024/"]);
    assertEquals(first.IsTruncated, true);
    assertEquals(first.NextMarker, "photos/2024/");
    const second = await s3.send(
      new ListObjectsCommand({
        Bucket: B,
        Prefix: "photos/",
        Delimiter: "/",
        MaxKeys: 1,
        Marker: first.NextMarker,
      }),
    );
    assertEquals(second.Marker, "photos/2024/");
    assertEquals(second.CommonPrefixes?.map((p) => p.Prefix), ["photos/2025/"]);
  });

  await t.step("ListObjects - v1 paging by last key over many keys", async () => {
    const seen: string[] = [];
    let marker: string | undefined;
    for (let i = 0; i < 10; i++) {
      const r = await s3.send(
        new ListObjectsCommand({ Bucket: B, Prefix: "many/", Marker: marker, MaxKeys: 1000 }),
      );
      for (const c of r.Contents ?? []) seen.push(c.Key!);
      assertOk(r.Contents?.[0]?.Owner?.ID, "v1 listings always carry Owner");
      if (!r.IsTruncated) break;
      // Without a delimiter S3 returns no NextMarker: the last key is the next marker.
      marker = r.NextMarker ?? r.Contents!.at(-1)!.Key;
    }
    assertEquals(seen, many);
  });
});
