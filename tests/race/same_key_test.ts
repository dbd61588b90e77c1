/**
 * Races between S3 operations on one key, with a collection every second and
 * no grace: conditional writes, concurrent PUTs (versioned and not),
 * multipart races. The end state is checked: every acknowledged object reads
 * back, reference counts match the manifests, the scrubber finds nothing.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";
import {
  assertBytesEqual,
  assertEquals,
  assertOk,
  bodyBytes,
  md5Hex,
  randomBytes,
} from "../helpers/assert_s3.ts";
import { scrubViaAdmin } from "../helpers/scrub_admin.ts";
import { checkDataDir } from "./check.ts";

const KIB = 1024;
const MIB = 1024 * KIB;

async function get(s3: S3Client, Bucket: string, Key: string, VersionId?: string) {
  const r = await s3.send(new GetObjectCommand({ Bucket, Key, VersionId }));
  return await bodyBytes(r.Body);
}

function errName(e: unknown): string {
  return (e as { name?: string }).name ?? String(e);
}

Deno.test({
  name:
    "Races on one key - conditional writes, concurrent PUTs, multipart, copies (GC every second, no grace)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const vault = await startVault({ env: { AMBER_GC_INTERVAL: "1", AMBER_GC_GRACE: "0" } });
    const s3 = s3For(vault);
    const errors: string[] = [];
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "race-u" }));
      await s3.send(new CreateBucketCommand({ Bucket: "race-v" }));
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: "race-v",
          VersioningConfiguration: { Status: "Enabled" },
        }),
      );

      await t.step(
        "If-None-Match * from 24 clients (chunked and inline bodies): one winner",
        async () => {
          for (
            const [bucket, size] of [["race-u", 64 * KIB], ["race-v", 64 * KIB], ["race-u", 100], [
              "race-v",
              100,
            ]] as const
          ) {
            for (let round = 0; round < 5; round++) {
              const key = `inm-${size}-${round}`;
              const bodies = Array.from(
                { length: 24 },
                (_, i) => randomBytes(size, 1000 + round * 100 + i),
              );
              const rs = await Promise.allSettled(
                bodies.map((Body) =>
                  s3.send(
                    new PutObjectCommand({ Bucket: bucket, Key: key, Body, IfNoneMatch: "*" }),
                  )
                ),
              );
              const won = rs.map((r, i) => [r, i] as const).filter(([r]) =>
                r.status === "fulfilled"
              );
              assertEquals(won.length, 1, `${bucket}/${key}: winners`);
              for (const r of rs) {
                if (r.status === "rejected") {
                  assertOk(
                    ["PreconditionFailed", "ConditionalRequestConflict"].includes(
                      errName(r.reason),
                    ),
                    errName(r.reason),
                  );
                }
              }
              assertBytesEqual(await get(s3, bucket, key), bodies[won[0][1]], key);
              if (bucket === "race-v") {
                const lv = await s3.send(
                  new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }),
                );
                assertEquals(lv.Versions?.length, 1, "one version");
              }
            }
          }
        },
      );

      await t.step(
        "If-Match compare-and-swap: no two writers succeed against one ETag",
        async () => {
          for (const bucket of ["race-u", "race-v"]) {
            const key = "cas";
            let seed = 5000;
            const first = randomBytes(32 * KIB, seed++);
            await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: first }));
            const successes: { from: string; to: string }[] = [];
            const bodies = new Map<string, Uint8Array>([[md5Hex(first), first]]);
            const worker = async (w: number) => {
              for (let i = 0; i < 12; i++) {
                const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
                const from = h.ETag!.replace(/"/g, "");
                const body = randomBytes(32 * KIB, seed++ * 31 + w);
                const to = md5Hex(body);
                bodies.set(to, body);
                try {
                  await s3.send(
                    new PutObjectCommand({
                      Bucket: bucket,
                      Key: key,
                      Body: body,
                      IfMatch: `"${from}"`,
                    }),
                  );
                  successes.push({ from, to });
                } catch (e) {
                  if (
                    !["PreconditionFailed", "ConditionalRequestConflict"].includes(errName(e))
                  ) throw e;
                }
              }
            };
            await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
            const froms = new Set(successes.map((s) => s.from));
            assertEquals(froms.size, successes.length, "each ETag was swapped from at most once");
            // The successes form one chain from the first body to the current one.
            const next = new Map(successes.map((s) => [s.from, s.to]));
            let at = md5Hex(first);
            let n = 0;
            while (next.has(at)) {
              at = next.get(at)!;
              n++;
            }
            assertEquals(n, successes.length, "the swaps form one chain");
            const cur = await get(s3, bucket, key);
            assertEquals(md5Hex(cur), at, "the object is the chain's end");
            if (bucket === "race-v") {
              const lv = await s3.send(
                new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }),
              );
              assertEquals(lv.Versions?.length, successes.length + 1, "one version per success");
            }
          }
        },
      );

      await t.step(
        "Concurrent PUTs to one key: versioned keeps every acked version; latest is the last acked",
        async () => {
          for (const bucket of ["race-u", "race-v"]) {
            for (let round = 0; round < 4; round++) {
              const key = `many-${round}`;
              // Some bodies share chunks with each other (dedup) and with the previous overwrites.
              const shared = randomBytes(256 * KIB, 77);
              const bodies = Array.from({ length: 16 }, (_, i) => {
                const b = new Uint8Array(256 * KIB + (i % 4) * 64 * KIB);
                b.set(i % 2 === 0 ? shared : randomBytes(256 * KIB, 9000 + round * 100 + i));
                b.set(randomBytes(b.length - 256 * KIB, 7000 + round * 100 + i), 256 * KIB);
                return b;
              });
              const acked: { i: number; versionId?: string; at: number }[] = [];
              await Promise.all(bodies.map(async (Body, i) => {
                const r = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body }));
                acked.push({ i, versionId: r.VersionId, at: performance.now() });
              }));
              assertEquals(acked.length, 16);
              const cur = await get(s3, bucket, key);
              // The current one is one of the bodies; in a versioned bucket it is the newest version.
              assertOk(
                bodies.some((b) => b.length === cur.length && md5Hex(b) === md5Hex(cur)),
                "current is one of the bodies",
              );
              if (bucket === "race-v") {
                const lv = await s3.send(
                  new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }),
                );
                assertEquals(lv.Versions?.length, 16, "every acked version is kept");
                for (const a of acked) {
                  assertBytesEqual(
                    await get(s3, bucket, key, a.versionId),
                    bodies[a.i],
                    `version ${a.i}`,
                  );
                }
                const latest = lv.Versions!.find((v) => v.IsLatest)!;
                const last = acked[acked.length - 1];
                assertEquals(latest.VersionId, last.versionId, "the last acknowledged is latest");
              }
            }
          }
        },
      );

      await t.step(
        "Multipart: same part number raced, Complete vs Abort, two Completes with different lists",
        async () => {
          for (let round = 0; round < 6; round++) {
            const key = `mp-${round}`;
            const up = await s3.send(
              new CreateMultipartUploadCommand({ Bucket: "race-v", Key: key }),
            );
            const p1a = randomBytes(5 * MIB, 100 + round);
            const p1b = randomBytes(5 * MIB, 200 + round);
            const p2 = randomBytes(MIB, 300 + round);
            const [ra, rb, r2] = await Promise.all([
              s3.send(
                new UploadPartCommand({
                  Bucket: "race-v",
                  Key: key,
                  UploadId: up.UploadId,
                  PartNumber: 1,
                  Body: p1a,
                }),
              ),
              s3.send(
                new UploadPartCommand({
                  Bucket: "race-v",
                  Key: key,
                  UploadId: up.UploadId,
                  PartNumber: 1,
                  Body: p1b,
                }),
              ),
              s3.send(
                new UploadPartCommand({
                  Bucket: "race-v",
                  Key: key,
                  UploadId: up.UploadId,
                  PartNumber: 2,
                  Body: p2,
                }),
              ),
            ]);
            const completes = [ra, rb].map((r) =>
              s3.send(
                new CompleteMultipartUploadCommand({
                  Bucket: "race-v",
                  Key: key,
                  UploadId: up.UploadId,
                  MultipartUpload: {
                    Parts: [{ PartNumber: 1, ETag: r.ETag }, { PartNumber: 2, ETag: r2.ETag }],
                  },
                }),
              )
            );
            const abort = s3.send(
              new AbortMultipartUploadCommand({
                Bucket: "race-v",
                Key: key,
                UploadId: up.UploadId,
              }),
            );
            const single = s3.send(
              new CompleteMultipartUploadCommand({
                Bucket: "race-v",
                Key: key,
                UploadId: up.UploadId,
                MultipartUpload: { Parts: [{ PartNumber: 2, ETag: r2.ETag }] },
              }),
            );
            const rs = await Promise.allSettled([...completes, abort, single]);
            const ok = rs.filter((r) => r.status === "fulfilled").length;
            assertOk(
              ok <= 1,
              `at most one of complete/abort succeeds: ${
                rs.map((r) => r.status === "fulfilled" ? "ok" : errName(r.reason))
              }`,
            );
            const lv = await s3.send(
              new ListObjectVersionsCommand({ Bucket: "race-v", Prefix: key }),
            );
            if (rs[0].status === "fulfilled" || rs[1].status === "fulfilled") {
              const cur = await get(s3, "race-v", key);
              const want = new Uint8Array(6 * MIB);
              want.set(rs[0].status === "fulfilled" ? p1a : p1b);
              want.set(p2, 5 * MIB);
              // The part that is there is the one with the ETag the winner named.
              assertBytesEqual(cur, want, "completed object");
              assertEquals(lv.Versions?.length, 1);
            } else if (rs[3].status === "fulfilled") {
              assertBytesEqual(await get(s3, "race-v", key), p2, "single-part complete");
            } else {
              assertEquals(lv.Versions?.length ?? 0, 0);
            }
          }
        },
      );

      await t.step(
        "UploadPartCopy and CopyObject while the source is overwritten or deleted",
        async () => {
          for (let round = 0; round < 8; round++) {
            const src = `src-${round}`;
            const a = randomBytes(2 * MIB, 400 + round);
            const b = randomBytes(2 * MIB, 500 + round);
            await s3.send(new PutObjectCommand({ Bucket: "race-u", Key: src, Body: a }));
            const up = await s3.send(
              new CreateMultipartUploadCommand({ Bucket: "race-u", Key: `upc-${round}` }),
            );
            const ops = await Promise.allSettled([
              s3.send(
                new UploadPartCopyCommand({
                  Bucket: "race-u",
                  Key: `upc-${round}`,
                  UploadId: up.UploadId,
                  PartNumber: 1,
                  CopySource: `race-u/${src}`,
                }),
              ),
              s3.send(
                new CopyObjectCommand({
                  Bucket: "race-u",
                  Key: `copy-${round}`,
                  CopySource: `race-u/${src}`,
                }),
              ),
              round % 2 === 0
                ? s3.send(new PutObjectCommand({ Bucket: "race-u", Key: src, Body: b }))
                : s3.send(new DeleteObjectCommand({ Bucket: "race-u", Key: src })),
              s3.send(
                new UploadPartCopyCommand({
                  Bucket: "race-u",
                  Key: `upc-${round}`,
                  UploadId: up.UploadId,
                  PartNumber: 2,
                  CopySource: `race-u/${src}`,
                  CopySourceRange: "bytes=0-1048575",
                }),
              ),
            ]);
            await new Promise((r) => setTimeout(r, 1200)); // a collection runs
            if (ops[1].status === "fulfilled") {
              const c = await get(s3, "race-u", `copy-${round}`);
              assertOk(md5Hex(c) === md5Hex(a) || md5Hex(c) === md5Hex(b), "copy is a or b");
            }
            if (ops[0].status === "fulfilled") {
              const parts = [{
                PartNumber: 1,
                ETag: (ops[0].value as { CopyPartResult?: { ETag?: string } }).CopyPartResult!.ETag,
              }];
              const done = await s3.send(
                new CompleteMultipartUploadCommand({
                  Bucket: "race-u",
                  Key: `upc-${round}`,
                  UploadId: up.UploadId,
                  MultipartUpload: { Parts: parts },
                }),
              ).catch((e) => e);
              if (!(done instanceof Error)) {
                const c = await get(s3, "race-u", `upc-${round}`);
                assertOk(md5Hex(c) === md5Hex(a) || md5Hex(c) === md5Hex(b), "part copy is a or b");
              }
            } else {
              await s3.send(
                new AbortMultipartUploadCommand({
                  Bucket: "race-u",
                  Key: `upc-${round}`,
                  UploadId: up.UploadId,
                }),
              );
            }
            for (const o of ops) {
              if (o.status === "rejected") {
                errors.push(`copy round ${round}: ${errName(o.reason)}`);
              }
            }
          }
        },
      );

      await t.step(
        "CompleteMultipartUpload and CopyObject with If-None-Match * from many clients: one winner",
        async () => {
          for (let round = 0; round < 4; round++) {
            const key = `mp-inm-${round}`;
            const ups = await Promise.all(Array.from({ length: 6 }, async (_, i) => {
              const up = await s3.send(
                new CreateMultipartUploadCommand({ Bucket: "race-v", Key: key }),
              );
              const body = randomBytes(256 * KIB, 8000 + round * 10 + i);
              const p = await s3.send(
                new UploadPartCommand({
                  Bucket: "race-v",
                  Key: key,
                  UploadId: up.UploadId,
                  PartNumber: 1,
                  Body: body,
                }),
              );
              return { up, p, body };
            }));
            await s3.send(
              new PutObjectCommand({
                Bucket: "race-u",
                Key: `cpsrc-${round}`,
                Body: randomBytes(64 * KIB, 8500 + round),
              }),
            );
            const rs = await Promise.allSettled([
              ...ups.map(({ up, p }) =>
                s3.send(
                  new CompleteMultipartUploadCommand({
                    Bucket: "race-v",
                    Key: key,
                    UploadId: up.UploadId,
                    IfNoneMatch: "*",
                    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.ETag }] },
                  }),
                )
              ),
              ...Array.from(
                { length: 3 },
                () =>
                  s3.send(
                    new CopyObjectCommand({
                      Bucket: "race-v",
                      Key: key,
                      CopySource: `race-u/cpsrc-${round}`,
                      IfNoneMatch: "*",
                    }),
                  ),
              ),
              s3.send(
                new PutObjectCommand({
                  Bucket: "race-v",
                  Key: key,
                  Body: randomBytes(64 * KIB, 8600 + round),
                  IfNoneMatch: "*",
                }),
              ),
            ]);
            const won = rs.filter((r) => r.status === "fulfilled").length;
            assertEquals(
              won,
              1,
              `one winner: ${rs.map((r) => r.status === "fulfilled" ? "ok" : errName(r.reason))}`,
            );
            const lv = await s3.send(
              new ListObjectVersionsCommand({ Bucket: "race-v", Prefix: key }),
            );
            assertEquals(lv.Versions?.length, 1, "one version");
            const i = rs.findIndex((r) => r.status === "fulfilled");
            if (i < 6) {
              assertBytesEqual(await get(s3, "race-v", key), ups[i].body, "winner's bytes");
            }
            for (const [j, u] of ups.entries()) {
              if (j !== i) {
                await s3.send(
                  new AbortMultipartUploadCommand({
                    Bucket: "race-v",
                    Key: key,
                    UploadId: u.up.UploadId,
                  }),
                );
              }
            }
          }
        },
      );

      await t.step("end state: scrub and reference counts", async () => {
        await new Promise((r) => setTimeout(r, 3500)); // collections run with nothing in flight
        const pass = await scrubViaAdmin(vault);
        console.log("scrub", JSON.stringify(pass));
      });
    } finally {
      s3.destroy();
      await vault.stop();
    }
    console.log("tolerated errors:", errors);
    const report = checkDataDir(vault.dataDir);
    console.log(
      `index: ${report.chunks} chunks, ${report.refs} refs, ${report.unreferenced} unreferenced in the store`,
    );
    assertEquals(report.problems, [], "index consistent");
    await Deno.remove(vault.dataDir, { recursive: true });
  },
});
