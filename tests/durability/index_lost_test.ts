/**
 * The index (meta/index.db and its -wal/-shm) is lost and the vault is
 * started again without rebuild-index, after the collector took the journal
 * below the last checkpoint (checkpoint and GC every second, no grace): it
 * refuses to start, naming rebuild-index. Before session 11 it served an empty
 * index, checkpointed it over the good one on the drives, and the collector
 * then took every object.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { removeIndex, startVault } from "../helpers/vault.ts";
import { assertEquals, assertOk, bodyBytes, randomBytes } from "../helpers/assert_s3.ts";
import { peekCheckpointSeq } from "../../src/store/index_backup.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name:
    "Index - a lost index.db stops the start (the drives hold a newer checkpoint) instead of serving an empty vault",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "amber-review-lost-" });
    const env = { AMBER_INDEX_CHECKPOINT: "1", AMBER_GC_INTERVAL: "1", AMBER_GC_GRACE: "0" };
    let v = await startVault({ dataDir, env });
    let s3 = s3For(v);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "bkt1" }));
      for (let i = 0; i < 5; i++) {
        await s3.send(
          new PutObjectCommand({ Bucket: "bkt1", Key: `k${i}`, Body: randomBytes(200_000, i) }),
        );
      }
      // A few checkpoints and collections: the journal up to the checkpoint is collected.
      await sleep(5000);
    } finally {
      s3.destroy();
      await v.kill();
    }
    assertOk((peekCheckpointSeq(`${dataDir}/store`) ?? 0) > 0, "a checkpoint on the drive");
    removeIndex(dataDir);
    const refused = await startVault({ dataDir, env }).then(
      async (started) => {
        await started.stop();
        return "started";
      },
      (e) => String(e),
    );
    assertOk(/behind the checkpoint on the drives.*rebuild-index/.test(refused), refused);
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "rebuild-index", "--json"],
      cwd: new URL("../..", import.meta.url).pathname,
      env: { AMBER_DATA_DIR: dataDir, AMBER_VAULT_KEY: "test-vault-key" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    v = await startVault({ dataDir, env });
    s3 = s3For(v);
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: "bkt1", Key: "k0" }));
      assertOk((await bodyBytes(got.Body)).length > 0);
    } finally {
      s3.destroy();
      await v.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
