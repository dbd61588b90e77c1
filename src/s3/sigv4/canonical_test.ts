import { deepStrictEqual as assertEquals } from "node:assert";
import {
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  credentialScope,
  EMPTY_SHA256_HEX,
  hmacHex,
  sha256Hex,
  signingKey,
  stringToSign,
  uriEncode,
} from "./canonical.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SCOPE = "20130524/us-east-1/s3/aws4_request";
const KEY = signingKey(SECRET, "20130524", "us-east-1", "s3");

interface DocExample {
  name: string;
  method: string;
  path: string;
  query: [string, string][];
  headers: Record<string, string>;
  signed: string[];
  payload: string;
  canonical: string;
  stsHash: string;
  signature: string;
}

/** The four header-auth examples of the S3 "Signature Calculations for the Authorization Header" page. */
const DOC_EXAMPLES: DocExample[] = [
  {
    name: "GET Object with Range",
    method: "GET",
    path: "/test.txt",
    query: [],
    headers: {
      host: "examplebucket.s3.amazonaws.com",
      range: "bytes=0-9",
      "x-amz-content-sha256": EMPTY_SHA256_HEX,
      "x-amz-date": "20130524T000000Z",
    },
    signed: ["host", "range", "x-amz-content-sha256", "x-amz-date"],
    payload: EMPTY_SHA256_HEX,
    canonical: "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n" +
      `x-amz-content-sha256:${EMPTY_SHA256_HEX}\nx-amz-date:20130524T000000Z\n\n` +
      `host;range;x-amz-content-sha256;x-amz-date\n${EMPTY_SHA256_HEX}`,
    stsHash: "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
    signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  },
  {
    name: "PUT Object",
    method: "PUT",
    path: "/test$file.text",
    query: [],
    headers: {
      date: "Fri, 24 May 2013 00:00:00 GMT",
      host: "examplebucket.s3.amazonaws.com",
      "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
      "x-amz-date": "20130524T000000Z",
      "x-amz-storage-class": "REDUCED_REDUNDANCY",
    },
    signed: ["date", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-storage-class"],
    payload: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
    canonical: "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n" +
      "host:examplebucket.s3.amazonaws.com\n" +
      "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n" +
      "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n" +
      "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n" +
      "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
    stsHash: "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
    signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
  },
  {
    name: "GET Bucket lifecycle",
    method: "GET",
    path: "/",
    query: [["lifecycle", ""]],
    headers: {
      host: "examplebucket.s3.amazonaws.com",
      "x-amz-content-sha256": EMPTY_SHA256_HEX,
      "x-amz-date": "20130524T000000Z",
    },
    signed: ["host", "x-amz-content-sha256", "x-amz-date"],
    payload: EMPTY_SHA256_HEX,
    canonical: "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\n" +
      `x-amz-content-sha256:${EMPTY_SHA256_HEX}\nx-amz-date:20130524T000000Z\n\n` +
      `host;x-amz-content-sha256;x-amz-date\n${EMPTY_SHA256_HEX}`,
    stsHash: "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
    signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
  },
  {
    name: "GET Bucket (List Objects)",
    method: "GET",
    path: "/",
    query: [["prefix", "J"], ["max-keys", "2"]],
    headers: {
      host: "examplebucket.s3.amazonaws.com",
      "x-amz-content-sha256": EMPTY_SHA256_HEX,
      "x-amz-date": "20130524T000000Z",
    },
    signed: ["host", "x-amz-content-sha256", "x-amz-date"],
    payload: EMPTY_SHA256_HEX,
    canonical: "GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\n" +
      `x-amz-content-sha256:${EMPTY_SHA256_HEX}\nx-amz-date:20130524T000000Z\n\n` +
      `host;x-amz-content-sha256;x-amz-date\n${EMPTY_SHA256_HEX}`,
    stsHash: "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
    signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
  },
];

for (const ex of DOC_EXAMPLES) {
  Deno.test(`canonical - AWS example "${ex.name}" gives the documented signature`, () => {
    const cr = canonicalRequest({
      method: ex.method,
      path: ex.path,
      query: ex.query,
      headers: new Headers(ex.headers),
      signedHeaders: ex.signed,
      payloadHash: ex.payload,
    });
    assertEquals(cr, ex.canonical);
    assertEquals(sha256Hex(cr), ex.stsHash);
    const sts = stringToSign("20130524T000000Z", SCOPE, sha256Hex(cr));
    assertEquals(hmacHex(KEY, sts), ex.signature);
  });
}

Deno.test("canonical - signing key matches the AWS chain", () => {
  assertEquals(credentialScope("20130524", "us-east-1", "s3"), SCOPE);
  assertEquals(
    Array.from(KEY, (b) => b.toString(16).padStart(2, "0")).join(""),
    // HMAC chain of the example secret, computed independently with openssl.
    "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378",
  );
});

Deno.test("canonical - uriEncode follows AWS rules", () => {
  assertEquals(uriEncode("AZaz09-._~", true), "AZaz09-._~");
  assertEquals(uriEncode("a b+c*d", true), "a%20b%2Bc%2Ad");
  assertEquals(uriEncode("a/b", false), "a/b");
  assertEquals(uriEncode("a/b", true), "a%2Fb");
  assertEquals(uriEncode("é€😀", true), "%C3%A9%E2%82%AC%F0%9F%98%80");
  assertEquals(uriEncode("!'()", true), "%21%27%28%29");
  assertEquals(uriEncode("", true), "");
});

Deno.test("canonical - canonicalUri decodes once and re-encodes, without normalising", () => {
  assertEquals(canonicalUri(""), "/");
  assertEquals(canonicalUri("/"), "/");
  assertEquals(canonicalUri("/test$file.text"), "/test%24file.text");
  assertEquals(canonicalUri("/test%24file.text"), "/test%24file.text");
  assertEquals(canonicalUri("/b/a%20b"), "/b/a%20b");
  assertEquals(canonicalUri("/b/a+b"), "/b/a%2Bb");
  assertEquals(canonicalUri("/b/%7Euser"), "/b/~user");
  assertEquals(canonicalUri("/b/%c3%a9"), "/b/%C3%A9");
  assertEquals(canonicalUri("/b/é"), "/b/%C3%A9");
  assertEquals(canonicalUri("/b/a%2Fb"), "/b/a%2Fb");
  assertEquals(canonicalUri("/b//x/../y/./z"), "/b//x/../y/./z");
  assertEquals(canonicalUri("/b/100%"), "/b/100%25");
  assertEquals(canonicalUri("/b/%zz"), "/b/%25zz");
  assertEquals(canonicalUri("/b/%2"), "/b/%252");
  // Invalid UTF-8 after decoding is encoded byte for byte.
  assertEquals(canonicalUri("/b/%FF%FE"), "/b/%FF%FE");
});

Deno.test("canonical - canonicalQuery encodes then sorts by name and value", () => {
  assertEquals(canonicalQuery([]), "");
  assertEquals(canonicalQuery([["b", "2"], ["a", "1"], ["a", "0"]]), "a=0&a=1&b=2");
  assertEquals(canonicalQuery([["prefix", "a/b c"]]), "prefix=a%2Fb%20c");
  // Sorting is on the encoded form: "%" (0x25) sorts before letters.
  assertEquals(canonicalQuery([["a", ""], ["$x", "1"]]), "%24x=1&a=");
  // Upper case sorts before lower case (byte order).
  assertEquals(canonicalQuery([["x-id", "1"], ["X-Amz-Date", "2"]]), "X-Amz-Date=2&x-id=1");
});

Deno.test("canonical - header values are trimmed and inner whitespace collapsed", () => {
  const cr = canonicalRequest({
    method: "GET",
    path: "/",
    query: [],
    headers: new Headers({ host: "h", "x-amz-meta-a": "  a   b \t c  " }),
    signedHeaders: ["host", "x-amz-meta-a"],
    payloadHash: "UNSIGNED-PAYLOAD",
  });
  assertEquals(cr, "GET\n/\n\nhost:h\nx-amz-meta-a:a b c\n\nhost;x-amz-meta-a\nUNSIGNED-PAYLOAD");
});
