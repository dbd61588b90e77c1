/**
 * Bucket policies and backup-freshness health over HTTP, in JSON with the
 * request id.
 *
 * - `PUT /admin/buckets/{bucket}/policy` sets the policy (`{}` clears it);
 *   `GET` reads it with the bucket's usage. Admin-authenticated.
 * - `GET /health/buckets` and `/health/buckets/{bucket}` (unsigned) answer
 *   ok / late / too-small / over-quota with reasons, usage and limits, and
 *   name no object: monitoring systems cannot sign SigV4, and the same facts
 *   are on the unsigned `/metrics` already. 200 when ok, 503 otherwise.
 *
 * @module
 */

import type { BucketHealth, HealthState } from "../channel/mod.ts";
import { authenticatedJson } from "./admin.ts";
import type { AppDeps } from "./app.ts";
import { S3Error, toS3Error } from "./errors.ts";

function json(body: Record<string, unknown>, status: number, requestId: string): Response {
  return Response.json({ ...body, requestId }, {
    status,
    headers: { "x-amz-request-id": requestId },
  });
}

/** Answers a JSON request, rendering any failure as `{error, message, requestId}`. */
async function answer(
  resource: string,
  requestId: string,
  fn: () => Promise<{ body: Record<string, unknown>; status?: number }>,
): Promise<Response> {
  try {
    const r = await fn();
    return json(r.body, r.status ?? 200, requestId);
  } catch (e) {
    const err = toS3Error(e, resource);
    return json({ error: err.code, message: err.message }, err.status, requestId);
  }
}

/**
 * The admin check for policy requests: the one place to swap in another
 * admin gate (admin token, owner-level key).
 */
function authorizePolicyAdmin(req: Request, deps: AppDeps, path: string) {
  return authenticatedJson(req, deps, path);
}

/**
 * Handles `GET` and `PUT /admin/buckets/{bucket}/policy`.
 *
 * @returns The JSON response: bucket, policy and usage.
 */
export function bucketPolicyRoute(
  req: Request,
  deps: AppDeps,
  opts: { bucket: string; requestId: string },
): Promise<Response> {
  const { bucket, requestId } = opts;
  const path = `/admin/buckets/${encodeURIComponent(bucket)}/policy`;
  return answer(path, requestId, async () => {
    const body = await authorizePolicyAdmin(req, deps, path);
    if (req.method === "GET") {
      return { body: await deps.meta.call({ type: "getBucketPolicy", bucket }) };
    }
    if (req.method !== "PUT") throw new S3Error("MethodNotAllowed");
    return { body: await deps.meta.call({ type: "putBucketPolicy", bucket, policy: body }) };
  });
}

const SEVERITY: HealthState[] = ["late", "too-small", "over-quota", "ok"];

function isoOrUndefined(t: number | undefined): string | undefined {
  return t === undefined ? undefined : new Date(t).toISOString();
}

/** A health report with times as ISO 8601. */
function renderHealth(h: BucketHealth): Record<string, unknown> {
  return {
    ...h,
    freshness: h.freshness.map((f) => ({
      ...f,
      lastBackupAt: isoOrUndefined(f.lastBackupAt),
      lastObjectAt: isoOrUndefined(f.lastObjectAt),
      dueAt: new Date(f.dueAt).toISOString(),
    })),
  };
}

/**
 * Handles `GET /health/buckets[/{bucket}]`.
 *
 * @param opts `bucket`: one bucket, or every bucket when undefined.
 * @returns 200 when every bucket reported is ok, 503 otherwise; 404 for an unknown bucket.
 */
export function bucketHealthRoute(
  deps: AppDeps,
  opts: { bucket?: string; requestId: string },
): Promise<Response> {
  const { bucket, requestId } = opts;
  const resource = `/health/buckets${bucket === undefined ? "" : `/${bucket}`}`;
  return answer(resource, requestId, async () => {
    const r = await deps.meta.call({ type: "bucketHealth", bucket });
    const state = SEVERITY.find((s) => r.buckets.some((b) => b.state === s)) ?? "ok";
    const time = new Date(r.now).toISOString();
    const body = bucket === undefined
      ? { state, time, buckets: r.buckets.map(renderHealth) }
      : { time, ...renderHealth(r.buckets[0]) };
    return { body, status: state === "ok" ? 200 : 503 };
  });
}
