/**
 * The aws-cli suite: Debian's `awscli` (v2) with its default settings,
 * pointed at the vault by `--endpoint-url`.
 *
 * @module
 */

import {
  addAccessKey,
  assertSameTree,
  check,
  makeTree,
  modifyFile,
  must,
  run,
  sha256File,
  type Suite,
  type Target,
  writeRandomFile,
} from "./lib.ts";

/** Debian's aws-cli; the pyenv shim earlier on PATH may be a pip-installed v1. */
export const AWS_BIN = "/usr/bin/aws";

const BUCKET = "awscli-bucket";
const BIG_BYTES = 200 * 1024 * 1024;
const TREE_FILES = 50;

/**
 * Builds the aws-cli suite.
 *
 * @param t Endpoint, credentials and work dir.
 * @returns The suite.
 */
export function awsCliSuite(t: Target): Suite {
  const dir = `${t.workDir}/aws-cli`;
  const env = {
    AWS_ACCESS_KEY_ID: t.accessKey,
    AWS_SECRET_ACCESS_KEY: t.secretKey,
    AWS_DEFAULT_REGION: t.region,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: `${dir}/no-config`,
    AWS_SHARED_CREDENTIALS_FILE: `${dir}/no-credentials`,
    AWS_PAGER: "",
    HOME: dir,
  };
  const aws = (...args: string[]) =>
    must(AWS_BIN, ["--endpoint-url", t.endpoint, ...args], { env, cwd: dir });
  const s3api = async (...args: string[]) => {
    const out = await aws("s3api", ...args, "--output", "json");
    return out.stdout.trim() ? JSON.parse(out.stdout) : {};
  };
  const uploads = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("upload:"));

  return {
    client: "aws-cli",
    bin: AWS_BIN,
    pkg: "awscli",
    cases: [
      {
        name: "aws-cli - s3 mb creates a bucket",
        async fn() {
          await Deno.mkdir(dir, { recursive: true });
          await aws("s3", "mb", `s3://${BUCKET}`);
          const r = await s3api("list-buckets");
          const names = (r.Buckets ?? []).map((b: { Name: string }) => b.Name);
          check(names.includes(BUCKET), `list-buckets lacks ${BUCKET}: ${JSON.stringify(names)}`);
        },
      },
      {
        name: "aws-cli - s3 cp 200 MiB multipart round trip",
        async fn() {
          await writeRandomFile(`${dir}/big.bin`, BIG_BYTES);
          await aws("s3", "cp", "--no-progress", `${dir}/big.bin`, `s3://${BUCKET}/big/big.bin`);
          const head = await s3api("head-object", "--bucket", BUCKET, "--key", "big/big.bin");
          check(head.ContentLength === BIG_BYTES, `ContentLength ${head.ContentLength}`);
          check(/-\d+"$/.test(head.ETag ?? ""), `not a multipart ETag: ${head.ETag}`);
          await aws("s3", "cp", "--no-progress", `s3://${BUCKET}/big/big.bin`, `${dir}/big.down`);
          const [a, b] = [await sha256File(`${dir}/big.bin`), await sha256File(`${dir}/big.down`)];
          check(a === b, `sha256 differs: uploaded ${a}, downloaded ${b}`);
          await Deno.remove(`${dir}/big.down`);
        },
      },
      {
        name: "aws-cli - s3 ls lists buckets and objects",
        async fn() {
          const buckets = (await aws("s3", "ls")).stdout;
          check(buckets.includes(BUCKET), `s3 ls lacks ${BUCKET}:\n${buckets}`);
          const top = (await aws("s3", "ls", `s3://${BUCKET}/`)).stdout;
          check(/PRE big\//.test(top), `s3 ls s3://${BUCKET}/ lacks "PRE big/":\n${top}`);
          const objs = (await aws("s3", "ls", `s3://${BUCKET}/big/`)).stdout;
          check(
            new RegExp(`\\s${BIG_BYTES}\\s+big\\.bin`).test(objs),
            `s3 ls lacks big.bin with ${BIG_BYTES} bytes:\n${objs}`,
          );
        },
      },
      {
        name: `aws-cli - s3 sync uploads a ${TREE_FILES}-file tree`,
        async fn() {
          await makeTree(`${dir}/tree`, TREE_FILES, 11);
          const start = Date.now();
          const out = await aws(
            "s3",
            "sync",
            "--no-progress",
            `${dir}/tree`,
            `s3://${BUCKET}/tree`,
          );
          const took = (Date.now() - start) / 1000;
          const n = uploads(out.stdout).length;
          check(n === TREE_FILES, `uploaded ${n} files, expected ${TREE_FILES}:\n${out.stdout}`);
          // Normally ~2 s; a 60 s stall is a hidden retry after a misparsed
          // response (see the empty-file case below).
          check(took < 30, `sync of ${TREE_FILES} small files took ${took.toFixed(1)} s`);
        },
      },
      {
        name: "aws-cli - s3 cp of an empty file, then a non-empty one on the same connection",
        async fn() {
          // aws-cli sends "Expect: 100-continue" on every PutObject, even an
          // empty one. When the server answers the empty PUT with its final
          // status and no "100 Continue", botocore keeps that status for the
          // pooled connection, misparses the next response on it and stalls
          // until its read timeout, then retries (boto/botocore#3755). One
          // transfer thread puts both PUTs on one connection.
          await Deno.mkdir(`${dir}/expect`, { recursive: true });
          await Deno.writeFile(`${dir}/expect/a-empty.txt`, new Uint8Array(0));
          await Deno.writeTextFile(`${dir}/expect/b-data.txt`, "d".repeat(10000));
          await Deno.writeTextFile(
            `${dir}/one-thread.cfg`,
            "[default]\ns3 =\n  max_concurrent_requests = 1\n",
          );
          const start = Date.now();
          const out = await must(
            AWS_BIN,
            [
              "--endpoint-url",
              t.endpoint,
              "--cli-read-timeout",
              "10",
              "--debug",
              "s3",
              "cp",
              "--recursive",
              "--no-progress",
              `${dir}/expect`,
              `s3://${BUCKET}/expect/`,
            ],
            { env: { ...env, AWS_CONFIG_FILE: `${dir}/one-thread.cfg` }, cwd: dir },
          );
          const took = (Date.now() - start) / 1000;
          const parse = out.stderr.split("\n").find((l) => l.includes("Failed to parse headers"));
          const retried = /Retry needed/.test(out.stderr);
          check(
            !parse && !retried && took < 8,
            `two small PUTs took ${took.toFixed(1)} s${retried ? " with a hidden retry" : ""}` +
              (parse ? `\n${parse.slice(0, 400)}` : ""),
          );
        },
      },
      {
        name: "aws-cli - s3 sync re-uploads only the 2 modified files",
        async fn() {
          await modifyFile(`${dir}/tree/dir1/sub1/file-1.dat`, "a");
          await modifyFile(`${dir}/tree/with space/file name.txt`, "b");
          const out = await aws(
            "s3",
            "sync",
            "--no-progress",
            `${dir}/tree`,
            `s3://${BUCKET}/tree`,
          );
          const up = uploads(out.stdout);
          check(up.length === 2, `uploaded ${up.length} files, expected 2:\n${out.stdout}`);
        },
      },
      {
        name: "aws-cli - s3 sync down reproduces the tree",
        async fn() {
          await aws("s3", "sync", "--no-progress", `s3://${BUCKET}/tree`, `${dir}/tree.down`);
          await assertSameTree(`${dir}/tree`, `${dir}/tree.down`);
        },
      },
      {
        name: "aws-cli - s3api get-object --range bytes=0-99",
        async fn() {
          const r = await s3api(
            "get-object",
            "--bucket",
            BUCKET,
            "--key",
            "big/big.bin",
            "--range",
            "bytes=0-99",
            `${dir}/range.out`,
          );
          check(r.ContentLength === 100, `ContentLength ${r.ContentLength}, expected 100`);
          check(
            r.ContentRange === `bytes 0-99/${BIG_BYTES}`,
            `ContentRange ${JSON.stringify(r.ContentRange)}`,
          );
          const got = await Deno.readFile(`${dir}/range.out`);
          const f = await Deno.open(`${dir}/big.bin`);
          const want = new Uint8Array(100);
          await f.read(want);
          f.close();
          check(
            got.length === 100 && got.every((v, i) => v === want[i]),
            `range body differs (${got.length} bytes)`,
          );
        },
      },
      {
        name: "aws-cli - s3api copy-object",
        async fn() {
          const src = "tree/dir2/sub2/file-2.dat";
          const r = await s3api(
            "copy-object",
            "--bucket",
            BUCKET,
            "--key",
            "copies/file-2.dat",
            "--copy-source",
            `${BUCKET}/${src}`,
          );
          const srcHead = await s3api("head-object", "--bucket", BUCKET, "--key", src);
          check(
            r.CopyObjectResult?.ETag === srcHead.ETag,
            `copy ETag ${r.CopyObjectResult?.ETag} != source ETag ${srcHead.ETag}`,
          );
          await s3api(
            "get-object",
            "--bucket",
            BUCKET,
            "--key",
            "copies/file-2.dat",
            `${dir}/copy.out`,
          );
          const [a, b] = [
            await sha256File(`${dir}/tree/${src.slice(5)}`),
            await sha256File(`${dir}/copy.out`),
          ];
          check(a === b, "copied object differs from its source");
        },
      },
      {
        name:
          "aws-cli - s3api list-object-versions --delimiter / --page-size 1 pages past each prefix",
        async fn() {
          const args = ["list-object-versions", "--bucket", BUCKET, "--delimiter", "/"];
          const whole = await s3api(...args);
          const paged = await s3api(...args, "--page-size", "1");
          const prefixes = (r: { CommonPrefixes?: { Prefix: string }[] }) =>
            (r.CommonPrefixes ?? []).map((p) => p.Prefix).join(",");
          check(prefixes(whole).split(",").length >= 3, `prefixes: ${prefixes(whole)}`);
          check(
            prefixes(paged) === prefixes(whole),
            `paged ${prefixes(paged)} != whole ${prefixes(whole)}`,
          );
        },
      },
      {
        name: "aws-cli - s3 rm --recursive empties the bucket",
        async fn() {
          const out = await aws("s3", "rm", "--recursive", `s3://${BUCKET}/`);
          const n = out.stdout.split("\n").filter((l) => l.startsWith("delete:")).length;
          const want = TREE_FILES + 4; // the tree, big.bin, the copy and expect/ (2)
          check(n === want, `deleted ${n} objects, expected ${want}:\n${out.stdout}`);
          const r = await s3api("list-objects-v2", "--bucket", BUCKET);
          check(!r.Contents?.length, `bucket still lists ${r.Contents?.length} objects`);
          await aws("s3", "rb", `s3://${BUCKET}`);
        },
      },
      {
        name:
          "aws-cli - the Object Lock seed flow: rm adds a marker, deleting the version is refused",
        async fn() {
          const vault = "vault";
          await aws(
            "s3api",
            "create-bucket",
            "--bucket",
            vault,
            "--object-lock-enabled-for-bucket",
          );
          await aws(
            "s3api",
            "put-object-lock-configuration",
            "--bucket",
            vault,
            "--object-lock-configuration",
            '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":1}}}',
          );
          await writeRandomFile(`${dir}/important.bak`, 100_000);
          await aws("s3", "cp", "--no-progress", `${dir}/important.bak`, `s3://${vault}/`);
          const head = await s3api("head-object", "--bucket", vault, "--key", "important.bak");
          check(head.ObjectLockMode === "COMPLIANCE", `lock mode ${head.ObjectLockMode}`);
          await aws("s3", "rm", `s3://${vault}/important.bak`);
          const versions = await s3api("list-object-versions", "--bucket", vault);
          const version = versions.Versions?.[0]?.VersionId;
          check(
            version && versions.DeleteMarkers?.length === 1,
            `versions: ${JSON.stringify(versions)}`,
          );
          const refused = await run(
            AWS_BIN,
            [
              "--endpoint-url",
              t.endpoint,
              "s3api",
              "delete-object",
              "--bucket",
              vault,
              "--key",
              "important.bak",
              "--version-id",
              version,
            ],
            { env, cwd: dir },
          );
          check(
            refused.code !== 0 && refused.stderr.includes("AccessDenied"),
            `delete was not refused: ${refused.stderr}`,
          );
          await aws(
            "s3api",
            "get-object",
            "--bucket",
            vault,
            "--key",
            "important.bak",
            "--version-id",
            version,
            `${dir}/restored.bak`,
          );
          const [a, b] = [
            await sha256File(`${dir}/important.bak`),
            await sha256File(`${dir}/restored.bak`),
          ];
          check(a === b, "the locked version does not read back byte for byte");
        },
      },
      {
        name: "aws-cli - s3 cp with an append-level key works, its s3 rm is refused",
        async fn() {
          const bucket = "awscli-append";
          const appendKey = { id: "awscli-append", secret: "awscli-append-secret-0123" };
          await addAccessKey(t, { ...appendKey, level: "append" });
          await aws("s3", "mb", `s3://${bucket}`);
          await writeRandomFile(`${dir}/append.bin`, 10_000);
          const asAppend = {
            env: {
              ...env,
              AWS_ACCESS_KEY_ID: appendKey.id,
              AWS_SECRET_ACCESS_KEY: appendKey.secret,
            },
            cwd: dir,
          };
          await must(
            AWS_BIN,
            [
              "--endpoint-url",
              t.endpoint,
              "s3",
              "cp",
              "--no-progress",
              `${dir}/append.bin`,
              `s3://${bucket}/`,
            ],
            asAppend,
          );
          const refused = await run(
            AWS_BIN,
            ["--endpoint-url", t.endpoint, "s3", "rm", `s3://${bucket}/append.bin`],
            asAppend,
          );
          check(
            refused.code !== 0 && refused.stderr.includes("AccessDenied"),
            `rm was not refused (exit ${refused.code}): ${refused.stderr}`,
          );
          const head = await s3api("head-object", "--bucket", bucket, "--key", "append.bin");
          check(head.ContentLength === 10_000, `the object is gone: ${JSON.stringify(head)}`);
        },
      },
    ],
  };
}
