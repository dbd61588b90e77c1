/**
 * Parse, then authorize, then dispatch: turns a request's method, address and
 * query into one {@linkcode Endpoint} per AWS operation. Which access level
 * each needs is decided by `auth.authorize`. Pure: no I/O.
 *
 * @module
 */

import { S3Error } from "./errors.ts";

/** Every S3 operation Amber serves, with the address parts it needs. */
export type Endpoint =
  | { op: "ListBuckets" }
  | { op: "CreateBucket"; bucket: string }
  | { op: "HeadBucket"; bucket: string }
  | { op: "DeleteBucket"; bucket: string }
  | { op: "GetBucketLocation"; bucket: string }
  | { op: "GetBucketVersioning"; bucket: string }
  | { op: "PutBucketVersioning"; bucket: string }
  | { op: "ListObjectVersions"; bucket: string }
  | { op: "ListObjects"; bucket: string }
  | { op: "ListObjectsV2"; bucket: string }
  | { op: "ListMultipartUploads"; bucket: string }
  | { op: "DeleteObjects"; bucket: string }
  | { op: "PutObject"; bucket: string; key: string }
  | { op: "CopyObject"; bucket: string; key: string }
  | { op: "GetObject"; bucket: string; key: string }
  | { op: "HeadObject"; bucket: string; key: string }
  | { op: "DeleteObject"; bucket: string; key: string }
  | { op: "CreateMultipartUpload"; bucket: string; key: string }
  | { op: "UploadPart"; bucket: string; key: string; uploadId: string; partNumber: number }
  | { op: "UploadPartCopy"; bucket: string; key: string; uploadId: string; partNumber: number }
  | { op: "CompleteMultipartUpload"; bucket: string; key: string; uploadId: string }
  | { op: "AbortMultipartUpload"; bucket: string; key: string; uploadId: string }
  | { op: "ListParts"; bucket: string; key: string; uploadId: string }
  | { op: "GetBucketAcl"; bucket: string }
  | { op: "GetObjectAcl"; bucket: string; key: string }
  | { op: "GetObjectTagging"; bucket: string; key: string }
  | { op: "PutObjectLockConfiguration"; bucket: string }
  | { op: "GetObjectLockConfiguration"; bucket: string }
  | { op: "PutObjectRetention"; bucket: string; key: string }
  | { op: "GetObjectRetention"; bucket: string; key: string }
  | { op: "PutObjectLegalHold"; bucket: string; key: string }
  | { op: "GetObjectLegalHold"; bucket: string; key: string }
  | { op: NotConfiguredOperation; bucket: string };

/**
 * Bucket settings Amber does not keep; reading one answers as S3 does for a
 * bucket that never had it (usually a 404 with a specific code), so clients
 * that probe them carry on.
 */
export const NOT_CONFIGURED = {
  GetBucketPolicy: "policy",
  GetBucketCors: "cors",
  GetBucketLifecycleConfiguration: "lifecycle",
  GetBucketTagging: "tagging",
  GetBucketEncryption: "encryption",
  GetBucketWebsite: "website",
  GetBucketReplication: "replication",
  GetPublicAccessBlock: "publicAccessBlock",
  GetBucketLogging: "logging",
  GetBucketNotificationConfiguration: "notification",
  GetBucketRequestPayment: "requestPayment",
  GetBucketAccelerateConfiguration: "accelerate",
} as const;

/** The operations that read a bucket setting Amber does not keep. */
export type NotConfiguredOperation = keyof typeof NOT_CONFIGURED;

const NOT_CONFIGURED_BY_PARAM = new Map<string, NotConfiguredOperation>(
  Object.entries(NOT_CONFIGURED).map(([op, param]) => [param, op as NotConfiguredOperation]),
);

/** The name of an S3 operation. */
export type OperationName = Endpoint["op"];

/** What {@linkcode parseEndpoint} reads from a request. */
export interface EndpointInput {
  method: string;
  /** Bucket name from the path or the host; empty for the service. */
  bucket: string;
  /** Object key, decoded; empty for bucket operations. */
  key: string;
  /** Decoded query parameters. */
  query: URLSearchParams;
  /** Lowercase header lookup. */
  header: (name: string) => string | undefined;
}

/** Query parameters that select an operation; any other sub-resource is not implemented. */
const SUBRESOURCES = new Set([
  "acl",
  "analytics",
  "cors",
  "encryption",
  "intelligent-tiering",
  "inventory",
  "lifecycle",
  "logging",
  "metrics",
  "notification",
  "ownershipControls",
  "policy",
  "policyStatus",
  "publicAccessBlock",
  "replication",
  "requestPayment",
  "restore",
  "select",
  "tagging",
  "torrent",
  "website",
  "accelerate",
  "attributes",
]);

function notImplemented(method: string, what: string): S3Error {
  return new S3Error("NotImplemented", { message: `${method} ${what} is not implemented` });
}

function partNumberOf(q: URLSearchParams): number {
  const raw = q.get("partNumber") ?? "";
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 10000) {
    throw new S3Error("InvalidArgument", {
      message: "Part number must be an integer between 1 and 10000, inclusive",
    });
  }
  return n;
}

/** Object Lock's sub-resources, on PUT and GET. */
function lockEndpoint(
  method: string,
  bucket: string,
  key: string,
  q: URLSearchParams,
): Endpoint | undefined {
  if (method !== "PUT" && method !== "GET") return undefined;
  const put = method === "PUT";
  if (!key && q.has("object-lock")) {
    return put
      ? { op: "PutObjectLockConfiguration", bucket }
      : { op: "GetObjectLockConfiguration", bucket };
  }
  if (key && q.has("retention")) {
    return put
      ? { op: "PutObjectRetention", bucket, key }
      : { op: "GetObjectRetention", bucket, key };
  }
  if (key && q.has("legal-hold")) {
    return put
      ? { op: "PutObjectLegalHold", bucket, key }
      : { op: "GetObjectLegalHold", bucket, key };
  }
  return undefined;
}

function readSetting(bucket: string, key: string, q: URLSearchParams): Endpoint | undefined {
  if (q.has("acl")) {
    return key ? { op: "GetObjectAcl", bucket, key } : { op: "GetBucketAcl", bucket };
  }
  if (key) return q.has("tagging") ? { op: "GetObjectTagging", bucket, key } : undefined;
  for (const name of q.keys()) {
    const op = NOT_CONFIGURED_BY_PARAM.get(name);
    if (op) return { op, bucket };
  }
  return undefined;
}

/**
 * Parses a request into its {@linkcode Endpoint}.
 *
 * @param r Method, address parts, query and headers.
 * @returns The endpoint.
 * @throws {S3Error} `NotImplemented` for operations Amber does not serve, `MethodNotAllowed` for bad methods.
 *
 * @example
 * ```ts
 * import { parseEndpoint } from "./endpoint.ts";
 * const ep = parseEndpoint({ method: "GET", bucket: "b", key: "", query: new URLSearchParams("list-type=2"), header: () => undefined });
 * if (ep.op !== "ListObjectsV2") throw new Error("wrong op");
 * ```
 */
export function parseEndpoint(r: EndpointInput): Endpoint {
  const { method, bucket, key, query: q } = r;
  if (bucket) {
    const lock = lockEndpoint(method, bucket, key, q);
    if (lock) return lock;
  }
  if (method === "GET" && bucket) {
    const read = readSetting(bucket, key, q);
    if (read) return read;
  }
  for (const name of q.keys()) {
    if (SUBRESOURCES.has(name)) throw notImplemented(method, `?${name}`);
  }
  if (!bucket) {
    if (method === "GET") return { op: "ListBuckets" };
    throw new S3Error("MethodNotAllowed");
  }
  if (!key) {
    switch (method) {
      case "PUT":
        if (q.has("versioning")) return { op: "PutBucketVersioning", bucket };
        return { op: "CreateBucket", bucket };
      case "HEAD":
        return { op: "HeadBucket", bucket };
      case "DELETE":
        if (q.has("uploads")) throw notImplemented(method, "?uploads");
        return { op: "DeleteBucket", bucket };
      case "GET":
        if (q.has("location")) return { op: "GetBucketLocation", bucket };
        if (q.has("versioning")) return { op: "GetBucketVersioning", bucket };
        if (q.has("versions")) return { op: "ListObjectVersions", bucket };
        if (q.has("uploads")) return { op: "ListMultipartUploads", bucket };
        if (q.get("list-type") === "2") return { op: "ListObjectsV2", bucket };
        return { op: "ListObjects", bucket };
      case "POST":
        if (q.has("delete")) return { op: "DeleteObjects", bucket };
        throw notImplemented(method, "on a bucket");
      default:
        throw new S3Error("MethodNotAllowed");
    }
  }
  const uploadId = q.get("uploadId");
  switch (method) {
    case "PUT":
      if (uploadId !== null) {
        const partNumber = partNumberOf(q);
        return r.header("x-amz-copy-source")
          ? { op: "UploadPartCopy", bucket, key, uploadId, partNumber }
          : { op: "UploadPart", bucket, key, uploadId, partNumber };
      }
      return r.header("x-amz-copy-source")
        ? { op: "CopyObject", bucket, key }
        : { op: "PutObject", bucket, key };
    case "GET":
      if (uploadId !== null) return { op: "ListParts", bucket, key, uploadId };
      return { op: "GetObject", bucket, key };
    case "HEAD":
      return { op: "HeadObject", bucket, key };
    case "DELETE":
      if (uploadId !== null) return { op: "AbortMultipartUpload", bucket, key, uploadId };
      return { op: "DeleteObject", bucket, key };
    case "POST":
      if (q.has("uploads")) return { op: "CreateMultipartUpload", bucket, key };
      if (uploadId !== null) return { op: "CompleteMultipartUpload", bucket, key, uploadId };
      throw notImplemented(method, "on an object");
    default:
      throw new S3Error("MethodNotAllowed");
  }
}

/**
 * Checks a bucket name against S3's rules for new buckets.
 *
 * @param name The proposed name.
 * @returns True when valid.
 */
export function isValidBucketName(name: string): boolean {
  return name.length >= 3 && name.length <= 63 &&
    /^[a-z0-9][a-z0-9.\-]*[a-z0-9]$/.test(name) &&
    !name.includes("..") && !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith("xn--") && !name.startsWith("sthree-") && !name.endsWith("-s3alias") &&
    !name.endsWith("--ol-s3") && !name.includes(".-") && !name.includes("-.") &&
    // Reserved: /admin/… is the admin API.
    name !== "admin";
}
