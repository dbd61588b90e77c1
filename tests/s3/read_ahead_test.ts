/**
 * Downloads read a batch ahead of their clients within a vault-wide budget of
 * slots (`readObject`, src/s3/ops/body.ts). A GetObject whose answer could not
 * be rendered used to keep its slot for good (session-13 budget review): a
 * `response-*` override holding a line break, or a character past Latin-1 (a
 * presigned link naming a file in Chinese), made building the headers throw
 * after the first batches were read, the request ended with a 500, and the
 * body stream was dropped without being cancelled. Eight such requests turned
 * read-ahead off for every download until a restart. Now such an override is
 * a 400 (a control character) or sent as its UTF-8 bytes, as S3 sends it; a
 * download reads ahead only once its client reads; and a body whose answer
 * failed is cancelled.
 *
 * The slots are not visible from outside the router, so the test counts what
 * the vault reads (`rchar` in /proc/<pid>/io): four downloads whose clients
 * read nothing make the store read what their sockets take and a batch ahead
 * each. Without the batch ahead, about 4 MiB less.
 *
 * @module
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  assertErrorResponse,
  assertOk,
  randomBytes,
  signedFetch,
  vaultSuite,
} from "../helpers/assert_s3.ts";
import type { TestVault } from "../helpers/vault.ts";
import type { S3Client } from "@aws-sdk/client-s3";

const MIB = 1024 * 1024;
const B = "read-ahead-leak";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bytes the vault process has read so far (files and sockets). */
async function rchar(pid: number): Promise<number> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/io`] }).output();
  return Number(/rchar:\s+(\d+)/.exec(new TextDecoder().decode(out.stdout))![1]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** MiB the vault reads for four downloads whose clients read nothing (the store's batches). */
async function stalledReads(v: TestVault, s3: S3Client): Promise<number> {
  await sleep(300);
  const before = await rchar(v.pid);
  const stalled = await Promise.all(
    Array.from({ length: 4 }, () => signedFetch(v, s3, { method: "GET", path: `/${B}/big` })),
  );
  await sleep(1500); // every download reads what its socket takes, and a batch ahead
  const read = (await rchar(v.pid)) - before;
  for (const r of stalled) await r.body?.cancel();
  return read / MIB;
}

/** Runs `bad` eight times and checks that stalled downloads still read a batch ahead. */
async function leaves(v: TestVault, s3: S3Client, bad: () => Promise<Response>): Promise<void> {
  const before = [await stalledReads(v, s3), await stalledReads(v, s3), await stalledReads(v, s3)];
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) {
    const res = await bad();
    statuses.push(res.status);
    await res.body?.cancel();
  }
  const after = [await stalledReads(v, s3), await stalledReads(v, s3), await stalledReads(v, s3)];
  console.log(
    `bad requests answered ${statuses.join(" ")}; four stalled downloads read ` +
      `${before.map((x) => x.toFixed(2))} MiB before, ${after.map((x) => x.toFixed(2))} MiB after`,
  );
  assertOk(
    median(after) > median(before) - 2,
    `downloads no longer read ahead: ${median(before).toFixed(2)} -> ${
      median(after).toFixed(2)
    } MiB ` +
      `(the 8 read-ahead slots leaked)`,
  );
}

vaultSuite("GetObject - a presigned link naming a file past Latin-1", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: "big", Body: randomBytes(48 * MIB, 7) }));
  const url = await getSignedUrl(
    s3,
    new GetObjectCommand({
      Bucket: B,
      Key: "big",
      ResponseContentDisposition: 'attachment; filename="報告.pdf"',
    }),
  );

  await t.step("eight such downloads leave read-ahead as it was", async () => {
    await leaves(vault, s3, () => fetch(url));
  });

  await t.step("such a download is served, the file name sent as its UTF-8 bytes", async () => {
    const res = await fetch(url);
    const bytes = new Uint8Array(await res.arrayBuffer());
    assertOk(res.status === 200 && bytes.length === 48 * MIB, `status ${res.status}`);
    const raw = res.headers.get("content-disposition") ?? "";
    const name = new TextDecoder().decode(Uint8Array.from(raw, (c) => c.charCodeAt(0)));
    assertOk(
      name === 'attachment; filename="報告.pdf"',
      `content-disposition ${JSON.stringify(raw)}`,
    );
  });
});

vaultSuite("GetObject - a response-* override with a line break", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: "big", Body: randomBytes(48 * MIB, 7) }));
  const bad = () =>
    signedFetch(vault, s3, {
      method: "GET",
      path: `/${B}/big`,
      query: { "response-content-type": "text/plain\nx" },
    });

  await t.step("eight bad response-content-type GETs leave read-ahead as it was", async () => {
    await leaves(vault, s3, bad);
  });

  await t.step("a response-* override a header cannot carry is 400 InvalidArgument", async () => {
    await assertErrorResponse(await bad(), "InvalidArgument", 400);
  });
});
