/**
 * Pagination against a model: random keys (multi-byte, multi-character
 * delimiters, keys equal to a prefix, keys ending in the delimiter), random
 * prefix / delimiter / page size; paging through ListObjectsV2, ListObjects
 * (v1, NextMarker or last key), ListObjectVersions and ListMultipartUploads
 * must yield exactly the model's entries, in UTF-8 byte order, none twice.
 * Env `PAGING_SEED` and `PAGING_SMALL=1` vary it.
 *
 * @module
 */
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { assertEquals, parallel, vaultSuite } from "../helpers/assert_s3.ts";

const enc = new TextEncoder();
function cmp(a: string, b: string): number {
  return Buffer.compare(enc.encode(a), enc.encode(b));
}

let seed = Number(Deno.env.get("PAGING_SEED") ?? 12345);
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}
const ALPHABET = ["a", "b", "/", "-", "é", "\u{1F600}", "z", "~", "a/", "--"];
function randKey(): string {
  const len = 1 + rnd(6);
  let s = "";
  for (let i = 0; i < len; i++) s += ALPHABET[rnd(ALPHABET.length)];
  return s;
}

type Entry = string; // "K:key" | "P:prefix" | "V:key@n"

function modelObjects(keys: string[], prefix: string, delimiter: string): Entry[] {
  const out: Entry[] = [];
  const seen = new Set<string>();
  for (const k of [...keys].sort(cmp)) {
    if (!k.startsWith(prefix)) continue;
    const at = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
    if (at >= 0) {
      const p = k.slice(0, at + delimiter.length);
      if (!seen.has(p)) {
        seen.add(p);
        out.push(`P:${p}`);
      }
    } else out.push(`K:${k}`);
  }
  return out;
}

vaultSuite("Paging model check", async ({ t, s3 }) => {
  const B = "paging-model";
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: "Enabled" } }),
  );
  const keySet = new Set<string>();
  while (keySet.size < 120) keySet.add(randKey());
  const keys = [...keySet];
  // versions: key -> version ids newest first
  const versions = new Map<string, string[]>();
  await parallel(keys, 8, async (k) => {
    const n = 1 + rnd(3);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await s3.send(new PutObjectCommand({ Bucket: B, Key: k, Body: `${k}#${i}` }));
      ids.unshift(r.VersionId!);
    }
    versions.set(k, ids);
  });
  // Delete-mark some keys: hidden from ListObjects, listed (marker first) by ListObjectVersions.
  const live = new Set(keys);
  for (const k of keys.filter((_, i) => i % 7 === 0)) {
    const r = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: k }));
    versions.get(k)!.unshift(r.VersionId!);
    live.delete(k);
  }
  const uploads = new Map<string, string[]>();
  for (const k of keys.filter((_, i) => i % 5 === 0)) {
    for (let i = 0; i < 1 + (k.length % 2); i++) {
      const r = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: k }));
      uploads.set(k, [...(uploads.get(k) ?? []), r.UploadId!]);
    }
  }

  const prefixes = ["", "a", "a/", "b", "é", "\u{1F600}", "z~"];
  const delimiters = ["", "/", "--", "é", "a/"];
  const sizes = Deno.env.get("PAGING_SMALL") ? [1, 2, 3] : [1, 2, 3, 7, 1000];
  const cases: [string, string, number][] = [];
  for (const p of prefixes) {
    for (const d of delimiters) cases.push([p, d, sizes[rnd(sizes.length)]]);
  }

  await t.step("ListObjectsV2 pages equal the model", async () => {
    for (const [prefix, delimiter, max] of cases) {
      const want = modelObjects([...live], prefix, delimiter);
      const got: Entry[] = [];
      let token: string | undefined;
      for (let i = 0; i < 500; i++) {
        const r = await s3.send(
          new ListObjectsV2Command({
            Bucket: B,
            Prefix: prefix || undefined,
            Delimiter: delimiter || undefined,
            MaxKeys: max,
            ContinuationToken: token,
          }),
        );
        // Within a page S3 lists Contents then CommonPrefixes; merge them in byte order.
        const page = [
          ...(r.Contents ?? []).map((c) => `K:${c.Key}`),
          ...(r.CommonPrefixes ?? []).map((c) => `P:${c.Prefix}`),
        ].sort((a, b) => cmp(a.slice(2), b.slice(2)));
        assertEquals(r.KeyCount, page.length);
        got.push(...page);
        if (!r.IsTruncated) break;
        token = r.NextContinuationToken;
      }
      assertEquals(got, want, `v2 prefix=${prefix} delimiter=${delimiter} max=${max}`);
    }
  });

  await t.step("ListObjects (v1) pages equal the model", async () => {
    for (const [prefix, delimiter, max] of cases) {
      const want = modelObjects([...live], prefix, delimiter);
      const got: Entry[] = [];
      let marker: string | undefined;
      for (let i = 0; i < 500; i++) {
        const r = await s3.send(
          new ListObjectsCommand({
            Bucket: B,
            Prefix: prefix || undefined,
            Delimiter: delimiter || undefined,
            MaxKeys: max,
            Marker: marker,
          }),
        );
        const page = [
          ...(r.Contents ?? []).map((c) => `K:${c.Key}`),
          ...(r.CommonPrefixes ?? []).map((c) => `P:${c.Prefix}`),
        ].sort((a, b) => cmp(a.slice(2), b.slice(2)));
        got.push(...page);
        if (!r.IsTruncated) break;
        marker = r.NextMarker ?? r.Contents!.at(-1)!.Key;
      }
      assertEquals(got, want, `v1 prefix=${prefix} delimiter=${delimiter} max=${max}`);
    }
  });

  await t.step("ListObjectVersions pages equal the model", async () => {
    for (const [prefix, delimiter, max] of cases) {
      const want: Entry[] = [];
      for (const e of modelObjects(keys, prefix, delimiter)) {
        if (e.startsWith("P:")) want.push(e);
        else for (const v of versions.get(e.slice(2))!) want.push(`V:${e.slice(2)}@${v}`);
      }
      const got: Entry[] = [];
      let km: string | undefined;
      let vm: string | undefined;
      for (let i = 0; i < 2000; i++) {
        const r = await s3.send(
          new ListObjectVersionsCommand({
            Bucket: B,
            Prefix: prefix || undefined,
            Delimiter: delimiter || undefined,
            MaxKeys: max,
            KeyMarker: km,
            VersionIdMarker: vm,
          }),
        );
        // The SDK splits Version and DeleteMarker; re-merge by key then newest first (model order).
        const vs = [...(r.Versions ?? []), ...(r.DeleteMarkers ?? [])].map((v) =>
          `V:${v.Key}@${v.VersionId}`
        );
        const order = (e: string) => {
          const [k, id] = e.slice(2).split("@");
          return [k, versions.get(k)!.indexOf(id)] as const;
        };
        vs.sort((a, b) => {
          const [ka, ia] = order(a);
          const [kb, ib] = order(b);
          return cmp(ka, kb) || ia - ib;
        });
        const page = [...vs, ...(r.CommonPrefixes ?? []).map((c) => `P:${c.Prefix}`)].sort((a, b) =>
          cmp(a.slice(2).split("@")[0], b.slice(2).split("@")[0]) ||
          (a.startsWith("V:") && b.startsWith("V:")
            ? versions.get(a.slice(2).split("@")[0])!.indexOf(a.split("@")[1]) -
              versions.get(b.slice(2).split("@")[0])!.indexOf(b.split("@")[1])
            : 0)
        );
        got.push(...page);
        if (!r.IsTruncated) break;
        km = r.NextKeyMarker;
        vm = r.NextVersionIdMarker;
      }
      assertEquals(got, want, `versions prefix=${prefix} delimiter=${delimiter} max=${max}`);
    }
  });

  await t.step("ListMultipartUploads pages equal the model", async () => {
    for (const [prefix, delimiter, max] of cases) {
      const want: Entry[] = [];
      for (const e of modelObjects([...uploads.keys()], prefix, delimiter)) {
        if (e.startsWith("P:")) want.push(e);
        else for (const id of uploads.get(e.slice(2))!) want.push(`U:${e.slice(2)}@${id}`);
      }
      const got: Entry[] = [];
      let km: string | undefined;
      let um: string | undefined;
      for (let i = 0; i < 2000; i++) {
        const r = await s3.send(
          new ListMultipartUploadsCommand({
            Bucket: B,
            Prefix: prefix || undefined,
            Delimiter: delimiter || undefined,
            MaxUploads: max,
            KeyMarker: km,
            UploadIdMarker: um,
          }),
        );
        const page = [
          ...(r.Uploads ?? []).map((u) => `U:${u.Key}@${u.UploadId}`),
          ...(r.CommonPrefixes ?? []).map((c) => `P:${c.Prefix}`),
        ].sort((a, b) => cmp(a.slice(2).split("@")[0], b.slice(2).split("@")[0]));
        got.push(...page);
        if (!r.IsTruncated) break;
        km = r.NextKeyMarker;
        um = r.NextUploadIdMarker;
      }
      assertEquals(got, want, `uploads prefix=${prefix} delimiter=${delimiter} max=${max}`);
    }
  });

  await t.step("ListObjectsV2 / ListObjectVersions - paging while keys come and go", async () => {
    const C = "paging-churn";
    await s3.send(new CreateBucketCommand({ Bucket: C }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: C, VersioningConfiguration: { Status: "Enabled" } }),
    );
    const stable = Array.from({ length: 60 }, (_, i) => `s/${String(i * 2).padStart(3, "0")}`);
    await parallel(stable, 8, async (k) => {
      await s3.send(new PutObjectCommand({ Bucket: C, Key: k, Body: k }));
    });
    const got: string[] = [];
    let token: string | undefined;
    let n = 0;
    do {
      const r = await s3.send(
        new ListObjectsV2Command({ Bucket: C, MaxKeys: 5, ContinuationToken: token }),
      );
      for (const c of r.Contents ?? []) got.push(c.Key!);
      // Between pages: add odd keys everywhere, and delete the key the page ended on plus a new one.
      n++;
      await s3.send(
        new PutObjectCommand({
          Bucket: C,
          Key: `s/${String(n * 7 + 1).padStart(3, "0")}`,
          Body: "x",
        }),
      );
      const lastKey = r.Contents?.at(-1)?.Key;
      if (lastKey && !stable.includes(lastKey)) {
        await s3.send(new DeleteObjectCommand({ Bucket: C, Key: lastKey }));
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    assertEquals(new Set(got).size, got.length, "a key listed twice");
    for (const k of stable) assertEquals(got.includes(k), true, `stable key ${k} skipped`);
    const sorted = [...got].sort(cmp);
    assertEquals(got, sorted, "keys out of byte order");
  });
});
