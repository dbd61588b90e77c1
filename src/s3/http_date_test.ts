import assert from "node:assert/strict";
import { parseHttpDate } from "./http_date.ts";

Deno.test("parseHttpDate - the three forms of RFC 9110 name the same instant, in GMT", () => {
  const t = Date.UTC(1994, 10, 6, 8, 49, 37);
  assert.equal(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), t);
  assert.equal(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), t);
  assert.equal(parseHttpDate("Sun Nov  6 08:49:37 1994"), t);
  assert.equal(parseHttpDate("Thursday, 01-Jan-26 00:00:00 GMT"), Date.UTC(2026, 0, 1));
});

Deno.test("parseHttpDate - every second's IMF-fixdate reads back (toUTCString writes that form)", () => {
  let seed = 12345;
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const t = Math.floor((seed / 2 ** 31) * 4e12 / 1000) * 1000;
    assert.equal(parseHttpDate(new Date(t).toUTCString()), t);
  }
});

Deno.test("parseHttpDate - what is no HTTP date is undefined, so the header is ignored", () => {
  for (
    const s of [
      "1",
      "2020",
      "12/31/2099",
      "2026-11-24T05:00:00Z",
      "Sun, 06 Nov 1994 08:49:37 PST",
      "Sun, 06 Foo 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 25:49:37 GMT",
      "",
    ]
  ) {
    assert.equal(parseHttpDate(s), undefined, s);
  }
  assert.equal(parseHttpDate(null), undefined);
});
