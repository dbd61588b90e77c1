/**
 * Session-13 durability review: a drive whose marker file is damaged
 * (one drive's fault, within m) keeps the whole vault from starting, where a
 * drive that cannot be opened is otherwise offline and the vault serves.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";
import { assertBytesEqual, assertEquals, bodyBytes, randomBytes } from "../helpers/assert_s3.ts";

const B = "marker";

Deno.test({
  name: "Drives - 2+2: one drive's damaged marker does not stop the vault from serving",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "amber-test-marker-" });
    const drives = [0, 1, 2, 3].map((i) => `${root}/drive${i}`);
    const env = { AMBER_DRIVES: drives.join(","), AMBER_EC: "2+2" };
    const dataDir = `${root}/data`;
    const body = randomBytes(300_000, 5);
    try {
      let v = await startVault({ dataDir, env });
      let s3 = s3For(v);
      try {
        await s3.send(new CreateBucketCommand({ Bucket: B }));
        await s3.send(new PutObjectCommand({ Bucket: B, Key: "obj", Body: body }));
      } finally {
        s3.destroy();
        assertEquals(await v.stop(), 0);
      }
      // Drive 2's marker is damaged (a bad sector, a torn block): its first bytes are zeros.
      const marker = `${drives[2]}/amber-drive.json`;
      const bytes = Deno.readFileSync(marker);
      bytes.fill(0, 0, 16);
      Deno.writeFileSync(marker, bytes);
      v = await startVault({ dataDir, env }).catch((e) => {
        throw new Error(
          `the vault did not start with one damaged drive: ${String(e).slice(0, 600)}`,
        );
      });
      s3 = s3For(v);
      try {
        const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: "obj" }));
        assertBytesEqual(await bodyBytes(r.Body), body, "obj");
      } finally {
        s3.destroy();
        await v.stop();
      }
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => undefined);
    }
  },
});
