/**
 * `/admin/keys`: managing access keys without a restart.
 *
 * - `GET /admin/keys` lists every key (never a secret);
 *   `GET /admin/keys/<id>` shows one.
 * - `POST /admin/keys` `{"accessKey", "secretKey"?, "level", "buckets"?,
 *   "bypassGovernance"?, "allowFrom"?}` adds one; without `secretKey` one is
 *   generated and returned once.
 * - `PUT /admin/keys/<id>` replaces its grants (`level` required; absent
 *   fields go back to their defaults); `PATCH` changes only the fields given
 *   (`"buckets": {"logs": null}` removes an override). Either may rotate the
 *   secret with `secretKey`.
 * - `DELETE /admin/keys/<id>` revokes it.
 *
 * Each change is committed with its audit record, then the router's key
 * cache forgets the key, so the next request sees it.
 *
 * @module
 */

import {
  ACCESS_KEY_PATTERN,
  type AccessLevel,
  generateSecretKey,
  GrantError,
  grantRefusal,
  parseBucketName,
  parseCidr,
  parseLevel,
  type Principal,
  SECRET_KEY_PATTERN,
} from "../auth/mod.ts";
import type { Context, Hono, Next } from "hono";
import type { AccessKeyChange, StoreClient } from "../channel/mod.ts";
import { sourceAddressOf } from "./access_check.ts";
import {
  type AdminAuthDeps,
  adminError,
  adminJson,
  authenticateAdmin,
  jsonObject,
} from "./admin_auth.ts";
import { S3Error } from "./errors.ts";

/** What the keys API needs. */
export interface AdminKeysDeps extends AdminAuthDeps {
  store: StoreClient;
}

function invalid(message: string): S3Error {
  return new S3Error("InvalidArgument", { message });
}

function accessKeyOf(value: unknown): string {
  if (typeof value !== "string" || !ACCESS_KEY_PATTERN.test(value)) {
    throw invalid(
      `Invalid access key ${JSON.stringify(value)}: 3 to 128 letters, digits, "-" or "_"`,
    );
  }
  return value;
}

function secretOf(value: unknown): string {
  if (typeof value !== "string" || !SECRET_KEY_PATTERN.test(value)) {
    throw invalid("Invalid secret key: 8 to 128 printable characters without spaces");
  }
  return value;
}

function bucketsOf(value: unknown, allowNull: boolean): Record<string, AccessLevel | null> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid('"buckets" must be an object of bucket name to level');
  }
  const out: Record<string, AccessLevel | null> = {};
  for (const [bucket, level] of Object.entries(value)) {
    out[parseBucketName(bucket)] = level === null && allowNull
      ? null
      : parseLevel(level, `level for bucket "${bucket}"`);
  }
  return out;
}

function allowFromOf(value: unknown): string[] {
  if (!Array.isArray(value)) throw invalid('"allowFrom" must be a list of addresses or CIDRs');
  return value.map(parseCidr);
}

function boolOf(value: unknown, name: string): boolean {
  if (typeof value !== "boolean") throw invalid(`"${name}" must be true or false`);
  return value;
}

/** Upload windows as sent: their cron expressions are checked by the index. */
function windowsOf(value: unknown): { cron: string; durationMinutes: number }[] {
  const ok = Array.isArray(value) &&
    value.every((w) =>
      typeof w === "object" && w !== null && typeof w.cron === "string" &&
      Number.isInteger(w.durationMinutes) && Object.keys(w).length === 2
    );
  if (!ok) throw invalid('"uploadWindows" must be a list of {"cron", "durationMinutes"}');
  return value as { cron: string; durationMinutes: number }[];
}

const FIELDS = new Set([
  "accessKey",
  "secretKey",
  "level",
  "buckets",
  "bypassGovernance",
  "allowFrom",
  "uploadAnytime",
  "uploadWindows",
]);

/**
 * Validates a body into a change. `replace` (PUT, POST) resets absent
 * grant fields to their defaults; otherwise (PATCH) they stay.
 */
function changeOf(body: Record<string, unknown>, replace: boolean): {
  change: Omit<AccessKeyChange, "sealedSecret">;
  secretKey?: string;
} {
  for (const name of Object.keys(body)) {
    if (!FIELDS.has(name)) throw invalid(`Unknown field "${name}"`);
  }
  if (replace && body.level === undefined) throw invalid('"level" is required');
  const change: Omit<AccessKeyChange, "sealedSecret"> = {};
  if (body.level !== undefined) change.level = parseLevel(body.level);
  if (body.buckets !== undefined || replace) {
    change.buckets = bucketsOf(body.buckets ?? {}, !replace);
    change.replaceBuckets = replace;
  }
  if (body.bypassGovernance !== undefined || replace) {
    change.bypassGovernance = boolOf(body.bypassGovernance ?? false, "bypassGovernance");
  }
  if (body.allowFrom !== undefined || replace) change.allowFrom = allowFromOf(body.allowFrom ?? []);
  if (body.uploadAnytime !== undefined || replace) {
    change.uploadAnytime = boolOf(body.uploadAnytime ?? false, "uploadAnytime");
  }
  if (body.uploadWindows !== undefined || replace) {
    change.uploadWindows = windowsOf(body.uploadWindows ?? []);
  }
  const secretKey = body.secretKey === undefined ? undefined : secretOf(body.secretKey);
  return { change, secretKey };
}

async function seal(deps: AdminKeysDeps, secretKey: string, accessKey: string): Promise<string> {
  const { sealed } = await deps.store.call({
    type: "sealSecret",
    plaintext: secretKey,
    context: accessKey,
  });
  return sealed;
}

/**
 * Refuses a SigV4 caller a change to its own key, or one that would leave a
 * key with rights the caller lacks (see `grantRefusal`).
 */
function refuseEscalation(
  caller: Principal | undefined,
  accessKey: string,
  after: Parameters<typeof grantRefusal>[1],
): void {
  if (!caller) return; // the admin token
  const reason = caller.accessKey === accessKey
    ? "a key cannot change its own grants or secret; use another owner key or the admin token"
    : grantRefusal(caller, after);
  if (reason) {
    throw new S3Error("AccessDenied", {
      message: `Access key "${caller.accessKey}" cannot set access key "${accessKey}": ${reason}`,
    });
  }
}

/** The fields a change sets (undefined ones keep the key's current value). */
function definedOf<T extends object>(change: T): Partial<T> {
  return Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) as Partial<
    T
  >;
}

function refuseRoot(deps: AdminKeysDeps, accessKey: string): void {
  if (deps.keys.isRoot(accessKey)) {
    throw new S3Error("InvalidRequest", {
      message:
        `Access key "${accessKey}" is the root credential, which is configured (AMBER_ACCESS_KEY), not managed`,
    });
  }
}

/**
 * Serves `/admin/keys` and `/admin/keys/<id>` on the app. The bucket name
 * `admin` is reserved (`isValidBucketName`), so these paths shadow no S3
 * object; requests with a query string fall through to S3.
 *
 * @param app The hono app.
 * @param deps Index, store, keys, admin token, clock.
 * @param newRequestId Makes the request id, as for S3 requests.
 */
export function routeAdminKeys(app: Hono, deps: AdminKeysDeps, newRequestId: () => string): void {
  const serveKeys = (c: Context, next: Next, accessKey?: string) => {
    if (new URL(c.req.url).search !== "") return next();
    return handleAdminKeys(c.req.raw, deps, {
      path: new URL(c.req.url).pathname,
      accessKey,
      sourceAddress: sourceAddressOf(c.env),
      requestId: newRequestId(),
    });
  };
  app.on(["GET", "POST"], "/admin/keys", (c, next) => serveKeys(c, next));
  app.on(
    ["GET", "PUT", "PATCH", "DELETE"],
    "/admin/keys/:accessKey",
    (c, next) => serveKeys(c, next, c.req.param("accessKey")),
  );
}

/**
 * Handles a request under `/admin/keys`.
 *
 * @param req The request.
 * @param deps Index, store, keys, admin token, clock.
 * @param r The path as sent, the key named in it (if any), the client address and the request id.
 * @returns The JSON response.
 */
async function handleAdminKeys(
  req: Request,
  deps: AdminKeysDeps,
  r: { path: string; accessKey?: string; sourceAddress?: string; requestId: string },
): Promise<Response> {
  const { requestId } = r;
  // Whatever the outcome, a key a change was attempted on is fetched afresh next time.
  let touched: string | undefined;
  try {
    const { actor, principal, body } = await authenticateAdmin(req, deps, r);
    const named = r.accessKey === undefined ? undefined : accessKeyOf(r.accessKey);
    if (req.method === "GET") {
      // Changes are audited with their commit in the index; reading the keys is recorded here.
      await deps.meta.call({
        type: "audit",
        op: named === undefined ? "listAccessKeys" : "getAccessKey",
        target: r.path,
        outcome: "done",
        detail: `by=${actor}`,
      });
    }
    switch (`${req.method} ${named === undefined ? "list" : "one"}`) {
      case "GET list": {
        const { keys } = await deps.meta.call({ type: "listAccessKeys" });
        return adminJson({ keys }, 200, requestId);
      }
      case "GET one": {
        const { key } = await deps.meta.call({ type: "getAccessKey", accessKey: named! });
        if (!key) {
          throw new S3Error("NoSuchEntity", { message: `Access key "${named}" does not exist` });
        }
        const { sealedSecret: _, ...info } = key;
        return adminJson({ key: info }, 200, requestId);
      }
      case "POST list": {
        const fields = jsonObject(body);
        const accessKey = accessKeyOf(fields.accessKey);
        touched = accessKey;
        if (deps.keys.isRoot(accessKey)) {
          throw new S3Error("EntityAlreadyExists", {
            message: `Access key "${accessKey}" is the root credential`,
          });
        }
        const { change, secretKey } = changeOf(fields, true);
        refuseEscalation(principal, accessKey, change as Parameters<typeof grantRefusal>[1]);
        const secret = secretKey ?? generateSecretKey();
        const now = deps.now();
        const key = await deps.meta.call({
          type: "addAccessKey",
          record: {
            accessKey,
            level: change.level!,
            buckets: change.buckets as Record<string, AccessLevel>,
            bypassGovernance: change.bypassGovernance!,
            allowFrom: change.allowFrom!,
            uploadAnytime: change.uploadAnytime!,
            uploadWindows: change.uploadWindows!,
            created: now,
            updated: now,
            sealedSecret: await seal(deps, secret, accessKey),
          },
          actor,
        });
        return adminJson(
          { key, ...(secretKey === undefined ? { secretKey: secret } : {}) },
          201,
          requestId,
        );
      }
      case "PUT one":
      case "PATCH one": {
        refuseRoot(deps, named!);
        touched = named;
        const fields = jsonObject(body);
        if (fields.accessKey !== undefined && fields.accessKey !== named) {
          throw invalid('"accessKey" cannot be changed; add a new key and revoke this one');
        }
        delete fields.accessKey;
        const { change, secretKey } = changeOf(fields, req.method === "PUT");
        if (principal) {
          const { key: before } = await deps.meta.call({ type: "getAccessKey", accessKey: named! });
          if (before) refuseEscalation(principal, named!, { ...before, ...definedOf(change) });
        }
        const key = await deps.meta.call({
          type: "setAccessKey",
          accessKey: named!,
          change: {
            ...change,
            ...(secretKey === undefined
              ? {}
              : { sealedSecret: await seal(deps, secretKey, named!) }),
          },
          now: deps.now(),
          actor,
        });
        return adminJson({ key }, 200, requestId);
      }
      case "DELETE one": {
        refuseRoot(deps, named!);
        touched = named;
        await deps.meta.call({ type: "revokeAccessKey", accessKey: named!, actor });
        return adminJson({ revoked: named }, 200, requestId);
      }
      default:
        throw new S3Error("MethodNotAllowed");
    }
  } catch (e) {
    return adminError(e instanceof GrantError ? invalid(e.message) : e, r.path, requestId);
  } finally {
    if (touched !== undefined) deps.keys.invalidate(touched);
  }
}
