/**
 * The restic suite: an `s3:` repository in the vault, two backups, a full
 * `check --read-data` and a restore.
 *
 * @module
 */

import {
  assertSameTree,
  check,
  makeTree,
  modifyFile,
  must,
  type Suite,
  type Target,
  writeRandomFile,
} from "./lib.ts";

const BUCKET = "restic-bucket";

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
    ],
  };
}
