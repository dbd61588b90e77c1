/**
 * The chunk store service: write sessions that chunk, deduplicate, seal and
 * append; reads that verify and open; garbage collection of chunks no
 * version or part holds any more.
 *
 * Garbage collection is safe against writes racing it because a chunk is a
 * candidate only when it was last written or deduplicated against before the
 * cutoff: the older of `now - grace` and the start of the oldest write
 * session still pinned (open, or ended but not yet released after the index
 * committed or refused its manifest, or named by a journal record the next
 * start may replay) or download still pinned (its chunks were touched when it
 * began, so a version deleted while it streams stays readable to its end).
 * The index is asked which candidates
 * are referenced, and each deletion re-checks the chunk's touch time in the
 * same turn.
 *
 * @module
 */

import type {
  DrivesStatus,
  GcReport,
  Handled,
  StoreRequest,
  StoreResults,
  WireError,
} from "../channel/mod.ts";
import { Budget, MANIFEST_ENTRY_BYTES, noteBufferChurn } from "../channel/mod.ts";
import { log } from "../ops/mod.ts";
import { Chunker } from "./chunker.ts";
import { StoreError } from "./errors.ts";
import { openSecret, sealSecret } from "./keys.ts";
import { prepareDrives } from "./drives.ts";
import { ReadBufferPool } from "./read_buffers.ts";
import { toHex } from "./format.ts";
import {
  assembleJournalRecord,
  CHECKPOINT_FILE,
  decodeJournalPiece,
  encodeJournalPieces,
  journalId,
  journalIdFloor,
  type JournalPiece,
  type JournalRecord,
  journalSeqOf,
  peekCheckpointSeq,
  readCheckpoint,
  writeCheckpoint,
} from "./index_backup.ts";
import { DriveWatcher, type WatcherOptions } from "./rebuild.ts";
import type { DriveIO } from "./drive_io.ts";
import { chunkId, openChunk, readSealedHeader, sealChunkParts } from "./seal.ts";
import type { SegmentOptions } from "./segments.ts";
import { storeNow } from "./store_clock.ts";
import { StripedStore } from "./striped.ts";

/** Write sessions idle this long are dropped (their client went away without aborting). */
const SESSION_IDLE_MS = 15 * 60 * 1000;

/** Keys the store needs. */
export interface StoreKeys {
  idKey: Uint8Array;
  sealKey: Uint8Array;
  vaultId: Uint8Array;
  /** Seals and opens stored credential secrets; without it those requests fail. */
  secretsKey?: Uint8Array;
}

interface Session {
  /** Null once the last piece flushed it; the session then only pins its chunks. */
  chunker: Chunker | null;
  /** Bytes received so far; the next piece must start here. */
  offset: number;
  started: number;
  lastUsed: number;
  /** Settles once every chunk of the pieces so far is durable; rejects if one could not be stored. */
  durable: Promise<void>;
  /** Released while a journal record still pinned it: it goes when the pin does. */
  ended?: true;
  /** Durability of the pieces not yet awaited, oldest first. */
  unsynced: Promise<void>[];
}

/**
 * Pieces of one session whose chunks may wait for the drives at once before
 * `writeData` waits too: bounds the sealed bytes queued ahead of the disks
 * at about this many MiB per upload. Matches the router's pieces in flight.
 */
const UNSYNCED_PIECES = 4;

/**
 * Sealed bytes of all uploads together that may wait for the drives before a
 * `writeData` reply waits too. {@linkcode UNSYNCED_PIECES} alone let twelve
 * concurrent uploads queue 96 MiB of sealed chunks ahead of the disks (the
 * vault peaked at 411 MiB); this bounds them vault-wide, whatever the number
 * of uploads, at no cost to two.
 */
const SEALED_AHEAD_MAX_BYTES = 16 * 1024 * 1024;

/** Read buffers kept between GET batches: two downloads with two batches each in flight. */
const IDLE_READ_BUFFERS = 4;
/**
 * GET batches read at once; more wait their turn. Each borrows a 2 MiB read
 * buffer, fresh when none is idle: sixty downloads started together took
 * 120 MiB of them. Twice the idle ones, so two downloads never wait.
 */
const CONCURRENT_READS = 2 * IDLE_READ_BUFFERS;

/** Garbage-collection settings. */
export interface GcOptions {
  /** Time between collections, ms; 0 disables the timer. */
  intervalMs: number;
  /** Chunks touched more recently than this are never collected, ms. */
  graceMs: number;
  /** Asks the index which of the packed 32-byte ids are still referenced (one byte each). */
  referenced(ids: Uint8Array): Promise<Uint8Array>;
}

/** Candidate chunks asked of the index at a time. */
const GC_PAGE_CHUNKS = 1000;

/**
 * A drive's checkpoint file as last verified or written: its claimed batch, size and modification
 * time (undefined when it cannot be read). A file changed since, or a claim changed by damage to
 * its header, does not match.
 */
function checkpointStamp(drive: string, seq: number): string | undefined {
  try {
    const st = Deno.statSync(`${drive}/${CHECKPOINT_FILE}`);
    return `${seq}/${st.size}/${st.mtime?.getTime()}`;
  } catch {
    return undefined;
  }
}

function assertNever(x: never): never {
  throw new Error(`Unknown store request "${(x as { type: string }).type}"`);
}

/** The chunk store of one vault. */
export class StoreService {
  #segments: StripedStore;
  #watcher: DriveWatcher;
  #keys: StoreKeys;
  #sessions = new Map<string, Session>();
  /**
   * Write sessions a journal record names that the next start may replay
   * (durable, or maybe: a failed one whose tombstone or truncation failed too)
   * but whose batch the index may not have committed, by sequence. They stay
   * pinned even once ended, until the index says it committed the batch (with
   * an append of a later sequence, or a release that names its last committed
   * one) or a successful append of the same sequence supersedes the record:
   * else the collector could take chunks a replayed batch names.
   */
  #journalPins = new Map<number, Set<string>>();
  /** Downloads whose chunks are pinned, by the router's read id: when each began and was last read. */
  #reads = new Map<string, { started: number; lastUsed: number }>();
  /** Chunks being written now, so concurrent uploads of the same chunk store it once. */
  #inFlight = new Map<string, Promise<void>>();
  #readBuffers = new ReadBufferPool(IDLE_READ_BUFFERS);
  #readTurns = new Budget(CONCURRENT_READS);
  /**
   * Checkpoint files known to verify, by drive ({@linkcode checkpointStamp}): the start read each
   * drive's whole checkpoint twice (the journal's tail, then the first checkpoint), and each
   * checkpoint re-read the one it had just written.
   */
  #verifiedCheckpoints = new Map<string, string>();
  /** Sealed bytes of `writeData` pieces not yet durable: see {@linkcode SEALED_AHEAD_MAX_BYTES}. */
  #sealedAhead = 0;
  /** Pieces waiting for {@linkcode StoreService.#sealedAhead} to fall, woken as pieces settle. */
  #sealedAheadWaiters: (() => void)[] = [];
  #sweeper: ReturnType<typeof setInterval>;
  #gc?: GcOptions;
  #gcTimer?: ReturnType<typeof setInterval>;
  #gcRunning: Promise<GcReport> | undefined;
  /** Journal records up to this sequence are in a checkpoint on the drives and may be collected. */
  #checkpointSeq = 0;
  /**
   * When the last journal record was written. Of two records of one sequence
   * the later wins, so times only go forward here, even if the clock steps
   * back between a failed batch and the one that reuses its sequence.
   */
  #lastJournalAt = 0;
  #gcTotals = {
    runs: 0,
    deletedChunks: 0,
    deletedBytes: 0,
    compactedSegments: 0,
    reclaimedBytes: 0,
  };

  private constructor(
    segments: StripedStore,
    watcher: DriveWatcher,
    keys: StoreKeys,
    gc?: GcOptions,
  ) {
    this.#segments = segments;
    this.#watcher = watcher;
    this.#keys = keys;
    this.#sweeper = setInterval(() => this.#sweep(), 60_000);
    this.#gc = gc;
    if (gc && gc.intervalMs > 0) {
      this.#gcTimer = setInterval(
        () =>
          this.collectGarbage().catch((e) =>
            log("warn", "Garbage collection failed", { error: (e as Error).message })
          ),
        gc.intervalMs,
      );
    }
  }

  /**
   * Opens the store on its drives: checks and marks them (refusing a drive
   * of another vault or in the wrong slot), opens each online one, and
   * starts the watcher that pays owed shards and rebuilds replaced drives.
   *
   * @param dir The only drive when `drives` is not given (1+0), and home of
   *   the owed-shard queue unless `owedPath` says otherwise.
   * @param opts Chunk-id and seal keys with the vault id; drives and
   *   erasure geometry; garbage-collection settings (without them nothing is
   *   collected); segment sizes; drive-watcher settings.
   */
  static async open(
    dir: string,
    opts: {
      keys: StoreKeys;
      drives?: string[];
      ec?: { k: number; m: number };
      owedPath?: string;
      gc?: GcOptions;
      segments?: Pick<SegmentOptions, "segmentMaxBytes" | "retireDelayMs">;
      watch?: Omit<WatcherOptions, "vaultId">;
      /** The file operations of each drive slot (tests inject faults). */
      driveIo?: (slot: number) => DriveIO;
    },
  ): Promise<StoreService> {
    const paths = opts.drives ?? [dir];
    const ec = opts.ec ?? { k: paths.length, m: 0 };
    const segments = await StripedStore.open({
      drives: prepareDrives(paths, opts.keys.vaultId),
      k: ec.k,
      m: ec.m,
      vaultId: opts.keys.vaultId,
      owedPath: opts.owedPath ?? `${dir}/owed-shards.db`,
      plainLength: (payload) => readSealedHeader(payload).plaintextBytes,
      segments: opts.segments,
      driveIo: opts.driveIo,
    });
    const watcher = new DriveWatcher(segments, { ...opts.watch, vaultId: opts.keys.vaultId });
    return new StoreService(segments, watcher, opts.keys, opts.gc);
  }

  /** The drives: geometry, states, owed shards, heals and the rebuild under way. */
  drivesStatus(): DrivesStatus {
    const owed = this.#segments.owed.counts();
    const p = this.#watcher.progress;
    return {
      k: this.#segments.k,
      m: this.#segments.m,
      writeQuorum: this.#segments.writeQuorum,
      healedShards: this.#segments.healedShards,
      drives: this.#segments.drives.map((d) => ({
        index: d.index,
        path: d.path,
        state: d.state,
        owedShards: owed.get(d.index) ?? 0,
      })),
      rebuild: p && {
        ...p,
        done: p.drives.every((d) => this.#segments.drives[d].state === "ready"),
      },
    };
  }

  /** The drive watcher (tests drive its rounds by hand). */
  get watcher(): DriveWatcher {
    return this.#watcher;
  }

  #secretsKey(): Uint8Array {
    if (!this.#keys.secretsKey) throw new Error("The store was started without the secrets key");
    return this.#keys.secretsKey;
  }

  /** Counts `bytes` in {@linkcode StoreService.#sealedAhead} until `durable` settles. */
  #aheadUntilDurable(bytes: number, durable: Promise<void>): void {
    if (bytes === 0) return;
    this.#sealedAhead += bytes;
    const settled = () => {
      this.#sealedAhead -= bytes;
      const waiters = this.#sealedAheadWaiters;
      this.#sealedAheadWaiters = [];
      for (const wake of waiters) wake();
    };
    durable.then(settled, settled);
  }

  /** The turn of the last piece queued: see {@linkcode StoreService.#pieceTurn}. */
  #lastPieceTurn: Promise<void> = Promise.resolve();

  /**
   * Waits until the pieces that arrived before this one were sealed, then for
   * one more event-loop turn. So each piece is chunked and sealed in a turn of
   * its own, in arrival order, and the segment writes and fsyncs that finished
   * meanwhile are handled between pieces. Without it a backlog of pieces
   * (about 5 ms of CPU each) ran in one turn while the drives' completions
   * waited, durability lagged about 57 ms, and uploads waited on it.
   */
  #pieceTurn(): Promise<void> {
    const turn = this.#lastPieceTurn.then(() => new Promise<void>((r) => setImmediate(r)));
    this.#lastPieceTurn = turn;
    return turn;
  }

  #sweep() {
    const cutoff = storeNow() - SESSION_IDLE_MS;
    for (const [id, s] of this.#sessions) {
      if (s.lastUsed < cutoff && !this.#pinned(id)) this.#sessions.delete(id);
    }
    // A download whose client stopped reading (and whose stream was never cancelled).
    for (const [id, r] of this.#reads) if (r.lastUsed < cutoff) this.#reads.delete(id);
  }

  /** Handles one request. */
  async handle(req: StoreRequest): Promise<Handled<StoreResults[StoreRequest["type"]]>> {
    switch (req.type) {
      case "ping":
        return { result: { ok: true } };
      case "writeData": {
        await this.#pieceTurn();
        const s = this.#session(req.writeId, req.offset);
        s.offset += req.data.byteLength;
        // Views of the piece are sealed (copied) below, so it goes back to the router whole.
        const chunks = s.chunker!.push(new Uint8Array(req.data));
        if (req.last) {
          const tail = s.chunker!.flush();
          if (tail) chunks.push(tail);
          s.chunker = null;
        }
        const { result, durable } = this.#storeChunks(chunks);
        noteBufferChurn(result.sealedBytes); // dropped once written
        // Durable later, with the journal record of the batch that commits the manifest.
        s.durable = Promise.all([s.durable, durable]).then(() => undefined);
        s.durable.catch(() => undefined); // observed by that journal append
        s.unsynced.push(durable);
        this.#aheadUntilDurable(result.sealedBytes, durable);
        if (s.unsynced.length > UNSYNCED_PIECES) this.#segments.requestSync();
        while (s.unsynced.length > UNSYNCED_PIECES) await s.unsynced.shift();
        while (this.#sealedAhead > SEALED_AHEAD_MAX_BYTES) {
          this.#segments.requestSync();
          await new Promise<void>((r) => this.#sealedAheadWaiters.push(r));
        }
        return { result: { ...result, piece: req.data }, transfer: [req.data] };
      }
      case "writeDurable":
        await this.#sessionsDurable([req.writeId], "wait for its durability");
        return { result: { ok: true } };
      case "writeRelease":
        if (req.committedSeq !== undefined) this.#committed(req.committedSeq);
        return { result: { released: this.#release(req.writeIds) } };
      case "readPin": {
        const now = storeNow();
        this.#reads.set(req.readId, { started: now, lastUsed: now });
        for (let i = 0; i < req.entries.length; i += MANIFEST_ENTRY_BYTES) {
          this.#segments.keep(req.entries.subarray(i, i + 32));
        }
        return { result: { ok: true } };
      }
      case "readEnd":
        this.#reads.delete(req.readId);
        return { result: { ok: true } };
      case "readChunks": {
        const read = req.readId === undefined ? undefined : this.#reads.get(req.readId);
        if (read) read.lastUsed = storeNow();
        await this.#readTurns.take();
        const chunks = await this.#readChunks(req.entries).finally(() => this.#readTurns.give());
        noteBufferChurn(chunks.reduce((n, c) => n + c.byteLength, 0)); // the opened plaintexts
        return { result: { chunks }, transfer: chunks };
      }
      case "collectGarbage":
        return { result: await this.collectGarbage() };
      case "stats":
        return {
          result: {
            ...this.#segments.stats(),
            gc: { ...this.#gcTotals },
            drives: this.drivesStatus(),
          },
        };
      case "drives":
        return { result: this.drivesStatus() };
      case "sealSecret":
        return {
          result: {
            sealed: sealSecret(this.#secretsKey(), req.plaintext, { context: req.context }),
          },
        };
      case "openSecret":
        return {
          result: {
            plaintext: openSecret(this.#secretsKey(), req.sealed, { context: req.context }),
          },
        };
      case "repairChunk":
        return { result: await this.#segments.repair(req.id, undefined, req.bad) };
      case "journalAppend":
        // The index sends a sequence only once the one before it committed.
        this.#committed(req.seq - 1);
        this.#release(req.ended ?? []);
        await this.#appendJournal(req.seq, req.changeset, req.writeIds);
        return { result: { ok: true } };
      case "journalTail": {
        const { records, unreadable, unfinished } = await this.readJournal(req.afterSeq);
        // The index drops the unfinished ones and its next batch reuses the sequence: their parts go
        // now, before anything could take them for damage or for a record.
        if (unfinished.length > 0) await this.#dropJournal(req.afterSeq, unfinished);
        const tail = records.map((r) => ({ seq: r.seq, changeset: r.changeset }));
        return {
          result: {
            records: tail,
            unreadable,
            unfinished,
            checkpointSeq: await this.#drivesCheckpoint(),
          },
          transfer: tail.map((r) => r.changeset.buffer as ArrayBuffer),
        };
      }
      case "indexCheckpoint":
        return { result: await this.#checkpoint(req.seq, req.path) };
      default:
        return assertNever(req);
    }
  }

  /**
   * Ends write sessions: their chunks are no longer pinned, unless a journal
   * record the index may replay names them. Returns how many were open.
   */
  #release(writeIds: string[]): number {
    let released = 0;
    for (const writeId of writeIds) {
      const s = this.#sessions.get(writeId);
      if (!s) continue;
      released++;
      if (this.#pinned(writeId)) s.ended = true;
      else this.#sessions.delete(writeId);
    }
    return released;
  }

  #pinned(writeId: string): boolean {
    for (const pins of this.#journalPins.values()) if (pins.has(writeId)) return true;
    return false;
  }

  /** The index committed every journal sequence up to `seq`: their records' pins go. */
  #committed(seq: number): void {
    for (const pinned of this.#journalPins.keys()) if (pinned <= seq) this.#unpin(pinned);
  }

  /** Drops the pins of journal sequence `seq`, releasing the sessions that ended meanwhile. */
  #unpin(seq: number): void {
    const pins = this.#journalPins.get(seq);
    this.#journalPins.delete(seq);
    this.#releaseEnded(pins ?? []);
  }

  /** Drops the sessions among `writeIds` that ended and are pinned no more. */
  #releaseEnded(writeIds: Iterable<string>): void {
    for (const writeId of writeIds) {
      if (this.#sessions.get(writeId)?.ended && !this.#pinned(writeId)) {
        this.#sessions.delete(writeId);
      }
    }
  }

  /** Settles once every chunk of the sessions is durable; rejects if one could not be stored. */
  #sessionsDurable(writeIds: string[], action: string): Promise<void> {
    this.#segments.requestSync();
    const waits = writeIds.map((writeId) => {
      const s = this.#sessions.get(writeId);
      if (!s) {
        throw new StoreError(
          "notFound",
          `Cannot ${action}: write session "${writeId}" is gone, so its chunks may not be durable`,
        );
      }
      return s.durable;
    });
    return Promise.all(waits).then(() => undefined);
  }

  /**
   * Makes journal record `seq` durable after every chunk of the named write
   * sessions; fails, writing nothing, if any of those chunks could not be
   * stored. A record written beside chunks that then failed would outlive its
   * rolled-back batch and be replayed at the next start, pointing at data
   * that is not there.
   */
  async #appendJournal(seq: number, changeset: Uint8Array, writeIds: string[]): Promise<void> {
    // Pinned from the start: a release that arrives while the record is written must not let the
    // collector take chunks of a batch that may yet commit.
    const earlier = this.#journalPins.get(seq) ?? new Set<string>();
    if (writeIds.length > 0) this.#journalPins.set(seq, new Set([...earlier, ...writeIds]));
    if (writeIds.length > 0) await this.#sessionsDurable(writeIds, `journal index batch ${seq}`);
    const batchNonce = crypto.getRandomValues(new Uint8Array(8));
    const at = Math.max(Date.now(), this.#lastJournalAt + 1);
    this.#lastJournalAt = at;
    const ids: Uint8Array[] = [];
    const records = encodeJournalPieces({ seq, at, changeset }, batchNonce).map(
      (plain) => {
        const id = journalId(seq);
        ids.push(id);
        // Uncompressed: a record lives only until the next checkpoint, and zstd's set-up per call
        // cost more than the rest of the append. Plaintext 0: the statistic counts object data
        // (amber_unique_chunk_bytes), not the index's.
        const sealed = sealChunkParts(this.#keys.sealKey, id, plain, { compression: "never" });
        return this.#segments.append(id, sealed, 0).durable;
      },
    );
    try {
      await Promise.all(records);
    } catch (e) {
      // The batch rolls back, but shards that did land (short of the write quorum, or another
      // piece's) could still read as its record and be replayed at the next start: tombstone them.
      await Promise.allSettled(records);
      await this.#segments.deleteUntouched(ids, Infinity).catch((err) =>
        log("warn", "Cannot remove the shards of a failed journal record", {
          seq,
          error: (err as Error).message,
        })
      );
      // If that failed too, or the failed write's truncation did (leaving whole records for the
      // next start to index), it may be replayed, naming these sessions' chunks, until a record of
      // its sequence wins: they stay pinned.
      throw e;
    }
    // This record wins over any earlier one of its sequence; the index commits it next, or (its
    // COMMIT failing) rolls back with the record durable, and then reuses the sequence.
    if (writeIds.length > 0) this.#journalPins.set(seq, new Set(writeIds));
    else this.#journalPins.delete(seq);
    this.#releaseEnded(earlier);
  }

  /**
   * The batch of the newest index checkpoint on any online drive that
   * verifies, 0 for none. A claim is read from the file's header, so it is
   * believed only once its file verifies: one flipped bit in one drive's
   * header claimed a batch far ahead, and the vault refused to start (and
   * every later checkpoint), rebuild-index notwithstanding (session-13
   * durability review).
   */
  async #drivesCheckpoint(): Promise<number> {
    const online = this.#segments.drives.filter((d) => d.store && d.state !== "offline");
    const claims = online.map((d) => ({ path: d.path, seq: peekCheckpointSeq(d.path) ?? 0 }))
      .filter((c) => c.seq > 0).sort((a, b) => b.seq - a.seq);
    for (const c of claims) {
      // Taken before the read: a file that changes meanwhile does not match it next time.
      const stamp = checkpointStamp(c.path, c.seq);
      if (stamp !== undefined && this.#verifiedCheckpoints.get(c.path) === stamp) return c.seq;
      try {
        const { seq } = await readCheckpoint(c.path, this.#keys.sealKey);
        if (stamp !== undefined && seq === c.seq) this.#verifiedCheckpoints.set(c.path, stamp);
        return seq;
      } catch (e) {
        log("warn", "An index checkpoint on a drive does not verify; it is not counted", {
          drive: c.path,
          claims: c.seq,
          error: (e as Error).message,
        });
      }
    }
    return 0;
  }

  /**
   * Writes a checkpoint onto the online drives; it counts once a write quorum
   * of them hold it, and more than `m` (the journal up to it is then
   * collected, so losing `m` drives must leave a copy, also where `k < m`).
   */
  async #checkpoint(seq: number, path: string): Promise<StoreResults["indexCheckpoint"]> {
    const newest = await this.#drivesCheckpoint();
    if (seq < newest) {
      // An index that lost batches (a lost or older copy) must never replace the way back.
      throw new StoreError(
        "format",
        `Cannot checkpoint the index at batch ${seq}: the drives hold a checkpoint of batch ${newest}`,
      );
    }
    const online = this.#segments.drives.filter((d) => d.store && d.state !== "offline");
    const { written, failed } = await writeCheckpoint(
      path,
      seq,
      online.map((d) => d.path),
      this.#keys.sealKey,
    );
    const needed = Math.min(
      Math.max(this.#segments.writeQuorum, this.#segments.m + 1),
      this.#segments.drives.length,
    );
    if (written.length < needed) {
      throw new StoreError(
        "unavailable",
        `Cannot checkpoint the index: ${written.length} drives hold it and ${needed} are needed (${
          failed.map((f) => `${f.drive}: ${f.error}`).join("; ")
        })`,
      );
    }
    for (const drive of written) {
      const stamp = checkpointStamp(drive, seq);
      if (stamp !== undefined) this.#verifiedCheckpoints.set(drive, stamp);
    }
    this.#checkpointSeq = Math.max(this.#checkpointSeq, seq);
    return { drives: written.length, failed: failed.map((f) => `${f.drive}: ${f.error}`) };
  }

  /**
   * Reads the journal records after `afterSeq` through the striped read (so
   * missing drives are tolerated), in sequence order; of two records of one
   * sequence the later written wins.
   *
   * A sequence with no whole record after the last readable one is an append
   * that never finished: a crash between its pieces or its drives' writes, or
   * drives that failed it. Its batch was never acknowledged (the index commits
   * only once the record is durable on a write quorum), so it is reported as
   * `unfinished`, not as a gap, and the next batch reuses its sequence.
   *
   * @returns The records; the sequences before the last record none of whose
   *   records could be read; and the unfinished ones after it.
   */
  async readJournal(
    afterSeq: number,
  ): Promise<{ records: JournalRecord[]; unreadable: number[]; unfinished: number[] }> {
    const bySeq = new Map<number, Uint8Array[]>();
    for (const id of this.#journalIds(afterSeq)) {
      bySeq.set(journalSeqOf(id)!, [...bySeq.get(journalSeqOf(id)!) ?? [], id]);
    }
    const records: JournalRecord[] = [];
    const unreadable: number[] = [];
    for (const seq of [...bySeq.keys()].sort((a, b) => a - b)) {
      const pieces: JournalPiece[] = [];
      for (const id of bySeq.get(seq)!) {
        try {
          const [sealed] = await this.#segments.readMany([id]);
          pieces.push(decodeJournalPiece(openChunk(this.#keys.sealKey, id, sealed), seq));
        } catch {
          // Another write of this sequence may read whole; else it is reported unreadable.
        }
      }
      const best = assembleJournalRecord(pieces);
      if (best) records.push(best);
      else unreadable.push(seq);
    }
    const last = records.at(-1)?.seq ?? afterSeq;
    // A record the index committed reached a write quorum of drives. With more drives away (offline
    // or being rebuilt) than that quorum has to spare over k, one may be unreadable now although it
    // was acknowledged: it is reported unreadable (the start stops), never dropped as unfinished.
    const away = this.#segments.drives.filter((d) => !d.store || d.state !== "ready").length;
    if (this.#segments.writeQuorum - away < this.#segments.k) {
      return { records, unreadable, unfinished: [] };
    }
    return {
      records,
      unreadable: unreadable.filter((seq) => seq < last),
      unfinished: unreadable.filter((seq) => seq > last),
    };
  }

  /** The ids of the journal records (and their pieces) after sequence `afterSeq`, in id order. */
  #journalIds(afterSeq: number): Uint8Array[] {
    const ids: Uint8Array[] = [];
    let after = journalIdFloor(afterSeq);
    while (true) {
      const page = this.#segments.idsAfter(after, GC_PAGE_CHUNKS);
      const ours = page.filter((id) => journalSeqOf(id) !== undefined);
      ids.push(...ours);
      if (ours.length < page.length || page.length < GC_PAGE_CHUNKS) break;
      after = page[page.length - 1];
    }
    return ids;
  }

  /** Tombstones every record (whole or in parts) of the given journal sequences after `afterSeq`. */
  async #dropJournal(afterSeq: number, seqs: number[]): Promise<void> {
    const ids = this.#journalIds(afterSeq).filter((id) => seqs.includes(journalSeqOf(id)!));
    await this.#segments.deleteUntouched(ids, Infinity).catch((e) =>
      log("warn", "Cannot remove unfinished journal records", {
        seqs,
        error: (e as Error).message,
      })
    );
  }

  async #readChunks(entries: Uint8Array): Promise<ArrayBuffer[]> {
    const view = new DataView(entries.buffer, entries.byteOffset, entries.byteLength);
    const ids: Uint8Array[] = [];
    const sizes: number[] = [];
    for (let i = 0; i < entries.length; i += MANIFEST_ENTRY_BYTES) {
      ids.push(entries.subarray(i, i + 32));
      sizes.push(view.getUint32(i + 32));
    }
    // The sealed bytes go into pooled buffers (opened at once, then given back); each plaintext
    // is a buffer of its own, transferred as it is.
    const lease = this.#readBuffers.lease();
    try {
      const sealed = await this.#segments.readMany(ids, lease);
      return sealed.map((s, i) => {
        const plain = openChunk(this.#keys.sealKey, ids[i], s);
        if (plain.length !== sizes[i]) {
          throw new StoreError(
            "corrupt",
            `Cannot read chunk: length ${plain.length} is not the expected ${sizes[i]}`,
          );
        }
        return plain.buffer;
      });
    } finally {
      lease.release();
    }
  }

  #session(writeId: string, offset: number): Session {
    let s = this.#sessions.get(writeId);
    const now = storeNow();
    if (!s && offset === 0) {
      s = {
        chunker: new Chunker(),
        offset: 0,
        started: now,
        lastUsed: now,
        durable: Promise.resolve(),
        unsynced: [],
      };
      this.#sessions.set(writeId, s);
    }
    if (!s?.chunker || s.offset !== offset) {
      throw new StoreError(
        "notFound",
        `Cannot write at ${offset} in "${writeId}": no open session at that offset`,
      );
    }
    s.lastUsed = now;
    return s;
  }

  /**
   * Deletes chunks that no version or part references and no pinned write
   * touched, then compacts mostly-dead segments. One collection at a time.
   *
   * @returns What this collection did.
   */
  collectGarbage(): Promise<GcReport> {
    this.#gcRunning ??= this.#collect().finally(() => (this.#gcRunning = undefined));
    return this.#gcRunning;
  }

  async #collect(): Promise<GcReport> {
    const report: GcReport = {
      deletedChunks: 0,
      deletedBytes: 0,
      compactedSegments: 0,
      reclaimedBytes: 0,
    };
    if (!this.#gc) return report;
    let cutoff = storeNow() - this.#gc.graceMs;
    for (const s of this.#sessions.values()) cutoff = Math.min(cutoff, s.started);
    for (const r of this.#reads.values()) cutoff = Math.min(cutoff, r.started);
    let after: Uint8Array = new Uint8Array(0);
    while (true) {
      const ids = this.#segments.untouchedSince(cutoff, after, GC_PAGE_CHUNKS);
      if (ids.length === 0) break;
      after = ids[ids.length - 1];
      const packed = new Uint8Array(ids.length * 32);
      ids.forEach((id, i) => packed.set(id, i * 32));
      const referenced = await this.#gc.referenced(packed);
      // Journal records newer than the last checkpoint on the drives are the index's only copy.
      const garbage = ids.filter((id, i) =>
        referenced[i] === 0 && (journalSeqOf(id) ?? 0) <= this.#checkpointSeq
      );
      const deleted = await this.#segments.deleteUntouched(garbage, cutoff);
      report.deletedChunks += deleted.chunks;
      report.deletedBytes += deleted.bytes;
      // Counted as they go, so the metrics never show chunks gone but not yet collected.
      this.#gcTotals.deletedChunks += deleted.chunks;
      this.#gcTotals.deletedBytes += deleted.bytes;
    }
    const compacted = await this.#segments.compact();
    report.compactedSegments = compacted.segments;
    report.reclaimedBytes = compacted.bytes;
    this.#gcTotals.runs++;
    this.#gcTotals.compactedSegments += report.compactedSegments;
    this.#gcTotals.reclaimedBytes += report.reclaimedBytes;
    return report;
  }

  /**
   * Seals and queues the chunks not stored yet.
   *
   * @returns The manifest entries and byte counts at once, and a promise that
   *   settles when every listed chunk is durable (the new ones and those
   *   another write is storing now).
   */
  #storeChunks(
    chunks: Uint8Array[],
  ): { result: Omit<StoreResults["writeData"], "piece">; durable: Promise<void> } {
    const entries = new Uint8Array(chunks.length * MANIFEST_ENTRY_BYTES);
    const view = new DataView(entries.buffer);
    const waits: Promise<void>[] = [];
    let storedBytes = 0;
    let newBytes = 0;
    let sealedBytes = 0;
    chunks.forEach((chunk, i) => {
      const id = chunkId(this.#keys.idKey, chunk);
      entries.set(id, i * MANIFEST_ENTRY_BYTES);
      view.setUint32(i * MANIFEST_ENTRY_BYTES + 32, chunk.length);
      const hex = toHex(id);
      const inFlight = this.#inFlight.get(hex);
      if (inFlight) {
        waits.push(inFlight);
        return;
      }
      if (this.#segments.touch(id)) return;
      const sealed = sealChunkParts(this.#keys.sealKey, id, chunk);
      // Lazy: fsync'd with the journal record that commits the manifest (or when more pile up).
      const { durable, recordBytes } = this.#segments.append(id, sealed, chunk.length, {
        lazy: true,
      });
      storedBytes += recordBytes;
      sealedBytes += sealed.reduce((n, p) => n + p.length, 0);
      newBytes += chunk.length;
      const done = durable.finally(() => this.#inFlight.delete(hex));
      this.#inFlight.set(hex, done);
      waits.push(done);
    });
    const durable = Promise.all(waits).then(() => undefined);
    durable.catch(() => undefined); // observed by the session's journal append
    return { result: { entries, storedBytes, newBytes, sealedBytes }, durable };
  }

  /** Stops background work and closes files. */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    clearInterval(this.#gcTimer);
    // A collection under way may fail: the index stops first, and then refuses its question. The
    // next start collects again; close must not fail (and leave the vault hanging) for it.
    await this.#gcRunning?.catch(() => undefined);
    await this.#watcher.close();
    await this.#segments.close();
  }
}

/** Turns anything thrown by the store into a wire-safe error. */
export function storeErrorToWire(e: unknown): WireError {
  if (e instanceof StoreError) return { area: "store", kind: e.kind, message: e.message };
  return {
    area: "internal",
    kind: "internal",
    message: e instanceof Error ? e.message : String(e),
  };
}
