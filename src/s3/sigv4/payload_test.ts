import { deepStrictEqual as assertEquals } from "node:assert";
import { S3Error } from "../errors.ts";
import { decodeAwsChunked } from "./chunked.ts";
import { createChecksumVerifier, createSha256Verifier } from "./payload.ts";

const HELLO_SHA = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

function body(text: string, split = 2): ReadableStream<Uint8Array> {
  const b = new TextEncoder().encode(text);
  return new ReadableStream({
    start(c) {
      for (let o = 0; o < b.length; o += split) c.enqueue(b.slice(o, o + split));
      c.close();
    },
  });
}

async function expectError(p: Promise<unknown>, code: string): Promise<S3Error> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof S3Error)) throw e;
    assertEquals(e.code, code);
    return e;
  }
  throw new Error(`expected ${code}`);
}

Deno.test("createSha256Verifier - passes a matching body and refuses another", async () => {
  const ok = createSha256Verifier(HELLO_SHA.toUpperCase());
  assertEquals(await new Response(body("hello").pipeThrough(ok.stream)).text(), "hello");
  assertEquals(await ok.digest, HELLO_SHA);
  const bad = createSha256Verifier(HELLO_SHA);
  const e = await expectError(
    new Response(body("hellO").pipeThrough(bad.stream)).text(),
    "XAmzContentSHA256Mismatch",
  );
  assertEquals(e.extra?.ClientComputedContentSHA256, HELLO_SHA);
  await expectError(bad.digest, "XAmzContentSHA256Mismatch");
});

Deno.test("createChecksumVerifier - header value", async () => {
  const ok = createChecksumVerifier({ algorithm: "CRC32", expected: "NhCmhg==" });
  assertEquals(await new Response(body("hello").pipeThrough(ok.stream)).text(), "hello");
  assertEquals(await ok.digest, "NhCmhg==");
  const bad = createChecksumVerifier({ algorithm: "CRC32C", expected: "AAAAAA==" });
  const e = await expectError(
    new Response(body("hello").pipeThrough(bad.stream)).text(),
    "BadDigest",
  );
  assertEquals(e.message, "The CRC32C you specified did not match the calculated checksum.");
});

Deno.test("createChecksumVerifier - trailer value from decodeAwsChunked", async () => {
  const wire = "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
  const dec = decodeAwsChunked({ payload: { kind: "streaming-unsigned-trailer" } });
  const v = createChecksumVerifier({
    algorithm: "CRC32",
    expected: dec.trailers.then((t) => t.get("x-amz-checksum-crc32")),
  });
  const out = await new Response(body(wire, 3).pipeThrough(dec.stream).pipeThrough(v.stream))
    .text();
  assertEquals(out, "hello");
  // A wrong trailer value, and a trailer that never came.
  const dec2 = decodeAwsChunked({ payload: { kind: "streaming-unsigned-trailer" } });
  const v2 = createChecksumVerifier({
    algorithm: "CRC32",
    expected: dec2.trailers.then((t) => t.get("x-amz-checksum-crc32")),
  });
  await expectError(
    new Response(body(wire.replace("NhCm", "AhCm")).pipeThrough(dec2.stream).pipeThrough(v2.stream))
      .text(),
    "BadDigest",
  );
  const dec3 = decodeAwsChunked({ payload: { kind: "streaming-unsigned-trailer" } });
  const v3 = createChecksumVerifier({
    algorithm: "CRC32",
    expected: dec3.trailers.then((t) => t.get("x-amz-checksum-crc32")),
  });
  await expectError(
    new Response(body("5\r\nhello\r\n0\r\n\r\n").pipeThrough(dec3.stream).pipeThrough(v3.stream))
      .text(),
    "InvalidRequest",
  );
});
