import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { VersionRecord } from "../channel/mod.ts";
import { MetaError } from "./errors.ts";
import { type IndexCall, openIndex } from "./test_index.ts";

/** A fresh index; `sum` recounts a bucket's usage from its SQLite file directly. */
async function openIndexWithSum(): Promise<
  { call: IndexCall; sum: (bucket: string) => unknown; end: () => Promise<void> }
> {
  const index = await openIndex();
  const reader = new DatabaseSync(index.path, { readOnly: true });
  return {
    call: index.call,
    // Usage recomputed from scratch, to compare with what the triggers kept.
    sum: (bucket) => {
      const v = reader.prepare(
        `SELECT coalesce(sum(1 - delete_marker), 0) AS objects, coalesce(sum(size), 0) AS logicalBytes,
           coalesce(sum(stored_bytes), 0) AS storedBytes FROM versions WHERE bucket = ?`,
      ).get(bucket) as Record<string, number>;
      const p = reader.prepare(
        "SELECT coalesce(sum(p.size), 0) AS n FROM parts p JOIN uploads u USING(upload_id) WHERE u.bucket = ?",
      ).get(bucket) as { n: number };
      return { ...v, uploadBytes: p.n };
    },
    end: async () => {
      reader.close();
      await index.end();
    },
  };
}

function manifest(n: number): Uint8Array {
  const m = new Uint8Array(36);
  m[0] = n;
  m[1] = n >> 8;
  new DataView(m.buffer).setUint32(32, 1);
  return m;
}

function version(size: number, id: number): Omit<VersionRecord, "versionId"> {
  return {
    size,
    etag: `e${id}`,
    lastModified: 0,
    headers: {},
    userMeta: {},
    manifest: manifest(id),
  };
}

async function refusedAs(p: Promise<unknown>, kind: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof MetaError, String(e));
    assert.equal(e.kind, kind, e.message);
    return e.message;
  }
  assert.fail(`expected ${kind}, but it succeeded`);
}

Deno.test("bucket usage - triggers keep it equal to a recount through puts, deletes, uploads and snapshots", async () => {
  const { call, sum, end } = await openIndexWithSum();
  try {
    await call({ type: "createBucket", bucket: "b", region: "r", now: 0 });
    const usage = async () => (await call({ type: "getBucketPolicy", bucket: "b" })).usage;
    const check = async (what: string) => assert.deepEqual(await usage(), sum("b"), what);
    await call({
      type: "putVersion",
      bucket: "b",
      key: "k",
      version: version(10, 1),
      storedBytes: 7,
    });
    await check("put");
    assert.deepEqual(await usage(), {
      objects: 1,
      logicalBytes: 10,
      storedBytes: 7,
      uploadBytes: 0,
    });
    await call({
      type: "putVersion",
      bucket: "b",
      key: "k",
      version: version(20, 2),
      storedBytes: 3,
    });
    await check("null version replaced");
    await call({ type: "putBucketVersioning", bucket: "b", status: "Enabled" });
    await call({
      type: "putVersion",
      bucket: "b",
      key: "k",
      version: version(5, 3),
      storedBytes: 1,
    });
    await call({ type: "deleteObject", bucket: "b", key: "k", now: 0, bypassGovernance: false });
    await check("version and delete marker");
    assert.equal((await usage()).objects, 2, "a delete marker is no object");
    const upload = {
      uploadId: "u1",
      bucket: "b",
      key: "m",
      initiated: 0,
      headers: {},
      userMeta: {},
    };
    await call({ type: "createUpload", upload });
    const part = (n: number, size: number) => ({
      partNumber: n,
      size,
      etag: `p${n}${size}`,
      lastModified: 0,
      manifest: manifest(100 + n),
    });
    await call({
      type: "putPart",
      bucket: "b",
      key: "m",
      uploadId: "u1",
      part: part(1, 6),
      storedBytes: 6,
    });
    await call({
      type: "putPart",
      bucket: "b",
      key: "m",
      uploadId: "u1",
      part: part(2, 4),
      storedBytes: 4,
    });
    await call({
      type: "putPart",
      bucket: "b",
      key: "m",
      uploadId: "u1",
      part: part(2, 3),
      storedBytes: 2,
    });
    await check("parts, one replaced");
    assert.equal((await usage()).uploadBytes, 9);
    await call({
      type: "completeUpload",
      bucket: "b",
      key: "m",
      uploadId: "u1",
      parts: [{ partNumber: 1, etag: "p16" }, { partNumber: 2, etag: "p23" }],
      now: 0,
      minPartBytes: 0,
    });
    await check("completed");
    assert.deepEqual(await usage(), {
      objects: 3,
      logicalBytes: 34,
      storedBytes: 12,
      uploadBytes: 0,
    });
    await call({ type: "createUpload", upload: { ...upload, uploadId: "u2" } });
    await call({ type: "putPart", bucket: "b", key: "m", uploadId: "u2", part: part(1, 8) });
    await call({ type: "abortUpload", bucket: "b", key: "m", uploadId: "u2" });
    await check("aborted");
    await call({ type: "createSnapshot", bucket: "snap", source: "b", at: Date.now(), now: 0 });
    assert.deepEqual((await call({ type: "getBucketPolicy", bucket: "snap" })).usage, sum("snap"));
  } finally {
    await end();
  }
});

Deno.test("putVersion - a write past the hard quota rolls back whole; the soft limit warns", async () => {
  const { call, sum, end } = await openIndexWithSum();
  try {
    await call({ type: "createBucket", bucket: "b", region: "r", now: 0 });
    await call({
      type: "putBucketPolicy",
      bucket: "b",
      policy: { quota: { hardBytes: 100, softBytes: 50, maxObjects: 3 } },
    });
    const put = (key: string, size: number, id: number) =>
      call({ type: "putVersion", bucket: "b", key, version: version(size, id) });
    assert.equal((await put("a", 40, 1)).quotaWarning, undefined);
    assert.match((await put("b", 20, 2)).quotaWarning ?? "", /above its soft quota of 50 bytes/);
    const message = await refusedAs(put("c", 41, 3), "quotaExceeded");
    assert.match(message, /hard quota of 100 bytes/);
    await refusedAs(call({ type: "getVersion", bucket: "b", key: "c" }), "noSuchKey");
    assert.equal(
      (await call({ type: "stats", chunks: true })).chunkRefs,
      2,
      "the refused version holds no chunk",
    );
    assert.deepEqual(sum("b"), { objects: 2, logicalBytes: 60, storedBytes: 0, uploadBytes: 0 });
    await put("c", 40, 3);
    await refusedAs(put("d", 0, 4), "quotaExceeded");
  } finally {
    await end();
  }
});

Deno.test("admitWrite - windows, intervals and a full bucket are refused before any body", async () => {
  const { call, end } = await openIndexWithSum();
  try {
    await call({ type: "createBucket", bucket: "b", region: "r", now: 0 });
    const admit = (write: "put" | "delete" | "uploadPart", key = "k") =>
      call({ type: "admitWrite", bucket: "b", key, write, uploadId: "none", partNumber: 1 });
    assert.deepEqual(await admit("put"), {}, "no policy, no limit");
    const hour = (new Date().getUTCHours() + 12) % 24;
    await call({
      type: "putBucketPolicy",
      bucket: "b",
      policy: { uploadWindows: [{ cron: `0 ${hour} * * *`, durationMinutes: 60 }] },
    });
    await refusedAs(admit("put"), "outsideWindow");
    await refusedAs(admit("delete"), "outsideWindow");
    assert.deepEqual(
      await call({ type: "admitWrite", bucket: "b", key: "k", write: "put", uploadAnytime: true }),
      {},
      "the upload-anytime right opens every window",
    );
    await call({
      type: "putBucketPolicy",
      bucket: "b",
      policy: { minVersionIntervalSeconds: 60, quota: { hardBytes: 100, maxObjectBytes: 30 } },
    });
    assert.deepEqual(await admit("put"), {
      limit: {
        bytes: 30,
        kind: "objectTooLarge",
        message: 'Objects in bucket "b" may be at most 30 bytes',
      },
    });
    await call({ type: "putVersion", bucket: "b", key: "k", version: version(30, 1) });
    await refusedAs(admit("put"), "tooFrequent");
    assert.deepEqual(await admit("delete"), {}, "the interval is for new versions only");
    assert.equal((await admit("put", "other")).limit?.bytes, 30);
    await call({ type: "putVersion", bucket: "b", key: "x", version: version(30, 2) });
    await call({ type: "putVersion", bucket: "b", key: "y", version: version(30, 3) });
    assert.deepEqual((await admit("put", "z")).limit?.kind, "quotaExceeded");
    await call({ type: "putVersion", bucket: "b", key: "z", version: version(10, 4) });
    await refusedAs(admit("uploadPart"), "quotaExceeded");
    await refusedAs(
      call({ type: "putBucketPolicy", bucket: "b", policy: { quota: { hardBytes: 0 } } }),
      "invalidPolicy",
    );
    await refusedAs(
      call({ type: "putBucketPolicy", bucket: "nope", policy: {} }),
      "noSuchBucket",
    );
  } finally {
    await end();
  }
});

Deno.test("bucketHealth - freshness marks follow new objects under the prefix; deleteBucket drops the policy", async () => {
  const { call, end } = await openIndexWithSum();
  try {
    await call({ type: "createBucket", bucket: "b", region: "r", now: 0 });
    await call({ type: "putVersion", bucket: "b", key: "db/old", version: version(500, 1) });
    await call({
      type: "putBucketPolicy",
      bucket: "b",
      policy: { freshness: [{ prefix: "db/", everyHours: 1, minBytes: 100 }] },
    });
    let h = (await call({ type: "bucketHealth", bucket: "b" })).buckets[0];
    // Backfilled from the existing version (its last-modified is 0 here: long ago).
    assert.deepEqual([h.state, h.freshness[0].lastBackupAt, h.freshness[0].lastBackupBytes], [
      "late",
      0,
      500,
    ]);
    await call({ type: "putVersion", bucket: "b", key: "db/new", version: version(200, 2) });
    h = (await call({ type: "bucketHealth", bucket: "b" })).buckets[0];
    assert.equal(h.state, "ok");
    assert.equal(h.freshness[0].lastBackupBytes, 200);
    assert.ok(Math.abs(h.freshness[0].lastBackupAt! - Date.now()) < 60_000, "trusted time");
    await call({ type: "putVersion", bucket: "b", key: "db/tiny", version: version(5, 3) });
    h = (await call({ type: "bucketHealth", bucket: "b" })).buckets[0];
    assert.equal(h.freshness[0].lastBackupBytes, 200, "a small object is no backup");
    for (const key of ["db/old", "db/new", "db/tiny"]) {
      await call({ type: "deleteObject", bucket: "b", key, now: 0, bypassGovernance: false });
    }
    await call({ type: "deleteBucket", bucket: "b" });
    await call({ type: "createBucket", bucket: "b", region: "r", now: 0 });
    assert.deepEqual((await call({ type: "getBucketPolicy", bucket: "b" })).policy, {});
    assert.deepEqual((await call({ type: "bucketHealth" })).buckets.map((x) => x.state), ["ok"]);
  } finally {
    await end();
  }
});
