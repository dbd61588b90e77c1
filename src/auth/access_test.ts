import assert from "node:assert/strict";
import type { Endpoint, OperationName } from "../s3/endpoint.ts";
import {
  ACCESS_LEVELS,
  type AccessLevel,
  addressInCidr,
  authorize,
  GrantError,
  grantRefusal,
  mayAdminister,
  mayRemoveData,
  OPERATION_ACCESS,
  parseCidr,
  parseLevelChanges,
  parseLevelWords,
  type Principal,
} from "./access.ts";

/**
 * The weakest level each S3 operation needs, written out independently of
 * OPERATION_ACCESS. Typed by the Endpoint union, so an operation added to
 * the endpoint parser without a row here fails to compile, and so does one
 * added without a rule in access.ts (the router passes an Endpoint to
 * authorize).
 */
const EXPECTED: Record<OperationName, AccessLevel | "any"> = {
  ListBuckets: "any",
  HeadBucket: "read",
  GetBucketLocation: "read",
  GetBucketVersioning: "read",
  ListObjectVersions: "read",
  ListObjects: "read",
  ListObjectsV2: "read",
  ListMultipartUploads: "read",
  GetObject: "read",
  HeadObject: "read",
  ListParts: "read",
  GetBucketAcl: "read",
  GetObjectAcl: "read",
  GetObjectTagging: "read",
  GetObjectLockConfiguration: "read",
  GetObjectRetention: "read",
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
  PutObject: "append",
  CopyObject: "append",
  CreateMultipartUpload: "append",
  UploadPart: "append",
  UploadPartCopy: "append",
  CompleteMultipartUpload: "append",
  DeleteObject: "write",
  DeleteObjects: "write",
  AbortMultipartUpload: "write",
  PutObjectRetention: "write",
  PutObjectLegalHold: "write",
  CreateBucket: "owner",
  DeleteBucket: "owner",
  PutBucketVersioning: "owner",
  PutObjectLockConfiguration: "owner",
};

// Every Endpoint is something authorize accepts (compile-time check).
const _endpointsAreTargets = (ep: Endpoint) => authorize(key("read"), ep);

function key(level: AccessLevel, extra: Partial<Principal> = {}): Principal {
  return {
    accessKey: "app",
    level,
    buckets: {},
    bypassGovernance: false,
    allowFrom: [],
    uploadAnytime: false,
    uploadWindows: [],
    ...extra,
  };
}

function target(op: OperationName) {
  return op === "ListBuckets" ? { op } : { op, bucket: "data" };
}

const COPY = { copySourceBucket: "data" };

Deno.test("authorize - every operation × every level, as the default and as a bucket override", () => {
  assert.deepEqual(
    Object.keys(OPERATION_ACCESS).sort(),
    Object.keys(EXPECTED).sort(),
    "the rules cover exactly the operations the endpoint parser returns",
  );
  const rank = (l: AccessLevel) => ACCESS_LEVELS.indexOf(l);
  let rows = 0;
  for (const op of Object.keys(EXPECTED) as OperationName[]) {
    const needed = EXPECTED[op];
    for (const level of ACCESS_LEVELS) {
      const want = needed === "any" || rank(level) >= rank(needed);
      const asDefault = authorize(key(level), target(op), COPY);
      assert.equal(asDefault.allowed, want, `${op} with default ${level}`);
      // The same level granted only on this bucket, with the opposite extreme as the default.
      const other = want ? "none" : "owner";
      const asOverride = authorize(
        key(other, { buckets: { data: level } }),
        target(op),
        COPY,
      );
      assert.equal(asOverride.allowed, want, `${op} with data:${level} over ${other}`);
      if (!asDefault.allowed) {
        assert.match(asDefault.reason, new RegExp(`^Access key "app" has ${level} access`));
      }
      rows++;
    }
  }
  assert.equal(rows, Object.keys(EXPECTED).length * ACCESS_LEVELS.length);
});

Deno.test("authorize - an override applies to its bucket only", () => {
  const app = key("read", { buckets: { data: "write", logs: "none" } });
  assert.equal(authorize(app, { op: "PutObject", bucket: "data" }).allowed, true);
  assert.equal(authorize(app, { op: "PutObject", bucket: "other" }).allowed, false);
  assert.equal(authorize(app, { op: "GetObject", bucket: "other" }).allowed, true);
  assert.equal(authorize(app, { op: "GetObject", bucket: "logs" }).allowed, false);
  // A bucket named like an Object.prototype member is not an override.
  assert.equal(authorize(app, { op: "GetObject", bucket: "constructor" }).allowed, true);
});

Deno.test("authorize - copies need read on the source bucket", () => {
  const app = key("append", { buckets: { secrets: "none" } });
  for (const op of ["CopyObject", "UploadPartCopy"] as const) {
    const t = { op, bucket: "data" };
    assert.equal(authorize(app, t, { copySourceBucket: "data" }).allowed, true);
    const d = authorize(app, t, { copySourceBucket: "secrets" });
    assert.equal(d.allowed, false);
    assert.match(!d.allowed ? d.reason : "", /copy source bucket "secrets"/);
    assert.equal(authorize(app, t).allowed, false, "an unknown source is refused");
  }
});

Deno.test("authorize - the bypass right travels with an allowed decision only", () => {
  const withRight = key("write", { bypassGovernance: true });
  assert.deepEqual(authorize(withRight, { op: "DeleteObject", bucket: "d" }), {
    allowed: true,
    bypassGovernance: true,
  });
  assert.deepEqual(authorize(key("write"), { op: "DeleteObject", bucket: "d" }), {
    allowed: true,
    bypassGovernance: false,
  });
  const readOnly = key("read", { bypassGovernance: true });
  assert.equal(authorize(readOnly, { op: "DeleteObject", bucket: "d" }).allowed, false);
});

Deno.test("authorize - the source-address allow-list is enforced for every operation", () => {
  const app = key("owner", { allowFrom: ["10.0.0.0/8", "2001:db8::/32", "192.168.1.7"] });
  for (
    const [from, ok] of [
      ["10.200.1.1", true],
      ["192.168.1.7", true],
      ["192.168.1.8", false],
      ["127.0.0.1", false],
      ["::ffff:10.0.0.1", true],
      ["2001:db8:1::5", true],
      ["2001:db9::5", false],
      [undefined, false],
    ] as const
  ) {
    for (const op of Object.keys(EXPECTED) as OperationName[]) {
      const d = authorize(app, target(op), { ...COPY, sourceAddress: from });
      assert.equal(d.allowed, ok, `${op} from ${from}`);
      if (!d.allowed) assert.match(d.reason, /may not be used from address/);
    }
  }
});

Deno.test("addressInCidr - IPv4, IPv6, bare addresses, prefixes 0 and full width", () => {
  assert.ok(addressInCidr("1.2.3.4", "0.0.0.0/0"));
  assert.ok(addressInCidr("1.2.3.4", "1.2.3.4"));
  assert.ok(!addressInCidr("1.2.3.5", "1.2.3.4/32"));
  assert.ok(addressInCidr("1.2.3.5", "1.2.3.4/31"));
  assert.ok(addressInCidr("::1", "::1"));
  assert.ok(addressInCidr("[::1]", "::/0"));
  assert.ok(!addressInCidr("::1", "0.0.0.0/0"), "families do not mix");
  assert.ok(addressInCidr("fe80::1%eth0", "fe80::/10"));
  assert.ok(!addressInCidr("garbage", "0.0.0.0/0"));
});

Deno.test("parseCidr - rejects what is not an address or range", () => {
  for (const ok of ["10.0.0.0/8", "::/0", "2001:db8::1", "1.2.3.4", "::ffff:1.2.3.4/128"]) {
    assert.equal(parseCidr(ok), ok);
  }
  for (const bad of ["10.0.0.0/33", "1.2.3", "256.1.1.1", "::1/129", "1::2::3", "x", "", 5]) {
    assert.throws(() => parseCidr(bad), GrantError, String(bad));
  }
});

Deno.test("parseLevelWords - the key spec `read data:write logs:none`", () => {
  assert.deepEqual(parseLevelWords(["read", "data:write", "logs:none"]), {
    level: "read",
    buckets: { data: "write", logs: "none" },
  });
  assert.throws(() => parseLevelWords(["data:write"]), /A default level is needed/);
  assert.throws(() => parseLevelWords(["read", "write"]), /Two default levels/);
  assert.throws(() => parseLevelWords(["admin"]), /Invalid level "admin"/);
  assert.throws(() => parseLevelWords(["read", "Bad_Bucket:write"]), /Invalid bucket name/);
  assert.throws(() => parseLevelWords(["read", "data:all"]), /level for bucket "data"/);
  assert.throws(() => parseLevelWords(["read", "data:-"]), /no override to drop/);
  assert.deepEqual(parseLevelChanges(["logs:-", "data:owner"]), {
    level: undefined,
    buckets: { logs: null, data: "owner" },
  });
});

Deno.test("mayRemoveData - write and owner only, per bucket", () => {
  for (const level of ACCESS_LEVELS) {
    assert.equal(mayRemoveData(key(level), "d"), level === "write" || level === "owner", level);
  }
  assert.equal(mayRemoveData(key("owner", { buckets: { d: "append" } }), "d"), false);
  assert.equal(mayRemoveData(key("append", { buckets: { d: "write" } }), "d"), true);
});

Deno.test("mayAdminister - owner of every bucket, from an allowed address", () => {
  assert.equal(mayAdminister(key("owner")).allowed, true);
  assert.equal(mayAdminister(key("write", { buckets: { data: "owner" } })).allowed, false);
  // A lower override: the admin API would reach that bucket through a key it makes, a snapshot…
  for (const level of ["none", "read", "append", "write"] as const) {
    const fencedOff = mayAdminister(key("owner", { buckets: { secret: level } }));
    assert.equal(fencedOff.allowed, false, level);
    assert.match(fencedOff.allowed ? "" : fencedOff.reason, /bucket "secret"/);
  }
  assert.equal(mayAdminister(key("owner", { buckets: { data: "owner" } })).allowed, true);
  const fenced = key("owner", { allowFrom: ["10.0.0.0/8"] });
  assert.equal(mayAdminister(fenced, { sourceAddress: "10.0.0.1" }).allowed, true);
  assert.equal(mayAdminister(fenced, { sourceAddress: "127.0.0.1" }).allowed, false);
});

Deno.test("grantRefusal - a caller passes on only rights and limits it holds", () => {
  const plain = {
    level: "owner" as const,
    buckets: {},
    bypassGovernance: false,
    allowFrom: [],
    uploadAnytime: false,
    uploadWindows: [],
  };
  const window = { cron: "0 2 * * *", durationMinutes: 60 };
  assert.equal(grantRefusal(plain, plain), undefined);
  assert.match(grantRefusal(plain, { ...plain, bypassGovernance: true })!, /bypassGovernance/);
  assert.equal(
    grantRefusal({ ...plain, bypassGovernance: true }, { ...plain, bypassGovernance: true }),
    undefined,
  );
  assert.match(grantRefusal(plain, { ...plain, uploadAnytime: true })!, /uploadAnytime/);
  const fenced = { ...plain, allowFrom: ["10.0.0.0/8", "192.168.1.1"] };
  assert.match(grantRefusal(fenced, plain)!, /source addresses/, "unlimited is more");
  assert.match(grantRefusal(fenced, { ...plain, allowFrom: ["0.0.0.0/0"] })!, /source addresses/);
  assert.equal(grantRefusal(fenced, { ...plain, allowFrom: ["192.168.1.1"] }), undefined);
  const windowed = { ...plain, uploadWindows: [window] };
  assert.match(grantRefusal(windowed, plain)!, /upload windows/, "no window is more");
  assert.match(
    grantRefusal(windowed, { ...plain, uploadWindows: [{ ...window, durationMinutes: 61 }] })!,
    /upload windows/,
  );
  assert.equal(grantRefusal(windowed, { ...plain, uploadWindows: [window] }), undefined);
  assert.equal(grantRefusal({ ...windowed, uploadAnytime: true }, plain), undefined);
});
