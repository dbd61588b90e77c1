import assert from "node:assert/strict";
import {
  BUSY_BACKOFF_MAX_MS,
  busyBackoffMs,
  etaSeconds,
  idPrefix,
  idRanges,
  judgeStripe,
  SCRUB_FLOOR_BYTES_PER_SECOND,
  scrubRate,
  type ShardSeen,
  TokenBucket,
} from "./plan.ts";

Deno.test("scrubRate - derived from bytes and interval, with a floor and a cap", () => {
  const week = 7 * 86400;
  assert.deepEqual(scrubRate(0, week, 0), SCRUB_FLOOR_BYTES_PER_SECOND);
  // 10 TiB a week must be read in half a week.
  const big = 10 * 2 ** 40;
  assert.deepEqual(scrubRate(big, week, 0), Math.ceil(big / (week / 2)));
  assert(scrubRate(big, week, 0) > SCRUB_FLOOR_BYTES_PER_SECOND);
  assert.deepEqual(scrubRate(big, week, 1234), 1234);
});

Deno.test("TokenBucket - holds reads to the rate over time", () => {
  const b = new TokenBucket(1000, 0);
  assert.deepEqual(b.take(1000, 0), 0, "one second of burst");
  assert.deepEqual(b.take(500, 0), 500, "then waits for the tokens");
  assert.deepEqual(b.take(0, 500), 0, "tokens refilled by waiting");
  // Over 10 s of simulated reads, no more than rate × time + burst passes.
  const c = new TokenBucket(1000, 0);
  let now = 0;
  let read = 0;
  while (now < 10_000) {
    read += 100;
    now += c.take(100, now) || 1;
  }
  assert(read <= 1000 * 10 + 1000 + 100, `read ${read}`);
  assert(read >= 1000 * 10 * 0.9, `read ${read}`);
});

Deno.test("TokenBucket - rate 0 and Infinity do not throttle", () => {
  assert.deepEqual(new TokenBucket(0, 0).take(1e12, 0), 0);
  assert.deepEqual(new TokenBucket(Infinity, 0).take(1e12, 0), 0);
  assert.deepEqual(new TokenBucket(Infinity, 0).rate, 0);
});

Deno.test("busyBackoffMs - none while the store is quick, bounded when slow", () => {
  assert.deepEqual(busyBackoffMs(0), 0);
  assert.deepEqual(busyBackoffMs(14), 0);
  assert.deepEqual(busyBackoffMs(20), 200);
  assert.deepEqual(busyBackoffMs(10_000), BUSY_BACKOFF_MAX_MS);
});

Deno.test("etaSeconds - unknown without a rate, else the bytes left at it", () => {
  assert.deepEqual(etaSeconds(0, 100, 0), undefined);
  assert.deepEqual(etaSeconds(50, 100, 10), 5);
  assert.deepEqual(etaSeconds(100, 100, 10), 0);
});

Deno.test("idRanges - cover the 16-bit prefix space without gaps", () => {
  for (const [chunks, per] of [[0, 10], [1, 10], [99, 10], [1e9, 10], [12345, 100]]) {
    const r = idRanges(chunks, per);
    assert.deepEqual(r[0].lo, 0);
    assert.deepEqual(r.at(-1)!.hi, 65536);
    for (let i = 1; i < r.length; i++) assert.deepEqual(r[i].lo, r[i - 1].hi);
    assert(r.length <= 65536);
    assert(r.every((x) => x.hi > x.lo));
  }
  assert.deepEqual(idPrefix(new Uint8Array([0xab, 0xcd, 0xef])), 0xabcd);
});

const online4 = [true, true, true, true];

function healthy(k: number, m: number, first: number, crc = 9): ShardSeen[] {
  return [...Array(k + m).keys()].map((j) => ({
    drive: (j + first) % (k + m),
    shard: j,
    crc,
    ok: true,
  }));
}

Deno.test("judgeStripe - a healthy stripe has nothing to rewrite", () => {
  for (let first = 0; first < 4; first++) {
    const v = judgeStripe(healthy(2, 2, first), {
      k: 2,
      m: 2,
      online: online4,
      firstIdByte: first,
    });
    assert.deepEqual(v, { bad: [], good: 4, readable: true, crc: 9, k: 2, m: 2 });
  }
});

Deno.test("judgeStripe - every loss of up to m shards is readable, more is not", () => {
  for (let mask = 0; mask < 16; mask++) {
    const seen = healthy(2, 2, 1).map((s, i) => ({ ...s, ok: (mask & (1 << i)) === 0 }));
    const lost = seen.filter((s) => !s.ok).length;
    const v = judgeStripe(seen, { k: 2, m: 2, online: online4, firstIdByte: 1 });
    assert.deepEqual(v.readable, lost <= 2, `mask ${mask}`);
    assert.deepEqual(v.bad.length, lost);
    assert(v.bad.every((b) => !b.missing));
  }
});

Deno.test("judgeStripe - a missing shard is placed on its home drive", () => {
  const seen = healthy(2, 2, 3).filter((s) => s.shard !== 2);
  const v = judgeStripe(seen, { k: 2, m: 2, online: online4, firstIdByte: 3 });
  assert.deepEqual(v.bad, [{ drive: (2 + 3) % 4, shard: 2, missing: true }]);
});

Deno.test("judgeStripe - a missing shard on an offline drive is owed, not reported", () => {
  const seen = healthy(2, 2, 0).filter((s) => s.drive !== 1);
  const v = judgeStripe(seen, { k: 2, m: 2, online: [true, false, true, true], firstIdByte: 0 });
  assert.deepEqual(v.bad, []);
  assert(v.readable);
});

Deno.test("judgeStripe - shards of a minority seal are rewritten", () => {
  const seen = healthy(2, 2, 0);
  seen[3] = { ...seen[3], crc: 1 };
  const v = judgeStripe(seen, { k: 2, m: 2, online: online4, firstIdByte: 0 });
  assert.deepEqual(v.crc, 9);
  assert.deepEqual(v.bad, [{ drive: 3, shard: 3, missing: false }]);
});

Deno.test("judgeStripe - one drive without parity: a bad shard is unreadable", () => {
  const v = judgeStripe([{ drive: 0, shard: 0, crc: 0, ok: false }], {
    k: 1,
    m: 0,
    online: [true],
    firstIdByte: 0,
  });
  assert.deepEqual(v.readable, false);
  assert.deepEqual(v.bad.length, 1);
});

Deno.test("judgeStripe - the winning seal's own geometry counts, not the first row's", () => {
  // After the drive count grew from 4 to 6, the chunk was sealed anew at 4+2 on every drive but one,
  // which still holds a shard of its old 2+2 seal, and that row was met first.
  const seen = [
    { drive: 0, shard: 0, crc: 7, ok: true, geometry: { k: 2, m: 2 } },
    ...[1, 2, 3, 4, 5].map((d) => ({
      drive: d,
      shard: d,
      crc: 9,
      ok: true,
      geometry: { k: 4, m: 2 },
    })),
  ];
  const v = judgeStripe(seen, { k: 2, m: 2, online: Array(6).fill(true), firstIdByte: 0 });
  assert.deepEqual([v.crc, v.k, v.m, v.good, v.readable], [9, 4, 2, 5, true]);
  // Drive 0's old-seal shard is rewritten with the new seal's shard 0.
  assert.deepEqual(v.bad, [{ drive: 0, shard: 0, missing: false }]);
});
