/**
 * Verifies SigV4 authentication of an S3 request: the `Authorization`
 * header form and the presigned-URL (query string) form.
 *
 * {@linkcode verifyRequest} is pure: the current time comes in as `nowMs`
 * and secrets come from a lookup callback. It checks the request head only;
 * the result says how the body must be checked (see {@linkcode PayloadMode}).
 *
 * @example
 * ```ts
 * import { parseAuthorizationHeader } from "./verify.ts";
 * const a = parseAuthorizationHeader(
 *   "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, " +
 *     "SignedHeaders=host;x-amz-date, Signature=" + "0".repeat(64),
 * );
 * if (a.accessKey !== "AKID" || a.signedHeaders.length !== 2) throw new Error();
 * ```
 *
 * @module
 */

import { S3Error } from "../errors.ts";
import {
  ALGORITHM,
  canonicalRequest,
  credentialScope,
  type HeaderLookup,
  hmacHex,
  sameHex,
  sha256Hex,
  signingKey,
  stringToSign,
} from "./canonical.ts";
import { parseHttpDate } from "../http_date.ts";

/** The largest clock difference accepted for header-signed requests, 15 minutes. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

/** The longest a presigned URL may be valid, 7 days in seconds (AWS limit). */
export const MAX_PRESIGN_EXPIRES_S = 604800;

/** How the request body must be checked after the head verified. */
export type PayloadMode =
  /** `UNSIGNED-PAYLOAD`: the body is not covered by the signature. */
  | { kind: "unsigned" }
  /** A literal SHA-256 the body must hash to (lower-case hex). */
  | { kind: "sha256"; hex: string }
  /** `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`: aws-chunked with chunk signatures. */
  | { kind: "streaming-signed"; trailer: boolean }
  /** `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: aws-chunked without signatures, with trailers. */
  | { kind: "streaming-unsigned-trailer" };

/** The outcome of a successful {@linkcode verifyRequest}. */
export interface AuthResult {
  /** The authenticated access key id. */
  accessKey: string;
  /** How the body must be verified. */
  payload: PayloadMode;
  /** The derived signing key, needed to verify chunk signatures. */
  signingKey: Uint8Array;
  /** The request signature; the seed of the chunk-signature chain. */
  seedSignature: string;
  /** The credential scope `yyyymmdd/region/s3/aws4_request`. */
  scope: string;
  /** The request time as `YYYYMMDDTHHMMSSZ`. */
  amzDate: string;
  /** The region the client signed for. */
  region: string;
  /** Whether the request used a presigned URL rather than the Authorization header. */
  presigned: boolean;
}

/** The parsed parts of a SigV4 `Authorization` header. */
export interface ParsedAuthorization {
  /** Access key id from the credential. */
  accessKey: string;
  /** Credential-scope date, `yyyymmdd`. */
  date: string;
  /** Credential-scope region. */
  region: string;
  /** Credential-scope service. */
  service: string;
  /** Lower-case signed header names, in the client's order. */
  signedHeaders: string[];
  /** The hex signature. */
  signature: string;
}

/** The request head {@linkcode verifyRequest} checks. */
export interface VerifyInput {
  /** HTTP method as sent. */
  method: string;
  /** The raw path, still percent-encoded as on the wire. */
  path: string;
  /** Decoded query pairs in wire order. */
  query: [string, string][];
  /** Request headers. */
  headers: Headers;
}

/** Options for {@linkcode verifyRequest}. */
export interface VerifyOptions {
  /** The current time in milliseconds since the epoch. */
  nowMs: number;
  /** Returns the secret of an access key, or `undefined` when unknown. */
  lookupSecret(accessKey: string): string | undefined | Promise<string | undefined>;
  /**
   * Largest accepted difference between request time and `nowMs`.
   * @default {900000}
   */
  maxSkewMs?: number;
  /** When set, credentials scoped to any other region are refused. */
  region?: string;
}

const CREDENTIAL_FORMAT = '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"';
const HEX64 = /^[0-9a-fA-F]{64}$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const PAYLOAD_VALUES = "UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, " +
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, " +
  "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER";
const PRESIGN_PARAMS = [
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Signature",
  "X-Amz-Date",
  "X-Amz-SignedHeaders",
  "X-Amz-Expires",
] as const;

/**
 * `x-amz-*` query parameters of a presigned URL that are not headers for the request (lower case):
 * its authentication; checksums and the body's framing, which S3 does not take from a presigned
 * URL ("presigned URLs don't support" CRC32, CRC32C, SHA-1, SHA-256; the AWS SDK for JavaScript
 * signs the CRC32 of the body it has at signing, none); and a copy source, which S3 ignores there.
 */
function notHoisted(name: string): boolean {
  return PRESIGN_AUTH_PARAMS.has(name) || name.startsWith("x-amz-checksum-") ||
    name.startsWith("x-amz-copy-source") || NOT_HOISTED.has(name);
}
const PRESIGN_AUTH_PARAMS: ReadonlySet<string> = new Set([
  ...PRESIGN_PARAMS.map((n) => n.toLowerCase()),
  "x-amz-security-token",
  "x-amz-content-sha256",
]);
const NOT_HOISTED: ReadonlySet<string> = new Set([
  "x-amz-sdk-checksum-algorithm",
  "x-amz-trailer",
  "x-amz-decoded-content-length",
]);

/**
 * The headers a presigned URL carries in its query: presigners (the AWS SDKs among them) hoist a
 * request's `x-amz-*` headers (metadata, Object Lock settings) into the signed query string, and
 * S3 applies them as headers. Leaving them out stored an object without the retention or the
 * metadata it was sent with, and answered 200.
 *
 * @param query The request's query pairs, decoded.
 * @returns Each such parameter as a header, lower case; a header sent too wins over it.
 */
export function presignedHeaders(
  query: readonly (readonly [string, string])[],
): [string, string][] {
  return query.flatMap(([k, v]): [string, string][] => {
    const name = k.toLowerCase();
    return name.startsWith("x-amz-") && !notHoisted(name) ? [[name, v]] : [];
  });
}

function malformed(detail: string): S3Error {
  return new S3Error("AuthorizationHeaderMalformed", {
    message: `The authorization header is malformed; ${detail}`,
  });
}

/**
 * Parses a SigV4 `Authorization` header value.
 *
 * @param value The header value, `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
 * @returns The parsed parts.
 * @throws {S3Error} `AuthorizationHeaderMalformed` when a part is missing or mal-formed;
 *   `InvalidArgument` for another algorithm (such as SigV2 or SigV4a).
 */
export function parseAuthorizationHeader(value: string): ParsedAuthorization {
  const trimmed = value.trim();
  const space = trimmed.indexOf(" ");
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw new S3Error("InvalidArgument", {
      message: "Unsupported Authorization Type",
      extra: { ArgumentName: "Authorization", ArgumentValue: value },
    });
  }
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(",")) {
    const p = part.trim();
    if (p === "") continue;
    const eq = p.indexOf("=");
    if (eq < 0) throw malformed(`the authorization component "${p}" is malformed.`);
    fields.set(p.slice(0, eq).trim(), p.slice(eq + 1).trim());
  }
  const credential = fields.get("Credential");
  const signed = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (credential === undefined) throw malformed("missing Credential.");
  if (signed === undefined) throw malformed("missing SignedHeaders.");
  if (signature === undefined) throw malformed("missing Signature.");
  const cred = parseCredential(credential);
  if (cred === undefined) {
    throw malformed(`the Credential is mal-formed; expecting ${CREDENTIAL_FORMAT}.`);
  }
  const signedHeaders = parseSignedHeaders(signed);
  if (signedHeaders === undefined) throw malformed("the SignedHeaders are mal-formed.");
  return { ...cred, signedHeaders, signature };
}

function parseCredential(
  credential: string,
): { accessKey: string; date: string; region: string; service: string } | undefined {
  const parts = credential.split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request") return undefined;
  const [accessKey, date, region, service] = parts;
  if (accessKey === "" || !/^\d{8}$/.test(date) || region === "" || service === "") {
    return undefined;
  }
  return { accessKey, date, region, service };
}

function parseSignedHeaders(value: string): string[] | undefined {
  if (value === "") return undefined;
  const names = value.split(";");
  for (const n of names) {
    if (n === "" || n !== n.toLowerCase() || /\s/.test(n)) return undefined;
  }
  return names;
}

/** Parses `YYYYMMDDTHHMMSSZ` into epoch milliseconds, or `undefined`. */
export function parseAmzDate(value: string): number | undefined {
  const m = AMZ_DATE.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCDate() !== d || back.getUTCMonth() !== mo - 1 || h > 23 || mi > 59 || s > 59) {
    return undefined;
  }
  return ms;
}

/** Formats epoch milliseconds as `YYYYMMDDTHHMMSSZ`. */
function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** Formats epoch milliseconds the way S3 writes `ServerTime`: ISO 8601 without fraction. */
function formatIso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Classifies an `x-amz-content-sha256` value.
 *
 * @param value The header value.
 * @returns The payload mode it announces.
 * @throws {S3Error} `InvalidArgument` for a value that is neither a known literal nor 64 hex
 *   digits; `NotImplemented` for SigV4a streaming.
 */
export function parsePayloadMode(value: string): PayloadMode {
  switch (value) {
    case "UNSIGNED-PAYLOAD":
      return { kind: "unsigned" };
    case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD":
      return { kind: "streaming-signed", trailer: false };
    case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER":
      return { kind: "streaming-signed", trailer: true };
    case "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
      return { kind: "streaming-unsigned-trailer" };
    case "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD":
    case "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER":
      throw new S3Error("NotImplemented", {
        message: "SigV4a streaming payloads are not supported",
        extra: { Header: "x-amz-content-sha256" },
      });
  }
  if (HEX64.test(value)) return { kind: "sha256", hex: value.toLowerCase() };
  throw new S3Error("InvalidArgument", {
    message: `x-amz-content-sha256 must be ${PAYLOAD_VALUES} or a valid sha256 value.`,
    extra: { ArgumentName: "x-amz-content-sha256", ArgumentValue: value },
  });
}

/** Everything needed to check one signature, whichever form carried it. */
interface SignedParts {
  accessKey: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  payloadHash: string;
  payload: PayloadMode;
  query: [string, string][];
  presigned: boolean;
}

function hasPresignParams(query: readonly [string, string][]): boolean {
  for (const [k] of query) {
    if (k === "X-Amz-Algorithm" || k === "X-Amz-Credential" || k === "X-Amz-Signature") {
      return true;
    }
  }
  return false;
}

function queryParam(query: readonly [string, string][], name: string): string | undefined {
  for (const [k, v] of query) if (k === name) return v;
  return undefined;
}

/** Checks the parts shared by both forms: service, region, signed `host`, unsigned x-amz-*. */
function checkScope(parts: SignedParts, input: VerifyInput, opts: VerifyOptions): void {
  const bad = (message: string) =>
    parts.presigned
      ? new S3Error("AuthorizationQueryParametersError", { message })
      : new S3Error("AuthorizationHeaderMalformed", {
        message: `The authorization header is malformed; ${message}`,
      });
  if (parts.service !== "s3") {
    throw bad(`incorrect service "${parts.service}". This endpoint belongs to "s3".`);
  }
  if (opts.region !== undefined && parts.region !== opts.region) {
    const e = bad(`the region '${parts.region}' is wrong; expecting '${opts.region}'`);
    throw new S3Error(e.code, { message: e.message, extra: { Region: opts.region } });
  }
  if (parts.date !== parts.amzDate.slice(0, 8)) {
    throw bad("Invalid credential date. Date is not the same as X-Amz-Date.");
  }
  if (!parts.signedHeaders.includes("host")) {
    throw bad("the SignedHeaders must include 'host'.");
  }
  const notSigned: string[] = [];
  input.headers.forEach((_v, name) => {
    if (
      name.startsWith("x-amz-") && name !== "x-amz-content-sha256" &&
      !parts.signedHeaders.includes(name)
    ) notSigned.push(name);
  });
  if (notSigned.length > 0) {
    throw new S3Error("AccessDenied", {
      message: "There were headers present in the request which were not signed",
      extra: { HeadersNotSigned: notSigned.join(", ") },
    });
  }
}

function fromHeader(input: VerifyInput, authorization: string, opts: VerifyOptions): SignedParts {
  const auth = parseAuthorizationHeader(authorization);
  const xAmzDate = input.headers.get("x-amz-date");
  const dateHeader = input.headers.get("date");
  let requestMs: number | undefined;
  let amzDate: string;
  let rawTime: string;
  if (xAmzDate !== null) {
    requestMs = parseAmzDate(xAmzDate);
    amzDate = xAmzDate;
    rawTime = xAmzDate;
  } else if (dateHeader !== null) {
    requestMs = parseHttpDate(dateHeader);
    amzDate = requestMs === undefined ? "" : formatAmzDate(requestMs);
    rawTime = dateHeader;
  } else {
    throw new S3Error("AccessDenied", {
      message: "AWS authentication requires a valid Date or x-amz-date header",
    });
  }
  if (requestMs === undefined) {
    throw new S3Error("AccessDenied", {
      message: "AWS authentication requires a valid Date or x-amz-date header",
    });
  }
  const maxSkewMs = opts.maxSkewMs ?? MAX_SKEW_MS;
  if (Math.abs(opts.nowMs - requestMs) > maxSkewMs) {
    throw new S3Error("RequestTimeTooSkewed", {
      extra: {
        RequestTime: rawTime,
        ServerTime: formatIso(opts.nowMs),
        MaxAllowedSkewMilliseconds: String(maxSkewMs),
      },
    });
  }
  const contentSha = input.headers.get("x-amz-content-sha256");
  if (contentSha === null) {
    throw new S3Error("InvalidRequest", {
      message: "Missing required header for this request: x-amz-content-sha256",
    });
  }
  return {
    ...auth,
    amzDate,
    payloadHash: contentSha,
    payload: parsePayloadMode(contentSha),
    query: input.query,
    presigned: false,
  };
}

function fromQuery(input: VerifyInput, opts: VerifyOptions): SignedParts {
  const q = input.query;
  const values = PRESIGN_PARAMS.map((n) => queryParam(q, n));
  if (values.some((v) => v === undefined)) {
    throw new S3Error("AuthorizationQueryParametersError", {
      message: "Query-string authentication version 4 requires the X-Amz-Algorithm, " +
        "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, " +
        "and X-Amz-Expires parameters.",
    });
  }
  const [algorithm, credential, signature, amzDate, signed, expires] = values as string[];
  if (algorithm !== ALGORITHM) {
    throw new S3Error("AuthorizationQueryParametersError", {
      message: 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
    });
  }
  const cred = parseCredential(credential);
  if (cred === undefined) {
    throw new S3Error("AuthorizationQueryParametersError", {
      message: "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; " +
        `expecting ${CREDENTIAL_FORMAT}.`,
    });
  }
  const requestMs = parseAmzDate(amzDate);
  if (requestMs === undefined) {
    throw new S3Error("AuthorizationQueryParametersError", {
      message: "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
    });
  }
  if (!/^-?\d+$/.test(expires)) {
    throw new S3Error("AuthorizationQueryParametersError", {
      message: "X-Amz-Expires should be a number",
    });
  }
  const expiresS = Number(expires);
  if (expiresS < 0) {
    throw new S3Error("AuthorizationQueryParametersError", {
      message: "X-Amz-Expires must be non-negative",
    });
  }
  if (expiresS > MAX_PRESIGN_EXPIRES_S) {
    throw new S3Error("AuthorizationQueryParametersError", {
      message:
        "X-Amz-Expires must be less than a week (in seconds) that's 7 days or 604800 seconds",
    });
  }
  const signedHeaders = parseSignedHeaders(signed);
  if (signedHeaders === undefined) {
    throw new S3Error("AuthorizationQueryParametersError", {
      message: "X-Amz-SignedHeaders is mal-formed",
    });
  }
  const maxSkewMs = opts.maxSkewMs ?? MAX_SKEW_MS;
  if (requestMs - opts.nowMs > maxSkewMs) {
    throw new S3Error("AccessDenied", { message: "Request is not valid yet" });
  }
  if (opts.nowMs > requestMs + expiresS * 1000) {
    throw new S3Error("AccessDenied", {
      message: "Request has expired",
      extra: {
        "X-Amz-Expires": expires,
        Expires: formatIso(requestMs + expiresS * 1000),
        ServerTime: formatIso(opts.nowMs),
      },
    });
  }
  // Presigners (the AWS JS SDK among them) may hoist x-amz-content-sha256 into the query.
  const contentSha = input.headers.get("x-amz-content-sha256") ??
    queryParam(q, "X-Amz-Content-Sha256") ?? null;
  return {
    ...cred,
    signedHeaders,
    signature,
    amzDate,
    payloadHash: contentSha ?? "UNSIGNED-PAYLOAD",
    payload: contentSha === null ? { kind: "unsigned" } : parsePayloadMode(contentSha),
    query: q.filter(([k]) => k !== "X-Amz-Signature"),
    presigned: true,
  };
}

/** Signing keys derived lately: a client signs every request of a day with the same one. */
const signingKeys = new Map<string, Uint8Array>();
/** Keys remembered at most (the cache starts over when full). */
const SIGNING_KEYS_CACHED = 256;

/** {@linkcode signingKey}, remembered per secret and scope: four HMACs saved per request. */
function cachedSigningKey(
  secret: string,
  date: string,
  region: string,
  service: string,
): Uint8Array {
  const id = `${secret}\n${date}\n${region}\n${service}`;
  let key = signingKeys.get(id);
  if (!key) {
    if (signingKeys.size >= SIGNING_KEYS_CACHED) signingKeys.clear();
    key = signingKey(secret, date, region, service);
    signingKeys.set(id, key);
  }
  return key;
}

function finish(
  parts: SignedParts,
  input: VerifyInput,
  secret: string | undefined,
): AuthResult {
  if (secret === undefined) throw new S3Error("InvalidAccessKeyId");
  const scope = credentialScope(parts.date, parts.region, parts.service);
  const key = cachedSigningKey(secret, parts.date, parts.region, parts.service);
  const sign = (headers: HeaderLookup) => {
    const canonical = canonicalRequest({
      method: input.method,
      path: input.path,
      query: parts.query,
      headers,
      signedHeaders: parts.signedHeaders,
      payloadHash: parts.payloadHash,
    });
    const sts = stringToSign(parts.amzDate, scope, sha256Hex(canonical));
    return { canonical, sts, signature: hmacHex(key, sts) };
  };
  let signed = sign(input.headers);
  if (!sameHex(signed.signature, parts.signature)) {
    // A header sent more than once reaches us joined by ", ", but SigV4 signs its values joined by
    // ",": one value "a, b" and two values "a" and "b" look the same here, so try both.
    const joined = parts.signedHeaders.some((n) => input.headers.get(n)?.includes(", "));
    if (joined) {
      const retry = sign({ get: (n) => input.headers.get(n)?.replaceAll(", ", ",") ?? null });
      if (sameHex(retry.signature, parts.signature)) signed = retry;
    }
  }
  const { canonical, sts, signature: expected } = signed;
  if (!sameHex(expected, parts.signature)) {
    throw new S3Error("SignatureDoesNotMatch", {
      extra: {
        AWSAccessKeyId: parts.accessKey,
        StringToSign: sts,
        SignatureProvided: parts.signature,
        CanonicalRequest: canonical,
      },
    });
  }
  return {
    accessKey: parts.accessKey,
    payload: parts.payload,
    signingKey: key,
    seedSignature: expected,
    scope,
    amzDate: parts.amzDate,
    region: parts.region,
    presigned: parts.presigned,
  };
}

/**
 * Verifies the SigV4 signature of a request head.
 *
 * Accepts the `Authorization` header form (which requires
 * `x-amz-content-sha256` and a `x-amz-date` or `Date` header within
 * `maxSkewMs` of `nowMs`) and the presigned-URL form (`X-Amz-*` query
 * parameters, valid for `X-Amz-Expires` seconds). There is no anonymous
 * access. The body is not read; see {@linkcode AuthResult.payload}.
 *
 * @param input The request head.
 * @param opts The clock, the secret lookup and limits.
 * @returns The authenticated identity and payload mode; a promise when
 *   `lookupSecret` returned one.
 * @throws {S3Error} `AccessDenied` (no auth, expired, unsigned x-amz-* headers),
 *   `InvalidAccessKeyId`, `SignatureDoesNotMatch`, `RequestTimeTooSkewed`,
 *   `AuthorizationHeaderMalformed`, `AuthorizationQueryParametersError`,
 *   `InvalidRequest` (missing x-amz-content-sha256), `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { verifyRequest } from "./verify.ts";
 * try {
 *   verifyRequest(
 *     { method: "GET", path: "/", query: [], headers: new Headers() },
 *     { nowMs: 0, lookupSecret: () => undefined },
 *   );
 *   throw new Error("anonymous request accepted");
 * } catch (e) {
 *   if ((e as { code?: string }).code !== "AccessDenied") throw e;
 * }
 * ```
 */
export function verifyRequest(
  input: VerifyInput,
  opts: VerifyOptions,
): AuthResult | Promise<AuthResult> {
  const authorization = input.headers.get("authorization");
  const presigned = hasPresignParams(input.query);
  if (authorization !== null && presigned) {
    throw new S3Error("InvalidArgument", {
      message: "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, " +
        "Signature query string parameter or the Authorization header should be specified",
      extra: { ArgumentName: "Authorization", ArgumentValue: authorization },
    });
  }
  let parts: SignedParts;
  if (authorization !== null) parts = fromHeader(input, authorization, opts);
  else if (presigned) parts = fromQuery(input, opts);
  else throw new S3Error("AccessDenied");
  checkScope(parts, input, opts);
  const secret = opts.lookupSecret(parts.accessKey);
  if (secret instanceof Promise) return secret.then((s) => finish(parts, input, s));
  return finish(parts, input, secret);
}
