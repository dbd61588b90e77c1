/**
 * The s3cmd suite: path-style (`host_bucket` without `%(bucket)s`), SigV4,
 * plain HTTP.
 *
 * @module
 */

import {
  assertSameTree,
  check,
  makeTree,
  must,
  sha256File,
  type Suite,
  tail,
  type Target,
  writeRandomFile,
} from "./lib.ts";

const BUCKET = "s3cmd-bucket";
const LARGE_BYTES = 20 * 1024 * 1024;

/**
 * Builds the s3cmd suite.
 *
 * @param t Endpoint, credentials and work dir.
 * @returns The suite.
 */
export function s3cmdSuite(t: Target): Suite {
  const dir = `${t.workDir}/s3cmd`;
  const conf = `${dir}/s3cfg`;
  const env = { HOME: dir };
  const s3cmd = (...args: string[]) =>
    must("s3cmd", ["-c", conf, "--no-progress", ...args], { env, cwd: dir });
  const b = `s3://${BUCKET}`;

  return {
    client: "s3cmd",
    bin: "s3cmd",
    pkg: "s3cmd",
    cases: [
      {
        name: "s3cmd - mb creates a bucket",
        async fn() {
          await Deno.mkdir(dir, { recursive: true });
          await Deno.writeTextFile(
            conf,
            [
              "[default]",
              `access_key = ${t.accessKey}`,
              `secret_key = ${t.secretKey}`,
              `host_base = ${t.hostPort}`,
              `host_bucket = ${t.hostPort}`,
              `bucket_location = ${t.region}`,
              "use_https = False",
              "signature_v2 = False",
              "check_ssl_certificate = False",
              "multipart_chunk_size_mb = 5",
              "",
            ].join("\n"),
          );
          await s3cmd("mb", b);
          const out = (await s3cmd("ls")).stdout;
          check(out.includes(b), `s3cmd ls lacks ${b}:\n${out}`);
        },
      },
      {
        name: "s3cmd - put a small file and a 20 MiB multipart file",
        async fn() {
          await Deno.writeTextFile(`${dir}/small.txt`, "hello from s3cmd\n".repeat(100));
          await writeRandomFile(`${dir}/large.bin`, LARGE_BYTES);
          await s3cmd("put", `${dir}/small.txt`, `${b}/files/small.txt`);
          // --progress (after the global --no-progress) prints "[part N of M]".
          const out = await s3cmd("put", "--progress", `${dir}/large.bin`, `${b}/files/large.bin`);
          check(
            /\[part 4 of 4, 5MB\]/.test(out.stdout),
            `not uploaded in 4 parts:\n${tail(out.stdout)}`,
          );
        },
      },
      {
        name: "s3cmd - ls lists the objects",
        async fn() {
          const out = (await s3cmd("ls", `${b}/files/`)).stdout;
          check(
            new RegExp(`\\s${LARGE_BYTES}\\s+${b}/files/large\\.bin`).test(out),
            `ls lacks large.bin with ${LARGE_BYTES} bytes:\n${out}`,
          );
          check(/s3cmd-bucket\/files\/small\.txt/.test(out), `ls lacks small.txt:\n${out}`);
        },
      },
      {
        name: "s3cmd - get round trip",
        async fn() {
          for (const name of ["small.txt", "large.bin"]) {
            await s3cmd("get", "--force", `${b}/files/${name}`, `${dir}/${name}.down`);
            const [x, y] = [
              await sha256File(`${dir}/${name}`),
              await sha256File(`${dir}/${name}.down`),
            ];
            check(x === y, `${name}: downloaded sha256 ${y} != uploaded ${x}`);
          }
        },
      },
      {
        name: "s3cmd - sync a tree up and back down",
        async fn() {
          await makeTree(`${dir}/tree`, 30, 31);
          await s3cmd("sync", `${dir}/tree/`, `${b}/tree/`);
          const again = await s3cmd("sync", "--dry-run", `${dir}/tree/`, `${b}/tree/`);
          check(
            !/^upload:/m.test(again.stdout),
            `second sync would upload again:\n${again.stdout}`,
          );
          await Deno.mkdir(`${dir}/tree.down`);
          await s3cmd("sync", `${b}/tree/`, `${dir}/tree.down/`);
          await assertSameTree(`${dir}/tree`, `${dir}/tree.down`);
        },
      },
      {
        name: "s3cmd - info on an object",
        async fn() {
          const out = (await s3cmd("info", `${b}/files/small.txt`)).stdout;
          check(/File size:\s+1700/.test(out), `info lacks "File size: 1700":\n${out}`);
          check(/MD5 sum:\s+[0-9a-f]{32}/.test(out), `info lacks the MD5 sum:\n${out}`);
        },
      },
      {
        name: "s3cmd - info on a bucket",
        async fn() {
          const out = (await s3cmd("info", b)).stdout;
          check(/Location:\s+us-east-1/.test(out), `info lacks "Location: us-east-1":\n${out}`);
        },
      },
      {
        name: "s3cmd - del removes objects",
        async fn() {
          await s3cmd("del", `${b}/files/small.txt`);
          await s3cmd("del", "--recursive", "--force", `${b}/`);
          const out = (await s3cmd("ls", "--recursive", `${b}/`)).stdout.trim();
          check(out === "", `bucket still lists objects:\n${out}`);
          await s3cmd("rb", b);
        },
      },
    ],
  };
}
