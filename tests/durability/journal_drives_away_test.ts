/**
 * Journal records after the index that cannot be read at start are taken for
 * appends that never finished only when enough drives are there to be sure: at
 * 2+2 with two drives away, acknowledged batches may be the unreadable ones,
 * so the start stops (naming the missing drives) instead of dropping them.
 * Before session 11 they were dropped and tombstoned, and the objects read as
 * missing. (The WAL is removed as a power cut could take it.)
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { startVault, type TestVault } from "../helpers/vault.ts";
import { assertEquals, assertOk, bodyBytes, randomBytes } from "../helpers/assert_s3.ts";

Deno.test({
  name:
    "Journal - acknowledged batches are not dropped as unfinished when drives are away at start",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "amber-review-tail-" });
    const drives = [0, 1, 2, 3].map((i) => `${dataDir}/d${i}`);
    const env = { AMBER_DRIVES: drives.join(","), AMBER_EC: "2+2" };
    let v: TestVault = await startVault({ dataDir, env });
    let s3 = s3For(v);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "bkt1" }));
    } finally {
      s3.destroy();
      assertEquals(await v.stop(), 0); // checkpoint holds the bucket
    }
    // d3 is offline (its path missing) while the PUTs are acknowledged on d0..d2.
    Deno.renameSync(drives[3], `${drives[3]}.away`);
    v = await startVault({ dataDir, env });
    s3 = s3For(v);
    try {
      for (let i = 0; i < 5; i++) {
        await s3.send(
          new PutObjectCommand({ Bucket: "bkt1", Key: `k${i}`, Body: randomBytes(50_000, i) }),
        );
      }
    } finally {
      s3.destroy();
      await v.kill();
    }
    // The power cut took the WAL (not fsync'd at synchronous=NORMAL).
    for (const s of ["-wal", "-shm"]) {
      try {
        Deno.removeSync(`${dataDir}/meta/index.db${s}`);
      } catch { /* none */ }
    }
    // At the restart d3 is back, d1 and d2 are not (yet).

    Deno.renameSync(`${drives[3]}.away`, drives[3]);
    for (const d of drives.slice(1, 3)) {
      Deno.renameSync(d, `${d}.away`);
    }
    const refused = await startVault({ dataDir, env }).then(
      async (started) => {
        await started.stop();
        return "started";
      },
      (e) => String(e),
    );
    assertOk(/unreadable; bring back any drive that is missing/.test(refused), refused);
    // rebuild-index with the drives still away cannot get those batches: it says so, and exits 3.
    const rebuild = async () => {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["task", "-q", "rebuild-index", "--force"],
        cwd: new URL("../..", import.meta.url).pathname,
        env: { AMBER_DATA_DIR: dataDir, AMBER_VAULT_KEY: "test-vault-key", ...env },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code: r.code,
        out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr),
      };
    };
    const partial = await rebuild();
    assertEquals(partial.code, 3, partial.out);
    assertOk(partial.out.includes("acknowledged writes are lost"), partial.out);
    for (const d of drives.slice(1, 3)) {
      try {
        Deno.removeSync(d, { recursive: true });
      } catch { /* none */ }
      Deno.renameSync(`${d}.away`, d);
    }
    // With every drive back, a rebuild gets everything.
    const whole = await rebuild();
    assertEquals(whole.code, 0, whole.out);
    v = await startVault({ dataDir, env });
    s3 = s3For(v);
    try {
      const got: string[] = [];
      for (let i = 0; i < 5; i++) {
        got.push(
          await s3.send(new GetObjectCommand({ Bucket: "bkt1", Key: `k${i}` })).then(
            // Read to the end: a body left unread aborts its socket when the client is destroyed.
            async (g) => (await bodyBytes(g.Body)).length === 50_000 ? "ok" : "short",
            (e) => (e as Error).name,
          ),
        );
      }
      assertEquals(got, ["ok", "ok", "ok", "ok", "ok"], "acknowledged objects are gone");
    } finally {
      s3.destroy();
      await v.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
