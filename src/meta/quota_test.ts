import assert from "node:assert/strict";
import type { BucketUsage, QuotaPolicy } from "../channel/mod.ts";
import { bodyLimit, commitVerdict, formatBytes, intervalRefusal, windowRefusal } from "./quota.ts";

const at = (iso: string) => Date.parse(iso);
const usage = (logicalBytes: number, objects = 1, uploadBytes = 0): BucketUsage => ({
  objects,
  logicalBytes,
  storedBytes: 0,
  uploadBytes,
});

Deno.test("formatBytes - exact count with a binary unit", () => {
  assert.equal(formatBytes(1000), "1000 bytes");
  assert.equal(formatBytes(1024), "1024 bytes (1.0 KiB)");
  assert.equal(formatBytes(1024 ** 3 * 1.5), "1610612736 bytes (1.5 GiB)");
});

Deno.test("windowRefusal - open inside any window, refused with the windows and next opening", () => {
  const windows = [
    { cron: "0 22 * * *", durationMinutes: 360 },
    { cron: "0 12 * * 6", durationMinutes: 60 },
  ];
  assert.equal(windowRefusal(`to bucket "b"`, undefined, 0), undefined);
  assert.equal(windowRefusal(`to bucket "b"`, [], 0), undefined);
  assert.equal(windowRefusal(`to bucket "b"`, windows, at("2026-11-23T22:00:00Z")), undefined);
  assert.equal(windowRefusal(`to bucket "b"`, windows, at("2026-11-24T03:59:59Z")), undefined);
  assert.equal(
    windowRefusal(`to bucket "b"`, windows, at("2026-11-28T12:30:00Z")),
    undefined,
    "Saturday",
  );
  const r = windowRefusal(`to bucket "b"`, windows, at("2026-11-24T04:00:00Z"));
  assert.equal(r?.kind, "outsideWindow");
  assert.equal(
    r?.message,
    'Writes to bucket "b" are accepted only inside its upload windows "0 22 * * *" for 360 min, ' +
      '"0 12 * * 6" for 60 min (UTC); the next opens at 2026-11-24T22:00:00.000Z',
  );
  const sat = windowRefusal(`to bucket "b"`, windows, at("2026-11-28T11:00:00Z"));
  assert.ok(sat?.message.endsWith("2026-11-28T12:00:00.000Z"), sat?.message);
});

Deno.test("intervalRefusal - refuses until the interval has passed since the last version", () => {
  const target = { bucket: "b", key: "k" };
  const last = at("2026-11-23T10:00:00Z");
  assert.equal(intervalRefusal(target, undefined, last, last), undefined, "no interval set");
  assert.equal(intervalRefusal(target, 3600, undefined, last), undefined, "no earlier version");
  const r = intervalRefusal(target, 3600, last, last + 3_599_999);
  assert.equal(r?.kind, "tooFrequent");
  assert.ok(r?.message.includes("accepted from 2026-11-23T11:00:00.000Z"), r?.message);
  assert.equal(intervalRefusal(target, 3600, last, last + 3_600_000), undefined);
});

Deno.test("bodyLimit - the room left and the binding limit", () => {
  const plain = { freedBytes: 0, objectBytesSoFar: 0, addsObject: false };
  assert.deepEqual(
    bodyLimit("b", undefined, usage(5), plain),
    {},
  );
  assert.deepEqual(
    bodyLimit("b", {}, usage(5), plain),
    {},
  );
  const hard: QuotaPolicy = { hardBytes: 100 };
  const r1 = bodyLimit("b", hard, usage(60, 1, 10), plain);
  assert.ok("limit" in r1 && r1.limit?.bytes === 30 && r1.limit.refusal.kind === "quotaExceeded");
  // Replacing an unversioned object frees its bytes.
  const r2 = bodyLimit("b", hard, usage(100), { ...plain, freedBytes: 40 });
  assert.ok("limit" in r2 && r2.limit?.bytes === 40);
  // Full: refused before any body is read.
  const r3 = bodyLimit("b", hard, usage(100), plain);
  assert.ok("refusal" in r3 && r3.refusal.kind === "quotaExceeded");
  assert.ok(r3.refusal.message.includes("hard quota of 100 bytes"), r3.refusal.message);
  // The object size limit binds when it is the tighter one, minus parts already stored.
  const both: QuotaPolicy = { hardBytes: 1000, maxObjectBytes: 50 };
  const r4 = bodyLimit("b", both, usage(0), { ...plain, objectBytesSoFar: 20 });
  assert.ok("limit" in r4 && r4.limit?.bytes === 30 && r4.limit.refusal.kind === "objectTooLarge");
  const r5 = bodyLimit("b", both, usage(990), plain);
  assert.ok("limit" in r5 && r5.limit?.bytes === 10 && r5.limit.refusal.kind === "quotaExceeded");
  // A new object past maxObjects is refused up front; a replacement or a part is not.
  const count: QuotaPolicy = { maxObjects: 2 };
  const r7 = bodyLimit("b", count, usage(0, 2), { ...plain, addsObject: true });
  assert.ok("refusal" in r7 && r7.refusal.message.includes("at most 2 object versions"));
  assert.deepEqual(
    bodyLimit("b", count, usage(0, 2), plain),
    {},
  );
  const r6 = bodyLimit("b", both, usage(0), { ...plain, objectBytesSoFar: 60 });
  assert.ok("refusal" in r6 && r6.refusal.kind === "objectTooLarge");
});

Deno.test("commitVerdict - refuses only what a write adds past a limit", () => {
  const q: QuotaPolicy = { hardBytes: 100, softBytes: 80, maxObjects: 3, maxObjectBytes: 60 };
  assert.deepEqual(commitVerdict("b", undefined, usage(0), usage(1e12), 1e12), {});
  assert.deepEqual(commitVerdict("b", q, usage(10), usage(50), 40), {});
  assert.equal(commitVerdict("b", q, usage(10), usage(71), 61).refusal?.kind, "objectTooLarge");
  assert.equal(commitVerdict("b", q, usage(50), usage(101), 51).refusal?.kind, "quotaExceeded");
  // Uploads in progress count against the hard limit.
  assert.equal(
    commitVerdict("b", q, usage(50, 1, 40), usage(50, 1, 51), 11).refusal?.kind,
    "quotaExceeded",
  );
  // Over a lowered limit, a write that shrinks usage passes.
  assert.equal(commitVerdict("b", q, usage(150), usage(140), 10).refusal, undefined);
  // Exactly at the hard limit is allowed.
  assert.equal(
    commitVerdict("b", { hardBytes: 100 }, usage(50), usage(100), 50).refusal,
    undefined,
  );
  const count = commitVerdict("b", q, usage(10, 3), usage(20, 4), 10).refusal;
  assert.equal(count?.kind, "quotaExceeded");
  assert.ok(count?.message.includes("at most 3 object versions"));
  assert.equal(commitVerdict("b", q, usage(10, 4), usage(20, 4), 10).refusal, undefined);
  const soft = commitVerdict("b", q, usage(70), usage(90), 20);
  assert.equal(soft.refusal, undefined);
  assert.equal(
    soft.warning,
    'Bucket "b" uses 90 bytes, above its soft quota of 80 bytes (hard quota 100 bytes)',
  );
  assert.equal(commitVerdict("b", q, usage(70), usage(80), 10).warning, undefined);
});
