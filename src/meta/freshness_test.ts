import assert from "node:assert/strict";
import type { BucketUsage } from "../channel/mod.ts";
import { bucketHealth, type HealthInput } from "./freshness.ts";

const HOUR = 3_600_000;
const GIB = 1024 ** 3;
const empty: BucketUsage = { objects: 0, logicalBytes: 0, storedBytes: 0, uploadBytes: 0 };
const dbRule = { prefix: "db/", everyHours: 26, minBytes: GIB };

function input(over: Partial<HealthInput>): HealthInput {
  return {
    bucket: "b",
    rules: [dbRule],
    marks: [{}],
    usage: empty,
    since: 0,
    now: 0,
    ...over,
  };
}

Deno.test("bucketHealth - no rules and no quota is ok", () => {
  const h = bucketHealth(input({ rules: [], marks: [], now: 1e12 }));
  assert.deepEqual([h.state, h.reasons, h.freshness], ["ok", [], []]);
});

Deno.test("bucketHealth - a new rule gives one period of grace, then is late", () => {
  assert.equal(bucketHealth(input({ since: 10 * HOUR, now: 36 * HOUR })).state, "ok");
  const h = bucketHealth(input({ since: 10 * HOUR, now: 36 * HOUR + 1 }));
  assert.equal(h.state, "late");
  assert.equal(h.freshness[0].state, "late");
  assert.equal(h.freshness[0].dueAt, 36 * HOUR);
  assert.equal(
    h.reasons[0],
    'Expected a new object of at least 1073741824 bytes (1.0 GiB) under "db/" every 26 h, ' +
      "due by 1970-01-02T12:00:00.000Z; none has arrived",
  );
});

Deno.test("bucketHealth - ok while the last backup is within the cadence, late after", () => {
  const marks = [{ lastBackupAt: 100 * HOUR, lastBackupBytes: 2 * GIB, lastObjectAt: 100 * HOUR }];
  const ok = bucketHealth(input({ marks, now: 125 * HOUR }));
  assert.equal(ok.state, "ok");
  assert.equal(ok.freshness[0].dueAt, 126 * HOUR);
  assert.equal(ok.freshness[0].lastBackupBytes, 2 * GIB);
  const late = bucketHealth(input({ marks, now: 127 * HOUR }));
  assert.equal(late.state, "late");
  assert.ok(late.reasons[0].includes("the last arrived at 1970-01-05T04:00:00.000Z"));
});

Deno.test("bucketHealth - too-small when only smaller objects arrived within the cadence", () => {
  const marks = [{ lastBackupAt: 100 * HOUR, lastBackupBytes: GIB, lastObjectAt: 120 * HOUR }];
  const h = bucketHealth(input({ marks, now: 127 * HOUR }));
  assert.equal(h.state, "too-small");
  assert.ok(h.reasons[0].includes("all were smaller"), h.reasons[0]);
  // Once even the small objects are older than a period, it is late.
  assert.equal(bucketHealth(input({ marks, now: 147 * HOUR })).state, "late");
});

Deno.test("bucketHealth - over-quota above the soft limit, at the hard limit or object count", () => {
  const u = (logicalBytes: number, objects = 1) => ({ ...empty, logicalBytes, objects });
  const rules = { rules: [], marks: [] };
  const quota = { softBytes: 80, hardBytes: 100, maxObjects: 5 };
  assert.equal(bucketHealth(input({ ...rules, quota, usage: u(80) })).state, "ok");
  const soft = bucketHealth(input({ ...rules, quota, usage: u(81) }));
  assert.deepEqual([soft.state, soft.reasons], [
    "over-quota",
    ["Usage 81 bytes is above the soft quota of 80 bytes"],
  ]);
  const hard = bucketHealth(input({ ...rules, quota, usage: { ...u(60), uploadBytes: 40 } }));
  assert.ok(hard.reasons[0].includes("reached the hard quota"), hard.reasons[0]);
  const count = bucketHealth(input({ ...rules, quota, usage: u(1, 5) }));
  assert.ok(count.reasons[0].includes("5 object versions"), count.reasons[0]);
});

Deno.test("bucketHealth - the most urgent state wins and every reason is listed", () => {
  const h = bucketHealth(input({
    rules: [dbRule, { prefix: "logs/", everyHours: 1, minBytes: 0 }],
    marks: [{ lastObjectAt: 50 * HOUR }, {}],
    quota: { softBytes: 1 },
    usage: { ...empty, logicalBytes: 2 },
    now: 60 * HOUR,
  }));
  assert.equal(h.state, "late");
  assert.deepEqual(h.freshness.map((f) => f.state), ["too-small", "late"]);
  assert.equal(h.reasons.length, 3);
  const noLate = bucketHealth(input({
    marks: [{ lastObjectAt: 50 * HOUR }],
    quota: { softBytes: 1 },
    usage: { ...empty, logicalBytes: 2 },
    now: 60 * HOUR,
  }));
  assert.equal(noLate.state, "too-small");
});
