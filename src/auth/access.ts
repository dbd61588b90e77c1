/**
 * Who may do what: access levels per key and per bucket, the bypass-governance
 * right, source-address allow-lists, and the one pure check
 * {@linkcode authorize} from (credential, endpoint) to allow or deny with a
 * reason. No I/O, no clock.
 *
 * @module
 */

/** Access levels, weakest first. */
export const ACCESS_LEVELS = ["none", "read", "append", "write", "owner"] as const;

/**
 * An access level: `none`; `read` (get, head, list); `append` (read plus
 * creating objects, versions and multipart uploads, never deleting or
 * changing a lock or bucket setting); `write` (append plus deletes and
 * object retention changes, as the retention engine allows); `owner` (bucket
 * settings, lock configuration, creating and deleting buckets).
 */
export type AccessLevel = typeof ACCESS_LEVELS[number];

/** What a key may do: a default level, per-bucket overrides, the bypass right and where from. */
export interface Grants {
  /** Level on every bucket without an override. */
  level: AccessLevel;
  /** Per-bucket levels that replace the default (higher or lower). */
  buckets: Record<string, AccessLevel>;
  /** May delete or shorten GOVERNANCE-locked versions when asking with `x-amz-bypass-governance-retention`. */
  bypassGovernance: boolean;
  /** Source addresses or CIDR ranges the key may be used from; empty means anywhere. */
  allowFrom: string[];
  /** May write outside upload windows (its own and its buckets'), for emergencies. */
  uploadAnytime: boolean;
  /** When the key may write (cron start in UTC + duration); none means no limit of its own. */
  uploadWindows: { cron: string; durationMinutes: number }[];
}

/** An authenticated caller: its access key id and what it may do. */
export interface Principal extends Grants {
  accessKey: string;
}

/**
 * The root credential's grants: owner of everything, with the bypass right, from anywhere. Not
 * upload-anytime: upload windows hold a stolen root key too.
 */
export const ROOT_GRANTS: Readonly<Grants> = Object.freeze({
  level: "owner",
  buckets: {},
  bypassGovernance: true,
  allowFrom: [],
  uploadAnytime: false,
  uploadWindows: [],
});

/**
 * What each S3 operation needs on the bucket it addresses. `any` means any
 * authenticated key (ListBuckets, whose answer is filtered to the buckets the
 * key may read). CopyObject and UploadPartCopy also need `read` on the
 * source bucket.
 *
 * AbortMultipartUpload needs `write`: it throws away uploaded parts, and an
 * `append` key deletes nothing.
 */
export const OPERATION_ACCESS = {
  ListBuckets: "any",
  CreateBucket: "owner",
  HeadBucket: "read",
  DeleteBucket: "owner",
  GetBucketLocation: "read",
  GetBucketVersioning: "read",
  PutBucketVersioning: "owner",
  ListObjectVersions: "read",
  ListObjects: "read",
  ListObjectsV2: "read",
  ListMultipartUploads: "read",
  DeleteObjects: "write",
  PutObject: "append",
  CopyObject: "append",
  GetObject: "read",
  HeadObject: "read",
  DeleteObject: "write",
  CreateMultipartUpload: "append",
  UploadPart: "append",
  UploadPartCopy: "append",
  CompleteMultipartUpload: "append",
  AbortMultipartUpload: "write",
  ListParts: "read",
  GetBucketAcl: "read",
  GetObjectAcl: "read",
  GetObjectTagging: "read",
  PutObjectLockConfiguration: "owner",
  GetObjectLockConfiguration: "read",
  PutObjectRetention: "write",
  GetObjectRetention: "read",
  PutObjectLegalHold: "write",
  GetObjectLegalHold: "read",
  GetBucketPolicy: "read",
  GetBucketCors: "read",
  GetBucketLifecycleConfiguration: "read",
  GetBucketTagging: "read",
  GetBucketEncryption: "read",
  GetBucketWebsite: "read",
  GetBucketReplication: "read",
  GetPublicAccessBlock: "read",
  GetBucketLogging: "read",
  GetBucketNotificationConfiguration: "read",
  GetBucketRequestPayment: "read",
  GetBucketAccelerateConfiguration: "read",
} as const satisfies Record<string, Exclude<AccessLevel, "none"> | "any">;

/** Every operation {@linkcode authorize} has a rule for. */
export type AccessOperation = keyof typeof OPERATION_ACCESS;

/** The parts of a parsed endpoint the check reads (an S3 `Endpoint` fits). */
export interface AccessTarget {
  op: AccessOperation;
  /** The addressed bucket; absent for ListBuckets. */
  bucket?: string;
}

/** Facts about the request beyond its endpoint. */
export interface RequestFacts {
  /** The client's address as seen by the server; undefined when unknown. */
  sourceAddress?: string;
  /** Bucket named by `x-amz-copy-source`, for CopyObject and UploadPartCopy. */
  copySourceBucket?: string;
}

/** The outcome of {@linkcode authorize}. */
export type AccessDecision =
  | { allowed: true; bypassGovernance: boolean }
  | { allowed: false; reason: string };

function rank(level: AccessLevel): number {
  return ACCESS_LEVELS.indexOf(level);
}

/**
 * The level a key holds on a bucket: its override there, else its default.
 *
 * @param grants The key's grants.
 * @param bucket The bucket name.
 * @returns The level.
 */
export function levelOn(grants: Grants, bucket: string): AccessLevel {
  return Object.hasOwn(grants.buckets, bucket) ? grants.buckets[bucket] : grants.level;
}

/**
 * Whether a key may remove data in a bucket (it holds write or owner there).
 * A key that may not must not replace an existing version either, which a
 * write to an unversioned bucket would do.
 *
 * @param grants The key's grants.
 * @param bucket The bucket.
 * @returns True for write and owner.
 */
export function mayRemoveData(grants: Grants, bucket: string): boolean {
  return rank(levelOn(grants, bucket)) >= rank("write");
}

/**
 * Decides whether a key may perform an operation: the source address must
 * be in the key's allow-list (when it has one), the key's level on the
 * addressed bucket must reach what the operation needs, and a copy must be
 * allowed to read its source bucket.
 *
 * @param principal The authenticated key and its grants.
 * @param target The parsed endpoint (operation and bucket).
 * @param facts Source address and copy source.
 * @returns Allowed (with whether the key holds the bypass right) or denied with a reason.
 *
 * @example
 * ```ts
 * import { authorize } from "./access.ts";
 * const app = { accessKey: "app", level: "append" as const, buckets: {}, bypassGovernance: false, allowFrom: [] };
 * if (authorize(app, { op: "DeleteObject", bucket: "data" }).allowed) throw new Error("an append key deleted");
 * ```
 */
export function authorize(
  principal: Principal,
  target: AccessTarget,
  facts: RequestFacts = {},
): AccessDecision {
  const who = `Access key "${principal.accessKey}"`;
  const source = sourceRefusal(principal, facts);
  if (source) return source;
  const needed = OPERATION_ACCESS[target.op];
  if (needed !== "any") {
    const bucket = target.bucket ?? "";
    const held = levelOn(principal, bucket);
    if (rank(held) < rank(needed)) {
      return {
        allowed: false,
        reason: `${who} has ${held} access to bucket "${bucket}"; ${target.op} needs ${needed}`,
      };
    }
  }
  if (target.op === "CopyObject" || target.op === "UploadPartCopy") {
    const from = facts.copySourceBucket;
    if (from === undefined || rank(levelOn(principal, from)) < rank("read")) {
      return {
        allowed: false,
        reason: `${who} may not read the copy source bucket "${from ?? ""}"`,
      };
    }
  }
  return { allowed: true, bypassGovernance: principal.bypassGovernance };
}

function sourceRefusal(
  principal: Principal,
  facts: RequestFacts,
): { allowed: false; reason: string } | undefined {
  if (principal.allowFrom.length === 0) return undefined;
  const from = facts.sourceAddress;
  if (from !== undefined && principal.allowFrom.some((c) => addressInCidr(from, c))) {
    return undefined;
  }
  return {
    allowed: false,
    reason: `Access key "${principal.accessKey}" may not be used from address "${
      from ?? "unknown"
    }"`,
  };
}

/**
 * Decides whether a SigV4 key may use the admin API (`/admin/*`): it must
 * hold `owner` on every bucket, as root does (its default level, with no
 * lower override: the admin API reaches every bucket, through keys it makes,
 * snapshots, policies and the audit trail), and be used from an allowed
 * address.
 *
 * @param principal The authenticated key.
 * @param facts The source address.
 * @returns The decision.
 */
export function mayAdminister(principal: Principal, facts: RequestFacts = {}): AccessDecision {
  const source = sourceRefusal(principal, facts);
  if (source) return source;
  if (principal.level !== "owner") {
    return {
      allowed: false,
      reason:
        `Access key "${principal.accessKey}" has default level ${principal.level}; the admin API needs owner`,
    };
  }
  const lower = Object.entries(principal.buckets).find(([, level]) => level !== "owner");
  if (lower) {
    return {
      allowed: false,
      reason: `Access key "${principal.accessKey}" has level ${lower[1]} on bucket "${
        lower[0]
      }"; the admin API needs owner on every bucket`,
    };
  }
  return { allowed: true, bypassGovernance: principal.bypassGovernance };
}

/**
 * Decides whether a SigV4 key using the admin API may leave another key with
 * these grants (by adding it, changing it, or setting its secret): only with
 * rights the caller holds itself, so an owner key cannot raise itself through
 * a key it controls. The bypass and upload-anytime rights need the caller to
 * hold them; a caller limited to addresses or upload windows can only pass on
 * its own limits (some of its ranges, some of its windows). The admin token is
 * not a key and is not asked.
 *
 * @param caller The calling key.
 * @param target The grants the other key would have afterwards.
 * @returns Why not, or undefined when it may.
 */
export function grantRefusal(
  caller: Grants,
  target: Pick<Grants, "bypassGovernance" | "uploadAnytime" | "allowFrom" | "uploadWindows">,
): string | undefined {
  if (target.bypassGovernance && !caller.bypassGovernance) {
    return "only a key that holds bypassGovernance may grant it";
  }
  if (target.uploadAnytime && !caller.uploadAnytime) {
    return "only a key that holds uploadAnytime may grant it";
  }
  if (
    caller.allowFrom.length > 0 &&
    (target.allowFrom.length === 0 || target.allowFrom.some((c) => !caller.allowFrom.includes(c)))
  ) {
    return "a key limited to source addresses may grant only some of its own ranges";
  }
  const windowOf = (w: Grants["uploadWindows"][number]) => `${w.cron}/${w.durationMinutes}`;
  const callerWindows = caller.uploadWindows.map(windowOf);
  if (
    !caller.uploadAnytime && callerWindows.length > 0 &&
    (target.uploadWindows.length === 0 ||
      target.uploadWindows.some((w) => !callerWindows.includes(windowOf(w))))
  ) {
    return "a key limited to upload windows may grant only some of its own windows";
  }
  return undefined;
}

/** Rules for access key ids (the same as for the root key in config). */
export const ACCESS_KEY_PATTERN: RegExp = /^[A-Za-z0-9_\-]{3,128}$/;
/** Rules for secrets: 8 to 128 printable ASCII characters without spaces. */
export const SECRET_KEY_PATTERN: RegExp = /^[\x21-\x7e]{8,128}$/;
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$/;

/** Thrown by the grant parsers with a message naming the bad part. */
export class GrantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GrantError";
  }
}

/**
 * Checks that a value is an access level.
 *
 * @param value The candidate.
 * @param what What it is, for the error message.
 * @returns The level.
 * @throws {GrantError} when it is not one.
 */
export function parseLevel(value: unknown, what = "level"): AccessLevel {
  if (typeof value === "string" && (ACCESS_LEVELS as readonly string[]).includes(value)) {
    return value as AccessLevel;
  }
  throw new GrantError(
    `Invalid ${what} ${JSON.stringify(value)}: expected one of ${ACCESS_LEVELS.join(", ")}`,
  );
}

/**
 * Checks a bucket name used in an override.
 *
 * @param name The bucket name.
 * @returns The name.
 * @throws {GrantError} when it cannot be a bucket name.
 */
export function parseBucketName(name: unknown): string {
  if (typeof name !== "string" || !BUCKET_PATTERN.test(name)) {
    throw new GrantError(`Invalid bucket name ${JSON.stringify(name)} in a per-bucket level`);
  }
  return name;
}

/**
 * Parses level words that change a key: at most one default level and any
 * number of `bucket:level` overrides, where `bucket:-` drops an override.
 *
 * @param words The words, e.g. `["write", "logs:-"]`.
 * @returns The default level (if given) and the overrides (`null` to drop).
 * @throws {GrantError} on a repeated default, a bad level or bucket name.
 */
export function parseLevelChanges(
  words: string[],
): { level?: AccessLevel; buckets: Record<string, AccessLevel | null> } {
  let level: AccessLevel | undefined;
  const buckets: Record<string, AccessLevel | null> = {};
  for (const word of words) {
    const colon = word.lastIndexOf(":");
    if (colon < 0) {
      if (level !== undefined) throw new GrantError(`Two default levels: "${level}" and "${word}"`);
      level = parseLevel(word);
      continue;
    }
    const bucket = parseBucketName(word.slice(0, colon));
    const value = word.slice(colon + 1);
    buckets[bucket] = value === "-" ? null : parseLevel(value, `level for bucket "${bucket}"`);
  }
  return { level, buckets };
}

/**
 * Parses the level words of the key spec `read data:write logs:none`: one
 * default level and any number of `bucket:level` overrides.
 *
 * @param words The words after the secret.
 * @returns The default level and the overrides.
 * @throws {GrantError} on a missing or repeated default, a bad level or bucket name.
 *
 * @example
 * ```ts
 * import { parseLevelWords } from "./access.ts";
 * const g = parseLevelWords(["read", "data:write", "logs:none"]);
 * if (g.level !== "read" || g.buckets.data !== "write") throw new Error("misparsed");
 * ```
 */
export function parseLevelWords(
  words: string[],
): { level: AccessLevel; buckets: Record<string, AccessLevel> } {
  const { level, buckets } = parseLevelChanges(words);
  if (level === undefined) throw new GrantError("A default level is needed (none, read, …)");
  for (const [bucket, l] of Object.entries(buckets)) {
    if (l === null) {
      throw new GrantError(`A new key has no override to drop for bucket "${bucket}"`);
    }
  }
  return { level, buckets: buckets as Record<string, AccessLevel> };
}

interface Cidr {
  v6: boolean;
  bits: bigint;
  prefix: number;
}

function parseIPv4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = (n << 8n) | BigInt(Number(p));
  }
  return n;
}

function parseIPv6(s: string): bigint | undefined {
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string): string[] | undefined => {
    if (h === "") return [];
    const gs = h.split(":");
    const last = gs[gs.length - 1];
    if (last.includes(".")) {
      const v4 = parseIPv4(last);
      if (v4 === undefined) return undefined;
      gs.splice(gs.length - 1, 1, (v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16));
    }
    return gs.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)) ? gs : undefined;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let n = 0n;
  for (const g of [...head, ...Array(missing).fill("0"), ...tail]) {
    n = (n << 16n) | BigInt(`0x${g}`);
  }
  return n;
}

/** An address as a 32- or 128-bit number; IPv4-mapped IPv6 addresses count as IPv4. */
function parseAddress(s: string): { v6: boolean; bits: bigint; mapped?: true } | undefined {
  const bare = s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
  const v4 = parseIPv4(bare);
  if (v4 !== undefined) return { v6: false, bits: v4 };
  const v6 = parseIPv6(bare.replace(/%.*$/, ""));
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { v6: false, bits: v6 & 0xffffffffn, mapped: true };
  return { v6: true, bits: v6 };
}

function parseCidrParts(cidr: string): Cidr | undefined {
  const slash = cidr.indexOf("/");
  const addr = parseAddress(slash < 0 ? cidr : cidr.slice(0, slash));
  if (!addr) return undefined;
  // An IPv4-mapped range is written with an IPv6 prefix (96 + the IPv4 one).
  const offset = addr.mapped ? 96 : 0;
  const width = (addr.v6 ? 128 : 32) + offset;
  const raw = slash < 0 ? String(width) : cidr.slice(slash + 1);
  if (!/^\d{1,3}$/.test(raw) || Number(raw) > width || Number(raw) < offset) return undefined;
  return { v6: addr.v6, bits: addr.bits, prefix: Number(raw) - offset };
}

/**
 * Checks an allow-list entry: an IPv4 or IPv6 address, optionally with a
 * `/prefix`.
 *
 * @param cidr The entry.
 * @returns The entry.
 * @throws {GrantError} when it is neither.
 */
export function parseCidr(cidr: unknown): string {
  if (typeof cidr !== "string" || parseCidrParts(cidr) === undefined) {
    throw new GrantError(
      `Invalid source address ${JSON.stringify(cidr)}: expected an address or CIDR range`,
    );
  }
  return cidr;
}

/**
 * Whether an address lies in a CIDR range (or equals a bare address).
 *
 * @param address The client address.
 * @param cidr The range.
 * @returns True when inside; false for malformed input.
 *
 * @example
 * ```ts
 * import { addressInCidr } from "./access.ts";
 * if (!addressInCidr("10.1.2.3", "10.0.0.0/8") || addressInCidr("11.0.0.1", "10.0.0.0/8")) throw new Error();
 * ```
 */
export function addressInCidr(address: string, cidr: string): boolean {
  const a = parseAddress(address);
  const c = parseCidrParts(cidr);
  if (!a || !c || a.v6 !== c.v6) return false;
  const shift = BigInt((c.v6 ? 128 : 32) - c.prefix);
  return (a.bits >> shift) === (c.bits >> shift);
}
