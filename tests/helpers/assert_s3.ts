/**
 * Assertions and small utilities shared by the AWS SDK integration suites in
 * `tests/s3/`: S3 error checks (code AND HTTP status), raw SigV4-signed
 * `fetch` for requests the SDK cannot express, and a one-vault-per-file
 * harness.
 *
 * @module
 */

import { createHash } from "node:crypto";
import * as assert from "node:assert/strict";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { s3For } from "./s3_client.ts";
import { type StartOptions, startVault, type TestVault } from "./vault.ts";

/** Deep, strict equality (node:assert/strict). */
export const assertEquals: <T>(actual: unknown, expected: T, message?: string) => void =
  assert.deepStrictEqual;
/** Truthiness assertion. */
export const assertOk: (value: unknown, message?: string) => void = assert.ok;
/** Fails when `actual` equals `expected`. */
export const assertNotEquals: (actual: unknown, expected: unknown, message?: string) => void =
  assert.notDeepStrictEqual;

/** The parts of an AWS SDK v3 service exception the suites look at. */
export interface SdkError {
  name: string;
  message: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $response?: { statusCode?: number; headers?: Record<string, string> };
}

/**
 * Awaits `promise` and asserts it fails with the S3 error `code` and HTTP `status`.
 *
 * @param promise The SDK call.
 * @param code Expected error code (`e.name`, also `e.Code` when the SDK parsed one).
 * @param status Expected HTTP status (`e.$metadata.httpStatusCode`).
 * @returns The error, for further checks.
 */
export async function assertS3Error(
  promise: Promise<unknown>,
  code: string,
  status: number,
): Promise<SdkError> {
  let result: unknown;
  try {
    result = await promise;
  } catch (err) {
    const e = err as SdkError;
    const got = `${e.name}${e.Code && e.Code !== e.name ? `/${e.Code}` : ""} ${
      e.$metadata?.httpStatusCode ?? "?"
    }: ${e.message}`;
    assertEquals(e.name, code, `expected ${code} ${status}, got ${got}`);
    if (e.Code !== undefined) assertEquals(e.Code, code, `expected Code ${code}, got ${got}`);
    assertEquals(e.$metadata?.httpStatusCode, status, `expected ${code} ${status}, got ${got}`);
    return e;
  }
  throw new assert.AssertionError({
    message: `expected ${code} ${status}, but the call succeeded: ${
      JSON.stringify(result, (k, v) => (k === "Body" ? "[body]" : v))?.slice(0, 300)
    }`,
  });
}

/**
 * Awaits `promise` and asserts it failed with HTTP `status` and no parsed S3
 * error code. For statuses S3 sends without a body (304 on GET/HEAD, and any
 * HEAD error), which the SDK cannot name from the wire: it reports them as
 * `Unknown`, `NotFound` or the bare status depending on the version.
 *
 * @param promise The SDK call.
 * @param status Expected HTTP status.
 * @returns The error.
 */
export async function assertS3Status(promise: Promise<unknown>, status: number): Promise<SdkError> {
  try {
    await promise;
  } catch (err) {
    const e = err as SdkError;
    assertEquals(
      e.$metadata?.httpStatusCode,
      status,
      `expected HTTP ${status}, got ${e.name} ${e.$metadata?.httpStatusCode ?? "?"}: ${e.message}`,
    );
    return e;
  }
  throw new assert.AssertionError({ message: `expected HTTP ${status}, but the call succeeded` });
}

/** Reads an SDK `Body` (GetObject output) to bytes. */
export async function bodyBytes(
  body: { transformToByteArray(): Promise<Uint8Array> } | undefined,
): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  return await body.transformToByteArray();
}

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function randomBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Hex MD5 of bytes. */
export function md5Hex(bytes: Uint8Array | string): string {
  return createHash("md5").update(bytes).digest("hex");
}

/** Base64 MD5 of bytes (Content-MD5). */
export function md5Base64(bytes: Uint8Array | string): string {
  return createHash("md5").update(bytes).digest("base64");
}

/** Hex SHA-256 of bytes. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Compares two byte arrays; the message names the first differing offset. */
export function assertBytesEqual(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  if (actual.length !== expected.length) {
    throw new assert.AssertionError({
      message: `${what}: length ${actual.length}, expected ${expected.length}`,
    });
  }
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new assert.AssertionError({ message: `${what}: first difference at offset ${i}` });
    }
  }
}

/** Creates `bucket` and stores `bodies` in it as `obj-0`, `obj-1`, … */
export async function putObjects(
  v: TestVault,
  bucket: string,
  bodies: Uint8Array[],
): Promise<void> {
  const s3 = s3For(v);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const [i, body] of bodies.entries()) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `obj-${i}`, Body: body }));
    }
  } finally {
    s3.destroy();
  }
}

/**
 * Reads `obj-0`, `obj-1`, … of `bucket` back and compares them with `bodies`;
 * a failure names `what` and shows the end of the vault's output.
 */
export async function assertObjects(
  v: TestVault,
  bucket: string,
  bodies: Uint8Array[],
  what = "read back",
): Promise<void> {
  const s3 = s3For(v);
  try {
    for (const [i, body] of bodies.entries()) {
      try {
        const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `obj-${i}` }));
        assertBytesEqual(await bodyBytes(r.Body), body, `obj-${i}`);
      } catch (e) {
        throw new Error(
          `${what}: obj-${i}: ${(e as Error).message}\nvault output (tail):\n${
            v.output().slice(-2500)
          }`,
        );
      }
    }
  } finally {
    s3.destroy();
  }
}

/** Polls `check` every 200 ms until it holds, or fails after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs `fn` on up to `limit` items at a time. */
export async function parallel<T>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Percent-encodes as SigV4 does (RFC 3986 unreserved characters stay). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Encodes an object key for a path, keeping `/`. */
export function encodeKey(key: string): string {
  return key.split("/").map(uriEncode).join("/");
}

/** A raw request for {@linkcode signedFetch}. */
export interface RawRequest {
  method: string;
  /** Already percent-encoded path, e.g. `/bucket/some%20key`. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Sign with `UNSIGNED-PAYLOAD` instead of the body's SHA-256. */
  unsignedPayload?: boolean;
  /** Leave the request unsigned. */
  unsigned?: boolean;
}

interface SdkSigner {
  sign(req: unknown, opts?: unknown): Promise<{ headers: Record<string, string> }>;
  presign(req: unknown, opts?: unknown): Promise<{ query: Record<string, string> }>;
}

/** The SigV4 signer the SDK client itself uses (its credentials, region and clock offset). */
export async function sdkSigner(s3: S3Client): Promise<SdkSigner> {
  const config = s3.config as unknown as { signer: (s: unknown) => Promise<SdkSigner> };
  return await config.signer({ name: "sigv4", properties: {} });
}

/** Builds a query string encoded the way SigV4 canonicalises it. */
export function queryString(query: Record<string, string>): string {
  return Object.entries(query).map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join("&");
}

/**
 * Signs a raw request with SigV4 (header auth) using the SDK client's own
 * signer, and returns the headers to send (including `host`).
 *
 * @param vault The vault.
 * @param s3 Gives the signer (credentials, region, clock offset).
 * @param r The request; `payloadHash` overrides the signed `x-amz-content-sha256`.
 * @returns The signed headers.
 */
export async function signHeaders(
  vault: TestVault,
  s3: S3Client,
  r: RawRequest & { payloadHash?: string },
): Promise<Record<string, string>> {
  const url = new URL(vault.endpoint);
  const body = typeof r.body === "string" ? new TextEncoder().encode(r.body) : r.body;
  const headers: Record<string, string> = { host: url.host, ...(r.headers ?? {}) };
  if (r.unsigned) return headers;
  headers["x-amz-content-sha256"] = r.payloadHash ??
    (r.unsignedPayload ? "UNSIGNED-PAYLOAD" : sha256Hex(body ?? new Uint8Array(0)));
  const signer = await sdkSigner(s3);
  // The SDK applies its clock offset in middleware, not in the signer.
  const offsetMs = (s3.config as unknown as { systemClockOffset?: number }).systemClockOffset ?? 0;
  const signed = await signer.sign({
    method: r.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: r.path,
    query: r.query ?? {},
    headers,
  }, { signingDate: new Date(Date.now() + offsetMs) });
  return signed.headers;
}

/**
 * Sends a raw HTTP request to the vault, signed with SigV4 (header auth) by
 * the SDK client's own signer unless `unsigned`.
 *
 * @param vault The vault.
 * @param s3 Gives the signer (credentials, region, clock offset).
 * @param r The request; `payloadHash` overrides the signed `x-amz-content-sha256`.
 * @returns The response (body unread).
 */
export async function signedFetch(
  vault: TestVault,
  s3: S3Client,
  r: RawRequest & { payloadHash?: string },
): Promise<Response> {
  const body = typeof r.body === "string" ? new TextEncoder().encode(r.body) : r.body;
  const headers = await signHeaders(vault, s3, r);
  const qs = queryString(r.query ?? {});
  delete headers.host;
  return await fetch(`${vault.endpoint}${r.path}${qs ? `?${qs}` : ""}`, {
    method: r.method,
    headers,
    body: body as BodyInit | undefined,
  });
}

/**
 * Sends exactly the given bytes over a fresh TCP connection: a signed request
 * head (no headers added beyond `headers` and the signature) then `body`.
 * Reads until the server answers or closes, or `timeoutMs` passes.
 *
 * @param vault The vault.
 * @param s3 Gives the signer.
 * @param r The request; `body` is what is actually sent.
 * @param opts `closeWrite` half-closes after sending; `timeoutMs` bounds the wait.
 * @returns Status (0 if none) and the raw response text.
 */
export async function rawSocketRequest(
  vault: TestVault,
  s3: S3Client,
  r: RawRequest & { payloadHash?: string },
  opts: { closeWrite?: boolean; timeoutMs?: number } = {},
): Promise<{ status: number; text: string }> {
  const headers = await signHeaders(vault, s3, r);
  const qs = queryString(r.query ?? {});
  const head = `${r.method} ${r.path}${qs ? `?${qs}` : ""} HTTP/1.1\r\n` +
    Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
  const body = typeof r.body === "string" ? new TextEncoder().encode(r.body) : r.body;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: vault.port });
  let text = "";
  try {
    await conn.write(new TextEncoder().encode(head));
    if (body && body.length > 0) await conn.write(body);
    if (opts.closeWrite) await conn.closeWrite();
    const buf = new Uint8Array(65536);
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    const decoder = new TextDecoder();
    while (Date.now() < deadline) {
      const n = await Promise.race([
        conn.read(buf),
        new Promise<"timeout">((res) => setTimeout(() => res("timeout"), deadline - Date.now())),
      ]);
      if (n === "timeout" || n === null) break;
      text += decoder.decode(buf.subarray(0, n), { stream: true });
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const len = /content-length:\s*(\d+)/i.exec(text.slice(0, end));
        if (!len || text.length - end - 4 >= Number(len[1])) break;
      }
    }
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return { status: m ? Number(m[1]) : 0, text };
}

/** Reads the text of one XML element (first occurrence), or undefined. */
export function xmlText(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? m[1] : undefined;
}

/**
 * Asserts a raw response is an S3 error: the status, an `x-amz-request-id`
 * header, and (unless HEAD) an XML `<Error>` body with Code, Message and a
 * RequestId equal to the header.
 *
 * @param res The response.
 * @param code Expected code.
 * @param status Expected status.
 * @param opts `head` when the request was HEAD (no body expected).
 * @returns The body text.
 */
export async function assertErrorResponse(
  res: Response,
  code: string,
  status: number,
  opts: { head?: boolean } = {},
): Promise<string> {
  const text = await res.text();
  assertEquals(
    res.status,
    status,
    `expected ${code} ${status}, got ${res.status}: ${text.slice(0, 300)}`,
  );
  const requestId = res.headers.get("x-amz-request-id");
  assertOk(requestId, "x-amz-request-id header missing");
  if (opts.head) {
    assertEquals(text, "", "HEAD error responses have no body");
    return text;
  }
  assertOk(/<Error>[\s\S]*<\/Error>/.test(text), `no <Error> element: ${text.slice(0, 300)}`);
  assertEquals(xmlText(text, "Code"), code, `wrong Code: ${text.slice(0, 300)}`);
  assertOk(xmlText(text, "Message"), `no Message: ${text.slice(0, 300)}`);
  assertEquals(xmlText(text, "RequestId"), requestId, "RequestId differs from x-amz-request-id");
  return text;
}

/** What {@linkcode vaultSuite} hands to the suite body. */
export interface SuiteContext {
  t: Deno.TestContext;
  vault: TestVault;
  s3: S3Client;
}

/**
 * Registers one Deno test that starts a vault, runs `fn` (which declares its
 * cases with `t.step`), then stops the vault and checks it exited cleanly.
 *
 * @param name The suite name.
 * @param fn The suite body.
 * @param opts How to start the vault (extra environment).
 */
export function vaultSuite(
  name: string,
  fn: (ctx: SuiteContext) => Promise<void>,
  opts: StartOptions = {},
): void {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      const vault = await startVault(opts);
      const s3 = s3For(vault);
      try {
        await fn({ t, vault, s3 });
      } finally {
        s3.destroy();
        const code = await vault.stop();
        await Deno.remove(vault.dataDir, { recursive: true }).catch(() => undefined);
        assertEquals(code, 0, `vault exited with ${code}:\n${vault.output().slice(-2000)}`);
      }
    },
  });
}
