/**
 * The scrubber's pure parts: its rate (derived from the interval), the token
 * bucket and back-off that throttle it, the verdict on one chunk's shards,
 * and the id ranges the reference check walks. No I/O and no clock: times
 * are passed in.
 *
 * @module
 */

/** Slowest derived scrub rate, bytes per second: a tiny vault still finishes a pass quickly. */
export const SCRUB_FLOOR_BYTES_PER_SECOND = 4 * 1024 * 1024;

/** A pass aims to finish within this share of the interval, leaving slack for back-off and restarts. */
export const SCRUB_INTERVAL_SHARE = 0.5;

/** A store that answers a ping slower than this is busy with foreground work, ms. */
export const BUSY_PING_MS = 15;

/** Longest back-off after a busy ping, ms. */
export const BUSY_BACKOFF_MAX_MS = 2000;

/**
 * The rate a scrub runs at: fast enough to read `totalBytes` within
 * {@linkcode SCRUB_INTERVAL_SHARE} of the interval, never below the floor,
 * and capped by a configured rate when there is one.
 *
 * @example
 * ```ts
 * import { scrubRate, SCRUB_FLOOR_BYTES_PER_SECOND } from "./plan.ts";
 * if (scrubRate(1, 604800, 0) !== SCRUB_FLOOR_BYTES_PER_SECOND) throw new Error("floor");
 * ```
 *
 * @param totalBytes Bytes a pass reads.
 * @param intervalSeconds The scrub interval.
 * @param capBytesPerSecond A configured rate; 0 for none.
 * @returns Bytes per second.
 */
export function scrubRate(
  totalBytes: number,
  intervalSeconds: number,
  capBytesPerSecond: number,
): number {
  if (capBytesPerSecond > 0) return capBytesPerSecond;
  const needed = totalBytes / (intervalSeconds * SCRUB_INTERVAL_SHARE);
  return Math.max(SCRUB_FLOOR_BYTES_PER_SECOND, Math.ceil(needed));
}

/**
 * A token bucket: bytes may be read at `rate` per second with a burst of
 * one second's worth; {@linkcode TokenBucket.take} says how long to wait.
 */
export class TokenBucket {
  #rate: number;
  #tokens: number;
  #at: number;

  /**
   * @param rate Bytes per second; 0 or Infinity for no limit.
   * @param now The current time, ms.
   */
  constructor(rate: number, now: number) {
    this.#rate = rate;
    this.#tokens = rate;
    this.#at = now;
  }

  /** The rate, bytes per second (0: unthrottled). */
  get rate(): number {
    return this.#rate > 0 && Number.isFinite(this.#rate) ? this.#rate : 0;
  }

  /**
   * Takes `bytes` tokens (the balance may go negative).
   *
   * @param bytes Bytes about to be (or just) read.
   * @param now The current time, ms.
   * @returns How long to wait before reading more, ms.
   */
  take(bytes: number, now: number): number {
    if (this.rate === 0) return 0;
    this.#tokens = Math.min(this.#rate, this.#tokens + (now - this.#at) / 1000 * this.#rate);
    this.#at = now;
    this.#tokens -= bytes;
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens / this.#rate * 1000);
  }
}

/**
 * How long to back off after pinging the store: nothing while it answers
 * quickly, else ten times the ping, capped.
 *
 * @example
 * ```ts
 * import { busyBackoffMs } from "./plan.ts";
 * if (busyBackoffMs(2) !== 0 || busyBackoffMs(50) !== 500) throw new Error("backoff");
 * ```
 *
 * @param pingMs The store's answer time, ms.
 * @returns Milliseconds to wait.
 */
export function busyBackoffMs(pingMs: number): number {
  if (pingMs < BUSY_PING_MS) return 0;
  return Math.min(BUSY_BACKOFF_MAX_MS, Math.round(pingMs * 10));
}

/**
 * Seconds left at a rate.
 *
 * @param done Bytes done.
 * @param total Bytes in all.
 * @param bytesPerSecond Measured rate.
 * @returns Seconds, or undefined while the rate is unknown.
 */
export function etaSeconds(
  done: number,
  total: number,
  bytesPerSecond: number,
): number | undefined {
  if (!(bytesPerSecond > 0)) return undefined;
  return Math.max(0, Math.ceil((total - done) / bytesPerSecond));
}

/** What a shard of a chunk looked like on disk. */
export interface ShardSeen {
  /** Drive slot. */
  drive: number;
  /** Shard index (0 for a whole format-v1 chunk). */
  shard: number;
  /** CRC-32 of the sealed chunk the shard header names (its seal). */
  crc: number;
  /** True when framing, record checksum, id and shard header are all good. */
  ok: boolean;
  /** The stripe geometry the shard's header names, when it has one. */
  geometry?: { k: number; m: number };
}

/** The verdict on one chunk's shards. */
export interface StripeVerdict {
  /** Shards to rewrite: bad ones, and ones missing from drives that should hold them. */
  bad: { drive: number; shard: number; missing: boolean }[];
  /** Good shards of the chosen seal. */
  good: number;
  /** True when at least `k` good shards are left, so the chunk can be read and repaired. */
  readable: boolean;
  /** The seal chosen (CRC-32 of the sealed chunk), when any shard is good. */
  crc?: number;
  /** The geometry of that seal (the drive count may have changed since other seals). */
  k: number;
  m: number;
}

/**
 * Judges one chunk's shards: the seal most drives hold wins (as the store
 * reads it); each shard index of `k + m` needs one good shard of that seal;
 * a bad shard, a shard of another seal, and a shard index no online drive
 * holds are all to be rewritten. A missing shard belongs on the first online
 * drive from its home slot (`(shard + id[0]) mod drives`) that holds no good
 * shard of the chunk, where the store would put it.
 *
 * @example
 * ```ts
 * import { judgeStripe } from "./plan.ts";
 * const v = judgeStripe(
 *   [{ drive: 0, shard: 0, crc: 7, ok: true }, { drive: 1, shard: 1, crc: 7, ok: false }],
 *   { k: 1, m: 1, online: [true, true], firstIdByte: 0 },
 * );
 * if (!v.readable || v.bad.length !== 1 || v.bad[0].drive !== 1) throw new Error("verdict");
 * ```
 *
 * @param seen Every shard record found for the chunk.
 * @param stripe Geometry, which drive slots are online, and the id's first byte.
 * @returns The verdict.
 */
export function judgeStripe(
  seen: ShardSeen[],
  stripe: { k: number; m: number; online: boolean[]; firstIdByte: number },
): StripeVerdict {
  const votes = new Map<number, number>();
  for (const s of seen) if (s.ok) votes.set(s.crc, (votes.get(s.crc) ?? 0) + 1);
  let crc: number | undefined;
  for (const [c, n] of votes) if (crc === undefined || n > votes.get(crc)!) crc = c;
  // The winning seal's own geometry: a stale seal from before the drive count changed may name another.
  const { k, m } = seen.find((s) => s.ok && s.crc === crc && s.geometry)?.geometry ?? stripe;
  const goodShards = new Set<number>();
  const bad: StripeVerdict["bad"] = [];
  const occupied = new Set<number>();
  for (const s of seen) {
    if (s.ok && s.crc === crc && !goodShards.has(s.shard)) {
      goodShards.add(s.shard);
      occupied.add(s.drive);
    } else bad.push({ drive: s.drive, shard: s.shard, missing: false });
  }
  const width = k + m;
  for (let j = 0; j < width; j++) {
    if (goodShards.has(j) || bad.some((b) => b.shard === j)) continue;
    const n = stripe.online.length;
    for (let step = 0; step < n; step++) {
      const d = (j + stripe.firstIdByte + step) % n;
      if (!stripe.online[d] || occupied.has(d)) continue;
      occupied.add(d);
      bad.push({ drive: d, shard: j, missing: true });
      break;
    }
  }
  return { bad, good: goodShards.size, readable: goodShards.size >= k, crc, k, m };
}

/**
 * Splits the chunk-id space into ranges of about `perRange` chunks, by the
 * first two id bytes (ids are keyed hashes, so they spread evenly). The
 * reference check holds one counter per chunk of one range at a time.
 *
 * @example
 * ```ts
 * import { idRanges } from "./plan.ts";
 * const r = idRanges(300_000, 100_000);
 * if (r.length !== 3 || r[0].lo !== 0 || r[2].hi !== 65536) throw new Error("ranges");
 * ```
 *
 * @param chunks Chunks in the index.
 * @param perRange Most chunks one range should hold.
 * @returns Half-open ranges of the 16-bit id prefix, covering it all.
 */
export function idRanges(chunks: number, perRange: number): { lo: number; hi: number }[] {
  const count = Math.min(65536, Math.max(1, Math.ceil(chunks / perRange)));
  const out: { lo: number; hi: number }[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ lo: Math.floor(i * 65536 / count), hi: Math.floor((i + 1) * 65536 / count) });
  }
  return out;
}

/** The 16-bit prefix of a chunk id, for {@linkcode idRanges}. */
export function idPrefix(id: Uint8Array): number {
  return (id[0] << 8) | id[1];
}
