/**
 * The authorize step between parsing and dispatch: gathers the request facts
 * the pure check needs (source address, copy source), asks
 * `auth.authorize`, and turns a denial into `AccessDenied` with the reason,
 * recorded in the audit log.
 *
 * @module
 */

import { authorize, type Principal } from "../auth/mod.ts";
import type { MetaClient } from "../channel/mod.ts";
import { log } from "../ops/mod.ts";
import type { Endpoint } from "./endpoint.ts";
import { S3Error } from "./errors.ts";
import { parseCopySource } from "./ops/object_put.ts";

/**
 * The client's address from the handler info `Deno.serve` passes (hono's
 * `env`), when known. Forwarding headers are not trusted.
 *
 * @param env hono's `c.env`.
 * @returns The address, without port.
 */
export function sourceAddressOf(env: unknown): string | undefined {
  const addr = (env as { remoteAddr?: { hostname?: unknown } } | undefined)?.remoteAddr;
  return typeof addr?.hostname === "string" ? addr.hostname : undefined;
}

/**
 * Records a refusal decided outside the index in the audit log. Does not
 * wait: the refusal is answered either way, and a failure is logged.
 *
 * @param meta The index.
 * @param entry What was refused, where, and why.
 */
export function auditRefusal(
  meta: MetaClient,
  entry: { op: string; target: string; detail: string; requestId: string },
): void {
  meta.call({
    type: "audit",
    op: entry.op,
    target: entry.target,
    outcome: "refused",
    detail: `${entry.detail} (request ${entry.requestId})`,
  }).catch((e) =>
    log("error", "Cannot record a refusal in the audit log", {
      requestId: entry.requestId,
      error: String(e),
    })
  );
}

/**
 * Authorizes a parsed request.
 *
 * @param principal The verified key.
 * @param ep The endpoint.
 * @param r The request, its client address, its resource, and where refusals are recorded.
 * @returns Whether the key may bypass governance retention (when it asks to).
 * @throws {S3Error} `AccessDenied` with the reason.
 */
export function authorizeRequest(
  principal: Principal,
  ep: Endpoint,
  r: {
    req: Request;
    sourceAddress?: string;
    resource: string;
    requestId: string;
    meta: MetaClient;
  },
): { bypassGovernance: boolean } {
  const copySource = r.req.headers.get("x-amz-copy-source");
  const decision = authorize(principal, ep, {
    sourceAddress: r.sourceAddress,
    copySourceBucket: (ep.op === "CopyObject" || ep.op === "UploadPartCopy") && copySource
      ? parseCopySource(copySource).bucket
      : undefined,
  });
  if (decision.allowed) return { bypassGovernance: decision.bypassGovernance };
  auditRefusal(r.meta, {
    op: ep.op,
    target: r.resource,
    detail: decision.reason,
    requestId: r.requestId,
  });
  throw new S3Error("AccessDenied", { message: decision.reason, resource: r.resource });
}
