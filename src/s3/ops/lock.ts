/**
 * Object Lock on the wire: PutObjectLockConfiguration,
 * GetObjectLockConfiguration, Put/GetObjectRetention, Put/GetObjectLegalHold,
 * and the lock headers of writes and reads. Whether a change is allowed is
 * decided in the index by the retention engine, never here.
 *
 * @module
 */

import type { DefaultRetention, ObjectLock, VersionRecord } from "../../channel/mod.ts";
import type { Endpoint } from "../endpoint.ts";
import { S3Error, toS3Error } from "../errors.ts";
import { child, parseXml, renderXml } from "../xml.ts";
import { readXmlBody } from "./body.ts";
import type { OpContext, OpResult } from "./context.ts";
import { versionIdHeader, versionIdParam } from "./headers.ts";
import { xmlResult } from "./context.ts";

type Ctx<O extends Endpoint["op"]> = OpContext<Extract<Endpoint, { op: O }>>;
type Mode = "GOVERNANCE" | "COMPLIANCE";

const MODES = new Set(["GOVERNANCE", "COMPLIANCE"]);
const XML_BODY_MAX_BYTES = 64 * 1024;

/** The longest default retention, as on AWS. */
const MAX_RETENTION_DAYS = 36_500;
const MAX_RETENTION_YEARS = 100;

function parseDate(value: string): number {
  // ISO 8601 as S3 writes it; Date.parse alone would accept far too much.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(value.trim())) {
    return NaN;
  }
  return Date.parse(value.trim());
}

/**
 * Reads `x-amz-object-lock-mode`, `-retain-until-date` and `-legal-hold`.
 *
 * @returns The lock asked for, or undefined when none.
 * @throws {S3Error} InvalidArgument / InvalidRequest for malformed or half-given settings.
 */
export function lockFromHeaders(headers: Headers, now: number): ObjectLock | undefined {
  const mode = headers.get("x-amz-object-lock-mode");
  const until = headers.get("x-amz-object-lock-retain-until-date");
  const hold = headers.get("x-amz-object-lock-legal-hold");
  if (mode === null && until === null && hold === null) return undefined;
  if ((mode === null) !== (until === null)) {
    throw new S3Error("InvalidRequest", {
      message:
        "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
    });
  }
  const lock: ObjectLock = { legalHold: false };
  if (mode !== null) {
    if (!MODES.has(mode)) {
      throw new S3Error("InvalidArgument", { message: "Unknown wormMode directive." });
    }
    const t = parseDate(until!);
    if (Number.isNaN(t)) {
      throw new S3Error("InvalidArgument", {
        message: "The retain until date must be provided in ISO 8601 format",
      });
    }
    if (t <= now) {
      throw new S3Error("InvalidArgument", {
        message: "The retain until date must be in the future!",
      });
    }
    lock.mode = mode as Mode;
    lock.retainUntil = t;
  }
  if (hold !== null) {
    if (hold !== "ON" && hold !== "OFF") {
      throw new S3Error("InvalidArgument", {
        message: "Legal Hold must be either of 'ON' or 'OFF'",
      });
    }
    lock.legalHold = hold === "ON";
  }
  return lock;
}

/** Whether the write carried Content-MD5 or a flexible checksum (AWS requires one for locked writes). */
export function integrityChecked(headers: Headers): boolean {
  if (headers.has("content-md5") || headers.has("x-amz-sdk-checksum-algorithm")) return true;
  if ((headers.get("x-amz-trailer") ?? "").toLowerCase().includes("x-amz-checksum-")) return true;
  let checksum = false;
  // forEach, not keys(): Deno's Headers iterator sorts and copies the list.
  headers.forEach((_value, name) => {
    checksum ||= name.startsWith("x-amz-checksum-") && name !== "x-amz-checksum-type" &&
      name !== "x-amz-checksum-algorithm";
  });
  return checksum;
}

/** Most approval tokens one request may carry. */
const APPROVALS_MAX = 64;

/**
 * Four-eyes approval tokens sent in `X-Amber-Approvals` (comma-separated);
 * the index checks them.
 *
 * @param headers Request headers.
 * @returns The tokens, or undefined when the header is absent.
 */
export function approvalTokens(headers: Headers): string[] | undefined {
  const raw = headers.get("x-amber-approvals");
  if (raw === null) return undefined;
  const tokens = raw.split(",").map((t) => t.trim()).filter(Boolean);
  if (tokens.length > APPROVALS_MAX) {
    throw new S3Error("InvalidRequest", {
      message: `X-Amber-Approvals carries more than ${APPROVALS_MAX} approvals`,
    });
  }
  return tokens;
}

/** The request's four-eyes approval tokens. */
export function approvals(ctx: OpContext): string[] | undefined {
  return approvalTokens(ctx.req.headers);
}

/**
 * `x-amz-bypass-governance-retention: true`, from a caller that holds the
 * bypass right (root does; a managed key when granted `bypass-governance`).
 * Without the right the header is ignored and the retention engine refuses.
 */
export function bypassGovernance(ctx: OpContext): boolean {
  return ctx.mayBypassGovernance &&
    ctx.req.headers.get("x-amz-bypass-governance-retention")?.trim().toLowerCase() === "true";
}

/** The lock headers of a GET or HEAD. */
export function lockHeaders(v: VersionRecord): Record<string, string> {
  const h: Record<string, string> = {};
  if (!v.lock) return h;
  if (v.lock.mode && v.lock.retainUntil !== undefined) {
    h["x-amz-object-lock-mode"] = v.lock.mode;
    h["x-amz-object-lock-retain-until-date"] = new Date(v.lock.retainUntil).toISOString();
  }
  h["x-amz-object-lock-legal-hold"] = v.lock.legalHold ? "ON" : "OFF";
  return h;
}

/** PutObjectLockConfiguration: turns Object Lock on (never off) and sets the default retention. */
export async function PutObjectLockConfiguration(
  ctx: Ctx<"PutObjectLockConfiguration">,
): Promise<OpResult> {
  const root = parseXml(await readXmlBody(ctx, XML_BODY_MAX_BYTES));
  if (root.name !== "ObjectLockConfiguration") throw new S3Error("MalformedXML");
  if (child(root, "ObjectLockEnabled")?.text.trim() !== "Enabled") {
    throw new S3Error("MalformedXML");
  }
  let defaultRetention: DefaultRetention | undefined;
  const rule = child(root, "Rule");
  if (rule) {
    const d = child(rule, "DefaultRetention");
    const mode = d && child(d, "Mode")?.text.trim();
    const days = d && child(d, "Days")?.text.trim();
    const years = d && child(d, "Years")?.text.trim();
    if (!d || !mode || !MODES.has(mode) || (days === undefined) === (years === undefined)) {
      throw new S3Error("MalformedXML");
    }
    const n = Number(days ?? years);
    // AWS's bounds: a hundred years at most. A larger period would end past any date the index can
    // hold, and a lock it could not enforce must not be accepted.
    const max = days !== undefined ? MAX_RETENTION_DAYS : MAX_RETENTION_YEARS;
    if (!/^-?\d+$/.test(days ?? years ?? "") || n <= 0 || n > max) {
      throw new S3Error("InvalidRetentionPeriod");
    }
    defaultRetention = days !== undefined
      ? { mode: mode as Mode, days: n }
      : { mode: mode as Mode, years: n };
  }
  await ctx.meta.call({
    type: "putObjectLockConfiguration",
    bucket: ctx.ep.bucket,
    defaultRetention,
    approvals: approvals(ctx),
  });
  return { status: 200 };
}

/** GetObjectLockConfiguration. */
export async function GetObjectLockConfiguration(
  ctx: Ctx<"GetObjectLockConfiguration">,
): Promise<OpResult> {
  let config;
  try {
    config = await ctx.meta.call({ type: "getObjectLockConfiguration", bucket: ctx.ep.bucket });
  } catch (e) {
    const err = toS3Error(e, `/${ctx.ep.bucket}`);
    // Here a bucket without lock is the 404 S3 answers, not the write-side InvalidRequest.
    if (err.code === "InvalidRequest") {
      throw new S3Error("ObjectLockConfigurationNotFoundError", { resource: `/${ctx.ep.bucket}` });
    }
    throw err;
  }
  const d = config.defaultRetention;
  return xmlResult(renderXml("ObjectLockConfiguration", {
    ObjectLockEnabled: "Enabled",
    Rule: d ? { DefaultRetention: { Mode: d.mode, Days: d.days, Years: d.years } } : undefined,
  }));
}

/** PutObjectRetention: extend freely; shorten, remove or change mode only as the retention engine allows. */
export async function PutObjectRetention(ctx: Ctx<"PutObjectRetention">): Promise<OpResult> {
  const root = parseXml(await readXmlBody(ctx, XML_BODY_MAX_BYTES));
  if (root.name !== "Retention") throw new S3Error("MalformedXML");
  const mode = child(root, "Mode")?.text.trim();
  const untilText = child(root, "RetainUntilDate")?.text.trim();
  if ((mode === undefined) !== (untilText === undefined)) throw new S3Error("MalformedXML");
  if (mode !== undefined && !MODES.has(mode)) throw new S3Error("MalformedXML");
  const retainUntil = untilText === undefined ? undefined : parseDate(untilText);
  if (retainUntil !== undefined && Number.isNaN(retainUntil)) throw new S3Error("MalformedXML");
  if (retainUntil !== undefined && retainUntil <= ctx.now) {
    throw new S3Error("InvalidArgument", {
      message: "The retain until date must be in the future!",
    });
  }
  const r = await ctx.meta.call({
    type: "putObjectRetention",
    bucket: ctx.ep.bucket,
    key: ctx.ep.key,
    versionId: versionIdParam(ctx.query.get("versionId")),
    retention: { mode: mode as Mode | undefined, retainUntil },
    bypassGovernance: bypassGovernance(ctx),
    approvals: approvals(ctx),
  });
  return {
    status: 200,
    headers: versionIdHeader(r.versionId),
  };
}

async function lockedVersion(
  ctx: Ctx<"GetObjectRetention" | "GetObjectLegalHold">,
): Promise<VersionRecord> {
  await ctx.meta.call({ type: "getObjectLockConfiguration", bucket: ctx.ep.bucket });
  const v = await ctx.meta.call({
    type: "getVersion",
    bucket: ctx.ep.bucket,
    key: ctx.ep.key,
    versionId: versionIdParam(ctx.query.get("versionId")),
  });
  if (v.deleteMarker) throw new S3Error("MethodNotAllowed");
  return v;
}

/** GetObjectRetention. */
export async function GetObjectRetention(ctx: Ctx<"GetObjectRetention">): Promise<OpResult> {
  const v = await lockedVersion(ctx);
  if (!v.lock?.mode || v.lock.retainUntil === undefined) {
    throw new S3Error("NoSuchObjectLockConfiguration", {
      resource: `/${ctx.ep.bucket}/${ctx.ep.key}`,
    });
  }
  return xmlResult(renderXml("Retention", {
    Mode: v.lock.mode,
    RetainUntilDate: new Date(v.lock.retainUntil).toISOString(),
  }));
}

/** PutObjectLegalHold. */
export async function PutObjectLegalHold(ctx: Ctx<"PutObjectLegalHold">): Promise<OpResult> {
  const root = parseXml(await readXmlBody(ctx, XML_BODY_MAX_BYTES));
  const status = child(root, "Status")?.text.trim();
  if (root.name !== "LegalHold" || (status !== "ON" && status !== "OFF")) {
    throw new S3Error("MalformedXML");
  }
  const r = await ctx.meta.call({
    type: "putObjectLegalHold",
    bucket: ctx.ep.bucket,
    key: ctx.ep.key,
    versionId: versionIdParam(ctx.query.get("versionId")),
    on: status === "ON",
  });
  return {
    status: 200,
    headers: versionIdHeader(r.versionId),
  };
}

/** GetObjectLegalHold. */
export async function GetObjectLegalHold(ctx: Ctx<"GetObjectLegalHold">): Promise<OpResult> {
  const v = await lockedVersion(ctx);
  return xmlResult(renderXml("LegalHold", { Status: v.lock?.legalHold ? "ON" : "OFF" }));
}
