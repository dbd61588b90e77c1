/**
 * Abandoned multipart uploads do not hold space for ever: after
 * AMBER_UPLOAD_EXPIRY they are aborted, audited, and their parts released.
 */
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertOk, assertS3Error, waitFor } from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";

Deno.test({
  name:
    "AbortMultipartUpload - an upload unfinished past AMBER_UPLOAD_EXPIRY is aborted and audited",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({ env: { AMBER_UPLOAD_EXPIRY: "2" } });
    const s3 = s3For(vault);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "expiry" }));
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: "expiry", Key: "abandoned" }),
      );
      await s3.send(
        new UploadPartCommand({
          Bucket: "expiry",
          Key: "abandoned",
          UploadId,
          PartNumber: 1,
          Body: new Uint8Array(1024),
        }),
      );
      await waitFor("the upload is expired", async () => {
        const l = await s3.send(new ListMultipartUploadsCommand({ Bucket: "expiry" }));
        return (l.Uploads ?? []).length === 0;
      }, 15_000);
      await assertS3Error(
        s3.send(
          new UploadPartCommand({
            Bucket: "expiry",
            Key: "abandoned",
            UploadId,
            PartNumber: 2,
            Body: "late",
          }),
        ),
        "NoSuchUpload",
        404,
      );
    } finally {
      s3.destroy();
      assertEquals(await vault.stop(), 0);
    }
    const db = new DatabaseSync(`${vault.dataDir}/meta/index.db`, { readOnly: true });
    const row = db.prepare("SELECT target, detail FROM audit WHERE op = 'abortUpload'").get() as
      | { target: string; detail: string }
      | undefined;
    db.close();
    assertOk(row?.target.startsWith("/expiry/abandoned?uploadId="), JSON.stringify(row));
    assertOk(/expired: unfinished for more than 2 s/.test(row!.detail), row!.detail);
  },
});
