/**
 * The web console's SigV4 signer: signs S3 requests in the browser with Web
 * Crypto, so the console speaks plain S3 and the vault needs no console API.
 *
 * Every function here is self-contained (no imports, no module-level
 * constants) because the page embeds their source text (`Function#toString`)
 * into its inline script; the same code is unit-tested in Deno against the
 * vault's own verifier (`signer_test.ts`).
 *
 * @module
 */

/** A request for {@linkcode signRequest}. */
export interface ConsoleSignInput {
  method: string;
  /** The `Host` header the browser will send (`location.host`). */
  host: string;
  /** The path, already in canonical form (see {@linkcode s3Path}). */
  path: string;
  /** Decoded query name/value pairs. */
  query: [string, string][];
  /** Extra `x-amz-*` headers to send and sign (lower-case names). */
  amzHeaders: Record<string, string>;
  /** The request body; empty when absent. */
  body: Uint8Array;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Signing time, ms since the epoch (the server's clock, as the console estimates it). */
  nowMs: number;
}

/** What to send: the path with its query string and the headers to set. */
export interface ConsoleSignedRequest {
  url: string;
  headers: Record<string, string>;
}

/** Lower-case hex of bytes. */
export function hexOf(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Percent-encodes a string with the SigV4 rules (`A-Za-z0-9-._~` kept, `/` kept unless `encodeSlash`). */
export function sigv4Encode(s: string, encodeSlash: boolean): string {
  let out = "";
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (c === "/" && !encodeSlash)) out += c;
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/**
 * The path-style path of a bucket or object, in canonical form. The key's
 * slashes are encoded too, so the browser's URL parser cannot fold `..` or
 * `//` in a key; the vault decodes `%2F` back into `/`.
 */
export function s3Path(bucket: string, key: string): string {
  if (bucket === "") return "/";
  return "/" + sigv4Encode(bucket, true) + (key === "" ? "" : "/" + sigv4Encode(key, true));
}

/** The canonical query string: encoded pairs sorted by name, then value. */
export function sigv4Query(pairs: [string, string][]): string {
  const encoded = pairs.map(([k, v]) => [sigv4Encode(k, true), sigv4Encode(v, true)]);
  encoded.sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0
  );
  return encoded.map(([k, v]) => `${k}=${v}`).join("&");
}

/** HMAC-SHA256 of a UTF-8 message with Web Crypto. */
export async function hmacSha256(
  key: Uint8Array | ArrayBuffer,
  message: string,
): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return crypto.subtle.sign("HMAC", k, new TextEncoder().encode(message));
}

/**
 * Signs one S3 request with an `Authorization` header (host, payload hash,
 * date and every given `x-amz-*` header are signed).
 *
 * @param r The request and the credentials.
 * @returns The URL (path and query) and the headers to send.
 */
export async function signRequest(r: ConsoleSignInput): Promise<ConsoleSignedRequest> {
  const amzDate = new Date(r.nowMs).toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
  const day = amzDate.slice(0, 8);
  const payloadHash = hexOf(await crypto.subtle.digest("SHA-256", r.body as BufferSource));
  const headers: Record<string, string> = {
    ...r.amzHeaders,
    "x-amz-content-sha256": payloadHash,
    "x-amz-date": amzDate,
  };
  const all: Record<string, string> = { ...headers, host: r.host };
  const names = Object.keys(all).sort();
  const query = sigv4Query(r.query);
  const canonical = [
    r.method,
    r.path,
    query,
    names.map((n) => `${n}:${all[n].trim().replace(/\s+/g, " ")}\n`).join(""),
    names.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${day}/${r.region}/s3/aws4_request`;
  const toSign = [
    "AWS4-HMAC-SHA256",
    amzDate,
    scope,
    hexOf(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical))),
  ].join("\n");
  let key: ArrayBuffer | Uint8Array = new TextEncoder().encode("AWS4" + r.secretAccessKey);
  for (const part of [day, r.region, "s3", "aws4_request"]) key = await hmacSha256(key, part);
  const signature = hexOf(await hmacSha256(key, toSign));
  headers["authorization"] = `AWS4-HMAC-SHA256 Credential=${r.accessKeyId}/${scope}, ` +
    `SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return { url: query === "" ? r.path : `${r.path}?${query}`, headers };
}

/** The signer's functions, in the order the page embeds their source. */
export const SIGNER_FUNCTIONS: readonly ((...args: never[]) => unknown)[] = [
  hexOf,
  sigv4Encode,
  s3Path,
  sigv4Query,
  hmacSha256,
  signRequest,
];
