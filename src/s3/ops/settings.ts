/**
 * Reading bucket and object settings Amber does not keep: ACLs (the owner
 * has full control, nobody else has anything), object tags (none), and the
 * bucket settings that answer as S3 does for a bucket that never had them.
 *
 * @module
 */

import type { Endpoint, NotConfiguredOperation } from "../endpoint.ts";
import { S3Error, type S3ErrorCode } from "../errors.ts";
import { renderXml, type XmlObject } from "../xml.ts";
import { OWNER } from "./bucket.ts";
import type { OpContext, OpResult } from "./context.ts";
import { versionIdHeader } from "./headers.ts";
import { xmlResult } from "./context.ts";

type Ctx<O extends Endpoint["op"]> = OpContext<Extract<Endpoint, { op: O }>>;

/** How each unkept setting reads: an S3 error code, or an empty document. */
const ANSWERS: Record<NotConfiguredOperation, S3ErrorCode | { root: string; body: XmlObject }> = {
  GetBucketPolicy: "NoSuchBucketPolicy",
  GetBucketCors: "NoSuchCORSConfiguration",
  GetBucketLifecycleConfiguration: "NoSuchLifecycleConfiguration",
  GetBucketTagging: "NoSuchTagSet",
  GetBucketEncryption: "ServerSideEncryptionConfigurationNotFoundError",
  GetBucketWebsite: "NoSuchWebsiteConfiguration",
  GetBucketReplication: "ReplicationConfigurationNotFoundError",
  GetPublicAccessBlock: "NoSuchPublicAccessBlockConfiguration",
  GetBucketLogging: { root: "BucketLoggingStatus", body: {} },
  GetBucketNotificationConfiguration: { root: "NotificationConfiguration", body: {} },
  GetBucketRequestPayment: { root: "RequestPaymentConfiguration", body: { Payer: "BucketOwner" } },
  GetBucketAccelerateConfiguration: { root: "AccelerateConfiguration", body: {} },
};

/** Reads one of the bucket settings Amber does not keep. */
export async function readUnkeptSetting(ctx: Ctx<NotConfiguredOperation>): Promise<OpResult> {
  await ctx.meta.call({ type: "headBucket", bucket: ctx.ep.bucket });
  const answer = ANSWERS[ctx.ep.op];
  if (typeof answer === "string") {
    throw new S3Error(answer, {
      resource: `/${ctx.ep.bucket}`,
      extra: { BucketName: ctx.ep.bucket },
    });
  }
  return xmlResult(renderXml(answer.root, answer.body));
}

function fullControl(): string {
  const grantee =
    `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">` +
    `<ID>${OWNER.ID}</ID><DisplayName>${OWNER.DisplayName}</DisplayName></Grantee>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Owner><ID>${OWNER.ID}</ID><DisplayName>${OWNER.DisplayName}</DisplayName></Owner>` +
    `<AccessControlList><Grant>${grantee}<Permission>FULL_CONTROL</Permission></Grant></AccessControlList>` +
    `</AccessControlPolicy>`;
}

/** GetBucketAcl: the owner has full control. */
export async function GetBucketAcl(ctx: Ctx<"GetBucketAcl">): Promise<OpResult> {
  await ctx.meta.call({ type: "headBucket", bucket: ctx.ep.bucket });
  return xmlResult(fullControl());
}

/** GetObjectAcl: the owner has full control. */
export async function GetObjectAcl(ctx: Ctx<"GetObjectAcl">): Promise<OpResult> {
  await ctx.meta.call({ type: "getVersion", bucket: ctx.ep.bucket, key: ctx.ep.key });
  return xmlResult(fullControl());
}

/** GetObjectTagging: objects carry no tags. */
export async function GetObjectTagging(ctx: Ctx<"GetObjectTagging">): Promise<OpResult> {
  const v = await ctx.meta.call({ type: "getVersion", bucket: ctx.ep.bucket, key: ctx.ep.key });
  return xmlResult(renderXml("Tagging", { TagSet: {} }), versionIdHeader(v.versionId));
}
