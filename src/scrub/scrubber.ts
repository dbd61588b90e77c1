/**
 * The scrubber: a background task that reads every shard on every drive,
 * checks it, rebuilds each chunk from `k` good shards and checks its stripe
 * checksum and AEAD tag, asks the store to rewrite what parity can save,
 * then checks every manifest's chunk references against the index's
 * reference counts and names the objects behind anything that is lost.
 *
 * How it reads: drive by drive, each drive's indexed records in disk order
 * (oldest segment first, so cold data is read before the page cache can
 * hold it), and for each chunk met first on that drive (no lower drive holds
 * it) it reads that chunk's shards on every other drive through their
 * indexes, so every shard is read once per pass. Memory is bounded: one page
 * of index rows and one chunk's shards at a time, at most
 * {@linkcode FINDINGS_MAX} findings, and the reference check counts one id
 * range at a time (see `idRanges`).
 *
 * It follows the background-task contract: status, start / pause / resume /
 * cancel, a checkpoint saved as it goes (so a restart resumes the pass), a
 * pass due every interval, and a throttle (token bucket plus back-off when
 * the store answers slowly).
 *
 * @module
 */

import { crc32 } from "node:zlib";
import type {
  ScrubAction,
  ScrubFinding,
  ScrubObjectRef,
  ScrubPass,
  ScrubStatus,
} from "../channel/mod.ts";
import { log } from "../ops/mod.ts";
import { journalSeqOf, openChunk, ReedSolomon, toHex } from "../store/mod.ts";
import { type CheckedShard, DriveReader, type ShardRow } from "./disk.ts";
import {
  busyBackoffMs,
  etaSeconds,
  idPrefix,
  idRanges,
  judgeStripe,
  scrubRate,
  type ShardSeen,
  TokenBucket,
} from "./plan.ts";
import { manifestIds, RefIndex } from "./refs.ts";
import { inlineSealer } from "../inline_body.ts";

/** Findings kept per pass; the rest are only counted. */
export const FINDINGS_MAX = 1000;
/** Objects named per lost chunk. */
const OBJECTS_PER_FINDING_MAX = 50;
/** Index rows read per page (their records are held at once: at most 64 × 256 KiB). */
const PAGE_ROWS = 64;
/** Chunks whose reference counts are checked together. */
const RANGE_CHUNKS = 100_000;
/** The checkpoint is saved at most this often while a pass runs, ms. */
const CHECKPOINT_EVERY_MS = 5000;
/** The store is pinged (busy check) after about this many bytes read. */
const PING_EVERY_BYTES = 1024 * 1024;
/** The reference check yields to the event loop after this many manifests. */
const YIELD_EVERY_MANIFESTS = 2000;
/** Inline bodies read from the index at a time. */
const INLINE_PAGE_BODIES = 1000;
/** How often the schedule is checked, ms. */
const SCHEDULE_TICK_MS = 60_000;

/** Where a pass stands: which drive and record, or which id range. */
export type ScrubCursor =
  /** `tail`: in the sweep after `ends` (see {@linkcode ScrubCheckpoint.tailEnds}). */
  | { phase: "shards"; drive: number; segment: number; offset: number; tail?: true }
  | { phase: "refs"; range: number }
  | { phase: "inline"; after: number };

/** What the scrubber persists. */
export interface ScrubCheckpoint {
  /** When the next pass is due, ms since the epoch. */
  nextPassAt: number;
  lastFullPassAt?: number;
  lastPass?: ScrubPass;
  /** The pass under way, with its cursor. */
  pass?: ScrubPass;
  cursor?: ScrubCursor;
  /** Each drive's last indexed record when the pass started: the pass ends there. */
  ends?: ({ segment: number; offset: number } | undefined)[];
  /**
   * Each drive's last indexed record when the sweep up to `ends` was done: the
   * records after `ends` up to these are swept once more. Compaction and heals
   * move live records to the end of a drive, so a record the sweep had not
   * reached yet could have moved past `ends` (new records are checked too).
   */
  tailEnds?: ({ segment: number; offset: number } | undefined)[];
  paused?: boolean;
}

/** Where the scrubber keeps its checkpoint. */
export interface CheckpointStore {
  load(): ScrubCheckpoint | undefined;
  save(c: ScrubCheckpoint): void;
}

/** What a {@linkcode Scrubber} works with. */
export interface ScrubberOptions {
  dataDir: string;
  /** Drive paths in slot order. */
  drives: string[];
  /** Key that opens sealed chunks (checks AEAD tags). */
  sealKey: Uint8Array;
  /** Key that opens the tiny object bodies kept in the index. */
  inlineKey: Uint8Array;
  /** A full pass is due this often, seconds. */
  intervalSeconds: number;
  /** Rate cap, bytes per second: 0 derives it from the interval; Infinity does not throttle. */
  rateBytesPerSecond: number;
  /** Asks the store to rewrite bad or missing shards; without it the scrub only reports. */
  repair?: (id: Uint8Array, bad: { drive: number; shard: number }[]) => Promise<{ shards: number }>;
  /** Pings the store and returns its answer time, ms (back-off when busy). */
  ping?: () => Promise<number>;
  checkpoint?: CheckpointStore;
  /** Progress callback after each page. */
  onProgress?: (status: ScrubStatus) => void;
}

function emptyPass(now: number): ScrubPass {
  return {
    startedAt: now,
    phase: "shards",
    bytesScanned: 0,
    bytesTotal: 0,
    chunksChecked: 0,
    shardsChecked: 0,
    objectsChecked: 0,
    objectsTotal: 0,
    found: 0,
    repaired: 0,
    unrecoverable: 0,
    refMismatches: 0,
    findings: [],
    findingsDropped: 0,
  };
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Before a drive's first record. */
const START = { segment: 0, offset: 0 };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The scrubber of one vault. */
export class Scrubber {
  readonly #opts: ScrubberOptions;
  #ckpt: ScrubCheckpoint;
  #state: ScrubStatus["state"] = "idle";
  #running: Promise<void> | undefined;
  #resume: (() => void) | undefined;
  #timer?: ReturnType<typeof setInterval>;
  #bucket = new TokenBucket(0, 0);
  #rate = { bytes: 0, since: 0 };
  #savedAt = 0;
  #totals = { bytesScanned: 0, shardsChecked: 0, found: 0, repaired: 0, unrecoverable: 0 };
  #codes = new Map<string, ReedSolomon>();
  #lastError: string | undefined;
  /** Set by close(): a stopped pass stays in the checkpoint. */
  #closing = false;

  /** @param opts Drives, keys, schedule, throttle, repair and checkpoint. */
  constructor(opts: ScrubberOptions) {
    this.#opts = opts;
    this.#ckpt = opts.checkpoint?.load() ??
      { nextPassAt: Date.now() + opts.intervalSeconds * 1000 };
  }

  /**
   * Starts the schedule: resumes a pass a restart interrupted (or keeps it
   * paused), and starts a pass whenever one is due.
   */
  schedule(): void {
    // Persist the first due time at once, or every restart would push the first pass further out.
    this.#save(true);
    if (this.#ckpt.pass && !this.#ckpt.paused) this.#begin();
    else if (this.#ckpt.pass) this.#state = "paused";
    const tick = () => {
      if (this.#state === "idle" && Date.now() >= this.#ckpt.nextPassAt) this.#begin();
    };
    tick();
    this.#timer = setInterval(tick, SCHEDULE_TICK_MS);
  }

  /**
   * Applies a command: `start` begins a pass now (or resumes a paused one),
   * `pause` stops after the chunk under way and keeps the cursor, `resume` goes on,
   * `cancel` drops the pass under way.
   *
   * @param action The command.
   * @returns The status after it.
   */
  command(action: ScrubAction): ScrubStatus {
    if (action === "start" && this.#state === "idle") this.#begin();
    else if ((action === "start" || action === "resume") && this.#state === "paused") {
      this.#ckpt.paused = false;
      this.#state = "running";
      if (this.#resume) this.#resume();
      else this.#begin();
      this.#save(true);
    } else if (action === "pause" && this.#state === "running") {
      this.#ckpt.paused = true;
      this.#state = "paused";
      this.#save(true);
    } else if (action === "cancel" && this.#state !== "idle") {
      this.#finish(false); // the pass loop sees its pass is gone and stops
      this.#resume?.();
    }
    return this.status();
  }

  /**
   * Runs one whole pass now and returns it (the offline scrub).
   *
   * @throws {Error} when the pass fails (for example, the index cannot be opened).
   */
  async runOnce(): Promise<ScrubPass> {
    if (this.#state === "idle") this.#begin();
    await this.#running;
    if (this.#lastError !== undefined || !this.#ckpt.lastPass) {
      throw new Error(this.#lastError ?? "The scrub pass was cancelled");
    }
    return this.#ckpt.lastPass;
  }

  /** The status: state, pass under way, rate, ETA, last pass and totals. */
  status(): ScrubStatus {
    const pass = this.#ckpt.pass;
    const elapsed = (Date.now() - this.#rate.since) / 1000;
    const current = this.#state === "running" && elapsed > 0 ? this.#rate.bytes / elapsed : 0;
    return {
      state: this.#state,
      dataDir: this.#opts.dataDir,
      rateBytesPerSecond: this.#bucket.rate,
      currentBytesPerSecond: Math.round(current),
      etaSeconds: pass ? etaSeconds(pass.bytesScanned, pass.bytesTotal, current) : undefined,
      pass: pass && { ...pass, findings: [...pass.findings] },
      lastPass: this.#ckpt.lastPass,
      lastFullPassAt: this.#ckpt.lastFullPassAt,
      nextPassAt: this.#state === "idle" ? this.#ckpt.nextPassAt : undefined,
      totals: { ...this.#totals },
      lastError: this.#lastError,
    };
  }

  /** Stops the schedule and the pass under way (its checkpoint stays, so it resumes after a restart). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#closing = true;
    this.#resume?.();
    await this.#running;
  }

  #begin(): void {
    this.#state = "running";
    this.#ckpt.paused = false;
    if (!this.#ckpt.pass) {
      this.#ckpt.pass = emptyPass(Date.now());
      this.#ckpt.cursor = { phase: "shards", drive: 0, segment: 0, offset: 0 };
    }
    const pass = this.#ckpt.pass;
    // A cancelled pass's loop may still be winding down: the new one starts after it.
    const running: Promise<void> = (this.#running ?? Promise.resolve()).then(() => this.#pass(pass))
      .catch((e) => {
        this.#lastError = (e as Error).message;
        log("error", "Scrub pass failed", { error: this.#lastError });
        if (this.#ckpt.pass === pass) this.#finish(false);
      }).finally(() => {
        if (this.#running === running) this.#running = undefined;
      });
    this.#running = running;
  }

  #finish(complete: boolean): void {
    const pass = this.#ckpt.pass;
    if (pass && complete) {
      this.#lastError = undefined;
      pass.finishedAt = Date.now();
      pass.phase = "done";
      this.#ckpt.lastPass = pass;
      this.#ckpt.lastFullPassAt = pass.finishedAt;
      log(pass.unrecoverable > 0 ? "error" : pass.found > 0 ? "warn" : "info", "Scrub pass done", {
        bytes: pass.bytesScanned,
        chunks: pass.chunksChecked,
        found: pass.found,
        repaired: pass.repaired,
        unrecoverable: pass.unrecoverable,
      });
    }
    this.#ckpt.pass = undefined;
    this.#ckpt.cursor = undefined;
    this.#ckpt.ends = undefined;
    this.#ckpt.tailEnds = undefined;
    this.#ckpt.paused = false;
    this.#ckpt.nextPassAt = Date.now() + this.#opts.intervalSeconds * 1000;
    this.#state = "idle";
    this.#save(true);
  }

  /** A pass loop stopping: on close its pass stays in the checkpoint; a cancel already cleared it. */
  #stop(): void {
    if (this.#closing) this.#save(true);
  }

  #save(force: boolean): void {
    if (!this.#opts.checkpoint) return;
    const now = Date.now();
    if (!force && now - this.#savedAt < CHECKPOINT_EVERY_MS) return;
    this.#savedAt = now;
    try {
      this.#opts.checkpoint.save(this.#ckpt);
    } catch (e) {
      log("warn", "Cannot save the scrub checkpoint", { error: (e as Error).message });
    }
  }

  #note(pass: ScrubPass, f: ScrubFinding): void {
    pass.found++;
    this.#totals.found++;
    if (pass.findings.length < FINDINGS_MAX) pass.findings.push(f);
    else pass.findingsDropped++;
  }

  /** True when `pass` must stop: cancelled (no longer the current pass) or closing. */
  #stopped(pass: ScrubPass): boolean {
    return this.#closing || this.#ckpt.pass !== pass;
  }

  /** Saves progress and waits while paused; true when the pass must stop. */
  async #checkpointAndGate(pass: ScrubPass): Promise<boolean> {
    if (this.#stopped(pass)) return true;
    this.#save(false);
    this.#opts.onProgress?.(this.status());
    while (this.#state === "paused" && !this.#stopped(pass)) {
      this.#save(true);
      await new Promise<void>((r) => (this.#resume = r));
      this.#resume = undefined;
      this.#rate = { bytes: 0, since: Date.now() };
    }
    return this.#stopped(pass);
  }

  async #throttle(bytes: number, sincePing: { bytes: number }): Promise<void> {
    let wait = this.#bucket.take(bytes, Date.now());
    sincePing.bytes += bytes;
    if (this.#opts.ping && sincePing.bytes >= PING_EVERY_BYTES) {
      sincePing.bytes = 0;
      wait = Math.max(wait, busyBackoffMs(await this.#opts.ping()));
    }
    if (wait > 0) await sleep(wait);
  }

  async #pass(pass: ScrubPass): Promise<void> {
    if (this.#stopped(pass)) return;
    const refs = new RefIndex(`${this.#opts.dataDir}/meta/index.db`);
    const readers = this.#opts.drives.map((path, i) => DriveReader.open(i, path));
    try {
      const onDisk = readers.reduce((n, r) => n + (r?.totals().bytes ?? 0), 0);
      if (pass.bytesTotal === 0) pass.bytesTotal = onDisk;
      pass.objectsTotal = refs.totals().objects;
      const rate = Number.isFinite(this.#opts.rateBytesPerSecond)
        ? scrubRate(onDisk, this.#opts.intervalSeconds, this.#opts.rateBytesPerSecond)
        : 0;
      this.#bucket = new TokenBucket(rate, Date.now());
      this.#rate = { bytes: 0, since: Date.now() };
      if (this.#ckpt.cursor?.phase === "shards") {
        if (await this.#shards(pass, readers, refs)) return this.#stop();
        pass.phase = "refs";
        this.#ckpt.cursor = { phase: "refs", range: 0 };
      }
      if (this.#ckpt.cursor?.phase !== "inline") {
        if (await this.#refs(pass, readers, refs)) return this.#stop();
        pass.phase = "inline";
        this.#ckpt.cursor = { phase: "inline", after: 0 };
      }
      if (await this.#inline(pass, refs)) return this.#stop();
      this.#finish(true);
    } finally {
      refs.close();
      for (const r of readers) r?.close();
    }
  }

  /** Phase 1: every shard. Returns true when stopped. */
  async #shards(
    pass: ScrubPass,
    readers: (DriveReader | undefined)[],
    refs: RefIndex,
  ): Promise<boolean> {
    // Records appended after the pass started wait for the next pass, so heavy writes cannot
    // keep a pass from ending; those moved there meanwhile are swept after (`tailEnds`).
    const ends = this.#ckpt.ends ??= readers.map((r) => r?.lastRow());
    const cursor = this.#ckpt.cursor as Extract<ScrubCursor, { phase: "shards" }>;
    if (!cursor.tail) {
      if (await this.#sweep(pass, readers, refs, cursor, () => START, ends)) return true;
      this.#ckpt.tailEnds = readers.map((r) => r?.lastRow());
      this.#ckpt.cursor = { phase: "shards", tail: true, drive: 0, ...(ends[0] ?? START) };
    }
    const tailEnds = this.#ckpt.tailEnds ?? ends;
    const from = (d: number) => ends[d] ?? START;
    const tailCursor = this.#ckpt.cursor as Extract<ScrubCursor, { phase: "shards" }>;
    return await this.#sweep(pass, readers, refs, tailCursor, from, tailEnds);
  }

  /**
   * Sweeps each drive's records after `from(d)` up to `to[d]`, from the
   * cursor on, checking each chunk at the first drive that holds it. Returns
   * true when stopped.
   */
  async #sweep(
    pass: ScrubPass,
    readers: (DriveReader | undefined)[],
    refs: RefIndex,
    cursor: Extract<ScrubCursor, { phase: "shards" }>,
    from: (d: number) => { segment: number; offset: number },
    to: ({ segment: number; offset: number } | undefined)[],
  ): Promise<boolean> {
    const online = readers.map((r) => r !== undefined);
    const ping = { bytes: 0 };
    const tail = cursor.tail;
    for (let d = cursor.drive; d < readers.length; d++) {
      const reader = readers[d];
      const end = to[d];
      if (!reader || !end) continue;
      // The tail starts in the segment the sweep before it ended in, whose header it checked.
      let headerChecked = tail ? from(d).segment : -1;
      let pos = d === cursor.drive ? { segment: cursor.segment, offset: cursor.offset } : from(d);
      while (true) {
        if (await this.#checkpointAndGate(pass)) return true;
        const page = reader.rowsAfter(pos, PAGE_ROWS);
        const rows = page.filter((r) =>
          r.segment < end.segment || (r.segment === end.segment && r.offset <= end.offset)
        );
        if (rows.length === 0) break;
        for (const segment of new Set(rows.map((r) => r.segment))) {
          if (segment === headerChecked) continue;
          headerChecked = segment;
          const problem = await reader.segmentProblem(segment);
          if (problem) {
            this.#note(pass, { kind: "badSegment", chunk: "", drive: d, segment, detail: problem });
          }
        }
        // Chunks a lower drive holds were (or will be) checked from there.
        const leading = rows.filter((r) => !readers.slice(0, d).some((o) => o?.locate(r.id)));
        for (let i = 0; i < leading.length;) {
          let j = i + 1;
          while (j < leading.length && leading[j].segment === leading[i].segment) j++;
          const group = leading.slice(i, j);
          const checked = await reader.readSegmentRows(group[0].segment, group);
          for (let g = 0; g < group.length; g++) {
            const bytes = await this.#chunk(pass, readers, refs, online, d, group[g], checked[g]);
            pass.bytesScanned += bytes;
            this.#totals.bytesScanned += bytes;
            this.#rate.bytes += bytes;
            this.#ckpt.cursor = { phase: "shards", drive: d, ...at(group[g]), tail };
            await this.#throttle(bytes, ping);
            if (await this.#checkpointAndGate(pass)) return true;
          }
          i = j;
        }
        pos = at(rows[rows.length - 1]);
        this.#ckpt.cursor = { phase: "shards", drive: d, ...pos, tail };
      }
    }
    return false;
  }

  #code(k: number, m: number): ReedSolomon {
    const key = `${k}+${m}`;
    let rs = this.#codes.get(key);
    if (!rs) this.#codes.set(key, rs = new ReedSolomon(k, m));
    return rs;
  }

  /** Checks one chunk met first on drive `d`; returns the record bytes read. */
  async #chunk(
    pass: ScrubPass,
    readers: (DriveReader | undefined)[],
    refs: RefIndex,
    online: boolean[],
    d: number,
    row: ShardRow,
    own: CheckedShard,
  ): Promise<number> {
    const id = row.id;
    const chunk = toHex(id);
    const seen: (ShardSeen & { row: ShardRow; checked: CheckedShard })[] = [];
    let bytes = 0;
    for (let e = d; e < readers.length; e++) {
      let r = e === d ? row : readers[e]?.locate(id);
      if (!r) continue;
      let checked = e === d ? own : await readers[e]!.readRow(r);
      bytes += r.length;
      if (checked.problem) {
        // Moved by compaction, rewritten by a heal or collected since the index was read: look again.
        const now = readers[e]!.locate(id);
        if (!now) continue;
        if (now.segment !== r.segment || now.offset !== r.offset) {
          r = now;
          checked = await readers[e]!.readRow(r);
          bytes += r.length;
        }
      }
      seen.push({
        drive: e,
        shard: r.shard ?? 0,
        crc: r.crc,
        ok: !checked.problem,
        geometry: { k: r.k, m: r.m },
        row: r,
        checked,
      });
    }
    if (seen.length === 0) return bytes; // collected while the scrub read it
    pass.chunksChecked++;
    pass.shardsChecked += seen.length;
    this.#totals.shardsChecked += seen.length;
    const verdict = judgeStripe(seen, { k: row.k, m: row.m, online, firstIdByte: id[0] });
    const { k, m } = verdict;
    // A chunk nothing references is no object's damage: a write a crash cut off between drives, or
    // garbage the collector has not reached. Journal records are the index's, and always checked.
    const unreferenced = () => journalSeqOf(id) === undefined && refs.references(id) === 0;
    const skip = () => {
      pass.unreferencedSkipped = (pass.unreferencedSkipped ?? 0) + 1;
      return bytes;
    };
    const damaged = verdict.bad.length > 0 || !verdict.readable;
    if (damaged && unreferenced()) return skip();
    // Gone from the drive it was met on: collected while its shards were read drive by drive (a
    // journal record below a new checkpoint, say), not damaged. Elsewhere the next pass meets it.
    if (damaged && !readers[d]!.locate(id)) return skip();
    for (const b of verdict.bad) {
      const s = seen.find((x) => x.drive === b.drive && x.shard === b.shard && !b.missing);
      this.#note(pass, {
        kind: b.missing ? "missingShard" : "badShard",
        chunk,
        drive: b.drive,
        shard: b.shard,
        segment: s?.row.segment,
        offset: s?.row.offset,
        detail: b.missing
          ? `drive ${b.drive} holds no shard ${b.shard}`
          : s?.checked.problem ?? "shard of another seal of the chunk",
      });
    }
    const lost = (detail: string, kind: ScrubFinding["kind"]) => {
      pass.unrecoverable++;
      this.#totals.unrecoverable++;
      this.#note(pass, { kind, chunk, detail, objects: [] });
    };
    if (!verdict.readable) {
      lost(`${verdict.good} good shards of ${k + m} and ${k} are needed`, "unrecoverable");
      return bytes;
    }
    const problem = this.#open(id, k, m, verdict.crc, seen);
    if (problem) {
      if (unreferenced()) return skip();
      lost(problem, "badChunk");
      return bytes;
    }
    if (verdict.bad.length > 0 && this.#opts.repair) {
      try {
        const r = await this.#opts.repair(
          id,
          verdict.bad.map(({ drive, shard }) => ({ drive, shard })),
        );
        pass.repaired += r.shards;
        this.#totals.repaired += r.shards;
        const start = pass.findings.length - Math.min(verdict.bad.length, pass.findings.length);
        for (const f of pass.findings.slice(start)) {
          if (f.chunk === chunk) f.repaired = r.shards > 0;
        }
      } catch (e) {
        log("warn", "Scrub cannot repair chunk", { chunk, error: (e as Error).message });
      }
    }
    return bytes;
  }

  /** Rebuilds the sealed chunk from k good shards and checks stripe CRC and AEAD tag; returns the problem, if any. */
  #open(
    id: Uint8Array,
    k: number,
    m: number,
    crc: number | undefined,
    seen: (ShardSeen & { row: ShardRow; checked: CheckedShard })[],
  ): string | undefined {
    const good = seen.filter((s) => s.ok && s.crc === crc);
    let sealed: Uint8Array;
    if (good[0].row.shard === null) sealed = good[0].checked.bytes!;
    else {
      const got: (Uint8Array | null)[] = new Array(k + m).fill(null);
      for (const s of good) got[s.shard] ??= s.checked.bytes!;
      const rs = this.#code(k, m);
      const missing = [...Array(k).keys()].filter((j) => !got[j]);
      try {
        if (missing.length > 0) rs.reconstruct(got, missing);
        sealed = rs.join(got as Uint8Array[], good[0].checked.sealedBytes);
      } catch (e) {
        return `cannot rebuild from parity: ${(e as Error).message}`;
      }
      if (crc32(sealed) !== crc) return "rebuilt chunk fails its stripe checksum";
    }
    try {
      openChunk(this.#opts.sealKey, id, sealed);
    } catch (e) {
      return `AEAD check failed: ${(e as Error).message}`;
    }
    return undefined;
  }

  /** Phase 2: references and reference counts, one id range at a time. Returns true when stopped. */
  async #refs(
    pass: ScrubPass,
    readers: (DriveReader | undefined)[],
    refs: RefIndex,
  ): Promise<boolean> {
    const totals = refs.totals();
    pass.objectsTotal = totals.objects;
    const ranges = idRanges(totals.chunks, RANGE_CHUNKS);
    const lostChunks = new Map<string, ScrubFinding>();
    for (const f of pass.findings) {
      if (f.kind === "unrecoverable" || f.kind === "badChunk") lostChunks.set(f.chunk, f);
    }
    const cursor = this.#ckpt.cursor as Extract<ScrubCursor, { phase: "refs" }>;
    const stored = (id: Uint8Array) => readers.some((r) => r?.locate(id));
    for (let r = cursor.range; r < ranges.length; r++) {
      if (await this.#checkpointAndGate(pass)) return true;
      const { lo, hi } = ranges[r];
      const inRange = (id: Uint8Array) => {
        const p = idPrefix(id);
        return p >= lo && p < hi;
      };
      // One read transaction: counts and manifests from the same snapshot.
      const { expected, actual } = await refs.snapshot(async () => {
        const expected = refs.refsInRange(lo, hi);
        const actual = new Map<string, number>();
        let objects = 0;
        for (const { owner, manifest } of refs.manifests()) {
          // Let status requests and commands in now and then.
          if (++objects % YIELD_EVERY_MANIFESTS === 0) await sleep(0);
          for (const id of manifestIds(manifest)) {
            if (!inRange(id)) continue;
            const hex = toHex(id);
            actual.set(hex, (actual.get(hex) ?? 0) + 1);
            const lostChunk = lostChunks.get(hex);
            if (lostChunk) addOwner(lostChunk, owner);
          }
        }
        pass.objectsChecked = Math.floor(objects * (r + 1) / ranges.length);
        return { expected, actual };
      });
      const missing = new Map<string, ScrubFinding>();
      for (const [hex, n] of actual) {
        const e = expected.get(hex) ?? 0;
        if (e !== n) {
          this.#refMismatch(pass, hex, `index counts ${e} references, manifests hold ${n}`);
        }
        if (!lostChunks.has(hex) && !stored(fromHex(hex))) {
          const f: ScrubFinding = {
            kind: "missingChunk",
            chunk: hex,
            detail: "referenced, but no drive holds a shard of it",
            objects: [],
          };
          missing.set(hex, f);
          pass.unrecoverable++;
          this.#totals.unrecoverable++;
          this.#note(pass, f);
        }
      }
      for (const [hex, e] of expected) {
        if (!actual.has(hex) && e > 0) {
          this.#refMismatch(pass, hex, `index counts ${e} references, no manifest holds it`);
        }
      }
      if (missing.size > 0) {
        await refs.snapshot(() => {
          for (const { owner, manifest } of refs.manifests()) {
            for (const id of manifestIds(manifest)) {
              const f = inRange(id) ? missing.get(toHex(id)) : undefined;
              if (f) addOwner(f, owner);
            }
          }
        });
      }
      this.#ckpt.cursor = { phase: "refs", range: r + 1 };
    }
    return false;
  }

  /**
   * Phase 3: every tiny object body kept in the index must open (its tag
   * verifies). The drives hold no parity for the index: a damaged one is
   * unrecoverable here (its checkpoints copy the live file, so they hold a good
   * body only if taken before the damage). Returns true when stopped.
   */
  async #inline(pass: ScrubPass, refs: RefIndex): Promise<boolean> {
    const sealer = inlineSealer(this.#opts.inlineKey);
    const ping = { bytes: 0 };
    while (true) {
      if (await this.#checkpointAndGate(pass)) return true;
      const cursor = this.#ckpt.cursor as Extract<ScrubCursor, { phase: "inline" }>;
      const page = refs.inlineBodies(cursor.after, INLINE_PAGE_BODIES);
      let bytes = 0;
      for (const body of page) {
        bytes += body.sealed.length;
        try {
          sealer.open(body.sealed);
        } catch (e) {
          pass.unrecoverable++;
          this.#totals.unrecoverable++;
          this.#note(pass, {
            kind: "badInline",
            chunk: "",
            detail: (e as Error).message,
            objects: refs.inlineOwners(body.id),
          });
        }
      }
      await this.#throttle(bytes, ping);
      if (page.length < INLINE_PAGE_BODIES) return false;
      this.#ckpt.cursor = { phase: "inline", after: page[page.length - 1].id };
    }
  }

  #refMismatch(pass: ScrubPass, chunk: string, detail: string): void {
    pass.refMismatches++;
    this.#note(pass, { kind: "refcount", chunk, detail });
  }
}

function at(row: ShardRow): { segment: number; offset: number } {
  return { segment: row.segment, offset: row.offset };
}

/** Names an object behind a finding once, however often its manifest repeats the chunk. */
function addOwner(f: ScrubFinding, owner: ScrubObjectRef): void {
  f.objects ??= [];
  const same = JSON.stringify(owner);
  if (f.objects.some((o) => JSON.stringify(o) === same)) return;
  if (f.objects.length < OBJECTS_PER_FINDING_MAX) f.objects.push(owner);
}
