/**
 * GetObject and HeadObject: conditions, ranges, part numbers and response
 * header overrides.
 *
 * @module
 */

import type { VersionRecord } from "../../channel/mod.ts";
import type { Endpoint } from "../endpoint.ts";
import { S3Error } from "../errors.ts";
import { readObject } from "./body.ts";
import type { OpContext, OpResult } from "./context.ts";
import { lockHeaders } from "./lock.ts";
import {
  conditionsFrom,
  evaluateConditions,
  httpDate,
  parseRange,
  versionHeaders,
  versionIdParam,
} from "./headers.ts";

type Ctx = OpContext<Extract<Endpoint, { op: "GetObject" | "HeadObject" }>>;

/** Query parameters that override response headers on GET. */
const RESPONSE_OVERRIDES = [
  "content-type",
  "content-language",
  "expires",
  "cache-control",
  "content-disposition",
  "content-encoding",
] as const;

/**
 * A `response-*` override as a header value: a control character (a line
 * break would end the header) is refused; characters past Latin-1 go out as
 * their UTF-8 bytes, as S3 sends them (a file name in Content-Disposition).
 */
function headerValue(param: string, value: string): string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
    throw new S3Error("InvalidArgument", {
      message: `The ${param} parameter holds a control character, which a header cannot carry`,
    });
  }
  if (!/[^\t\x20-\xff]/.test(value)) return value;
  return String.fromCharCode(...new TextEncoder().encode(value));
}

function partRange(v: VersionRecord, partNumber: number): [number, number] {
  const sizes = v.partSizes ?? [v.size];
  if (partNumber > sizes.length) {
    throw new S3Error("InvalidPartNumber");
  }
  const start = sizes.slice(0, partNumber - 1).reduce((a, b) => a + b, 0);
  return [start, start + sizes[partNumber - 1]];
}

async function serveObject(ctx: Ctx, withBody: boolean): Promise<OpResult> {
  const { bucket, key } = ctx.ep;
  const versionId = versionIdParam(ctx.query.get("versionId"));
  const v = await ctx.meta.call({ type: "getVersion", bucket, key, versionId });
  if (v.deleteMarker) {
    // Only reachable by version id: a delete marker has no data to return.
    throw new S3Error("MethodNotAllowed", {
      message: "The specified method is not allowed against this resource.",
      headers: {
        "x-amz-delete-marker": "true",
        "x-amz-version-id": v.versionId,
        "last-modified": httpDate(v.lastModified),
        allow: "DELETE",
      },
    });
  }
  const wholeObject = ctx.req.headers.get("range") === null && ctx.query.get("partNumber") === null;
  // A checksum describes the whole object; S3 sends none with a range or part, which clients would check.
  const headers = versionHeaders(
    v,
    wholeObject && ctx.req.headers.get("x-amz-checksum-mode")?.toUpperCase() === "ENABLED",
  );
  Object.assign(headers, lockHeaders(v));
  const outcome = evaluateConditions(conditionsFrom(ctx.req.headers), v);
  if (outcome === "notModified") {
    // RFC 9110 §15.4.5: with the fields a 200 would carry that describe caching.
    const kept = ["etag", "last-modified", "cache-control", "expires"].filter((n) => n in headers);
    return { status: 304, headers: Object.fromEntries(kept.map((n) => [n, headers[n]])) };
  }
  if (outcome === "failed") throw new S3Error("PreconditionFailed");
  // HEAD too: it answers with the headers the GET would.
  for (const name of RESPONSE_OVERRIDES) {
    const value = ctx.query.get(`response-${name}`);
    if (value !== null) headers[name] = headerValue(`response-${name}`, value);
  }
  const partParam = ctx.query.get("partNumber");
  let range: [number, number] | undefined;
  if (partParam !== null) {
    const n = Number(partParam);
    if (!/^\d+$/.test(partParam) || n < 1 || n > 10000) {
      throw new S3Error("InvalidArgument", {
        message: "Part number must be an integer between 1 and 10000, inclusive",
      });
    }
    if (ctx.req.headers.get("range") !== null) {
      throw new S3Error("InvalidRequest", {
        message: "Cannot specify both Range header and partNumber query parameter",
      });
    }
    range = partRange(v, n);
    // Only for a multipart object: part 1 of a single PUT is the whole object, 206 without it.
    if (v.partSizes) headers["x-amz-mp-parts-count"] = String(v.partSizes.length);
  } else {
    range = parseRange(ctx.req.headers.get("range"), v.size);
  }
  const [start, end] = range ?? [0, v.size];
  headers["content-length"] = String(end - start);
  // An empty object has no byte range to name: it is served whole.
  const partial = range !== undefined && v.size > 0;
  if (partial) headers["content-range"] = `bytes ${start}-${end - 1}/${v.size}`;
  const status = partial ? 206 : 200;
  if (!withBody || end === start) return { status, headers, body: null };
  return {
    status,
    headers,
    body: await readObject(ctx, v, start, end),
    bytesOut: end - start,
  };
}

/** GetObject. */
export function GetObject(ctx: Ctx): Promise<OpResult> {
  return serveObject(ctx, true);
}

/** HeadObject: as GetObject without the body; errors carry no body either. */
export function HeadObject(ctx: Ctx): Promise<OpResult> {
  return serveObject(ctx, false);
}
