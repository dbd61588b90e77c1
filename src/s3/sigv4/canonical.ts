/**
 * The S3 flavour of AWS Signature Version 4 canonicalisation.
 *
 * Pure functions that turn a request into the canonical request, the string
 * to sign and the signing key, following the S3 rules: the URI path is
 * decoded and re-encoded once per segment (no double encoding), and `..` or
 * `//` are NOT normalised, unlike other AWS services.
 *
 * @example
 * ```ts
 * import { canonicalQuery, uriEncode } from "./canonical.ts";
 * if (uriEncode("a b/c", false) !== "a%20b/c") throw new Error("bad encoding");
 * if (canonicalQuery([["prefix", "J"], ["max-keys", "2"]]) !== "max-keys=2&prefix=J") {
 *   throw new Error("bad query");
 * }
 * ```
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { hmacSha256 } from "../../hmac.ts";

/** The only signing algorithm Amber accepts. */
export const ALGORITHM = "AWS4-HMAC-SHA256";

/** Hex SHA-256 of the empty string, used for empty payloads and chunk signatures. */
export const EMPTY_SHA256_HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** A case-insensitive header lookup, such as the Web `Headers` class. */
export interface HeaderLookup {
  /** The value of header `name`, or `null` when absent. */
  get(name: string): string | null;
}

/** The parts of a request that go into its canonical form. */
export interface CanonicalRequestInput {
  /** HTTP method, upper case as sent (`GET`, `PUT`, …). */
  method: string;
  /** The raw request path exactly as on the wire, still percent-encoded. */
  path: string;
  /** Decoded query name/value pairs; for presigned URLs, without `X-Amz-Signature`. */
  query: [string, string][];
  /** Request headers. */
  headers: HeaderLookup;
  /** Lower-case header names in the order the client listed them. */
  signedHeaders: readonly string[];
  /** Hex SHA-256 of the payload, or a literal such as `UNSIGNED-PAYLOAD`. */
  payloadHash: string;
}

const UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
const HEX_UPPER = "0123456789ABCDEF";
const encoder = new TextEncoder();

/** Whether byte `b` is in AWS's unreserved set (`A-Za-z0-9-._~`). */
function isUnreserved(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) ||
    b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
}

/** Percent-encodes raw bytes with AWS rules. */
function encodeBytes(bytes: Uint8Array, encodeSlash: boolean): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (isUnreserved(b) || (b === 0x2f && !encodeSlash)) {
      out += String.fromCharCode(b);
    } else {
      out += "%" + HEX_UPPER[b >> 4] + HEX_UPPER[b & 15];
    }
  }
  return out;
}

/**
 * Percent-encodes a string the way SigV4 requires.
 *
 * Unreserved characters (`A-Za-z0-9-._~`) are kept; every other UTF-8 byte
 * becomes `%XX` with upper-case hex. `/` is kept unless `encodeSlash`.
 *
 * @param s The decoded string.
 * @param encodeSlash Whether `/` is encoded too (true for query names and values).
 * @returns The encoded string.
 *
 * @example
 * ```ts
 * import { uriEncode } from "./canonical.ts";
 * if (uriEncode("test$file.text", false) !== "test%24file.text") throw new Error();
 * if (uriEncode("a/é", true) !== "a%2F%C3%A9") throw new Error();
 * ```
 */
export function uriEncode(s: string, encodeSlash: boolean): string {
  if (UNRESERVED.test(s)) return s;
  return encodeBytes(encoder.encode(s), encodeSlash);
}

/** Value of one hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Decodes `%XX` escapes of one path segment into bytes; a `%` not followed by
 * two hex digits is kept literally (it is then re-encoded as `%25`).
 */
function decodeSegmentBytes(segment: string): Uint8Array {
  const raw = encoder.encode(segment);
  if (!raw.includes(0x25)) return raw;
  const out = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i];
    if (b === 0x25 && i + 2 < raw.length) {
      const hi = hexValue(raw[i + 1]);
      const lo = hexValue(raw[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/**
 * The S3 canonical URI of a raw request path.
 *
 * Each `/`-separated segment is percent-decoded and re-encoded with
 * {@linkcode uriEncode} rules, so a client that encoded `$` and one that did
 * not produce the same canonical form, and nothing is encoded twice. An
 * encoded slash (`%2F`) inside a segment stays encoded. Empty segments and
 * dot segments are kept as they are (S3 does not normalise paths).
 *
 * @param path The raw path as on the wire, for example `/test%24file.text`.
 * @returns The canonical URI; `/` for an empty path.
 *
 * @example
 * ```ts
 * import { canonicalUri } from "./canonical.ts";
 * if (canonicalUri("/test$file.text") !== "/test%24file.text") throw new Error();
 * if (canonicalUri("/a%2Fb//../c") !== "/a%2Fb//../c") throw new Error();
 * ```
 */
export function canonicalUri(path: string): string {
  if (path === "") return "/";
  if (UNRESERVED_PATH.test(path)) return path;
  return path.split("/").map((seg) => encodeBytes(decodeSegmentBytes(seg), true)).join("/");
}

const UNRESERVED_PATH = /^[A-Za-z0-9\-._~/]*$/;

/**
 * The canonical query string of decoded name/value pairs.
 *
 * Names and values are encoded with {@linkcode uriEncode} (slashes encoded),
 * then sorted by encoded name and, for equal names, by encoded value. A
 * parameter without a value is written as `name=`.
 *
 * @param pairs Decoded pairs, in any order.
 * @returns The canonical query string, empty when there are no pairs.
 *
 * @example
 * ```ts
 * import { canonicalQuery } from "./canonical.ts";
 * if (canonicalQuery([["lifecycle", ""]]) !== "lifecycle=") throw new Error();
 * ```
 */
export function canonicalQuery(pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return "";
  const encoded = pairs.map(([k, v]) => [uriEncode(k, true), uriEncode(v, true)] as const);
  encoded.sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0
  );
  return encoded.map(([k, v]) => `${k}=${v}`).join("&");
}

/**
 * A header value as it appears in the canonical request: leading and
 * trailing whitespace removed and runs of whitespace collapsed to one space.
 *
 * @param value The raw header value.
 * @returns The canonical value.
 */
export function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, " ");
}

/**
 * Builds the SigV4 canonical request.
 *
 * @param input The request parts; see {@linkcode CanonicalRequestInput}.
 * @returns The six-part canonical request joined by newlines.
 *
 * @example
 * ```ts
 * import { canonicalRequest } from "./canonical.ts";
 * const cr = canonicalRequest({
 *   method: "GET",
 *   path: "/",
 *   query: [["lifecycle", ""]],
 *   headers: new Headers({ host: "examplebucket.s3.amazonaws.com" }),
 *   signedHeaders: ["host"],
 *   payloadHash: "UNSIGNED-PAYLOAD",
 * });
 * if (!cr.startsWith("GET\n/\nlifecycle=\nhost:examplebucket")) throw new Error();
 * ```
 */
export function canonicalRequest(input: CanonicalRequestInput): string {
  let headerLines = "";
  for (const name of input.signedHeaders) {
    headerLines += `${name}:${canonicalHeaderValue(input.headers.get(name) ?? "")}\n`;
  }
  return `${input.method}\n${canonicalUri(input.path)}\n${canonicalQuery(input.query)}\n` +
    `${headerLines}\n${input.signedHeaders.join(";")}\n${input.payloadHash}`;
}

/**
 * Hex SHA-256 of a string (UTF-8) or bytes.
 *
 * @param data What to hash.
 * @returns Lower-case hex digest.
 */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Hex HMAC-SHA256 of `data` under `key`.
 *
 * @param key The key bytes (for SigV4, the signing key).
 * @param data The message, UTF-8 encoded.
 * @returns Lower-case hex MAC.
 */
export function hmacHex(key: Uint8Array, data: string): string {
  return hmacSha256(key, data).toString("hex");
}

/**
 * Derives the SigV4 signing key: HMAC chain over date, region, service and
 * `aws4_request`, starting from `"AWS4" + secret`.
 *
 * @param secret The secret access key.
 * @param yyyymmdd The credential-scope date, for example `20130524`.
 * @param region The credential-scope region, for example `us-east-1`.
 * @param service The credential-scope service, `s3`.
 * @returns The 32-byte signing key.
 *
 * @example
 * ```ts
 * import { signingKey } from "./canonical.ts";
 * const key = signingKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3");
 * if (key.length !== 32) throw new Error();
 * ```
 */
export function signingKey(
  secret: string,
  yyyymmdd: string,
  region: string,
  service: string,
): Uint8Array {
  const kDate = hmacSha256("AWS4" + secret, yyyymmdd);
  const kRegion = hmacSha256(kDate, region);
  const kService = hmacSha256(kRegion, service);
  const kSigning = hmacSha256(kService, "aws4_request");
  return new Uint8Array(kSigning.buffer, kSigning.byteOffset, kSigning.byteLength);
}

/**
 * The credential scope `yyyymmdd/region/service/aws4_request`.
 *
 * @param yyyymmdd The scope date.
 * @param region The scope region.
 * @param service The scope service.
 * @returns The scope string.
 */
export function credentialScope(yyyymmdd: string, region: string, service: string): string {
  return `${yyyymmdd}/${region}/${service}/aws4_request`;
}

/**
 * The SigV4 string to sign for a request.
 *
 * @param amzDate The request time as `YYYYMMDDTHHMMSSZ`.
 * @param scope The credential scope, see {@linkcode credentialScope}.
 * @param canonicalRequestHash Hex SHA-256 of the canonical request.
 * @returns The four-line string to sign.
 *
 * @example
 * ```ts
 * import { stringToSign } from "./canonical.ts";
 * const s = stringToSign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", "ab");
 * if (s !== "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\nab") {
 *   throw new Error();
 * }
 * ```
 */
export function stringToSign(amzDate: string, scope: string, canonicalRequestHash: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${canonicalRequestHash}`;
}

/**
 * Whether a signature the client sent equals the one computed (lower-case hex), in constant time.
 * Lengths are compared as bytes: a value of as many characters with a multi-byte one among them is
 * simply not equal (timingSafeEqual throws on unequal lengths).
 */
export function sameHex(expected: string, provided: string): boolean {
  const a = encoder.encode(expected);
  const b = encoder.encode(provided.toLowerCase());
  return a.length === b.length && timingSafeEqual(a, b);
}
