import assert from "node:assert/strict";
import { SignalDetector, type SignalEvent } from "./signals.ts";

const MiB = 1024 * 1024;
const HOUR = 3_600_000;
const DAY0 = Date.UTC(2026, 10, 1);

function write(time: number, bucket: string, plainBytes: number, ratio: number): SignalEvent {
  return {
    kind: "write",
    time,
    bucket,
    accessKey: "backup",
    plainBytes,
    newStoredBytes: plainBytes * ratio,
  };
}

Deno.test("incompressible - uploads that stop compressing raise one alert, which clears when they compress again", () => {
  const d = new SignalDetector();
  let t = DAY0;
  for (let i = 0; i < 64; i++) assert.deepEqual(d.observe(write(t++, "db", 8 * MiB, 0.4)), []);
  const raised = [];
  for (let i = 0; i < 40; i++) raised.push(...d.observe(write(t++, "db", 8 * MiB, 1)));
  assert.equal(raised.length, 1);
  assert.equal(raised[0].signal, "incompressible");
  assert.equal(raised[0].subject, "db");
  assert.match(raised[0].message, /9\d % of their bytes are new, against 40 % before/);
  assert.equal(d.active(t).length, 1);
  for (let i = 0; i < 40; i++) d.observe(write(t++, "db", 8 * MiB, 0.3));
  assert.equal(d.active(t).length, 0);
});

Deno.test("incompressible - a bucket whose data never compressed (restic) stays quiet", () => {
  const d = new SignalDetector();
  for (let i = 0; i < 200; i++) {
    assert.deepEqual(d.observe(write(DAY0 + i, "restic", 8 * MiB, 1)), []);
  }
});

Deno.test("incompressible - a million tiny or empty writes keep the window small", () => {
  const d = new SignalDetector();
  for (let i = 0; i < 1_000_000; i++) d.observe(write(DAY0 + i, "many", i % 2 ? 0 : 4096, 0.5));
  const window = d.save().ratios.many.window;
  assert.ok(window.length <= 70, `window has ${window.length} slots`);
  const plain = window.reduce((n, [p]) => n + p, 0) + d.save().ratios.many.basePlain;
  assert.equal(plain, 500_000 * 4096, "no byte is lost from the totals");
});

Deno.test("deleteSpike - a burst far above the usual hourly deletes alerts; the same rate as usual does not", () => {
  const del = (time: number, bucket: string): SignalEvent => ({
    kind: "delete",
    time,
    bucket,
    accessKey: "k",
  });
  const d = new SignalDetector();
  for (let h = 0; h < 24; h++) {
    for (let i = 0; i < 5; i++) d.observe(del(DAY0 + h * HOUR + i, "quiet"));
    for (let i = 0; i < 600; i++) d.observe(del(DAY0 + h * HOUR + i, "busy"));
  }
  const burst = DAY0 + 24 * HOUR;
  const quiet = [];
  const busy = [];
  for (let i = 0; i < 600; i++) {
    quiet.push(...d.observe(del(burst + i, "quiet")));
    busy.push(...d.observe(del(burst + i, "busy")));
  }
  assert.equal(quiet.length, 1);
  assert.match(quiet[0].message, /500 this hour against 5\.0 an hour usually/);
  assert.deepEqual(busy, []);
  assert.equal(d.active(burst + 2 * HOUR).length, 0, "an hourly signal ends with its hour");
});

Deno.test("lockChurn - the fiftieth lock change in an hour alerts, and the count restarts each hour", () => {
  const d = new SignalDetector();
  const lock = (time: number): SignalEvent => ({
    kind: "lockChange",
    time,
    bucket: "vault",
    accessKey: "k",
  });
  for (let i = 0; i < 49; i++) assert.deepEqual(d.observe(lock(DAY0 + i)), []);
  assert.equal(d.observe(lock(DAY0 + 49))[0]?.signal, "lockChurn");
  for (let i = 0; i < 49; i++) assert.deepEqual(d.observe(lock(DAY0 + HOUR + i)), []);
});

Deno.test("unusualHour - a key that always wrote at night is flagged writing at noon, and the state survives save()", () => {
  const d = new SignalDetector();
  for (let n = 0; n < 600; n++) {
    const night = DAY0 + (n % 30) * 24 * HOUR + (1 + (n % 3)) * HOUR;
    assert.deepEqual(d.observe(write(night, "b", 1, 1)), []);
  }
  const restored = new SignalDetector({}, JSON.parse(JSON.stringify(d.save())));
  assert.deepEqual(restored.observe(write(DAY0 + 40 * 24 * HOUR + 2 * HOUR, "b", 1, 1)), []);
  const noon = restored.observe(write(DAY0 + 40 * 24 * HOUR + 12 * HOUR, "b", 1, 1));
  assert.equal(noon.length, 1);
  assert.equal(noon[0].subject, "backup");
  assert.match(
    noon[0].message,
    /writing at 12:00 UTC, an hour that held 0 % of its 601 earlier writes/,
  );
});

Deno.test("SignalDetector - an unknown threshold name is refused, naming the known ones", () => {
  assert.throws(
    () => new SignalDetector({ nope: 1 } as Record<string, number>),
    /Unknown signal threshold "nope" \(AMBER_SIGNAL_THRESHOLDS\); known ones are incompressibleRatio/,
  );
});
