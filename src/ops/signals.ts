/**
 * Ransomware signals, pure: a detector fed with the vault's own traffic
 * (time passed in, no I/O) that raises an alert when a bucket's new uploads
 * stop compressing or deduplicating (data encrypted by an attacker), when
 * deletes or delete markers spike, when many lock or retention changes are
 * attempted, or when a key writes at an hour it never used to.
 *
 * Each alert is raised once when its condition starts and stays active until
 * the condition ends; the caller turns alerts into metrics, audit records and
 * log lines. The learned state (hour profiles, usual delete rates, upload
 * ratios) can be saved and restored, so a restart does not forget it.
 *
 * @module
 */

/** Names of the signals. */
export type SignalName = "incompressible" | "deleteSpike" | "lockChurn" | "unusualHour";

/** Every signal, for metrics. */
export const SIGNAL_NAMES: readonly SignalName[] = [
  "incompressible",
  "deleteSpike",
  "lockChurn",
  "unusualHour",
];

/** Thresholds; see {@linkcode DEFAULT_THRESHOLDS}. */
export interface SignalThresholds {
  /** New stored bytes per uploaded byte, over the recent window, at or above which uploads look encrypted. */
  incompressibleRatio: number;
  /** The bucket's earlier ratio must lie at or below this for a rise to count (restic data never compresses). */
  baselineRatio: number;
  /** Uploaded bytes the recent window spans, and the history needed before judging. */
  windowBytes: number;
  /** Deletes and delete markers in one hour at or above which a bucket's deletes may be a spike. */
  deletesPerHour: number;
  /** …and only if also this many times the bucket's usual hourly deletes. */
  deleteSpikeFactor: number;
  /** Lock and retention change attempts in one hour, per bucket, at or above which to alert. */
  lockChangesPerHour: number;
  /** A write at an hour of day holding less than this share of the key's writes is unusual. */
  unusualHourShare: number;
  /** Writes a key needs before its hours are judged. */
  hoursLearningWrites: number;
}

/** Defaults chosen to stay quiet under normal nightly backups. */
export const DEFAULT_THRESHOLDS: SignalThresholds = {
  incompressibleRatio: 0.95,
  baselineRatio: 0.8,
  windowBytes: 256 * 1024 * 1024,
  deletesPerHour: 500,
  deleteSpikeFactor: 10,
  lockChangesPerHour: 50,
  unusualHourShare: 0.01,
  hoursLearningWrites: 500,
};

/** What the detector is told. */
export type SignalEvent =
  | {
    kind: "write";
    time: number;
    bucket: string;
    accessKey: string;
    /** Bytes uploaded. */
    plainBytes: number;
    /** Bytes newly stored for them, after dedup and compression. */
    newStoredBytes: number;
  }
  /** A version removed or a delete marker added. */
  | { kind: "delete"; time: number; bucket: string; accessKey: string }
  /** A retention, legal hold or lock configuration change, allowed or refused. */
  | { kind: "lockChange"; time: number; bucket: string; accessKey: string };

/** A raised signal. */
export interface SignalAlert {
  signal: SignalName;
  /** The bucket, or for `unusualHour` the access key. */
  subject: string;
  /** When it was raised, ms. */
  since: number;
  message: string;
}

/** Learned state, JSON-safe. */
export interface SignalState {
  ratios: Record<string, { basePlain: number; baseStored: number; window: [number, number][] }>;
  deletes: Record<string, HourCounts>;
  locks: Record<string, HourCounts>;
  hours: Record<string, number[]>;
}

/** Counts per hour since the epoch, the last 25 kept. */
type HourCounts = Record<string, number>;

const HOUR_MS = 3_600_000;
/** The upload-ratio window is kept in about this many slots of windowBytes / WINDOW_SLOTS each. */
const WINDOW_SLOTS = 64;
const HISTORY_HOURS = 24;

/** Detects ransomware signals in a stream of events. */
export class SignalDetector {
  #t: SignalThresholds;
  #s: SignalState;
  #active = new Map<string, SignalAlert>();

  /**
   * @param thresholds Thresholds (defaults for any left out).
   * @param state Learned state from {@linkcode SignalDetector.save}.
   */
  constructor(thresholds: Partial<SignalThresholds> = {}, state?: SignalState) {
    for (const name of Object.keys(thresholds)) {
      if (!(name in DEFAULT_THRESHOLDS)) {
        throw new RangeError(
          `Unknown signal threshold "${name}" (AMBER_SIGNAL_THRESHOLDS); known ones are ${
            Object.keys(DEFAULT_THRESHOLDS).join(", ")
          }`,
        );
      }
    }
    this.#t = { ...DEFAULT_THRESHOLDS, ...thresholds };
    this.#s = state ?? { ratios: {}, deletes: {}, locks: {}, hours: {} };
  }

  /**
   * Takes one event.
   *
   * @param e The event.
   * @returns Alerts newly raised by it.
   *
   * @example
   * ```ts
   * import { SignalDetector } from "./signals.ts";
   * const d = new SignalDetector({ lockChangesPerHour: 3 });
   * const e = { kind: "lockChange" as const, time: 0, bucket: "b", accessKey: "k" };
   * d.observe(e); d.observe(e);
   * if (d.observe(e)[0]?.signal !== "lockChurn") throw new Error("no alert");
   * ```
   */
  observe(e: SignalEvent): SignalAlert[] {
    this.#expire(e.time);
    switch (e.kind) {
      case "write":
        return [...this.#write(e), ...this.#hour(e)];
      case "delete":
        return this.#delete(e);
      case "lockChange":
        return this.#lockChange(e);
    }
  }

  /** Signals active at `now`. */
  active(now: number): SignalAlert[] {
    this.#expire(now);
    return [...this.#active.values()];
  }

  /** The learned state, to persist. */
  save(): SignalState {
    return structuredClone(this.#s);
  }

  #raise(signal: SignalName, subject: string, time: number, message: string): SignalAlert[] {
    const id = `${signal}\0${subject}`;
    if (this.#active.has(id)) return [];
    const alert = { signal, subject, since: time, message };
    this.#active.set(id, alert);
    return [alert];
  }

  #clear(signal: SignalName, subject: string): void {
    this.#active.delete(`${signal}\0${subject}`);
  }

  /** Hourly signals end when their hour does. */
  #expire(now: number): void {
    for (const [id, a] of this.#active) {
      if (a.signal !== "incompressible" && hourOf(a.since) !== hourOf(now)) this.#active.delete(id);
    }
  }

  #write(e: Extract<SignalEvent, { kind: "write" }>): SignalAlert[] {
    const r = this.#s.ratios[e.bucket] ??= { basePlain: 0, baseStored: 0, window: [] };
    // Small writes share a slot, so the window holds at most about WINDOW_SLOTS entries
    // however many 4 KiB (or empty) objects arrive: each event costs O(slots), not O(writes).
    const last = r.window[r.window.length - 1];
    if (last && last[0] + e.plainBytes <= this.#t.windowBytes / WINDOW_SLOTS) {
      last[0] += e.plainBytes;
      last[1] += e.newStoredBytes;
    } else r.window.push([e.plainBytes, e.newStoredBytes]);
    let windowPlain = r.window.reduce((n, [p]) => n + p, 0);
    while (r.window.length > 1 && windowPlain - r.window[0][0] >= this.#t.windowBytes) {
      const [p, s] = r.window.shift()!;
      r.basePlain += p;
      r.baseStored += s;
      windowPlain -= p;
    }
    if (windowPlain < this.#t.windowBytes || r.basePlain < this.#t.windowBytes) return [];
    const recent = r.window.reduce((n, [, s]) => n + s, 0) / windowPlain;
    const base = r.baseStored / r.basePlain;
    if (recent >= this.#t.incompressibleRatio && base <= this.#t.baselineRatio) {
      return this.#raise(
        "incompressible",
        e.bucket,
        e.time,
        `New uploads to bucket "${e.bucket}" stopped compressing and deduplicating: ` +
          `${pct(recent)} of their bytes are new, against ${
            pct(base)
          } before (possible ransomware encryption)`,
      );
    }
    if (recent < this.#t.incompressibleRatio) this.#clear("incompressible", e.bucket);
    return [];
  }

  #delete(e: Extract<SignalEvent, { kind: "delete" }>): SignalAlert[] {
    const counts = this.#s.deletes[e.bucket] ??= {};
    const n = bump(counts, e.time);
    const usual = usualPerHour(counts, e.time);
    if (n >= this.#t.deletesPerHour && n >= this.#t.deleteSpikeFactor * usual) {
      return this.#raise(
        "deleteSpike",
        e.bucket,
        e.time,
        `Deletes in bucket "${e.bucket}" spiked: ${n} this hour against ${
          usual.toFixed(1)
        } an hour usually`,
      );
    }
    return [];
  }

  #lockChange(e: Extract<SignalEvent, { kind: "lockChange" }>): SignalAlert[] {
    const n = bump(this.#s.locks[e.bucket] ??= {}, e.time);
    if (n >= this.#t.lockChangesPerHour) {
      return this.#raise(
        "lockChurn",
        e.bucket,
        e.time,
        `${n} lock or retention changes were attempted in bucket "${e.bucket}" this hour`,
      );
    }
    return [];
  }

  #hour(e: Extract<SignalEvent, { kind: "write" }>): SignalAlert[] {
    const profile = this.#s.hours[e.accessKey] ??= new Array(24).fill(0);
    const h = hourOf(e.time) % 24;
    const total = profile.reduce((a, b) => a + b, 0);
    profile[h]++;
    if (total < this.#t.hoursLearningWrites) return [];
    const share = (profile[h] - 1) / total;
    if (share >= this.#t.unusualHourShare) return [];
    return this.#raise(
      "unusualHour",
      e.accessKey,
      e.time,
      `Access key "${e.accessKey}" is writing at ${String(h).padStart(2, "0")}:00 UTC, ` +
        `an hour that held ${pct(share)} of its ${total} earlier writes`,
    );
  }
}

function hourOf(time: number): number {
  return Math.floor(time / HOUR_MS);
}

/** Counts one event in its hour, drops hours past the history, and returns the hour's count. */
function bump(counts: HourCounts, time: number): number {
  const hour = hourOf(time);
  const n = (counts[hour] ?? 0) + 1;
  counts[hour] = n;
  for (const h of Object.keys(counts)) {
    if (Number(h) < hour - HISTORY_HOURS) delete counts[h];
  }
  return n;
}

/** Average count per hour over the history before the current hour. */
function usualPerHour(counts: HourCounts, time: number): number {
  const hour = hourOf(time);
  let sum = 0;
  for (const [h, n] of Object.entries(counts)) if (Number(h) < hour) sum += n;
  return sum / HISTORY_HOURS;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(0)} %`;
}
