/**
 * Per-key upload windows and the upload-anytime right: a key writes only
 * inside its own windows and its bucket's, unless it holds upload-anytime.
 */
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { assertEquals, assertOk, assertS3Error } from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault, type TestVault } from "../helpers/vault.ts";
import { setPolicy } from "../quota/helpers.ts";

const ADMIN_TOKEN = "windows-admin-token-0123456789";

function keys(vault: TestVault, method: string, path: string, body: unknown) {
  return fetch(`${vault.endpoint}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify(body),
  });
}

/** A daily window that opens two hours from now and lasts an hour: closed now. */
function closedWindow(): { cron: string; durationMinutes: number } {
  return { cron: `0 ${(new Date().getUTCHours() + 2) % 24} * * *`, durationMinutes: 60 };
}

Deno.test({
  name: "Upload windows - a key's own window, its bucket's, and the upload-anytime right",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({ env: { AMBER_ADMIN_TOKEN: ADMIN_TOKEN } });
    const root = s3For(vault);
    const job = s3For(vault, {
      credentials: { accessKeyId: "job", secretAccessKey: "job-secret-0123456789" },
    });
    try {
      await root.send(new CreateBucketCommand({ Bucket: "nightly" }));
      const added = await keys(vault, "POST", "/admin/keys", {
        accessKey: "job",
        secretKey: "job-secret-0123456789",
        level: "append",
        uploadWindows: [closedWindow()],
      });
      assertEquals(added.status, 201, await added.text());
      const put = (key: string) =>
        job.send(new PutObjectCommand({ Bucket: "nightly", Key: key, Body: "b" }));

      const byKey = await assertS3Error(put("a"), "AccessDenied", 403);
      assertOk(
        /Writes by access key "job" are accepted only inside its upload window/.test(byKey.message),
        byKey.message,
      );

      // The key's own window open (every minute, for an hour), the bucket's closed.
      const open = await keys(vault, "PATCH", "/admin/keys/job", {
        uploadWindows: [{ cron: "* * * * *", durationMinutes: 60 }],
      });
      assertEquals(open.status, 200, await open.text());
      await put("b");
      await setPolicy(vault, root, "nightly", { uploadWindows: [closedWindow()] });
      const byBucket = await assertS3Error(put("c"), "AccessDenied", 403);
      assertOk(/Writes to bucket "nightly"/.test(byBucket.message), byBucket.message);

      const anytime = await keys(vault, "PATCH", "/admin/keys/job", { uploadAnytime: true });
      const info = await anytime.json();
      assertEquals(anytime.status, 200, JSON.stringify(info));
      assertEquals(info.key.uploadAnytime, true);
      await put("d");

      const bad = await keys(vault, "PATCH", "/admin/keys/job", {
        uploadWindows: [{ cron: "0 25 * * *", durationMinutes: 60 }],
      });
      assertEquals(bad.status, 400);
      assertOk(
        /Invalid upload windows for access key "job"/.test((await bad.json()).error.message),
      );
    } finally {
      root.destroy();
      job.destroy();
      assertEquals(await vault.stop(), 0);
    }
  },
});
