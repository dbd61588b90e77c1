/**
 * The one S3 error type and its table of code → status → message.
 *
 * Every refusal on the S3 surface is an {@linkcode S3Error}; domain errors from
 * other areas are mapped to it in one place ({@linkcode toS3Error}).
 *
 * @module
 */

/** Status and default message for every S3 error code Amber returns. */
export const ERRORS = {
  AccessDenied: { status: 403, message: "Access Denied" },
  AuthorizationHeaderMalformed: {
    status: 400,
    message: "The authorization header that you provided is not valid.",
  },
  AuthorizationQueryParametersError: {
    status: 400,
    message: "Error parsing the X-Amz-Credential parameter.",
  },
  BadDigest: {
    status: 400,
    message:
      "The Content-MD5 or checksum value that you specified did not match what the server received.",
  },
  BucketAlreadyExists: {
    status: 409,
    message:
      "The requested bucket name is not available. Please select a different name and try again.",
  },
  BucketAlreadyOwnedByYou: {
    status: 409,
    message: "Your previous request to create the named bucket succeeded and you already own it.",
  },
  BucketNotEmpty: { status: 409, message: "The bucket you tried to delete is not empty." },
  EntityTooLarge: {
    status: 400,
    message: "Your proposed upload exceeds the maximum allowed object size.",
  },
  // Admin API codes (IAM's names), for managed access keys.
  EntityAlreadyExists: { status: 409, message: "The entity already exists." },
  EntityTooSmall: {
    status: 400,
    message: "Your proposed upload is smaller than the minimum allowed object size.",
  },
  IncompleteBody: {
    status: 400,
    message: "You did not provide the number of bytes specified by the Content-Length HTTP header.",
  },
  RequestTimeout: {
    status: 400,
    message:
      "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
  },
  InsufficientStorage: {
    status: 507,
    message: "The vault has no room left to store this request. Free or add space, then retry.",
  },
  InternalError: {
    status: 500,
    message: "We encountered an internal error. Please try again.",
  },
  InvalidAccessKeyId: {
    status: 403,
    message: "The AWS access key ID you provided does not exist in our records.",
  },
  InvalidArgument: { status: 400, message: "Invalid Argument" },
  InvalidBucketName: { status: 400, message: "The specified bucket is not valid." },
  InvalidBucketState: {
    status: 409,
    message: "The request is not valid with the current state of the bucket.",
  },
  InvalidDigest: { status: 400, message: "The Content-MD5 you specified is not valid." },
  InvalidPart: {
    status: 400,
    message:
      "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
  },
  InvalidPartOrder: {
    status: 400,
    message: "The list of parts was not in ascending order. Parts must be ordered by part number.",
  },
  InvalidRange: { status: 416, message: "The requested range is not satisfiable" },
  InvalidRequest: { status: 400, message: "Invalid Request" },
  InvalidRetentionPeriod: { status: 400, message: "The retention period specified is invalid." },
  InvalidPartNumber: { status: 416, message: "The requested partnumber is not satisfiable" },
  KeyTooLongError: { status: 400, message: "Your key is too long" },
  MalformedXML: {
    status: 400,
    message:
      "The XML you provided was not well-formed or did not validate against our published schema.",
  },
  MetadataTooLarge: {
    status: 400,
    message: "Your metadata headers exceed the maximum allowed metadata size.",
  },
  MethodNotAllowed: {
    status: 405,
    message: "The specified method is not allowed against this resource.",
  },
  MissingContentLength: {
    status: 411,
    message: "You must provide the Content-Length HTTP header.",
  },
  MissingSecurityHeader: {
    status: 400,
    message: "Your request is missing a required header.",
  },
  NoSuchBucket: { status: 404, message: "The specified bucket does not exist" },
  NoSuchEntity: { status: 404, message: "The specified entity does not exist." },
  NoSuchObjectLockConfiguration: {
    status: 404,
    message: "The specified object does not have a ObjectLock configuration",
  },
  NoSuchBucketPolicy: { status: 404, message: "The bucket policy does not exist" },
  NoSuchCORSConfiguration: { status: 404, message: "The CORS configuration does not exist" },
  NoSuchLifecycleConfiguration: {
    status: 404,
    message: "The lifecycle configuration does not exist",
  },
  NoSuchPublicAccessBlockConfiguration: {
    status: 404,
    message: "The public access block configuration was not found",
  },
  NoSuchTagSet: { status: 404, message: "The TagSet does not exist" },
  NoSuchWebsiteConfiguration: {
    status: 404,
    message: "The specified bucket does not have a website configuration",
  },
  ObjectLockConfigurationNotFoundError: {
    status: 404,
    message: "Object Lock configuration does not exist for this bucket",
  },
  ReplicationConfigurationNotFoundError: {
    status: 404,
    message: "The replication configuration was not found",
  },
  ServerSideEncryptionConfigurationNotFoundError: {
    status: 404,
    message: "The server side encryption configuration was not found",
  },
  NoSuchKey: { status: 404, message: "The specified key does not exist." },
  NoSuchUpload: {
    status: 404,
    message:
      "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
  },
  NoSuchVersion: {
    status: 404,
    message: "The specified version does not exist.",
  },
  NotImplemented: {
    status: 501,
    message: "A header you provided implies functionality that is not implemented.",
  },
  NotModified: { status: 304, message: "Not Modified" },
  OperationAborted: {
    status: 409,
    message:
      "A conflicting conditional operation is currently in progress against this resource. Please try again.",
  },
  PreconditionFailed: {
    status: 412,
    message: "At least one of the pre-conditions you specified did not hold",
  },
  /** Not in AWS (which has no bucket quotas): Ceph RGW's code and status for a full bucket. */
  QuotaExceeded: { status: 403, message: "The bucket quota has been exceeded." },
  RequestHeaderSectionTooLarge: {
    status: 400,
    message: "Your request header section exceeds the maximum allowed size.",
  },
  RequestTimeTooSkewed: {
    status: 403,
    message: "The difference between the request time and the current time is too large.",
  },
  ServiceUnavailable: { status: 503, message: "Please reduce your request rate." },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
  },
  XAmzContentSHA256Mismatch: {
    status: 400,
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  },
} as const;

/** Every S3 error code Amber can return. */
export type S3ErrorCode = keyof typeof ERRORS;

/** Options for {@linkcode S3Error}. */
export interface S3ErrorOptions {
  /** The bucket or key path the error is about; rendered as `<Resource>`. */
  resource?: string;
  /** A more specific message than the table's default. */
  message?: string;
  /** The underlying error, kept for the log only. */
  cause?: unknown;
  /** Extra XML fields some codes carry (for example `ServerTime` with RequestTimeTooSkewed). */
  extra?: Record<string, string>;
  /** Extra response headers (for example `x-amz-delete-marker`). */
  headers?: Record<string, string>;
}

/** An S3 error: a code from {@linkcode ERRORS}, rendered as S3 XML. */
export class S3Error extends Error {
  readonly code: S3ErrorCode;
  readonly status: number;
  readonly resource?: string;
  readonly extra?: Record<string, string>;
  readonly headers?: Record<string, string>;

  /**
   * @example
   * ```ts
   * import { S3Error } from "./errors.ts";
   * const e = new S3Error("NoSuchKey", { resource: "/b/k" });
   * if (e.status !== 404) throw new Error("wrong status");
   * ```
   */
  constructor(code: S3ErrorCode, options: S3ErrorOptions = {}) {
    super(options.message ?? ERRORS[code].message, { cause: options.cause });
    this.name = "S3Error";
    this.code = code;
    this.status = ERRORS[code].status;
    this.resource = options.resource;
    this.extra = options.extra;
    this.headers = options.headers;
  }
}

/** Index error kinds → S3 codes. Exhaustive over the kinds the index raises. */
const META_CODES: Record<string, S3ErrorCode> = {
  noSuchBucket: "NoSuchBucket",
  noSuchKey: "NoSuchKey",
  noSuchVersion: "NoSuchVersion",
  bucketExists: "BucketAlreadyOwnedByYou",
  bucketNotEmpty: "BucketNotEmpty",
  noSuchUpload: "NoSuchUpload",
  invalidPart: "InvalidPart",
  invalidPartOrder: "InvalidPartOrder",
  partTooSmall: "EntityTooSmall",
  checksumMismatch: "BadDigest",
  checksumInvalid: "InvalidRequest",
  preconditionFailed: "PreconditionFailed",
  sourceChanged: "OperationAborted",
  noLockConfiguration: "InvalidRequest",
  invalidBucketState: "InvalidBucketState",
  integrityRequired: "InvalidRequest",
  locked: "AccessDenied",
  methodNotAllowed: "MethodNotAllowed",
  readOnly: "AccessDenied",
  approvalsRequired: "AccessDenied",
  invalidApproval: "AccessDenied",
  deleteMarker: "NoSuchKey",
  accessKeyExists: "EntityAlreadyExists",
  noSuchAccessKey: "NoSuchEntity",
  appendOnly: "AccessDenied",
  invalidPolicy: "InvalidArgument",
  quotaExceeded: "QuotaExceeded",
  objectTooLarge: "EntityTooLarge",
  outsideWindow: "AccessDenied",
  tooFrequent: "AccessDenied",
  retentionTooLong: "AccessDenied",
};

/** Kinds whose message carries the reason a user needs (which lock, which setting, which limit). */
const SPEAKING_KINDS = new Set([
  "checksumMismatch",
  "checksumInvalid",
  "locked",
  "integrityRequired",
  "invalidBucketState",
  "readOnly",
  "approvalsRequired",
  "invalidApproval",
  "accessKeyExists",
  "noSuchAccessKey",
  "appendOnly",
  "invalidPolicy",
  "quotaExceeded",
  "objectTooLarge",
  "outsideWindow",
  "tooFrequent",
  "retentionTooLong",
]);

/** The shape of a domain error that crossed a channel (see `channel/protocol.ts` `WireError`). */
interface WireLike {
  wire: { area: string; kind: string; message: string; details?: Record<string, string | number> };
}

function isWire(e: unknown): e is WireLike {
  return typeof e === "object" && e !== null && "wire" in e;
}

/**
 * Maps anything thrown while serving a request to an {@linkcode S3Error}.
 * Unknown errors become `InternalError`; their text never reaches the client.
 *
 * @param e What was thrown.
 * @param resource The request's resource path.
 * @returns The S3 error to render.
 */
export function toS3Error(e: unknown, resource: string): S3Error {
  if (e instanceof S3Error) return e;
  if (isWire(e) && e.wire.area === "meta" && e.wire.kind in META_CODES) {
    const headers: Record<string, string> = {};
    if (e.wire.kind === "deleteMarker") {
      headers["x-amz-delete-marker"] = "true";
      if (e.wire.details?.versionId) headers["x-amz-version-id"] = String(e.wire.details.versionId);
    }
    const extra: Record<string, string> = {};
    if (e.wire.details?.bucket) extra.BucketName = String(e.wire.details.bucket);
    if (e.wire.details?.key) extra.Key = String(e.wire.details.key);
    // The others keep S3's wording.
    const message = SPEAKING_KINDS.has(e.wire.kind)
      ? e.wire.message
      : e.wire.kind === "noLockConfiguration"
      ? "Bucket is missing Object Lock Configuration"
      : undefined;
    return new S3Error(META_CODES[e.wire.kind], { resource, cause: e, headers, extra, message });
  }
  if (isWire(e) && e.wire.area === "store" && e.wire.kind === "full") {
    return new S3Error("InsufficientStorage", { resource, cause: e });
  }
  // Too few drives online to reach the write quorum: the client may retry later.
  if (isWire(e) && e.wire.area === "store" && e.wire.kind === "unavailable") {
    return new S3Error("ServiceUnavailable", { resource, cause: e });
  }
  return new S3Error("InternalError", { resource, cause: e });
}
