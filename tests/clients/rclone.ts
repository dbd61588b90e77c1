/**
 * The rclone suite: an `s3` remote with `provider = Other`, syncing a tree up,
 * checking MD5 hashes, syncing changes and copying back.
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

const BUCKET = "rclone-bucket";
/** Files in the tree before and after the second sync (one added, one deleted). */
const TREE_FILES = 41;

/** `rclone check` found no difference and compared the MD5 of every file. */
function checkClean(stderr: string): void {
  check(/\b0 differences found/.test(stderr), `no "0 differences found":\n${stderr}`);
  check(
    new RegExp(`\\b${TREE_FILES} matching files`).test(stderr),
    `expected "${TREE_FILES} matching files":\n${stderr}`,
  );
  check(!/hashes could not be checked/.test(stderr), `some hashes were not checked:\n${stderr}`);
}

/**
 * Builds the rclone suite.
 *
 * @param t Endpoint, credentials and work dir.
 * @returns The suite.
 */
export function rcloneSuite(t: Target): Suite {
  const dir = `${t.workDir}/rclone`;
  const conf = `${dir}/rclone.conf`;
  const env = {
    AWS_ACCESS_KEY_ID: t.accessKey,
    AWS_SECRET_ACCESS_KEY: t.secretKey,
    AWS_DEFAULT_REGION: t.region,
    HOME: dir,
  };
  const remote = `amber:${BUCKET}`;
  const rclone = (...args: string[]) =>
    must("rclone", ["--config", conf, "--retries", "1", "--low-level-retries", "1", ...args], {
      env,
      cwd: dir,
      // This machine exports AWS_CA_BUNDLE; rclone 1.60 then refuses to build its
      // HTTP client ("LoadCustomCABundleError ... unsupported transport"). The
      // endpoint is plain HTTP, so the bundle is irrelevant here.
      unset: ["AWS_CA_BUNDLE"],
    });

  return {
    client: "rclone",
    bin: "rclone",
    pkg: "rclone",
    cases: [
      {
        name: "rclone - sync uploads a local tree (incl. a 12 MiB multipart file)",
        async fn() {
          await Deno.mkdir(dir, { recursive: true });
          await Deno.writeTextFile(
            conf,
            [
              "[amber]",
              "type = s3",
              "provider = Other",
              "env_auth = false",
              `access_key_id = ${t.accessKey}`,
              `secret_access_key = ${t.secretKey}`,
              `region = ${t.region}`,
              `endpoint = ${t.endpoint}`,
              "force_path_style = true",
              // Small cutoff so one file goes up as multipart (rclone keeps its MD5 in metadata).
              "upload_cutoff = 5M",
              "chunk_size = 5M",
              "",
            ].join("\n"),
          );
          await makeTree(`${dir}/tree`, 40, 21);
          await writeRandomFile(`${dir}/tree/large/12MiB.bin`, 12 * 1024 * 1024);
          await rclone("mkdir", remote);
          await rclone("sync", `${dir}/tree`, remote);
          const ls = (await rclone("lsf", "-R", "--files-only", remote)).stdout.trim().split("\n");
          check(
            ls.length === TREE_FILES,
            `remote lists ${ls.length} files, expected ${TREE_FILES}`,
          );
        },
      },
      {
        name: "rclone - check reports 0 differences",
        async fn() {
          const out = await rclone("check", `${dir}/tree`, remote);
          checkClean(out.stderr);
        },
      },
      {
        name: "rclone - sync after modifying, adding and deleting files",
        async fn() {
          await modifyFile(`${dir}/tree/dir0/sub0/file-15.dat`, "r1");
          await modifyFile(`${dir}/tree/plus+sign.txt`, "r2");
          await Deno.writeTextFile(`${dir}/tree/new file.txt`, "added after the first sync\n");
          await Deno.remove(`${dir}/tree/dir4/sub0/file-9.dat`);
          const out = await rclone("sync", "-v", `${dir}/tree`, remote);
          const copied = out.stderr.split("\n").filter((l) => /: Copied \(/.test(l));
          const deleted = out.stderr.split("\n").filter((l) => /: Deleted/.test(l));
          check(
            copied.length === 3 && deleted.length === 1,
            `expected 3 copied and 1 deleted, got ${copied.length} and ${deleted.length}:\n${out.stderr}`,
          );
        },
      },
      {
        name: "rclone - check reports 0 differences after the second sync",
        async fn() {
          const out = await rclone("check", `${dir}/tree`, remote);
          checkClean(out.stderr);
        },
      },
      {
        name: "rclone - copy back reproduces the tree",
        async fn() {
          await rclone("copy", remote, `${dir}/tree.down`);
          await assertSameTree(`${dir}/tree`, `${dir}/tree.down`);
          await rclone("purge", remote);
        },
      },
    ],
  };
}
