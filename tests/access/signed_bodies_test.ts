/**
 * What a signature covers (session 10 security review): request documents
 * must match the signed SHA-256, admin changes must sign their body, and the
 * admin API is only for keys that own every bucket.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  assertEquals,
  assertErrorResponse,
  assertOk,
  assertS3Error,
  sha256Hex,
  signedFetch,
  signHeaders,
  vaultSuite,
} from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { createHash } from "node:crypto";

const TOKEN = "signed-bodies-admin-token-0123456789";

vaultSuite("What a signature covers", async ({ t, vault, s3 }) => {
  await s3.send(new CreateBucketCommand({ Bucket: "data", ObjectLockEnabledForBucket: true }));
  await s3.send(new PutObjectCommand({ Bucket: "data", Key: "victim", Body: "v" }));
  await s3.send(new PutObjectCommand({ Bucket: "data", Key: "keep", Body: "k" }));
  const exists = (key: string) =>
    s3.send(new HeadObjectCommand({ Bucket: "data", Key: key })).then(() => true, () => false);

  await t.step("DeleteObjects - a document other than the signed one is refused", async () => {
    // The client signed a request deleting "victim"; someone who saw it sends its head again
    // (within the 15 minutes of allowed skew) with a document of their own.
    const signed = `<Delete><Object><Key>victim</Key></Object><Quiet>true</Quiet></Delete>`;
    const sent = `<Delete><Object><Key>keep</Key></Object><Quiet>true</Quiet></Delete>`;
    const res = await signedFetch(vault, s3, {
      method: "POST",
      path: "/data",
      query: { delete: "" },
      body: sent,
      payloadHash: sha256Hex(signed),
    });
    await assertErrorResponse(res, "XAmzContentSHA256Mismatch", 400);
    assertOk(await exists("keep"), "nothing deleted");
    // The signed one goes through.
    const ok = await signedFetch(vault, s3, {
      method: "POST",
      path: "/data",
      query: { delete: "" },
      body: signed,
    });
    assertEquals(ok.status, 200, await ok.text());
    assertEquals([await exists("victim"), await exists("keep")], [false, true]);
  });

  await t.step("PutObjectLegalHold - a document other than the signed one is refused", async () => {
    const on = `<LegalHold><Status>ON</Status></LegalHold>`;
    const off = `<LegalHold><Status>OFF</Status></LegalHold>`;
    const set = (body: string, payloadHash?: string) =>
      signedFetch(vault, s3, {
        method: "PUT",
        path: "/data/keep",
        query: { "legal-hold": "" },
        body,
        payloadHash,
        headers: { "content-md5": btoa(String.fromCharCode(...md5(body))) },
      });
    const first = await set(on);
    assertEquals(first.status, 200, await first.text());
    await assertErrorResponse(await set(off, sha256Hex(on)), "XAmzContentSHA256Mismatch", 400);
    const hold = await s3.send(new GetObjectLegalHoldCommand({ Bucket: "data", Key: "keep" }));
    assertEquals(hold.LegalHold?.Status, "ON");
  });

  await t.step("CreateBucket - a configuration other than the signed one is refused", async () => {
    const doc = (region: string) =>
      `<CreateBucketConfiguration><LocationConstraint>${region}</LocationConstraint></CreateBucketConfiguration>`;
    const res = await signedFetch(vault, s3, {
      method: "PUT",
      path: "/made",
      body: doc("eu-west-1"),
      payloadHash: sha256Hex(doc("us-east-1")),
    });
    await assertErrorResponse(res, "XAmzContentSHA256Mismatch", 400);
  });

  await t.step(
    "POST /admin/keys - an unsigned body is refused, so a seen head is no use",
    async () => {
      const headers = await signHeaders(vault, s3, {
        method: "POST",
        path: "/admin/keys",
        unsignedPayload: true,
      });
      delete headers.host;
      const res = await fetch(`${vault.endpoint}/admin/keys`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          accessKey: "intruder",
          secretKey: "intruder-0123456789",
          level: "owner",
        }),
      });
      const text = await res.text();
      assertEquals(res.status, 400, text);
      const list = await signedFetch(vault, s3, { method: "GET", path: "/admin/keys" });
      assertOk(!(await list.text()).includes("intruder"), "no key added");
    },
  );

  await t.step("/admin - an owner key with a lower level on one bucket cannot use it", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "secret" }));
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: "secret",
        VersioningConfiguration: { Status: "Enabled" },
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket: "secret", Key: "payroll.csv", Body: "salaries" }));
    const added = await fetch(`${vault.endpoint}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        accessKey: "ops",
        secretKey: "ops-secret-0123456",
        level: "owner",
        buckets: { secret: "none" },
      }),
    });
    assertEquals(added.status, 201, await added.text());
    const ops = s3For(vault, {
      credentials: { accessKeyId: "ops", secretAccessKey: "ops-secret-0123456" },
    });
    try {
      await assertS3Error(
        ops.send(new GetObjectCommand({ Bucket: "secret", Key: "payroll.csv" })),
        "AccessDenied",
        403,
      );
      assertOk(
        !(await ops.send(new ListBucketsCommand({}))).Buckets?.some((b) => b.Name === "secret"),
      );
      // Each of these would reach "secret": a key without the override, a snapshot of it, its
      // audit trail, its policy.
      const attempts: [string, string, unknown][] = [
        ["POST", "/admin/keys", {
          accessKey: "ops-alt",
          secretKey: "ops-alt-0123456789",
          level: "owner",
        }],
        ["POST", "/admin/snapshots", {
          source: "secret",
          bucket: "secret-copy",
          at: new Date().toISOString(),
        }],
        ["GET", "/admin/audit", undefined],
        ["PUT", "/admin/buckets/secret/policy", { quota: { hardBytes: 1 } }],
      ];
      for (const [method, path, body] of attempts) {
        const res = await signedFetch(vault, ops, {
          method,
          path,
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        assertEquals(res.status, 403, `${method} ${path}: ${text.slice(0, 300)}`);
        assertOk(text.includes(`bucket \\"secret\\"`), text);
      }
    } finally {
      ops.destroy();
    }
  });
}, { env: { AMBER_ADMIN_TOKEN: TOKEN } });

/** MD5 of a string (Content-MD5, which a legal hold write needs, as on AWS). */
function md5(text: string): Uint8Array {
  return new Uint8Array(createHash("md5").update(text).digest());
}
