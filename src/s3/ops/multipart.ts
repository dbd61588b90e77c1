/**
 * Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
 * CompleteMultipartUpload, AbortMultipartUpload, ListParts.
 *
 * @module
 */

import { mayRemoveData } from "../../auth/mod.ts";
import type { MetaRequest } from "../../channel/mod.ts";
import type { Endpoint } from "../endpoint.ts";
import { S3Error } from "../errors.ts";
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  checksumHeaderName,
  createChecksum,
  isValidChecksumValue,
} from "../sigv4/mod.ts";
import { type ChecksumType, checksumTypeAllowed, defaultChecksumType } from "../../checksum.ts";
import { child, childrenNamed, parseXml, renderXml } from "../xml.ts";
import { ingestBody, readObject, readXmlBody, storeStream } from "./body.ts";
import { createHash } from "node:crypto";
import { OWNER } from "./bucket.ts";
import { lockFromHeaders } from "./lock.ts";
import type { OpContext, OpResult } from "./context.ts";
import { bodyLimit, quotaWarningHeader } from "./quota.ts";
import { xmlResult } from "./context.ts";
import {
  checksumAlgorithmHeader,
  checksumPair,
  isoDate,
  metadataFromHeaders,
  versionIdHeader,
} from "./headers.ts";
import { maxParam } from "./list.ts";
import { checkKey, readCopySource, writeConditions } from "./object_put.ts";

type Ctx<O extends Endpoint["op"]> = OpContext<Extract<Endpoint, { op: O }>>;

/** Smallest part S3 accepts, except the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** Largest part S3 accepts. */
export const MAX_PART_BYTES = 5 * 1024 ** 3;

/** `x-amz-checksum-type`, if sent. */
function checksumTypeHeader(headers: Headers): ChecksumType | undefined {
  const raw = headers.get("x-amz-checksum-type");
  if (raw === null) return undefined;
  const type = raw.trim().toUpperCase();
  if (type !== "FULL_OBJECT" && type !== "COMPOSITE") {
    throw new S3Error("InvalidRequest", {
      message: "Value for x-amz-checksum-type header is invalid.",
    });
  }
  return type;
}

/** Uploads made by this process, so two in one millisecond keep their order. */
let uploadsMade = 0;

/**
 * A new upload id (64 hex digits): the time and a counter first, so one key's
 * uploads list in the order they were started, as S3 lists them (ListMultipartUploads
 * orders by key, then id), then 176 random bits.
 */
function newUploadId(now: number): string {
  const order = Math.floor(now).toString(16).padStart(12, "0") +
    (uploadsMade++ % 2 ** 32).toString(16).padStart(8, "0");
  const random = Buffer.from(crypto.getRandomValues(new Uint8Array(22))).toString("hex");
  return order + random;
}

/** CreateMultipartUpload. */
export async function CreateMultipartUpload(ctx: Ctx<"CreateMultipartUpload">): Promise<OpResult> {
  const { bucket, key } = ctx.ep;
  checkKey(key);
  const algorithm = checksumAlgorithmHeader(ctx.req.headers);
  let type = checksumTypeHeader(ctx.req.headers);
  if (type && !algorithm) {
    throw new S3Error("InvalidRequest", {
      message:
        "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
    });
  }
  if (algorithm) {
    type ??= defaultChecksumType(algorithm);
    if (!checksumTypeAllowed(algorithm, type)) {
      throw new S3Error("InvalidRequest", {
        message:
          `The ${type} checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`,
      });
    }
  }
  const uploadId = newUploadId(ctx.now);
  await ctx.meta.call({
    type: "createUpload",
    upload: {
      uploadId,
      bucket,
      key,
      initiated: ctx.now,
      ...metadataFromHeaders(ctx.req.headers),
      checksumAlgorithm: algorithm,
      checksumType: type,
      lock: lockFromHeaders(ctx.req.headers, ctx.now),
    },
  });
  const headers: Record<string, string> = {};
  if (algorithm && type) {
    headers["x-amz-checksum-algorithm"] = algorithm;
    headers["x-amz-checksum-type"] = type;
  }
  return xmlResult(
    renderXml("InitiateMultipartUploadResult", { Bucket: bucket, Key: key, UploadId: uploadId }),
    headers,
  );
}

/** UploadPart: streams the part into the store, then records it (replacing an earlier upload of that number). */
export async function UploadPart(ctx: Ctx<"UploadPart">): Promise<OpResult> {
  const { bucket, key, uploadId, partNumber } = ctx.ep;
  const upload = await ctx.meta.call({ type: "getUpload", bucket, key, uploadId });
  const body = await ingestBody(ctx, {
    maxBytes: MAX_PART_BYTES,
    checksumAlgorithm: upload.checksumAlgorithm as ChecksumAlgorithm | undefined,
    limit: bodyLimit(ctx),
  });
  await ctx.stillAuthorized?.();
  const put = await ctx.meta.call({
    type: "putPart",
    bucket,
    key,
    uploadId,
    part: {
      partNumber,
      size: body.size,
      etag: body.md5Hex,
      lastModified: ctx.now,
      checksum: body.checksum,
      manifest: body.manifest,
    },
    storedBytes: body.storedBytes,
    writeIds: ctx.writes,
  });
  const headers: Record<string, string> = { etag: `"${body.md5Hex}"`, ...quotaWarningHeader(put) };
  if (body.checksum) {
    headers[`x-amz-checksum-${body.checksum.algorithm.toLowerCase()}`] = body.checksum.value;
  }
  return { status: 200, headers, bytesIn: body.size, sealedBytesIn: body.sealedBytes };
}

/** Parses `x-amz-copy-source-range` (`bytes=first-last`) against the source's size: `[start, end)`. */
function copyRange(header: string, size: number): [number, number] {
  const m = /^bytes=(\d+)-(\d+)$/.exec(header);
  if (!m) {
    throw new S3Error("InvalidArgument", {
      message: "The x-amz-copy-source-range value must be of the form bytes=first-last",
    });
  }
  const range: [number, number] = [Number(m[1]), Number(m[2]) + 1];
  if (range[0] >= range[1] || range[1] > size) {
    throw new S3Error("InvalidRange", { extra: { ActualObjectSize: String(size) } });
  }
  if (range[1] - range[0] > MAX_PART_BYTES) {
    throw new S3Error("InvalidArgument", {
      message: `The x-amz-copy-source-range is larger than a part may be (${MAX_PART_BYTES} bytes)`,
    });
  }
  return range;
}

/** UploadPartCopy: a whole-object copy shares chunks; a range is re-chunked from the source. */
export async function UploadPartCopy(ctx: Ctx<"UploadPartCopy">): Promise<OpResult> {
  const { bucket, key, uploadId, partNumber } = ctx.ep;
  const upload = await ctx.meta.call({ type: "getUpload", bucket, key, uploadId });
  const algorithm = upload.checksumAlgorithm as ChecksumAlgorithm | undefined;
  const { source, from } = await readCopySource(ctx);
  const rangeHeader = ctx.req.headers.get("x-amz-copy-source-range");
  if (rangeHeader === null && source.size > MAX_PART_BYTES) {
    throw new S3Error("InvalidRequest", {
      message:
        `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_PART_BYTES}`,
    });
  }
  let part: {
    size: number;
    etag: string;
    manifest: Uint8Array;
    checksum?: { algorithm: ChecksumAlgorithm; value: string };
  };
  let storedBytes = 0;
  // The part gets the upload's checksum, as an uploaded part would.
  const checksum = algorithm ? createChecksum(algorithm) : undefined;
  // A whole version's chunks are shared; a range, or a tiny version kept in the index, is stored anew.
  const shared = rangeHeader === null && !source.inline;
  if (shared) {
    part = { size: source.size, etag: source.etag, manifest: source.manifest };
    const sourceChecksum = source.checksum?.type === "FULL_OBJECT" &&
        source.checksum.algorithm === algorithm
      ? source.checksum.value
      : undefined;
    // A multipart source's ETag is not an MD5 of its bytes, and the part's must be.
    const md5 = source.etag.includes("-") ? createHash("md5") : undefined;
    if (md5 || (checksum && !sourceChecksum)) {
      const reader = (await readObject(ctx, source, 0, source.size)).getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        md5?.update(r.value);
        checksum?.update(r.value);
      }
      if (md5) part.etag = md5.digest("hex");
    }
    if (algorithm) {
      part.checksum = { algorithm, value: sourceChecksum ?? checksum!.digestBase64() };
    }
  } else {
    const range = rangeHeader === null ? [0, source.size] : copyRange(rangeHeader, source.size);
    const md5 = createHash("md5");
    const stored = await storeStream(
      ctx,
      await readObject(ctx, source, range[0], range[1]),
      (b) => {
        md5.update(b);
        checksum?.update(b);
      },
      range[1] - range[0],
    );
    part = { size: range[1] - range[0], etag: md5.digest("hex"), manifest: stored.manifest };
    if (algorithm) part.checksum = { algorithm, value: checksum!.digestBase64() };
    storedBytes = stored.storedBytes;
  }
  await ctx.stillAuthorized?.();
  const put = await ctx.meta.call({
    type: "putPart",
    bucket,
    key,
    uploadId,
    part: { partNumber, lastModified: ctx.now, ...part },
    storedBytes,
    writeIds: ctx.writes,
    copiedFrom: shared
      ? { bucket: from.bucket, key: from.key, versionId: source.versionId }
      : undefined,
  });
  return xmlResult(
    renderXml("CopyPartResult", {
      LastModified: isoDate(ctx.now),
      ETag: `"${part.etag}"`,
      ...checksumPair(part.checksum),
    }),
    quotaWarningHeader(put),
  );
}

/**
 * The object's checksum a CompleteMultipartUpload claims: `x-amz-checksum-<alg>`
 * (a FULL_OBJECT value, or a COMPOSITE one ending in `-N`) and `x-amz-checksum-type`.
 */
function objectChecksumClaim(headers: Headers): CompleteClaim {
  const type = checksumTypeHeader(headers);
  const found = CHECKSUM_ALGORITHMS.flatMap((algorithm) => {
    const value = headers.get(checksumHeaderName(algorithm))?.trim();
    return value === undefined ? [] : [{ algorithm, value }];
  });
  if (found.length > 1) {
    throw new S3Error("InvalidRequest", {
      message:
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
    });
  }
  const claim = found[0];
  if (!claim) return undefined;
  const m = /^(.*?)(-\d+)?$/.exec(claim.value)!;
  if (!isValidChecksumValue(claim.algorithm, m[1])) {
    throw new S3Error("InvalidRequest", {
      message: `Value for ${checksumHeaderName(claim.algorithm)} header is invalid.`,
    });
  }
  return { ...claim, type };
}

type CompleteClaim = Extract<MetaRequest, { type: "completeUpload" }>["checksum"];

/** CompleteMultipartUpload. */
export async function CompleteMultipartUpload(
  ctx: Ctx<"CompleteMultipartUpload">,
): Promise<OpResult> {
  const { bucket, key, uploadId } = ctx.ep;
  const claim = objectChecksumClaim(ctx.req.headers);
  const root = parseXml(
    await readXmlBody(ctx, 4 * 1024 * 1024, { objectChecksumHeaders: true }),
  );
  if (root.name !== "CompleteMultipartUpload") throw new S3Error("MalformedXML");
  const parts = childrenNamed(root, "Part").map((p) => {
    const n = child(p, "PartNumber")?.text.trim() ?? "";
    const etag = child(p, "ETag")?.text.trim();
    if (!/^\d+$/.test(n) || etag === undefined) throw new S3Error("MalformedXML");
    const sums = CHECKSUM_ALGORITHMS.flatMap((algorithm) => {
      const value = child(p, `Checksum${algorithm}`)?.text.trim();
      return value === undefined ? [] : [{ algorithm, value }];
    });
    if (sums.length > 1) throw new S3Error("MalformedXML");
    return { partNumber: Number(n), etag, checksum: sums[0] };
  });
  if (parts.length === 0) {
    throw new S3Error("MalformedXML", {
      message:
        "The XML you provided was not well-formed or did not validate against our published schema",
    });
  }
  await ctx.stillAuthorized?.();
  const v = await ctx.meta.call({
    type: "completeUpload",
    bucket,
    key,
    uploadId,
    parts,
    checksum: claim,
    now: ctx.now,
    minPartBytes: MIN_PART_BYTES,
    ...writeConditions(ctx.req.headers),
    appendOnly: !mayRemoveData(ctx.principal, bucket),
  });
  const headers = { ...versionIdHeader(v.versionId), ...quotaWarningHeader(v) };
  return xmlResult(
    renderXml("CompleteMultipartUploadResult", {
      Location: `/${bucket}/${key}`,
      Bucket: bucket,
      Key: key,
      ETag: `"${v.etag}"`,
      ...checksumPair(v.checksum),
      ChecksumType: v.checksum?.type,
    }),
    headers,
  );
}

/** AbortMultipartUpload. */
export async function AbortMultipartUpload(ctx: Ctx<"AbortMultipartUpload">): Promise<OpResult> {
  const { bucket, key, uploadId } = ctx.ep;
  await ctx.meta.call({ type: "abortUpload", bucket, key, uploadId });
  return { status: 204 };
}

/** ListParts. */
export async function ListParts(ctx: Ctx<"ListParts">): Promise<OpResult> {
  const { bucket, key, uploadId } = ctx.ep;
  const markerRaw = ctx.query.get("part-number-marker") ?? "0";
  if (!/^\d+$/.test(markerRaw)) {
    throw new S3Error("InvalidArgument", { message: "Invalid part-number-marker" });
  }
  const maxParts = maxParam(ctx.query, "max-parts");
  const r = await ctx.meta.call({
    type: "listParts",
    bucket,
    key,
    uploadId,
    marker: Number(markerRaw),
    maxParts,
  });
  return xmlResult(renderXml("ListPartsResult", {
    Bucket: bucket,
    Key: key,
    UploadId: uploadId,
    Initiator: OWNER,
    Owner: OWNER,
    StorageClass: "STANDARD",
    PartNumberMarker: Number(markerRaw),
    NextPartNumberMarker: r.nextMarker,
    MaxParts: maxParts,
    IsTruncated: r.isTruncated,
    ChecksumAlgorithm: r.upload.checksumAlgorithm,
    ChecksumType: r.upload.checksumAlgorithm
      ? r.upload.checksumType ??
        defaultChecksumType(r.upload.checksumAlgorithm as ChecksumAlgorithm)
      : undefined,
    Part: r.parts.map((p) => ({
      PartNumber: p.partNumber,
      LastModified: isoDate(p.lastModified),
      ETag: `"${p.etag}"`,
      Size: p.size,
      ...checksumPair(p.checksum),
    })),
  }));
}
