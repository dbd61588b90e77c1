import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { hmacSha256 } from "./hmac.ts";

Deno.test("hmacSha256 - RFC 4231 test cases 1, 2, 6 and 7", () => {
  const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
  const cases: [string | Uint8Array, string | Uint8Array, string][] = [
    [
      new Uint8Array(20).fill(0x0b),
      "Hi There",
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    ],
    [
      "Jefe",
      "what do ya want for nothing?",
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ],
    // A key longer than the block: hashed first.
    [
      new Uint8Array(131).fill(0xaa),
      "Test Using Larger Than Block-Size Key - Hash Key First",
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ],
    [
      new Uint8Array(131).fill(0xaa),
      "This is a test using a larger than block-size key and a larger than block-size data. " +
      "The key needs to be hashed before being used by the HMAC algorithm.",
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ],
  ];
  for (const [key, data, mac] of cases) {
    assert.equal(hmacSha256(key, data).toString("hex"), mac);
    assert.deepEqual(new Uint8Array(hmacSha256(key, data)), hex(mac));
  }
});

Deno.test("hmacSha256 - agrees with createHmac for keys of 0 to 130 bytes and any data", () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
  for (let keyBytes = 0; keyBytes <= 130; keyBytes++) {
    const key = Uint8Array.from({ length: keyBytes }, next);
    const data = Uint8Array.from({ length: next() % 300 }, next);
    assert.equal(
      hmacSha256(key, data).toString("hex"),
      createHmac("sha256", key).update(data).digest("hex"),
      `key of ${keyBytes} bytes`,
    );
  }
  assert.equal(
    hmacSha256("AWS4é", "ünïcode").toString("hex"),
    createHmac("sha256", "AWS4é").update("ünïcode").digest("hex"),
  );
});
