import assert from "node:assert/strict";
import { withIndex } from "./test_index.ts";

Deno.test("putVersion - the index refuses an inline body that is not the whole object", async () => {
  await withIndex(async (call) => {
    await call({ type: "createBucket", bucket: "b", region: "us-east-1", now: 1 });
    const version = {
      size: 10,
      etag: "e",
      lastModified: 1,
      headers: {},
      userMeta: {},
      manifest: new Uint8Array(0),
    };
    const put = (v: Partial<typeof version> & { inline: Uint8Array }) =>
      call({ type: "putVersion", bucket: "b", key: "k", version: { ...version, ...v } });
    await assert.rejects(put({ inline: new Uint8Array(9) }), /whole object/);
    await assert.rejects(put({ size: 4097, inline: new Uint8Array(4097) }), /at most 4096/);
    await assert.rejects(
      put({ inline: new Uint8Array(10), manifest: new Uint8Array(36) }),
      /no manifest/,
    );
    const body = crypto.getRandomValues(new Uint8Array(10));
    await put({ inline: body });
    const got = await call({ type: "getVersion", bucket: "b", key: "k" });
    assert.deepEqual(got.inline, body);
    assert.equal(got.manifest.length, 0);
  });
});
