import assert from "node:assert/strict";
import { ATTESTATION_LEAD_MAX_MS, attestClock, persistable, readClock } from "./clock.ts";

const DAY = 86_400_000;
const opts = (monotonicNow: number) => ({ monotonicNow, maxJumpMs: DAY });

Deno.test("readClock - while running, the system clock moving either way changes nothing", () => {
  let r = readClock(undefined, 1_000_000, opts(0));
  for (const [wall, mono] of [[1_000_000 + 3650 * DAY, 10], [5, 20], [2_000_000, 30]]) {
    r = readClock(r.state, wall, opts(mono));
  }
  assert.equal(r.now, 1_000_030);
});

Deno.test("readClock - across a restart: backward jumps are ignored, forward jumps credited up to the allowance", () => {
  const running = readClock(undefined, 1_000_000, opts(0));
  const saved = persistable(readClock(running.state, 0, opts(500)).state);
  assert.deepEqual(saved, { trusted: 1_000_500 });

  const back = readClock(saved, 10, opts(0));
  assert.equal(back.now, 1_000_500);
  assert.equal(back.backwardMs, 1_000_490);

  const small = readClock(saved, 1_000_500 + 3_600_000, opts(0));
  assert.equal(small.now, 1_000_500 + 3_600_000);
  assert.equal(small.uncreditedJumpMs, undefined);

  const tenYears = readClock(saved, 1_000_500 + 3650 * DAY, opts(0));
  assert.equal(tenYears.now, 1_000_500 + DAY, "only the allowance is credited");
  assert.equal(tenYears.uncreditedJumpMs, 3649 * DAY);
});

Deno.test("readClock - trusted time never decreases over any sequence of restarts and readings (property)", () => {
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  let state = readClock(undefined, 1_000_000, opts(0)).state;
  let last = state.trusted;
  let mono = 0;
  for (let i = 0; i < 5000; i++) {
    if (rand(10) === 0) {
      state = persistable(state); // restart
      mono = rand(1000);
    } else mono += rand(100);
    const wall = rand(2) === 0 ? rand(10) * 365 * DAY : last - rand(1000);
    const r = readClock(state, wall, opts(mono));
    assert.ok(r.now >= last, `time went back at step ${i}`);
    assert.ok(
      r.now - last <= Math.max(DAY, 100),
      "more than the allowance or the monotonic step was credited",
    );
    last = r.now;
    state = r.state;
  }
});

Deno.test("attestClock - moves trusted time forward only, and never far past the system clock", () => {
  const state = { trusted: 10_000, monotonic: 5 };
  const forward = attestClock(state, 50_000, { wallNow: 50_000, monotonicNow: 6 });
  assert.deepEqual(forward, { state: { trusted: 50_000, monotonic: 6 } });
  const back = attestClock(state, 1_000, { wallNow: 50_000, monotonicNow: 6 });
  assert.deepEqual(back, { state: { trusted: 10_000, monotonic: 6 } });
  const ahead = attestClock(state, 50_000 + ATTESTATION_LEAD_MAX_MS + 1, {
    wallNow: 50_000,
    monotonicNow: 6,
  });
  assert.ok("refused" in ahead);
});
