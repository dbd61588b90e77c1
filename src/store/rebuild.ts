/**
 * The drive watcher: notices drives that vanish or come back, pays the
 * shards owed to drives that are online again, and rebuilds a replaced (or
 * returning) drive at a throttled rate, with progress in its status, the
 * metrics and the log.
 *
 * A returning drive is treated like a replacement: it may have missed writes
 * while it was away (or lost some in the moment it vanished), and rebuilding
 * only writes shards it lacks, so a drive that is nearly complete is quick.
 *
 * @module
 */

import type { DrivesStatus } from "../channel/mod.ts";
import { log } from "../ops/mod.ts";
import { DRIVE_MARKER_VERSION, markerPresent, probeDrive, writeMarker } from "./drives.ts";
import { toHex } from "./format.ts";
import type { Drive, StripedStore } from "./striped.ts";

/** How often drives are checked and owed shards paid, ms. */
export const DRIVE_PROBE_INTERVAL_MS = 2000;
/** Rebuild rate, bytes per second: leaves most of a disk's bandwidth to clients. */
export const REBUILD_BYTES_PER_SECOND = 64 * 1024 * 1024;
/** Owed shards paid per drive per tick. */
const OWED_PAGE = 256;
/** Chunk ids read per page while rebuilding. */
const REBUILD_PAGE = 256;
/** Chunks repaired at once while rebuilding. */
const REBUILD_LANES = 8;
/** A rebuild logs its progress at most this often, ms. */
const PROGRESS_LOG_MS = 10_000;

/** Progress of one drive's rebuild (the status message without its `done`). */
export type RebuildProgress = Omit<NonNullable<DrivesStatus["rebuild"]>, "done">;

/** What the watcher is opened with. */
export interface WatcherOptions {
  /** The vault id (drive markers). */
  vaultId: Uint8Array;
  /** @default {DRIVE_PROBE_INTERVAL_MS}; 0 disables the timer (tests call tick()). */
  intervalMs?: number;
  /** @default {REBUILD_BYTES_PER_SECOND} */
  rebuildBytesPerSecond?: number;
}

/** Watches the drives of one striped store. */
export class DriveWatcher {
  readonly #store: StripedStore;
  readonly #opts: WatcherOptions;
  #timer?: ReturnType<typeof setInterval>;
  #ticking: Promise<void> | undefined;
  #rebuilding: Promise<void> | undefined;
  #closed = false;
  /** The last reason each offline drive gave. */
  #problems = new Map<number, string | undefined>();
  /** The running (or last) rebuild. */
  progress: RebuildProgress | undefined;

  /**
   * @param store The striped store.
   * @param opts Vault id, tick interval, rebuild rate.
   */
  constructor(store: StripedStore, opts: WatcherOptions) {
    this.#store = store;
    this.#opts = opts;
    const interval = opts.intervalMs ?? DRIVE_PROBE_INTERVAL_MS;
    if (interval > 0) this.#timer = setInterval(() => this.tick(), interval);
    // Start a rebuild left unfinished (or a replacement found at start-up) at once.
    this.tick();
  }

  /**
   * One round: check drives, pay owed shards, start a rebuild if one is due.
   * Overlapping calls share the round under way.
   */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick()
      .catch((e) => log("warn", "Drive watcher round failed", { error: (e as Error).message }))
      .finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    for (const d of this.#store.drives) {
      if (this.#closed) return;
      if (d.store && !markerPresent(d.path)) {
        log("warn", "Drive went offline: its marker is gone", { drive: d.index, path: d.path });
        this.#store.detach(d);
      } else if (!d.store) {
        const r = probeDrive(d, this.#opts.vaultId);
        if (r.state === "offline") {
          // Said once per new reason, not every round.
          if (r.problem && this.#problems.get(d.index) !== r.problem) {
            log("warn", "Drive is offline", { drive: d.index, path: d.path, problem: r.problem });
          }
          this.#problems.set(d.index, r.problem);
          continue;
        }
        this.#problems.delete(d.index);
        try {
          await this.#store.attach(d);
          d.state = "rebuilding";
          log("info", "Drive is back; rebuilding its missing shards", {
            drive: d.index,
            path: d.path,
          });
        } catch (e) {
          log("warn", "Cannot open drive", { drive: d.index, error: (e as Error).message });
        }
      }
    }
    await this.#payOwed();
    const due = this.#store.drives.filter((d) => d.store && d.state === "rebuilding");
    if (due.length > 0 && !this.#rebuilding && !this.#closed) {
      this.#rebuilding = this.#rebuild(due).catch((e) =>
        log("warn", "Rebuild stopped", {
          drives: due.map((d) => d.index),
          error: (e as Error).message,
        })
      ).finally(() => (this.#rebuilding = undefined));
    }
  }

  /** Waits for the rebuild under way, if any (tests). */
  async settled(): Promise<void> {
    await this.#ticking;
    await this.#rebuilding;
  }

  async #payOwed(): Promise<void> {
    for (const d of this.#store.drives) {
      if (!d.store || this.#closed) continue;
      for (const id of this.#store.owed.take(d.index, OWED_PAGE)) {
        try {
          await this.#store.repair(id, [d.index]);
          this.#store.owed.remove(d.index, id);
        } catch (e) {
          const kind = (e as { kind?: string }).kind;
          // A chunk deleted since owes nothing. One that cannot be rebuilt now (too few good shards
          // met, perhaps for a while) stays owed; an I/O failure on the drive ends this round.
          if (kind === "notFound") this.#store.owed.remove(d.index, id);
          else if (kind !== "corrupt") break;
        }
      }
    }
  }

  /** Rebuilds the given drives in one pass over the others' chunk ids. */
  async #rebuild(targets: Drive[]): Promise<void> {
    const slots = targets.map((d) => d.index);
    const sources = this.#store.drives.filter((s) => !targets.includes(s) && s.store);
    const p: RebuildProgress = {
      drives: slots,
      checkedChunks: 0,
      totalChunks: sources.reduce((n, s) => n + (s.store?.stats().chunks ?? 0), 0),
      rebuiltShards: 0,
      rebuiltBytes: 0,
      failedChunks: 0,
      startedAt: Date.now(),
    };
    this.progress = p;
    log("info", "Rebuilding drives", { drives: slots, chunks: p.totalChunks });
    // The stores the pass writes into: a target swapped again meanwhile (detached and attached anew,
    // perhaps over two checks while the lanes waited on slow sources) lacks what was written before,
    // so the pass stops and the next check starts over.
    const stores = targets.map((d) => d.store);
    const present = () => targets.every((d, i) => d.store !== undefined && d.store === stores[i]);
    const rate = this.#opts.rebuildBytesPerSecond ?? REBUILD_BYTES_PER_SECOND;
    let lastLog = Date.now();
    // A source that went offline before its pass ended leaves chunks unvisited; a repair that
    // failed for I/O (not for too few good shards: no pass can rebuild those) is worth another.
    let sourceLost = false;
    let retry = false;
    for (const source of sources) {
      const sourceStore = source.store;
      let after: Uint8Array = new Uint8Array(0);
      while (true) {
        if (this.#closed || !present()) return; // resumed after restart or when the drive is back
        if (!sourceStore || source.store !== sourceStore) {
          // Gone, or back as a new store (itself rebuilding): its ids past `after` go unvisited.
          sourceLost = true;
          break;
        }
        const ids = sourceStore.idsAfter(after, REBUILD_PAGE);
        if (ids.length === 0) break;
        after = ids[ids.length - 1];
        let next = 0;
        // Several repairs in flight, so the drive's group commit shares one fsync among them.
        const lane = async () => {
          while (next < ids.length && !this.#closed && present()) {
            const id = ids[next++];
            p.checkedChunks++;
            try {
              const r = await this.#store.repair(id, slots);
              p.rebuiltShards += r.shards;
              p.rebuiltBytes += r.bytes;
            } catch (e) {
              const kind = (e as { kind?: string }).kind;
              if (kind !== "notFound") p.failedChunks++;
              if (kind !== "notFound" && kind !== "corrupt") retry = true;
            }
            // Throttle: stay under the rate averaged since the start.
            const ahead = p.rebuiltBytes / rate * 1000 - (Date.now() - p.startedAt);
            if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
          }
        };
        await Promise.all(Array.from({ length: REBUILD_LANES }, lane));
        if (Date.now() - lastLog > PROGRESS_LOG_MS) {
          lastLog = Date.now();
          log("info", "Rebuild progress", { ...p });
        }
      }
    }
    if (this.#closed || !present()) return;
    if (retry || sourceLost) {
      // Not ready: a drive called ready would be counted on to survive the next loss. It stays
      // rebuilding, and the next drive check runs the pass again.
      log("warn", "Rebuild incomplete; it runs again at the next drive check", {
        ...p,
        sourceLost,
        retry,
        seconds: (Date.now() - p.startedAt) / 1000,
      });
      return;
    }
    for (const d of targets) {
      d.state = "ready";
      writeMarker(d.path, {
        format: DRIVE_MARKER_VERSION,
        vaultId: toHex(this.#opts.vaultId),
        drive: d.index,
        state: "ready",
      });
    }
    // The next drive waiting for a rebuild starts now, not at the next tick.
    setTimeout(() => this.#closed || this.tick(), 0);
    // Chunks with too few good shards anywhere stay lost (the scrubber names their objects).
    log(p.failedChunks > 0 ? "warn" : "info", "Rebuilt drives", {
      ...p,
      seconds: (Date.now() - p.startedAt) / 1000,
    });
  }

  /** Stops the timer and waits for the work under way to stop. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#ticking;
    await this.#rebuilding;
  }
}
