/**
 * The bucket policy on the S3 surface: each write is admitted by the index
 * before its body is read (upload windows, minimum version interval, a full
 * bucket) or, for a small PUT, with its commit; its body is cut off once it
 * passes the bytes left, and a write that lands above the soft limit carries
 * a warning header.
 *
 * The caller's own upload windows and its `upload-anytime` right come from
 * its access key and are judged by the index with the bucket's.
 *
 * @module
 */

import type { PolicedWrite, WriteCaller } from "../../channel/mod.ts";
import type { Endpoint } from "../endpoint.ts";
import { S3Error, toS3Error } from "../errors.ts";
import type { OpContext } from "./context.ts";

/** The response header carrying a soft-quota warning. */
export const QUOTA_WARNING_HEADER = "x-amber-quota-warning";

/** The S3 operations a bucket policy governs, and the write each is. */
const POLICED_OPS: Partial<Record<Endpoint["op"], PolicedWrite>> = {
  PutObject: "put",
  CopyObject: "copy",
  CreateMultipartUpload: "createUpload",
  UploadPart: "uploadPart",
  UploadPartCopy: "uploadPart",
  CompleteMultipartUpload: "complete",
  DeleteObject: "delete",
  DeleteObjects: "delete",
};

/**
 * Asks the index whether this request may write now, before its body is
 * read. Refusals arrive as S3 errors (AccessDenied naming the window or the
 * interval, QuotaExceeded when full).
 *
 * @returns The body limit to enforce while streaming, if any.
 */
export async function admitWrite(ctx: OpContext): Promise<OpContext["admission"]> {
  const write = POLICED_OPS[ctx.ep.op];
  if (write === undefined || admittedAtCommit(ctx)) return undefined;
  const ep = ctx.ep as { bucket: string; key?: string; uploadId?: string; partNumber?: number };
  return await ctx.meta.call({
    type: "admitWrite",
    bucket: ep.bucket,
    key: ep.key ?? "",
    write,
    uploadId: ep.uploadId,
    partNumber: ep.partNumber,
    ...writeCaller(ctx),
  });
}

/** What the bucket policy asks of the request's credential. */
export function writeCaller(ctx: OpContext): WriteCaller {
  return {
    uploadAnytime: ctx.principal.uploadAnytime,
    keyWindows: ctx.principal.uploadWindows.length
      ? { accessKey: ctx.principal.accessKey, windows: ctx.principal.uploadWindows }
      : undefined,
  };
}

/** PUT bodies up to this size are read before the write is admitted. */
const SMALL_BODY_BYTES = 1024 * 1024;

/** The body length the request declares (NaN when it declares none). */
function declaredLength(headers: Headers): number {
  return Number(
    headers.get("x-amz-decoded-content-length") ?? headers.get("content-length") ?? NaN,
  );
}

/**
 * Whether the index admits this write with its commit rather than before its
 * body is read: a small PutObject, where the extra round trip costs more than
 * reading a body that may be refused (its chunks are then collected).
 */
export function admittedAtCommit(ctx: OpContext): boolean {
  return ctx.ep.op === "PutObject" && declaredLength(ctx.req.headers) <= SMALL_BODY_BYTES;
}

/** The limit `ingestBody` enforces for this request's body, from its admission. */
export function bodyLimit(ctx: OpContext): { bytes: number; refusal: () => S3Error } | undefined {
  const limit = ctx.admission?.limit;
  if (!limit) return undefined;
  const { bucket, key } = ctx.ep as { bucket: string; key: string };
  const wire = { area: "meta", kind: limit.kind, message: limit.message };
  return { bytes: limit.bytes, refusal: () => toS3Error({ wire }, `/${bucket}/${key}`) };
}

/** The warning header for a write whose result carries a soft-quota warning. */
export function quotaWarningHeader(result: { quotaWarning?: string }): Record<string, string> {
  return result.quotaWarning ? { [QUOTA_WARNING_HEADER]: result.quotaWarning } : {};
}

/** Refuses a body longer than its limit (declared up front, or counted while streaming). */
export function checkBodyLimit(
  limit: { bytes: number; refusal: () => S3Error } | undefined,
  bytes: number,
): void {
  if (limit && bytes > limit.bytes) throw limit.refusal();
}
