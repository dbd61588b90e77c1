/**
 * Four-eyes gaps (session-11 review; each failed before): in a bucket whose
 * versioning is Suspended, a DeleteObject without a version id replaces the
 * `null` version (its data) with a marker, so it needs the quorum as a delete
 * by version id does; an approval staged by an approver removed from
 * AMBER_APPROVERS since no longer counts.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { ed25519 } from "@noble/curves/ed25519.js";
import { type ApprovalAction, signApproval } from "../../src/retention/mod.ts";
import { assertEquals, assertS3Error } from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";

const ALICE_SECRET = "alice-hmac-secret-0123456789";
const BOB_KEY = new Uint8Array(32).fill(42);
const MALLORY_KEY = new Uint8Array(32).fill(44);
const SIGNERS = {
  alice: { id: "alice", kind: "hmac" as const, secret: new TextEncoder().encode(ALICE_SECRET) },
  bob: { id: "bob", kind: "ed25519" as const, secret: BOB_KEY },
  mallory: { id: "mallory", kind: "ed25519" as const, secret: MALLORY_KEY },
};
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const pub = (k: Uint8Array) => hex(ed25519.getPublicKey(k));

let nonces = 0;
function approve(who: keyof typeof SIGNERS, action: ApprovalAction, resource: string): string {
  return signApproval(SIGNERS[who], {
    action,
    resource,
    expires: Math.floor(Date.now() / 1000) + 600,
    nonce: `review-d-nonce-${++nonces}`,
  });
}

function stage(endpoint: string, token: string, action: string, resource: string) {
  const q = new URLSearchParams({ action, resource });
  return fetch(`${endpoint}/approve?${q}`, {
    method: "POST",
    headers: { "x-amber-approval": token },
  });
}

function withApprovals<T>(s3: S3Client, tokens: string[], send: () => Promise<T>): Promise<T> {
  const id = "x-amber-approvals";
  s3.middlewareStack.add((next) => (args) => {
    (args.request as { headers: Record<string, string> }).headers["x-amber-approvals"] = tokens
      .join(", ");
    return next(args);
  }, { step: "build", name: id });
  return send().finally(() => s3.middlewareStack.remove(id));
}

Deno.test({
  name:
    "Four-eyes - DeleteObject in a Suspended bucket needs the quorum to remove the null version's data",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({
      env: {
        AMBER_DELETE_QUORUM: "2",
        AMBER_APPROVERS: `alice=hmac:${ALICE_SECRET},bob=ed25519:${pub(BOB_KEY)}`,
      },
    });
    const s3 = s3For(vault);
    try {
      // Control: in an unversioned bucket the same delete is gated.
      await s3.send(new CreateBucketCommand({ Bucket: "plain" }));
      await s3.send(new PutObjectCommand({ Bucket: "plain", Key: "db.bak", Body: "precious" }));
      await assertS3Error(
        s3.send(new DeleteObjectCommand({ Bucket: "plain", Key: "db.bak" })),
        "AccessDenied",
        403,
      );

      await s3.send(new CreateBucketCommand({ Bucket: "susp" }));
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: "susp",
          VersioningConfiguration: { Status: "Enabled" },
        }),
      );
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: "susp",
          VersioningConfiguration: { Status: "Suspended" },
        }),
      );
      await s3.send(new PutObjectCommand({ Bucket: "susp", Key: "db.bak", Body: "precious" }));
      await s3.send(new PutObjectCommand({ Bucket: "susp", Key: "other", Body: "precious" }));
      // No approvals given: this must be refused (it removes version "null", which holds data).
      const r = await s3.send(new DeleteObjectCommand({ Bucket: "susp", Key: "db.bak" })).then(
        () => "deleted",
        (e) => (e as Error).name,
      );
      const r2 = await s3.send(
        new DeleteObjectsCommand({ Bucket: "susp", Delete: { Objects: [{ Key: "other" }] } }),
      );
      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: "susp" }));
      const dataLeft = (versions.Versions ?? []).map((v) => `${v.Key}@${v.VersionId}`);
      // The data is gone without any approver having agreed:
      assertEquals(
        { deleteObject: r, deleteObjectsErrors: r2.Errors?.length ?? 0, dataLeft },
        {
          deleteObject: "AccessDenied",
          deleteObjectsErrors: 1,
          dataLeft: ["db.bak@null", "other@null"],
        },
      );
    } finally {
      s3.destroy();
      await vault.stop();
      await Deno.remove(vault.dataDir, { recursive: true }).catch(() => undefined);
    }
  },
});

Deno.test({
  name: "Four-eyes - a staged approval of an approver since removed no longer counts",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const env = {
      AMBER_DELETE_QUORUM: "2",
      AMBER_APPROVERS: `alice=hmac:${ALICE_SECRET},bob=ed25519:${pub(BOB_KEY)},mallory=ed25519:${
        pub(MALLORY_KEY)
      }`,
    };
    let vault = await startVault({ env });
    let s3 = s3For(vault);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "rot" }));
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: "rot",
          VersioningConfiguration: { Status: "Enabled" },
        }),
      );
      const v1 = (await s3.send(new PutObjectCommand({ Bucket: "rot", Key: "k", Body: "one" })))
        .VersionId!;
      await s3.send(new PutObjectCommand({ Bucket: "rot", Key: "k", Body: "two" }));
      const r1 = `/rot/k?versionId=${v1}`;
      // Mallory's key is stolen; the thief stages an approval.
      const staged = await stage(
        vault.endpoint,
        approve("mallory", "DeleteObject", r1),
        "DeleteObject",
        r1,
      );
      assertEquals(staged.status, 201, await staged.text());
      // The operator removes mallory from the approvers and restarts.
      await vault.stop();
      vault = await startVault({
        dataDir: vault.dataDir,
        port: vault.port,
        env: {
          AMBER_DELETE_QUORUM: "2",
          AMBER_APPROVERS: `alice=hmac:${ALICE_SECRET},bob=ed25519:${pub(BOB_KEY)}`,
        },
      });
      s3 = s3For(vault);
      // One current approver (bob) must not be enough for a quorum of 2.
      const r = await withApprovals(
        s3,
        [approve("bob", "DeleteObject", r1)],
        () => s3.send(new DeleteObjectCommand({ Bucket: "rot", Key: "k", VersionId: v1 })),
      ).then(() => "deleted", (e) => (e as Error).name);
      const still = await s3.send(new GetObjectCommand({ Bucket: "rot", Key: "k", VersionId: v1 }))
        .then(() => true, () => false);
      assertEquals({ r, still }, { r: "AccessDenied", still: true });
    } finally {
      s3.destroy();
      await vault.stop();
      await Deno.remove(vault.dataDir, { recursive: true }).catch(() => undefined);
    }
  },
});
