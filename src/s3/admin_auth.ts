/**
 * Who may call the admin API (`/admin/*`), and how it answers: either the
 * admin token (`AMBER_ADMIN_TOKEN`, sent as `Authorization: Bearer <token>`,
 * compared in constant time) or a SigV4 signature by a key that owns every
 * bucket (root does). Answers are JSON; errors are
 * `{"error": {"code", "message", "requestId"}}` with the same request id in
 * `x-amz-request-id`. Every refusal of a known key goes to the audit log;
 * refusals of callers who proved no key (no or a wrong token, a bad
 * signature) at most {@linkcode UNPROVEN_AUDITS_PER_MINUTE} a minute, with
 * the count of those left out, since anyone can send them.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { mayAdminister, type Principal } from "../auth/mod.ts";
import type { MetaClient } from "../channel/mod.ts";
import { log } from "../ops/mod.ts";
import { auditRefusal } from "./access_check.ts";
import { type KeyDirectory, type KnownKey, refuseSignedBeforeCreated } from "./key_directory.ts";
import { S3Error, toS3Error } from "./errors.ts";
import { concat } from "./ops/body.ts";
import { verifyRequest } from "./sigv4/mod.ts";

/** Largest admin request body, bytes. */
export const ADMIN_BODY_MAX_BYTES = 64 * 1024;

/** Refusals of callers who proved no key recorded in the audit log per minute. */
export const UNPROVEN_AUDITS_PER_MINUTE = 10;
/** Longest target of such a refusal kept in the audit log: the caller chose it. */
const UNPROVEN_TARGET_MAX = 256;

/** Refusals of callers who proved no key: this minute's, and those not recorded. */
const unproven = { minute: 0, recorded: 0, skipped: 0 };

/** What admin authentication needs from the app. */
export interface AdminAuthDeps {
  meta: MetaClient;
  keys: KeyDirectory;
  /** The admin token; undefined when none is configured (then only SigV4 owner keys get in). */
  adminToken?: string;
  /** Injected clock, ms since the epoch. */
  now(): number;
}

/** An authenticated admin request. */
export interface AdminRequest {
  /** Who called, for the audit log: `admin-token` or `key:<access key id>`. */
  actor: string;
  /** The calling key and its grants; undefined for the admin token. */
  principal?: Principal;
  /** The request body, read in full and (for SigV4) checked against its signed hash. */
  body: Uint8Array;
}

function sha256(bytes: Uint8Array | string): Buffer {
  return createHash("sha256").update(bytes).digest();
}

/** Compares two strings in time independent of where they differ (hashing equalises lengths). */
function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(sha256(given), sha256(expected));
}

async function readBody(req: Request): Promise<Uint8Array> {
  const tooLarge = () =>
    new S3Error("InvalidRequest", { message: "The request body is too large" });
  if (Number(req.headers.get("content-length") ?? "0") > ADMIN_BODY_MAX_BYTES) throw tooLarge();
  // Counted as it comes: a chunked body declares no length, and must not be read whole first.
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of req.body ?? []) {
    size += part.length;
    if (size > ADMIN_BODY_MAX_BYTES) throw tooLarge(); // leaving the loop cancels the body
    parts.push(part);
  }
  return concat(parts);
}

async function identify(
  req: Request,
  deps: AdminAuthDeps,
  r: { path: string; query: [string, string][]; sourceAddress?: string },
  proven: { key?: string },
): Promise<AdminRequest> {
  const authorization = req.headers.get("authorization") ?? "";
  if (/^Bearer /i.test(authorization)) {
    if (deps.adminToken === undefined) {
      throw new S3Error("AccessDenied", {
        message: "No admin token is configured (AMBER_ADMIN_TOKEN)",
      });
    }
    if (!sameSecret(authorization.slice(7).trim(), deps.adminToken)) {
      throw new S3Error("AccessDenied", { message: "The admin token is not valid" });
    }
    return { actor: "admin-token", body: await readBody(req) };
  }
  let known: KnownKey | undefined;
  const now = deps.now();
  const auth = await verifyRequest(
    { method: req.method, path: r.path, query: r.query, headers: req.headers },
    {
      nowMs: now,
      lookupSecret: async (k) => (known = await deps.keys.lookup(k))?.secretKey,
    },
  );
  proven.key = auth.accessKey;
  refuseSignedBeforeCreated(known!, auth, now);
  const principal = known!.principal;
  const decision = mayAdminister(principal, { sourceAddress: r.sourceAddress });
  if (!decision.allowed) throw new S3Error("AccessDenied", { message: decision.reason });
  // A body must be signed: UNSIGNED-PAYLOAD (or a presigned URL) would let anyone who saw one
  // request send its head again with another body (a new owner key, say).
  const readOnly = req.method === "GET" || req.method === "HEAD";
  if (auth.payload.kind !== "sha256" && !(auth.payload.kind === "unsigned" && readOnly)) {
    throw new S3Error("InvalidRequest", {
      message: "Admin requests that change something take a plain body signed with its SHA-256",
    });
  }
  const body = await readBody(req);
  if (
    auth.payload.kind === "sha256" &&
    sha256(body).toString("hex") !== auth.payload.hex.toLowerCase()
  ) {
    throw new S3Error("XAmzContentSHA256Mismatch");
  }
  return { actor: `key:${auth.accessKey}`, principal, body };
}

/**
 * Authenticates an admin request: the admin token or an owner-level SigV4
 * key. A refusal is recorded in the audit log before it is thrown.
 *
 * @param req The request (its body is read here).
 * @param deps Index, keys, admin token and clock.
 * @param r The raw path and query as signed, the client address, and the request id.
 * @returns The caller and the body.
 * @throws {S3Error} `AccessDenied`, SigV4 errors, `InvalidRequest` for oversized bodies.
 */
export async function authenticateAdmin(
  req: Request,
  deps: AdminAuthDeps,
  r: { path: string; query?: [string, string][]; sourceAddress?: string; requestId: string },
): Promise<AdminRequest> {
  const proven: { key?: string } = {};
  try {
    return await identify(req, deps, { ...r, query: r.query ?? [] }, proven);
  } catch (e) {
    const err = toS3Error(e, r.path);
    if (err.status !== 403) throw e;
    let detail = `${err.code}: ${err.message}`;
    let target = r.path;
    if (proven.key === undefined) {
      const minute = Math.floor(deps.now() / 60_000);
      if (minute !== unproven.minute) Object.assign(unproven, { minute, recorded: 0 });
      if (unproven.recorded >= UNPROVEN_AUDITS_PER_MINUTE) {
        unproven.skipped++;
        throw e;
      }
      unproven.recorded++;
      if (unproven.skipped > 0) {
        detail += ` (and ${unproven.skipped} such refusals before, not recorded one by one)`;
        log("warn", "Admin refusals of callers with no key were not all audited", {
          skipped: unproven.skipped,
        });
        unproven.skipped = 0;
      }
      if (target.length > UNPROVEN_TARGET_MAX) {
        target = `${target.slice(0, UNPROVEN_TARGET_MAX)}… (${target.length} characters)`;
      }
    }
    auditRefusal(deps.meta, { op: `admin ${req.method}`, target, detail, requestId: r.requestId });
    throw e;
  }
}

/**
 * Parses an admin body as a JSON object (an empty body is `{}`).
 *
 * @param body The bytes.
 * @returns The object.
 * @throws {S3Error} `InvalidRequest` when it is not one.
 */
export function jsonObject(body: Uint8Array): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const value = JSON.parse(new TextDecoder().decode(body));
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new Error("not an object");
    }
    return value;
  } catch (e) {
    throw new S3Error("InvalidRequest", {
      message: `The request body is not a JSON object: ${(e as Error).message}`,
    });
  }
}

/**
 * A JSON admin answer with the request id in the body and the header.
 *
 * @param body The answer.
 * @param status HTTP status.
 * @param requestId The request id.
 * @returns The response.
 */
export function adminJson(
  body: Record<string, unknown>,
  status: number,
  requestId: string,
): Response {
  return Response.json({ ...body, requestId }, {
    status,
    headers: { "x-amz-request-id": requestId },
  });
}

/**
 * The JSON error answer of the admin API:
 * `{"error": {"code", "message", "requestId"}}`. Unexpected errors become
 * `InternalError`, logged with the request id; their text is not sent.
 *
 * @param e What was thrown.
 * @param resource The admin path.
 * @param requestId The request id.
 * @returns The response.
 */
export function adminError(e: unknown, resource: string, requestId: string): Response {
  const err = toS3Error(e, resource);
  if (err.code === "InternalError") {
    log("error", "Admin request failed", { requestId, resource, error: String(e) });
  }
  return Response.json({ error: { code: err.code, message: err.message, requestId } }, {
    status: err.status,
    headers: { "x-amz-request-id": requestId },
  });
}
