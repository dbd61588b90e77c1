/**
 * The chunk location index of one drive, in SQLite: where each record of the
 * drive's segment files lies, which shard of which stripe it is, and when it
 * was last written or touched.
 *
 * It runs at `synchronous=NORMAL` and is only ever told about records after
 * their fsync: on start, {@linkcode SegmentStore} rescans the tail of the
 * newest segments and puts back what a crash took, so the index needs no
 * fsync of its own to be correct.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";

/** Where a chunk record lives. */
export interface Location {
  segment: number;
  offset: number;
  length: number;
}

/**
 * Which shard of a chunk a drive holds: `shard` is null for a whole sealed
 * chunk (a format v1 record, read as shard 0 of a 1+0 stripe).
 */
export interface ShardInfo {
  /** Shard index, or null for a whole chunk. */
  shard: number | null;
  /** Data shards of the stripe. */
  k: number;
  /** Parity shards of the stripe. */
  m: number;
  /** CRC-32 of the whole sealed chunk (0 for a whole chunk). */
  crc: number;
}

/** Index columns of a record: its shard, or null for a whole chunk. */
export type ShardColumns = Omit<ShardInfo, "shard"> & { shard: number } | null;

/** A durable record to index. */
export interface IndexedRecord extends Location {
  id: Uint8Array;
  /** Plaintext bytes of the chunk it holds (or a shard of). */
  plain: number;
  /** ms since the epoch. */
  touched: number;
  shard: ShardColumns;
}

/** The location index of one drive's records (`chunks.db` beside the segments). */
export class ChunkIndex {
  readonly #db: DatabaseSync;
  #lookup;
  #insert;
  #relocate;
  #touch;
  #touchedAt;

  /**
   * Opens (creating or upgrading) the index.
   *
   * @param path The SQLite file.
   */
  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
      CREATE TABLE IF NOT EXISTS chunks(
        id BLOB PRIMARY KEY, segment INTEGER NOT NULL, offset INTEGER NOT NULL,
        length INTEGER NOT NULL, plain INTEGER NOT NULL, touched INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS chunks_by_segment ON chunks(segment);`);
    const columns = (this.#db.prepare("PRAGMA table_info(chunks)").all() as { name: string }[])
      .map((c) => c.name);
    // Format v2 adds the shard columns; rows of a v1 index are whole chunks (shard NULL).
    if (!columns.includes("shard")) {
      this.#db.exec(`ALTER TABLE chunks ADD COLUMN shard INTEGER;
        ALTER TABLE chunks ADD COLUMN k INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE chunks ADD COLUMN m INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE chunks ADD COLUMN crc INTEGER NOT NULL DEFAULT 0;`);
    }
    this.#lookup = this.#db.prepare(
      "SELECT segment, offset, length, shard, k, m, crc FROM chunks WHERE id = ?",
    );
    // A later record of the same id (a healed or rewritten shard) replaces an earlier one.
    this.#insert = this.#db.prepare(
      `INSERT INTO chunks(id, segment, offset, length, plain, touched, shard, k, m, crc)
       VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET segment = excluded.segment, offset = excluded.offset,
         length = excluded.length, plain = excluded.plain, shard = excluded.shard,
         k = excluded.k, m = excluded.m, crc = excluded.crc,
         touched = max(touched, excluded.touched)
       WHERE (excluded.segment, excluded.offset) > (chunks.segment, chunks.offset)`,
    );
    this.#touchedAt = this.#db.prepare("SELECT touched FROM chunks WHERE id = ?");
    this.#relocate = this.#db.prepare(
      "UPDATE chunks SET segment = ?, offset = ? WHERE id = ? AND segment = ? AND offset = ?",
    );
    // Never back: a clock read after a restart may stand behind an earlier touch.
    this.#touch = this.#db.prepare("UPDATE chunks SET touched = max(touched, ?) WHERE id = ?");
  }

  /** Runs `fn` in one transaction, rolled back if it throws. */
  transaction<T>(fn: () => T): T {
    this.#db.exec("BEGIN");
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (e) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Indexes a record, unless the id already has a later one. */
  insert(r: IndexedRecord): void {
    this.#insert.run(
      r.id,
      r.segment,
      r.offset,
      r.length,
      r.plain,
      r.touched,
      r.shard?.shard ?? null,
      r.shard?.k ?? 1,
      r.shard?.m ?? 0,
      r.shard?.crc ?? 0,
    );
  }

  /**
   * Points a record moved by compaction at its new place, if its row still
   * points where the move read it: a record written anew meanwhile (a heal)
   * keeps its row, and the moved copy is dead bytes.
   */
  relocate(
    id: Uint8Array,
    from: { segment: number; offset: number },
    to: { segment: number; offset: number },
  ): void {
    this.#relocate.run(to.segment, to.offset, id, from.segment, from.offset);
  }

  /** Where a chunk's record lies and which shard it is, if this drive holds one. */
  locate(id: Uint8Array): (Location & ShardInfo) | undefined {
    return this.#lookup.get(id) as (Location & ShardInfo) | undefined;
  }

  /** Sets a chunk's touch time; false when no such chunk is indexed. */
  touch(id: Uint8Array, now: number): boolean {
    return Number(this.#touch.run(now, id).changes) > 0;
  }

  /** When a chunk was last written or touched (ms since the epoch), if indexed. */
  touchedAt(id: Uint8Array): number | undefined {
    return (this.#touchedAt.get(id) as { touched: number } | undefined)?.touched;
  }

  /** A page of indexed ids after `after`, in id order. */
  idsAfter(after: Uint8Array, limit: number): Uint8Array[] {
    return (this.#db.prepare("SELECT id FROM chunks WHERE id > ? ORDER BY id LIMIT ?")
      .all(after, limit) as { id: Uint8Array }[]).map((r) => r.id);
  }

  /** A page of ids last written or touched before `cutoff`, after `after`, in id order. */
  untouchedSince(cutoff: number, after: Uint8Array, limit: number): Uint8Array[] {
    return (this.#db.prepare(
      "SELECT id FROM chunks WHERE touched < ? AND id > ? ORDER BY id LIMIT ?",
    )
      .all(cutoff, after, limit) as { id: Uint8Array }[]).map((r) => r.id);
  }

  /**
   * Drops the rows of `ids` still untouched since `cutoff`, checked and
   * dropped in one transaction.
   *
   * @returns The dropped ids and their record bytes.
   */
  dropUntouched(ids: Uint8Array[], cutoff: number): { id: Uint8Array; length: number }[] {
    const get = this.#db.prepare("SELECT touched, length FROM chunks WHERE id = ?");
    const del = this.#db.prepare("DELETE FROM chunks WHERE id = ?");
    return this.transaction(() => {
      const dropped: { id: Uint8Array; length: number }[] = [];
      for (const id of ids) {
        const row = get.get(id) as { touched: number; length: number } | undefined;
        if (!row || row.touched >= cutoff) continue;
        del.run(id);
        dropped.push({ id, length: row.length });
      }
      return dropped;
    });
  }

  /** Applies a tombstone found at `segment`/`offset`: drops the id's row if it points before it. */
  dropBefore(id: Uint8Array, segment: number, offset: number): void {
    this.#db.prepare(
      "DELETE FROM chunks WHERE id = ? AND (segment < ? OR (segment = ? AND offset < ?))",
    ).run(id, segment, segment, offset);
  }

  /** Where the last indexed record of `segment` that lies within its first `bytes` ends. */
  indexedEnd(segment: number, bytes: number): number {
    return (this.#db.prepare(
      `SELECT coalesce(max(offset + length), 0) AS indexedEnd FROM chunks
       WHERE segment = ? AND offset + length <= ?`,
    ).get(segment, bytes) as { indexedEnd: number }).indexedEnd;
  }

  /** Drops the rows pointing at or after `offset` of `segment` (a tail being cut off). */
  dropFrom(segment: number, offset: number): void {
    this.#db.prepare("DELETE FROM chunks WHERE segment = ? AND offset >= ?").run(segment, offset);
  }

  /** Live record bytes of each segment numbered below `below`. */
  liveBytesBelow(below: number): Map<number, number> {
    return new Map(
      (this.#db.prepare(
        "SELECT segment, sum(length) AS live FROM chunks WHERE segment < ? GROUP BY segment",
      )
        .all(below) as { segment: number; live: number }[]).map((r) => [r.segment, r.live]),
    );
  }

  /** The records of `segment`, in file order. */
  recordsIn(segment: number): { id: Uint8Array; offset: number; length: number }[] {
    return this.#db.prepare(
      "SELECT id, offset, length FROM chunks WHERE segment = ? ORDER BY offset",
    ).all(segment) as { id: Uint8Array; offset: number; length: number }[];
  }

  /** How many records of `segment` are indexed. */
  countIn(segment: number): number {
    return (this.#db.prepare("SELECT count(*) AS n FROM chunks WHERE segment = ?").get(
      segment,
    ) as { n: number }).n;
  }

  /** Makes everything indexed so far durable (moved records, before their old file goes). */
  checkpoint(): void {
    this.#db.exec("PRAGMA wal_checkpoint(FULL)");
  }

  /** Indexed chunks, their record bytes and their plaintext bytes. */
  totals(): { chunks: number; storedBytes: number; plainBytes: number } {
    const r = this.#db.prepare(
      "SELECT count(*) AS n, coalesce(sum(length), 0) AS stored, coalesce(sum(plain), 0) AS plain FROM chunks",
    ).get() as { n: number; stored: number; plain: number };
    return { chunks: r.n, storedBytes: r.stored, plainBytes: r.plain };
  }

  close(): void {
    this.#db.close();
  }
}
