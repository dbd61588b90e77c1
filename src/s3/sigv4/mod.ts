/**
 * AWS Signature Version 4 for the S3 surface: request verification
 * (Authorization header and presigned URLs), the aws-chunked body decoder
 * with chunk and trailer signatures, body hash verification, and the S3
 * additional checksums. Everything here is pure: time comes in as `nowMs`
 * and secrets through a lookup callback.
 *
 * Typical use in a handler:
 *
 * 1. `verifyRequest(head, { nowMs, lookupSecret })` → `AuthResult`.
 * 2. By `auth.payload.kind`: pipe the body through `createSha256Verifier`
 *    (`sha256`), or `decodeAwsChunked({ ...auth, decodedLength })`
 *    (`streaming-*`), or nothing (`unsigned`).
 * 3. `parseChecksumHeaders(headers)` and, when it finds one, pipe through
 *    `createChecksumVerifier` (for a trailer, `expected` is
 *    `trailers.then((t) => t.get(header))`).
 * 4. Commit only when the whole pipeline finished without error.
 *
 * @module
 */

export {
  ALGORITHM,
  canonicalHeaderValue,
  canonicalQuery,
  canonicalRequest,
  type CanonicalRequestInput,
  canonicalUri,
  credentialScope,
  EMPTY_SHA256_HEX,
  type HeaderLookup,
  hmacHex,
  sha256Hex,
  signingKey,
  stringToSign,
  uriEncode,
} from "./canonical.ts";
export {
  type AuthResult,
  MAX_PRESIGN_EXPIRES_S,
  MAX_SKEW_MS,
  parseAmzDate,
  parseAuthorizationHeader,
  type ParsedAuthorization,
  parsePayloadMode,
  type PayloadMode,
  presignedHeaders,
  type VerifyInput,
  type VerifyOptions,
  verifyRequest,
} from "./verify.ts";
export {
  type AwsChunkedDecoder,
  decodeAwsChunked,
  type DecodeAwsChunkedOptions,
  MAX_LINE_BYTES,
  MAX_TRAILER_BYTES,
} from "./chunked.ts";
export {
  type Checksum,
  CHECKSUM_ALGORITHMS,
  CHECKSUM_BYTES,
  type ChecksumAlgorithm,
  type ChecksumExpectation,
  checksumHeaderName,
  crc32c,
  crc64nvme,
  createChecksum,
  isValidChecksumValue,
  parseChecksumHeaders,
} from "./checksums.ts";
export {
  type ChecksumVerifierOptions,
  createChecksumVerifier,
  createSha256Verifier,
  type VerifyingStream,
} from "./payload.ts";
