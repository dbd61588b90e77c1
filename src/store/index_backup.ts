/**
 * The index's copy on the drives: journal records and checkpoint files.
 *
 * Journal records are stored as chunks under a reserved id space: an 8-byte
 * tag, the big-endian sequence number, then 16 random bytes (so a record
 * rewritten under a sequence that an earlier, failed append also used never
 * shares an id with it). HMAC chunk ids land in that space with probability
 * 2^-64. A record's plaintext is the sequence, the time it was written and
 * one SQLite changeset (a committed batch of the index).
 *
 * A checkpoint file (`amber-index.ckpt`, next to each drive's marker) holds
 * a consistent copy of the index, sealed in pieces of at most
 * {@linkcode CHECKPOINT_PIECE_BYTES}: the 8-byte magic, the sequence of the
 * last journal record it contains, then `[u32 length][sealed piece]`
 * repeated. Piece `i` is sealed with the id `checkpoint tag | seq | i`, and a
 * final sealed trailer (piece index 0xffffffff) carries the piece count, the
 * byte count and the SHA-256 of the whole copy, so a reordered, truncated,
 * spliced or rotted file does not verify.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { StoreError } from "./errors.ts";
import { openChunk, sealChunk } from "./seal.ts";

/** First 8 bytes of every journal record id. */
export const JOURNAL_TAG: Uint8Array = new TextEncoder().encode("AMBRJRNL");
/** First 8 bytes of every checkpoint piece id. */
const CHECKPOINT_TAG = new TextEncoder().encode("AMBRCKPT");
/** Magic at the start of a checkpoint file. */
const CHECKPOINT_MAGIC = new TextEncoder().encode("AMBRIDX1");
/** The checkpoint file's name on each drive. */
export const CHECKPOINT_FILE = "amber-index.ckpt";
/** Plaintext bytes per sealed checkpoint piece. */
export const CHECKPOINT_PIECE_BYTES = 4 * 1024 * 1024;
const TRAILER_PIECE = 0xffffffff;
const RECORD_HEADER_BYTES = 16;

/** A journal record: one committed batch of the index. */
export interface JournalRecord {
  /** Sequence number (1, 2, …). */
  seq: number;
  /** When it was written, ms since the epoch (picks the newer of two records of one sequence). */
  at: number;
  /** The batch as an SQLite changeset. */
  changeset: Uint8Array;
}

/**
 * A new id for journal record `seq`.
 *
 * @param seq Sequence number.
 * @param nonce 16 bytes; random unless given (tests).
 */
export function journalId(seq: number, nonce?: Uint8Array): Uint8Array {
  const id = new Uint8Array(32);
  id.set(JOURNAL_TAG);
  new DataView(id.buffer).setBigUint64(8, BigInt(seq));
  if (nonce) id.set(nonce.subarray(0, 16), 16);
  else crypto.getRandomValues(id.subarray(16));
  return id;
}

/** The sequence of a journal record id, or undefined when `id` is not one. */
export function journalSeqOf(id: Uint8Array): number | undefined {
  if (id.length !== 32) return undefined;
  for (let i = 0; i < JOURNAL_TAG.length; i++) if (id[i] !== JOURNAL_TAG[i]) return undefined;
  return Number(new DataView(id.buffer, id.byteOffset, 32).getBigUint64(8));
}

/** The first id of the journal id space after sequence `seq` (for range scans). */
export function journalIdFloor(seq: number): Uint8Array {
  const id = new Uint8Array(32);
  id.set(JOURNAL_TAG);
  new DataView(id.buffer).setBigUint64(8, BigInt(seq + 1));
  return id;
}

/**
 * Plaintext bytes of one journal record piece. A batch's changeset can be
 * larger than one record may be (completing a 5 GiB upload writes its
 * 70,000-entry manifest and as many chunk refcounts), so it is split.
 */
export const JOURNAL_PIECE_BYTES = 3 * 1024 * 1024;
/** Marks a piece's header; a changeset never starts with 0xff (its tables start 'T' or 'P'). */
const PIECE_MARK = [0xff, 0x4a, 0x50, 0x31]; // "\xffJP1"
/** seq, at, mark, piece index, piece count, batch nonce. */
const PIECE_HEADER_BYTES = RECORD_HEADER_BYTES + 4 + 2 + 2 + 8;

/** One decoded journal record: a piece of a batch (a record from before pieces is piece 0 of 1). */
export interface JournalPiece {
  seq: number;
  at: number;
  /** Which write of the sequence it belongs to (hex of 8 random bytes; "" for a record before pieces). */
  batch: string;
  index: number;
  count: number;
  bytes: Uint8Array;
}

/**
 * Encodes a batch as the plaintexts of its journal records, at most
 * {@linkcode JOURNAL_PIECE_BYTES} of changeset each.
 *
 * @param r The batch.
 * @param batchNonce 8 random bytes naming this write of it.
 */
export function encodeJournalPieces(r: JournalRecord, batchNonce: Uint8Array): Uint8Array[] {
  const count = Math.max(1, Math.ceil(r.changeset.length / JOURNAL_PIECE_BYTES));
  if (count > 0xffff) throw new RangeError(`Cannot journal batch ${r.seq}: it is too large`);
  const out: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const bytes = r.changeset.subarray(
      index * JOURNAL_PIECE_BYTES,
      (index + 1) * JOURNAL_PIECE_BYTES,
    );
    const plain = new Uint8Array(PIECE_HEADER_BYTES + bytes.length);
    const view = new DataView(plain.buffer);
    view.setBigUint64(0, BigInt(r.seq));
    view.setFloat64(8, r.at);
    plain.set(PIECE_MARK, 16);
    view.setUint16(20, index);
    view.setUint16(22, count);
    plain.set(batchNonce.subarray(0, 8), 24);
    plain.set(bytes, PIECE_HEADER_BYTES);
    out.push(plain);
  }
  return out;
}

/**
 * Decodes one journal record's plaintext.
 *
 * @throws {StoreError} `corrupt` when it is short or its sequence disagrees with `expectSeq`.
 */
export function decodeJournalPiece(plain: Uint8Array, expectSeq: number): JournalPiece {
  if (plain.length < RECORD_HEADER_BYTES) {
    throw new StoreError("corrupt", `Journal record ${expectSeq} is ${plain.length} bytes long`);
  }
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  const seq = Number(view.getBigUint64(0));
  if (seq !== expectSeq) {
    throw new StoreError("corrupt", `Journal record ${expectSeq} says it is record ${seq}`);
  }
  const at = view.getFloat64(8);
  const pieced = plain.length >= PIECE_HEADER_BYTES &&
    PIECE_MARK.every((b, i) => plain[RECORD_HEADER_BYTES + i] === b);
  if (!pieced) {
    return { seq, at, batch: "", index: 0, count: 1, bytes: plain.slice(RECORD_HEADER_BYTES) };
  }
  let batch = "";
  for (const b of plain.subarray(24, 32)) batch += b.toString(16).padStart(2, "0");
  return {
    seq,
    at,
    batch,
    index: view.getUint16(20),
    count: view.getUint16(22),
    bytes: plain.slice(PIECE_HEADER_BYTES),
  };
}

/**
 * The newest complete write of one sequence from its decoded pieces.
 *
 * @returns The record, or undefined when no write of it has all its pieces.
 */
export function assembleJournalRecord(pieces: JournalPiece[]): JournalRecord | undefined {
  const writes = new Map<string, JournalPiece[]>();
  for (const p of pieces) {
    const key = `${p.batch}/${p.at}/${p.count}`;
    writes.set(key, [...writes.get(key) ?? [], p]);
  }
  let best: JournalRecord | undefined;
  for (const w of writes.values()) {
    const byIndex = new Map(w.map((p) => [p.index, p]));
    const { seq, at, count } = w[0];
    if (byIndex.size !== count || (best && at <= best.at)) continue;
    const parts = [...Array(count).keys()].map((i) => byIndex.get(i)?.bytes);
    if (!parts.every((p) => p !== undefined)) continue;
    const changeset = new Uint8Array(parts.reduce((n, p) => n + p!.length, 0));
    let off = 0;
    for (const p of parts as Uint8Array[]) {
      changeset.set(p, off);
      off += p.length;
    }
    best = { seq, at, changeset };
  }
  return best;
}

function pieceId(seq: number, piece: number): Uint8Array {
  const id = new Uint8Array(32);
  id.set(CHECKPOINT_TAG);
  const view = new DataView(id.buffer);
  view.setBigUint64(8, BigInt(seq));
  view.setUint32(16, piece);
  return id;
}

/** Fsyncs a file or a directory (where the platform allows a directory to be). */
export function fsyncPath(path: string): void {
  const d = Deno.openSync(path, { read: true });
  try {
    d.syncSync();
  } catch {
    // Some platforms cannot fsync a directory; the rename is then as durable as they allow.
  } finally {
    d.close();
  }
}

async function writeAll(f: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await f.write(bytes.subarray(off));
}

/** Reads up to `n` bytes (fewer only at the end of the file). */
async function readUpTo(f: Deno.FsFile, buf: Uint8Array): Promise<number> {
  let off = 0;
  while (off < buf.length) {
    const got = await f.read(buf.subarray(off));
    if (got === null || got === 0) break;
    off += got;
  }
  return off;
}

async function readExactly(f: Deno.FsFile, n: number): Promise<Uint8Array | undefined> {
  const buf = new Uint8Array(n);
  return await readUpTo(f, buf) === n ? buf : undefined;
}

/**
 * Writes the index copy at `source` as the checkpoint of sequence `seq`
 * onto each drive (temp file, fsync, rename, fsync of the drive), reading
 * and sealing it piece by piece so memory stays bounded and the store keeps
 * serving between pieces.
 *
 * @param source A consistent copy of the index (made with SQLite's online backup).
 * @param seq The last journal sequence the copy contains.
 * @param drives Drive paths to write to.
 * @param sealKey The seal key.
 * @returns The drives written and the failures of the others.
 */
export async function writeCheckpoint(
  source: string,
  seq: number,
  drives: string[],
  sealKey: Uint8Array,
): Promise<{ written: string[]; failed: { drive: string; error: string }[] }> {
  const outs: { drive: string; tmp: string; file: Deno.FsFile }[] = [];
  const failed: { drive: string; error: string }[] = [];
  const header = new Uint8Array(16);
  header.set(CHECKPOINT_MAGIC);
  new DataView(header.buffer).setBigUint64(8, BigInt(seq));
  for (const drive of drives) {
    const tmp = `${drive}/${CHECKPOINT_FILE}.tmp`;
    try {
      const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
      outs.push({ drive, tmp, file });
      await writeAll(file, header);
    } catch (e) {
      failed.push({ drive, error: (e as Error).message });
    }
  }
  const put = async (sealed: Uint8Array) => {
    const framed = new Uint8Array(4 + sealed.length);
    new DataView(framed.buffer).setUint32(0, sealed.length);
    framed.set(sealed, 4);
    const results = await Promise.allSettled(outs.map((o) => writeAll(o.file, framed)));
    for (let i = outs.length - 1; i >= 0; i--) {
      const r = results[i];
      if (r.status === "fulfilled") continue;
      failed.push({ drive: outs[i].drive, error: (r.reason as Error).message });
      outs[i].file.close();
      outs.splice(i, 1);
    }
  };
  const hash = createHash("sha256");
  const src = await Deno.open(source, { read: true });
  let pieces = 0;
  let bytes = 0;
  try {
    const buf = new Uint8Array(CHECKPOINT_PIECE_BYTES);
    while (true) {
      const n = await readUpTo(src, buf);
      if (n === 0) break;
      const plain = buf.subarray(0, n);
      hash.update(plain);
      await put(sealChunk(sealKey, pieceId(seq, pieces), plain));
      pieces++;
      bytes += n;
      if (n < buf.length) break;
    }
  } finally {
    src.close();
  }
  const trailer = JSON.stringify({ seq, pieces, bytes, sha256: hash.digest("hex") });
  await put(sealChunk(sealKey, pieceId(seq, TRAILER_PIECE), new TextEncoder().encode(trailer)));
  const written: string[] = [];
  for (const o of outs) {
    try {
      await o.file.sync();
      o.file.close();
      Deno.renameSync(o.tmp, `${o.drive}/${CHECKPOINT_FILE}`);
      fsyncPath(o.drive);
      written.push(o.drive);
    } catch (e) {
      failed.push({ drive: o.drive, error: (e as Error).message });
    }
  }
  return { written, failed };
}

/**
 * Verifies the checkpoint file on a drive and, given `out`, writes its
 * plaintext there.
 *
 * @param drive Drive path.
 * @param sealKey The seal key.
 * @param out Where to restore the index copy; the file is fsync'd.
 * @returns The checkpoint's sequence and size.
 * @throws {StoreError} `notFound` when the drive has none, `corrupt` when it does not verify.
 */
export async function readCheckpoint(
  drive: string,
  sealKey: Uint8Array,
  out?: string,
): Promise<{ seq: number; bytes: number }> {
  const path = `${drive}/${CHECKPOINT_FILE}`;
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new StoreError("notFound", `No index checkpoint on "${drive}"`);
    }
    throw e;
  }
  const dest = out === undefined
    ? undefined
    : await Deno.open(out, { write: true, create: true, truncate: true });
  const bad = (why: string) => new StoreError("corrupt", `Index checkpoint "${path}": ${why}`);
  try {
    const header = await readExactly(f, 16);
    if (!header || !CHECKPOINT_MAGIC.every((b, i) => header[i] === b)) throw bad("no magic");
    const seq = Number(new DataView(header.buffer).getBigUint64(8));
    const hash = createHash("sha256");
    let bytes = 0;
    for (let piece = 0;; piece++) {
      const len = await readExactly(f, 4);
      if (!len) throw bad(`truncated before piece ${piece}`);
      const sealed = await readExactly(f, new DataView(len.buffer).getUint32(0));
      if (!sealed) throw bad(`truncated in piece ${piece}`);
      let plain: Uint8Array;
      try {
        plain = openChunk(sealKey, pieceId(seq, piece), sealed);
      } catch {
        // Not piece `piece`: it is the trailer, or the file is damaged.
        let trailer: { seq: number; pieces: number; bytes: number; sha256: string };
        try {
          trailer = JSON.parse(
            new TextDecoder().decode(openChunk(sealKey, pieceId(seq, TRAILER_PIECE), sealed)),
          );
        } catch {
          throw bad(`piece ${piece} does not verify`);
        }
        if (trailer.pieces !== piece || trailer.bytes !== bytes || trailer.seq !== seq) {
          throw bad(`the trailer says ${trailer.pieces} pieces, ${piece} were found`);
        }
        if (trailer.sha256 !== hash.digest("hex")) throw bad("the SHA-256 does not match");
        if (await readExactly(f, 1)) throw bad("bytes after the trailer");
        await dest?.sync();
        return { seq, bytes };
      }
      hash.update(plain);
      bytes += plain.length;
      if (dest) await writeAll(dest, plain);
    }
  } finally {
    f.close();
    dest?.close();
  }
}

/**
 * The sequence a drive's checkpoint file claims, unverified (to try the
 * newest first), or undefined when it has none.
 */
export function peekCheckpointSeq(drive: string): number | undefined {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(`${drive}/${CHECKPOINT_FILE}`, { read: true });
  } catch {
    return undefined;
  }
  try {
    const header = new Uint8Array(16);
    if (f.readSync(header) !== 16 || !CHECKPOINT_MAGIC.every((b, i) => header[i] === b)) {
      return undefined;
    }
    return Number(new DataView(header.buffer).getBigUint64(8));
  } finally {
    f.close();
  }
}
