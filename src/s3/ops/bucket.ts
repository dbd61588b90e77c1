/**
 * Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
 * GetBucketLocation, GetBucketVersioning.
 *
 * @module
 */

import { levelOn } from "../../auth/mod.ts";
import { isValidBucketName } from "../endpoint.ts";
import type { Endpoint } from "../endpoint.ts";
import { S3Error } from "../errors.ts";
import { escapeXml, parseXml, renderXml } from "../xml.ts";
import type { OpContext, OpResult } from "./context.ts";
import { xmlResult } from "./context.ts";
import { readXmlBody } from "./body.ts";
import { approvals } from "./lock.ts";
import { isoDate } from "./headers.ts";

type Ctx<O extends Endpoint["op"]> = OpContext<Extract<Endpoint, { op: O }>>;

/** The single owner every bucket belongs to. */
export const OWNER = { ID: "amber", DisplayName: "amber" };

/** Most buckets on one ListBuckets page, and the page size when `max-buckets` is not given. */
const MAX_BUCKETS = 10_000;

/** ListBuckets, with `prefix`, `max-buckets`, `continuation-token` and `bucket-region`. */
export async function ListBuckets(ctx: Ctx<"ListBuckets">): Promise<OpResult> {
  const q = ctx.query;
  const prefix = q.get("prefix") ?? "";
  const raw = q.get("max-buckets");
  const maxBuckets = raw === null ? MAX_BUCKETS : Number(raw);
  if (raw !== null && (!/^\d+$/.test(raw) || maxBuckets < 1 || maxBuckets > MAX_BUCKETS)) {
    throw new S3Error("InvalidArgument", {
      message: `max-buckets must be an integer from 1 to ${MAX_BUCKETS}`,
    });
  }
  const token = q.get("continuation-token");
  // The token is the last name of the page before, obfuscated as S3's is.
  const after = token === null ? "" : atobName(token);
  const region = q.get("bucket-region");
  const { buckets } = await ctx.meta.call({ type: "listBuckets" });
  // Only the buckets this key may read; every bucket is in the vault's one region.
  const matching = buckets.filter((b) =>
    levelOn(ctx.principal, b.name) !== "none" && b.name.startsWith(prefix) && b.name > after &&
    (region === null || region === ctx.region)
  );
  const page = matching.slice(0, maxBuckets);
  const more = matching.length > page.length;
  return xmlResult(renderXml("ListAllMyBucketsResult", {
    Owner: OWNER,
    Buckets: {
      Bucket: page.map((b) => ({
        Name: b.name,
        CreationDate: isoDate(b.created),
        BucketRegion: ctx.region,
      })),
    },
    ContinuationToken: more ? btoa(page[page.length - 1].name) : undefined,
    Prefix: q.has("prefix") ? prefix : undefined,
  }));
}

/** The bucket name a ListBuckets continuation token stands for. */
function atobName(token: string): string {
  try {
    return atob(token);
  } catch {
    throw new S3Error("InvalidArgument", {
      message: "The continuation token provided is incorrect",
    });
  }
}

/** CreateBucket. */
export async function CreateBucket(ctx: Ctx<"CreateBucket">): Promise<OpResult> {
  const bucket = ctx.ep.bucket;
  if (!isValidBucketName(bucket)) {
    throw new S3Error("InvalidBucketName", { extra: { BucketName: bucket } });
  }
  const text = await readXmlBody(ctx, 64 * 1024);
  if (text.trim() !== "") parseXml(text);
  const objectLock =
    ctx.req.headers.get("x-amz-bucket-object-lock-enabled")?.trim().toLowerCase() === "true";
  await ctx.meta.call({
    type: "createBucket",
    bucket,
    region: ctx.region,
    now: ctx.now,
    objectLock,
  });
  return { status: 200, headers: { location: `/${bucket}` } };
}

/** HeadBucket. */
export async function HeadBucket(ctx: Ctx<"HeadBucket">): Promise<OpResult> {
  const b = await ctx.meta.call({ type: "headBucket", bucket: ctx.ep.bucket });
  return { status: 200, headers: { "x-amz-bucket-region": b.region } };
}

/** DeleteBucket. */
export async function DeleteBucket(ctx: Ctx<"DeleteBucket">): Promise<OpResult> {
  await ctx.meta.call({ type: "deleteBucket", bucket: ctx.ep.bucket, approvals: approvals(ctx) });
  return { status: 204 };
}

/** GetBucketLocation: us-east-1 is reported as an empty constraint, as AWS does. */
export async function GetBucketLocation(ctx: Ctx<"GetBucketLocation">): Promise<OpResult> {
  const b = await ctx.meta.call({ type: "headBucket", bucket: ctx.ep.bucket });
  const constraint = b.region === "us-east-1" ? "" : escapeXml(b.region);
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${constraint}</LocationConstraint>`;
  return xmlResult(xml);
}
