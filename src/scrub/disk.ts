/**
 * Read-only access to the drives: each drive's location index (opened
 * read-only) and its segment files. Nothing here can write or delete.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import {
  decodeSegmentHeader,
  decodeShard,
  RecordType,
  scanRecords,
  SEGMENT_HEADER_BYTES,
} from "../store/mod.ts";

/** One indexed shard record on a drive. */
export interface ShardRow {
  id: Uint8Array;
  segment: number;
  offset: number;
  length: number;
  /** Shard index; null for a whole format-v1 chunk. */
  shard: number | null;
  k: number;
  m: number;
  crc: number;
}

/** A shard record read back and checked. */
export interface CheckedShard {
  /** Shard bytes (after the shard header), when the record is good. */
  bytes?: Uint8Array;
  /** Sealed length and plaintext length from the shard header. */
  sealedBytes: number;
  /** Why the record is bad, when it is. */
  problem?: string;
}

/** Bytes of a segment file number's name: `00000001.seg`. */
function segmentName(n: number): string {
  return `${String(n).padStart(8, "0")}.seg`;
}

/** One drive, read-only. */
export class DriveReader {
  /** Drive slot. */
  readonly index: number;
  /** Drive path. */
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #locate;
  readonly #page;

  private constructor(index: number, path: string) {
    this.index = index;
    this.path = path;
    this.#db = new DatabaseSync(`${path}/chunks.db`, { readOnly: true });
    const columns = (this.#db.prepare("PRAGMA table_info(chunks)").all() as { name: string }[])
      .map((c) => c.name);
    // An index no build with drives has opened yet (format v1) lists whole chunks only.
    const select = columns.includes("shard")
      ? "SELECT id, segment, offset, length, shard, k, m, crc FROM chunks"
      : "SELECT id, segment, offset, length, NULL AS shard, 1 AS k, 0 AS m, 0 AS crc FROM chunks";
    this.#locate = this.#db.prepare(`${select} WHERE id = ?`);
    this.#page = this.#db.prepare(
      `${select} WHERE (segment = ? AND offset > ?) OR segment > ? ORDER BY segment, offset LIMIT ?`,
    );
  }

  /**
   * Opens a drive when it is online: its location index exists (a format v1
   * store has no marker yet).
   *
   * @param index Drive slot.
   * @param path Drive path.
   * @returns The reader, or undefined for an offline drive.
   */
  static open(index: number, path: string): DriveReader | undefined {
    try {
      Deno.statSync(`${path}/chunks.db`);
    } catch {
      return undefined;
    }
    return new DriveReader(index, path);
  }

  /** Record bytes and chunk count the index lists. */
  totals(): { bytes: number; chunks: number } {
    const r = this.#db.prepare("SELECT count(*) AS n, coalesce(sum(length), 0) AS b FROM chunks")
      .get() as { n: number; b: number };
    return { bytes: r.b, chunks: r.n };
  }

  /** Where the drive's last indexed record lies, if it holds any. */
  lastRow(): { segment: number; offset: number } | undefined {
    const r = this.#db.prepare(
      "SELECT segment, offset FROM chunks ORDER BY segment DESC, offset DESC LIMIT 1",
    ).get() as { segment: number; offset: number } | undefined;
    return r && { segment: r.segment, offset: r.offset };
  }

  /** The drive's shard record for a chunk, if the index lists one. */
  locate(id: Uint8Array): ShardRow | undefined {
    return this.#locate.get(id) as ShardRow | undefined;
  }

  /**
   * Indexed records in disk order (oldest segment first), after a position.
   *
   * @param after Continue after this segment and offset.
   * @param limit Page size.
   */
  rowsAfter(after: { segment: number; offset: number }, limit: number): ShardRow[] {
    return this.#page.all(
      after.segment,
      after.offset,
      after.segment,
      limit,
    ) as unknown as ShardRow[];
  }

  /**
   * Reads several records of one segment in one pass over the file (they
   * come in offset order), checking each: framing, record CRC-32, chunk id
   * and shard header.
   *
   * @param segment Segment number.
   * @param rows Records of that segment, in offset order.
   * @returns One result per row.
   */
  async readSegmentRows(segment: number, rows: ShardRow[]): Promise<CheckedShard[]> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(`${this.path}/${segmentName(segment)}`, { read: true });
    } catch (e) {
      const problem = `cannot open segment ${segment}: ${(e as Error).message}`;
      return rows.map(() => ({ sealedBytes: 0, problem }));
    }
    try {
      const out: CheckedShard[] = [];
      for (const row of rows) out.push(await readRecord(file, row));
      return out;
    } finally {
      file.close();
    }
  }

  /**
   * Checks a segment file's header (magic, format version, checksum).
   *
   * @returns The problem, or undefined when it is good.
   */
  async segmentProblem(segment: number): Promise<string | undefined> {
    try {
      using file = await Deno.open(`${this.path}/${segmentName(segment)}`, { read: true });
      const head = new Uint8Array(SEGMENT_HEADER_BYTES);
      let got = 0;
      while (got < head.length) {
        const n = await file.read(head.subarray(got));
        if (n === null || n === 0) break;
        got += n;
      }
      decodeSegmentHeader(head.subarray(0, got), segmentName(segment));
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** Reads and checks one record through the index. */
  async readRow(row: ShardRow): Promise<CheckedShard> {
    return (await this.readSegmentRows(row.segment, [row]))[0];
  }

  /** Closes the index. */
  close(): void {
    this.#db.close();
  }
}

async function readRecord(file: Deno.FsFile, row: ShardRow): Promise<CheckedShard> {
  const buf = new Uint8Array(row.length);
  try {
    await file.seek(row.offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < buf.length) {
      const n = await file.read(buf.subarray(got));
      if (n === null || n === 0) {
        return { sealedBytes: 0, problem: `segment ${row.segment} ends before the record` };
      }
      got += n;
    }
  } catch (e) {
    return {
      sealedBytes: 0,
      problem: `cannot read segment ${row.segment}: ${(e as Error).message}`,
    };
  }
  return checkRecord(buf, row);
}

/**
 * Checks one record's bytes against its index row.
 *
 * @param record The record as read.
 * @param row What the index says about it.
 * @returns The shard bytes, or the problem.
 */
export function checkRecord(record: Uint8Array, row: ShardRow): CheckedShard {
  const r = scanRecords(record).records[0];
  if (!r || r.length !== row.length) {
    return { sealedBytes: 0, problem: "record framing or checksum is bad" };
  }
  if (r.id.some((b, i) => b !== row.id[i])) {
    return { sealedBytes: 0, problem: "record names another chunk" };
  }
  const payload = record.subarray(r.payloadOffset, r.payloadOffset + r.payloadLength);
  if (r.type === RecordType.Chunk) return { bytes: payload, sealedBytes: payload.length };
  if (r.type !== RecordType.Shard) return { sealedBytes: 0, problem: "record is not a shard" };
  try {
    const { header, bytes } = decodeShard(payload);
    if (header.shard !== row.shard || header.k !== row.k || header.sealedCrc !== row.crc) {
      return { sealedBytes: 0, problem: "shard header disagrees with the index" };
    }
    return { bytes, sealedBytes: header.sealedBytes };
  } catch (e) {
    return { sealedBytes: 0, problem: (e as Error).message };
  }
}
