/**
 * Index recovery end to end: a real vault (one drive, and four at 2+2)
 * holds a versioned Object Lock bucket with COMPLIANCE retention, a legal
 * hold and delete markers, an unversioned bucket, a multipart upload in
 * progress and a managed access key, written before and after a checkpoint.
 * The index is deleted, `deno task rebuild-index` rebuilds it from the
 * drives, and every object, version, delete marker, lock, retain-until,
 * legal hold, upload and key comes back exactly; a COMPLIANCE delete is
 * still refused, and a scrub of the vault finds nothing wrong. The kill -9 variant proves acknowledged writes after the
 * last checkpoint come back from the journal; at 2+2 the rebuild runs with
 * two of the four drives gone.
 */
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { scrubDataDir } from "../../src/scrub/mod.ts";
import { s3For } from "../helpers/s3_client.ts";
import { removeIndex, runVaultUntilExit, startVault, type TestVault } from "../helpers/vault.ts";
import {
  assertEquals,
  assertOk,
  assertS3Error,
  bodyBytes,
  randomBytes,
  sha256Hex,
} from "../helpers/assert_s3.ts";

const ADMIN_TOKEN = "test-admin-token-0123456789";
const LOCKED = "locked";
const PLAIN = "plain";
const DAY = 86_400_000;
const ROOT = new URL("../..", import.meta.url).pathname;

async function admin(v: TestVault, method: string, path: string, body?: unknown) {
  const res = await fetch(`${v.endpoint}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() as Record<string, unknown> };
}

/** Writes of one phase; `tag` keeps the phases' keys and bodies apart. */
async function write(s3: S3Client, v: TestVault, tag: string, first: boolean): Promise<void> {
  const until = new Date(Date.now() + 2 * DAY);
  if (first) {
    await s3.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true }));
    await s3.send(new CreateBucketCommand({ Bucket: PLAIN }));
    const r = await admin(v, "POST", "/admin/keys", {
      accessKey: "backup",
      secretKey: "backup-secret-0123456789abcdef",
      level: "append",
    });
    assertEquals(r.status, 201, JSON.stringify(r.json));
  }
  for (let i = 0; i < 3; i++) {
    // Two versions of each key, the first under COMPLIANCE retention.
    await s3.send(
      new PutObjectCommand({
        Bucket: LOCKED,
        Key: `${tag}/k${i}`,
        Body: randomBytes(1000 + i * 70_000, i + tag.length),
        ObjectLockMode: "COMPLIANCE",
        ObjectLockRetainUntilDate: until,
      }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: LOCKED,
        Key: `${tag}/k${i}`,
        Body: randomBytes(500 + i, 100 + i),
      }),
    );
  }
  await s3.send(
    new PutObjectLegalHoldCommand({
      Bucket: LOCKED,
      Key: `${tag}/k1`,
      LegalHold: { Status: "ON" },
    }),
  );
  await s3.send(
    new PutObjectRetentionCommand({
      Bucket: LOCKED,
      Key: `${tag}/k2`,
      Retention: { Mode: "GOVERNANCE", RetainUntilDate: new Date(Date.now() + DAY) },
    }),
  );
  await s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: `${tag}/k0` }));
  await s3.send(new PutObjectCommand({ Bucket: PLAIN, Key: `${tag}/a`, Body: "first" }));
  await s3.send(new PutObjectCommand({ Bucket: PLAIN, Key: `${tag}/a`, Body: "second" }));
  await s3.send(new PutObjectCommand({ Bucket: PLAIN, Key: `${tag}/b`, Body: "gone" }));
  await s3.send(new DeleteObjectCommand({ Bucket: PLAIN, Key: `${tag}/b` }));
  const mpu = await s3.send(new CreateMultipartUploadCommand({ Bucket: PLAIN, Key: `${tag}/mpu` }));
  await s3.send(
    new UploadPartCommand({
      Bucket: PLAIN,
      Key: `${tag}/mpu`,
      UploadId: mpu.UploadId,
      PartNumber: 1,
      Body: randomBytes(5 * 1024 * 1024, 7),
    }),
  );
}

/** Everything the test compares: versions with bytes, locks and holds; uploads; keys. */
async function state(s3: S3Client, v: TestVault): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const bucket of [LOCKED, PLAIN]) {
    const list = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const versions = [];
    for (const ver of list.Versions ?? []) {
      const got = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: ver.Key, VersionId: ver.VersionId }),
      );
      const entry: Record<string, unknown> = {
        key: ver.Key,
        versionId: ver.VersionId,
        latest: ver.IsLatest,
        etag: ver.ETag,
        size: ver.Size,
        modified: ver.LastModified?.toISOString(),
        sha256: sha256Hex(await bodyBytes(got.Body)),
      };
      if (bucket === LOCKED) {
        const r = await s3.send(
          new GetObjectRetentionCommand({ Bucket: bucket, Key: ver.Key, VersionId: ver.VersionId }),
        ).catch((e) => ({ Retention: { Mode: (e as Error).name, RetainUntilDate: undefined } }));
        entry.retention = [r.Retention?.Mode, r.Retention?.RetainUntilDate?.toISOString()];
        const h = await s3.send(
          new GetObjectLegalHoldCommand({ Bucket: bucket, Key: ver.Key, VersionId: ver.VersionId }),
        ).catch((e) => ({ LegalHold: { Status: (e as Error).name } }));
        entry.legalHold = h.LegalHold?.Status;
      }
      versions.push(entry);
    }
    out[bucket] = {
      versions,
      deleteMarkers: (list.DeleteMarkers ?? []).map((d) => [
        d.Key,
        d.VersionId,
        d.IsLatest,
        d.LastModified?.toISOString(),
      ]),
    };
  }
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: PLAIN }));
  out.uploads = [];
  for (const u of uploads.Uploads ?? []) {
    const parts = await s3.send(
      new ListPartsCommand({ Bucket: PLAIN, Key: u.Key, UploadId: u.UploadId }),
    );
    (out.uploads as unknown[]).push([
      u.Key,
      u.UploadId,
      (parts.Parts ?? []).map((p) => [p.PartNumber, p.ETag, p.Size]),
    ]);
  }
  out.keys = (await admin(v, "GET", "/admin/keys")).json.keys;
  return out;
}

async function rebuild(
  dataDir: string,
  env: Record<string, string>,
  extra: string[] = [],
): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "rebuild-index", "--json", ...extra],
    cwd: ROOT,
    env: { AMBER_DATA_DIR: dataDir, AMBER_VAULT_KEY: "test-vault-key", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** Runs one scenario: writes, a checkpoint, more writes, then `end` (stop or kill), rebuild, compare. */
async function scenario(drives: number, end: "stop" | "kill"): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "amber-reindex-" });
  const env: Record<string, string> = { AMBER_ADMIN_TOKEN: ADMIN_TOKEN };
  if (drives > 1) {
    env.AMBER_DRIVES = [...Array(drives).keys()].map((i) => `${dataDir}/d${i}`).join(",");
  }
  const rebuildEnv: Record<string, string> = drives > 1 ? { AMBER_DRIVES: env.AMBER_DRIVES } : {};
  let v = await startVault({ dataDir, env });
  let s3 = s3For(v);
  let before: unknown;
  try {
    await write(s3, v, "one", true);
    // A clean restart takes a checkpoint; what follows lives in the journal (or the last checkpoint).
    s3.destroy();
    assertEquals(await v.stop(), 0, v.output().slice(-3000));
    v = await startVault({ dataDir, env });
    s3 = s3For(v);
    await write(s3, v, "two", false);
    before = await state(s3, v);
    const running = await rebuild(dataDir, { ...rebuildEnv }, ["--force"]);
    assertEquals(running.code, 1, running.out);
    assertOk(running.out.includes("running"), running.out);
  } finally {
    s3.destroy();
    if (end === "stop") assertEquals(await v.stop(), 0, v.output().slice(-3000));
    else await v.kill();
  }
  const refused = await rebuild(dataDir, rebuildEnv);
  assertEquals(refused.code, 1, refused.out);
  assertOk(refused.out.includes("--force"), refused.out);
  // One run keeps the old index and passes --force: it must be moved aside, not deleted.
  const force = drives === 1 && end === "stop";
  if (!force) removeIndex(dataDir);
  // At 2+2 the rebuild reads the journal through parity with two drives gone.
  const away = drives > 1 ? [0, 1].map((i) => `${dataDir}/d${i}`) : [];
  for (const d of away) Deno.renameSync(d, `${d}.away`);
  const done = await rebuild(dataDir, rebuildEnv, force ? ["--force"] : []);
  for (const d of away) Deno.renameSync(`${d}.away`, d);
  assertEquals(done.code, 0, done.out);
  const report = JSON.parse(done.out.trim().split("\n").pop()!);
  assertEquals(report.gaps, [], done.out);
  if (end === "kill") assertOk(report.applied > 0, `journal records applied: ${done.out}`);
  if (force) assertOk(Deno.statSync(report.movedAside).isFile, "the old index was moved aside");
  else assertEquals(report.movedAside, undefined);
  v = await startVault({ dataDir, env });
  s3 = s3For(v);
  try {
    assertEquals(await state(s3, v), before);
    type Version = { key: string; versionId: string; retention: string[] };
    const locked = (before as Record<string, { versions: Version[] }>)[LOCKED].versions
      .find((x) => x.key.startsWith("two/") && x.retention[0] === "COMPLIANCE")!;
    await assertS3Error(
      s3.send(
        new DeleteObjectCommand({ Bucket: LOCKED, Key: locked.key, VersionId: locked.versionId }),
      ),
      "AccessDenied",
      403,
    );
    const backup = s3For(v, {
      credentials: { accessKeyId: "backup", secretAccessKey: "backup-secret-0123456789abcdef" },
    });
    try {
      await backup.send(new PutObjectCommand({ Bucket: PLAIN, Key: "after", Body: "x" }));
    } finally {
      backup.destroy();
    }
  } finally {
    s3.destroy();
    assertEquals(await v.stop(), 0, v.output().slice(-3000));
  }
  // Journal records are not "extra" chunks, and the rebuilt reference counts match the manifests.
  const pass = await scrubDataDir(dataDir, {
    drives: drives > 1 ? env.AMBER_DRIVES.split(",") : undefined,
    vaultKey: "test-vault-key",
  });
  assertEquals(
    [pass.found, pass.unrecoverable, pass.refMismatches],
    [0, 0, 0],
    JSON.stringify(pass.findings).slice(0, 1500),
  );
  await Deno.remove(dataDir, { recursive: true });
}

for (const drives of [1, 4]) {
  for (const end of ["stop", "kill"] as const) {
    Deno.test({
      name: `rebuild-index - ${drives} drive(s), ${end}: ListObjectVersions, ` +
        "GetObjectRetention, GetObjectLegalHold, ListParts and keys come back exactly",
      sanitizeOps: false,
      sanitizeResources: false,
      fn: () => scenario(drives, end),
    });
  }
}

Deno.test({
  name:
    "rebuild-index - a damaged index (a page zeroed) stops the start, naming rebuild-index, which brings it back",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "amber-reindex-" });
    let v = await startVault({ dataDir });
    let s3 = s3For(v);
    const bodies = Array.from({ length: 300 }, (_, i) => `object ${i} `.repeat(100 + i));
    try {
      await s3.send(new CreateBucketCommand({ Bucket: PLAIN }));
      for (const [i, body] of bodies.entries()) {
        await s3.send(new PutObjectCommand({ Bucket: PLAIN, Key: `k${i}`, Body: body }));
      }
    } finally {
      s3.destroy();
      assertEquals(await v.stop(), 0, v.output().slice(-3000));
    }
    // Before session 11 this was served (listings failing with 500, or wrong) and then
    // checkpointed over the good copy on the drives.
    const path = `${dataDir}/meta/index.db`;
    const file = Deno.openSync(path, { write: true });
    const pages = Math.floor(Deno.statSync(path).size / 4096);
    file.seekSync(Math.floor(pages / 2) * 4096, Deno.SeekMode.Start);
    file.writeSync(new Uint8Array(4096));
    file.close();
    const refused = await runVaultUntilExit({
      dataDir,
      env: {
        AMBER_VAULT_KEY: "test-vault-key",
        AMBER_ACCESS_KEY: v.accessKey,
        AMBER_SECRET_KEY: v.secretKey,
      },
    });
    assertEquals(refused.code, 1, refused.stderr);
    assertOk(/damaged.*rebuild-index/.test(refused.stderr), refused.stderr);
    const done = await rebuild(dataDir, {}, ["--force"]);
    assertEquals(done.code, 0, done.out);
    v = await startVault({ dataDir });
    s3 = s3For(v);
    try {
      for (const [i, body] of bodies.entries()) {
        const got = await s3.send(new GetObjectCommand({ Bucket: PLAIN, Key: `k${i}` }));
        assertEquals(new TextDecoder().decode(await bodyBytes(got.Body)), body);
      }
    } finally {
      s3.destroy();
      assertEquals(await v.stop(), 0, v.output().slice(-3000));
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
