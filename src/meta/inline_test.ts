import assert from "node:assert/strict";
import { INLINE_OVERHEAD_BYTES, inlineSealer } from "./inline.ts";
import { withIndex } from "./test_index.ts";

const sealer = inlineSealer(new Uint8Array(32).fill(7));

Deno.test("inline bodies - seal and open round-trip, from empty to 4 KiB", () => {
  for (const size of [0, 1, 100, 4096]) {
    const body = crypto.getRandomValues(new Uint8Array(size));
    const sealed = sealer.seal(body);
    assert.equal(sealed.length, size + INLINE_OVERHEAD_BYTES);
    assert.deepEqual(sealer.open(sealed), body);
  }
});

Deno.test("inline bodies - two seals of one body differ (fresh nonce)", () => {
  const body = new Uint8Array(64);
  assert.notDeepEqual(sealer.seal(body), sealer.seal(body));
});

Deno.test("inline bodies - every flipped byte, another key or a cut body fails the open", () => {
  const body = crypto.getRandomValues(new Uint8Array(40));
  const sealed = sealer.seal(body);
  for (let i = 0; i < sealed.length; i++) {
    const bad = sealed.slice();
    bad[i] ^= 0x80;
    assert.throws(() => sealer.open(bad), /Cannot open an inline object body/, `byte ${i}`);
  }
  assert.throws(() => inlineSealer(new Uint8Array(32)).open(sealed), /does not authenticate/);
  assert.throws(() => sealer.open(sealed.subarray(0, INLINE_OVERHEAD_BYTES - 1)), /format/);
});

Deno.test("inline bodies - the index refuses an inline body that is not the whole object", async () => {
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
