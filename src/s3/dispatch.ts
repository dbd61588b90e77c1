/**
 * The one exhaustive switch from operation to handler.
 *
 * @module
 */

import type { Endpoint } from "./endpoint.ts";
import {
  CreateBucket,
  DeleteBucket,
  GetBucketLocation,
  HeadBucket,
  ListBuckets,
} from "./ops/bucket.ts";
import { GetBucketVersioning, ListObjectVersions, PutBucketVersioning } from "./ops/versions.ts";
import type { OpContext, OpResult } from "./ops/context.ts";
import { DeleteObject, DeleteObjects } from "./ops/delete.ts";
import {
  GetObjectLegalHold,
  GetObjectLockConfiguration,
  GetObjectRetention,
  PutObjectLegalHold,
  PutObjectLockConfiguration,
  PutObjectRetention,
} from "./ops/lock.ts";
import { ListMultipartUploads, ListObjects, ListObjectsV2 } from "./ops/list.ts";
import {
  AbortMultipartUpload,
  CompleteMultipartUpload,
  CreateMultipartUpload,
  ListParts,
  UploadPart,
  UploadPartCopy,
} from "./ops/multipart.ts";
import { GetObject, HeadObject } from "./ops/object_get.ts";
import { CopyObject, PutObject } from "./ops/object_put.ts";
import { GetBucketAcl, GetObjectAcl, GetObjectTagging, readUnkeptSetting } from "./ops/settings.ts";

function assertNever(x: never): never {
  throw new Error(`Unhandled operation ${JSON.stringify(x)}`);
}

/** Runs the handler of `ctx.ep.op`. */
export function dispatch(ctx: OpContext): Promise<OpResult> {
  const ep = ctx.ep;
  // Each branch narrows the context to its endpoint variant.
  const as = <E extends Endpoint>(e: E) => ({ ...ctx, ep: e }) as OpContext<E>;
  switch (ep.op) {
    case "ListBuckets":
      return ListBuckets(as(ep));
    case "CreateBucket":
      return CreateBucket(as(ep));
    case "HeadBucket":
      return HeadBucket(as(ep));
    case "DeleteBucket":
      return DeleteBucket(as(ep));
    case "GetBucketLocation":
      return GetBucketLocation(as(ep));
    case "GetBucketVersioning":
      return GetBucketVersioning(as(ep));
    case "PutBucketVersioning":
      return PutBucketVersioning(as(ep));
    case "ListObjectVersions":
      return ListObjectVersions(as(ep));
    case "ListObjects":
      return ListObjects(as(ep));
    case "ListObjectsV2":
      return ListObjectsV2(as(ep));
    case "ListMultipartUploads":
      return ListMultipartUploads(as(ep));
    case "DeleteObjects":
      return DeleteObjects(as(ep));
    case "PutObject":
      return PutObject(as(ep));
    case "CopyObject":
      return CopyObject(as(ep));
    case "GetObject":
      return GetObject(as(ep));
    case "HeadObject":
      return HeadObject(as(ep));
    case "DeleteObject":
      return DeleteObject(as(ep));
    case "CreateMultipartUpload":
      return CreateMultipartUpload(as(ep));
    case "UploadPart":
      return UploadPart(as(ep));
    case "UploadPartCopy":
      return UploadPartCopy(as(ep));
    case "CompleteMultipartUpload":
      return CompleteMultipartUpload(as(ep));
    case "AbortMultipartUpload":
      return AbortMultipartUpload(as(ep));
    case "ListParts":
      return ListParts(as(ep));
    case "GetBucketAcl":
      return GetBucketAcl(as(ep));
    case "GetObjectAcl":
      return GetObjectAcl(as(ep));
    case "GetObjectTagging":
      return GetObjectTagging(as(ep));
    case "PutObjectLockConfiguration":
      return PutObjectLockConfiguration(as(ep));
    case "GetObjectLockConfiguration":
      return GetObjectLockConfiguration(as(ep));
    case "PutObjectRetention":
      return PutObjectRetention(as(ep));
    case "GetObjectRetention":
      return GetObjectRetention(as(ep));
    case "PutObjectLegalHold":
      return PutObjectLegalHold(as(ep));
    case "GetObjectLegalHold":
      return GetObjectLegalHold(as(ep));
    case "GetBucketPolicy":
    case "GetBucketCors":
    case "GetBucketLifecycleConfiguration":
    case "GetBucketTagging":
    case "GetBucketEncryption":
    case "GetBucketWebsite":
    case "GetBucketReplication":
    case "GetPublicAccessBlock":
    case "GetBucketLogging":
    case "GetBucketNotificationConfiguration":
    case "GetBucketRequestPayment":
    case "GetBucketAccelerateConfiguration":
      return readUnkeptSetting(as(ep));
    default:
      return assertNever(ep);
  }
}
