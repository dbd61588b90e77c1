import assert from "node:assert/strict";
import type { AccessKeyInfo } from "../channel/mod.ts";
import { MetaError } from "./errors.ts";
import { withIndex } from "./test_index.ts";

const APP: AccessKeyInfo = {
  accessKey: "app",
  level: "read",
  buckets: { data: "write", logs: "none" },
  bypassGovernance: false,
  allowFrom: [],
  uploadAnytime: false,
  uploadWindows: [],
  created: 1,
  updated: 1,
};

Deno.test("access keys - add, change, list without secrets, revoke", async () => {
  await withIndex(async (call) => {
    await call({ type: "addAccessKey", record: { ...APP, sealedSecret: "s1.sealed" }, actor: "t" });
    await assert.rejects(
      call({ type: "addAccessKey", record: { ...APP, sealedSecret: "s1.x" }, actor: "t" }),
      (e) => e instanceof MetaError && e.kind === "accessKeyExists",
    );
    const changed = await call({
      type: "setAccessKey",
      accessKey: "app",
      change: { buckets: { logs: null, other: "append" }, bypassGovernance: true },
      now: 5,
      actor: "t",
    });
    assert.deepEqual(changed, {
      ...APP,
      buckets: { data: "write", other: "append" },
      bypassGovernance: true,
      updated: 5,
    });
    const replaced = await call({
      type: "setAccessKey",
      accessKey: "app",
      change: { buckets: { x1y: "owner" }, replaceBuckets: true, sealedSecret: "s1.new" },
      now: 6,
      actor: "t",
    });
    assert.deepEqual(replaced.buckets, { x1y: "owner" });
    assert.equal(
      (await call({ type: "getAccessKey", accessKey: "app" })).key?.sealedSecret,
      "s1.new",
    );
    const { keys } = await call({ type: "listAccessKeys" });
    assert.equal(keys.length, 1);
    assert.ok(!JSON.stringify(keys).includes("s1."), "the listing carries no sealed secret");
    await call({ type: "revokeAccessKey", accessKey: "app", actor: "t" });
    assert.deepEqual(await call({ type: "getAccessKey", accessKey: "app" }), {});
    await assert.rejects(
      call({ type: "revokeAccessKey", accessKey: "app", actor: "t" }),
      (e) => e instanceof MetaError && e.kind === "noSuchAccessKey",
    );
  });
});

Deno.test("putVersion - appendOnly refuses to replace a null version holding data", async () => {
  await withIndex(async (call) => {
    await call({ type: "createBucket", bucket: "b", region: "r", now: 0 });
    const version = {
      size: 1,
      etag: "e",
      lastModified: 0,
      headers: {},
      userMeta: {},
      manifest: new Uint8Array(0),
    };
    await call({ type: "putVersion", bucket: "b", key: "k", version, appendOnly: true });
    await assert.rejects(
      call({ type: "putVersion", bucket: "b", key: "k", version, appendOnly: true }),
      (e) => e instanceof MetaError && e.kind === "appendOnly",
    );
    await call({ type: "putVersion", bucket: "b", key: "k", version });
    await call({ type: "putBucketVersioning", bucket: "b", status: "Enabled" });
    await call({ type: "putVersion", bucket: "b", key: "k", version, appendOnly: true });
  });
});
