/**
 * A data dir written by the build before drives and erasure coding (segment
 * format v1: whole sealed chunks, no drive marker), committed under
 * tests/fixtures/format_v1_store/, opens with this build and serves every
 * object byte-identical; the store is adopted as drive 0 and new writes go
 * beside the old records.
 */
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";
import { assertBytesEqual, assertEquals, bodyBytes, randomBytes } from "../helpers/assert_s3.ts";

const FIXTURE = new URL("../fixtures/format_v1_store/", import.meta.url).pathname;
const B = "format-v1";

/** What the fixture was written with (see the module doc of this test). */
const OBJECTS: Record<string, Uint8Array> = {
  "hello.txt": new TextEncoder().encode("hello from format v1\n"),
  "random.bin": randomBytes(300_000, 7),
  "empty": new Uint8Array(0),
};

Deno.test({
  name: "GetObject - a format v1 data dir opens and serves every object",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "amber-v1-" });
    await new Deno.Command("cp", { args: ["-r", `${FIXTURE}.`, dataDir] }).output();
    try {
      let v = await startVault({ dataDir });
      let s3 = s3For(v);
      try {
        for (const [key, body] of Object.entries(OBJECTS)) {
          const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
          assertBytesEqual(await bodyBytes(r.Body), body, key);
        }
        await s3.send(
          new PutObjectCommand({ Bucket: B, Key: "new.bin", Body: randomBytes(200_000, 8) }),
        );
      } finally {
        s3.destroy();
        assertEquals(await v.stop(), 0, v.output().slice(-3000));
      }
      const marker = JSON.parse(await Deno.readTextFile(`${dataDir}/store/amber-drive.json`));
      assertEquals([marker.drive, marker.state], [0, "ready"]);
      v = await startVault({ dataDir });
      s3 = s3For(v);
      try {
        for (
          const [key, body] of Object.entries({ ...OBJECTS, "new.bin": randomBytes(200_000, 8) })
        ) {
          const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
          assertBytesEqual(await bodyBytes(r.Body), body, key);
        }
      } finally {
        s3.destroy();
        assertEquals(await v.stop(), 0, v.output().slice(-3000));
      }
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
