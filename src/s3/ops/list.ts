/**
 * ListObjects (v1), ListObjectsV2 and ListMultipartUploads.
 *
 * @module
 */

import type { Endpoint } from "../endpoint.ts";
import { S3Error } from "../errors.ts";
import { renderXml } from "../xml.ts";
import { OWNER } from "./bucket.ts";
import type { OpContext, OpResult } from "./context.ts";
import { xmlResult } from "./context.ts";
import { isoDate } from "./headers.ts";

type Ctx<O extends Endpoint["op"]> = OpContext<Extract<Endpoint, { op: O }>>;

/** Most keys one listing page returns. */
export const LIST_MAX_KEYS = 1000;

/** Reads a max-keys style parameter. */
/** The largest `max-*` parameter S3 takes: a 32-bit signed integer. */
const INT32_MAX = 2147483647;

export function maxParam(q: URLSearchParams, name: string, cap = LIST_MAX_KEYS): number {
  const raw = q.get(name);
  if (raw === null) return cap;
  if (!/^-?\d+$/.test(raw) || Number(raw) > INT32_MAX) {
    throw new S3Error("InvalidArgument", {
      message: `Provided ${name} not an integer or within integer range`,
    });
  }
  const n = Number(raw);
  if (n < 0) {
    throw new S3Error("InvalidArgument", {
      message: `Argument ${name} must be an integer between 0 and 2147483647`,
    });
  }
  return Math.min(n, cap);
}

/** The key encoder `encoding-type` asks for (only `url` exists). */
export function encoder(q: URLSearchParams): (s: string | undefined) => string | undefined {
  const type = q.get("encoding-type");
  if (type === null) return (s) => s;
  if (type !== "url") {
    throw new S3Error("InvalidArgument", {
      message: "Invalid Encoding Method specified in Request",
    });
  }
  return (s) => (s === undefined ? undefined : encodeURIComponent(s).replace(/%2F/g, "/"));
}

async function list(
  ctx: OpContext<Extract<Endpoint, { bucket: string }>>,
  startAfter: string,
  maxKeys: number,
) {
  const q = ctx.query;
  return await ctx.meta.call({
    type: "listObjects",
    bucket: ctx.ep.bucket,
    prefix: q.get("prefix") ?? "",
    delimiter: q.get("delimiter") ?? "",
    startAfter,
    maxKeys,
  });
}

/** ListObjectsV2. */
export async function ListObjectsV2(ctx: Ctx<"ListObjectsV2">): Promise<OpResult> {
  const q = ctx.query;
  const enc = encoder(q);
  const maxKeys = maxParam(q, "max-keys");
  const token = q.get("continuation-token");
  let marker = q.get("start-after") ?? "";
  if (token !== null) {
    try {
      marker = new TextDecoder("utf-8", { fatal: true }).decode(
        Uint8Array.from(atob(token), (c) => c.charCodeAt(0)),
      );
    } catch {
      throw new S3Error("InvalidArgument", {
        message: "The continuation token provided is incorrect",
      });
    }
  }
  const r = await list(ctx, marker, maxKeys);
  const fetchOwner = q.get("fetch-owner") === "true";
  const next = r.isTruncated && r.nextMarker !== undefined
    ? btoa(String.fromCharCode(...new TextEncoder().encode(r.nextMarker)))
    : undefined;
  return xmlResult(renderXml("ListBucketResult", {
    Name: ctx.ep.bucket,
    Prefix: enc(q.get("prefix") ?? ""),
    Delimiter: enc(q.get("delimiter") ?? undefined),
    MaxKeys: maxKeys,
    EncodingType: q.get("encoding-type") ?? undefined,
    KeyCount: r.items.length + r.commonPrefixes.length,
    IsTruncated: r.isTruncated,
    ContinuationToken: token ?? undefined,
    NextContinuationToken: next,
    StartAfter: enc(q.get("start-after") ?? undefined),
    Contents: r.items.map((o) => ({
      Key: enc(o.key),
      LastModified: isoDate(o.lastModified),
      ETag: `"${o.etag}"`,
      Size: o.size,
      Owner: fetchOwner ? OWNER : undefined,
      StorageClass: "STANDARD",
    })),
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  }));
}

/** ListObjects (v1). */
export async function ListObjects(ctx: Ctx<"ListObjects">): Promise<OpResult> {
  const q = ctx.query;
  const enc = encoder(q);
  const maxKeys = maxParam(q, "max-keys");
  const marker = q.get("marker") ?? "";
  const r = await list(ctx, marker, maxKeys);
  const delimiter = q.get("delimiter") ?? "";
  return xmlResult(renderXml("ListBucketResult", {
    Name: ctx.ep.bucket,
    Prefix: enc(q.get("prefix") ?? ""),
    Marker: enc(marker),
    NextMarker: r.isTruncated && delimiter ? enc(r.nextMarker) : undefined,
    MaxKeys: maxKeys,
    Delimiter: enc(delimiter || undefined),
    EncodingType: q.get("encoding-type") ?? undefined,
    IsTruncated: r.isTruncated,
    Contents: r.items.map((o) => ({
      Key: enc(o.key),
      LastModified: isoDate(o.lastModified),
      ETag: `"${o.etag}"`,
      Size: o.size,
      Owner: OWNER,
      StorageClass: "STANDARD",
    })),
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  }));
}

/** ListMultipartUploads. */
export async function ListMultipartUploads(ctx: Ctx<"ListMultipartUploads">): Promise<OpResult> {
  const q = ctx.query;
  const enc = encoder(q);
  const maxUploads = maxParam(q, "max-uploads");
  const r = await ctx.meta.call({
    type: "listUploads",
    bucket: ctx.ep.bucket,
    prefix: q.get("prefix") ?? "",
    delimiter: q.get("delimiter") ?? "",
    keyMarker: q.get("key-marker") ?? "",
    uploadIdMarker: q.get("upload-id-marker") ?? "",
    maxUploads,
  });
  const last = r.items.at(-1);
  return xmlResult(renderXml("ListMultipartUploadsResult", {
    Bucket: ctx.ep.bucket,
    KeyMarker: enc(q.get("key-marker") ?? ""),
    UploadIdMarker: q.get("upload-id-marker") ?? "",
    NextKeyMarker: r.isTruncated ? enc(r.nextMarker) : undefined,
    // Empty when the page ended on a common prefix: the next page starts after all of it.
    NextUploadIdMarker: r.isTruncated
      ? (last?.key === r.nextMarker ? last?.uploadId : undefined)
      : undefined,
    Prefix: enc(q.get("prefix") ?? ""),
    Delimiter: enc(q.get("delimiter") ?? undefined),
    MaxUploads: maxUploads,
    EncodingType: q.get("encoding-type") ?? undefined,
    IsTruncated: r.isTruncated,
    Upload: r.items.map((u) => ({
      Key: enc(u.key),
      UploadId: u.uploadId,
      Initiator: OWNER,
      Owner: OWNER,
      StorageClass: "STANDARD",
      Initiated: isoDate(u.initiated),
    })),
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  }));
}
