import assert from "node:assert/strict";
import { parsePolicy } from "./policy.ts";

Deno.test("parsePolicy - a full policy reads back with defaults filled in", () => {
  const p = parsePolicy({
    quota: { hardBytes: 1000, softBytes: 800, maxObjects: 10, maxObjectBytes: 100 },
    uploadWindows: [{ cron: "0 22 * * *", durationMinutes: 360 }],
    minVersionIntervalSeconds: 60,
    freshness: [{ everyHours: 26 }, { prefix: "db/", everyHours: 0.5, minBytes: 1 }],
    maxRetentionDays: 400,
  });
  assert.deepEqual(p, {
    quota: { hardBytes: 1000, softBytes: 800, maxObjects: 10, maxObjectBytes: 100 },
    uploadWindows: [{ cron: "0 22 * * *", durationMinutes: 360 }],
    minVersionIntervalSeconds: 60,
    freshness: [
      { prefix: "", everyHours: 26, minBytes: 0 },
      { prefix: "db/", everyHours: 0.5, minBytes: 1 },
    ],
    maxRetentionDays: 400,
  });
  assert.deepEqual(parsePolicy({}), {});
});

Deno.test("parsePolicy - refuses what it cannot enforce, naming the field", () => {
  const cases: [unknown, RegExp][] = [
    [[], /must be a JSON object/],
    [{ quotas: {} }, /unknown field "quotas"/],
    [{ quota: { hardBytes: -1 } }, /"quota.hardBytes" must be a whole number ≥ 1/],
    [{ quota: { hardBytes: 1.5 } }, /quota.hardBytes/],
    [{ quota: { hardBytes: "1G" } }, /quota.hardBytes/],
    [{ quota: { softBytes: 10, hardBytes: 5 } }, /must not exceed/],
    [{ quota: { maxSize: 5 } }, /unknown field "maxSize"/],
    [{ uploadWindows: {} }, /must be a JSON array/],
    [{ uploadWindows: [{ cron: "0 22 * *", durationMinutes: 1 }] }, /expected 5 fields/],
    [{ uploadWindows: [{ cron: "0 22 * * *" }] }, /durationMinutes/],
    [{ uploadWindows: [{ cron: "0 22 * * *", durationMinutes: 50_000 }] }, /at most 44640/],
    [{ uploadWindows: Array(17).fill({ cron: "* * * * *", durationMinutes: 1 }) }, /at most 16/],
    [{ minVersionIntervalSeconds: 0 }, /minVersionIntervalSeconds/],
    [{ freshness: [{ prefix: "db/" }] }, /everyHours/],
    [{ freshness: [{ everyHours: 0 }] }, /above 0/],
    [{ freshness: [{ everyHours: 1, prefix: 3 }] }, /prefix must be a string/],
    [{ freshness: [{ everyHours: 1, minBytes: -5 }] }, /minBytes/],
    [{ maxRetentionDays: 0 }, /"maxRetentionDays" must be a whole number ≥ 1/],
    [{ maxRetentionDays: 36_501 }, /at most 36500/],
  ];
  for (const [body, message] of cases) {
    assert.throws(() => parsePolicy(body), message, JSON.stringify(body).slice(0, 80));
  }
});
