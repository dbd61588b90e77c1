/**
 * Reads a bucket policy from the JSON an operator sent, refusing anything
 * unknown or inconsistent with one clear sentence. Pure.
 *
 * @module
 */

import type { BucketPolicy, FreshnessRule, QuotaPolicy, UploadWindow } from "../channel/mod.ts";
import { parseCron } from "./cron.ts";

/** Most upload windows or freshness rules per bucket (each write checks every window). */
export const POLICY_LIST_MAX = 16;
/** The longest retention S3 takes, 100 years in days. */
export const MAX_RETENTION_DAYS = 36_500;
/** Longest upload window, minutes (31 days). */
export const WINDOW_MAX_MINUTES = 31 * 24 * 60;

type Json = Record<string, unknown>;

function object(v: unknown, what: string, allowed: string[]): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new Error(`${what} must be a JSON object`);
  }
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) {
      throw new Error(`${what} has an unknown field "${k}" (allowed: ${allowed.join(", ")})`);
    }
  }
  return v as Json;
}

function count(v: unknown, what: string, opts: { min?: number; integer?: boolean } = {}): number {
  const min = opts.min ?? 0;
  if (
    typeof v !== "number" || !Number.isFinite(v) || v < min ||
    (opts.integer !== false && !Number.isSafeInteger(v))
  ) {
    throw new Error(
      `${what} must be ${opts.integer === false ? "a number" : "a whole number"} ≥ ${min}, got ${
        JSON.stringify(v)
      }`,
    );
  }
  return v;
}

function list(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${what} must be a JSON array`);
  if (v.length > POLICY_LIST_MAX) {
    throw new Error(`${what} may hold at most ${POLICY_LIST_MAX} entries`);
  }
  return v;
}

function quotaOf(v: unknown): QuotaPolicy {
  const o = object(v, '"quota"', ["hardBytes", "softBytes", "maxObjects", "maxObjectBytes"]);
  const q: QuotaPolicy = {};
  for (const k of ["hardBytes", "softBytes", "maxObjects", "maxObjectBytes"] as const) {
    if (o[k] !== undefined) q[k] = count(o[k], `"quota.${k}"`, { min: 1 });
  }
  if (q.hardBytes !== undefined && q.softBytes !== undefined && q.softBytes > q.hardBytes) {
    throw new Error(
      `"quota.softBytes" (${q.softBytes}) must not exceed "quota.hardBytes" (${q.hardBytes})`,
    );
  }
  return q;
}

/**
 * Checks a list of upload windows (a bucket's, or an access key's).
 *
 * @param value `[{"cron": "0 22 * * *", "durationMinutes": 360}, …]`.
 * @returns The windows.
 * @throws {Error} Naming the first wrong field.
 */
export function parseUploadWindows(value: unknown): UploadWindow[] {
  return list(value, '"uploadWindows"').map(windowOf);
}

function windowOf(v: unknown, i: number): UploadWindow {
  const what = `"uploadWindows[${i}]"`;
  const o = object(v, what, ["cron", "durationMinutes"]);
  if (typeof o.cron !== "string") throw new Error(`${what}.cron must be a cron expression string`);
  parseCron(o.cron);
  const durationMinutes = count(o.durationMinutes, `${what}.durationMinutes`, { min: 1 });
  if (durationMinutes > WINDOW_MAX_MINUTES) {
    throw new Error(`${what}.durationMinutes must be at most ${WINDOW_MAX_MINUTES} (31 days)`);
  }
  return { cron: o.cron, durationMinutes };
}

function ruleOf(v: unknown, i: number): FreshnessRule {
  const what = `"freshness[${i}]"`;
  const o = object(v, what, ["prefix", "everyHours", "minBytes"]);
  if (o.prefix !== undefined && typeof o.prefix !== "string") {
    throw new Error(`${what}.prefix must be a string`);
  }
  const everyHours = count(o.everyHours, `${what}.everyHours`, { integer: false });
  if (everyHours <= 0) throw new Error(`${what}.everyHours must be above 0`);
  return {
    prefix: (o.prefix as string | undefined) ?? "",
    everyHours,
    minBytes: o.minBytes === undefined ? 0 : count(o.minBytes, `${what}.minBytes`),
  };
}

/**
 * Reads and checks a bucket policy.
 *
 * @param body The parsed JSON body, e.g. `{"quota": {"hardBytes": 1099511627776}}`.
 * @returns The policy with defaults filled in; `{}` clears every setting.
 * @throws {Error} Naming the first field that is wrong.
 *
 * @example
 * ```ts
 * import { parsePolicy } from "./policy.ts";
 * const p = parsePolicy({ uploadWindows: [{ cron: "0 22 * * *", durationMinutes: 360 }] });
 * if (p.uploadWindows?.length !== 1) throw new Error("window lost");
 * ```
 */
export function parsePolicy(body: unknown): BucketPolicy {
  const o = object(body, "The policy", [
    "quota",
    "uploadWindows",
    "minVersionIntervalSeconds",
    "freshness",
    "maxRetentionDays",
  ]);
  const p: BucketPolicy = {};
  if (o.quota !== undefined) p.quota = quotaOf(o.quota);
  if (o.uploadWindows !== undefined) p.uploadWindows = parseUploadWindows(o.uploadWindows);
  if (o.minVersionIntervalSeconds !== undefined) {
    p.minVersionIntervalSeconds = count(
      o.minVersionIntervalSeconds,
      '"minVersionIntervalSeconds"',
      {
        min: 1,
      },
    );
  }
  if (o.freshness !== undefined) p.freshness = list(o.freshness, '"freshness"').map(ruleOf);
  if (o.maxRetentionDays !== undefined) {
    p.maxRetentionDays = count(o.maxRetentionDays, '"maxRetentionDays"', { min: 1 });
    if (p.maxRetentionDays > MAX_RETENTION_DAYS) {
      throw new Error(`"maxRetentionDays" must be at most ${MAX_RETENTION_DAYS} (S3's 100 years)`);
    }
  }
  return p;
}
