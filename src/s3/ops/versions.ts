/**
 * Versioning: GetBucketVersioning, PutBucketVersioning, ListObjectVersions.
 *
 * @module
 */

import type { Endpoint } from "../endpoint.ts";
import { S3Error } from "../errors.ts";
import { child, parseXml, renderXml, renderXmlEntries, type XmlValue } from "../xml.ts";
import { OWNER } from "./bucket.ts";
import { readXmlBody } from "./body.ts";
import type { OpContext, OpResult } from "./context.ts";
import { xmlResult } from "./context.ts";
import { isoDate } from "./headers.ts";
import { encoder, maxParam } from "./list.ts";

type Ctx<O extends Endpoint["op"]> = OpContext<Extract<Endpoint, { op: O }>>;

/** GetBucketVersioning: no Status until versioning was first set, as S3 answers. */
export async function GetBucketVersioning(ctx: Ctx<"GetBucketVersioning">): Promise<OpResult> {
  const b = await ctx.meta.call({ type: "headBucket", bucket: ctx.ep.bucket });
  return xmlResult(
    renderXml("VersioningConfiguration", {
      Status: b.versioning === "Unversioned" ? undefined : b.versioning,
    }),
  );
}

/** PutBucketVersioning: Enabled or Suspended; a bucket never returns to unversioned. */
export async function PutBucketVersioning(ctx: Ctx<"PutBucketVersioning">): Promise<OpResult> {
  const root = parseXml(await readXmlBody(ctx, 64 * 1024));
  if (root.name !== "VersioningConfiguration") throw new S3Error("MalformedXML");
  const status = child(root, "Status")?.text.trim();
  if (status !== "Enabled" && status !== "Suspended") throw new S3Error("MalformedXML");
  if (child(root, "MfaDelete")?.text.trim() === "Enabled") {
    throw new S3Error("NotImplemented", { message: "MFA Delete is not supported" });
  }
  await ctx.meta.call({ type: "putBucketVersioning", bucket: ctx.ep.bucket, status });
  return { status: 200 };
}

/** ListObjectVersions. */
export async function ListObjectVersions(ctx: Ctx<"ListObjectVersions">): Promise<OpResult> {
  const q = ctx.query;
  const enc = encoder(q);
  const maxKeys = maxParam(q, "max-keys");
  const keyMarker = q.get("key-marker") ?? "";
  const versionIdMarker = q.get("version-id-marker") ?? "";
  if (versionIdMarker && !keyMarker) {
    throw new S3Error("InvalidArgument", {
      message: "A version-id marker cannot be specified without a key marker.",
    });
  }
  const r = await ctx.meta.call({
    type: "listVersions",
    bucket: ctx.ep.bucket,
    prefix: q.get("prefix") ?? "",
    delimiter: q.get("delimiter") ?? "",
    keyMarker,
    versionIdMarker,
    maxKeys,
  });
  const entry = (v: (typeof r.items)[number]) => ({
    Key: enc(v.key),
    VersionId: v.versionId,
    IsLatest: v.isLatest,
    LastModified: isoDate(v.lastModified),
    ...(v.deleteMarker ? {} : { ETag: `"${v.etag}"`, Size: v.size, StorageClass: "STANDARD" }),
    Owner: OWNER,
  });
  // Versions and delete markers interleave in key and age order, as S3 lists them.
  const entries: [string, XmlValue][] = [
    ["Name", ctx.ep.bucket],
    ["Prefix", enc(q.get("prefix") ?? "")],
    ["KeyMarker", enc(keyMarker)],
    ["VersionIdMarker", versionIdMarker],
    ["NextKeyMarker", r.isTruncated ? enc(r.nextMarker) : undefined],
    ["NextVersionIdMarker", r.isTruncated ? r.nextVersionIdMarker : undefined],
    ["MaxKeys", maxKeys],
    ["Delimiter", enc(q.get("delimiter") ?? undefined)],
    ["EncodingType", q.get("encoding-type") ?? undefined],
    ["IsTruncated", r.isTruncated],
    ...r.items.map((
      v,
    ): [string, XmlValue] => [v.deleteMarker ? "DeleteMarker" : "Version", entry(v)]),
    ...r.commonPrefixes.map((p): [string, XmlValue] => ["CommonPrefixes", { Prefix: enc(p) }]),
  ];
  return xmlResult(renderXmlEntries("ListVersionsResult", entries));
}
