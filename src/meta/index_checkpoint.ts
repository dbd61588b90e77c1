/**
 * Keeps the index recoverable from the drives alone: every committed batch
 * goes to the store as a journal record (see `Db.journalTo`), and now and
 * then a consistent copy (SQLite's online backup) is handed to the store, which seals
 * it onto every online drive as a checkpoint. Journal records at or below a
 * checkpoint's sequence may then be collected.
 *
 * A checkpoint is taken at start when the last one does not hold the
 * current state (first start, after a crash, after a migration), every
 * interval, and at a clean shutdown; a failed one is retried soon after.
 *
 * @module
 */

import type { Client, StoreRequest, StoreResults } from "../channel/mod.ts";
import { backup, DatabaseSync } from "node:sqlite";
import { log } from "../ops/mod.ts";
import type { Db } from "./db.ts";
import { indexDamage } from "../index_journal.ts";

/** Wait before a checkpoint forced by a failed journal append (and between retries), ms. */
const RETRY_MS = 5_000;

/** The journal sequence an index copy holds. */
function journalSeqOf(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    // A damaged page copies as it is: it must never replace the last good checkpoint.
    const damage = indexDamage(db, "quick_check");
    if (damage) {
      throw new Error(
        `the index is damaged (${damage}); the last checkpoint is kept: stop the vault and run rebuild-index`,
      );
    }
    const row = db.prepare("SELECT value FROM counters WHERE name = 'journal_seq'").get() as
      | { value: number }
      | undefined;
    return Number(row?.value ?? 0);
  } finally {
    db.close();
  }
}

/** What the last checkpoint on the drives holds, kept in the meta dir. */
interface CheckpointState {
  seq: number;
  format: number;
}

/** Takes the index's checkpoints (see the module doc). */
export class IndexCheckpointer {
  #db: Db;
  #store: Client<StoreRequest, StoreResults>;
  #dir: string;
  #onError: (message: string) => void;
  #timer?: ReturnType<typeof setInterval>;
  #retry?: ReturnType<typeof setTimeout>;
  #running: Promise<number> | undefined;
  #closed = false;

  /**
   * Starts journaling `db` into the store.
   *
   * @param db The index.
   * @param opts The store client, the meta dir (for the copy and the state
   *   file), the interval (0: only at start, shutdown and after failures) and
   *   where failures are reported.
   */
  constructor(db: Db, opts: {
    store: Client<StoreRequest, StoreResults>;
    dir: string;
    intervalMs: number;
    onError: (message: string) => void;
  }) {
    this.#db = db;
    this.#store = opts.store;
    this.#dir = opts.dir;
    this.#onError = opts.onError;
    db.journalTo(async (seq, changeset, writeIds, ended) => {
      try {
        await this.#store.call({ type: "journalAppend", seq, changeset, writeIds, ended }, [
          changeset.buffer as ArrayBuffer,
        ]);
      } catch (e) {
        // The batch rolls back and its writers get the error: nothing to repair here.
        this.#onError(`Cannot journal index batch ${seq}: ${(e as Error).message}`);
        throw e;
      }
    }, (writeIds, committedSeq) => {
      // Only unpins chunks early; a session missed here is dropped when it idles out.
      this.#store.call({ type: "writeRelease", writeIds, committedSeq }).catch(() => undefined);
    });
    if (opts.intervalMs > 0) {
      this.#timer = setInterval(() => this.take().catch(() => undefined), opts.intervalMs);
    }
  }

  /**
   * Brings the index up to date from the journal (batches a power cut took
   * from the WAL), then takes a checkpoint unless the last one already holds
   * the current state.
   */
  async startUp(): Promise<void> {
    const tail = await this.#store.call({ type: "journalTail", afterSeq: this.#db.journalSeq });
    if (tail.unreadable.length > 0) {
      throw new Error(
        `Cannot bring the index up to date: journal batches ${
          tail.unreadable.join(", ")
        } are unreadable; bring back any drive that is missing, or run rebuild-index`,
      );
    }
    if (tail.unfinished.length > 0) {
      // Never acknowledged: the next batch reuses the sequence, and its whole record wins.
      log("warn", "Journal batches that were never completely written are dropped", {
        batches: tail.unfinished,
      });
    }
    const { applied, conflicts } = this.#db.applyJournalTail(tail.records);
    if (conflicts > 0) {
      log("warn", "The journal replay replaced index rows that differed from its records", {
        rows: conflicts,
      });
    }
    if (this.#db.journalSeq < tail.checkpointSeq) {
      // A lost index (a new one is empty) or an older copy put back: serving it would lose (or
      // bring back) everything since, and its checkpoint would replace the good one.
      throw new Error(
        `The index is at batch ${this.#db.journalSeq}, behind the checkpoint on the drives (batch ${tail.checkpointSeq}): it is missing or an older copy; stop and run rebuild-index`,
      );
    }
    if (applied > 0) {
      log("warn", "Index brought up to date from the journal", {
        batches: applied,
        seq: this.#db.journalSeq,
      });
    }
    const state = this.#state();
    if (state?.seq === this.#db.journalSeq && state.format === this.#format()) return;
    // Drives short of a quorum must not keep the vault from serving reads; it retries.
    await this.take().catch(() => this.#retrySoon());
  }

  #format(): number {
    return Number(this.#db.get<{ user_version: number }>("PRAGMA user_version")!.user_version);
  }

  #state(): CheckpointState | undefined {
    try {
      return JSON.parse(Deno.readTextFileSync(`${this.#dir}/index-checkpoint.json`));
    } catch {
      return undefined;
    }
  }

  #retrySoon(): void {
    if (this.#retry || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.take().catch(() => this.#retrySoon());
    }, RETRY_MS);
  }

  /**
   * Takes a checkpoint (one at a time; a call during one waits for it and
   * takes another).
   *
   * @returns The journal sequence the checkpoint holds.
   */
  async take(): Promise<number> {
    while (this.#running) await this.#running.catch(() => undefined);
    this.#running = this.#take().finally(() => (this.#running = undefined));
    return await this.#running;
  }

  async #take(): Promise<number> {
    const copy = `${this.#dir}/index-checkpoint.db`;
    try {
      Deno.removeSync(copy);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    // The online backup API (VACUUM INTO needs ATTACH, which the sandbox forbids), from the reading
    // connection: committed batches only. Batches may commit while it copies; the sequence is
    // read from the copy, which holds exactly 1..seq.
    await backup(this.#db.reader, copy);
    try {
      const seq = journalSeqOf(copy);
      const r = await this.#store.call({ type: "indexCheckpoint", seq, path: copy });
      for (const f of r.failed) this.#onError(`Index checkpoint ${seq} missed a drive: ${f}`);
      log("info", "Index checkpointed onto the drives", { seq, drives: r.drives });
      const state: CheckpointState = { seq, format: this.#format() };
      Deno.writeTextFileSync(`${this.#dir}/index-checkpoint.json`, JSON.stringify(state) + "\n");
      return seq;
    } catch (e) {
      this.#onError(`Cannot checkpoint the index: ${(e as Error).message}`);
      this.#retrySoon();
      throw e;
    } finally {
      Deno.removeSync(copy);
    }
  }

  /** Stops the timers and takes the last checkpoint (a clean shutdown needs no journal replay). */
  async close(): Promise<void> {
    this.stop();
    await this.#db.settled();
    await this.take().catch(() => undefined);
  }

  /** Stops the timers, with no last checkpoint. */
  stop(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
  }
}
