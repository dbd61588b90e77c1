/**
 * Append-only segment files with group commit, kept in step with the chunk
 * location index (`chunk_index.ts`).
 *
 * Records queued while a write+fsync is in flight go into the next batch, so
 * concurrent uploads share fsyncs. A batch is acknowledged only after its
 * bytes are fsync'd; the location index is updated after that, and on start
 * the tail of the newest segments is rescanned, so the index never needs its
 * own fsync to be correct.
 *
 * Garbage collection removes index rows and appends a tombstone record for
 * each, so a rescan cannot bring a deleted chunk back; compaction moves the
 * live records out of mostly-dead old segments and then removes the files.
 * Only segments older than the rescan window are compacted, so tombstones
 * never need to outlive the records they kill.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { log } from "../ops/mod.ts";
import { ChunkIndex, type ShardColumns, type ShardInfo } from "./chunk_index.ts";
import { type DriveFile, type DriveIO, realDrive, syncPath } from "./drive_io.ts";
import { isNoRoom, StoreError } from "./errors.ts";
import {
  decodeSegmentHeader,
  decodeShard,
  encodeSegmentHeader,
  encodeShardHeader,
  frameRecord,
  RecordType,
  scanSegment,
  SEGMENT_HEADER_BYTES,
  type ShardHeader,
} from "./format.ts";
import type { ReadLease } from "./read_buffers.ts";
import { SegmentReaders } from "./segment_reads.ts";
import { storeNow } from "./store_clock.ts";

/** A segment is closed for appends once it passes this size. */
export const SEGMENT_MAX_BYTES = 512 * 1024 * 1024;
/** Newest segments rescanned at start-up to recover index rows lost in a crash. */
const RESCAN_SEGMENTS = 2;
/** Live bytes compaction moves before waiting for them to be durable: bounds its memory. */
const COMPACT_BATCH_BYTES = 8 * 1024 * 1024;
/**
 * Compaction's pace, bytes per second: a small share of this machine's fsync'd write rate
 * (about 1.5 GB/s), so foreground writes keep the drive while it runs.
 */
const COMPACT_BYTES_PER_SECOND = 64 * 1024 * 1024;
/** Segments with less than this share of live bytes are compacted. */
const COMPACT_LIVE_RATIO = 0.5;
/** A compacted segment's file is removed this long after its records moved, so reads already under way finish. */
const RETIRE_DELAY_MS = 60_000;
/** What a {@linkcode SegmentStore} is opened with; tests shrink the sizes. */
export interface SegmentOptions {
  /** The vault's id, written into every segment header. */
  vaultId: Uint8Array;
  /** Reads a record payload's plaintext length (for recovery). */
  plainLength: (payload: Uint8Array) => number;
  /** @default {SEGMENT_MAX_BYTES} */
  segmentMaxBytes?: number;
  /** Compaction's pace, bytes moved per second. @default {COMPACT_BYTES_PER_SECOND} */
  compactBytesPerSecond?: number;
  /** @default {RETIRE_DELAY_MS} */
  retireDelayMs?: number;
  /** The drive's file operations (tests inject faults). @default {realDrive} */
  io?: DriveIO;
}

interface Pending {
  /** `chunk`: a new record; `move`: a live record copied by compaction; `tombstone`: a deletion marker. */
  kind: "chunk" | "move" | "tombstone";
  id: Uint8Array;
  /** The record, as parts written in order (see `frameRecord`). */
  parts: Uint8Array[];
  /** Its bytes. */
  length: number;
  plain: number;
  shard: ShardColumns;
  /** May wait for a later fsync: nobody waits on it until a sync is asked for (see `requestSync`). */
  lazy: boolean;
  /** For a move: where the record was read, so a row pointed elsewhere meanwhile is left alone. */
  from?: { segment: number; offset: number };
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** A group commit written to the active segment and not yet fsync'd. */
interface Written {
  batch: Pending[];
  /** Offset of its first record. */
  start: number;
}

/** Lazily written bytes that make the next group commit fsync anyway. */
const LAZY_SYNC_BYTES = 4 * 1024 * 1024;
/** Longest a lazily written record waits for its fsync when nothing asks for one, ms. */
const LAZY_SYNC_DELAY_MS = 20;

/**
 * The segment files and chunk index of one drive. A record is a whole sealed
 * chunk (format v1) or one erasure-coded shard of one (format v2); the index
 * says which.
 */
export class SegmentStore {
  readonly #dir: string;
  readonly #vaultId: Uint8Array;
  readonly #index: ChunkIndex;
  readonly #io: DriveIO;
  // Deno's own file API: its async writes run off the JS thread (node:fs/promises' copy the buffer on it).
  #active!: {
    segment: number;
    file: DriveFile;
    size: number;
    /** Where the file position is, when known (-1 after a failed write). */
    position: number;
  };
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  /** Group commits written but not yet fsync'd, oldest first; all in the active segment. */
  #unsynced: Written[] = [];
  #unsyncedBytes = 0;
  #syncWanted = false;
  #syncTimer: ReturnType<typeof setTimeout> | undefined;
  /** Reused for every write (the flush loop writes one batch at a time). */
  #writeBuffer?: Uint8Array;
  #retired = new Set<number>();
  readonly #reads: SegmentReaders;

  readonly #segmentMaxBytes: number;
  readonly #retireDelayMs: number;
  readonly #compactBytesPerSecond: number;

  private constructor(dir: string, opts: SegmentOptions) {
    this.#segmentMaxBytes = opts.segmentMaxBytes ?? SEGMENT_MAX_BYTES;
    this.#retireDelayMs = opts.retireDelayMs ?? RETIRE_DELAY_MS;
    this.#compactBytesPerSecond = opts.compactBytesPerSecond ?? COMPACT_BYTES_PER_SECOND;
    this.#dir = dir;
    this.#io = opts.io ?? realDrive;
    this.#vaultId = opts.vaultId;
    this.#index = new ChunkIndex(`${dir}/chunks.db`);
    this.#reads = new SegmentReaders(
      this.#io,
      (n) => this.#path(n),
      (n) => !this.#retired.has(n),
    );
  }

  /**
   * Opens the store in `dir`, recovering the tail of the newest segments.
   *
   * @param dir Directory of segment files and the chunk index.
   * @param opts Vault id, plaintext-length reader and sizes.
   */
  static async open(dir: string, opts: SegmentOptions): Promise<SegmentStore> {
    const io = opts.io ?? realDrive;
    io.mkdirSync(dir);
    const s = new SegmentStore(dir, opts);
    const numbers = io.listSync(dir)
      .map((name) => /^(\d{8})\.seg$/.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    if (numbers.length > 0 && await s.#removeIfUnstarted(numbers.at(-1)!)) numbers.pop();
    for (const n of numbers.slice(-RESCAN_SEGMENTS)) await s.#recover(n, opts.plainLength);
    const last = numbers.at(-1);
    if (last === undefined) await s.#startSegment(1);
    else {
      const file = await io.open(s.#path(last), { read: true, write: true });
      const size = (await file.stat()).size;
      s.#active = { segment: last, file, size, position: 0 };
      if (size >= s.#segmentMaxBytes) await s.#startSegment(last + 1);
    }
    return s;
  }

  #path(n: number): string {
    return `${this.#dir}/${String(n).padStart(8, "0")}.seg`;
  }

  /**
   * Removes segment `n` if a crash cut its start short: created, but its
   * header not (or not durably) written. Nothing was ever written after a
   * header that is not there, and such a file would stop every start.
   *
   * @returns Whether it was removed.
   */
  async #removeIfUnstarted(n: number): Promise<boolean> {
    const path = this.#path(n);
    const file = await this.#io.open(path, { read: true });
    try {
      const size = (await file.stat()).size;
      if (size > SEGMENT_HEADER_BYTES) return false;
      const head = new Uint8Array(size);
      for (let got = 0; got < size;) {
        const read = await file.read(head.subarray(got));
        if (!read) break;
        got += read;
      }
      if (size === SEGMENT_HEADER_BYTES && head.some((b) => b !== 0)) return false;
    } finally {
      file.close();
    }
    await this.#io.remove(path);
    await syncPath(this.#io, this.#dir);
    log("warn", "Removed a segment whose creation a crash cut short", { segment: path });
    return true;
  }

  async #recover(n: number, plainLength: (payload: Uint8Array) => number): Promise<void> {
    const bytes = await this.#io.readFile(this.#path(n));
    const header = decodeSegmentHeader(bytes, this.#path(n));
    if (header.vaultId.some((b, i) => b !== this.#vaultId[i])) {
      throw new StoreError(
        "format",
        `Cannot open segment "${this.#path(n)}": it belongs to another vault`,
      );
    }
    const { records, validBytes, damaged } = scanSegment(bytes, SEGMENT_HEADER_BYTES);
    // A kill -9 leaves written but unsynced records in the page cache, and they are indexed below
    // (new writes deduplicate against them at once): make them durable first. The last segment,
    // if full, is never synced again.
    {
      using file = await this.#io.open(this.#path(n), { read: true, write: true });
      await file.syncData();
    }
    for (const d of damaged) {
      // Left in place: the shards in it are rebuilt from the other drives when read.
      log("warn", "Segment holds a damaged stretch", { segment: this.#path(n), ...d });
    }
    const now = storeNow();
    this.#index.transaction(() => {
      for (const r of records) {
        if (r.type === RecordType.Tombstone) {
          this.#index.dropBefore(r.id, n, r.offset);
          continue;
        }
        const payload = bytes.subarray(r.payloadOffset, r.payloadOffset + r.payloadLength);
        const h = r.type === RecordType.Shard ? decodeShard(payload).header : null;
        this.#index.insert({
          id: r.id,
          segment: n,
          offset: r.offset,
          length: r.length,
          plain: h ? h.plainBytes : plainLength(payload),
          touched: now,
          shard: h && { shard: h.shard, k: h.k, m: h.m, crc: h.sealedCrc },
        });
      }
    });
    // An indexed record was fsync'd and acknowledged: one that reads invalid at the end of the
    // file is damaged (or was misread), not torn, and is kept, so the tail is cut only after it.
    const indexedEnd = this.#index.indexedEnd(n, bytes.length);
    const cut = Math.max(validBytes, indexedEnd);
    if (cut < bytes.length) {
      // A torn tail from a crash: nothing in it was ever acknowledged.
      // Rows pointing into it go too: appends will reuse those offsets, and a row left there
      // would shadow the repaired shard written later.
      this.#index.dropFrom(n, cut);
      await this.#io.truncate(this.#path(n), cut);
      await syncPath(this.#io, this.#path(n));
    }
  }

  async #startSegment(n: number): Promise<void> {
    const file = await this.#io.open(this.#path(n), { read: true, write: true, createNew: true });
    try {
      await writeAll(file, encodeSegmentHeader({ vaultId: this.#vaultId, segment: n }));
      await file.sync();
      await syncPath(this.#io, this.#dir);
    } catch (e) {
      // A segment without its header would block every later roll (createNew) and the next start.
      file.close();
      await this.#io.remove(this.#path(n)).catch(() => undefined);
      throw e;
    }
    const previous = this.#active;
    this.#active = { segment: n, file, size: SEGMENT_HEADER_BYTES, position: SEGMENT_HEADER_BYTES };
    previous?.file.close();
  }

  /**
   * Appends one shard of a sealed chunk; resolves once it is durable. A
   * shard already indexed under the same id is replaced by this one.
   *
   * @param id Chunk id.
   * @param header The shard header (which shard, of which stripe).
   * @param shard The shard bytes, or their parts in order (written as they are).
   * @returns The durability promise and the bytes the record takes on disk.
   */
  appendShard(
    id: Uint8Array,
    header: ShardHeader,
    shard: Uint8Array | Uint8Array[],
    opts: { lazy?: boolean } = {},
  ): { durable: Promise<void>; recordBytes: number } {
    const parts = Array.isArray(shard) ? shard : [shard];
    const record = frameRecord(RecordType.Shard, id, [encodeShardHeader(header), ...parts]);
    const info = { shard: header.shard, k: header.k, m: header.m, crc: header.sealedCrc };
    return {
      durable: this.#enqueue("chunk", id, record, header.plainBytes, {
        shard: info,
        lazy: opts.lazy,
      }),
      recordBytes: record.reduce((n, p) => n + p.length, 0),
    };
  }

  #enqueue(
    kind: Pending["kind"],
    id: Uint8Array,
    parts: Uint8Array[],
    plain: number,
    opts: Partial<Pick<Pending, "shard" | "lazy" | "from">> = {},
  ): Promise<void> {
    const length = parts.reduce((n, p) => n + p.length, 0);
    const { shard = null, lazy = false, from } = opts;
    const durable = new Promise<void>((resolve, reject) => {
      this.#queue.push({ kind, id, parts, length, plain, shard, lazy, from, resolve, reject });
    });
    this.#flushing ??= this.#flushLoop();
    return durable;
  }

  /** fsyncs lazily written records now (someone is waiting for them). */
  requestSync(): void {
    this.#syncWanted = true;
    if (this.#unsynced.length > 0) this.#flushing ??= this.#flushLoop();
  }

  /**
   * Marks a stored chunk as just used by a write (a deduplicated hit), so
   * garbage collection leaves it alone until the write's manifest is committed.
   *
   * @returns False when no such chunk is stored.
   */
  touch(id: Uint8Array): boolean {
    return this.#index.touch(id, storeNow());
  }

  /**
   * When a chunk was last written or touched.
   *
   * @returns ms since the epoch, or undefined when this drive holds no record of it.
   */
  touchedAt(id: Uint8Array): number | undefined {
    return this.#index.touchedAt(id);
  }

  /**
   * Which shard of each chunk this drive holds.
   *
   * @param id Chunk id.
   * @returns The shard, or undefined when the drive holds none.
   */
  locate(id: Uint8Array): ShardInfo | undefined {
    const row = this.#index.locate(id);
    return row ? { shard: row.shard, k: row.k, m: row.m, crc: row.crc } : undefined;
  }

  /**
   * Lists chunk ids held on this drive, in id order.
   *
   * @param after Continue after this id.
   * @param limit Page size.
   */
  idsAfter(after: Uint8Array, limit: number): Uint8Array[] {
    return this.#index.idsAfter(after, limit);
  }

  /**
   * Lists chunks last written or touched before `cutoff`, in id order.
   *
   * @param cutoff ms since the epoch.
   * @param after Continue after this id.
   * @param limit Page size.
   */
  untouchedSince(cutoff: number, after: Uint8Array, limit: number): Uint8Array[] {
    return this.#index.untouchedSince(cutoff, after, limit);
  }

  /**
   * Deletes chunks that are still untouched since `cutoff`, checked here, in
   * the same turn as the deletion, so a write that deduplicated against one
   * of them in the meantime keeps it. A tombstone per chunk follows in the
   * segment, ahead of any later record of the same id.
   *
   * @returns How many were deleted and their record bytes.
   */
  async deleteUntouched(
    ids: Uint8Array[],
    cutoff: number,
  ): Promise<{ chunks: number; bytes: number }> {
    const dropped = this.#index.dropUntouched(ids, cutoff);
    const tombstones = dropped.map(({ id }) =>
      this.#enqueue("tombstone", id, frameRecord(RecordType.Tombstone, id, new Uint8Array(0)), 0)
    );
    const chunks = dropped.length;
    const bytes = dropped.reduce((n, d) => n + d.length, 0);
    await Promise.all(tombstones);
    return { chunks, bytes };
  }

  /**
   * Moves the live records out of old segments that are mostly dead, then
   * removes those files (after a delay, so reads already under way finish).
   *
   * @returns Segments compacted and file bytes reclaimed.
   */
  async compact(): Promise<{ segments: number; bytes: number }> {
    const oldest = this.#active.segment - RESCAN_SEGMENTS;
    const live = this.#index.liveBytesBelow(oldest);
    let segments = 0;
    let bytes = 0;
    let moved = 0;
    const started = performance.now();
    for (const name of this.#io.listSync(this.#dir)) {
      const n = Number(/^(\d{8})\.seg$/.exec(name)?.[1] ?? NaN);
      if (!(n < oldest) || this.#retired.has(n)) continue;
      const size = this.#io.sizeSync(this.#path(n));
      const liveBytes = live.get(n) ?? 0;
      if (liveBytes >= size * COMPACT_LIVE_RATIO) continue;
      const rows = this.#index.recordsIn(n);
      // Moved in bounded batches at a bounded pace: compaction holds little memory and leaves the
      // drive to foreground writes.
      let moves: Promise<void>[] = [];
      let batchBytes = 0;
      const pace = async () => {
        await Promise.all(moves);
        moved += batchBytes;
        moves = [];
        batchBytes = 0;
        const aheadMs = moved / this.#compactBytesPerSecond * 1000 - (performance.now() - started);
        if (aheadMs > 0) await new Promise((r) => setTimeout(r, aheadMs));
      };
      // A damaged live record keeps its segment (a scrub or a read repairs it from parity, and the
      // next collection compacts it); the other segments are compacted all the same.
      let damaged: unknown;
      for (const row of rows) {
        let record: Uint8Array;
        try {
          record = await this.#reads.readRecord(row.id, {
            segment: n,
            offset: row.offset,
            length: row.length,
          });
        } catch (e) {
          damaged = e;
          break;
        }
        moves.push(
          this.#enqueue("move", row.id, [record], 0, { from: { segment: n, offset: row.offset } }),
        );
        batchBytes += row.length;
        if (batchBytes >= COMPACT_BATCH_BYTES) await pace();
      }
      await pace();
      if (damaged !== undefined) {
        log("warn", "Cannot compact segment", {
          segment: this.#path(n),
          error: (damaged as Error).message,
        });
        continue;
      }
      // The new locations must be durable before the old file can go.
      this.#index.checkpoint();
      if (this.#index.countIn(n) > 0) continue; // a record moved concurrently; try again next time
      this.#retired.add(n);
      segments++;
      bytes += size;
      setTimeout(() => this.#unlink(n), this.#retireDelayMs);
    }
    return { segments, bytes };
  }

  async #unlink(n: number): Promise<void> {
    this.#reads.close(n);
    await this.#io.remove(this.#path(n)).catch(() => undefined);
    this.#retired.delete(n);
  }

  /**
   * Group commit: writes what is queued, then fsyncs unless every record
   * written since the last fsync is lazy, there are under LAZY_SYNC_BYTES of
   * them and no sync was asked for (a timer asks after LAZY_SYNC_DELAY_MS).
   * Records are indexed and acknowledged only after the fsync that covers them.
   */
  async #flushLoop(): Promise<void> {
    // Let the current turn queue more records before the first write.
    await new Promise((r) => setImmediate(r));
    while (this.#queue.length > 0 || (this.#syncWanted && this.#unsynced.length > 0)) {
      const batch = this.#queue;
      this.#queue = [];
      if (batch.length > 0 && !await this.#write(batch)) continue;
      if (batch.some((p) => !p.lazy)) this.#syncWanted = true;
      if (this.#syncWanted || this.#unsyncedBytes >= LAZY_SYNC_BYTES) await this.#sync();
    }
    if (this.#unsynced.length > 0 && !this.#syncTimer) {
      this.#syncTimer = setTimeout(() => {
        this.#syncTimer = undefined;
        this.requestSync();
      }, LAZY_SYNC_DELAY_MS);
    }
    this.#flushing = undefined;
  }

  /**
   * Writes one group commit at the end of the active segment (rolling to a
   * new one first when it is full).
   *
   * @returns False when the write failed; the batch is then rejected and
   *   whatever part of it reached the file cut off.
   */
  async #write(batch: Pending[]): Promise<boolean> {
    /** Set while this batch's bytes may sit in the file: from the write until it is accounted for. */
    let unwritten: { file: DriveFile; start: number } | undefined;
    try {
      if (this.#active.size >= this.#segmentMaxBytes) {
        await this.#sync(); // the old segment's records are durable before it closes
        await this.#startSegment(this.#active.segment + 1);
      }
      const { file } = this.#active;
      const start = this.#active.size;
      const total = batch.reduce((n, p) => n + p.length, 0);
      // Writes are sequential, so the file position is already at the end unless a write failed.
      if (this.#active.position !== start) await file.seek(start, Deno.SeekMode.Start);
      this.#active.position = -1;
      unwritten = { file, start };
      // Through one reused buffer, a few MiB at a time: no batch-sized allocation per commit.
      const buf = this.#writeBuffer ??= new Uint8Array(WRITE_BUFFER_BYTES);
      let fill = 0;
      const put = async () => {
        if (file.writeSync && fill <= SYNC_WRITE_MAX_BYTES) {
          for (let w = 0; w < fill;) w += file.writeSync(buf.subarray(w, fill));
        } else await writeAll(file, buf.subarray(0, fill));
        fill = 0;
      };
      for (const p of batch) {
        for (const part of p.parts) {
          for (let at = 0; at < part.length;) {
            if (fill === buf.length) await put();
            const n = Math.min(part.length - at, buf.length - fill);
            buf.set(part.subarray(at, at + n), fill);
            fill += n;
            at += n;
          }
        }
      }
      await put();
      this.#active.size = start + total;
      this.#active.position = start + total;
      this.#unsynced.push({ batch, start });
      this.#unsyncedBytes += total;
      return true;
    } catch (e) {
      // Cut off what part of the batch reached the file (a full disk takes some of a write), so
      // no torn record sits after the last good one; the next batch is written at `start` again.
      await unwritten?.file.truncate(unwritten.start).catch(() => undefined);
      const err = this.#writeError(e);
      for (const p of batch) p.reject(err);
      return false;
    }
  }

  /** fsyncs the written group commits, then indexes and acknowledges their records. */
  async #sync(): Promise<void> {
    const written = this.#unsynced;
    this.#unsynced = [];
    this.#unsyncedBytes = 0;
    this.#syncWanted = false;
    clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    if (written.length === 0) return;
    const { segment, file } = this.#active;
    try {
      await file.syncData();
    } catch (e) {
      // None of them is known durable: cut them all off; the next batch is written there again.
      await file.truncate(written[0].start).catch(() => undefined);
      this.#active.size = written[0].start;
      this.#active.position = -1;
      const err = this.#writeError(e);
      for (const w of written) for (const p of w.batch) p.reject(err);
      return;
    }
    // Durable now: a later failure (the index) must not cut these bytes.
    try {
      const now = storeNow();
      this.#index.transaction(() => {
        for (const w of written) {
          let off = w.start;
          for (const p of w.batch) {
            if (p.kind === "chunk") {
              this.#index.insert({
                id: p.id,
                segment,
                offset: off,
                length: p.length,
                plain: p.plain,
                touched: now,
                shard: p.shard,
              });
            } else if (p.kind === "move") {
              this.#index.relocate(p.id, p.from!, { segment, offset: off });
            }
            off += p.length;
          }
        }
      });
    } catch (e) {
      const err = this.#writeError(e);
      for (const w of written) for (const p of w.batch) p.reject(err);
      return;
    }
    for (const w of written) for (const p of w.batch) p.resolve();
  }

  #writeError(e: unknown): StoreError {
    return isNoRoom(e)
      ? new StoreError(
        "full",
        `Cannot write segment ${this.#active.segment}: no room left (${(e as Error).message})`,
        { cause: e },
      )
      : new StoreError(
        "io",
        `Cannot write segment ${this.#active.segment}: ${(e as Error).message}`,
        { cause: e },
      );
  }

  /**
   * Reads the payloads of several records (whole sealed chunks or shards); see
   * {@linkcode SegmentReaders.readEach}.
   */
  readEach(ids: Uint8Array[], lease?: ReadLease): Promise<(Uint8Array | StoreError)[]> {
    return this.#reads.readEach(ids, (id) => this.#index.locate(id), lease);
  }

  /** Counts of stored chunks and bytes. */
  stats(): {
    chunks: number;
    storedBytes: number;
    plainBytes: number;
    segments: number;
    diskBytes: number;
  } {
    const totals = this.#index.totals();
    let segments = 0;
    let diskBytes = 0;
    for (const name of this.#io.listSync(this.#dir)) {
      if (!name.endsWith(".seg")) continue;
      segments++;
      diskBytes += this.#io.sizeSync(`${this.#dir}/${name}`);
    }
    return { ...totals, segments, diskBytes };
  }

  /** Waits for queued writes, then closes files. */
  async close(): Promise<void> {
    this.requestSync();
    await this.#flushing;
    this.#reads.close();
    this.#active.file.close();
    this.#index.close();
  }
}

/**
 * Batches up to this size are written synchronously: a small write(2) into
 * the page cache takes microseconds, where the async hop through the
 * runtime's blocking pool took about 0.7 ms under load, once per group commit.
 */
const SYNC_WRITE_MAX_BYTES = 256 * 1024;

/** Bytes of the buffer group commits are written through. */
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;

async function writeAll(file: DriveFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}
