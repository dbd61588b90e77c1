/**
 * Upload windows, the minimum interval between versions of a key, and
 * backup-freshness health against a real vault.
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
import {
  assertEquals,
  assertOk,
  assertS3Error,
  bodyBytes,
  randomBytes,
  vaultSuite,
} from "../helpers/assert_s3.ts";
import { metric, setPolicy, sleep } from "./helpers.ts";

const MIB = 1024 * 1024;

/** A daily one-hour window starting twelve hours from now: it excludes now. */
function windowAwayFromNow(): { cron: string; durationMinutes: number } {
  return { cron: `0 ${(new Date().getUTCHours() + 12) % 24} * * *`, durationMinutes: 60 };
}

interface HealthBody {
  state: string;
  reasons: string[];
  freshness: { prefix: string; state: string; lastBackupBytes?: number; dueAt: string }[];
  buckets?: { bucket: string; state: string }[];
  usage?: { objects: number };
}

async function health(endpoint: string, bucket?: string): Promise<[number, HealthBody]> {
  const res = await fetch(`${endpoint}/health/buckets${bucket ? `/${bucket}` : ""}`);
  return [res.status, await res.json()];
}

vaultSuite("Upload windows, version interval and freshness", async ({ t, vault, s3 }) => {
  await t.step(
    "PutObject - outside the upload window is refused with AccessDenied naming the window",
    async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "nightly" }));
      await s3.send(new PutObjectCommand({ Bucket: "nightly", Key: "before", Body: "kept" }));
      const window = windowAwayFromNow();
      await setPolicy(vault, s3, "nightly", { uploadWindows: [window] });
      const e = await assertS3Error(
        s3.send(new PutObjectCommand({ Bucket: "nightly", Key: "k", Body: "x" })),
        "AccessDenied",
        403,
      );
      assertOk(e.message.includes(`"${window.cron}" for 60 min`), e.message);
      assertOk(e.message.includes("the next opens at"), e.message);
      await assertS3Error(
        s3.send(new CreateMultipartUploadCommand({ Bucket: "nightly", Key: "mpu" })),
        "AccessDenied",
        403,
      );
      // Deletes are writes too: a stolen key cannot add delete markers or drop objects at noon.
      await assertS3Error(
        s3.send(new DeleteObjectCommand({ Bucket: "nightly", Key: "before" })),
        "AccessDenied",
        403,
      );
      // Reads are not windowed.
      const got = await s3.send(new GetObjectCommand({ Bucket: "nightly", Key: "before" }));
      assertEquals(new TextDecoder().decode(await bodyBytes(got.Body)), "kept");
    },
  );

  await t.step("PutObject - inside an upload window is accepted", async () => {
    await setPolicy(vault, s3, "nightly", {
      uploadWindows: [windowAwayFromNow(), { cron: "* * * * *", durationMinutes: 1 }],
    });
    await s3.send(new PutObjectCommand({ Bucket: "nightly", Key: "k", Body: "x" }));
  });

  await t.step(
    "PutObject - a new version sooner than minVersionIntervalSeconds is refused",
    async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "slow" }));
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: "slow",
          VersioningConfiguration: { Status: "Enabled" },
        }),
      );
      await setPolicy(vault, s3, "slow", { minVersionIntervalSeconds: 3600 });
      await s3.send(new PutObjectCommand({ Bucket: "slow", Key: "index", Body: "v1" }));
      const e = await assertS3Error(
        s3.send(new PutObjectCommand({ Bucket: "slow", Key: "index", Body: "v2" })),
        "AccessDenied",
        403,
      );
      assertOk(e.message.includes("allows one every 3600 s"), e.message);
      // Other keys are free, and a multipart upload of the same key is refused as it starts.
      await s3.send(new PutObjectCommand({ Bucket: "slow", Key: "other", Body: "o" }));
      await assertS3Error(
        s3.send(new CreateMultipartUploadCommand({ Bucket: "slow", Key: "index" })),
        "AccessDenied",
        403,
      );
      const got = await s3.send(new GetObjectCommand({ Bucket: "slow", Key: "index" }));
      assertEquals(new TextDecoder().decode(await bodyBytes(got.Body)), "v1");
    },
  );

  await t.step(
    "CompleteMultipartUpload - refused when another version landed within the interval",
    async () => {
      await setPolicy(vault, s3, "slow", { minVersionIntervalSeconds: 3600 });
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: "slow", Key: "race" }),
      );
      const p = await s3.send(
        new UploadPartCommand({
          Bucket: "slow",
          Key: "race",
          UploadId,
          PartNumber: 1,
          Body: "part",
        }),
      );
      await s3.send(new PutObjectCommand({ Bucket: "slow", Key: "race", Body: "first" }));
      await assertS3Error(
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: "slow",
            Key: "race",
            UploadId,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.ETag }] },
          }),
        ),
        "AccessDenied",
        403,
      );
    },
  );

  await t.step(
    "GET /health/buckets/{bucket} - late when no backup arrives within the cadence",
    async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "late" }));
      // One backup of at least 1 KiB under db/ every 1.5 s.
      await setPolicy(vault, s3, "late", {
        freshness: [{ prefix: "db/", everyHours: 1.5 / 3600, minBytes: 1024 }],
      });
      const [okStatus, fresh] = await health(vault.endpoint, "late");
      assertEquals([okStatus, fresh.state], [200, "ok"], JSON.stringify(fresh));
      await sleep(2000);
      const [status, body] = await health(vault.endpoint, "late");
      assertEquals([status, body.state], [503, "late"], JSON.stringify(body));
      assertOk(body.reasons[0].includes('under "db/"'), body.reasons[0]);
      assertOk(body.reasons[0].includes("none has arrived"), body.reasons[0]);
      assertEquals(await metric(vault, 'amber_bucket_health{bucket="late",state="late"}'), 1);
      assertEquals(
        await metric(vault, 'amber_bucket_backup_age_seconds{bucket="late",prefix="db/"}'),
        -1,
      );
    },
  );

  await t.step(
    "GET /health/buckets/{bucket} - too-small when only small objects arrive, ok after a full one",
    async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "small" }));
      await setPolicy(vault, s3, "small", {
        freshness: [{ prefix: "db/", everyHours: 4 / 3600, minBytes: 1024 }],
      });
      const set = Date.now();
      await sleep(3000);
      await s3.send(new PutObjectCommand({ Bucket: "small", Key: "db/tiny", Body: "small" }));
      // An object elsewhere counts for nothing.
      await s3.send(
        new PutObjectCommand({ Bucket: "small", Key: "logs/big", Body: randomBytes(4096) }),
      );
      await sleep(Math.max(0, set + 4500 - Date.now()));
      const [status, body] = await health(vault.endpoint, "small");
      assertEquals([status, body.state], [503, "too-small"], JSON.stringify(body));
      assertOk(body.reasons[0].includes("smaller"), body.reasons[0]);

      await s3.send(
        new PutObjectCommand({ Bucket: "small", Key: "db/full", Body: randomBytes(2048) }),
      );
      const [okStatus, ok] = await health(vault.endpoint, "small");
      assertEquals([okStatus, ok.state, ok.reasons], [200, "ok", []], JSON.stringify(ok));
      assertEquals(ok.freshness[0].lastBackupBytes, 2048);
      const age = await metric(
        vault,
        'amber_bucket_backup_age_seconds{bucket="small",prefix="db/"}',
      );
      assertOk(age !== undefined && age >= 0 && age < 5, String(age));
    },
  );

  await t.step("GET /health/buckets/{bucket} - over-quota above the soft limit", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "full" }));
    await setPolicy(vault, s3, "full", { quota: { softBytes: 1 * MIB, hardBytes: 4 * MIB } });
    await s3.send(new PutObjectCommand({ Bucket: "full", Key: "a", Body: randomBytes(2 * MIB) }));
    const [status, body] = await health(vault.endpoint, "full");
    assertEquals([status, body.state], [503, "over-quota"], JSON.stringify(body));
    assertOk(body.reasons[0].includes("soft quota"), body.reasons[0]);
  });

  await t.step(
    "GET /health/buckets - every bucket, the most urgent state first, no object names",
    async () => {
      const res = await fetch(`${vault.endpoint}/health/buckets`);
      const text = await res.text();
      const body = JSON.parse(text) as HealthBody;
      assertEquals([res.status, body.state], [503, "late"]);
      const states = Object.fromEntries(body.buckets!.map((b) => [b.bucket, b.state]));
      assertEquals(Object.keys(states), ["full", "late", "nightly", "slow", "small"]);
      assertEquals([states.full, states.late, states.nightly], ["over-quota", "late", "ok"]);
      for (const name of ["db/tiny", "db/full", "logs/big", "index"]) {
        assertOk(!text.includes(name), `health names object "${name}"`);
      }
      const missing = await fetch(`${vault.endpoint}/health/buckets/nope`);
      assertEquals([missing.status, (await missing.json()).error.code], [404, "NoSuchBucket"]);
    },
  );
});
