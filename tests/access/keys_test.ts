/**
 * Managed access keys end to end: levels and per-bucket overrides as the AWS
 * SDK sees them, the bypass right, source allow-lists, revocation without a
 * restart, keys across a restart, the admin API's gate and errors, and the
 * `deno task keys` command against a running vault.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { DatabaseSync } from "node:sqlite";
import {
  assertEquals,
  assertOk,
  assertS3Error,
  bodyBytes,
  signedFetch,
} from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault, type TestVault } from "../helpers/vault.ts";

const ADMIN_TOKEN = "test-admin-token-0123456789";
const DAY = 86_400_000;
const denied = (p: Promise<unknown>) => assertS3Error(p, "AccessDenied", 403);
const text = async (body: unknown) => new TextDecoder().decode(await bodyBytes(body as never));

/** Calls the admin API with a bearer token (the right one unless told otherwise). */
async function admin(
  vault: TestVault,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = ADMIN_TOKEN,
): Promise<{ status: number; json: Record<string, unknown>; requestId: string | null }> {
  const res = await fetch(`${vault.endpoint}${path}`, {
    method,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: res.status,
    json: await res.json(),
    requestId: res.headers.get("x-amz-request-id"),
  };
}

async function addKey(vault: TestVault, key: Record<string, unknown>): Promise<void> {
  const r = await admin(vault, "POST", "/admin/keys", key);
  assertEquals(r.status, 201, JSON.stringify(r.json));
}

function clientFor(vault: TestVault, accessKeyId: string, secretAccessKey: string): S3Client {
  return s3For(vault, { credentials: { accessKeyId, secretAccessKey } });
}

function assertJsonError(
  r: { status: number; json: Record<string, unknown>; requestId: string | null },
  status: number,
  code: string,
): void {
  const err = r.json.error as { code: string; message: string; requestId: string };
  assertEquals([r.status, err?.code], [status, code], JSON.stringify(r.json));
  assertOk(err.message, "the error has a message");
  assertEquals(err.requestId, r.requestId, "the body names the x-amz-request-id");
}

Deno.test({
  name: "Access keys and levels",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    let vault = await startVault({ env: { AMBER_ADMIN_TOKEN: ADMIN_TOKEN } });
    const clients: S3Client[] = [];
    const as = (id: string, secret: string) => {
      const c = clientFor(vault, id, secret);
      clients.push(c);
      return c;
    };
    const root = as(vault.accessKey, vault.secretKey);
    try {
      await root.send(
        new CreateBucketCommand({ Bucket: "data", ObjectLockEnabledForBucket: true }),
      );
      await root.send(new CreateBucketCommand({ Bucket: "logs" }));
      await root.send(new CreateBucketCommand({ Bucket: "other" }));
      const seed = await root.send(
        new PutObjectCommand({ Bucket: "data", Key: "seed", Body: "seed bytes" }),
      );

      await t.step(
        "/admin/keys - the admin token gates it; a wrong one gets a JSON 403",
        async () => {
          assertJsonError(
            await admin(vault, "GET", "/admin/keys", undefined, null),
            403,
            "AccessDenied",
          );
          assertJsonError(
            await admin(vault, "GET", "/admin/keys", undefined, "not-the-admin-token-at-all"),
            403,
            "AccessDenied",
          );
          const ok = await admin(vault, "GET", "/admin/keys");
          assertEquals([ok.status, ok.json.keys], [200, []]);
          assertEquals(ok.json.requestId, ok.requestId);
          // Root signs with SigV4 and holds owner everywhere, so it may use the admin API too.
          const signed = await signedFetch(vault, root, { method: "GET", path: "/admin/keys" });
          assertEquals(signed.status, 200);
          await signed.body?.cancel();
        },
      );

      await t.step("POST /admin/keys - bad keys get JSON errors naming the problem", async () => {
        const cases: [unknown, number, string][] = [
          [{ accessKey: "x", level: "read" }, 400, "InvalidArgument"],
          [{ accessKey: "app-key", level: "admin" }, 400, "InvalidArgument"],
          [
            { accessKey: "app-key", level: "read", allowFrom: ["10.0.0.0/99"] },
            400,
            "InvalidArgument",
          ],
          [
            { accessKey: "app-key", level: "read", buckets: { "Bad_Name": "read" } },
            400,
            "InvalidArgument",
          ],
          [{ accessKey: "app-key", level: "read", secretKey: "short" }, 400, "InvalidArgument"],
          [{ accessKey: "app-key" }, 400, "InvalidArgument"],
          [{ accessKey: vault.accessKey, level: "read" }, 409, "EntityAlreadyExists"],
        ];
        for (const [body, status, code] of cases) {
          assertJsonError(await admin(vault, "POST", "/admin/keys", body), status, code);
        }
        assertJsonError(
          await admin(vault, "DELETE", "/admin/keys/no-such-key"),
          404,
          "NoSuchEntity",
        );
        assertJsonError(
          await admin(vault, "DELETE", `/admin/keys/${vault.accessKey}`),
          400,
          "InvalidRequest",
        );
      });

      const backupSecret = "backup-secret-0123456789";
      await addKey(vault, { accessKey: "backup", secretKey: backupSecret, level: "append" });
      const backup = as("backup", backupSecret);

      await t.step("GET /admin/keys - lists grants and never a secret", async () => {
        const r = await admin(vault, "GET", "/admin/keys");
        const raw = JSON.stringify(r.json);
        assertOk(!raw.includes(backupSecret), "the listing shows no secret");
        assertOk(!raw.includes("s1."), "the listing shows no sealed secret either");
        const [k] = r.json.keys as Record<string, unknown>[];
        assertEquals(
          [k.accessKey, k.level, k.buckets, k.bypassGovernance, k.allowFrom],
          ["backup", "append", {}, false, []],
        );
        const dup = await admin(vault, "POST", "/admin/keys", {
          accessKey: "backup",
          level: "read",
        });
        assertJsonError(dup, 409, "EntityAlreadyExists");
      });

      await t.step(
        "PutObject, multipart - an append key creates objects and versions",
        async () => {
          await backup.send(new PutObjectCommand({ Bucket: "data", Key: "seed", Body: "v2" }));
          const { UploadId } = await backup.send(
            new CreateMultipartUploadCommand({ Bucket: "data", Key: "big" }),
          );
          const part = await backup.send(
            new UploadPartCommand({
              Bucket: "data",
              Key: "big",
              UploadId,
              PartNumber: 1,
              Body: "multipart bytes",
            }),
          );
          await backup.send(
            new CompleteMultipartUploadCommand({
              Bucket: "data",
              Key: "big",
              UploadId,
              MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
            }),
          );
          const got = await backup.send(new GetObjectCommand({ Bucket: "data", Key: "big" }));
          assertEquals(await text(got.Body), "multipart bytes");
        },
      );

      await t.step(
        "DeleteObject, DeleteObjects, lock and bucket settings - an append key gets AccessDenied",
        async () => {
          // Without a version id this would only add a delete marker: refused all the same.
          await denied(backup.send(new DeleteObjectCommand({ Bucket: "data", Key: "seed" })));
          await denied(
            backup.send(
              new DeleteObjectCommand({ Bucket: "data", Key: "seed", VersionId: seed.VersionId }),
            ),
          );
          await denied(
            backup.send(
              new DeleteObjectsCommand({
                Bucket: "data",
                Delete: { Objects: [{ Key: "seed" }, { Key: "big" }] },
              }),
            ),
          );
          await denied(
            backup.send(
              new PutObjectRetentionCommand({
                Bucket: "data",
                Key: "seed",
                Retention: { Mode: "GOVERNANCE", RetainUntilDate: new Date(Date.now() + DAY) },
              }),
            ),
          );
          await denied(
            backup.send(
              new PutObjectLegalHoldCommand({
                Bucket: "data",
                Key: "seed",
                LegalHold: { Status: "OFF" },
              }),
            ),
          );
          await denied(
            backup.send(
              new PutBucketVersioningCommand({
                Bucket: "logs",
                VersioningConfiguration: { Status: "Enabled" },
              }),
            ),
          );
          await denied(
            backup.send(
              new PutObjectLockConfigurationCommand({
                Bucket: "data",
                ObjectLockConfiguration: { ObjectLockEnabled: "Enabled" },
              }),
            ),
          );
          await denied(backup.send(new CreateBucketCommand({ Bucket: "newbucket" })));
          const { UploadId } = await backup.send(
            new CreateMultipartUploadCommand({ Bucket: "data", Key: "left" }),
          );
          await denied(
            backup.send(new AbortMultipartUploadCommand({ Bucket: "data", Key: "left", UploadId })),
          );
          // Nothing was removed: no delete marker, every version still there.
          const versions = await root.send(
            new ListObjectVersionsCommand({ Bucket: "data", Prefix: "seed" }),
          );
          assertEquals(versions.DeleteMarkers ?? [], []);
          assertEquals(versions.Versions?.length, 2);
        },
      );

      await t.step(
        "PutObject, CompleteMultipartUpload - an append key cannot replace an object in an unversioned bucket",
        async () => {
          await root.send(new PutObjectCommand({ Bucket: "other", Key: "kept", Body: "original" }));
          await denied(
            backup.send(new PutObjectCommand({ Bucket: "other", Key: "kept", Body: "x" })),
          );
          const { UploadId } = await backup.send(
            new CreateMultipartUploadCommand({ Bucket: "other", Key: "kept" }),
          );
          const part = await backup.send(
            new UploadPartCommand({
              Bucket: "other",
              Key: "kept",
              UploadId,
              PartNumber: 1,
              Body: "y",
            }),
          );
          await denied(
            backup.send(
              new CompleteMultipartUploadCommand({
                Bucket: "other",
                Key: "kept",
                UploadId,
                MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
              }),
            ),
          );
          const got = await root.send(new GetObjectCommand({ Bucket: "other", Key: "kept" }));
          assertEquals(await text(got.Body), "original");
          // A new key is fine: nothing is replaced.
          await backup.send(new PutObjectCommand({ Bucket: "other", Key: "fresh", Body: "new" }));
        },
      );

      await t.step("PutObject - a read key cannot write, but reads", async () => {
        await addKey(vault, {
          accessKey: "reader",
          secretKey: "reader-secret-0123",
          level: "read",
        });
        const reader = as("reader", "reader-secret-0123");
        await denied(
          reader.send(new PutObjectCommand({ Bucket: "data", Key: "r", Body: "x" })),
        );
        const got = await reader.send(new GetObjectCommand({ Bucket: "data", Key: "big" }));
        assertEquals(await text(got.Body), "multipart bytes");
      });

      await t.step(
        "ListBuckets, PutObject - per-bucket overrides (`app s3cret read data:write logs:none`)",
        async () => {
          await addKey(vault, {
            accessKey: "app",
            secretKey: "s3cret-app",
            level: "read",
            buckets: { data: "write", logs: "none" },
          });
          const app = as("app", "s3cret-app");
          await app.send(new PutObjectCommand({ Bucket: "data", Key: "app", Body: "a" }));
          await denied(
            app.send(new PutObjectCommand({ Bucket: "other", Key: "app", Body: "a" })),
          );
          await denied(
            app.send(new GetObjectCommand({ Bucket: "logs", Key: "any" })),
          );
          const { Buckets } = await app.send(new ListBucketsCommand({}));
          assertEquals(Buckets?.map((b) => b.Name), ["data", "other"]);
          const all = await root.send(new ListBucketsCommand({}));
          assertEquals(all.Buckets?.map((b) => b.Name), ["data", "logs", "other"]);
        },
      );

      await t.step("PATCH, DELETE /admin/keys - changes and revocation apply at once", async () => {
        const reader = as("reader", "reader-secret-0123");
        const set = await admin(vault, "PATCH", "/admin/keys/reader", {
          buckets: { other: "append" },
        });
        assertEquals(set.status, 200, JSON.stringify(set.json));
        await reader.send(new PutObjectCommand({ Bucket: "other", Key: "r", Body: "x" }));
        const revoked = await admin(vault, "DELETE", "/admin/keys/reader");
        assertEquals([revoked.status, revoked.json.revoked], [200, "reader"]);
        await assertS3Error(
          reader.send(new GetObjectCommand({ Bucket: "other", Key: "r" })),
          "InvalidAccessKeyId",
          403,
        );
      });

      await t.step("GetObject - a key used from outside its allow-list is refused", async () => {
        await addKey(vault, {
          accessKey: "fenced",
          secretKey: "fenced-secret-0123",
          level: "read",
          allowFrom: ["10.0.0.0/8"],
        });
        const fenced = as("fenced", "fenced-secret-0123");
        const e = await denied(fenced.send(new GetObjectCommand({ Bucket: "data", Key: "big" })));
        assertOk(/may not be used from address "127\.0\.0\.1"/.test(e.message), e.message);
        await admin(vault, "PATCH", "/admin/keys/fenced", { allowFrom: ["127.0.0.0/8", "::1"] });
        const got = await fenced.send(new GetObjectCommand({ Bucket: "data", Key: "big" }));
        assertEquals(await text(got.Body), "multipart bytes");
      });

      await t.step(
        "DeleteObject - GOVERNANCE bypass works only for a key with the bypass right",
        async () => {
          const locked = await root.send(
            new PutObjectCommand({
              Bucket: "data",
              Key: "governed",
              Body: "keep me",
              ObjectLockMode: "GOVERNANCE",
              ObjectLockRetainUntilDate: new Date(Date.now() + DAY),
            }),
          );
          await addKey(vault, {
            accessKey: "writer",
            secretKey: "writer-secret-0123",
            level: "write",
          });
          await addKey(vault, {
            accessKey: "breaker",
            secretKey: "breaker-secret-0123",
            level: "write",
            bypassGovernance: true,
          });
          const del = { Bucket: "data", Key: "governed", VersionId: locked.VersionId };
          const writer = as("writer", "writer-secret-0123");
          await denied(
            writer.send(new DeleteObjectCommand({ ...del, BypassGovernanceRetention: true })),
          );
          const breaker = as("breaker", "breaker-secret-0123");
          await denied(
            breaker.send(new DeleteObjectCommand(del)),
          );
          await breaker.send(new DeleteObjectCommand({ ...del, BypassGovernanceRetention: true }));
          const left = await root.send(
            new ListObjectVersionsCommand({ Bucket: "data", Prefix: "governed" }),
          );
          assertEquals(left.Versions ?? [], []);
        },
      );

      await t.step("PUT /admin/keys - replaces the grants; PATCH rotates the secret", async () => {
        const put = await admin(vault, "PUT", "/admin/keys/writer", {
          level: "read",
          buckets: { logs: "write" },
        });
        assertEquals(put.status, 200, JSON.stringify(put.json));
        const one = await admin(vault, "GET", "/admin/keys/writer");
        const k = one.json.key as Record<string, unknown>;
        assertEquals(
          [k.level, k.buckets, k.bypassGovernance, k.allowFrom, "sealedSecret" in k],
          ["read", { logs: "write" }, false, [], false],
        );
        const old = as("writer", "writer-secret-0123");
        await denied(old.send(new PutObjectCommand({ Bucket: "data", Key: "w", Body: "w" })));
        await old.send(new PutObjectCommand({ Bucket: "logs", Key: "w", Body: "w" }));
        const rotated = await admin(vault, "PATCH", "/admin/keys/writer", {
          secretKey: "writer-rotated-0123",
        });
        assertEquals(rotated.status, 200, JSON.stringify(rotated.json));
        await assertS3Error(
          old.send(new GetObjectCommand({ Bucket: "logs", Key: "w" })),
          "SignatureDoesNotMatch",
          403,
        );
        const renewed = as("writer", "writer-rotated-0123");
        const got = await renewed.send(new GetObjectCommand({ Bucket: "logs", Key: "w" }));
        assertEquals(await text(got.Body), "w");
      });

      await t.step(
        "/admin/keys - an owner-level SigV4 key may manage keys, a lesser one may not",
        async () => {
          await addKey(vault, { accessKey: "boss", secretKey: "boss-secret-0123", level: "owner" });
          const boss = as("boss", "boss-secret-0123");
          const ok = await signedFetch(vault, boss, { method: "GET", path: "/admin/keys" });
          assertEquals(ok.status, 200);
          await ok.body?.cancel();
          const app = as("app", "s3cret-app");
          const refused = await signedFetch(vault, app, { method: "GET", path: "/admin/keys" });
          const json = await refused.json();
          assertEquals([refused.status, json.error.code], [403, "AccessDenied"]);
        },
      );

      await t.step(
        "restart - keys survive, revoked keys stay revoked, admin actions are audited",
        async () => {
          assertEquals(await vault.stop(), 0);
          const db = new DatabaseSync(`${vault.dataDir}/meta/index.db`, { readOnly: true });
          const rows = db.prepare(
            "SELECT op, target, outcome, detail FROM audit WHERE target LIKE '/admin/%' OR outcome = 'refused' ORDER BY seq",
          ).all() as { op: string; target: string; outcome: string; detail: string }[];
          db.close();
          const line = (r: (typeof rows)[number]) => `${r.op} ${r.target} ${r.outcome} ${r.detail}`;
          const lines = rows.map(line).join("\n");
          assertOk(
            lines.includes("addAccessKey /admin/keys/backup done by=admin-token level=append"),
            lines,
          );
          assertOk(lines.includes("revokeAccessKey /admin/keys/reader done by=admin-token"), lines);
          assertOk(lines.includes("setAccessKey /admin/keys/fenced done by=admin-token"), lines);
          assertOk(
            /admin GET \/admin\/keys refused AccessDenied: The admin token is not valid/.test(
              lines,
            ),
            lines,
          );
          assertOk(!lines.includes(backupSecret), "no secret in the audit log");
          assertOk(
            lines.includes(
              'DeleteObject /data/seed refused Access key "backup" has append access to bucket "data"; DeleteObject needs write',
            ),
            lines,
          );
          vault = await startVault({
            dataDir: vault.dataDir,
            port: vault.port,
            env: { AMBER_ADMIN_TOKEN: ADMIN_TOKEN },
          });
          const app = as("app", "s3cret-app");
          await app.send(new PutObjectCommand({ Bucket: "data", Key: "after", Body: "a" }));
          await denied(
            as("app", "s3cret-app").send(
              new PutObjectCommand({ Bucket: "other", Key: "a", Body: "a" }),
            ),
          );
          await assertS3Error(
            as("reader", "reader-secret-0123").send(
              new GetObjectCommand({ Bucket: "data", Key: "big" }),
            ),
            "InvalidAccessKeyId",
            403,
          );
        },
      );

      await t.step("deno task keys - add, list and revoke against the running vault", async () => {
        const env = {
          AMBER_PORT: String(vault.port),
          AMBER_DATA_DIR: vault.dataDir,
          AMBER_ADMIN_TOKEN: ADMIN_TOKEN,
          NO_COLOR: "1",
        };
        const cwd = new URL("../..", import.meta.url).pathname;
        const run = async (...args: string[]) => {
          const out = await new Deno.Command(Deno.execPath(), {
            args: ["task", "-q", "keys", ...args],
            env,
            cwd,
            stdout: "piped",
            stderr: "piped",
          }).output();
          const dec = new TextDecoder();
          return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
        };
        const added = await run("add", "cli-key", "-", "append", "logs:read");
        assertEquals(added.code, 0, added.stderr);
        const secret = added.stdout.match(/secret \(shown only now\): (\S+)/)?.[1];
        assertOk(secret, added.stdout);
        const cli = as("cli-key", secret!);
        await cli.send(new PutObjectCommand({ Bucket: "data", Key: "cli", Body: "c" }));
        const listed = await run("list");
        assertEquals(listed.code, 0, listed.stderr);
        assertOk(listed.stdout.split("\n").includes("cli-key append logs:read"), listed.stdout);
        assertOk(!listed.stdout.includes(secret!), "the listing shows no secret");
        const revoked = await run("revoke", "cli-key");
        assertEquals([revoked.code, revoked.stdout.trim()], [0, "revoked cli-key"], revoked.stderr);
        await assertS3Error(
          cli.send(new GetObjectCommand({ Bucket: "data", Key: "cli" })),
          "InvalidAccessKeyId",
          403,
        );
        const missing = await run("revoke", "cli-key");
        assertEquals(missing.code, 1);
        assertOk(
          /NoSuchEntity: Access key "cli-key" does not exist \(request [0-9A-F]+\)/.test(
            missing.stderr,
          ),
          missing.stderr,
        );
      });
    } finally {
      for (const c of clients) c.destroy();
      const code = await vault.stop();
      await Deno.remove(vault.dataDir, { recursive: true }).catch(() => undefined);
      assertEquals(code, 0, `vault exited with ${code}:\n${vault.output().slice(-2000)}`);
    }
  },
});

Deno.test({
  name: "Admin API - another method on an admin path is a JSON 405, not an S3 error",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({ env: { AMBER_ADMIN_TOKEN: ADMIN_TOKEN } });
    try {
      for (
        const [method, path] of [
          ["PATCH", "/admin/keys"],
          ["POST", "/admin/keys/someone"],
          ["DELETE", "/admin/buckets/b/policy"],
          ["PUT", "/admin/audit"],
        ]
      ) {
        assertJsonError(await admin(vault, method, path), 405, "MethodNotAllowed");
      }
    } finally {
      await vault.stop();
    }
  },
});

Deno.test({
  name:
    "Admin API - a chunked body past 64 KiB is refused as it comes, not after it was read whole",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({ env: { AMBER_ADMIN_TOKEN: ADMIN_TOKEN } });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: vault.port });
    try {
      const enc = new TextEncoder();
      const write = async (b: Uint8Array) => {
        for (let at = 0; at < b.length;) at += await conn.write(b.subarray(at));
      };
      await write(enc.encode(
        `POST /admin/keys HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\n` +
          "content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
      ));
      // 128 KiB of a body that goes on (the last chunk never comes): the answer must not wait for it.
      const chunk = enc.encode(`8000\r\n${" ".repeat(0x8000)}\r\n`);
      for (let i = 0; i < 4; i++) await write(chunk);
      const buf = new Uint8Array(4096);
      const n = await Promise.race([
        conn.read(buf),
        new Promise<null>((r) => setTimeout(() => r(null), 5000)),
      ]);
      const head = n ? new TextDecoder().decode(buf.subarray(0, n)) : "(no answer in 5 s)";
      assertOk(head.startsWith("HTTP/1.1 400"), head);
      assertOk(head.includes("too large"), head);
    } finally {
      conn.close();
      await vault.stop();
    }
  },
});
