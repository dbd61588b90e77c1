/**
 * Sealed chunks striped across drives with Reed–Solomon erasure coding.
 *
 * Layout: every drive is a {@linkcode SegmentStore} of its own (segments,
 * group commit and location index on that drive), so fsync batching works per
 * drive and a drive can be replaced on its own. A chunk sealed to `s` bytes
 * becomes `k` data shards of `ceil(s / k)` bytes and `m` parity shards; shard
 * `j` goes to drive `(j + id[0]) mod n`, so parity is spread over all drives
 * and reads (which use the data shards when they can) hit every drive. Each
 * shard record carries its own CRC-32 and a header naming its stripe (index,
 * k, m, sealed length, CRC-32 of the sealed chunk), so a bad shard is found
 * on its own and shards of two different seals of one chunk are never mixed.
 * The AEAD tag checks the rebuilt chunk end to end.
 *
 * Write quorum: a chunk is acknowledged once `k + 1` shards are durable
 * (`k` when `m = 0`), so every acknowledged chunk survives the loss of one
 * more drive. Shards owed to a drive that is offline or failed its write are
 * recorded in the {@linkcode OwedQueue} (fsync'd) before the acknowledgement
 * and written when the drive is back.
 *
 * Reads use any `k` shards that pass their checksum; a shard found bad or
 * missing on an online drive is rebuilt and rewritten in the background
 * (heal on read).
 *
 * Garbage collection: a chunk is deleted from every drive in one turn, and
 * only when no online drive saw it touched since the cutoff.
 *
 * @module
 */

import { crc32 } from "node:zlib";
import { log } from "../ops/mod.ts";
import type { DriveIO } from "./drive_io.ts";
import { StoreError } from "./errors.ts";
import { ReedSolomon } from "./erasure.ts";
import { decodeShard, joinParts, toHex } from "./format.ts";
import { OwedQueue } from "./owed.ts";
import type { ReadLease } from "./read_buffers.ts";
import type { ShardInfo } from "./chunk_index.ts";
import { type SegmentOptions, SegmentStore } from "./segments.ts";

/** A drive slot at run time. */
export interface Drive {
  /** Slot index. */
  index: number;
  /** Absolute path. */
  path: string;
  /** `rebuilding`: online, but may miss shards that are being rebuilt. */
  state: "ready" | "rebuilding" | "offline";
  /** The drive's segment store while it is online. */
  store?: SegmentStore;
}

/** What a {@linkcode StripedStore} is opened with. */
export interface StripedOptions {
  /** Drives in slot order, as classified at start-up. */
  drives: { index: number; path: string; state: Drive["state"] }[];
  /** Data shards per chunk. */
  k: number;
  /** Parity shards per chunk. */
  m: number;
  /** The vault's id (segment headers). */
  vaultId: Uint8Array;
  /** SQLite file of the owed-shard queue. */
  owedPath: string;
  /** Reads a whole sealed chunk's plaintext length (recovery of format v1 records). */
  plainLength: (payload: Uint8Array) => number;
  /** Segment sizes (tests shrink them). */
  segments?: Pick<SegmentOptions, "segmentMaxBytes" | "retireDelayMs">;
  /** The file operations of each drive slot (tests inject faults). @default {realDrive} */
  driveIo?: (slot: number) => DriveIO;
}

/** A shard of one chunk found on a drive. */
interface Held {
  drive: number;
  info: ShardInfo;
}

/** The consistent shards of one chunk: those of its most common seal. */
interface Stripe {
  k: number;
  m: number;
  crc: number;
  /** Drives holding a whole v1 chunk record (k = 1, m = 0), or shards of the chosen seal. */
  held: Held[];
  /** True for a whole (format v1) chunk record. */
  whole: boolean;
}

/** A shard to (re)write: which one, onto which drive. */
export interface Target {
  drive: number;
  shard: number;
}

/** A chunk read back, with the shards found bad on the way. */
interface ReadChunk {
  sealed: Uint8Array;
  plain: number;
  stripe: Stripe;
  bad: Target[];
}

/** The chunk store over all drives. */
export class StripedStore {
  /** The drive slots, in order. */
  readonly drives: Drive[];
  /** Data shards of new chunks. */
  readonly k: number;
  /** Parity shards of new chunks. */
  readonly m: number;
  /** Shards that must be durable before a write is acknowledged. */
  readonly writeQuorum: number;
  /** Shards owed to drives that missed them. */
  readonly owed: OwedQueue;
  readonly #opts: StripedOptions;
  readonly #codes = new Map<string, ReedSolomon>();
  readonly #healing = new Set<string>();
  #healChain: Promise<void> = Promise.resolve();
  /** Shards rewritten by heal on read since start. */
  healedShards = 0;
  /** Repairs under way, by chunk id: a new write of the chunk marks them rewritten. */
  #repairs = new Map<string, Set<{ rewritten: boolean }>>();

  private constructor(opts: StripedOptions, drives: Drive[]) {
    this.#opts = opts;
    this.drives = drives;
    this.k = opts.k;
    this.m = opts.m;
    this.writeQuorum = opts.m > 0 ? opts.k + 1 : opts.k;
    this.owed = new OwedQueue(opts.owedPath);
  }

  /**
   * Opens the segment store of every online drive.
   *
   * @param opts Drives, geometry, vault id, queue path.
   * @throws {StoreError} `io` when fewer than `k` drives are online.
   */
  static async open(opts: StripedOptions): Promise<StripedStore> {
    if (opts.k + opts.m !== opts.drives.length) {
      throw new StoreError(
        "format",
        `Cannot stripe ${opts.k}+${opts.m} over ${opts.drives.length} drives: k+m must equal the drive count`,
      );
    }
    const drives: Drive[] = opts.drives.map((d) => ({ ...d }));
    const s = new StripedStore(opts, drives);
    // A drive that cannot be opened (damaged segments, I/O errors) is offline, like a missing one:
    // with parity to spare the vault serves, and the drive check rebuilds it.
    const failed: { drive: number; error: string }[] = [];
    for (const d of drives) {
      if (d.state === "offline") continue;
      try {
        await s.attach(d);
      } catch (e) {
        failed.push({ drive: d.index, error: (e as Error).message });
        d.state = "offline";
      }
    }
    const online = drives.filter((d) => d.store).length;
    if (online < opts.k) {
      await s.close();
      throw new StoreError(
        "io",
        `Cannot open the chunk store: ${online} of ${drives.length} drives are online and ${opts.k} are needed to read${
          failed.length > 0 ? ` (${failed.map((f) => f.error).join("; ")})` : ""
        }`,
      );
    }
    for (const f of failed) log("warn", "Cannot open drive; it is offline", f);
    return s;
  }

  /**
   * Opens a drive's segment store and puts it online.
   *
   * @param d The drive; its state is kept (ready or rebuilding).
   */
  async attach(d: Drive): Promise<void> {
    d.store = await SegmentStore.open(d.path, {
      ...this.#opts.segments,
      vaultId: this.#opts.vaultId,
      plainLength: this.#opts.plainLength,
      io: this.#opts.driveIo?.(d.index),
    });
    if (d.state === "offline") d.state = "rebuilding";
  }

  /**
   * Takes a drive offline (it vanished or lost its marker); its shards are
   * owed from now on.
   */
  detach(d: Drive): void {
    const store = d.store;
    d.store = undefined;
    d.state = "offline";
    store?.close().catch(() => undefined);
  }

  #code(k: number, m: number): ReedSolomon {
    const key = `${k}+${m}`;
    let rs = this.#codes.get(key);
    if (!rs) this.#codes.set(key, rs = new ReedSolomon(k, m));
    return rs;
  }

  /** The drive shard `shard` of chunk `id` is placed on. */
  #home(id: Uint8Array, shard: number): number {
    return (shard + id[0]) % this.drives.length;
  }

  /**
   * Stripes a sealed chunk over the drives; resolves once a write quorum of
   * shards is durable and the rest are recorded as owed.
   *
   * @param id Chunk id.
   * @param sealed Sealed chunk, or its parts in order (at 1+0 written as they are, no join).
   * @param plain Plaintext bytes (statistics).
   * @param opts `lazy`: the shards may wait for a later fsync until {@linkcode StripedStore.requestSync}.
   * @returns The durability promise and the bytes the records take on disk.
   */
  append(
    id: Uint8Array,
    sealed: Uint8Array | Uint8Array[],
    plain: number,
    opts: { lazy?: boolean } = {},
  ): { durable: Promise<void>; recordBytes: number } {
    if (this.#repairs.size > 0) {
      for (const r of this.#repairs.get(toHex(id)) ?? []) r.rewritten = true;
    }
    const parts = Array.isArray(sealed) ? sealed : [sealed];
    const stripe = { k: this.k, m: this.m, crc: parts.reduce((c, p) => crc32(p, c), 0), plain };
    const targets = [...Array(this.k + this.m).keys()].map((j) => ({
      drive: this.#home(id, j),
      shard: j,
    }));
    const { writes, recordBytes } = this.#writeShards(id, parts, stripe, targets, opts.lazy);
    const durable = Promise.allSettled(writes).then((results) => {
      const failed = targets.filter((_, j) => results[j].status === "rejected");
      const ok = targets.length - failed.length;
      // Owed before acknowledged: a debt must survive a crash right after the 200. A refused
      // write owes nothing: completing its shards later would revive what its writer was told failed.
      if (ok >= this.writeQuorum) this.owed.add(failed.map((t) => ({ drive: t.drive, id })));
      if (ok < this.writeQuorum) {
        const rejected = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
        const reason = rejected[0];
        // Drives that are there but full need space, not patience: say so (507, not 503).
        const full = rejected.every((r) =>
          r.reason instanceof StoreError && r.reason.kind === "full"
        );
        throw new StoreError(
          full ? "full" : "unavailable",
          `Cannot store chunk: ${ok} of ${targets.length} drives wrote its shards and ${this.writeQuorum} are needed (${
            (reason.reason as Error).message
          })`,
        );
      }
    });
    return { durable, recordBytes };
  }

  /** fsyncs lazily appended shards on every drive now (a writer is waiting for them). */
  requestSync(): void {
    for (const d of this.drives) d.store?.requestSync();
  }

  /** Shards of a chunk on every online drive. */
  #locate(id: Uint8Array): Held[] {
    const out: Held[] = [];
    for (const d of this.drives) {
      try {
        const info = d.store?.locate(id);
        if (info) out.push({ drive: d.index, info });
      } catch {
        // The drive is failing; its shard counts as missing.
      }
    }
    return out;
  }

  /** The readable stripe of a chunk: whole v1 records win, else the seal most drives hold. */
  #stripe(held: Held[]): Stripe | undefined {
    const whole = held.filter((h) => h.info.shard === null);
    if (whole.length > 0) return { k: 1, m: 0, crc: 0, held: whole, whole: true };
    const byCrc = new Map<number, Held[]>();
    for (const h of held) byCrc.set(h.info.crc, [...byCrc.get(h.info.crc) ?? [], h]);
    let best: Held[] | undefined;
    for (const group of byCrc.values()) if (!best || group.length > best.length) best = group;
    if (!best) return undefined;
    const { k, m, crc } = best[0].info;
    return { k, m, crc, held: best, whole: false };
  }

  /**
   * Marks a chunk as just used by a write, on every drive.
   *
   * @returns False when fewer consistent shards than a write quorum are
   *   stored (a write cut short by a crash, or drives lost since): the chunk
   *   must then be written again, or a new upload would be acknowledged
   *   with less redundancy than a new chunk gets.
   */
  touch(id: Uint8Array): boolean {
    const stripe = this.#stripe(this.#locate(id));
    if (!stripe) return false;
    // A chunk stored before the vault grew (1+0, or less parity than now) is written again in the
    // current geometry: deduplicated, a new upload would have only the old chunk's protection.
    if (stripe.m < this.m) return false;
    const quorum = stripe.m > 0 ? stripe.k + 1 : stripe.k;
    if (distinctShards(stripe.held) < quorum) return false;
    this.keep(id);
    return true;
  }

  /** Marks a chunk as just used, on every drive that holds a shard of it (a read's pin). */
  keep(id: Uint8Array): void {
    for (const d of this.drives) {
      try {
        d.store?.touch(id);
      } catch {
        // A failing drive: the touch matters only where the chunk can be deleted.
      }
    }
  }

  /**
   * Reads sealed chunks, rebuilding from parity where shards are bad or
   * missing, and heals those shards in the background.
   *
   * @param ids Chunk ids.
   * @param lease Reads into its pooled buffers when given; the sealed chunks are then valid only
   *   until it is released.
   * @returns The sealed chunks, in order.
   * @throws {StoreError} `notFound` for a chunk no drive holds, `corrupt`
   *   when fewer than `k` good shards are left.
   */
  async readMany(ids: Uint8Array[], lease?: ReadLease): Promise<Uint8Array[]> {
    const chunks = await this.#read(ids, lease);
    chunks.forEach((c, i) => {
      if (this.#targets(ids[i], c.stripe, c.bad).length > 0) this.#healLater(ids[i]);
    });
    return chunks.map((c) => c.sealed);
  }

  async #read(ids: Uint8Array[], lease?: ReadLease): Promise<ReadChunk[]> {
    const states = ids.map((id) => {
      const stripe = this.#stripe(this.#locate(id));
      if (!stripe) {
        throw new StoreError("notFound", "Cannot read chunk: it is not in the index");
      }
      // Data shards first (no decoding needed), then parity; whole records are shard 0.
      const queue = [...stripe.held].sort((a, b) =>
        (a.info.shard ?? 0) - (b.info.shard ?? 0) || a.drive - b.drive
      );
      return {
        stripe,
        queue,
        /** Shard numbers asked for or got: one copy of each at a time (see below). */
        asked: new Set<number>(),
        got: new Array<Uint8Array | null>(stripe.k + stripe.m).fill(null),
        count: 0,
        sealedBytes: 0,
        plain: 0,
        bad: [] as Target[],
        error: undefined as StoreError | undefined,
      };
    });
    while (true) {
      const requests = new Map<number, { chunk: number; shard: number }[]>();
      states.forEach((s, i) => {
        for (let want = s.stripe.k - s.count; want > 0; want--) {
          // Two drives may hold the same shard (a repair made while a drive was away, before
          // session 13): two copies are one shard, and the second is read only if the first fails.
          const at = s.queue.findIndex((h) => !s.asked.has(h.info.shard ?? 0));
          if (at < 0) break;
          const [h] = s.queue.splice(at, 1);
          s.asked.add(h.info.shard ?? 0);
          const list = requests.get(h.drive) ?? [];
          list.push({ chunk: i, shard: h.info.shard ?? 0 });
          requests.set(h.drive, list);
        }
      });
      if (requests.size === 0) break;
      await Promise.all([...requests].map(async ([drive, list]) => {
        let results: (Uint8Array | StoreError)[];
        try {
          const store = this.drives[drive].store;
          if (!store) throw new StoreError("io", `Cannot read drive ${drive}: it is offline`);
          results = await store.readEach(list.map((r) => ids[r.chunk]), lease);
        } catch (e) {
          results = list.map(() => e instanceof StoreError ? e : new StoreError("io", String(e)));
        }
        list.forEach((r, j) => {
          const s = states[r.chunk];
          const payload = results[j];
          const accepted = payload instanceof StoreError ? undefined : this.#accept(s, payload);
          if (accepted) {
            s.got[r.shard] = accepted;
            s.count++;
          } else {
            s.asked.delete(r.shard); // another copy of it, if any, is read next
            s.bad.push({ drive, shard: r.shard });
            if (payload instanceof StoreError) s.error = payload;
          }
        });
      }));
    }
    return states.map((s) => {
      if (s.count < s.stripe.k) {
        throw new StoreError(
          "corrupt",
          `Cannot read chunk: ${s.count} good shards of ${
            s.stripe.k + s.stripe.m
          } and ${s.stripe.k} are needed${s.error ? ` (${s.error.message})` : ""}`,
        );
      }
      if (s.stripe.whole) {
        const sealed = s.got[0]!;
        return { sealed, plain: this.#opts.plainLength(sealed), stripe: s.stripe, bad: s.bad };
      }
      const rs = this.#code(s.stripe.k, s.stripe.m);
      const missingData = [...Array(s.stripe.k).keys()].filter((j) => !s.got[j]);
      if (missingData.length > 0) rs.reconstruct(s.got, missingData);
      const sealed = rs.join(s.got as Uint8Array[], s.sealedBytes);
      if (crc32(sealed) !== s.stripe.crc) {
        throw new StoreError(
          "corrupt",
          "Cannot read chunk: rebuilt bytes fail the stripe checksum",
        );
      }
      return { sealed, plain: s.plain, stripe: s.stripe, bad: s.bad };
    });
  }

  /** Checks a payload read for a stripe; returns the shard bytes, or undefined when it does not belong. */
  #accept(
    s: { stripe: Stripe; sealedBytes: number; plain: number },
    payload: Uint8Array,
  ): Uint8Array | undefined {
    if (s.stripe.whole) return payload;
    try {
      const { header, bytes } = decodeShard(payload);
      if (header.sealedCrc !== s.stripe.crc || header.k !== s.stripe.k) return undefined;
      s.sealedBytes = header.sealedBytes;
      s.plain = header.plainBytes;
      return bytes;
    } catch {
      return undefined;
    }
  }

  /**
   * Shards of a chunk to (re)write: those no online drive holds in good
   * order, each onto the first online drive from its home slot that holds no
   * good shard of the chunk and is home to no other shard of it. A shard whose
   * home drive is away is left for that drive (owed, or rebuilt when it is
   * replaced) unless a drive that is home to none of the chunk's shards can
   * take it: put on another shard's home, it displaced that shard, and when
   * its own drive came back two drives held it (session-13 durability review).
   * A second good copy of a shard (left so before session 13) does not keep
   * its drive from the shard that drive is home to.
   */
  #targets(id: Uint8Array, stripe: Stripe, bad: Target[]): Target[] {
    if (stripe.whole) return [];
    const width = stripe.k + stripe.m;
    const isBad = (h: Held) => bad.some((b) => b.drive === h.drive && b.shard === h.info.shard);
    // One holder per shard counts, its home drive's copy when there is one.
    const keeper = new Map<number, Held>();
    for (const h of stripe.held) {
      if (isBad(h)) continue;
      const j = h.info.shard ?? 0;
      const kept = keeper.get(j);
      if (!kept || (kept.drive !== this.#home(id, j) && h.drive === this.#home(id, j))) {
        keeper.set(j, h);
      }
    }
    const occupied = new Set([...keeper.values()].map((h) => h.drive));
    const homes = new Set([...Array(width).keys()].map((j) => this.#home(id, j)));
    const out: Target[] = [];
    for (let j = 0; j < width; j++) {
      if (keeper.has(j)) continue;
      const home = this.#home(id, j);
      for (let step = 0; step < this.drives.length; step++) {
        const d = this.drives[(home + step) % this.drives.length];
        if (!d.store || occupied.has(d.index) || (d.index !== home && homes.has(d.index))) continue;
        occupied.add(d.index);
        out.push({ drive: d.index, shard: j });
        break;
      }
    }
    return out;
  }

  #healLater(id: Uint8Array): void {
    const key = toHex(id);
    if (this.#healing.has(key)) return;
    this.#healing.add(key);
    // One heal at a time: a failing drive must not turn reads into a write storm.
    this.#healChain = this.#healChain.then(async () => {
      try {
        const n = await this.repair(id);
        this.healedShards += n.shards;
        if (n.shards > 0) log("info", "Healed chunk shards", { chunk: key, shards: n.shards });
      } catch (e) {
        log("warn", "Cannot heal chunk", { chunk: key, error: (e as Error).message });
      } finally {
        this.#healing.delete(key);
      }
    });
  }

  /**
   * Rewrites the shards of a chunk that are bad or missing on online drives.
   *
   * @param id Chunk id.
   * @param onlyDrives Write only the shards owed to these drive slots.
   * @param knownBad Shards found bad by someone else (the scrubber): rewritten
   *   even when this read does not touch them (parity is read only when needed).
   * @returns Shards and record bytes written (0 when nothing was missing).
   * @throws {StoreError} when the chunk cannot be read.
   */
  async repair(
    id: Uint8Array,
    onlyDrives?: number[],
    knownBad: Target[] = [],
  ): Promise<{ shards: number; bytes: number }> {
    const stripe = this.#stripe(this.#locate(id));
    if (!stripe) throw new StoreError("notFound", "Cannot repair chunk: no drive holds it");
    // A new write of the chunk while this repair reads it seals it anew on every drive: the shards
    // computed from the old seal must then not be written over the new ones.
    const key = toHex(id);
    const mark = { rewritten: false };
    const marks = this.#repairs.get(key) ?? new Set();
    this.#repairs.set(key, marks.add(mark));
    try {
      return await this.#repairOnce(id, stripe, mark, onlyDrives, knownBad);
    } finally {
      marks.delete(mark);
      if (marks.size === 0) this.#repairs.delete(key);
    }
  }

  async #repairOnce(
    id: Uint8Array,
    stripe: Stripe,
    mark: { rewritten: boolean },
    onlyDrives: number[] | undefined,
    knownBad: Target[],
  ): Promise<{ shards: number; bytes: number }> {
    const wanted = (t: Target[]) =>
      t.filter((x) => onlyDrives === undefined || onlyDrives.includes(x.drive));
    if (wanted(this.#targets(id, stripe, [])).length === 0 && onlyDrives !== undefined) {
      return { shards: 0, bytes: 0 };
    }
    const [chunk] = await this.#read([id]);
    const targets = wanted(this.#targets(id, chunk.stripe, [...chunk.bad, ...knownBad]));
    if (targets.length === 0 || mark.rewritten) return { shards: 0, bytes: 0 };
    const { writes, recordBytes } = this.#writeShards(
      id,
      [chunk.sealed],
      { ...chunk.stripe, plain: chunk.plain },
      targets,
    );
    await Promise.all(writes);
    return { shards: targets.length, bytes: recordBytes };
  }

  /**
   * Encodes a sealed chunk and appends the targeted shards to their drives.
   *
   * @returns One durability promise per target (rejected for an offline
   *   drive) and the record bytes queued.
   */
  #writeShards(
    id: Uint8Array,
    sealed: Uint8Array[],
    stripe: { k: number; m: number; crc: number; plain: number },
    targets: Target[],
    lazy = false,
  ): { writes: Promise<void>[]; recordBytes: number } {
    const sealedBytes = sealed.reduce((n, p) => n + p.length, 0);
    // One drive: the sealed parts are the chunk's only shard, written as they are.
    const shards: Uint8Array[][] = stripe.k === 1 && stripe.m === 0
      ? [sealed]
      : this.#code(stripe.k, stripe.m).split(joinParts(sealed)).map((s) => [s]);
    let recordBytes = 0;
    const writes = targets.map((t) => {
      const store = this.drives[t.drive].store;
      if (!store) return Promise.reject(new StoreError("io", `Drive ${t.drive} is offline`));
      const r = store.appendShard(
        id,
        {
          shard: t.shard,
          k: stripe.k,
          m: stripe.m,
          sealedBytes,
          sealedCrc: stripe.crc,
          plainBytes: stripe.plain,
        },
        shards[t.shard],
        { lazy },
      );
      recordBytes += r.recordBytes;
      return r.durable;
    });
    return { writes, recordBytes };
  }

  /** Chunk ids after `after` held on any online drive, in id order (a page of at most `limit`). */
  idsAfter(after: Uint8Array, limit: number): Uint8Array[] {
    const seen = new Map<string, Uint8Array>();
    for (const d of this.drives) {
      try {
        for (const id of d.store?.idsAfter(after, limit) ?? []) seen.set(toHex(id), id);
      } catch {
        // A failing drive: the others hold the shards too.
      }
    }
    return [...seen.keys()].sort().slice(0, limit).map((k) => seen.get(k)!);
  }

  /**
   * Lists chunks last written or touched before `cutoff` on any online
   * drive, in id order.
   */
  untouchedSince(cutoff: number, after: Uint8Array, limit: number): Uint8Array[] {
    const seen = new Map<string, Uint8Array>();
    for (const d of this.drives) {
      for (const id of d.store?.untouchedSince(cutoff, after, limit) ?? []) seen.set(toHex(id), id);
    }
    return [...seen.keys()].sort().slice(0, limit).map((k) => seen.get(k)!);
  }

  /**
   * Deletes chunks no online drive saw touched since `cutoff`, from every
   * online drive in the same turn (see {@linkcode SegmentStore.deleteUntouched}).
   *
   * @returns Chunks deleted and record bytes freed.
   */
  async deleteUntouched(
    ids: Uint8Array[],
    cutoff: number,
  ): Promise<{ chunks: number; bytes: number }> {
    const online = this.drives.filter((d) => d.store);
    const doomed = ids.filter((id) =>
      online.every((d) => (d.store!.touchedAt(id) ?? -Infinity) < cutoff)
    );
    const results = await Promise.all(online.map((d) => d.store!.deleteUntouched(doomed, cutoff)));
    return {
      chunks: Math.max(0, ...results.map((r) => r.chunks)),
      bytes: results.reduce((n, r) => n + r.bytes, 0),
    };
  }

  /** Compacts every online drive. */
  async compact(): Promise<{ segments: number; bytes: number }> {
    let segments = 0;
    let bytes = 0;
    for (const d of this.drives) {
      if (!d.store) continue;
      try {
        const r = await d.store.compact();
        segments += r.segments;
        bytes += r.bytes;
      } catch (e) {
        // One drive's trouble must not keep the others from compacting.
        log("warn", "Cannot compact drive", { drive: d.index, error: (e as Error).message });
      }
    }
    return { segments, bytes };
  }

  /** Counts over all online drives (chunks and plaintext: the fullest drive). */
  stats(): ReturnType<SegmentStore["stats"]> {
    const out = { chunks: 0, storedBytes: 0, plainBytes: 0, segments: 0, diskBytes: 0 };
    for (const d of this.drives) {
      if (!d.store) continue;
      try {
        const s = d.store.stats();
        out.chunks = Math.max(out.chunks, s.chunks);
        out.plainBytes = Math.max(out.plainBytes, s.plainBytes);
        out.storedBytes += s.storedBytes;
        out.segments += s.segments;
        out.diskBytes += s.diskBytes;
      } catch {
        // A vanished drive: the watcher takes it offline.
      }
    }
    return out;
  }

  /** Waits for heals under way, then closes every drive and the queue. */
  async close(): Promise<void> {
    await this.#healChain;
    await Promise.all(this.drives.map((d) => d.store?.close().catch(() => undefined)));
    this.owed.close();
  }
}

/** Shard numbers held, each counted once (two drives may hold one: see `#targets`). */
function distinctShards(held: readonly Held[]): number {
  return new Set(held.map((h) => h.info.shard ?? 0)).size;
}
