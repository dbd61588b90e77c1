/**
 * Four-eyes deletes: with AMBER_DELETE_QUORUM=2, removing a version,
 * deleting a bucket, changing lock configuration or bypassing governance needs
 * two distinct approvers, given in the request or staged beforehand; each
 * approval is used once, and refusals are audited. Session 11 (each failed
 * before): a DeleteObject without a version id in a Suspended bucket, which
 * replaces the `null` version's data, needs the quorum; an approval staged by
 * an approver since removed from AMBER_APPROVERS no longer counts.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { ed25519 } from "@noble/curves/ed25519.js";
import { DatabaseSync } from "node:sqlite";
import { type ApprovalAction, signApproval } from "../../src/retention/mod.ts";
import {
  assertEquals,
  assertOk,
  assertS3Error,
  bodyBytes,
  signedFetch,
} from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault, type TestVault } from "../helpers/vault.ts";

const ALICE_SECRET = "alice-hmac-secret-0123456789";
const BOB_KEY = new Uint8Array(32).fill(42);
const CAROL_KEY = new Uint8Array(32).fill(43);
const MALLORY_KEY = new Uint8Array(32).fill(44);
const SIGNERS = {
  alice: { id: "alice", kind: "hmac" as const, secret: new TextEncoder().encode(ALICE_SECRET) },
  bob: { id: "bob", kind: "ed25519" as const, secret: BOB_KEY },
  carol: { id: "carol", kind: "ed25519" as const, secret: CAROL_KEY },
  mallory: { id: "mallory", kind: "ed25519" as const, secret: MALLORY_KEY },
};
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const pub = (k: Uint8Array) => hex(ed25519.getPublicKey(k));

let nonces = 0;
function approve(
  vault: Pick<TestVault, "vaultId">,
  who: keyof typeof SIGNERS,
  action: ApprovalAction,
  resource: string,
  atMs = Date.now(),
): string {
  return signApproval(SIGNERS[who], {
    vault: vault.vaultId,
    action,
    resource,
    expires: Math.floor(atMs / 1000) + 600,
    nonce: `test-nonce-${++nonces}`,
  });
}

/** Sends `command` with `X-Amber-Approvals` set to `tokens`. */
function withApprovals<T>(s3: S3Client, tokens: string[], send: () => Promise<T>): Promise<T> {
  const id = "x-amber-approvals";
  s3.middlewareStack.add((next) => (args) => {
    (args.request as { headers: Record<string, string> }).headers["x-amber-approvals"] = tokens
      .join(", ");
    return next(args);
  }, { step: "build", name: id });
  return send().finally(() => s3.middlewareStack.remove(id));
}

function stage(vault: TestVault, token: string, action: string, resource: string) {
  const q = new URLSearchParams({ action, resource });
  return fetch(`${vault.endpoint}/approve?${q}`, {
    method: "POST",
    headers: { "x-amber-approval": token },
  });
}

Deno.test({
  name: "Four-eyes - version deletes, bucket deletes, lock changes and bypass need two approvers",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const vault = await startVault({
      env: {
        AMBER_DELETE_QUORUM: "2",
        AMBER_APPROVERS: `alice=hmac:${ALICE_SECRET},bob=ed25519:${
          hex(ed25519.getPublicKey(BOB_KEY))
        },carol=ed25519:${hex(ed25519.getPublicKey(CAROL_KEY))}`,
      },
    });
    const s3 = s3For(vault);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "feyes" }));
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: "feyes",
          VersioningConfiguration: { Status: "Enabled" },
        }),
      );
      const v1 = (await s3.send(new PutObjectCommand({ Bucket: "feyes", Key: "k", Body: "one" })))
        .VersionId!;
      const v2 = (await s3.send(new PutObjectCommand({ Bucket: "feyes", Key: "k", Body: "two" })))
        .VersionId!;
      const r1 = `/feyes/k?versionId=${v1}`;
      const deleteV1 = () =>
        s3.send(new DeleteObjectCommand({ Bucket: "feyes", Key: "k", VersionId: v1 }));

      await t.step("DeleteObject - a version delete without approvals is refused", async () => {
        const e = await assertS3Error(deleteV1(), "AccessDenied", 403);
        assertEquals(
          e.message,
          `DeleteObject on "${r1}" needs approvals from 2 distinct approvers (AMBER_DELETE_QUORUM); it has 0`,
        );
      });

      await t.step(
        "DeleteObject - one approver twice, or an approval for another version, is not two",
        async () => {
          const tokens = [
            approve(vault, "alice", "DeleteObject", r1),
            approve(vault, "alice", "DeleteObject", r1),
            approve(vault, "bob", "DeleteObject", `/feyes/k?versionId=${v2}`),
          ];
          await assertS3Error(withApprovals(s3, tokens, deleteV1), "AccessDenied", 403);
        },
      );

      await t.step(
        "DeleteObject - approvals made for another vault (a replica with the same buckets) do not count",
        async () => {
          // The same approvers, bucket, key and version id; only the vault id differs.
          const replica = { vaultId: [...vault.vaultId].reverse().join("") };
          assertOk(/^[0-9a-f]{32}$/.test(vault.vaultId), vault.vaultId);
          const tokens = [
            approve(replica, "alice", "DeleteObject", r1),
            approve(replica, "bob", "DeleteObject", r1),
          ];
          const e = await assertS3Error(withApprovals(s3, tokens, deleteV1), "AccessDenied", 403);
          assertOk(/on this vault/.test(e.message), e.message);
          const staged = await stage(vault, tokens[0], "DeleteObject", r1);
          assertEquals(staged.status, 403, await staged.text());
        },
      );

      await t.step(
        "DeleteObject - a staged approval plus one in the request deletes the version",
        async () => {
          const res = await stage(
            vault,
            approve(vault, "bob", "DeleteObject", r1),
            "DeleteObject",
            r1,
          );
          const body = await res.json();
          assertEquals(res.status, 201, JSON.stringify(body));
          assertEquals(body.approver, "bob");
          await withApprovals(s3, [approve(vault, "alice", "DeleteObject", r1)], deleteV1);
          const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: "feyes" }));
          assertEquals(versions.Versions?.map((v) => v.VersionId), [v2]);
        },
      );

      await t.step("POST /approve - a forged or reused approval is refused in JSON", async () => {
        const token = approve(vault, "carol", "DeleteObject", `/feyes/k?versionId=${v2}`);
        assertEquals(
          (await stage(vault, token, "DeleteObject", `/feyes/k?versionId=${v2}`)).status,
          201,
        );
        const again = await stage(vault, token, "DeleteObject", `/feyes/k?versionId=${v2}`);
        const body = await again.json();
        assertEquals(again.status, 403);
        assertEquals(body.error.code, "AccessDenied");
        assertOk(/already used/.test(body.error.message), body.error.message);
        const forged = await stage(vault, token, "DeleteBucket", "/feyes");
        assertEquals(forged.status, 403);
        assertOk(/is not for DeleteBucket \/feyes/.test((await forged.json()).error.message));
      });

      await t.step("DeleteObject - a replayed request approval does not count twice", async () => {
        const v3 = (await s3.send(new PutObjectCommand({ Bucket: "feyes", Key: "k", Body: "3" })))
          .VersionId!;
        const r3 = `/feyes/k?versionId=${v3}`;
        const alice = approve(vault, "alice", "DeleteObject", r3);
        const del = () =>
          s3.send(new DeleteObjectCommand({ Bucket: "feyes", Key: "k", VersionId: v3 }));
        // Alone it is short, so the refusal rolls back and alice's approval is still unused.
        await assertS3Error(withApprovals(s3, [alice], del), "AccessDenied", 403);
        await withApprovals(s3, [alice, approve(vault, "carol", "DeleteObject", r3)], del);
        const reused = await stage(vault, alice, "DeleteObject", r3);
        assertEquals(reused.status, 403);
      });

      await t.step(
        "DeleteObject - a delete marker needs no approvals; DeleteObjects names each refusal",
        async () => {
          const marker = await s3.send(new DeleteObjectCommand({ Bucket: "feyes", Key: "k" }));
          assertEquals(marker.DeleteMarker, true);
          const r = await s3.send(
            new DeleteObjectsCommand({
              Bucket: "feyes",
              Delete: { Objects: [{ Key: "k", VersionId: v2 }, { Key: "other" }] },
            }),
          );
          assertEquals(r.Errors?.map((e) => [e.Key, e.Code]), [["k", "AccessDenied"]]);
          assertEquals(r.Deleted?.map((d) => d.Key), ["other"]);
          const body = await s3.send(
            new GetObjectCommand({ Bucket: "feyes", Key: "k", VersionId: v2 }),
          );
          assertEquals(await body.Body!.transformToString(), "two");
        },
      );

      await t.step("DeleteBucket - an empty bucket goes only with two approvals", async () => {
        await s3.send(new CreateBucketCommand({ Bucket: "fe-empty" }));
        const del = () => s3.send(new DeleteBucketCommand({ Bucket: "fe-empty" }));
        await assertS3Error(del(), "AccessDenied", 403);
        await withApprovals(s3, [
          approve(vault, "bob", "DeleteBucket", "/fe-empty"),
          approve(vault, "carol", "DeleteBucket", "/fe-empty"),
        ], del);
      });

      await t.step(
        "PutObjectLockConfiguration and a governance bypass need two approvals",
        async () => {
          await s3.send(
            new CreateBucketCommand({ Bucket: "fe-lock", ObjectLockEnabledForBucket: true }),
          );
          const config = (Rule?: { DefaultRetention: { Mode: "GOVERNANCE"; Days: number } }) =>
            s3.send(
              new PutObjectLockConfigurationCommand({
                Bucket: "fe-lock",
                ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule },
              }),
            );
          const oneDay = () => config({ DefaultRetention: { Mode: "GOVERNANCE", Days: 1 } });
          await assertS3Error(oneDay(), "AccessDenied", 403);
          // An approval names the settings: one given for a 1-day default does not remove it.
          const forOneDay = [
            approve(
              vault,
              "alice",
              "PutObjectLockConfiguration",
              "/fe-lock?retention=GOVERNANCE:1d",
            ),
            approve(vault, "bob", "PutObjectLockConfiguration", "/fe-lock?retention=GOVERNANCE:1d"),
          ];
          await assertS3Error(withApprovals(s3, forOneDay, () => config()), "AccessDenied", 403);
          await withApprovals(s3, forOneDay, oneDay);
          const v =
            (await s3.send(new PutObjectCommand({ Bucket: "fe-lock", Key: "g", Body: "g" })))
              .VersionId!;
          const until = new Date(Date.now() + 60_000);
          const shorten = () =>
            s3.send(
              new PutObjectRetentionCommand({
                Bucket: "fe-lock",
                Key: "g",
                VersionId: v,
                BypassGovernanceRetention: true,
                Retention: { Mode: "GOVERNANCE", RetainUntilDate: until },
              }),
            );
          await assertS3Error(shorten(), "AccessDenied", 403);
          const res = `/fe-lock/g?versionId=${v}&retention=GOVERNANCE:${until.toISOString()}`;
          await withApprovals(s3, [
            approve(vault, "alice", "PutObjectRetention", res),
            approve(vault, "carol", "PutObjectRetention", res),
          ], shorten);
          // Extending needs no bypass, so no approvals.
          await s3.send(
            new PutObjectRetentionCommand({
              Bucket: "fe-lock",
              Key: "g",
              VersionId: v,
              Retention: { Mode: "GOVERNANCE", RetainUntilDate: new Date(Date.now() + 120_000) },
            }),
          );
        },
      );

      await t.step(
        "POST /admin/clock - a time attestation needs the quorum and never runs ahead",
        async () => {
          const attest = (time: string, tokens: string[]) =>
            signedFetch(vault, s3, {
              method: "POST",
              path: "/admin/clock",
              headers: { "x-amber-approvals": tokens.join(",") },
              body: JSON.stringify({ time }),
            });
          const now = new Date().toISOString();
          const resource = `/?time=${Date.parse(now)}`;
          const short = await attest(now, [approve(vault, "alice", "AttestTime", resource)]);
          assertEquals(short.status, 403);
          assertEquals((await short.json()).error.code, "AccessDenied");
          const ok = await attest(now, [
            approve(vault, "alice", "AttestTime", resource),
            approve(vault, "bob", "AttestTime", resource),
          ]);
          const body = await ok.json();
          assertEquals(ok.status, 200, JSON.stringify(body));
          assertOk(Date.parse(body.trusted) >= Date.parse(now) - 1000, body.trusted);
          const futureMs = Date.now() + 86_400_000;
          const fr = `/?time=${futureMs}`;
          const ahead = await attest(new Date(futureMs).toISOString(), [
            approve(vault, "alice", "AttestTime", fr, futureMs),
            approve(vault, "bob", "AttestTime", fr, futureMs),
          ]);
          assertEquals(ahead.status, 403);
          assertOk(/ahead of the system clock/.test((await ahead.json()).error.message));
        },
      );
    } finally {
      s3.destroy();
      assertEquals(await vault.stop(), 0);
    }
    const db = new DatabaseSync(`${vault.dataDir}/meta/index.db`, { readOnly: true });
    const refused = db.prepare(
      "SELECT op, detail FROM audit WHERE outcome = 'refused' AND detail LIKE '%AMBER_DELETE_QUORUM%'",
    ).all() as { op: string; detail: string }[];
    db.close();
    assertOk(refused.some((r) => r.op === "deleteObject"), JSON.stringify(refused));
    assertOk(refused.some((r) => r.op === "deleteBucket"), JSON.stringify(refused));
  },
});

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
        vault,
        approve(vault, "mallory", "DeleteObject", r1),
        "DeleteObject",
        r1,
      );
      assertEquals(staged.status, 201, await staged.text());
      // The operator removes mallory from the approvers and restarts.
      s3.destroy();
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
        [approve(vault, "bob", "DeleteObject", r1)],
        () => s3.send(new DeleteObjectCommand({ Bucket: "rot", Key: "k", VersionId: v1 })),
      ).then(() => "deleted", (e) => (e as Error).name);
      // The body is read to its end: a response left unread aborts its socket at destroy().
      const still = await s3.send(new GetObjectCommand({ Bucket: "rot", Key: "k", VersionId: v1 }))
        .then(async (g) => (await bodyBytes(g.Body)).length > 0, () => false);
      assertEquals({ r, still }, { r: "AccessDenied", still: true });
    } finally {
      s3.destroy();
      await vault.stop();
      await Deno.remove(vault.dataDir, { recursive: true }).catch(() => undefined);
    }
  },
});
