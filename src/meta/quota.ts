/**
 * The decisions of a bucket policy, pure: whether a write may start (upload
 * windows, minimum version interval, a full bucket), how many bytes its body
 * may carry before it is cut off, and whether what it committed stays within
 * the quota. Time is passed in (the trusted clock), never read.
 *
 * @module
 */

import type { BucketUsage, QuotaPolicy, UploadWindow } from "../channel/mod.ts";
import { lastMatch, nextMatch, parseCron } from "./cron.ts";

/** Why a write is refused; the index turns it into a `MetaError` of the same kind. */
export interface Refusal {
  kind: "quotaExceeded" | "objectTooLarge" | "outsideWindow" | "tooFrequent";
  message: string;
}

/** How far a body may go before it is cut off, and with which refusal. */
export interface BodyLimit {
  bytes: number;
  refusal: Refusal;
}

const MINUTE_MS = 60_000;
/** How far ahead the next window opening is looked for, for the refusal message. */
const NEXT_WINDOW_HORIZON_MS = 400 * 24 * 60 * MINUTE_MS;

/** Bytes in a human unit beside the exact count, e.g. `1073741824 bytes (1.0 GiB)`. */
export function formatBytes(n: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let unit = "";
  for (const u of units) {
    if (v < 1024) break;
    v /= 1024;
    unit = u;
  }
  return unit ? `${n} bytes (${v.toFixed(1)} ${unit})` : `${n} bytes`;
}

/** Logical bytes that count against the hard limit: versions and uploads in progress. */
export function chargedBytes(u: BucketUsage): number {
  return u.logicalBytes + u.uploadBytes;
}

function describeWindow(w: UploadWindow): string {
  return `"${w.cron}" for ${w.durationMinutes} min`;
}

/**
 * Whether `now` falls inside one of the upload windows of a bucket or a key.
 *
 * @param whose Named in the refusal: `to bucket "b"` or `by access key "k"`.
 * @param windows The windows; none means always open.
 * @param now Trusted time, ms since the epoch.
 * @returns A refusal naming the windows and the next opening, or undefined when open.
 *
 * @example
 * ```ts
 * import { windowRefusal } from "./quota.ts";
 * const nightly = [{ cron: "0 22 * * *", durationMinutes: 360 }];
 * if (windowRefusal('to bucket "b"', nightly, Date.parse("2026-11-23T23:00:00Z"))) throw new Error("open");
 * if (!windowRefusal('to bucket "b"', nightly, Date.parse("2026-11-23T12:00:00Z"))) throw new Error("closed");
 * ```
 */
export function windowRefusal(
  whose: string,
  windows: UploadWindow[] | undefined,
  now: number,
): Refusal | undefined {
  if (!windows || windows.length === 0) return undefined;
  let next: number | undefined;
  for (const w of windows) {
    const spec = parseCron(w.cron);
    if (lastMatch(spec, now, w.durationMinutes * MINUTE_MS) !== undefined) return undefined;
    const n = nextMatch(spec, now, NEXT_WINDOW_HORIZON_MS);
    if (n !== undefined && (next === undefined || n < next)) next = n;
  }
  const nextText = next === undefined ? "" : `; the next opens at ${new Date(next).toISOString()}`;
  return {
    kind: "outsideWindow",
    message: `Writes ${whose} are accepted only inside its upload window${
      windows.length > 1 ? "s" : ""
    } ${windows.map(describeWindow).join(", ")} (UTC)${nextText}`,
  };
}

/**
 * Whether a new version of a key comes too soon after the last one.
 *
 * @param last Trusted time of the key's last new version, ms; undefined when none is recorded.
 * @returns A refusal naming when the key may change again, or undefined.
 */
export function intervalRefusal(
  target: { bucket: string; key: string },
  intervalSeconds: number | undefined,
  last: number | undefined,
  now: number,
): Refusal | undefined {
  if (intervalSeconds === undefined || last === undefined) return undefined;
  const allowedAt = last + intervalSeconds * 1000;
  if (now >= allowedAt) return undefined;
  return {
    kind: "tooFrequent",
    message: `Object "${target.key}" in bucket "${target.bucket}" got a new version at ${
      new Date(last).toISOString()
    }; the bucket allows one every ${intervalSeconds} s, so the next is accepted from ${
      new Date(allowedAt).toISOString()
    }`,
  };
}

function fullRefusal(bucket: string, quota: QuotaPolicy, charged: number): Refusal {
  return {
    kind: "quotaExceeded",
    message: `Bucket "${bucket}" would exceed its hard quota of ${formatBytes(quota.hardBytes!)}: ${
      formatBytes(charged)
    } are in use`,
  };
}

function countRefusal(bucket: string, quota: QuotaPolicy): Refusal {
  return {
    kind: "quotaExceeded",
    message: `Bucket "${bucket}" may hold at most ${quota.maxObjects} object versions`,
  };
}

function tooLarge(bucket: string, quota: QuotaPolicy, size: number | undefined): Refusal {
  return {
    kind: "objectTooLarge",
    message: `Objects in bucket "${bucket}" may be at most ${formatBytes(quota.maxObjectBytes!)}${
      size === undefined ? "" : `; this one has ${formatBytes(size)}`
    }`,
  };
}

/**
 * What a body may carry before the upload is cut off, decided before it is read.
 *
 * @param quota The bucket's quota.
 * @param usage Its usage now.
 * @param opts `freedBytes`: what the write replaces (an unversioned key's current object);
 *   `objectBytesSoFar`: bytes of the object already stored (other parts of a multipart upload);
 *   `addsObject`: whether the write will add an object version (not a part, not a replacement).
 * @returns A refusal when the bucket is already full, or the limit (undefined: no limit).
 */
export function bodyLimit(
  bucket: string,
  quota: QuotaPolicy | undefined,
  usage: BucketUsage,
  opts: { freedBytes: number; objectBytesSoFar: number; addsObject: boolean },
): { refusal: Refusal } | { limit?: BodyLimit } {
  if (!quota) return {};
  if (opts.addsObject && quota.maxObjects !== undefined && usage.objects >= quota.maxObjects) {
    return { refusal: countRefusal(bucket, quota) };
  }
  let limit: BodyLimit | undefined;
  if (quota.hardBytes !== undefined) {
    const room = quota.hardBytes - chargedBytes(usage) + opts.freedBytes;
    if (room <= 0) return { refusal: fullRefusal(bucket, quota, chargedBytes(usage)) };
    limit = { bytes: room, refusal: fullRefusal(bucket, quota, chargedBytes(usage)) };
  }
  if (quota.maxObjectBytes !== undefined) {
    const room = quota.maxObjectBytes - opts.objectBytesSoFar;
    if (room < 0) return { refusal: tooLarge(bucket, quota, opts.objectBytesSoFar) };
    if (limit === undefined || room < limit.bytes) {
      limit = { bytes: room, refusal: tooLarge(bucket, quota, undefined) };
    }
  }
  return limit ? { limit } : {};
}

/**
 * Judges a committed write by the usage it leaves. Limits refuse only what a
 * write adds: a write that shrinks usage passes even over a lowered limit.
 *
 * @param before Usage before the write.
 * @param after Usage after it (same transaction).
 * @param objectBytes Size of the object written (or of the upload so far), for `maxObjectBytes`.
 * @returns A refusal (the write must roll back), or a soft-limit warning, or neither.
 *
 * @example
 * ```ts
 * import { commitVerdict } from "./quota.ts";
 * const u = (logicalBytes: number) => ({ objects: 1, logicalBytes, storedBytes: 0, uploadBytes: 0 });
 * const v = commitVerdict("b", { hardBytes: 100, softBytes: 80 }, u(10), u(90), 80);
 * if (!v.warning || v.refusal) throw new Error("90 of 100 warns");
 * ```
 */
export function commitVerdict(
  bucket: string,
  quota: QuotaPolicy | undefined,
  before: BucketUsage,
  after: BucketUsage,
  objectBytes: number,
): { refusal?: Refusal; warning?: string } {
  if (!quota) return {};
  if (quota.maxObjectBytes !== undefined && objectBytes > quota.maxObjectBytes) {
    return { refusal: tooLarge(bucket, quota, objectBytes) };
  }
  const charged = chargedBytes(after);
  if (
    quota.hardBytes !== undefined && charged > quota.hardBytes && charged > chargedBytes(before)
  ) {
    return { refusal: fullRefusal(bucket, quota, chargedBytes(before)) };
  }
  if (
    quota.maxObjects !== undefined && after.objects > quota.maxObjects &&
    after.objects > before.objects
  ) {
    return { refusal: countRefusal(bucket, quota) };
  }
  if (quota.softBytes !== undefined && charged > quota.softBytes) {
    return {
      warning: `Bucket "${bucket}" uses ${formatBytes(charged)}, above its soft quota of ${
        formatBytes(quota.softBytes)
      }${quota.hardBytes === undefined ? "" : ` (hard quota ${formatBytes(quota.hardBytes)})`}`,
    };
  }
  return {};
}
