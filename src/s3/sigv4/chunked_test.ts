import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { S3Error } from "../errors.ts";
import { EMPTY_SHA256_HEX, hmacHex, sha256Hex, signingKey } from "./canonical.ts";
import { decodeAwsChunked, type DecodeAwsChunkedOptions } from "./chunked.ts";

const KEY = signingKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3");
const SCOPE = "20130524/us-east-1/s3/aws4_request";
const AMZ_DATE = "20130524T000000Z";
const enc = new TextEncoder();

function concat(parts: (string | Uint8Array)[]): Uint8Array {
  const bufs = parts.map((p) => typeof p === "string" ? enc.encode(p) : p);
  const out = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bufs) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

type Decoded = { data: Uint8Array; trailers: Map<string, string> };

/**
 * Feeds `body` in pieces of `split` bytes through the decoder's stream, and
 * through `push`/`end`, and checks that both decode (or fail) alike.
 */
async function decode(
  body: Uint8Array,
  split: number,
  opts: DecodeAwsChunkedOptions,
): Promise<Decoded> {
  const settle = (p: Promise<Decoded>) =>
    p.then((ok) => ({ ok }), (e) => ({ error: e instanceof S3Error ? e.code : e }));
  const [streamed, pushed] = await Promise.all([
    decodeStreamed(body, split, opts),
    decodePushed(body, split, opts),
  ].map(settle));
  assertEquals(pushed, streamed);
  return decodeStreamed(body, split, opts);
}

async function decodeStreamed(
  body: Uint8Array,
  split: number,
  opts: DecodeAwsChunkedOptions,
): Promise<Decoded> {
  const { stream, trailers } = decodeAwsChunked(opts);
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      for (let o = 0; o < body.length; o += split) c.enqueue(body.slice(o, o + split));
      c.close();
    },
  });
  const chunks: Uint8Array[] = [];
  for await (const c of source.pipeThrough(stream)) chunks.push(c);
  return { data: concat(chunks), trailers: await trailers };
}

async function decodePushed(
  body: Uint8Array,
  split: number,
  opts: DecodeAwsChunkedOptions,
): Promise<Decoded> {
  const { push, end, trailers } = decodeAwsChunked(opts);
  const chunks: Uint8Array[] = [];
  for (let o = 0; o < body.length; o += split) {
    push(body.slice(o, o + split), (payload) => chunks.push(payload.slice()));
  }
  end();
  return { data: concat(chunks), trailers: await trailers };
}

async function expectError(p: Promise<unknown>, code: string): Promise<S3Error> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof S3Error)) throw e;
    assertEquals(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected ${code}, decoding succeeded`);
}

const A65536 = new Uint8Array(65536).fill(0x61);
const A1024 = new Uint8Array(1024).fill(0x61);

/** The body of the AWS "Transferring Payload in Multiple Chunks" example. */
const DOC_BODY = concat([
  "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
  A65536,
  "\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
  A1024,
  "\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n",
]);
const DOC_OPTS: DecodeAwsChunkedOptions = {
  payload: { kind: "streaming-signed", trailer: false },
  signingKey: KEY,
  seedSignature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
  scope: SCOPE,
  amzDate: AMZ_DATE,
  decodedLength: 66560,
};

/** The body of the AWS "Signature calculations for trailing headers" example. */
const DOC_TRAILER_BODY = concat([
  "10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n",
  A65536,
  "\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n",
  A1024,
  "\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n",
  "x-amz-checksum-crc32c:sOO8/Q==\r\n",
  "x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n",
  "\r\n",
]);
const DOC_TRAILER_OPTS: DecodeAwsChunkedOptions = {
  ...DOC_OPTS,
  payload: { kind: "streaming-signed", trailer: true },
  seedSignature: "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
};

/** A hand-written aws-chunked signer for generated bodies. */
function encodeSigned(
  chunks: Uint8Array[],
  seed: string,
  trailers?: [string, string][],
): Uint8Array {
  let prev = seed;
  const parts: (string | Uint8Array)[] = [];
  for (const c of [...chunks, new Uint8Array(0)]) {
    const sig = hmacHex(
      KEY,
      `AWS4-HMAC-SHA256-PAYLOAD\n${AMZ_DATE}\n${SCOPE}\n${prev}\n${EMPTY_SHA256_HEX}\n${
        sha256Hex(c)
      }`,
    );
    parts.push(`${c.length.toString(16)};chunk-signature=${sig}\r\n`, c);
    if (c.length > 0) parts.push("\r\n");
    prev = sig;
  }
  if (trailers) {
    const canon = trailers.map(([k, v]) => `${k}:${v}\n`).join("");
    const sig = hmacHex(
      KEY,
      `AWS4-HMAC-SHA256-TRAILER\n${AMZ_DATE}\n${SCOPE}\n${prev}\n${sha256Hex(canon)}`,
    );
    for (const [k, v] of trailers) parts.push(`${k}:${v}\r\n`);
    parts.push(`x-amz-trailer-signature:${sig}\r\n`);
  }
  parts.push("\r\n");
  return concat(parts);
}

Deno.test("decodeAwsChunked - AWS multiple-chunks example at any split", async () => {
  for (const split of [DOC_BODY.length, 70000, 65536, 4096, 100, 7, 1]) {
    const { data, trailers } = await decode(DOC_BODY, split, DOC_OPTS);
    assertEquals(data.length, 66560);
    assert(data.every((b) => b === 0x61));
    assertEquals(trailers.size, 0);
  }
});

Deno.test("decodeAwsChunked - AWS trailing-headers example at any split", async () => {
  for (const split of [DOC_TRAILER_BODY.length, 4096, 13, 1]) {
    const { data, trailers } = await decode(DOC_TRAILER_BODY, split, DOC_TRAILER_OPTS);
    assertEquals(data.length, 66560);
    assertEquals([...trailers], [["x-amz-checksum-crc32c", "sOO8/Q=="]]);
  }
});

Deno.test("decodeAwsChunked - tampering with data, signatures or trailers is refused", async () => {
  // A flipped data byte in each chunk.
  for (const at of [90, 65536 + 80, DOC_BODY.length - 100]) {
    const bad = DOC_BODY.slice();
    if (bad[at] !== 0x61) throw new Error(`offset ${at} is not data`);
    bad[at] = 0x62;
    await expectError(decode(bad, 4096, DOC_OPTS), "SignatureDoesNotMatch");
  }
  // A wrong seed (for example a replay onto another request).
  await expectError(
    decode(DOC_BODY, 4096, { ...DOC_OPTS, seedSignature: "0".repeat(64) }),
    "SignatureDoesNotMatch",
  );
  // Two framed chunks swapped in order (each one correctly signed in its own place).
  const pair = new TextDecoder().decode(
    encodeSigned([enc.encode("first"), enc.encode("second")], DOC_OPTS.seedSignature!),
  );
  const [f, sec, ...rest] = pair.split(/(?<=\r\n)(?=[0-9a-f]+;chunk-signature=)/);
  assert(f.includes("first") && sec.includes("second"));
  await decode(enc.encode(f + sec + rest.join("")), 3, { ...DOC_OPTS, decodedLength: 11 });
  await expectError(
    decode(enc.encode(sec + f + rest.join("")), 3, { ...DOC_OPTS, decodedLength: 11 }),
    "SignatureDoesNotMatch",
  );
  // A changed trailer value or a missing trailer signature.
  const changed = concat([
    DOC_TRAILER_BODY.subarray(0, DOC_TRAILER_BODY.indexOf(0x73, 66560 + 200)),
    "AOO8/Q==",
    DOC_TRAILER_BODY.subarray(DOC_TRAILER_BODY.indexOf(0x73, 66560 + 200) + 8),
  ]);
  assertEquals(changed.length, DOC_TRAILER_BODY.length);
  await expectError(decode(changed, 4096, DOC_TRAILER_OPTS), "SignatureDoesNotMatch");
  const text = new TextDecoder().decode(DOC_TRAILER_BODY.subarray(66560));
  const noSig = concat([
    DOC_TRAILER_BODY.subarray(0, 66560),
    text.replace(/x-amz-trailer-signature:[0-9a-f]+\r\n/, ""),
  ]);
  await expectError(decode(noSig, 4096, DOC_TRAILER_OPTS), "InvalidRequest");
  // Trailers are not accepted in signed mode without -TRAILER: they would be unsigned.
  await expectError(
    decode(DOC_TRAILER_BODY, 4096, { ...DOC_TRAILER_OPTS, payload: DOC_OPTS.payload }),
    "InvalidRequest",
  );
  const signedNoTrailerWithTrailer = encodeSigned([enc.encode("x")], DOC_OPTS.seedSignature!, [[
    "x-amz-checksum-crc32",
    "AAAAAA==",
  ]]);
  await expectError(
    decode(signedNoTrailerWithTrailer, 5, { ...DOC_OPTS, decodedLength: 1 }),
    "InvalidRequest",
  );
});

Deno.test("decodeAwsChunked - generated signed bodies with trailers, 1-byte splits", async () => {
  const chunks = [
    new Uint8Array(8192).fill(1),
    new Uint8Array(300).fill(2),
    new Uint8Array(1).fill(3),
  ];
  const trailers: [string, string][] = [["x-amz-checksum-crc64nvme", "rosUhgp5mIg="], [
    "x-amz-meta-a",
    "b",
  ]];
  const body = encodeSigned(chunks, "f".repeat(64), trailers);
  const opts = { ...DOC_TRAILER_OPTS, seedSignature: "f".repeat(64), decodedLength: 8493 };
  for (const split of [1, 2, 3, 64, body.length]) {
    const r = await decode(body, split, opts);
    assertEquals(r.data, concat(chunks));
    assertEquals([...r.trailers], trailers);
  }
});

Deno.test("decodeAwsChunked - truncation anywhere is refused", async () => {
  const body = encodeSigned([enc.encode("hello world"), enc.encode("!")], DOC_OPTS.seedSignature!);
  const opts = { ...DOC_OPTS, decodedLength: 12 };
  // Cutting inside the final CRLF is tolerated (the final chunk was signed); anywhere else fails.
  for (let cut = 0; cut < body.length - 2; cut++) {
    const e = await expectError(decode(body.subarray(0, cut), 5, opts), "IncompleteBody");
    assert(e.status === 400);
  }
  const { data } = await decode(body.subarray(0, body.length - 2), 5, opts);
  assertEquals(new TextDecoder().decode(data), "hello world!");
});

Deno.test("decodeAwsChunked - decoded length must match x-amz-decoded-content-length", async () => {
  await expectError(
    decode(DOC_BODY, 4096, { ...DOC_OPTS, decodedLength: 66561 }),
    "IncompleteBody",
  );
  await expectError(
    decode(DOC_BODY, 4096, { ...DOC_OPTS, decodedLength: 66559 }),
    "InvalidRequest",
  );
  await decode(DOC_BODY, 4096, { ...DOC_OPTS, decodedLength: undefined });
});

Deno.test("decodeAwsChunked - unsigned trailer mode (as the JS SDK sends it)", async () => {
  const body = concat([
    "5\r\nhello\r\n",
    "6\r\n world\r\n",
    "0\r\n",
    "x-amz-checksum-crc32:DUoRhQ==\r\n",
    "\r\n",
  ]);
  const opts: DecodeAwsChunkedOptions = {
    payload: { kind: "streaming-unsigned-trailer" },
    decodedLength: 11,
  };
  for (const split of [1, 4, body.length]) {
    const r = await decode(body, split, opts);
    assertEquals(new TextDecoder().decode(r.data), "hello world");
    assertEquals(r.trailers.get("x-amz-checksum-crc32"), "DUoRhQ==");
  }
  // Chunk extensions are ignored in unsigned mode; upper-case hex sizes are fine.
  const ext = concat(["A;foo=bar\r\n0123456789\r\n0\r\n\r\n"]);
  assertEquals(
    new TextDecoder().decode((await decode(ext, 3, { payload: opts.payload })).data),
    "0123456789",
  );
  // Missing final CRLF after the trailers is tolerated.
  const noFinal = body.subarray(0, body.length - 2);
  assertEquals((await decode(noFinal, 7, opts)).trailers.get("x-amz-checksum-crc32"), "DUoRhQ==");
});

Deno.test("decodeAwsChunked - bad framing is refused", async () => {
  const unsigned: DecodeAwsChunkedOptions = { payload: { kind: "streaming-unsigned-trailer" } };
  const cases = [
    "zz\r\nhello\r\n0\r\n\r\n", // not hex
    "\r\n", // empty size
    "5\r\nhelloXY0\r\n\r\n", // no CRLF after data
    "5\r\nhello\r\n0\r\nno-colon\r\n\r\n", // bad trailer
    "5\r\nhello\r\n0\r\na:1\r\na:2\r\n\r\n", // duplicate trailer
    "5\r\nhello\r\n0\r\n\r\nextra", // data after the end
    "1000000000000000\r\n", // absurd size
    "5" + " ".repeat(5000) + "\r\n", // overlong header line
  ];
  for (const body of cases) {
    await expectError(decode(enc.encode(body), 3, unsigned), "InvalidRequest");
  }
  // Signed mode needs a well-formed chunk-signature on every chunk.
  for (
    const body of [
      "5\r\nhello\r\n",
      "5;chunk-signature=abc\r\nhello\r\n",
      `5;chunk-sig=${"0".repeat(64)}\r\nhello\r\n`,
    ]
  ) {
    await expectError(decode(enc.encode(body), 3, DOC_OPTS), "InvalidRequest");
  }
  // Trailer section size is bounded.
  const huge = "0\r\n" + `x-amz-meta-a:${"v".repeat(4000)}\r\n`.repeat(5) + "\r\n";
  await expectError(decode(enc.encode(huge), 1000, unsigned), "InvalidRequest");
});

Deno.test("decodeAwsChunked - refuses non-streaming modes and missing signing material", () => {
  for (
    const opts of [
      { payload: { kind: "unsigned" } },
      { payload: { kind: "sha256", hex: EMPTY_SHA256_HEX } },
      { payload: { kind: "streaming-signed", trailer: false } },
    ] as DecodeAwsChunkedOptions[]
  ) {
    try {
      decodeAwsChunked(opts);
      throw new Error("accepted");
    } catch (e) {
      assert(e instanceof S3Error && e.code === "InvalidRequest");
    }
  }
});

Deno.test("decodeAwsChunked - trailers promise rejects with the stream error", async () => {
  const { stream, trailers } = decodeAwsChunked(DOC_OPTS);
  const w = stream.writable.getWriter();
  const reading = new Response(stream.readable).arrayBuffer().catch(() => {});
  await w.write(enc.encode("zz\r\n")).catch(() => {});
  await expectError(trailers, "InvalidRequest");
  await reading;
});
