/**
 * The SQLite index: schema, migrations and a group-committing transaction
 * runner. Writes queued while a batch is being made durable go into the next
 * batch, so many small PUTs share one fsync.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { applyChangesets } from "../index_journal.ts";
import { POLICY_MIGRATION } from "./policy_schema.ts";

const MIGRATIONS: string[] = [
  `CREATE TABLE buckets(
     name TEXT PRIMARY KEY,
     created INTEGER NOT NULL,
     region TEXT NOT NULL,
     versioning TEXT NOT NULL DEFAULT 'Unversioned'
   ) WITHOUT ROWID;
   CREATE TABLE versions(
     bucket TEXT NOT NULL,
     key BLOB NOT NULL,
     version_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     delete_marker INTEGER NOT NULL DEFAULT 0,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL,
     headers TEXT NOT NULL,
     user_meta TEXT NOT NULL,
     checksum TEXT,
     part_sizes TEXT,
     manifest BLOB NOT NULL,
     PRIMARY KEY(bucket, key, version_id)
   ) WITHOUT ROWID;
   CREATE TABLE latest(
     bucket TEXT NOT NULL,
     key BLOB NOT NULL,
     version_id TEXT NOT NULL,
     delete_marker INTEGER NOT NULL,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL,
     PRIMARY KEY(bucket, key)
   ) WITHOUT ROWID;
   CREATE TABLE chunks(id BLOB PRIMARY KEY, refs INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE uploads(
     upload_id TEXT PRIMARY KEY,
     bucket TEXT NOT NULL,
     key BLOB NOT NULL,
     initiated INTEGER NOT NULL,
     headers TEXT NOT NULL,
     user_meta TEXT NOT NULL,
     checksum_algorithm TEXT
   );
   CREATE INDEX uploads_by_key ON uploads(bucket, key, upload_id);
   CREATE TABLE parts(
     upload_id TEXT NOT NULL,
     part_number INTEGER NOT NULL,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL,
     checksum TEXT,
     manifest BLOB NOT NULL,
     PRIMARY KEY(upload_id, part_number)
   ) WITHOUT ROWID;
   CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;`,
  // Object Lock: bucket configuration, per-version retention and legal hold, upload lock settings,
  // and the trusted clock's high-water mark.
  `ALTER TABLE buckets ADD COLUMN object_lock INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE buckets ADD COLUMN default_retention TEXT;
   ALTER TABLE versions ADD COLUMN lock_mode TEXT;
   ALTER TABLE versions ADD COLUMN retain_until INTEGER;
   ALTER TABLE versions ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE uploads ADD COLUMN lock TEXT;
   CREATE TABLE clock(id INTEGER PRIMARY KEY CHECK (id = 1), trusted INTEGER NOT NULL);`,
  // The hash-chained audit log (audit.ts).
  `CREATE TABLE audit(
     seq INTEGER PRIMARY KEY,
     time INTEGER NOT NULL,
     op TEXT NOT NULL,
     target TEXT NOT NULL,
     outcome TEXT NOT NULL,
     detail TEXT NOT NULL,
     prev BLOB NOT NULL,
     hash BLOB NOT NULL
   );`,
  // Point-in-time snapshot buckets (snapshots.ts).
  `ALTER TABLE buckets ADD COLUMN snapshot_of TEXT;
   ALTER TABLE buckets ADD COLUMN snapshot_at INTEGER;`,
  // Ed25519 seals on the audit chain (audit_seal.ts) and four-eyes approvals (approvals.ts):
  // staged ones wait to be consumed; used synchronous ones are kept until expiry against replay.
  `CREATE TABLE audit_seals(
     seq INTEGER PRIMARY KEY,
     hash BLOB NOT NULL,
     time INTEGER NOT NULL,
     public_key BLOB NOT NULL,
     signature BLOB NOT NULL
   );
   CREATE TABLE approvals(
     approver TEXT NOT NULL,
     nonce TEXT NOT NULL,
     action TEXT NOT NULL,
     resource TEXT NOT NULL,
     expires INTEGER NOT NULL,
     consumed INTEGER NOT NULL,
     PRIMARY KEY(approver, nonce)
   ) WITHOUT ROWID;
   CREATE INDEX approvals_by_resource ON approvals(action, resource);`,
  // Managed access keys (access_keys.ts): grants in the clear, secrets sealed by the store.
  `CREATE TABLE access_keys(
     access_key TEXT PRIMARY KEY,
     sealed_secret TEXT NOT NULL,
     level TEXT NOT NULL,
     buckets TEXT NOT NULL,
     bypass_governance INTEGER NOT NULL,
     allow_from TEXT NOT NULL,
     created INTEGER NOT NULL,
     updated INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // Bucket policies (quotas, upload windows, freshness), usage kept by triggers, freshness marks and
  // each key's last new version (policy_store.ts).
  POLICY_MIGRATION,
  // Small named state of background parts (the router's learned ransomware-signal profiles).
  `CREATE TABLE settings(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`,
  // Per-key upload windows and the upload-anytime right (access_keys.ts).
  `ALTER TABLE access_keys ADD COLUMN upload_anytime INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE access_keys ADD COLUMN upload_windows TEXT NOT NULL DEFAULT '[]';`,
  // Tiny object bodies kept in the index, sealed (src/inline_body.ts). A table of their own: a 4 KiB body in
  // the versions row costs SQLite about twice as much to write (that table is WITHOUT ROWID).
  `CREATE TABLE inline_bodies(id INTEGER PRIMARY KEY, sealed BLOB NOT NULL);
   ALTER TABLE versions ADD COLUMN inline_id INTEGER;`,
  // The trusted clock's restart credit left (src/retention/clock.ts); null: the full allowance.
  `ALTER TABLE clock ADD COLUMN credit_ms REAL;`,
  // Completed multipart uploads, kept a day so a retried Complete gets its answer again (multipart.ts).
  `CREATE TABLE completed_uploads(
     upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key BLOB NOT NULL, parts TEXT NOT NULL,
     version_id TEXT NOT NULL, etag TEXT NOT NULL, completed INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX completed_uploads_by_time ON completed_uploads(completed);`,
  // The tiny-object bytes, kept by triggers: /metrics reads them without a scan.
  `INSERT INTO counters(name, value)
     SELECT 'inline_bytes', coalesce(sum(length(sealed)), 0) FROM inline_bodies WHERE true
     ON CONFLICT(name) DO UPDATE SET value = excluded.value;
   CREATE TRIGGER inline_body_added AFTER INSERT ON inline_bodies BEGIN
     UPDATE counters SET value = value + length(NEW.sealed) WHERE name = 'inline_bytes';
   END;
   CREATE TRIGGER inline_body_removed AFTER DELETE ON inline_bodies BEGIN
     UPDATE counters SET value = value - length(OLD.sealed) WHERE name = 'inline_bytes';
   END;`,
  // How a multipart object's checksum is made from its parts' (FULL_OBJECT or COMPOSITE); when a
  // version was committed, on the trusted clock (a snapshot at T holds what was committed by T).
  `ALTER TABLE uploads ADD COLUMN checksum_type TEXT;
   ALTER TABLE versions ADD COLUMN committed INTEGER;`,
];

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
    const version = Number(
      (this.sql.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    );
    if (version > MIGRATIONS.length) {
      this.sql.close();
      // A downgrade: this build cannot know what the newer schema means, so it must not write.
      throw new Error(
        `The index "${path}" was written by a newer Amber (index format ${version}); this build reads up to format ${MIGRATIONS.length}`,
      );
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.sql.exec("BEGIN");
      this.sql.exec(MIGRATIONS[v]);
      this.sql.exec(`PRAGMA user_version=${v + 1}`);
      this.sql.exec("COMMIT");
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
   * @returns How many were applied.
   */
  applyJournalTail(records: { seq: number; changeset: Uint8Array }[]): number {
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
    if (records.length > 0) applyChangesets(this.sql, records.map((r) => r.changeset));
    this.#journalSeq = this.journalSeq;
    return records.length;
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
