/**
 * Session-13 durability review: one drive's checkpoint file with a
 * damaged header (its unverified sequence) keeps the whole vault from
 * starting, and rebuild-index, which the error names, does not help.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";
import { assertBytesEqual, assertEquals, bodyBytes, randomBytes } from "../helpers/assert_s3.ts";

const B = "ckpt";
const ROOT = new URL("../..", import.meta.url).pathname;

async function tryStart(dataDir: string, env: Record<string, string>): Promise<string> {
  return await startVault({ dataDir, env }).then(
    async (v) => {
      const s3 = s3For(v);
      try {
        const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: "obj" }));
        assertBytesEqual(await bodyBytes(r.Body), randomBytes(300_000, 9), "obj");
      } finally {
        s3.destroy();
        await v.stop();
      }
      return "started";
    },
    (e) => String(e).slice(0, 1500),
  );
}

Deno.test({
  name: "Drives - 2+2: a damaged checkpoint header on one drive does not stop the vault",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "amber-test-ckpt-" });
    const drives = [0, 1, 2, 3].map((i) => `${root}/drive${i}`);
    const env = { AMBER_DRIVES: drives.join(","), AMBER_EC: "2+2" };
    const dataDir = `${root}/data`;
    try {
      const v = await startVault({ dataDir, env });
      const s3 = s3For(v);
      try {
        await s3.send(new CreateBucketCommand({ Bucket: B }));
        await s3.send(
          new PutObjectCommand({ Bucket: B, Key: "obj", Body: randomBytes(300_000, 9) }),
        );
      } finally {
        s3.destroy();
        assertEquals(await v.stop(), 0); // a clean stop writes a checkpoint on every drive
      }
      // One bit rots in drive 3's checkpoint header (the sequence field, bytes 8..15).
      const ckpt = `${drives[3]}/amber-index.ckpt`;
      const bytes = Deno.readFileSync(ckpt);
      bytes[9] ^= 0x01;
      Deno.writeFileSync(ckpt, bytes);

      const first = await tryStart(dataDir, env);
      // The error names rebuild-index; do as it says, then start again.
      let rebuilt = "";
      if (first !== "started") {
        const r = await new Deno.Command(Deno.execPath(), {
          args: ["task", "-q", "rebuild-index", "--json", "--force"],
          cwd: ROOT,
          env: { AMBER_DATA_DIR: dataDir, AMBER_VAULT_KEY: "test-vault-key", ...env },
          stdout: "piped",
          stderr: "piped",
        }).output();
        rebuilt = `rebuild-index exit ${r.code}`;
      }
      const second = await tryStart(dataDir, env);
      assertEquals(
        { first: first.slice(0, 400), second: second.slice(0, 400), rebuilt },
        { first: "started", second: "started", rebuilt: "" },
      );
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => undefined);
    }
  },
});
