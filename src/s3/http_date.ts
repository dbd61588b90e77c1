/**
 * HTTP dates as RFC 9110 §5.6.7 has them: IMF-fixdate, and the obsolete
 * RFC 850 and asctime forms a recipient must still read, all in GMT.
 * Anything else is no date (`Date.parse` takes "1" or "12/31/2099" as dates,
 * and reads asctime in the process's own time zone). Pure.
 *
 * @module
 */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const IMF_FIXDATE = /^[A-Z][a-z]{2}, (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC_850 = /^[A-Z][a-z]+, (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/**
 * Reads an HTTP date.
 *
 * @param value The header value.
 * @returns Milliseconds since the epoch, or undefined when it is no HTTP date (a recipient then
 *   ignores the header).
 *
 * @example
 * ```ts
 * import { parseHttpDate } from "./http_date.ts";
 * if (parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT") !== 784111777000) throw new Error();
 * if (parseHttpDate("Sun Nov  6 08:49:37 1994") !== 784111777000) throw new Error();
 * if (parseHttpDate("2020") !== undefined) throw new Error();
 * ```
 */
export function parseHttpDate(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const s = value.trim();
  let m = IMF_FIXDATE.exec(s);
  if (m) return utc(Number(m[3]), m[2], m[1], m[4], m[5], m[6]);
  m = RFC_850.exec(s);
  if (m) {
    // Two-digit years: RFC 9110 reads one more than 50 years ahead as the century before.
    const yy = Number(m[3]);
    return utc(yy < 70 ? 2000 + yy : 1900 + yy, m[2], m[1], m[4], m[5], m[6]);
  }
  m = ASCTIME.exec(s);
  if (m) return utc(Number(m[6]), m[1], m[2].trim(), m[3], m[4], m[5]);
  return undefined;
}

function utc(
  year: number,
  month: string,
  day: string,
  h: string,
  min: string,
  sec: string,
): number | undefined {
  const mon = MONTHS.indexOf(month);
  const d = Number(day);
  if (mon < 0 || d < 1 || d > 31 || Number(h) > 23 || Number(min) > 59 || Number(sec) > 60) {
    return undefined;
  }
  return Date.UTC(year, mon, d, Number(h), Number(min), Number(sec));
}
