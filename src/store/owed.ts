/**
 * The persisted queue of shards owed to drives: a chunk acknowledged while a
 * drive was offline (or failed its write) owes that drive a shard, written
 * when the drive returns or is replaced.
 *
 * Lives in the data dir, not on a drive, because it is about drives that may
 * be gone. Entries are committed with `synchronous=FULL` before the write
 * they belong to is acknowledged, so a crash cannot lose a debt.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";

/** One shard owed to a drive. */
export interface Owed {
  /** Drive slot. */
  drive: number;
  /** Chunk id. */
  id: Uint8Array;
}

/** The queue of owed shards. */
export class OwedQueue {
  readonly #db: DatabaseSync;
  #add;
  #remove;

  /**
   * Opens (or creates) the queue.
   *
   * @param path SQLite file.
   */
  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
      CREATE TABLE IF NOT EXISTS owed(drive INTEGER NOT NULL, id BLOB NOT NULL,
        PRIMARY KEY(drive, id)) WITHOUT ROWID;`);
    this.#add = this.#db.prepare("INSERT OR IGNORE INTO owed(drive, id) VALUES(?, ?)");
    this.#remove = this.#db.prepare("DELETE FROM owed WHERE drive = ? AND id = ?");
  }

  /**
   * Records debts durably (one transaction, fsync'd on commit).
   *
   * @param entries The shards owed.
   */
  add(entries: Owed[]): void {
    if (entries.length === 0) return;
    this.#db.exec("BEGIN");
    try {
      for (const e of entries) this.#add.run(e.drive, e.id);
      this.#db.exec("COMMIT");
    } catch (e) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  /**
   * The oldest-first page of debts of one drive.
   *
   * @param drive Drive slot.
   * @param limit Page size.
   */
  take(drive: number, limit: number): Uint8Array[] {
    return (this.#db.prepare("SELECT id FROM owed WHERE drive = ? ORDER BY id LIMIT ?")
      .all(drive, limit) as { id: Uint8Array }[]).map((r) => r.id);
  }

  /** Drops a debt that was paid (or no longer matters: the chunk is gone). */
  remove(drive: number, id: Uint8Array): void {
    this.#remove.run(drive, id);
  }

  /** Debts per drive slot. */
  counts(): Map<number, number> {
    return new Map(
      (this.#db.prepare("SELECT drive, count(*) AS n FROM owed GROUP BY drive").all() as {
        drive: number;
        n: number;
      }[]).map((r) => [r.drive, r.n]),
    );
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }
}
