/**
 * Administrative calls beside the S3 surface, authenticated by
 * `authenticateAdmin` (the admin token or an owner-level SigV4 key) and
 * answered in JSON with the request id.
 *
 * `POST /admin/snapshots` `{"source": "backups", "bucket": "backups-before-prune", "at": "2026-11-20T03:00:00Z"}`
 * creates a read-only point-in-time snapshot bucket.
 *
 * `POST /admin/clock` `{"time": "2036-11-23T10:00:00Z"}` with `X-Amber-Approvals`
 * moves the trusted clock forward on approvers' signed word (never back).
 *
 * `POST /approve?action=DeleteObject&resource=/bucket/key?versionId=…` with
 * `X-Amber-Approval` stages one four-eyes approval. It needs no signature:
 * the approval is signed by its approver, and nothing else is accepted.
 *
 * `GET /admin/audit?since=<seq>&limit=<n>` exports the audit log after record
 * `since` with its seals and the vault's signing key, for offline archiving.
 *
 * `GET /admin/scrub` and `POST /admin/scrub` `{"action": "start"}` show and
 * steer the scrubber.
 *
 * @module
 */

import { adminError, adminJson, authenticateAdmin, jsonObject } from "./admin_auth.ts";
import type { ScrubAction } from "../channel/mod.ts";
import type { AppDeps } from "./app.ts";
import { isValidBucketName } from "./endpoint.ts";
import { S3Error } from "./errors.ts";
import { approvalTokens } from "./ops/lock.ts";

/**
 * Verifies an admin request's signature and reads its JSON object body
 * (`{}` when the body is empty, as on GET).
 *
 * @returns The body.
 */
export async function authenticatedJson(
  req: Request,
  deps: AppDeps,
  r: { path: string; requestId: string; sourceAddress?: string },
): Promise<Record<string, unknown>> {
  return jsonObject((await authenticateAdmin(req, deps, r)).body);
}

/** Runs an admin handler, answering its result or its error in JSON with the request id. */
export async function answerAdmin(
  path: string,
  requestId: string,
  fn: () => Promise<{ status: number; body: Record<string, unknown> }>,
): Promise<Response> {
  try {
    const r = await fn();
    return adminJson(r.body, r.status, requestId);
  } catch (e) {
    return adminError(e, path, requestId);
  }
}

/** Largest `limit` of one audit export page. */
const AUDIT_PAGE_MAX = 10_000;

/**
 * Handles `GET /admin/audit?since=&limit=`.
 *
 * @returns The JSON page: `publicKey`, `records`, `seals`, `next`.
 */
export function exportAudit(
  req: Request,
  deps: AppDeps,
  requestId: string,
  sourceAddress?: string,
): Promise<Response> {
  return answerAdmin("/admin/audit", requestId, async () => {
    const q = new URL(req.url).searchParams;
    await authenticateAdmin(req, deps, {
      path: "/admin/audit",
      query: [...q] as [string, string][],
      requestId,
      sourceAddress,
    });
    const since = Number(q.get("since") ?? "0");
    const limit = Number(q.get("limit") ?? "1000");
    if (!Number.isSafeInteger(since) || since < 0) {
      throw new S3Error("InvalidArgument", { message: '"since" must be a record number ≥ 0' });
    }
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > AUDIT_PAGE_MAX) {
      throw new S3Error("InvalidArgument", {
        message: `"limit" must be between 1 and ${AUDIT_PAGE_MAX}`,
      });
    }
    const page = await deps.meta.call({ type: "exportAudit", since, limit });
    return { status: 200, body: { ...page } };
  });
}

/**
 * Handles `POST /approve?action=&resource=`.
 *
 * @returns The JSON response: who approved and until when.
 */
export function stageApproval(req: Request, deps: AppDeps, requestId: string): Promise<Response> {
  return answerAdmin("/approve", requestId, async () => {
    const q = new URL(req.url).searchParams;
    const resource = q.get("resource");
    const token = req.headers.get("x-amber-approval");
    if (!resource || !resource.startsWith("/") || !token) {
      throw new S3Error("InvalidRequest", {
        message: "Expected ?resource=/bucket[/key][?versionId=…] and an X-Amber-Approval header",
      });
    }
    const r = await deps.meta.call({
      type: "stageApproval",
      token,
      action: q.get("action") ?? "DeleteObject",
      resource,
    });
    return {
      status: 201,
      body: { approver: r.approver, expires: new Date(r.expires).toISOString() },
    };
  });
}

/**
 * Handles `POST /admin/clock`.
 *
 * @returns The JSON response: the trusted time now.
 */
export function attestTime(
  req: Request,
  deps: AppDeps,
  requestId: string,
  sourceAddress?: string,
): Promise<Response> {
  return answerAdmin("/admin/clock", requestId, async () => {
    const { time } = await authenticatedJson(req, deps, {
      path: "/admin/clock",
      requestId,
      sourceAddress,
    });
    const ms = typeof time === "string" ? Date.parse(time) : NaN;
    if (Number.isNaN(ms)) {
      throw new S3Error("InvalidArgument", { message: 'Expected {"time": ISO 8601 time}' });
    }
    const approvals = approvalTokens(req.headers) ?? [];
    const r = await deps.meta.call({ type: "attestTime", time: ms, approvals });
    return { status: 200, body: { trusted: new Date(r.trustedMs).toISOString() } };
  });
}

/**
 * Handles `POST /admin/snapshots`.
 *
 * @returns The JSON response.
 */
export function createSnapshot(
  req: Request,
  deps: AppDeps,
  requestId: string,
  sourceAddress?: string,
): Promise<Response> {
  return answerAdmin("/admin/snapshots", requestId, async () => {
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
    return {
      status: 201,
      body: {
        ...r,
        at: new Date(r.at).toISOString(),
        trustedAt: new Date(r.trustedAt).toISOString(),
      },
    };
  });
}

const SCRUB_ACTIONS: readonly ScrubAction[] = ["start", "pause", "resume", "cancel"];

/**
 * Handles `GET /admin/scrub` (the scrubber's status) and `POST /admin/scrub`
 * `{"action": "start" | "pause" | "resume" | "cancel"}` (a command; answers
 * with the status after it).
 *
 * @returns The JSON response.
 */
export function scrubAdmin(
  req: Request,
  deps: AppDeps,
  requestId: string,
  sourceAddress?: string,
): Promise<Response> {
  return answerAdmin("/admin/scrub", requestId, async () => {
    const body = await authenticatedJson(req, deps, {
      path: "/admin/scrub",
      requestId,
      sourceAddress,
    });
    if (!deps.scrub) {
      throw new S3Error("NotImplemented", { message: "This vault runs no scrubber" });
    }
    if (req.method === "GET") {
      return { status: 200, body: { ...await deps.scrub.call({ type: "scrubStatus" }) } };
    }
    const action = body.action as ScrubAction;
    if (!SCRUB_ACTIONS.includes(action)) {
      throw new S3Error("InvalidRequest", {
        message: 'Expected {"action": "start" | "pause" | "resume" | "cancel"}',
      });
    }
    return { status: 200, body: { ...await deps.scrub.call({ type: "scrubCommand", action }) } };
  });
}
