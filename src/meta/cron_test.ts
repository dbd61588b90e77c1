import assert from "node:assert/strict";
import { cronMatches, lastMatch, nextMatch, parseCron } from "./cron.ts";

const at = (iso: string) => Date.parse(iso);
const MINUTE = 60_000;
const DAY = 86_400_000;

/** Brute-force reference: does any minute in (t - lookback, t] match? */
function bruteLast(expr: string, t: number, lookbackMs: number): number | undefined {
  const spec = parseCron(expr);
  for (let m = Math.floor(t / MINUTE) * MINUTE; m > t - lookbackMs; m -= MINUTE) {
    if (cronMatches(spec, m)) return m;
  }
  return undefined;
}

Deno.test("parseCron - fields, ranges, steps and lists", () => {
  const s = parseCron("*/15 9-17 1,15 */3 1-5");
  assert.deepEqual([...s.minutes], [0, 15, 30, 45]);
  assert.deepEqual([...s.hours], [9, 10, 11, 12, 13, 14, 15, 16, 17]);
  assert.deepEqual([...s.daysOfMonth], [1, 15]);
  assert.deepEqual([...s.months], [1, 4, 7, 10]);
  assert.deepEqual([...s.daysOfWeek], [1, 2, 3, 4, 5]);
  assert.deepEqual([...parseCron("0 0 * * 7").daysOfWeek], [0], "7 is Sunday");
  assert.deepEqual([...parseCron("5/20 * * * *").minutes], [5, 25, 45]);
  assert.deepEqual([...parseCron("10-20/5 * * * *").minutes], [10, 15, 20]);
});

Deno.test("parseCron - refuses malformed expressions, naming the field", () => {
  const cases: [string, RegExp][] = [
    ["0 22 * *", /expected 5 fields/],
    ["60 * * * *", /minute.*outside 0-59/],
    ["0 24 * * *", /hour.*outside 0-23/],
    ["0 0 0 * *", /day of month.*outside 1-31/],
    ["0 0 * 13 *", /month.*outside 1-12/],
    ["0 0 * * 8", /day of week.*outside 0-7/],
    ["*/0 * * * *", /step is 0/],
    ["5-1 * * * *", /5 > 1/],
    ["a * * * *", /no number/],
    ["1/2/3 * * * *", /minute/],
  ];
  for (const [expr, message] of cases) assert.throws(() => parseCron(expr), message, expr);
});

Deno.test("cronMatches - UTC fields; both day fields restricted means either", () => {
  const nightly = parseCron("0 22 * * *");
  assert.ok(cronMatches(nightly, at("2026-11-23T22:00:00Z")));
  assert.ok(cronMatches(nightly, at("2026-11-23T22:00:59.999Z")), "the whole minute matches");
  assert.ok(!cronMatches(nightly, at("2026-11-23T22:01:00Z")));
  // 2026-11-23 is a Monday; the 1st of December 2026 is a Tuesday.
  const either = parseCron("0 0 1 * 1");
  assert.ok(cronMatches(either, at("2026-11-23T00:00:00Z")), "Monday");
  assert.ok(cronMatches(either, at("2026-12-01T00:00:00Z")), "the 1st");
  assert.ok(!cronMatches(either, at("2026-11-24T00:00:00Z")));
  const weekdays = parseCron("0 0 * * 1-5");
  assert.ok(!cronMatches(weekdays, at("2026-11-22T00:00:00Z")), "Sunday");
  const firsts = parseCron("0 0 1 * *");
  assert.ok(!cronMatches(firsts, at("2026-11-23T00:00:00Z")));
});

Deno.test("lastMatch - an open window is found across midnight, month and year ends", () => {
  const nightly = parseCron("0 22 * * *");
  assert.equal(
    lastMatch(nightly, at("2026-11-24T03:59:00Z"), 360 * MINUTE),
    at("2026-11-23T22:00:00Z"),
  );
  assert.equal(lastMatch(nightly, at("2026-11-24T04:00:00Z"), 360 * MINUTE), undefined);
  assert.equal(lastMatch(nightly, at("2026-11-23T21:59:59Z"), 360 * MINUTE), undefined);
  const newYear = parseCron("30 23 31 12 *");
  assert.equal(
    lastMatch(newYear, at("2027-01-01T00:10:00Z"), 60 * MINUTE),
    at("2026-12-31T23:30:00Z"),
  );
});

Deno.test("lastMatch and nextMatch - agree with a minute-by-minute search", () => {
  const exprs = [
    "0 22 * * *",
    "*/7 */5 * * *",
    "15 3 1,15 * *",
    "0 0 * * 0",
    "0 12 13 * 5",
    "45 23 29 2 *",
    "0 8-18/2 * 1-6 1-5",
  ];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const expr of exprs) {
    const spec = parseCron(expr);
    for (let i = 0; i < 25; i++) {
      const t = at("2026-01-01T00:00:00Z") + Math.floor(random() * 3 * 365 * DAY);
      const lookback = Math.floor(random() * 3 * DAY);
      assert.equal(lastMatch(spec, t, lookback), bruteLast(expr, t, lookback), `${expr} at ${t}`);
      const next = nextMatch(spec, t, 2 * DAY);
      if (next !== undefined) {
        assert.ok(cronMatches(spec, next) && next > t, expr);
        assert.equal(bruteLast(expr, next - MINUTE, next - MINUTE - t), undefined, expr);
      }
    }
  }
});

Deno.test("nextMatch - finds rare matches far ahead and gives up past the horizon", () => {
  const leap = parseCron("0 0 29 2 *");
  assert.equal(nextMatch(leap, at("2026-03-01T00:00:00Z"), 800 * DAY), at("2028-02-29T00:00:00Z"));
  assert.equal(nextMatch(leap, at("2026-03-01T00:00:00Z"), 100 * DAY), undefined);
});
