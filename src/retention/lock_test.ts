import assert from "node:assert/strict";
import {
  decide,
  isRetained,
  type LockMode,
  type LockRequest,
  retentionEnd,
  type VersionLock,
} from "./lock.ts";

const NOW = 1_000_000;
const MODES: (LockMode | undefined)[] = [undefined, "GOVERNANCE", "COMPLIANCE"];
const UNTILS = [undefined, NOW - 1, NOW, NOW + 1];

/** Every lock state of the bounded domain. */
function* locks(): Generator<VersionLock> {
  for (const mode of MODES) {
    for (const retainUntil of UNTILS) {
      for (const legalHold of [false, true]) yield { mode, retainUntil, legalHold };
    }
  }
}

/** Every request of the bounded domain. */
function* requests(): Generator<LockRequest> {
  for (const bypassGovernance of [false, true]) {
    yield { kind: "deleteVersion", bypassGovernance };
    for (const mode of MODES) {
      for (const retainUntil of [undefined, NOW - 5, NOW + 1, NOW + 2]) {
        yield { kind: "putRetention", mode, retainUntil, bypassGovernance };
      }
    }
  }
  yield { kind: "putLegalHold", on: true };
  yield { kind: "putLegalHold", on: false };
}

/** The rules restated independently, case by case, as the oracle. */
function expected(lock: VersionLock, req: LockRequest): boolean {
  const retained = lock.mode !== undefined && lock.retainUntil !== undefined &&
    lock.retainUntil > NOW;
  if (req.kind === "putLegalHold") return true;
  if (req.kind === "deleteVersion") {
    if (lock.legalHold) return false;
    if (!retained) return true;
    return lock.mode === "GOVERNANCE" && req.bypassGovernance;
  }
  if (!retained) return true;
  if (lock.mode === "GOVERNANCE" && req.bypassGovernance) return true;
  const extendsSameMode = req.mode === lock.mode && req.retainUntil !== undefined &&
    req.retainUntil >= lock.retainUntil!;
  return extendsSameMode;
}

Deno.test("decide - exhaustive over modes × retain-until before/at/after now × legal hold × bypass × request", () => {
  let cases = 0;
  for (const lock of locks()) {
    for (const req of requests()) {
      assert.equal(
        decide(lock, req, NOW).allowed,
        expected(lock, req),
        JSON.stringify({ lock, req }),
      );
      cases++;
    }
  }
  assert.equal(cases, 24 * 28); // 3 modes × 4 dates × 2 holds; 2 × (1 delete + 3 × 4 retentions) + 2 holds
});

Deno.test("decide - retention is over exactly at retain-until", () => {
  const lock: VersionLock = { mode: "COMPLIANCE", retainUntil: NOW, legalHold: false };
  assert.equal(isRetained(lock, NOW - 1), true);
  assert.equal(isRetained(lock, NOW), false);
  assert.equal(decide(lock, { kind: "deleteVersion", bypassGovernance: false }, NOW).allowed, true);
});

Deno.test("decide - no request sequence removes or shortens COMPLIANCE retention before it ends (property)", () => {
  let seed = 42;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let run = 0; run < 2000; run++) {
    const until = NOW + 1 + rand(1000);
    let lock: VersionLock = { mode: "COMPLIANCE", retainUntil: until, legalHold: rand(2) === 1 };
    let now = NOW;
    for (let step = 0; step < 20; step++) {
      now += rand(3); // time moves forward a little, never past the lock in most runs
      const bypassGovernance = rand(2) === 1;
      const modes: (LockMode | undefined)[] = [undefined, "GOVERNANCE", "COMPLIANCE"];
      const req: LockRequest = rand(3) === 0
        ? { kind: "deleteVersion", bypassGovernance }
        : rand(2) === 0
        ? { kind: "putLegalHold", on: rand(2) === 1 }
        : {
          kind: "putRetention",
          mode: modes[rand(3)],
          retainUntil: now + rand(2000) - 500,
          bypassGovernance,
        };
      const d = decide(lock, req, now);
      if (!d.allowed) continue;
      if (now < until) {
        assert.notEqual(req.kind, "deleteVersion", "a retained COMPLIANCE version was deleted");
      }
      if (req.kind === "putRetention") {
        if (now < lock.retainUntil!) {
          assert.equal(req.mode, "COMPLIANCE");
          assert.ok(req.retainUntil! >= lock.retainUntil!);
        }
        lock = { ...lock, mode: req.mode, retainUntil: req.retainUntil };
      } else if (req.kind === "putLegalHold") lock = { ...lock, legalHold: req.on };
    }
    if (now < until) assert.ok(lock.mode === "COMPLIANCE" && lock.retainUntil! >= until);
  }
});

Deno.test("retentionEnd - days of 24 hours, calendar years, and no end past the dates JavaScript holds", () => {
  const leap = Date.UTC(2028, 1, 29, 12);
  assert.equal(retentionEnd(leap, { days: 1 }), Date.UTC(2028, 2, 1, 12));
  // Feb 29 plus a year is Mar 1, as setUTCFullYear rolls over.
  assert.equal(retentionEnd(leap, { years: 1 }), Date.UTC(2029, 2, 1, 12));
  assert.equal(retentionEnd(leap, { years: 100 }), Date.UTC(2128, 1, 29, 12));
  assert.throws(() => retentionEnd(8.64e15, { days: 1 }), RangeError);
});
