/**
 * A small cron matcher for upload windows. Pure: times are passed in (ms
 * since the epoch, evaluated in UTC), nothing is read from a clock.
 *
 * Five fields: minute (0-59), hour (0-23), day of month (1-31), month
 * (1-12), day of week (0-7, 0 and 7 are Sunday). Each field is `*`, a
 * number, a range `a-b`, a step `*\/s` or `a-b/s`, or a comma list of
 * those. As in Vixie cron, when both day fields are restricted a day
 * matches if either does.
 *
 * @module
 */

/** A parsed cron expression. */
export interface CronSpec {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0-6, Sunday = 0. */
  daysOfWeek: ReadonlySet<number>;
  /** Whether the day-of-month field was `*` (or `*\/1`). */
  anyDayOfMonth: boolean;
  /** Whether the day-of-week field was `*`. */
  anyDayOfWeek: boolean;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
] as const;

function parseField(
  text: string,
  f: (typeof FIELDS)[number],
): { values: Set<number>; any: boolean } {
  const values = new Set<number>();
  const num = (s: string) => {
    if (!/^\d+$/.test(s)) {
      throw new Error(`Cannot read cron ${f.name} "${text}": "${s}" is no number`);
    }
    const n = Number(s);
    if (n < f.min || n > f.max) {
      throw new Error(`Cannot read cron ${f.name} "${text}": ${n} is outside ${f.min}-${f.max}`);
    }
    return n;
  };
  for (const part of text.split(",")) {
    const [range, stepText, extra] = part.split("/");
    if (extra !== undefined) throw new Error(`Cannot read cron ${f.name} "${text}"`);
    const step = stepText === undefined ? 1 : num(stepText);
    if (step === 0) throw new Error(`Cannot read cron ${f.name} "${text}": the step is 0`);
    let lo: number, hi: number;
    if (range === "*") [lo, hi] = [f.min, f.max];
    else if (range.includes("-")) {
      const [a, b] = range.split("-");
      [lo, hi] = [num(a), num(b)];
      if (lo > hi) throw new Error(`Cannot read cron ${f.name} "${text}": ${lo} > ${hi}`);
    } else {
      lo = num(range);
      hi = stepText === undefined ? lo : f.max;
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, any: text === "*" || text === "*/1" };
}

/**
 * Parses a five-field cron expression.
 *
 * @param expr For example `"0 22 * * *"` (every day at 22:00 UTC).
 * @returns The parsed expression.
 * @throws {Error} With a message naming the field that is wrong.
 *
 * @example
 * ```ts
 * import { cronMatches, parseCron } from "./cron.ts";
 * const nightly = parseCron("0 22 * * 1-5");
 * if (!cronMatches(nightly, Date.parse("2026-11-23T22:00:00Z"))) throw new Error("Monday 22:00");
 * ```
 */
export function parseCron(expr: string): CronSpec {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new Error(
      `Cannot read cron expression "${expr}": expected 5 fields, got ${fields.length}`,
    );
  }
  const [minute, hour, dom, month, dow] = fields.map((t, i) => parseField(t, FIELDS[i]));
  const daysOfWeek = new Set([...dow.values].map((d) => d % 7));
  return {
    minutes: minute.values,
    hours: hour.values,
    daysOfMonth: dom.values,
    months: month.values,
    daysOfWeek,
    anyDayOfMonth: dom.any,
    anyDayOfWeek: dow.any,
  };
}

function dayMatches(spec: CronSpec, d: Date): boolean {
  if (!spec.months.has(d.getUTCMonth() + 1)) return false;
  const dom = spec.daysOfMonth.has(d.getUTCDate());
  const dow = spec.daysOfWeek.has(d.getUTCDay());
  if (spec.anyDayOfMonth && spec.anyDayOfWeek) return true;
  if (spec.anyDayOfMonth) return dow;
  if (spec.anyDayOfWeek) return dom;
  return dom || dow;
}

/** Whether the minute holding `t` (ms since the epoch, UTC) matches. */
export function cronMatches(spec: CronSpec, t: number): boolean {
  const d = new Date(t);
  return dayMatches(spec, d) && spec.hours.has(d.getUTCHours()) &&
    spec.minutes.has(d.getUTCMinutes());
}

/**
 * The latest matching minute at or before `t` and after `t - lookbackMs`.
 *
 * @returns Its start, ms since the epoch, or undefined when none.
 */
export function lastMatch(spec: CronSpec, t: number, lookbackMs: number): number | undefined {
  const floor = t - lookbackMs;
  let m = Math.floor(t / MINUTE_MS) * MINUTE_MS;
  while (m > floor) {
    const d = new Date(m);
    if (!dayMatches(spec, d)) {
      m = Math.floor(m / DAY_MS) * DAY_MS - MINUTE_MS; // last minute of the day before
    } else if (!spec.hours.has(d.getUTCHours())) {
      m = Math.floor(m / HOUR_MS) * HOUR_MS - MINUTE_MS;
    } else if (!spec.minutes.has(d.getUTCMinutes())) {
      m -= MINUTE_MS;
    } else {
      return m;
    }
  }
  return undefined;
}

/**
 * The first matching minute after `t`, looking at most `horizonMs` ahead.
 *
 * @returns Its start, ms since the epoch, or undefined when none.
 */
export function nextMatch(spec: CronSpec, t: number, horizonMs: number): number | undefined {
  const limit = t + horizonMs;
  let m = Math.floor(t / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  while (m <= limit) {
    const d = new Date(m);
    if (!dayMatches(spec, d)) m = Math.floor(m / DAY_MS) * DAY_MS + DAY_MS;
    else if (!spec.hours.has(d.getUTCHours())) m = Math.floor(m / HOUR_MS) * HOUR_MS + HOUR_MS;
    else if (!spec.minutes.has(d.getUTCMinutes())) m += MINUTE_MS;
    else return m;
  }
  return undefined;
}
