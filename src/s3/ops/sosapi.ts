/**
 * Veeam's Smart Object Storage API (SOSAPI): two virtual objects in every
 * bucket, `system.xml` and `capacity.xml` under
 * `.system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c/`, answered for GET and HEAD
 * (with Range) as MinIO and SeaweedFS do. Capacity is the bucket's hard
 * quota: a bucket without one reports `CapacityInfo` false and has no
 * `capacity.xml`, since the vault would otherwise have to guess at disk space
 * shared by every bucket.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { Endpoint } from "../endpoint.ts";
import { S3Error } from "../errors.ts";
import type { OpContext, OpResult } from "./context.ts";
import { httpDate, parseRange } from "./headers.ts";

/** The key prefix of the SOSAPI objects (the UUID ends in `ba6c`). */
export const SOSAPI_PREFIX = ".system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c/";

/** Veeam block size recommended to clients, KiB: large blocks mean fewer objects to index. */
const KB_BLOCK_SIZE = 4096;

function systemXml(capacityInfo: boolean): string {
  // The quoted values are what the SOSAPI document shows and what Veeam accepts from MinIO and SeaweedFS.
  return `<?xml version="1.0" encoding="UTF-8"?>
<SystemInfo><ProtocolVersion>"1.0"</ProtocolVersion><ModelName>"Amber 1.0"</ModelName>` +
    `<ProtocolCapabilities><CapacityInfo>${capacityInfo}</CapacityInfo><UploadSessions>false</UploadSessions>` +
    `<IAMSTS>false</IAMSTS></ProtocolCapabilities>` +
    `<SystemRecommendations><KbBlockSize>${KB_BLOCK_SIZE}</KbBlockSize></SystemRecommendations></SystemInfo>`;
}

function capacityXml(capacity: number, used: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<CapacityInfo><Capacity>${capacity}</Capacity><Available>${
    Math.max(0, capacity - used)
  }</Available><Used>${used}</Used></CapacityInfo>`;
}

/**
 * Serves a SOSAPI object when a GetObject or HeadObject names one.
 *
 * @returns The response, or undefined for every other request.
 */
export async function serveSosapi(ctx: OpContext): Promise<OpResult | undefined> {
  const ep = ctx.ep;
  if (ep.op !== "GetObject" && ep.op !== "HeadObject") return undefined;
  const name = (ep as Extract<Endpoint, { op: "GetObject" }>).key;
  if (name !== `${SOSAPI_PREFIX}system.xml` && name !== `${SOSAPI_PREFIX}capacity.xml`) {
    return undefined;
  }
  const bucket = await ctx.meta.call({ type: "headBucket", bucket: ep.bucket });
  const { policy, usage } = await ctx.meta.call({ type: "getBucketPolicy", bucket: ep.bucket });
  const capacity = policy.quota?.hardBytes;
  let text: string;
  if (name.endsWith("system.xml")) text = systemXml(capacity !== undefined);
  else if (capacity === undefined) throw new S3Error("NoSuchKey", { extra: { Key: name } });
  else text = capacityXml(capacity, usage.logicalBytes + usage.uploadBytes);
  const bytes = new TextEncoder().encode(text);
  const headers: Record<string, string> = {
    "content-type": "application/xml",
    etag: `"${createHash("md5").update(bytes).digest("hex")}"`,
    "last-modified": httpDate(name.endsWith("system.xml") ? bucket.created : ctx.now),
    "accept-ranges": "bytes",
  };
  const range = parseRange(ctx.req.headers.get("range"), bytes.length);
  const [start, end] = range ?? [0, bytes.length];
  headers["content-length"] = String(end - start);
  if (range) headers["content-range"] = `bytes ${start}-${end - 1}/${bytes.length}`;
  return {
    status: range ? 206 : 200,
    headers,
    body: ep.op === "HeadObject" ? null : bytes.slice(start, end),
    bytesOut: ep.op === "HeadObject" ? 0 : end - start,
  };
}
