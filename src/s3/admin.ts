/**
 * Administrative calls beside the S3 surface, signed with SigV4 by a known
 * credential (all are root today) and answered in JSON with the request id.
 *
 * `POST /admin/snapshots` `{"source": "backups", "bucket": "backups-before-prune", "at": "2026-11-20T03:00:00Z"}`
 * creates a read-only point-in-time snapshot bucket.
 *
 * `GET /admin/scrub` and `POST /admin/scrub` `{"action": "start"}` show and
 * steer the scrubber.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { ScrubAction } from "../channel/mod.ts";
import type { AppDeps } from "./app.ts";
import { isValidBucketName } from "./endpoint.ts";
import { S3Error, toS3Error } from "./errors.ts";
import { type AuthResult, verifyRequest } from "./sigv4/mod.ts";

/** Largest admin request body, bytes. */
const ADMIN_BODY_MAX_BYTES = 64 * 1024;

async function authenticatedJson(
  req: Request,
  deps: AppDeps,
  path: string,
  emptyBodyOk = false,
): Promise<Record<string, unknown>> {
  const auth: AuthResult = await verifyRequest(
    { method: req.method, path, query: [], headers: req.headers },
    { nowMs: deps.now(), lookupSecret: deps.lookupSecret },
  );
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.length > ADMIN_BODY_MAX_BYTES) {
    throw new S3Error("InvalidRequest", { message: "The request body is too large" });
  }
  if (
    auth.payload.kind === "sha256" &&
    createHash("sha256").update(bytes).digest("hex") !== auth.payload.hex.toLowerCase()
  ) {
    throw new S3Error("XAmzContentSHA256Mismatch");
  }
  if (auth.payload.kind !== "sha256" && auth.payload.kind !== "unsigned") {
    throw new S3Error("InvalidRequest", { message: "Admin requests take a plain body" });
  }
  if (emptyBodyOk && bytes.length === 0) return {};
  try {
    const body = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new Error("not an object");
    }
    return body;
  } catch (e) {
    throw new S3Error("InvalidRequest", {
      message: `The request body is not a JSON object: ${(e as Error).message}`,
    });
  }
}

/**
 * Handles `POST /admin/snapshots`.
 *
 * @returns The JSON response.
 */
export async function createSnapshot(
  req: Request,
  deps: AppDeps,
  requestId: string,
): Promise<Response> {
  try {
    const body = await authenticatedJson(req, deps, "/admin/snapshots");
    const { source, bucket, at } = body as { source?: unknown; bucket?: unknown; at?: unknown };
    if (typeof source !== "string" || typeof bucket !== "string" || typeof at !== "string") {
      throw new S3Error("InvalidRequest", {
        message: 'Expected {"source": …, "bucket": …, "at": ISO 8601 time}',
      });
    }
    if (!isValidBucketName(bucket)) {
      throw new S3Error("InvalidBucketName", { extra: { BucketName: bucket } });
    }
    const atMs = Date.parse(at);
    const now = deps.now();
    if (Number.isNaN(atMs) || atMs > now) {
      throw new S3Error("InvalidArgument", {
        message: `"at" must be an ISO 8601 time in the past, got "${at}"`,
      });
    }
    const r = await deps.meta.call({ type: "createSnapshot", bucket, source, at: atMs, now });
    return Response.json({ ...r, at: new Date(r.at).toISOString(), requestId }, {
      status: 201,
      headers: { "x-amz-request-id": requestId },
    });
  } catch (e) {
    const err = toS3Error(e, "/admin/snapshots");
    return Response.json({ error: err.code, message: err.message, requestId }, {
      status: err.status,
      headers: { "x-amz-request-id": requestId },
    });
  }
}

const SCRUB_ACTIONS: readonly ScrubAction[] = ["start", "pause", "resume", "cancel"];

/**
 * Handles `GET /admin/scrub` (the scrubber's status) and `POST /admin/scrub`
 * `{"action": "start" | "pause" | "resume" | "cancel"}` (a command; answers
 * with the status after it).
 *
 * @returns The JSON response.
 */
export async function scrubAdmin(
  req: Request,
  deps: AppDeps,
  requestId: string,
): Promise<Response> {
  try {
    const body = await authenticatedJson(req, deps, "/admin/scrub", req.method === "GET");
    if (!deps.scrub) {
      throw new S3Error("NotImplemented", { message: "This vault runs no scrubber" });
    }
    if (req.method === "GET") {
      const status = await deps.scrub.call({ type: "scrubStatus" });
      return Response.json({ ...status, requestId }, {
        headers: { "x-amz-request-id": requestId },
      });
    }
    const action = body.action as ScrubAction;
    if (!SCRUB_ACTIONS.includes(action)) {
      throw new S3Error("InvalidRequest", {
        message: 'Expected {"action": "start" | "pause" | "resume" | "cancel"}',
      });
    }
    const status = await deps.scrub.call({ type: "scrubCommand", action });
    return Response.json({ ...status, requestId }, { headers: { "x-amz-request-id": requestId } });
  } catch (e) {
    const err = toS3Error(e, "/admin/scrub");
    return Response.json({ error: err.code, message: err.message, requestId }, {
      status: err.status,
      headers: { "x-amz-request-id": requestId },
    });
  }
}
