/**
 * The trusted clock against a real clock change: the vault is restarted under
 * libfaketime ten years in the future, and a COMPLIANCE version locked for a
 * day still cannot be deleted.
 *
 * @module
 */

import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { startVault } from "../helpers/vault.ts";
import { check, type Suite, type Target } from "./lib.ts";

const TEN_YEARS = "+3650d";
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
          "Trusted clock - ten years forward across a restart: a COMPLIANCE delete is still refused",
        async fn() {
          const first = await startVault({ env: { AMBER_MAX_CLOCK_JUMP: "3600" } });
          const client = (endpoint: string) =>
            new S3Client({
              endpoint,
              region: first.region,
              forcePathStyle: true,
              maxAttempts: 1,
              credentials: { accessKeyId: first.accessKey, secretAccessKey: first.secretKey },
            });
          let s3 = client(first.endpoint);
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
              AMBER_MAX_CLOCK_JUMP: "3600",
              LD_PRELOAD: LIBFAKETIME,
              FAKETIME: TEN_YEARS,
              DONT_FAKE_MONOTONIC: "1",
            },
          });
          s3 = new S3Client({
            endpoint: later.endpoint,
            region: later.region,
            forcePathStyle: true,
            maxAttempts: 1,
            systemClockOffset: 3650 * 86_400_000,
            credentials: { accessKeyId: later.accessKey, secretAccessKey: later.secretKey },
          });
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
          } finally {
            s3.destroy();
            await later.stop();
          }
        },
      },
    ],
  };
}
