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
import { answerAdmin, authenticatedJson } from "./admin.ts";
import type { AppDeps } from "./app.ts";
import { S3Error } from "./errors.ts";

/**
 * Handles `GET` and `PUT /admin/buckets/{bucket}/policy`.
 *
 * @returns The JSON response: bucket, policy and usage.
 */
export function bucketPolicyRoute(
  req: Request,
  deps: AppDeps,
  opts: { bucket: string; requestId: string; sourceAddress?: string },
): Promise<Response> {
  const { bucket, requestId } = opts;
  const path = `/admin/buckets/${encodeURIComponent(bucket)}/policy`;
  return answerAdmin(path, requestId, async () => {
    const body = await authenticatedJson(req, deps, {
      path,
      requestId,
      sourceAddress: opts.sourceAddress,
    });
    if (req.method === "GET") {
      return { status: 200, body: await deps.meta.call({ type: "getBucketPolicy", bucket }) };
    }
    if (req.method !== "PUT") throw new S3Error("MethodNotAllowed");
    return {
      status: 200,
      body: await deps.meta.call({ type: "putBucketPolicy", bucket, policy: body }),
    };
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
  return answerAdmin(resource, requestId, async () => {
    const r = await deps.meta.call({ type: "bucketHealth", bucket });
    const state = SEVERITY.find((s) => r.buckets.some((b) => b.state === s)) ?? "ok";
    const time = new Date(r.now).toISOString();
    const body = bucket === undefined
      ? { state, time, buckets: r.buckets.map(renderHealth) }
      : { time, ...renderHealth(r.buckets[0]) };
    return { body, status: state === "ok" ? 200 : 503 };
  });
}
