import assert from "node:assert/strict";
import { INLINE_OVERHEAD_BYTES, inlineSealer } from "./inline_body.ts";

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
