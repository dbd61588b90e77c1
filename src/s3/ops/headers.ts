/**
 * Object metadata in and out of HTTP headers, and the conditional-request
 * rules shared by GET, HEAD and copy sources.
 *
 * @module
 */

import type { VersionRecord } from "../../channel/mod.ts";
import { S3Error } from "../errors.ts";
import { parseHttpDate } from "../http_date.ts";
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from "../sigv4/mod.ts";

/** Standard headers stored with an object and returned on GET/HEAD. */
const STORED_HEADERS = [
  "content-type",
  "content-encoding",
  "content-disposition",
  "content-language",
  "cache-control",
  "expires",
] as const;

/** Largest total size of user metadata S3 accepts, in bytes. */
const USER_META_MAX_BYTES = 2048;

/**
 * Reads the stored headers and `x-amz-meta-*` user metadata of a write.
 *
 * @param headers Request headers.
 * @returns Standard headers and user metadata (names without prefix).
 */
export function metadataFromHeaders(
  headers: Headers,
): { headers: Record<string, string>; userMeta: Record<string, string> } {
  const stored: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const v = headers.get(name);
    if (v !== null) stored[name] = v;
  }
  if (stored["content-encoding"]) {
    // aws-chunked is a transfer detail, never part of the stored object.
    const rest = stored["content-encoding"].split(",").map((s) => s.trim()).filter((s) =>
      s && s !== "aws-chunked"
    );
    if (rest.length > 0) stored["content-encoding"] = rest.join(",");
    else delete stored["content-encoding"];
  }
  const userMeta: Record<string, string> = {};
  let bytes = 0;
  // forEach, not for-of: Deno's Headers iterator sorts and copies the list (about 40 µs a request).
  headers.forEach((value, name) => {
    if (name.startsWith("x-amz-meta-")) {
      const k = name.slice("x-amz-meta-".length);
      userMeta[k] = value;
      bytes += k.length + value.length;
    }
  });
  if (bytes > USER_META_MAX_BYTES) {
    throw new S3Error("MetadataTooLarge");
  }
  return { headers: stored, userMeta };
}

/** Formats a time as an HTTP date. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** Formats a time as S3's ISO 8601 with milliseconds. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * A `versionId` parameter, checked as S3 checks it: `null`, or an id of the form the vault gives
 * (22 or 24 URL-safe base64 characters). An empty or malformed id is InvalidArgument, not a
 * version that does not exist: a delete of it would answer 204 and remove nothing.
 */
export function versionIdParam(raw: string | null | undefined): string | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (raw === "") {
    throw new S3Error("InvalidArgument", { message: "Version id cannot be the empty string" });
  }
  if (raw !== "null" && !/^[A-Za-z0-9_-]{22}(?:[A-Za-z0-9_-]{2})?$/.test(raw)) {
    throw new S3Error("InvalidArgument", { message: "Invalid version id specified" });
  }
  return raw;
}

/** The `x-amz-version-id` header for a version, which S3 omits for the `null` version. */
export function versionIdHeader(versionId: string): Record<string, string> {
  return versionId === "null" ? {} : { "x-amz-version-id": versionId };
}

/**
 * The response headers describing a version. Its `x-amz-version-id` is left out for the `null`
 * version of a bucket never versioned, as S3 does; once versioning was set, even `null` is named.
 */
export function versionHeaders(
  v: VersionRecord & { bucketVersioned: boolean },
  checksumMode: boolean,
): Record<string, string> {
  const h: Record<string, string> = {
    "etag": `"${v.etag}"`,
    "last-modified": httpDate(v.lastModified),
    "accept-ranges": "bytes",
    "content-type": v.headers["content-type"] ?? "binary/octet-stream",
  };
  for (const [k, val] of Object.entries(v.headers)) if (k !== "content-type") h[k] = val;
  for (const [k, val] of Object.entries(v.userMeta)) h[`x-amz-meta-${k}`] = val;
  if (v.bucketVersioned) h["x-amz-version-id"] = v.versionId;
  else Object.assign(h, versionIdHeader(v.versionId));
  if (checksumMode && v.checksum) {
    h[`x-amz-checksum-${v.checksum.algorithm.toLowerCase()}`] = v.checksum.value;
    h["x-amz-checksum-type"] = v.checksum.type;
  }
  return h;
}

function etagMatches(list: string, etag: string): boolean {
  return list.split(",").some((t) => {
    const v = t.trim().replace(/^W\//, "").replace(/^"|"$/g, "");
    return v === "*" || v === etag;
  });
}

/** The four conditional headers, under either their plain or copy-source names. */
export interface Conditions {
  ifMatch: string | null;
  ifNoneMatch: string | null;
  ifModifiedSince: string | null;
  ifUnmodifiedSince: string | null;
}

/** Reads the conditional headers with an optional prefix (`x-amz-copy-source-`). */
export function conditionsFrom(headers: Headers, prefix = ""): Conditions {
  return {
    ifMatch: headers.get(`${prefix}if-match`),
    ifNoneMatch: headers.get(`${prefix}if-none-match`),
    ifModifiedSince: headers.get(`${prefix}if-modified-since`),
    ifUnmodifiedSince: headers.get(`${prefix}if-unmodified-since`),
  };
}

/**
 * Applies RFC 7232 precedence as S3 does: If-Match before If-Unmodified-Since,
 * If-None-Match before If-Modified-Since.
 *
 * @returns `"ok"`, `"notModified"` (304) or `"failed"` (412).
 */
export function evaluateConditions(
  c: Conditions,
  v: { etag: string; lastModified: number },
): "ok" | "notModified" | "failed" {
  const modified = Math.floor(v.lastModified / 1000) * 1000;
  if (c.ifMatch !== null) {
    if (!etagMatches(c.ifMatch, v.etag)) return "failed";
  } else {
    const since = parseHttpDate(c.ifUnmodifiedSince);
    if (since !== undefined && modified > since) return "failed";
  }
  if (c.ifNoneMatch !== null) {
    if (etagMatches(c.ifNoneMatch, v.etag)) return "notModified";
  } else {
    const since = parseHttpDate(c.ifModifiedSince);
    if (since !== undefined && modified <= since) return "notModified";
  }
  return "ok";
}

/**
 * Parses a single `Range: bytes=…` header against an object size.
 *
 * @returns `[start, endExclusive]`, or undefined to serve the whole object (unparseable ranges are ignored, as S3 does).
 * @throws {S3Error} `InvalidRange` when the range starts past the end.
 */
export function parseRange(header: string | null, size: number): [number, number] | undefined {
  if (header === null) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) throw new S3Error("InvalidRange", { extra: { ActualObjectSize: String(size) } });
    if (size === 0) return undefined; // the whole (empty) object, 200: no range to name
    return [Math.max(0, size - n), size];
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return undefined;
  if (start >= size) {
    throw new S3Error("InvalidRange", { extra: { ActualObjectSize: String(size) } });
  }
  return [start, end + 1];
}

/** `x-amz-checksum-algorithm`, if sent: one S3 knows, or InvalidRequest. */
export function checksumAlgorithmHeader(headers: Headers): ChecksumAlgorithm | undefined {
  const raw = headers.get("x-amz-checksum-algorithm");
  if (raw === null) return undefined;
  const algorithm = CHECKSUM_ALGORITHMS.find((a) => a === raw.trim().toUpperCase());
  if (!algorithm) {
    throw new S3Error("InvalidRequest", {
      message: "Value for x-amz-checksum-algorithm header is invalid.",
    });
  }
  return algorithm;
}

/** An `If-Match` (or DeleteObjects `<ETag>`) value as the index compares it: unquoted, or `*`. */
export function etagCondition(value: string | undefined): string | undefined {
  return value?.trim().replace(/^"|"$/g, "");
}

/** A checksum as the XML results name it (`ChecksumSHA256` and so on); nothing when there is none. */
export function checksumPair(
  c: { algorithm: string; value: string } | undefined,
): Record<string, string> {
  return c ? { [`Checksum${c.algorithm}`]: c.value } : {};
}
