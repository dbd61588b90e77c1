/**
 * DeleteObject and DeleteObjects.
 *
 * @module
 */

import type { Endpoint } from "../endpoint.ts";
import { S3Error, toS3Error } from "../errors.ts";
import { child, childrenNamed, parseXml, renderXml, type XmlObject } from "../xml.ts";
import { readXmlBody } from "./body.ts";
import type { OpContext, OpResult } from "./context.ts";
import { xmlResult } from "./context.ts";
import { ChannelError } from "../../channel/mod.ts";
import { approvals, bypassGovernance } from "./lock.ts";
import { etagCondition, versionIdParam } from "./headers.ts";

type Ctx<O extends Endpoint["op"]> = OpContext<Extract<Endpoint, { op: O }>>;

/** Most keys one DeleteObjects request may name. */
export const DELETE_OBJECTS_MAX_KEYS = 1000;
/** Largest DeleteObjects body accepted, in bytes. */
const DELETE_BODY_MAX_BYTES = 2 * 1024 * 1024;

/**
 * DeleteObject: with `versionId` (`null` included) that version goes for
 * good; without it a versioned bucket gets a delete marker. Deleting a
 * missing key or version succeeds, as in S3, unless `If-Match` asks for the
 * key's current version (NoSuchKey without one, PreconditionFailed when its
 * ETag differs).
 */
export async function DeleteObject(ctx: Ctx<"DeleteObject">): Promise<OpResult> {
  const { bucket, key } = ctx.ep;
  const versionId = versionIdParam(ctx.query.get("versionId"));
  const r = await ctx.meta.call({
    type: "deleteObject",
    bucket,
    key,
    versionId,
    ifMatch: etagCondition(ctx.req.headers.get("if-match") ?? undefined),
    now: ctx.now,
    bypassGovernance: bypassGovernance(ctx),
    approvals: approvals(ctx),
  });
  const headers: Record<string, string> = {};
  if (r.versionId) headers["x-amz-version-id"] = r.versionId;
  if (r.deleteMarker) headers["x-amz-delete-marker"] = "true";
  return { status: 204, headers, deletes: r.deleted ? 1 : 0 };
}

/** DeleteObjects: each key succeeds or fails on its own; Quiet reports only failures. */
export async function DeleteObjects(ctx: Ctx<"DeleteObjects">): Promise<OpResult> {
  const root = parseXml(await readXmlBody(ctx, DELETE_BODY_MAX_BYTES));
  if (root.name !== "Delete") throw new S3Error("MalformedXML");
  const quiet = child(root, "Quiet")?.text.trim().toLowerCase() === "true";
  const deleted: XmlObject[] = [];
  const errors: XmlObject[] = [];
  const requested = childrenNamed(root, "Object");
  if (requested.length === 0 || requested.length > DELETE_OBJECTS_MAX_KEYS) {
    throw new S3Error("MalformedXML");
  }
  const objects = requested.flatMap((o) => {
    const key = child(o, "Key")?.text;
    if (key === undefined || key === "") throw new S3Error("MalformedXML");
    const versionId = child(o, "VersionId")?.text;
    try {
      return [{
        key,
        versionId: versionIdParam(versionId),
        ifMatch: etagCondition(child(o, "ETag")?.text),
      }];
    } catch (e) {
      // A key with an empty or malformed version id fails on its own, as a version that is not.
      const err = e as S3Error;
      errors.push({ Key: key, VersionId: versionId, Code: err.code, Message: err.message });
      return [];
    }
  });
  const { results } = objects.length > 0
    ? await ctx.meta.call({
      type: "deleteObjects",
      bucket: ctx.ep.bucket,
      objects,
      now: ctx.now,
      bypassGovernance: bypassGovernance(ctx),
      approvals: approvals(ctx),
    })
    : { results: [] };
  for (const r of results) {
    if (r.ok) {
      if (!quiet) {
        deleted.push({
          Key: r.key,
          VersionId: r.versionId,
          DeleteMarker: r.deleteMarker,
          DeleteMarkerVersionId: r.deleteMarkerVersionId,
        });
      }
    } else {
      const e = toS3Error(new ChannelError(r.error), `/${ctx.ep.bucket}/${r.key}`);
      errors.push({ Key: r.key, VersionId: r.versionId, Code: e.code, Message: e.message });
    }
  }
  return {
    ...xmlResult(renderXml("DeleteResult", { Deleted: deleted, Error: errors })),
    deletes: results.filter((r) => r.ok).length,
  };
}
