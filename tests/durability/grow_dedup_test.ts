/**
 * Session-13 durability review: after a vault grows from one drive to
 * four (2+2), a NEW upload whose chunks deduplicate against chunks stored
 * under the old geometry (one copy, no parity) is acknowledged, and is lost
 * with that one drive, although the vault now promises to survive two.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { startVault, type TestVault } from "../helpers/vault.ts";
import {
  assertBytesEqual,
  assertEquals,
  assertOk,
  bodyBytes,
  randomBytes,
} from "../helpers/assert_s3.ts";

const B = "grow";

function wipe(path: string): void {
  for (const e of Deno.readDirSync(path)) Deno.removeSync(`${path}/${e.name}`, { recursive: true });
}

async function waitRebuilt(v: TestVault, online: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  let text = "";
  while (Date.now() < deadline) {
    text = await (await fetch(`${v.endpoint}/metrics`)).text();
    if (
      /amber_drives_rebuilding 0\b/.test(text) &&
      new RegExp(`amber_drives_online ${online}\\b`).test(text)
    ) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assertOk(false, text.split("\n").filter((l) => /drive/.test(l)).join("\n"));
}

Deno.test({
  name:
    "Drives - grown from 1 drive to 2+2: a new upload that deduplicates against old chunks survives one lost drive",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "amber-test-grow-" });
    const drives = [0, 1, 2, 3].map((i) => `${root}/drive${i}`);
    const dataDir = `${root}/data`;
    const body = randomBytes(2 * 1024 * 1024, 11);
    try {
      // A one-drive vault holds last week's backup.
      let v = await startVault({ dataDir, env: { AMBER_DRIVES: drives[0] } });
      let s3 = s3For(v);
      try {
        await s3.send(new CreateBucketCommand({ Bucket: B }));
        await s3.send(new PutObjectCommand({ Bucket: B, Key: "backup-1", Body: body }));
      } finally {
        s3.destroy();
        assertEquals(await v.stop(), 0);
      }
      // Three more drives are added; the vault now runs 2+2 (survives two lost drives).
      for (const d of drives.slice(1)) Deno.mkdirSync(d);
      const env = { AMBER_DRIVES: drives.join(","), AMBER_EC: "2+2" };
      v = await startVault({ dataDir, env });
      s3 = s3For(v);
      try {
        await waitRebuilt(v, 4);
        // This week's backup: the same bytes, acknowledged by a 2+2 vault.
        await s3.send(new PutObjectCommand({ Bucket: B, Key: "backup-2", Body: body }));
      } finally {
        s3.destroy();
        assertEquals(await v.stop(), 0);
      }
      // Drive 0 fails and is replaced (one drive lost, within m = 2).
      wipe(drives[0]);
      v = await startVault({ dataDir, env });
      s3 = s3For(v);
      try {
        const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: "backup-2" }));
        assertBytesEqual(await bodyBytes(r.Body), body, "backup-2, acknowledged on 2+2");
      } catch (e) {
        throw new Error(`backup-2: ${(e as Error).message}\n${v.output().slice(-1500)}`);
      } finally {
        s3.destroy();
        await v.stop();
      }
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => undefined);
    }
  },
});
