/**
 * Ransomware signals end to end, with generated traffic: uploads that stop
 * compressing, a burst of deletes and a run of lock changes each raise a
 * signal seen in `/health/signals`, `/metrics` and the audit log.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
} from "@aws-sdk/client-s3";
import { assertEquals, assertOk, randomBytes, signedFetch } from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";

const KiB = 1024;

/** Text that compresses well but never repeats across objects (so it does not deduplicate). */
function logLines(n: number, size: number): Uint8Array {
  let text = "";
  for (let i = 0; text.length < size; i++) {
    text += `2026-11-23T03:00:${i % 60} host-${n} backup job ${n}.${i} finished ok\n`;
  }
  return new TextEncoder().encode(text.slice(0, size));
}

Deno.test({
  name: "Signals - incompressible uploads, a delete burst and lock churn are raised and audited",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({
      env: {
        AMBER_SIGNAL_THRESHOLDS: JSON.stringify({
          windowBytes: 1024 * KiB,
          deletesPerHour: 20,
          deleteSpikeFactor: 1,
          lockChangesPerHour: 5,
        }),
      },
    });
    const s3 = s3For(vault);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "db-dumps" }));
      for (let i = 0; i < 8; i++) {
        await s3.send(
          new PutObjectCommand({
            Bucket: "db-dumps",
            Key: `log-${i}`,
            Body: logLines(i, 256 * KiB),
          }),
        );
      }
      const quiet = await (await fetch(`${vault.endpoint}/health/signals`)).json();
      assertEquals(quiet.active, []);
      for (let i = 0; i < 6; i++) {
        await s3.send(
          new PutObjectCommand({
            Bucket: "db-dumps",
            Key: `enc-${i}`,
            Body: randomBytes(256 * KiB, 100 + i),
          }),
        );
      }

      await s3.send(new CreateBucketCommand({ Bucket: "files" }));
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: "files",
          VersioningConfiguration: { Status: "Enabled" },
        }),
      );
      for (let i = 0; i < 20; i++) {
        await s3.send(new DeleteObjectCommand({ Bucket: "files", Key: `f-${i}` }));
      }

      await s3.send(
        new CreateBucketCommand({ Bucket: "locked", ObjectLockEnabledForBucket: true }),
      );
      await s3.send(
        new PutObjectCommand({ Bucket: "locked", Key: "k", Body: "x", ChecksumAlgorithm: "CRC32" }),
      );
      for (let i = 0; i < 5; i++) {
        await s3.send(
          new PutObjectLegalHoldCommand({
            Bucket: "locked",
            Key: "k",
            LegalHold: { Status: i % 2 ? "OFF" : "ON" },
            ChecksumAlgorithm: "CRC32",
          }),
        );
      }

      const report = await (await fetch(`${vault.endpoint}/health/signals`)).json();
      const active = report.active.map((a: { signal: string; subject: string }) =>
        `${a.signal}:${a.subject}`
      ).sort();
      assertEquals(active, ["deleteSpike:files", "incompressible:db-dumps", "lockChurn:locked"]);
      assertOk(
        report.recent.some((a: { message: string }) => /stopped compressing/.test(a.message)),
        JSON.stringify(report.recent),
      );

      const metrics = await (await fetch(`${vault.endpoint}/metrics`)).text();
      for (const signal of ["incompressible", "deleteSpike", "lockChurn"]) {
        assertOk(
          new RegExp(`^amber_signal_alerts_total\\{signal="${signal}"\\} 1$`, "m").test(metrics),
          `no alert counted for ${signal}`,
        );
      }
      assertOk(/^amber_signal_alerts_total\{signal="unusualHour"\} 0$/m.test(metrics));
      assertOk(
        /^amber_signal_active\{signal="incompressible",subject="db-dumps"\} 1$/m.test(metrics),
      );

      const audit = await signedFetch(vault, s3, {
        method: "GET",
        path: "/admin/audit",
        query: { limit: "10000" },
      });
      const ops = (await audit.json()).records.map((r: { op: string }) => r.op);
      for (const signal of ["incompressible", "deleteSpike", "lockChurn"]) {
        assertOk(ops.includes(`signal ${signal}`), `no audit record for ${signal}`);
      }
      assertOk(/stopped compressing/.test(vault.output()), "no log line for the signal");
    } finally {
      s3.destroy();
      assertEquals(await vault.stop(), 0);
    }
  },
});
