/**
 * Administrative calls beside the S3 surface, authenticated by
 * `authenticateAdmin` (the admin token or an owner-level SigV4 key) and
 * answered in JSON with the request id.
 *
 * `POST /admin/snapshots` `{"source": "backups", "bucket": "backups-before-prune", "at": "2026-11-20T03:00:00Z"}`
 * creates a read-only point-in-time snapshot bucket.
 *
 * @module
 */

import { adminError, authenticateAdmin, jsonObject } from "./admin_auth.ts";
import type { AppDeps } from "./app.ts";
import { isValidBucketName } from "./endpoint.ts";
import { S3Error } from "./errors.ts";

async function authenticatedJson(
  req: Request,
  deps: AppDeps,
  r: { path: string; requestId: string; sourceAddress?: string },
): Promise<Record<string, unknown>> {
  return jsonObject((await authenticateAdmin(req, deps, r)).body);
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
  sourceAddress?: string,
): Promise<Response> {
  try {
    const body = await authenticatedJson(req, deps, {
      path: "/admin/snapshots",
      requestId,
      sourceAddress,
    });
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
    return adminError(e, "/admin/snapshots", requestId);
  }
}
