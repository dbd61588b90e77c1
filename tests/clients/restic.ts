/**
 * The restic suite: an `s3:` repository in the vault, two backups, a full
 * `check --read-data` and a restore; then the same in a COMPLIANCE-locked
 * bucket, where `forget --prune` must not remove any version.
 *
 * @module
 */

import {
  assertSameTree,
  check,
  makeTree,
  modifyFile,
  must,
  run,
  type Suite,
  type Target,
  writeRandomFile,
} from "./lib.ts";
import { AWS_BIN } from "./aws_cli.ts";
import { createHash } from "node:crypto";

const BUCKET = "restic-bucket";
/** A bucket with Object Lock and a default COMPLIANCE retention, as restic users set one up. */
const LOCKED_BUCKET = "restic-locked";
/** A point-in-time snapshot of it from before `forget --prune`. */
const SNAPSHOT_BUCKET = "restic-before-prune";

/**
 * Builds the restic suite.
 *
 * @param t Endpoint, credentials and work dir.
 * @returns The suite.
 */
export function resticSuite(t: Target): Suite {
  const dir = `${t.workDir}/restic`;
  const env = {
    AWS_ACCESS_KEY_ID: t.accessKey,
    AWS_SECRET_ACCESS_KEY: t.secretKey,
    AWS_DEFAULT_REGION: t.region,
    RESTIC_REPOSITORY: `s3:${t.endpoint}/${BUCKET}`,
    RESTIC_PASSWORD: "amber-restic-test-password",
    RESTIC_CACHE_DIR: `${dir}/cache`,
    HOME: dir,
  };
  const restic = (...args: string[]) => must("restic", args, { env, cwd: dir });
  const awsEnv = { ...env, AWS_EC2_METADATA_DISABLED: "true", AWS_PAGER: "" };
  const versionCount = async (aws: (...args: string[]) => Promise<{ stdout: string }>) => {
    const out = await aws(
      "s3api",
      "list-object-versions",
      "--bucket",
      LOCKED_BUCKET,
      "--output",
      "json",
    );
    return (JSON.parse(out.stdout).Versions ?? []).length as number;
  };
  const snapshots = async () => JSON.parse((await restic("snapshots", "--json")).stdout);

  return {
    client: "restic",
    bin: "restic",
    pkg: "restic",
    cases: [
      {
        name: "restic - init an s3 repository",
        async fn() {
          await Deno.mkdir(dir, { recursive: true });
          await restic("init");
        },
      },
      {
        name: "restic - backup a tree twice",
        async fn() {
          await makeTree(`${dir}/src`, 60, 41);
          await writeRandomFile(`${dir}/src/large/30MiB.bin`, 30 * 1024 * 1024);
          await restic("backup", "--host", "amber-ci", `${dir}/src`);
          await modifyFile(`${dir}/src/dir2/sub1/file-7.dat`, "x");
          await Deno.writeTextFile(`${dir}/src/added.txt`, "second snapshot\n");
          await restic("backup", "--host", "amber-ci", `${dir}/src`);
          const s = await snapshots();
          check(
            Array.isArray(s) && s.length === 2,
            `expected 2 snapshots, got ${JSON.stringify(s)}`,
          );
        },
      },
      {
        name: "restic - check --read-data",
        async fn() {
          const out = await restic("check", "--read-data");
          check(
            /no errors were found/.test(out.stdout),
            `no "no errors were found":\n${out.stdout}`,
          );
        },
      },
      {
        name: "restic - restore latest matches the source",
        async fn() {
          await restic("restore", "latest", "--target", `${dir}/restore`);
          await assertSameTree(`${dir}/src`, `${dir}/restore${dir}/src`);
        },
      },
      {
        name:
          "restic - forget --prune on a COMPLIANCE bucket removes no version; a pre-prune snapshot bucket restores every snapshot",
        async fn() {
          const aws = (...args: string[]) =>
            must(AWS_BIN, ["--endpoint-url", t.endpoint, ...args], { env: awsEnv, cwd: dir });
          await aws(
            "s3api",
            "create-bucket",
            "--bucket",
            LOCKED_BUCKET,
            "--object-lock-enabled-for-bucket",
          );
          await aws(
            "s3api",
            "put-object-lock-configuration",
            "--bucket",
            LOCKED_BUCKET,
            "--object-lock-configuration",
            '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":1}}}',
          );
          const lockedEnv = { ...env, RESTIC_REPOSITORY: `s3:${t.endpoint}/${LOCKED_BUCKET}` };
          const locked = (...args: string[]) => must("restic", args, { env: lockedEnv, cwd: dir });
          await locked("init");
          await locked("backup", "--host", "amber-ci", `${dir}/src`);
          await Deno.writeTextFile(`${dir}/src/third.txt`, "third snapshot\n");
          await locked("backup", "--host", "amber-ci", `${dir}/src`);
          const versionsBefore = await versionCount(aws);
          await new Promise((r) => setTimeout(r, 20));
          const beforePrune = new Date().toISOString();
          await new Promise((r) => setTimeout(r, 20));
          // Deletes become delete markers; restic may report errors for what it cannot remove.
          await run("restic", ["forget", "--keep-last", "1", "--prune"], {
            env: lockedEnv,
            cwd: dir,
          });
          const versionsAfter = await versionCount(aws);
          check(
            versionsAfter >= versionsBefore,
            `versions went from ${versionsBefore} to ${versionsAfter}`,
          );
          const checked = await locked("check", "--read-data");
          check(/no errors were found/.test(checked.stdout), checked.stdout);
          await locked("restore", "latest", "--target", `${dir}/restore-locked`);
          await assertSameTree(`${dir}/src`, `${dir}/restore-locked${dir}/src`);

          // A snapshot of the bucket from before the prune: every restic snapshot is back, read-only.
          // An admin change signs its body: curl signs the hash it is given.
          const body = JSON.stringify({
            source: LOCKED_BUCKET,
            bucket: SNAPSHOT_BUCKET,
            at: beforePrune,
          });
          const snap = await must("curl", [
            "-sS",
            "--fail-with-body",
            "--aws-sigv4",
            `aws:amz:${t.region}:s3`,
            "--user",
            `${t.accessKey}:${t.secretKey}`,
            "-H",
            `x-amz-content-sha256: ${createHash("sha256").update(body).digest("hex")}`,
            "-H",
            "content-type: application/json",
            "--data",
            body,
            `${t.endpoint}/admin/snapshots`,
          ], { cwd: dir });
          check(JSON.parse(snap.stdout).objects > 0, snap.stdout);
          const snapEnv = { ...env, RESTIC_REPOSITORY: `s3:${t.endpoint}/${SNAPSHOT_BUCKET}` };
          const fromSnapshot = (...args: string[]) =>
            must("restic", ["--no-lock", ...args], { env: snapEnv, cwd: dir });
          const listed = JSON.parse((await fromSnapshot("snapshots", "--json")).stdout) as {
            short_id: string;
          }[];
          check(
            listed.length === 2,
            `the snapshot bucket holds ${listed.length} restic snapshots, expected 2`,
          );
          await fromSnapshot("restore", listed[0].short_id, "--target", `${dir}/restore-first`);
          check(
            !(await Deno.stat(`${dir}/restore-first${dir}/src/third.txt`).then(
              () => true,
              () => false,
            )),
            "the first restic snapshot has the file added later",
          );
        },
      },
    ],
  };
}
