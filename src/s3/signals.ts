/**
 * Ransomware signals in the router: feeds the pure detector
 * (`ops/signals.ts`) with what each S3 request did, and turns every alert
 * into a metric, an audit record and a log line. `GET /health/signals`
 * (unsigned, like `/health/buckets`) lists the active signals and the latest
 * alerts for monitoring and the console. The learned profiles are saved in
 * the index every minute, so a restart does not forget them.
 *
 * @module
 */

import client from "prom-client";
import type { MetaClient } from "../channel/mod.ts";
import {
  log,
  SIGNAL_NAMES,
  type SignalAlert,
  SignalDetector,
  type SignalEvent,
  type SignalState,
  type SignalThresholds,
} from "../ops/mod.ts";
import type { Endpoint } from "./endpoint.ts";
import type { OpResult } from "./ops/context.ts";

/** Where the learned state lives in the index. */
const STATE_SETTING = "signals";
/** How often the learned state is saved. */
const SAVE_INTERVAL_MS = 60_000;
/** Alerts kept for `/health/signals`. */
const RECENT_ALERTS = 50;

/** Operations that change lock or retention settings. */
const LOCK_OPS: ReadonlySet<string> = new Set([
  "PutObjectRetention",
  "PutObjectLegalHold",
  "PutObjectLockConfiguration",
]);

/** What one finished S3 request did, as far as the signals care. */
export interface RequestFacts {
  op: Endpoint["op"] | "Unknown";
  bucket?: string;
  accessKey?: string;
  /** Undefined when the request failed. */
  result?: OpResult;
  time: number;
}

/** The router's ransomware-signal monitor. */
export class SignalMonitor {
  #meta: MetaClient;
  #detector: SignalDetector;
  #alerts: client.Counter<"signal">;
  #active: client.Gauge<"signal" | "subject">;
  #recent: SignalAlert[] = [];
  #dirty = false;
  #timer: ReturnType<typeof setInterval>;

  /**
   * @param deps The index, the metrics registry and thresholds.
   */
  constructor(
    deps: {
      meta: MetaClient;
      registry: client.Registry;
      thresholds?: Partial<SignalThresholds>;
      state?: SignalState;
    },
  ) {
    this.#meta = deps.meta;
    this.#detector = new SignalDetector(deps.thresholds, deps.state);
    this.#alerts = new client.Counter({
      name: "amber_signal_alerts_total",
      help: "Ransomware signals raised, by signal",
      labelNames: ["signal"],
      registers: [deps.registry],
    });
    for (const signal of SIGNAL_NAMES) this.#alerts.inc({ signal }, 0);
    this.#active = new client.Gauge({
      name: "amber_signal_active",
      help: "1 while a ransomware signal is active, by signal and bucket (or access key)",
      labelNames: ["signal", "subject"],
      registers: [deps.registry],
    });
    this.#timer = setInterval(() => void this.#save(), SAVE_INTERVAL_MS);
    Deno.unrefTimer(this.#timer);
  }

  /**
   * Loads the learned state saved in the index.
   *
   * @param meta The index.
   * @returns It, or undefined on a new vault (or when unreadable: learning starts over).
   */
  static async loadState(meta: MetaClient): Promise<SignalState | undefined> {
    const { value } = await meta.call({ type: "getSetting", name: STATE_SETTING });
    try {
      return value === undefined ? undefined : JSON.parse(value);
    } catch {
      return undefined;
    }
  }

  /** Takes one finished request. */
  observe(f: RequestFacts): void {
    if (f.bucket === undefined) return;
    const base = { time: f.time, bucket: f.bucket, accessKey: f.accessKey ?? "" };
    const events: SignalEvent[] = [];
    if (LOCK_OPS.has(f.op)) events.push({ kind: "lockChange", ...base });
    const r = f.result;
    if (r?.sealedBytesIn !== undefined && (r.bytesIn ?? 0) > 0) {
      events.push({
        kind: "write",
        ...base,
        plainBytes: r.bytesIn!,
        newStoredBytes: r.sealedBytesIn,
      });
    }
    for (let i = 0; i < (r?.deletes ?? 0); i++) events.push({ kind: "delete", ...base });
    for (const e of events) {
      this.#dirty = true;
      for (const alert of this.#detector.observe(e)) this.#raise(alert);
    }
  }

  #raise(alert: SignalAlert): void {
    this.#alerts.inc({ signal: alert.signal });
    this.#recent = [alert, ...this.#recent].slice(0, RECENT_ALERTS);
    log("warn", alert.message, { signal: alert.signal, subject: alert.subject });
    this.#meta.call({
      type: "audit",
      op: `signal ${alert.signal}`,
      target: alert.subject,
      outcome: "done",
      detail: alert.message,
    }).catch((e) => log("error", "Cannot audit a signal", { error: String(e) }));
  }

  /** Active signals and recent alerts at `now`; also sets the `amber_signal_active` gauge. */
  report(now: number): { active: SignalAlert[]; recent: SignalAlert[] } {
    const active = this.#detector.active(now);
    this.#active.reset();
    for (const a of active) this.#active.set({ signal: a.signal, subject: a.subject }, 1);
    return { active, recent: this.#recent };
  }

  async #save(): Promise<void> {
    if (!this.#dirty) return;
    this.#dirty = false;
    await this.#meta.call({
      type: "putSetting",
      name: STATE_SETTING,
      value: JSON.stringify(this.#detector.save()),
    }).catch((e) => log("error", "Cannot save the signal profiles", { error: String(e) }));
  }

  /** Stops the timer and saves the learned state; resolves once the index has it. */
  close(): Promise<void> {
    clearInterval(this.#timer);
    return this.#save();
  }
}
