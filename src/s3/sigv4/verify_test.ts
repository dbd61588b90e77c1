import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { S3Error } from "../errors.ts";
import {
  canonicalRequest,
  credentialScope,
  EMPTY_SHA256_HEX,
  hmacHex,
  sha256Hex,
  signingKey,
  stringToSign,
} from "./canonical.ts";
import { type AuthResult, parseAuthorizationHeader, verifyRequest } from "./verify.ts";

const AKID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const T0 = Date.UTC(2013, 4, 24, 0, 0, 0);
const lookupSecret = (k: string) => k === AKID ? SECRET : undefined;

function expectS3Error(fn: () => unknown, code: string, message?: string): S3Error {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof S3Error)) throw e;
    assertEquals(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message !== undefined) assertEquals(e.message, message);
    return e;
  }
  throw new Error(`expected S3Error ${code}, nothing thrown`);
}

function verify(
  method: string,
  path: string,
  query: [string, string][],
  headers: Record<string, string>,
  nowMs = T0,
): AuthResult {
  const r = verifyRequest({ method, path, query, headers: new Headers(headers) }, {
    nowMs,
    lookupSecret,
  });
  if (r instanceof Promise) throw new Error("unexpected promise");
  return r;
}

/** A hand-written SigV4 header signer built on the canonical functions. */
function signHeaders(opts: {
  method: string;
  path: string;
  query?: [string, string][];
  headers: Record<string, string>;
  amzDate?: string;
  secret?: string;
  accessKey?: string;
  region?: string;
}): Record<string, string> {
  const amzDate = opts.amzDate ?? "20130524T000000Z";
  const region = opts.region ?? "us-east-1";
  const headers: Record<string, string> = { "x-amz-date": amzDate, ...opts.headers };
  const signed = Object.keys(headers).map((k) => k.toLowerCase()).sort();
  const h = new Headers(headers);
  const cr = canonicalRequest({
    method: opts.method,
    path: opts.path,
    query: opts.query ?? [],
    headers: h,
    signedHeaders: signed,
    payloadHash: h.get("x-amz-content-sha256") ?? "UNSIGNED-PAYLOAD",
  });
  const date = amzDate.slice(0, 8);
  const scope = credentialScope(date, region, "s3");
  const key = signingKey(opts.secret ?? SECRET, date, region, "s3");
  const sig = hmacHex(key, stringToSign(amzDate, scope, sha256Hex(cr)));
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${opts.accessKey ?? AKID}/${scope},SignedHeaders=${
      signed.join(";")
    },Signature=${sig}`,
  };
}

Deno.test("verifyRequest - AWS example GET Object with Range", () => {
  const r = verify("GET", "/test.txt", [], {
    host: "examplebucket.s3.amazonaws.com",
    range: "bytes=0-9",
    "x-amz-content-sha256": EMPTY_SHA256_HEX,
    "x-amz-date": "20130524T000000Z",
    authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,` +
      "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," +
      "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  });
  assertEquals(r.accessKey, AKID);
  assertEquals(r.payload, { kind: "sha256", hex: EMPTY_SHA256_HEX });
  assertEquals(r.scope, "20130524/us-east-1/s3/aws4_request");
  assertEquals(r.amzDate, "20130524T000000Z");
  assertEquals(r.presigned, false);
  assertEquals(r.seedSignature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
});

Deno.test("verifyRequest - AWS example PUT Object (raw $ in path, Date signed)", () => {
  const r = verify("PUT", "/test$file.text", [], {
    date: "Fri, 24 May 2013 00:00:00 GMT",
    host: "examplebucket.s3.amazonaws.com",
    "x-amz-date": "20130524T000000Z",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
    "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
    authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request, ` +
      "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, " +
      "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
  });
  assertEquals(r.payload, {
    kind: "sha256",
    hex: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
  });
  // The same request with the path percent-encoded on the wire verifies too.
  verify("PUT", "/test%24file.text", [], {
    date: "Fri, 24 May 2013 00:00:00 GMT",
    host: "examplebucket.s3.amazonaws.com",
    "x-amz-date": "20130524T000000Z",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
    "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
    authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,` +
      "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class," +
      "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
  });
});

Deno.test("verifyRequest - AWS examples GET ?lifecycle and list objects", () => {
  const base = {
    host: "examplebucket.s3.amazonaws.com",
    "x-amz-date": "20130524T000000Z",
    "x-amz-content-sha256": EMPTY_SHA256_HEX,
  };
  const cred = `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,` +
    "SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=";
  verify("GET", "/", [["lifecycle", ""]], {
    ...base,
    authorization: cred + "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
  });
  verify("GET", "/", [["max-keys", "2"], ["prefix", "J"]], {
    ...base,
    authorization: cred + "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
  });
});

Deno.test("verifyRequest - AWS presigned URL example", () => {
  const query: [string, string][] = [
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${AKID}/20130524/us-east-1/s3/aws4_request`],
    ["X-Amz-Date", "20130524T000000Z"],
    ["X-Amz-Expires", "86400"],
    ["X-Amz-SignedHeaders", "host"],
    ["X-Amz-Signature", "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"],
  ];
  const headers = { host: "examplebucket.s3.amazonaws.com" };
  const r = verify("GET", "/test.txt", query, headers, T0 + 3_600_000);
  assertEquals(r.presigned, true);
  assertEquals(r.payload, { kind: "unsigned" });
  // Still valid at the last second, expired one millisecond later.
  verify("GET", "/test.txt", query, headers, T0 + 86_400_000);
  const e = expectS3Error(
    () => verify("GET", "/test.txt", query, headers, T0 + 86_400_001),
    "AccessDenied",
    "Request has expired",
  );
  assertEquals(e.extra?.["X-Amz-Expires"], "86400");
  assertEquals(e.extra?.Expires, "2013-05-25T00:00:00Z");
  // A tampered signature or key is refused.
  const tampered = query.map(([k, v]) =>
    [k, k === "X-Amz-Signature" ? v.replace(/^a/, "b") : v] as [string, string]
  );
  expectS3Error(() => verify("GET", "/test.txt", tampered, headers), "SignatureDoesNotMatch");
  expectS3Error(() => verify("GET", "/other.txt", query, headers), "SignatureDoesNotMatch");
  // 64 characters, 65 bytes: refused like any other signature (it threw a RangeError, a 500).
  const multiByte = query.map(([k, v]) =>
    [k, k === "X-Amz-Signature" ? "é" + v.slice(1) : v] as [string, string]
  );
  expectS3Error(() => verify("GET", "/test.txt", multiByte, headers), "SignatureDoesNotMatch");
  // Headers added by the bearer of a presigned URL must have been signed.
  const e2 = expectS3Error(
    () =>
      verify("GET", "/test.txt", query, {
        ...headers,
        "x-amz-bypass-governance-retention": "true",
      }),
    "AccessDenied",
    "There were headers present in the request which were not signed",
  );
  assertEquals(e2.extra?.HeadersNotSigned, "x-amz-bypass-governance-retention");
});

Deno.test("verifyRequest - presigned parameter errors", () => {
  const good: [string, string][] = [
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${AKID}/20130524/us-east-1/s3/aws4_request`],
    ["X-Amz-Date", "20130524T000000Z"],
    ["X-Amz-Expires", "86400"],
    ["X-Amz-SignedHeaders", "host"],
    ["X-Amz-Signature", "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"],
  ];
  const h = { host: "examplebucket.s3.amazonaws.com" };
  const withParam = (name: string, value: string | null) =>
    good.flatMap(([k, v]): [string, string][] =>
      k !== name ? [[k, v]] : value === null ? [] : [[k, value]]
    );
  for (const missing of ["X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"]) {
    expectS3Error(
      () => verify("GET", "/test.txt", withParam(missing, null), h),
      "AuthorizationQueryParametersError",
    );
  }
  expectS3Error(
    () => verify("GET", "/test.txt", withParam("X-Amz-Expires", "604801"), h),
    "AuthorizationQueryParametersError",
    "X-Amz-Expires must be less than a week (in seconds) that's 7 days or 604800 seconds",
  );
  expectS3Error(
    () => verify("GET", "/test.txt", withParam("X-Amz-Expires", "-1"), h),
    "AuthorizationQueryParametersError",
    "X-Amz-Expires must be non-negative",
  );
  expectS3Error(
    () => verify("GET", "/test.txt", withParam("X-Amz-Expires", "soon"), h),
    "AuthorizationQueryParametersError",
    "X-Amz-Expires should be a number",
  );
  expectS3Error(
    () => verify("GET", "/test.txt", withParam("X-Amz-Algorithm", "AWS4-HMAC-SHA1"), h),
    "AuthorizationQueryParametersError",
  );
  expectS3Error(
    () =>
      verify("GET", "/test.txt", withParam("X-Amz-Credential", `${AKID}/20130524/us-east-1`), h),
    "AuthorizationQueryParametersError",
  );
  expectS3Error(
    () =>
      verify(
        "GET",
        "/test.txt",
        withParam("X-Amz-Credential", `NOPE/20130524/us-east-1/s3/aws4_request`),
        h,
      ),
    "InvalidAccessKeyId",
  );
  expectS3Error(
    () => verify("GET", "/test.txt", good, h, T0 - 16 * 60_000),
    "AccessDenied",
    "Request is not valid yet",
  );
  expectS3Error(
    () =>
      verify("GET", "/test.txt", good, {
        ...h,
        authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,` +
          `SignedHeaders=host,Signature=${"0".repeat(64)}`,
      }),
    "InvalidArgument",
  );
});

Deno.test("verifyRequest - signed round trip with every payload mode", () => {
  const modes = [
    ["UNSIGNED-PAYLOAD", { kind: "unsigned" }],
    ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", { kind: "streaming-signed", trailer: false }],
    ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", { kind: "streaming-signed", trailer: true }],
    ["STREAMING-UNSIGNED-PAYLOAD-TRAILER", { kind: "streaming-unsigned-trailer" }],
    [EMPTY_SHA256_HEX.toUpperCase(), { kind: "sha256", hex: EMPTY_SHA256_HEX }],
  ] as const;
  for (const [value, mode] of modes) {
    const headers = signHeaders({
      method: "PUT",
      path: "/bucket/a%20key/with+plus/%E2%82%AC",
      query: [["partNumber", "1"], ["uploadId", "x/y=z"]],
      headers: { host: "localhost:9000", "x-amz-content-sha256": value, "x-amz-meta-x": " a  b " },
    });
    const r = verify("PUT", "/bucket/a%20key/with+plus/%E2%82%AC", [
      ["uploadId", "x/y=z"],
      ["partNumber", "1"],
    ], headers);
    assertEquals(r.payload, mode);
    assertEquals(r.signingKey, signingKey(SECRET, "20130524", "us-east-1", "s3"));
  }
});

Deno.test("verifyRequest - header auth refusals", () => {
  const base = { host: "h", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" };
  // No auth at all: no anonymous access.
  expectS3Error(() => verify("GET", "/b/k", [], { host: "h" }), "AccessDenied", "Access Denied");
  // Unknown access key.
  expectS3Error(
    () =>
      verify(
        "GET",
        "/",
        [],
        signHeaders({ method: "GET", path: "/", headers: base, accessKey: "NOPE" }),
      ),
    "InvalidAccessKeyId",
  );
  // Wrong secret.
  const e = expectS3Error(
    () =>
      verify("GET", "/", [], signHeaders({ method: "GET", path: "/", headers: base, secret: "x" })),
    "SignatureDoesNotMatch",
  );
  assert(e.extra?.CanonicalRequest?.startsWith("GET\n/\n"));
  // Modified after signing: method, path, query, signed header.
  const signed = signHeaders({
    method: "GET",
    path: "/b/k",
    headers: { ...base, range: "bytes=0-1" },
  });
  verify("GET", "/b/k", [], signed);
  expectS3Error(() => verify("HEAD", "/b/k", [], signed), "SignatureDoesNotMatch");
  expectS3Error(() => verify("GET", "/b/k2", [], signed), "SignatureDoesNotMatch");
  expectS3Error(() => verify("GET", "/b/k", [["acl", ""]], signed), "SignatureDoesNotMatch");
  expectS3Error(
    () => verify("GET", "/b/k", [], { ...signed, range: "bytes=0-2" }),
    "SignatureDoesNotMatch",
  );
  // An x-amz-* header that is not signed.
  expectS3Error(
    () => verify("GET", "/b/k", [], { ...signed, "x-amz-object-lock-mode": "GOVERNANCE" }),
    "AccessDenied",
    "There were headers present in the request which were not signed",
  );
  // Missing x-amz-content-sha256.
  const noSha = signHeaders({ method: "GET", path: "/", headers: { host: "h" } });
  expectS3Error(
    () => verify("GET", "/", [], noSha),
    "InvalidRequest",
    "Missing required header for this request: x-amz-content-sha256",
  );
  // A bad x-amz-content-sha256 value.
  const bad = signHeaders({
    method: "GET",
    path: "/",
    headers: { host: "h", "x-amz-content-sha256": "abc" },
  });
  const e2 = expectS3Error(() => verify("GET", "/", [], bad), "InvalidArgument");
  assertEquals(e2.extra?.ArgumentName, "x-amz-content-sha256");
  // host must be signed.
  expectS3Error(
    () =>
      verify("GET", "/", [], {
        ...base,
        "x-amz-date": "20130524T000000Z",
        authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,` +
          `SignedHeaders=x-amz-content-sha256;x-amz-date,Signature=${"0".repeat(64)}`,
      }),
    "AuthorizationHeaderMalformed",
  );
  // Credential date must match x-amz-date.
  expectS3Error(
    () =>
      verify("GET", "/", [], {
        ...base,
        "x-amz-date": "20130524T000000Z",
        authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20130523/us-east-1/s3/aws4_request,` +
          `SignedHeaders=host;x-amz-date,Signature=${"0".repeat(64)}`,
      }),
    "AuthorizationHeaderMalformed",
    "The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.",
  );
  // No date at all.
  expectS3Error(
    () =>
      verify("GET", "/", [], {
        ...base,
        authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,` +
          `SignedHeaders=host,Signature=${"0".repeat(64)}`,
      }),
    "AccessDenied",
    "AWS authentication requires a valid Date or x-amz-date header",
  );
});

Deno.test("verifyRequest - clock skew beyond 15 minutes is refused", () => {
  const headers = signHeaders({
    method: "GET",
    path: "/",
    headers: { host: "h", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
  });
  verify("GET", "/", [], headers, T0 + 15 * 60_000);
  verify("GET", "/", [], headers, T0 - 15 * 60_000);
  const e = expectS3Error(
    () => verify("GET", "/", [], headers, T0 + 15 * 60_000 + 1),
    "RequestTimeTooSkewed",
  );
  assertEquals(e.extra, {
    RequestTime: "20130524T000000Z",
    ServerTime: "2013-05-24T00:15:00Z",
    MaxAllowedSkewMilliseconds: "900000",
  });
  expectS3Error(() => verify("GET", "/", [], headers, T0 - 16 * 60_000), "RequestTimeTooSkewed");
});

Deno.test("verifyRequest - Date header is used when x-amz-date is absent", () => {
  // Sign with the Date header only; the string to sign uses its ISO basic form.
  const h = new Headers({
    host: "h",
    date: "Fri, 24 May 2013 00:00:00 GMT",
    "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
  });
  const signed = ["date", "host", "x-amz-content-sha256"];
  const cr = canonicalRequest({
    method: "GET",
    path: "/",
    query: [],
    headers: h,
    signedHeaders: signed,
    payloadHash: "UNSIGNED-PAYLOAD",
  });
  const scope = credentialScope("20130524", "us-east-1", "s3");
  const sig = hmacHex(
    signingKey(SECRET, "20130524", "us-east-1", "s3"),
    stringToSign("20130524T000000Z", scope, sha256Hex(cr)),
  );
  h.set(
    "authorization",
    `AWS4-HMAC-SHA256 Credential=${AKID}/${scope},SignedHeaders=${
      signed.join(";")
    },Signature=${sig}`,
  );
  const r = verifyRequest({ method: "GET", path: "/", query: [], headers: h }, {
    nowMs: T0,
    lookupSecret,
  });
  assertEquals((r as AuthResult).amzDate, "20130524T000000Z");
});

Deno.test("verifyRequest - async secret lookup returns a promise", async () => {
  const headers = signHeaders({
    method: "GET",
    path: "/",
    headers: { host: "h", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
  });
  const r = verifyRequest({ method: "GET", path: "/", query: [], headers: new Headers(headers) }, {
    nowMs: T0,
    lookupSecret: (k) => Promise.resolve(lookupSecret(k)),
  });
  assert(r instanceof Promise);
  assertEquals((await r).accessKey, AKID);
  const bad = verifyRequest(
    { method: "GET", path: "/x", query: [], headers: new Headers(headers) },
    {
      nowMs: T0,
      lookupSecret: (k) => Promise.resolve(lookupSecret(k)),
    },
  );
  await (bad as Promise<AuthResult>).then(
    () => {
      throw new Error("accepted");
    },
    (e) => assertEquals(e.code, "SignatureDoesNotMatch"),
  );
});

Deno.test("verifyRequest - region is enforced when configured", () => {
  const headers = signHeaders({
    method: "GET",
    path: "/",
    region: "eu-west-1",
    headers: { host: "h", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
  });
  const r = verify("GET", "/", [], headers);
  assertEquals(r.region, "eu-west-1");
  expectS3Error(
    () =>
      verifyRequest({ method: "GET", path: "/", query: [], headers: new Headers(headers) }, {
        nowMs: T0,
        lookupSecret,
        region: "us-east-1",
      }),
    "AuthorizationHeaderMalformed",
    "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-east-1'",
  );
});

Deno.test("verifyRequest - AWS chunked upload example gives the documented seed signatures", () => {
  const common = {
    host: "s3.amazonaws.com",
    "x-amz-date": "20130524T000000Z",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
    "content-encoding": "aws-chunked",
    "x-amz-decoded-content-length": "66560",
  };
  const r = verify("PUT", "/examplebucket/chunkObject.txt", [], {
    ...common,
    "content-length": "66824",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,` +
      "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;" +
      "x-amz-decoded-content-length;x-amz-storage-class," +
      "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
  });
  assertEquals(r.payload, { kind: "streaming-signed", trailer: false });
  assertEquals(r.seedSignature, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  const t = verify("PUT", "/examplebucket/chunkObject.txt", [], {
    ...common,
    "x-amz-trailer": "x-amz-checksum-crc32c",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,` +
      "SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;" +
      "x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer," +
      "Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
  });
  assertEquals(t.payload, { kind: "streaming-signed", trailer: true });
});

Deno.test("parseAuthorizationHeader - parses and rejects mal-formed headers", () => {
  assertEquals(
    parseAuthorizationHeader(
      `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request, ` +
        "SignedHeaders=host;range;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
    ),
    {
      accessKey: AKID,
      date: "20130524",
      region: "us-east-1",
      service: "s3",
      signedHeaders: ["host", "range", "x-amz-date"],
      signature: "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
    },
  );
  const sig = "Signature=" + "0".repeat(64);
  for (
    const bad of [
      "AWS4-HMAC-SHA256",
      `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request, ${sig}`,
      `AWS4-HMAC-SHA256 SignedHeaders=host, ${sig}`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request, SignedHeaders=host`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/2013/us-east-1/s3/aws4_request, SignedHeaders=host, ${sig}`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3, SignedHeaders=host, ${sig}`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request, SignedHeaders=Host, ${sig}`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;;a, ${sig}`,
      `AWS4-HMAC-SHA256 Credential, SignedHeaders=host, ${sig}`,
    ]
  ) {
    expectS3Error(() => parseAuthorizationHeader(bad), "AuthorizationHeaderMalformed");
  }
  expectS3Error(
    () => parseAuthorizationHeader("AWS AKID:sig"),
    "InvalidArgument",
    "Unsupported Authorization Type",
  );
  expectS3Error(
    () => parseAuthorizationHeader("AWS4-ECDSA-P256-SHA256 Credential=a/b/s3/aws4_request"),
    "InvalidArgument",
  );
  // Service must be s3.
  expectS3Error(
    () =>
      verify("GET", "/", [], {
        host: "h",
        "x-amz-date": "20130524T000000Z",
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/iam/aws4_request,` +
          `SignedHeaders=host,${sig}`,
      }),
    "AuthorizationHeaderMalformed",
  );
});
