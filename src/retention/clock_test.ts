import assert from "node:assert/strict";
import {
  ATTESTATION_LEAD_MAX_MS,
  attestClock,
  CREDIT_REFILL_RATIO,
  persistable,
  readClock,
} from "./clock.ts";

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
  assert.deepEqual(saved, { trusted: 1_000_500, creditMs: DAY });

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
  const at = { wallNow: 50_000, monotonicNow: 6, maxJumpMs: DAY };
  const forward = attestClock({ ...state, creditMs: 0 }, 50_000, at);
  assert.deepEqual(forward, { state: { trusted: 50_000, monotonic: 6, creditMs: DAY } });
  const back = attestClock(state, 1_000, at);
  assert.deepEqual(back, { state: { trusted: 10_000, monotonic: 6, creditMs: DAY } });
  const ahead = attestClock(state, 50_000 + ATTESTATION_LEAD_MAX_MS + 1, at);
  assert.ok("refused" in ahead);
});

Deno.test("readClock - restarts with the clock pushed ahead never credit more than the allowance in all, until running time refills it (property)", () => {
  let seed = 11;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let run = 0; run < 200; run++) {
    let state = persistable(readClock(undefined, 1_000_000, opts(0)).state);
    let creditedByRestarts = 0;
    let ranMs = 0;
    for (let restart = 0; restart < 50; restart++) {
      // Each restart: the clock a little ahead (an attacker's steps, or a real outage), then a short run.
      const wall = state.trusted + rand(2 * DAY);
      const first = readClock(state, wall, opts(0));
      creditedByRestarts += first.now - state.trusted;
      const ran = rand(60_000);
      ranMs += ran;
      state = persistable(readClock(first.state, 0, opts(ran)).state);
      assert.ok(
        creditedByRestarts <= DAY + ranMs / CREDIT_REFILL_RATIO + 1e-6,
        `run ${run}: ${creditedByRestarts} ms credited by ${
          restart + 1
        } restarts after ${ranMs} ms of running`,
      );
    }
  }
});

Deno.test("readClock - a year lock survives 365 restarts each a day ahead; a month of running refills a day of credit", () => {
  let state = persistable(readClock(undefined, 0, opts(0)).state);
  for (let i = 1; i <= 365; i++) {
    const r = readClock(state, i * DAY, opts(0));
    state = persistable(readClock(r.state, 0, opts(10)).state);
  }
  // A day of credit, the 3.65 s run, and what that running refilled.
  assert.ok(
    state.trusted <= DAY + 3650 * (1 + 1 / CREDIT_REFILL_RATIO) + 1,
    `trusted ${state.trusted} ms`,
  );
  const month = readClock(readClock(state, 0, opts(0)).state, 0, opts(30 * DAY));
  const after = readClock(persistable(month.state), month.now + 2 * DAY, opts(0));
  assert.equal(after.now - month.now, DAY, "a day of credit again");
  assert.equal(after.uncreditedJumpMs, DAY);
});
