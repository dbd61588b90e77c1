/**
 * The SQLite index: schema, migrations and a group-committing transaction
 * runner. Writes queued while a batch is being made durable go into the next
 * batch, so many small PUTs share one fsync.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { applyChangesets, indexDamage } from "../index_journal.ts";
import { migrateIndex } from "../index_schema.ts";

/** A write queued for the next group commit. */
interface QueuedWrite {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** Store write sessions whose chunks the write's manifests reference. */
  writeIds?: string[];
}

/**
 * Makes one batch durable in the store: its changeset as journal record
 * `seq`, together with the chunks of the named write sessions. `ended` names
 * the write sessions of earlier batches, now committed or rolled back: the
 * store need not pin their chunks any longer.
 */
export type JournalAppend = (
  seq: number,
  changeset: Uint8Array,
  writeIds: string[],
  ended: string[],
) => Promise<void>;

/** Ended write sessions wait this long for the next journal append to carry them, ms. */
const ENDED_WRITES_WAIT_MS = 250;

/**
 * The index: a prepared-statement cache over one SQLite connection, and the
 * group commit.
 *
 * Without a journal, each batch is one `synchronous=FULL` COMMIT. With one
 * ({@linkcode Db.journalTo}), a batch is made durable by its journal record in
 * the store before it commits, and SQLite runs at `synchronous=NORMAL`: the
 * batch's transaction stays open (unseen by readers, which use a second
 * connection meanwhile) until the record and the chunks its manifests
 * reference are on the drives, then commits without an fsync of its own. A
 * batch whose record fails rolls back, so nothing is visible that is not
 * durable, and one fsync in the store serves data, manifest and index. After a
 * power cut the WAL may lack the last batches; {@linkcode Db.applyJournalTail}
 * puts them back at start from the store.
 */
export class Db {
  /** The writing connection. */
  readonly sql: DatabaseSync;
  /** The reading connection (the writing one until journaling starts): sees committed batches only. */
  #reader: DatabaseSync;
  #statements = new Map<string, ReturnType<DatabaseSync["prepare"]>>();
  #readStatements = new Map<string, ReturnType<DatabaseSync["prepare"]>>();
  #queue: QueuedWrite[] = [];
  #beforeCommit: (() => void)[] = [];
  #journal?: JournalAppend;
  /** Hands ended write sessions back when no journal append carries them soon. */
  #releaseWrites: (writeIds: string[], committedSeq: number) => void = () => {};
  /** Write sessions of settled batches not yet handed back to the store. */
  #endedWrites: string[] = [];
  #endedTimer?: ReturnType<typeof setTimeout>;
  #journalSeq = 0;
  /** The batch whose journal record is being written (its transaction open), if any. */
  #pending?: Promise<void>;
  /** True while a batch's writes run: their reads and writes use the open transaction. */
  #inBatch = false;
  #scheduled = false;
  #closed = false;

  /**
   * Opens (creating if needed) and migrates the index.
   *
   * @param path Database file path.
   */
  constructor(readonly path: string) {
    this.sql = new DatabaseSync(path);
    this.sql.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;");
    this.#reader = this.sql;
    try {
      // A damaged page would be served (failing or wrong listings) and checkpointed over the good copy.
      const damage = indexDamage(this.sql, "quick_check");
      if (damage) {
        throw new Error(
          `The index "${path}" is damaged (${damage}): stop the vault and run rebuild-index`,
        );
      }
      migrateIndex(this.sql, path);
    } catch (e) {
      this.sql.close();
      throw e;
    }
  }

  /** The connection that sees committed batches only (for backups and reads). */
  get reader(): DatabaseSync {
    return this.#reader;
  }

  /** Runs a cached prepared statement and returns all rows. */
  all<T>(query: string, ...params: SQLInputValue[]): T[] {
    return this.#prepare(query, true).all(...params) as T[];
  }

  /** Runs a cached prepared statement and returns the first row. */
  get<T>(query: string, ...params: SQLInputValue[]): T | undefined {
    return this.#prepare(query, true).get(...params) as T | undefined;
  }

  /** Runs a cached prepared statement for its effect. */
  run(query: string, ...params: SQLInputValue[]): { changes: number } {
    const r = this.#prepare(query, false).run(...params);
    return { changes: Number(r.changes) };
  }

  #prepare(query: string, read: boolean) {
    // Outside a batch while one awaits its journal, reads must not see its uncommitted rows.
    const outside = this.#pending !== undefined && !this.#inBatch;
    if (outside && !read) {
      throw new Error("Cannot write to the index outside a group commit while a batch is pending");
    }
    const [db, cache] = outside
      ? [this.#reader, this.#readStatements]
      : [this.sql, this.#statements];
    let s = cache.get(query);
    if (!s) {
      s = db.prepare(query);
      cache.set(query, s);
    }
    return s;
  }

  /**
   * Queues a write to run inside the next group commit. Each write runs in
   * its own savepoint, so one failing write does not undo the others; the
   * promise settles only after the batch is durable.
   *
   * @param fn The write; its return value resolves the promise.
   * @param writeIds Store write sessions whose chunks the write's manifests reference: they are
   *   made durable with the batch's journal record.
   * @returns What `fn` returned, once committed.
   */
  write<T>(fn: () => T, writeIds?: string[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#closed) {
        reject(new Error("The index is closed"));
        return;
      }
      this.#queue.push({ fn, resolve: resolve as (v: unknown) => void, reject, writeIds });
      this.#schedule();
    });
  }

  #schedule() {
    if (this.#scheduled || this.#pending) return; // a pending batch schedules the next when it ends
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush() {
    this.#scheduled = false;
    if (this.#pending || this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    let changeset: Uint8Array | undefined;
    this.#inBatch = true;
    try {
      this.sql.exec("BEGIN IMMEDIATE");
      const session = this.#journal && this.sql.createSession();
      const changesBefore = session && this.#totalChanges();
      for (const item of batch) {
        this.sql.exec("SAVEPOINT w");
        try {
          const value = item.fn();
          this.sql.exec("RELEASE w");
          outcomes.push({ ok: true, value });
        } catch (error) {
          this.sql.exec("ROLLBACK TO w");
          this.sql.exec("RELEASE w");
          outcomes.push({ ok: false, error });
        }
      }
      for (const hook of this.#beforeCommit) hook();
      if (session && this.#totalChanges() > changesBefore!) {
        // The sequence is part of the batch, so a checkpoint or a rebuild knows where it stands.
        this.run(
          "INSERT INTO counters(name, value) VALUES('journal_seq', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
          this.#journalSeq + 1,
        );
        changeset = session.changeset();
      }
      session?.close();
      if (!changeset) this.sql.exec("COMMIT");
    } catch (error) {
      if (this.sql.isTransaction) this.sql.exec("ROLLBACK");
      for (const item of batch) item.reject(error);
      this.#writesEnded(batch);
      return;
    } finally {
      this.#inBatch = false;
    }
    const settle = (journalError?: unknown) => {
      batch.forEach((item, i) => {
        const o = outcomes[i];
        if (o.ok && journalError === undefined) item.resolve(o.value);
        else item.reject(o.ok ? journalError : o.error);
      });
      this.#writesEnded(batch);
    };
    if (!changeset) return settle();
    const seq = this.#journalSeq + 1;
    const writeIds = [
      ...new Set(batch.flatMap((item, i) => outcomes[i].ok ? item.writeIds ?? [] : [])),
    ];
    const ended = this.#endedWrites;
    this.#endedWrites = [];
    // Durable in the store first, visible after: a batch whose record fails is rolled back.
    const rollBack = (e: unknown) => {
      if (this.sql.isTransaction) this.sql.exec("ROLLBACK");
      settle(e ?? new Error("journal failed"));
    };
    this.#pending = this.#journal!(seq, changeset, writeIds, ended).then(
      () => {
        try {
          this.sql.exec("COMMIT");
        } catch (e) {
          // Not acknowledged; its durable record may still be replayed at start, like a lost reply.
          return rollBack(e);
        }
        this.#journalSeq = seq;
        settle();
      },
      rollBack,
    ).finally(() => {
      this.#pending = undefined;
      if (this.#queue.length > 0) this.#schedule();
    });
  }

  /**
   * Notes the write sessions of a settled batch: the next journal append
   * hands them back to the store, or a timer does when none follows soon.
   */
  #writesEnded(batch: QueuedWrite[]): void {
    for (const item of batch) if (item.writeIds) this.#endedWrites.push(...item.writeIds);
    if (this.#endedWrites.length === 0 || this.#endedTimer !== undefined) return;
    this.#endedTimer = setTimeout(() => {
      this.#endedTimer = undefined;
      this.#handBackWrites();
    }, ENDED_WRITES_WAIT_MS);
  }

  #handBackWrites(): void {
    if (this.#endedWrites.length === 0) return;
    this.#releaseWrites(this.#endedWrites, this.#journalSeq);
    this.#endedWrites = [];
  }

  #totalChanges(): number {
    return Number((this.get<{ n: number }>("SELECT total_changes() AS n"))!.n);
  }

  /**
   * Journals every batch from now on (see the class doc): `append` gets its
   * changeset with the next sequence number and the write sessions its
   * manifests use, and the batch commits once it resolves. The write sessions
   * of settled batches go back with a later append, or to `release` (with
   * the last sequence committed) when none follows soon.
   */
  journalTo(
    append: JournalAppend,
    release: (writeIds: string[], committedSeq: number) => void = () => {},
  ): void {
    this.#journalSeq = this.journalSeq;
    this.#journal = append;
    this.#releaseWrites = release;
    this.sql.exec("PRAGMA synchronous=NORMAL");
    this.#reader = new DatabaseSync(this.path);
    this.#reader.exec("PRAGMA query_only=1");
  }

  /**
   * Applies journal records newer than the index (a power cut can take the
   * last batches of the WAL, which are durable only in the journal), in
   * order, with the triggers off (the records hold the rows they wrote).
   * Call before serving.
   *
   * @param records Records after {@linkcode Db.journalSeq}, in sequence order, without gaps.
   * @returns How many were applied, and the rows that conflicted (the record's row won): an index
   *   that was not quite the prefix it claimed to be (a WAL from another moment).
   */
  applyJournalTail(
    records: { seq: number; changeset: Uint8Array }[],
  ): { applied: number; conflicts: number } {
    let seq = this.journalSeq;
    for (const r of records) {
      if (r.seq !== seq + 1) {
        throw new Error(
          `Cannot bring the index up to date: journal batch ${
            seq + 1
          } is missing or unreadable (found ${r.seq}); run rebuild-index`,
        );
      }
      seq = r.seq;
    }
    const conflicts = records.length > 0
      ? applyChangesets(this.sql, records.map((r) => r.changeset))
      : 0;
    this.#journalSeq = this.journalSeq;
    return { applied: records.length, conflicts };
  }

  /** Settles once every write queued so far is committed (or has failed). */
  async settled(): Promise<void> {
    while (this.#pending || this.#queue.length > 0) {
      if (this.#pending) await this.#pending;
      else this.#flush();
    }
  }

  /** The sequence number of the last journaled batch (0 before the first). */
  get journalSeq(): number {
    return Number(
      this.get<{ value: number }>("SELECT value FROM counters WHERE name = 'journal_seq'")?.value ??
        0,
    );
  }

  /** Runs `hook` inside every group commit, after its writes and before COMMIT. */
  beforeCommit(hook: () => void): void {
    this.#beforeCommit.push(hook);
  }

  /** Commits the queued writes, then closes the connections; later writes are refused. */
  async close(): Promise<void> {
    await this.settled();
    clearTimeout(this.#endedTimer);
    this.#handBackWrites();
    this.#closed = true;
    if (this.#reader !== this.sql) this.#reader.close();
    this.sql.close();
  }
}
