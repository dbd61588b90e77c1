/**
 * Someone with disk access but not the vault key keeps a copy of meta/, lets
 * the vault run on, then puts the old copy back: the vault refuses to start,
 * as the drives hold a newer checkpoint. Before session 11 the later changes
 * were undone unnoticed (a legal hold gone, a COMPLIANCE object gone). Not
 * covered: rolling the drives' checkpoints back too.
 */
import {
  CreateBucketCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
} from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";
import { assertEquals, assertOk } from "../helpers/assert_s3.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const B = "locked1";

Deno.test({
  name:
    "Index - an old index.db put back stops the start instead of undoing a legal hold or a COMPLIANCE object",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "amber-review-rollback-" });
    const env = { AMBER_INDEX_CHECKPOINT: "1", AMBER_GC_INTERVAL: "1", AMBER_GC_GRACE: "0" };
    let v = await startVault({ dataDir, env });
    let s3 = s3For(v);
    let held: string | undefined;
    try {
      await s3.send(new CreateBucketCommand({ Bucket: B, ObjectLockEnabledForBucket: true }));
      held = (await s3.send(new PutObjectCommand({ Bucket: B, Key: "held", Body: "evidence" })))
        .VersionId;
    } finally {
      s3.destroy();
      assertEquals(await v.stop(), 0);
    }
    // The attacker's copy of the index (the whole meta dir, state file included).
    const copy = `${dataDir}.meta-copy`;
    await new Deno.Command("cp", { args: ["-a", `${dataDir}/meta`, copy] }).output();
    v = await startVault({ dataDir, env });
    s3 = s3For(v);
    try {
      await s3.send(
        new PutObjectLegalHoldCommand({
          Bucket: B,
          Key: "held",
          VersionId: held,
          LegalHold: { Status: "ON" },
        }),
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: B,
          Key: "compliance",
          Body: "kept for a year",
          ObjectLockMode: "COMPLIANCE",
          ObjectLockRetainUntilDate: new Date(Date.now() + 365 * 86_400_000),
        }),
      );
      await sleep(5000); // checkpoints and collections run
    } finally {
      s3.destroy();
      await v.kill();
    }
    await Deno.remove(`${dataDir}/meta`, { recursive: true });
    await new Deno.Command("cp", { args: ["-a", copy, `${dataDir}/meta`] }).output();
    const refused = await startVault({ dataDir, env }).then(
      async (started) => {
        await started.stop();
        return "started";
      },
      (e) => String(e),
    );
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(copy, { recursive: true });
    assertOk(/behind the checkpoint on the drives.*rebuild-index/.test(refused), refused);
  },
});
