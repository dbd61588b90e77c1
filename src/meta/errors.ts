/**
 * Errors of the index. They name what went wrong in the vault's terms and
 * never speak HTTP; the S3 boundary maps them.
 *
 * @module
 */

/** The kinds of index error. */
export type MetaErrorKind =
  | "noSuchBucket"
  | "noSuchKey"
  | "noSuchVersion"
  | "bucketExists"
  | "bucketNotEmpty"
  | "noSuchUpload"
  | "invalidPart"
  | "invalidPartOrder"
  | "partTooSmall"
  /** A claimed checksum does not match the data's. */
  | "checksumMismatch"
  /** A checksum is missing, of another algorithm than the upload's, or cannot be made. */
  | "checksumInvalid"
  | "preconditionFailed"
  | "deleteMarker"
  | "sourceChanged"
  | "noLockConfiguration"
  | "invalidBucketState"
  | "integrityRequired"
  | "locked"
  | "methodNotAllowed"
  | "readOnly"
  | "approvalsRequired"
  | "invalidApproval"
  | "accessKeyExists"
  | "noSuchAccessKey"
  | "appendOnly"
  // Bucket policy (policy_store.ts).
  | "invalidPolicy"
  | "quotaExceeded"
  | "objectTooLarge"
  | "outsideWindow"
  | "tooFrequent"
  | "retentionTooLong";

/** An index error with its kind. */
export class MetaError extends Error {
  readonly kind: MetaErrorKind;
  readonly details?: Record<string, string | number>;
  constructor(kind: MetaErrorKind, message: string, details?: Record<string, string | number>) {
    super(message);
    this.name = "MetaError";
    this.kind = kind;
    this.details = details;
  }
}
