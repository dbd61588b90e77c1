/**
 * Races on buckets, Object Lock and versioning toggles, and GC against a PUT
 * that deduplicates against chunks being collected (review C). Expected to pass.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";
import {
  assertBytesEqual,
  assertEquals,
  assertOk,
  bodyBytes,
  md5Base64,
  randomBytes,
} from "../helpers/assert_s3.ts";
import { scrubViaAdmin } from "../helpers/scrub_admin.ts";
import { checkDataDir } from "./check.ts";

const MIB = 1024 * 1024;
const name = (e: unknown) => (e as { name?: string }).name ?? String(e);
async function get(s3: S3Client, Bucket: string, Key: string, VersionId?: string) {
  return await bodyBytes((await s3.send(new GetObjectCommand({ Bucket, Key, VersionId }))).Body);
}

Deno.test({
  name: "Races on buckets, locks, versioning and GC - end state consistent",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const vault = await startVault({ env: { AMBER_GC_INTERVAL: "1", AMBER_GC_GRACE: "0" } });
    const s3 = s3For(vault);
    try {
      await t.step("CreateBucket raced 16 times: one winner", async () => {
        for (let r = 0; r < 5; r++) {
          const rs = await Promise.allSettled(
            Array.from(
              { length: 16 },
              () => s3.send(new CreateBucketCommand({ Bucket: `cb-${r}` })),
            ),
          );
          assertEquals(rs.filter((x) => x.status === "fulfilled").length, 1);
        }
      });

      await t.step(
        "DeleteBucket racing PutObject: no PUT acknowledged into a deleted bucket",
        async () => {
          for (let r = 0; r < 10; r++) {
            const b = `db-${r}`;
            await s3.send(new CreateBucketCommand({ Bucket: b }));
            const puts = Array.from({ length: 6 }, (_, i) =>
              s3.send(
                new PutObjectCommand({
                  Bucket: b,
                  Key: `k${i}`,
                  Body: randomBytes(i % 2 ? 64 * 1024 : 100, r * 10 + i),
                }),
              ));
            const del = s3.send(new DeleteBucketCommand({ Bucket: b }));
            const rs = await Promise.allSettled(puts);
            const d = await del.then(() => "ok", name);
            const acked = rs.filter((x) => x.status === "fulfilled").length;
            if (d === "ok") assertEquals(acked, 0, "bucket deleted, yet PUTs acknowledged");
            else {
              for (let i = 0; i < 6; i++) {
                if (rs[i].status === "fulfilled") await get(s3, b, `k${i}`);
              }
            }
          }
        },
      );

      await t.step(
        "Object Lock: retention changes and legal hold racing version deletes",
        async () => {
          const L = "lockrace";
          await s3.send(new CreateBucketCommand({ Bucket: L, ObjectLockEnabledForBucket: true }));
          for (let r = 0; r < 10; r++) {
            const body = randomBytes(64 * 1024, 900 + r);
            const until = new Date(Date.now() + 3600_000);
            const p = await s3.send(
              new PutObjectCommand({
                Bucket: L,
                Key: `k${r}`,
                Body: body,
                ContentMD5: md5Base64(body),
                ObjectLockMode: "COMPLIANCE",
                ObjectLockRetainUntilDate: until,
              }),
            );
            const v = p.VersionId!;
            // Try to shorten, to remove, to flip legal hold, and delete the version, all at once.
            const rs = await Promise.allSettled([
              s3.send(
                new PutObjectRetentionCommand({
                  Bucket: L,
                  Key: `k${r}`,
                  VersionId: v,
                  Retention: { Mode: "GOVERNANCE", RetainUntilDate: new Date(Date.now() + 1000) },
                }),
              ),
              s3.send(
                new PutObjectRetentionCommand({
                  Bucket: L,
                  Key: `k${r}`,
                  VersionId: v,
                  BypassGovernanceRetention: true,
                  Retention: {},
                }),
              ),
              s3.send(
                new PutObjectLegalHoldCommand({
                  Bucket: L,
                  Key: `k${r}`,
                  VersionId: v,
                  LegalHold: { Status: "ON" },
                }),
              ),
              s3.send(
                new PutObjectLegalHoldCommand({
                  Bucket: L,
                  Key: `k${r}`,
                  VersionId: v,
                  LegalHold: { Status: "OFF" },
                }),
              ),
              s3.send(
                new DeleteObjectCommand({
                  Bucket: L,
                  Key: `k${r}`,
                  VersionId: v,
                  BypassGovernanceRetention: true,
                }),
              ),
              s3.send(new DeleteObjectCommand({ Bucket: L, Key: `k${r}`, VersionId: v })),
            ]);
            assertEquals([0, 1, 4, 5].map((i) => rs[i].status), [
              "rejected",
              "rejected",
              "rejected",
              "rejected",
            ], "COMPLIANCE holds");
            assertBytesEqual(await get(s3, L, `k${r}`, v), body, "locked version survives");
            // GOVERNANCE: a legal hold set concurrently with a bypassing delete: either the delete wins first, or the version stays.
            const g = await s3.send(
              new PutObjectCommand({
                Bucket: L,
                Key: `g${r}`,
                Body: body,
                ContentMD5: md5Base64(body),
                ObjectLockMode: "GOVERNANCE",
                ObjectLockRetainUntilDate: until,
              }),
            );
            const [hold, del] = await Promise.allSettled([
              s3.send(
                new PutObjectLegalHoldCommand({
                  Bucket: L,
                  Key: `g${r}`,
                  VersionId: g.VersionId,
                  LegalHold: { Status: "ON" },
                }),
              ),
              s3.send(
                new DeleteObjectCommand({
                  Bucket: L,
                  Key: `g${r}`,
                  VersionId: g.VersionId,
                  BypassGovernanceRetention: true,
                }),
              ),
            ]);
            assertOk(!(hold.status === "fulfilled" && del.status === "fulfilled" && false));
            const exists = await get(s3, L, `g${r}`, g.VersionId).then(() => true, () => false);
            assertEquals(
              exists,
              del.status !== "fulfilled",
              "version exists iff the delete was refused",
            );
          }
        },
      );

      await t.step("Versioning toggled while PUTs run: no acknowledged version lost", async () => {
        const B = "toggle";
        await s3.send(new CreateBucketCommand({ Bucket: B }));
        await s3.send(
          new PutBucketVersioningCommand({
            Bucket: B,
            VersioningConfiguration: { Status: "Enabled" },
          }),
        );
        const acked: { vid?: string; body: Uint8Array }[] = [];
        let stop = false;
        const toggler = (async () => {
          let on = false;
          while (!stop) {
            await s3.send(
              new PutBucketVersioningCommand({
                Bucket: B,
                VersioningConfiguration: { Status: on ? "Enabled" : "Suspended" },
              }),
            );
            on = !on;
          }
        })();
        await Promise.all(Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; i < 15; i++) {
            const body = randomBytes(20 * 1024, 3000 + w * 100 + i);
            const r = await s3.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: body }));
            acked.push({ vid: r.VersionId, body });
          }
        }));
        stop = true;
        await toggler;
        const lv = await s3.send(new ListObjectVersionsCommand({ Bucket: B }));
        const ids = new Set(lv.Versions!.map((v) => v.VersionId));
        for (const a of acked) {
          if (a.vid && a.vid !== "null") {
            assertOk(ids.has(a.vid), `version ${a.vid} kept`);
            assertBytesEqual(await get(s3, B, "k", a.vid), a.body, "version bytes");
          }
        }
        assertOk(
          lv.Versions!.filter((v) => v.VersionId === "null").length <= 1,
          "one null version",
        );
      });

      await t.step("GC racing delete + PUT of the same content", async () => {
        const B = "gcdedup";
        await s3.send(new CreateBucketCommand({ Bucket: B }));
        for (let r = 0; r < 20; r++) {
          const body = randomBytes(3 * MIB, 7000 + (r % 3));
          await s3.send(new PutObjectCommand({ Bucket: B, Key: `a${r}`, Body: body }));
          await new Promise((res) => setTimeout(res, 300 + (r % 5) * 150));
          await Promise.all([
            s3.send(new DeleteObjectCommand({ Bucket: B, Key: `a${r}` })),
            s3.send(new PutObjectCommand({ Bucket: B, Key: `b${r}`, Body: body })),
          ]);
          if (r % 4 === 0) await new Promise((res) => setTimeout(res, 1100));
        }
        await new Promise((res) => setTimeout(res, 2500));
        for (let r = 0; r < 20; r++) {
          assertBytesEqual(
            await get(s3, B, `b${r}`),
            randomBytes(3 * MIB, 7000 + (r % 3)),
            `b${r}`,
          );
        }
        const pass = await scrubViaAdmin(vault);
        assertEquals(
          [pass.unrecoverable, pass.refMismatches, pass.found],
          [0, 0, 0],
          JSON.stringify(pass.findings),
        );
      });
    } finally {
      s3.destroy();
      await vault.stop();
    }
    const report = checkDataDir(vault.dataDir);
    assertEquals(report.problems, [], "index consistent");
    await Deno.remove(vault.dataDir, { recursive: true });
  },
});
