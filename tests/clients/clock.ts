/**
 * The trusted clock against a real clock change: the vault is restarted under
 * libfaketime ten years in the future, and a COMPLIANCE version locked for a
 * day still cannot be deleted; the jump is audited, and only an approver's
 * signed time attestation moves the trusted clock on, after which the lock
 * has really expired. And the ransomware signal for writes at an unusual
 * hour, which needs the hour of day to move. And long downtimes: a default
 * retention written while trusted time lags the real time still ends its
 * period after the version's Last-Modified, also once the time is attested.
 *
 * @module
 */

import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { DatabaseSync } from "node:sqlite";
import { signApproval } from "../../src/retention/mod.ts";
import { assertEquals, assertOk, bodyBytes, signedFetch } from "../helpers/assert_s3.ts";
import { startVault, type TestVault } from "../helpers/vault.ts";
import { check, type Suite, type Target } from "./lib.ts";

const TEN_YEARS = "+3650d";
const TEN_YEARS_MS = 3650 * 86_400_000;
const SIX_HOURS = "+6h";
const SIX_HOURS_MS = 6 * 3_600_000;
const OPERATOR_SECRET = "operator-attestation-secret";
/** Debian's libfaketime (package `faketime`). */
const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/**
 * Builds the clock suite (its own vaults; it needs Debian's `faketime`).
 *
 * @param _t Unused: the suite starts its own vault, since it restarts it under a moved clock.
 * @returns The suite.
 */
export function clockSuite(_t: Target): Suite {
  return {
    client: "faketime",
    bin: "faketime",
    pkg: "faketime",
    cases: [
      {
        name:
          "Trusted clock - ten years forward across a restart: a COMPLIANCE delete is refused until a signed attestation",
        async fn() {
          const env = {
            AMBER_MAX_CLOCK_JUMP: "3600",
            AMBER_APPROVERS: `operator=hmac:${OPERATOR_SECRET}`,
          };
          const first = await startVault({ env });
          let s3 = clientAt(first, 0);
          await s3.send(
            new CreateBucketCommand({ Bucket: "clock", ObjectLockEnabledForBucket: true }),
          );
          const put = await s3.send(
            new PutObjectCommand({
              Bucket: "clock",
              Key: "locked",
              Body: "kept",
              ObjectLockMode: "COMPLIANCE",
              ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000),
            }),
          );
          s3.destroy();
          check((await first.stop()) === 0, "the vault did not stop cleanly");

          // SigV4 refuses requests more than 15 minutes from the server's clock, so the client moves with it.
          // libfaketime preloaded into the vault itself, so signals still reach it directly.
          const later = await startVault({
            dataDir: first.dataDir,
            env: {
              ...env,
              LD_PRELOAD: LIBFAKETIME,
              FAKETIME: TEN_YEARS,
              DONT_FAKE_MONOTONIC: "1",
            },
          });
          s3 = clientAt(later, TEN_YEARS_MS);
          try {
            const refused = await s3
              .send(
                new DeleteObjectCommand({
                  Bucket: "clock",
                  Key: "locked",
                  VersionId: put.VersionId,
                }),
              )
              .then(() => undefined, (e) => e as { name?: string });
            check(
              refused?.name === "AccessDenied",
              `the delete was not refused: ${JSON.stringify(refused)}`,
            );
            check(
              later.output().includes("ahead of the trusted clock"),
              `no clock alert in the vault's output:\n${later.output()}`,
            );
            const metrics = await (await fetch(`${later.endpoint}/metrics`)).text();
            const jump = Number(/^amber_clock_uncredited_jump_seconds (\S+)$/m.exec(metrics)?.[1]);
            check(jump > 3600 * 24 * 3000, `amber_clock_uncredited_jump_seconds is ${jump}`);

            // The operator attests the real time; the approval is signed away from the vault.
            await attest(later, s3, Date.now() + TEN_YEARS_MS, "attest-0001");
            await s3.send(
              new DeleteObjectCommand({ Bucket: "clock", Key: "locked", VersionId: put.VersionId }),
            );
          } finally {
            s3.destroy();
            await later.stop();
          }
          const db = new DatabaseSync(`${later.dataDir}/meta/index.db`, { readOnly: true });
          const ops = (db.prepare("SELECT op FROM audit ORDER BY seq").all() as { op: string }[])
            .map((r) => r.op);
          db.close();
          check(
            ops.includes("clockAlert") && ops.includes("attestTime"),
            `the audit log lacks the clock alert or the attestation: ${ops.join(", ")}`,
          );
        },
      },
      {
        name:
          "Trusted clock - restarts each a little under the allowance ahead do not add up: a 3 h COMPLIANCE lock holds through 4 of them",
        async fn() {
          const env = { AMBER_MAX_CLOCK_JUMP: "3600" };
          const first = await startVault({ env });
          let s3 = clientAt(first, 0);
          await s3.send(
            new CreateBucketCommand({ Bucket: "steps", ObjectLockEnabledForBucket: true }),
          );
          const put = await s3.send(
            new PutObjectCommand({
              Bucket: "steps",
              Key: "locked",
              Body: "kept",
              ObjectLockMode: "COMPLIANCE",
              ObjectLockRetainUntilDate: new Date(Date.now() + 3 * 3_600_000),
            }),
          );
          s3.destroy();
          check((await first.stop()) === 0, "the vault did not stop cleanly");
          let alerted = false;
          for (let k = 1; k <= 4; k++) {
            const aheadS = k * 3300; // each restart within the 3600 s allowance of the last
            const v = await startVault({
              dataDir: first.dataDir,
              env: {
                ...env,
                LD_PRELOAD: LIBFAKETIME,
                FAKETIME: `+${aheadS}`,
                DONT_FAKE_MONOTONIC: "1",
              },
            });
            s3 = clientAt(v, aheadS * 1000);
            try {
              const refused = await s3
                .send(
                  new DeleteObjectCommand({
                    Bucket: "steps",
                    Key: "locked",
                    VersionId: put.VersionId,
                  }),
                )
                .then(() => undefined, (e) => e as { name?: string });
              check(
                refused?.name === "AccessDenied",
                `restart ${k} (+${aheadS} s): the delete was not refused: ${
                  JSON.stringify(refused)
                }`,
              );
              alerted ||= v.output().includes("ahead of the trusted clock");
            } finally {
              s3.destroy();
              check((await v.stop()) === 0, "the vault did not stop cleanly");
            }
          }
          check(alerted, "no clock alert once the restart allowance was spent");
        },
      },
      {
        name:
          "Signals - a key that always wrote at one hour is flagged writing six hours later (profile kept across a restart)",
        async fn() {
          const env = {
            AMBER_SIGNAL_THRESHOLDS: JSON.stringify({
              hoursLearningWrites: 20,
              unusualHourShare: 0.2,
            }),
          };
          const first = await startVault({ env });
          let s3 = clientAt(first, 0);
          await s3.send(new CreateBucketCommand({ Bucket: "hours" }));
          for (let i = 0; i < 25; i++) {
            await s3.send(new PutObjectCommand({ Bucket: "hours", Key: `n-${i}`, Body: "night" }));
          }
          s3.destroy();
          check((await first.stop()) === 0, "the vault did not stop cleanly");
          const later = await startVault({
            dataDir: first.dataDir,
            env: { ...env, LD_PRELOAD: LIBFAKETIME, FAKETIME: SIX_HOURS, DONT_FAKE_MONOTONIC: "1" },
          });
          s3 = clientAt(later, SIX_HOURS_MS);
          try {
            await s3.send(new PutObjectCommand({ Bucket: "hours", Key: "odd", Body: "noon" }));
            const report = await (await fetch(`${later.endpoint}/health/signals`)).json();
            const unusual = report.active.find((a: { signal: string }) =>
              a.signal === "unusualHour"
            );
            check(
              unusual?.subject === later.accessKey,
              `no unusualHour signal for ${later.accessKey}: ${JSON.stringify(report)}`,
            );
          } finally {
            s3.destroy();
            await later.stop();
          }
        },
      },
      ...lagCases,
    ],
  };
}

/** An SDK client of `vault` whose clock runs `offsetMs` ahead (SigV4 must match the vault's). */
function clientAt(vault: TestVault, offsetMs: number): S3Client {
  return new S3Client({
    endpoint: vault.endpoint,
    region: vault.region,
    forcePathStyle: true,
    maxAttempts: 1,
    systemClockOffset: offsetMs,
    credentials: { accessKeyId: vault.accessKey, secretAccessKey: vault.secretKey },
  });
}

const MIN = 60_000;
const DAY = 86_400_000;
const APPROVER_ENV = { AMBER_APPROVERS: `operator=hmac:${OPERATOR_SECRET}` };

/** POST /admin/clock with the operator's approval: trusted time := timeMs. */
async function attest(vault: TestVault, s3: S3Client, timeMs: number, nonce: string) {
  const approval = signApproval({
    id: "operator",
    kind: "hmac",
    secret: new TextEncoder().encode(OPERATOR_SECRET),
  }, {
    vault: vault.vaultId,
    action: "AttestTime",
    resource: `/?time=${timeMs}`,
    expires: Math.floor(timeMs / 1000) + 600,
    nonce,
  });
  const res = await signedFetch(vault, s3, {
    method: "POST",
    path: "/admin/clock",
    headers: { "x-amber-approvals": approval },
    body: JSON.stringify({ time: new Date(timeMs).toISOString() }),
  });
  const text = await res.text();
  assertEquals(res.status, 200, text);
}

/** The vault's wall clock minus ours, from its Date header (its clock may run at a rate). */
async function serverOffset(vault: TestVault): Promise<number> {
  const r = await fetch(`${vault.endpoint}/healthz`);
  await r.body?.cancel();
  return Date.parse(r.headers.get("date")!) + 500 - Date.now();
}

async function tryDelete(vault: TestVault, bucket: string, key: string, versionId: string) {
  const s3 = clientAt(vault, await serverOffset(vault));
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    return "deleted";
  } catch (e) {
    return (e as { name?: string }).name ?? String(e);
  } finally {
    s3.destroy();
  }
}

/**
 * A vault whose first life ran `setup`, started again with the real time three days on (switched
 * off meanwhile): the default allowance credits one, so trusted time lags the system clock by two.
 */
async function threeDaysLater(
  env: Record<string, string>,
  setup: (s3: S3Client) => Promise<void>,
): Promise<{ later: TestVault; s3: S3Client }> {
  const first = await startVault({ env });
  const s3 = clientAt(first, 0);
  try {
    await setup(s3);
  } finally {
    s3.destroy();
  }
  assertEquals(await first.stop(), 0);
  const later = await startVault({
    dataDir: first.dataDir,
    env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: "+3d", DONT_FAKE_MONOTONIC: "1", ...env },
  });
  return { later, s3: clientAt(later, 3 * DAY) };
}

/** An Object Lock bucket whose new versions are COMPLIANCE-locked for a day by default. */
async function dayLockedBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  await s3.send(
    new PutObjectLockConfigurationCommand({
      Bucket: bucket,
      ObjectLockConfiguration: {
        ObjectLockEnabled: "Enabled",
        Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 1 } },
      },
    }),
  );
}

/** A long downtime and a year back: default retentions and locks hold (the clock suite's cases). */
const lagCases: Suite["cases"] = [
  {
    name:
      "Trusted clock - restarted a year in the past and then back: the lock holds, and the data still reads",
    async fn() {
      const first = await startVault({});
      let s3 = clientAt(first, 0);
      let versionId: string;
      try {
        await s3.send(
          new CreateBucketCommand({ Bucket: "back", ObjectLockEnabledForBucket: true }),
        );
        versionId = (await s3.send(
          new PutObjectCommand({
            Bucket: "back",
            Key: "locked",
            Body: "kept",
            ObjectLockMode: "COMPLIANCE",
            ObjectLockRetainUntilDate: new Date(Date.now() + 2 * MIN),
          }),
        )).VersionId!;
      } finally {
        s3.destroy();
      }
      assertEquals(await first.stop(), 0);
      const past = await startVault({
        dataDir: first.dataDir,
        env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: "-365d", DONT_FAKE_MONOTONIC: "1" },
      });
      try {
        assertEquals(await tryDelete(past, "back", "locked", versionId), "AccessDenied");
        s3 = clientAt(past, await serverOffset(past));
        const got = await s3.send(new GetObjectCommand({ Bucket: "back", Key: "locked" }));
        assertEquals(new TextDecoder().decode(await bodyBytes(got.Body)), "kept");
        const head = await s3.send(new HeadObjectCommand({ Bucket: "back", Key: "locked" }));
        assertEquals(head.ObjectLockMode, "COMPLIANCE");
        s3.destroy();
      } finally {
        await past.stop();
      }
      // Back to the real time: trusted time did not go back, so nothing is owed; still locked.
      const now = await startVault({ dataDir: first.dataDir });
      try {
        assertEquals(await tryDelete(now, "back", "locked", versionId), "AccessDenied");
        assertOk(!now.output().includes("ahead of the trusted clock"), now.output());
      } finally {
        await now.stop();
      }
    },
  },

  {
    name:
      "Trusted clock - after a downtime longer than AMBER_MAX_CLOCK_JUMP, a default retention still ends Days after the version's Last-Modified",
    async fn() {
      const { later, s3 } = await threeDaysLater(APPROVER_ENV, (s3) => dayLockedBucket(s3, "lag"));
      try {
        await s3.send(new PutObjectCommand({ Bucket: "lag", Key: "k", Body: "kept a day" }));
        const h = await s3.send(new HeadObjectCommand({ Bucket: "lag", Key: "k" }));
        const lastModified = h.LastModified!.getTime();
        const until = h.ObjectLockRetainUntilDate!.getTime();
        assertOk(
          until >= lastModified + DAY - 60_000,
          `Last-Modified ${h.LastModified!.toISOString()} but retain-until ${
            h.ObjectLockRetainUntilDate!.toISOString()
          }: a 1-day default retention reads as ${((until - lastModified) / DAY).toFixed(2)} days`,
        );
      } finally {
        s3.destroy();
        await later.stop();
      }
    },
  },

  {
    name:
      "Snapshots - after a downtime longer than AMBER_MAX_CLOCK_JUMP, a snapshot at a time before a delete still holds the object",
    async fn() {
      const token = "snapshot-lag-admin-token-0123";
      const { later, s3 } = await threeDaysLater({ AMBER_ADMIN_TOKEN: token }, async (s3) => {
        await s3.send(new CreateBucketCommand({ Bucket: "prune" }));
        await s3.send(
          new PutBucketVersioningCommand({
            Bucket: "prune",
            VersioningConfiguration: { Status: "Enabled" },
          }),
        );
      });
      try {
        await s3.send(new PutObjectCommand({ Bucket: "prune", Key: "index", Body: "before" }));
        const h = await s3.send(new HeadObjectCommand({ Bucket: "prune", Key: "index" }));
        // T as the operator reads it (Last-Modified, the system clock), then the attack.
        const at = new Date(h.LastModified!.getTime() + 1000).toISOString();
        await new Promise((r) => setTimeout(r, 1500));
        await s3.send(new DeleteObjectCommand({ Bucket: "prune", Key: "index" }));
        const res = await fetch(`${later.endpoint}/admin/snapshots`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
          body: JSON.stringify({ source: "prune", bucket: "prune-before", at }),
        });
        const body = await res.json();
        assertEquals(res.status, 201, JSON.stringify(body));
        assertEquals(
          body.objects,
          1,
          `the snapshot at ${at} lacks the object: ${JSON.stringify(body)}`,
        );
        const got = await s3.send(new GetObjectCommand({ Bucket: "prune-before", Key: "index" }));
        assertEquals(new TextDecoder().decode(await bodyBytes(got.Body)), "before");
      } finally {
        s3.destroy();
        await later.stop();
      }
    },
  },

  {
    name:
      "Trusted clock - attesting the real time after a long downtime must not free versions just written under a COMPLIANCE default retention",
    async fn() {
      const { later, s3 } = await threeDaysLater(APPROVER_ENV, (s3) => dayLockedBucket(s3, "att"));
      try {
        // A backup lands: COMPLIANCE for one day by the bucket's default.
        const v = (await s3.send(new PutObjectCommand({ Bucket: "att", Key: "db.bak", Body: "x" })))
          .VersionId!;
        // The operator does what the README says about the lag: attests the real time.
        await attest(later, s3, Date.now() + 3 * DAY, "attest-lag-01");
        const outcome = await s3.send(
          new DeleteObjectCommand({ Bucket: "att", Key: "db.bak", VersionId: v }),
        ).then(() => "deleted", (e) => (e as { name?: string }).name);
        assertEquals(
          outcome,
          "AccessDenied",
          "a version written seconds ago under a 1-day COMPLIANCE default was deleted right after the attestation",
        );
      } finally {
        s3.destroy();
        await later.stop();
      }
    },
  },
];
