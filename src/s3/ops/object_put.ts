/**
 * PutObject and CopyObject.
 *
 * @module
 */

import { mayRemoveData } from "../../auth/mod.ts";
import type { VersionRecord } from "../../channel/mod.ts";

type NewVersion = Omit<VersionRecord, "versionId">;
import type { Endpoint } from "../endpoint.ts";
import { S3Error } from "../errors.ts";
import { createChecksum } from "../sigv4/mod.ts";
import { renderXml } from "../xml.ts";
import { ingestBody, readObject } from "./body.ts";
import { integrityChecked, lockFromHeaders } from "./lock.ts";
import type { OpContext, OpResult } from "./context.ts";
import { admittedAtCommit, bodyLimit, quotaWarningHeader, writeCaller } from "./quota.ts";
import { xmlResult } from "./context.ts";
import {
  checksumAlgorithmHeader,
  checksumPair,
  conditionsFrom,
  etagCondition,
  evaluateConditions,
  isoDate,
  metadataFromHeaders,
  versionIdHeader,
  versionIdParam,
} from "./headers.ts";

type Ctx<O extends Endpoint["op"]> = OpContext<Extract<Endpoint, { op: O }>>;

/** Largest key length S3 accepts, in UTF-8 bytes. */
export const KEY_MAX_BYTES = 1024;

/** Refuses keys S3 refuses. */
export function checkKey(key: string): void {
  if (new TextEncoder().encode(key).length > KEY_MAX_BYTES) throw new S3Error("KeyTooLongError");
}

/** Reads `If-None-Match: *` / `If-Match` of a conditional write. */
export function writeConditions(headers: Headers): { ifMatch?: string; ifNoneMatch?: boolean } {
  const ifNoneMatch = headers.get("if-none-match");
  const ifMatch = headers.get("if-match");
  if (ifNoneMatch !== null && ifNoneMatch.trim() !== "*") {
    throw new S3Error("NotImplemented", { message: 'If-None-Match on writes supports only "*"' });
  }
  return {
    ifNoneMatch: ifNoneMatch !== null ? true : undefined,
    ifMatch: etagCondition(ifMatch ?? undefined),
  };
}

/** PutObject. */
export async function PutObject(ctx: Ctx<"PutObject">): Promise<OpResult> {
  const { bucket, key } = ctx.ep;
  checkKey(key);
  const meta = metadataFromHeaders(ctx.req.headers);
  const conditions = writeConditions(ctx.req.headers);
  const lock = lockFromHeaders(ctx.req.headers, ctx.now);
  // Fail fast on a missing bucket before reading a large body; a small one is cheaper to read and drop.
  const admitAtCommit = admittedAtCommit(ctx);
  if (!admitAtCommit) await ctx.meta.call({ type: "headBucket", bucket });
  const body = await ingestBody(ctx, { limit: bodyLimit(ctx), inline: true });
  const version: NewVersion = {
    size: body.size,
    etag: body.md5Hex,
    lastModified: ctx.now,
    ...meta,
    checksum: body.checksum ? { ...body.checksum, type: "FULL_OBJECT" } : undefined,
    manifest: body.manifest,
    inline: body.inline,
  };
  await ctx.stillAuthorized?.();
  const put = await ctx.meta.call({
    type: "putVersion",
    bucket,
    key,
    version,
    lock,
    integrityChecked: integrityChecked(ctx.req.headers),
    ...conditions,
    appendOnly: !mayRemoveData(ctx.principal, bucket),
    storedBytes: body.storedBytes,
    writeIds: ctx.writes,
    admit: admitAtCommit ? writeCaller(ctx) : undefined,
  });
  const headers: Record<string, string> = {
    etag: `"${body.md5Hex}"`,
    ...versionIdHeader(put.versionId),
    ...quotaWarningHeader(put),
  };
  if (body.checksum) {
    headers[`x-amz-checksum-${body.checksum.algorithm.toLowerCase()}`] = body.checksum.value;
  }
  // A body kept in the index is stored whole, neither deduplicated nor compressed; it still counts
  // as a write for the signals (the unusual-hour profile learns from every write).
  const sealedBytesIn = body.inline ? body.size : body.sealedBytes;
  return { status: 200, headers, bytesIn: body.size, sealedBytesIn };
}

/**
 * Parses `x-amz-copy-source` (`bucket/key[?versionId=…]`, URL-encoded, optional leading slash).
 *
 * @returns Source bucket, key and version.
 */
export function parseCopySource(
  value: string,
): { bucket: string; key: string; versionId?: string } {
  let v = value.startsWith("/") ? value.slice(1) : value;
  let versionId: string | undefined;
  const q = v.indexOf("?");
  if (q >= 0) {
    const params = new URLSearchParams(v.slice(q + 1));
    versionId = versionIdParam(params.get("versionId"));
    v = v.slice(0, q);
  }
  const slash = v.indexOf("/");
  if (slash <= 0 || slash === v.length - 1) {
    throw new S3Error("InvalidArgument", {
      message: "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
    });
  }
  try {
    return {
      bucket: decodeURIComponent(v.slice(0, slash)),
      key: decodeURIComponent(v.slice(slash + 1)),
      versionId,
    };
  } catch {
    throw new S3Error("InvalidArgument", { message: "Invalid copy source encoding" });
  }
}

/** Reads the copy source, checking the `x-amz-copy-source-if-*` conditions. */
export async function readCopySource(
  ctx: OpContext,
): Promise<{ source: VersionRecord; from: ReturnType<typeof parseCopySource> }> {
  const from = parseCopySource(ctx.req.headers.get("x-amz-copy-source")!);
  const source = await ctx.meta.call({ type: "getVersion", ...from });
  if (source.deleteMarker) {
    throw new S3Error("InvalidRequest", {
      message:
        "The source of a copy request may not specifically refer to a delete marker by version id.",
    });
  }
  const outcome = evaluateConditions(conditionsFrom(ctx.req.headers, "x-amz-copy-source-"), source);
  if (outcome !== "ok") throw new S3Error("PreconditionFailed");
  return { source, from };
}

/** CopyObject: shares the source's chunks (no bytes are copied). */
export async function CopyObject(ctx: Ctx<"CopyObject">): Promise<OpResult> {
  const { bucket, key } = ctx.ep;
  checkKey(key);
  const { source, from } = await readCopySource(ctx);
  const directive = (ctx.req.headers.get("x-amz-metadata-directive") ?? "COPY").toUpperCase();
  if (directive !== "COPY" && directive !== "REPLACE") {
    throw new S3Error("InvalidArgument", { message: "Unknown metadata directive." });
  }
  // The copy gets a FULL_OBJECT checksum of the algorithm asked for, made from its bytes, unless
  // the source has just that.
  const algorithm = checksumAlgorithmHeader(ctx.req.headers);
  const rechecksum = algorithm !== undefined &&
    !(source.checksum?.algorithm === algorithm && source.checksum.type === "FULL_OBJECT");
  if (
    from.bucket === bucket && from.key === key && directive === "COPY" &&
    from.versionId === undefined && !rechecksum
  ) {
    throw new S3Error("InvalidRequest", {
      message:
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    });
  }
  const meta = directive === "REPLACE"
    ? metadataFromHeaders(ctx.req.headers)
    : { headers: source.headers, userMeta: source.userMeta };
  const { versionId: _sourceVersionId, lock: _sourceLock, ...copied } = source;
  const version: NewVersion = { ...copied, lastModified: ctx.now, ...meta };
  if (rechecksum) {
    const checksum = createChecksum(algorithm);
    const reader = (await readObject(ctx, source, 0, source.size)).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) checksum.update(r.value);
    version.checksum = { algorithm, value: checksum.digestBase64(), type: "FULL_OBJECT" };
  }
  await ctx.stillAuthorized?.();
  const copy = await ctx.meta.call({
    type: "putVersion",
    write: "copy",
    bucket,
    key,
    version,
    ...writeConditions(ctx.req.headers),
    // The copy's lock comes from its own headers or the bucket default, never from the source.
    lock: lockFromHeaders(ctx.req.headers, ctx.now),
    integrityChecked: true,
    copiedFrom: { bucket: from.bucket, key: from.key, versionId: source.versionId },
    appendOnly: !mayRemoveData(ctx.principal, bucket),
  });
  const headers: Record<string, string> = {
    ...versionIdHeader(copy.versionId),
    ...quotaWarningHeader(copy),
  };
  if (source.versionId !== "null") headers["x-amz-copy-source-version-id"] = source.versionId;
  const checksum = { ...checksumPair(version.checksum), ChecksumType: version.checksum?.type };
  return xmlResult(
    renderXml("CopyObjectResult", {
      LastModified: isoDate(ctx.now),
      ETag: `"${source.etag}"`,
      ...checksum,
    }),
    headers,
  );
}
