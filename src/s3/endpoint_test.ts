import assert from "node:assert/strict";
import { authorize, OPERATION_ACCESS } from "../auth/mod.ts";
import { type Endpoint, isValidBucketName, parseEndpoint } from "./endpoint.ts";
import { S3Error } from "./errors.ts";

function parse(
  method: string,
  bucket: string,
  key: string,
  query = "",
  headers: Record<string, string> = {},
) {
  return parseEndpoint({
    method,
    bucket,
    key,
    query: new URLSearchParams(query),
    header: (n) => headers[n],
  });
}

const ROWS: [string, string, string, string, Record<string, string>, Endpoint][] = [
  ["GET", "", "", "", {}, { op: "ListBuckets" }],
  ["PUT", "b", "", "", {}, { op: "CreateBucket", bucket: "b" }],
  ["HEAD", "b", "", "", {}, { op: "HeadBucket", bucket: "b" }],
  ["DELETE", "b", "", "", {}, { op: "DeleteBucket", bucket: "b" }],
  ["GET", "b", "", "location", {}, { op: "GetBucketLocation", bucket: "b" }],
  ["GET", "b", "", "versioning", {}, { op: "GetBucketVersioning", bucket: "b" }],
  ["GET", "b", "", "", {}, { op: "ListObjects", bucket: "b" }],
  ["GET", "b", "", "list-type=2", {}, { op: "ListObjectsV2", bucket: "b" }],
  ["GET", "b", "", "uploads", {}, { op: "ListMultipartUploads", bucket: "b" }],
  ["POST", "b", "", "delete", {}, { op: "DeleteObjects", bucket: "b" }],
  ["PUT", "b", "k", "", {}, { op: "PutObject", bucket: "b", key: "k" }],
  ["PUT", "b", "k", "", { "x-amz-copy-source": "/a/b" }, {
    op: "CopyObject",
    bucket: "b",
    key: "k",
  }],
  ["GET", "b", "k", "", {}, { op: "GetObject", bucket: "b", key: "k" }],
  ["HEAD", "b", "k", "", {}, { op: "HeadObject", bucket: "b", key: "k" }],
  ["DELETE", "b", "k", "", {}, { op: "DeleteObject", bucket: "b", key: "k" }],
  ["POST", "b", "k", "uploads", {}, { op: "CreateMultipartUpload", bucket: "b", key: "k" }],
  ["PUT", "b", "k", "uploadId=u&partNumber=3", {}, {
    op: "UploadPart",
    bucket: "b",
    key: "k",
    uploadId: "u",
    partNumber: 3,
  }],
  ["PUT", "b", "k", "uploadId=u&partNumber=3", { "x-amz-copy-source": "a/b" }, {
    op: "UploadPartCopy",
    bucket: "b",
    key: "k",
    uploadId: "u",
    partNumber: 3,
  }],
  ["POST", "b", "k", "uploadId=u", {}, {
    op: "CompleteMultipartUpload",
    bucket: "b",
    key: "k",
    uploadId: "u",
  }],
  ["DELETE", "b", "k", "uploadId=u", {}, {
    op: "AbortMultipartUpload",
    bucket: "b",
    key: "k",
    uploadId: "u",
  }],
  ["GET", "b", "k", "uploadId=u", {}, { op: "ListParts", bucket: "b", key: "k", uploadId: "u" }],
];

Deno.test("parseEndpoint - every operation row parses to its AWS operation", () => {
  for (const [method, bucket, key, query, headers, expected] of ROWS) {
    assert.deepEqual(
      parse(method, bucket, key, query, headers),
      expected,
      `${method} /${bucket}/${key}?${query}`,
    );
  }
});

Deno.test("parseEndpoint - every parsed operation has an access rule", () => {
  for (const row of ROWS) assert.ok(Object.hasOwn(OPERATION_ACCESS, row[5].op), row[5].op);
  const owner = {
    accessKey: "o",
    level: "owner" as const,
    buckets: {},
    bypassGovernance: false,
    uploadAnytime: false,
    uploadWindows: [],
  };
  for (const row of ROWS) {
    assert.ok(authorize({ ...owner, allowFrom: [] }, row[5], { copySourceBucket: "a" }).allowed);
  }
});

Deno.test("parseEndpoint - settings reads map to their operations; other sub-resources are NotImplemented", () => {
  assert.deepEqual(parse("GET", "b", "", "acl"), { op: "GetBucketAcl", bucket: "b" });
  assert.deepEqual(parse("GET", "b", "k", "acl"), { op: "GetObjectAcl", bucket: "b", key: "k" });
  assert.deepEqual(parse("GET", "b", "k", "tagging"), {
    op: "GetObjectTagging",
    bucket: "b",
    key: "k",
  });
  assert.deepEqual(parse("GET", "b", "", "policy"), { op: "GetBucketPolicy", bucket: "b" });
  assert.deepEqual(parse("GET", "b", "", "object-lock"), {
    op: "GetObjectLockConfiguration",
    bucket: "b",
  });
  const refused = [["PUT", "k", "tagging"], ["PUT", "", "lifecycle"], ["DELETE", "", "policy"], [
    "GET",
    "k",
    "torrent",
  ]];
  for (const [method, key, q] of refused) {
    assert.throws(
      () => parse(method, "b", key, q),
      (e: unknown) => e instanceof S3Error && e.code === "NotImplemented",
    );
  }
});

Deno.test("parseEndpoint - bad part numbers are InvalidArgument", () => {
  for (const n of ["0", "10001", "x", "-1", "1.5"]) {
    assert.throws(
      () => parse("PUT", "b", "k", `uploadId=u&partNumber=${n}`),
      (e: unknown) => e instanceof S3Error && e.code === "InvalidArgument",
    );
  }
});

Deno.test("parseEndpoint - unsupported methods are MethodNotAllowed", () => {
  assert.throws(
    () => parse("PATCH", "b", "k"),
    (e: unknown) => e instanceof S3Error && e.code === "MethodNotAllowed",
  );
  assert.throws(
    () => parse("PUT", "", ""),
    (e: unknown) => e instanceof S3Error && e.code === "MethodNotAllowed",
  );
});

Deno.test("isValidBucketName - S3 naming rules", () => {
  for (const ok of ["abc", "my-bucket", "my.bucket.1", "a".repeat(63), "0ab"]) {
    assert.ok(isValidBucketName(ok), ok);
  }
  for (
    const bad of [
      "ab",
      "a".repeat(64),
      "ABC",
      "-abc",
      "abc-",
      "a..b",
      "192.168.1.1",
      "xn--abc",
      "a_b",
      "abc-s3alias",
      "a.-b",
    ]
  ) assert.ok(!isValidBucketName(bad), bad);
});
