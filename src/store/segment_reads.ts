/**
 * Reads from segment files: records lying close together on disk are read in
 * one go, each record unframed and checked on its own, through a pool of open
 * read handles.
 *
 * @module
 */

import type { Location } from "./chunk_index.ts";
import type { DriveFile, DriveIO } from "./drive_io.ts";
import { StoreError } from "./errors.ts";
import { scanRecords } from "./format.ts";
import { READ_BUFFER_BYTES, type ReadLease } from "./read_buffers.ts";

/**
 * Read handles kept open between reads, per drive. Deno has no positional
 * read, so concurrent reads each need a handle of their own; opening one per
 * read cost an async hop (about 0.7 ms under load) and GETs about a tenth of
 * their rate.
 */
const IDLE_READERS_MAX = 16;

function asStoreError(e: unknown, action: string): StoreError {
  if (e instanceof StoreError) return e;
  return new StoreError("io", `${action}: ${(e as Error).message}`, { cause: e });
}

/**
 * Largest gap between two records of a segment that one read spans rather than
 * splitting in two: reading a few shards too many costs less than another
 * read's hop through the runtime (about a millisecond under load).
 */
const READ_GAP_BYTES = 256 * 1024;

/** The reads of one drive's segments. */
export class SegmentReaders {
  readonly #io: DriveIO;
  readonly #path: (n: number) => string;
  readonly #keep: (n: number) => boolean;
  /** Idle read handles by segment (see {@linkcode IDLE_READERS_MAX}). */
  #readers = new Map<number, DriveFile[]>();
  #idleReaders = 0;
  #closed = false;

  /**
   * @param io The drive.
   * @param path The path of segment `n`.
   * @param keep Whether a handle on segment `n` may be kept for later reads (not while it goes).
   */
  constructor(io: DriveIO, path: (n: number) => string, keep: (n: number) => boolean) {
    this.#io = io;
    this.#path = path;
    this.#keep = keep;
  }

  /**
   * Reads the payloads of several records (whole sealed chunks or shards),
   * coalescing records that lie next to each other on disk (the chunks of one
   * upload usually do) into one read. Each record succeeds or fails on its
   * own, so one damaged record does not hide its neighbours.
   *
   * @param ids Chunk ids.
   * @param locate Where each is, from the chunk index.
   * @param lease Reads into its pooled buffers when given; the payloads are then valid only until
   *   it is released.
   * @returns The payload of each, in order, or the {@linkcode StoreError}
   *   (`notFound`, `corrupt` or `io`) that record met.
   */
  async readEach(
    ids: Uint8Array[],
    locate: (id: Uint8Array) => Location | undefined,
    lease?: ReadLease,
  ): Promise<(Uint8Array | StoreError)[]> {
    const out: (Uint8Array | StoreError)[] = new Array(ids.length);
    const locs: Location[] = [];
    const found: number[] = [];
    ids.forEach((id, i) => {
      const loc = locate(id);
      if (loc) {
        locs[i] = loc;
        found.push(i);
      } else out[i] = new StoreError("notFound", "Cannot read chunk: it is not in the index");
    });
    const order = found.sort((a, b) =>
      locs[a].segment - locs[b].segment || locs[a].offset - locs[b].offset
    );
    const reads: Promise<void>[] = [];
    for (let i = 0; i < order.length;) {
      const first = locs[order[i]];
      let end = first.offset + first.length;
      let j = i + 1;
      // One read spans records that lie close together (shards of other chunks in between are
      // read and skipped): on a striped vault a batch's shards on one drive are rarely adjacent.
      for (; j < order.length && locs[order[j]].segment === first.segment; j++) {
        const next = locs[order[j]];
        const spanEnd = Math.max(end, next.offset + next.length);
        if (next.offset - end > READ_GAP_BYTES || spanEnd - first.offset > READ_BUFFER_BYTES) break;
        end = spanEnd;
      }
      const group = order.slice(i, j);
      reads.push(
        this.#readRange(first.segment, first.offset, end - first.offset, lease).then((buf) => {
          for (const k of group) {
            try {
              out[k] = this.#unframe(
                buf.subarray(
                  locs[k].offset - first.offset,
                  locs[k].offset - first.offset + locs[k].length,
                ),
                ids[k],
                locs[k],
              );
            } catch (e) {
              out[k] = asStoreError(e, `Cannot read chunk in segment ${locs[k].segment}`);
            }
          }
        }, (e) => {
          for (const k of group) {
            out[k] = asStoreError(e, `Cannot read segment ${first.segment}`);
          }
        }),
      );
      i = j;
    }
    await Promise.all(reads);
    return out;
  }

  /** Reads one whole record, checked to be the record of `id` (compaction moves it as it is). */
  async readRecord(id: Uint8Array, loc: Location): Promise<Uint8Array> {
    const record = await this.#readRange(loc.segment, loc.offset, loc.length);
    this.#unframe(record, id, loc);
    return record;
  }

  async #readRange(
    segment: number,
    offset: number,
    length: number,
    lease?: ReadLease,
  ): Promise<Uint8Array> {
    // A handle of its own for the read (no positional read in Deno; reads run concurrently).
    const file = await this.#borrow(segment);
    let healthy = false;
    try {
      if (file.seekSync) file.seekSync(offset, Deno.SeekMode.Start);
      else await file.seek(offset, Deno.SeekMode.Start);
      const buf = lease?.take(length) ?? new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const n = await file.read(buf.subarray(got));
        if (n === null || n === 0) {
          throw new StoreError(
            "corrupt",
            `Cannot read segment ${segment} at ${
              offset + got
            }: the file is shorter than the index says`,
          );
        }
        got += n;
      }
      healthy = true;
      return buf;
    } finally {
      this.#giveBack(segment, file, healthy);
    }
  }

  #unframe(record: Uint8Array, id: Uint8Array, loc: Location): Uint8Array {
    const scanned = scanRecords(record).records[0];
    if (!scanned || scanned.length !== loc.length || scanned.id.some((b, i) => b !== id[i])) {
      throw new StoreError(
        "corrupt",
        `Cannot read chunk in segment ${loc.segment} at ${loc.offset}: record is damaged`,
      );
    }
    return record.subarray(scanned.payloadOffset, scanned.payloadOffset + scanned.payloadLength);
  }

  /** An idle read handle on segment `n`, or a new one. */
  async #borrow(n: number): Promise<DriveFile> {
    const file = this.#readers.get(n)?.pop();
    if (!file) return await this.#io.open(this.#path(n), { read: true });
    this.#idleReaders--;
    return file;
  }

  /** Keeps a handle for the next read, unless it failed, its segment is going, or enough are kept. */
  #giveBack(n: number, file: DriveFile, healthy: boolean): void {
    if (!healthy || this.#closed || !this.#keep(n) || this.#idleReaders >= IDLE_READERS_MAX) {
      file.close();
      return;
    }
    const idle = this.#readers.get(n);
    if (idle) idle.push(file);
    else this.#readers.set(n, [file]);
    this.#idleReaders++;
  }

  /** Closes the idle read handles of segment `n`, or of every segment (for good). */
  close(n?: number): void {
    if (n === undefined) this.#closed = true;
    for (const [segment, idle] of this.#readers) {
      if (n !== undefined && segment !== n) continue;
      for (const file of idle) file.close();
      this.#idleReaders -= idle.length;
      this.#readers.delete(segment);
    }
  }
}
