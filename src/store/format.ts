/**
 * Constants and framing for Amber's on-disk format.
 *
 * A segment file is a {@linkcode SEGMENT_HEADER_BYTES}-byte header followed by
 * records. Each record is framed so a segment can be rescanned after a crash
 * and cut back to its last complete record:
 *
 * ```
 * [u32 record length][u8 type][32-byte chunk id][payload][u32 crc32]
 * ```
 *
 * A shard record's payload starts with a {@linkcode SHARD_HEADER_BYTES}-byte
 * shard header, so the record's CRC-32 is the shard's own checksum: a bad
 * shard is identified without the others.
 *
 * ```
 * [u8 shard index][u8 k][u8 m][u8 0][u32 sealed length][u32 crc32 of the sealed chunk][u32 plaintext length]
 * ```
 *
 * `record length` counts every byte of the record, both u32s included; the
 * CRC-32 covers every byte before it. Integers are big-endian.
 *
 * Pure: no I/O.
 *
 * @module
 */

import { crc32 } from "node:zlib";
import { StoreError } from "./errors.ts";

/** Version of the sealed-chunk format written by this build. */
export const FORMAT_VERSION = 1;

/**
 * Version of the segment format written by this build. Version 1 segments
 * hold whole sealed chunks ({@linkcode RecordType.Chunk}); version 2 adds
 * erasure-coded shards ({@linkcode RecordType.Shard}). Both stay readable.
 */
export const SEGMENT_FORMAT_VERSION = 2;

/** Segment format versions this build reads. */
export const SEGMENT_FORMAT_VERSIONS_READ: readonly number[] = [1, 2];

/** Magic bytes at the start of every segment file: "AMS1". */
export const SEGMENT_MAGIC: Uint8Array = new Uint8Array([0x41, 0x4d, 0x53, 0x31]);

/** Bytes in a vault id (random, written at vault creation). */
export const VAULT_ID_BYTES = 16;

/**
 * Bytes in a segment header: magic (4), version (u8), reserved (3 zero bytes),
 * vault id (16), segment number (u32), CRC-32 of the preceding 28 bytes (u32).
 */
export const SEGMENT_HEADER_BYTES = 36;

/** Bytes in a chunk id (HMAC-SHA-256). */
export const CHUNK_ID_BYTES = 32;

/** Framing bytes around a record's payload: length, type, id, crc. */
export const RECORD_OVERHEAD_BYTES = 4 + 1 + CHUNK_ID_BYTES + 4;

/**
 * Largest record a scan accepts: a sealed 4 MiB chunk plus slack. Guards the
 * rescan against a corrupt length that would otherwise swallow the file.
 */
export const RECORD_MAX_BYTES = 4 * 1024 * 1024 + 64 * 1024;

/** Record types. */
export const RecordType = {
  /** A sealed chunk (see `seal.ts`). */
  Chunk: 1,
  /** A tombstone: the chunk with this id was deleted by GC. Empty payload. */
  Tombstone: 2,
  /** One erasure-coded shard of a sealed chunk: shard header, then shard bytes. */
  Shard: 3,
} as const;

/** A record type value. */
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** A decoded segment header. */
export interface SegmentHeader {
  /** Format version the segment was written with. */
  version: number;
  /** Id of the vault the segment belongs to. */
  vaultId: Uint8Array;
  /** Sequence number of the segment within its drive. */
  segment: number;
}

/**
 * Encodes a segment header for the current {@linkcode SEGMENT_FORMAT_VERSION}.
 *
 * @example Usage
 * ```ts
 * import { decodeSegmentHeader, encodeSegmentHeader } from "./format.ts";
 * const bytes = encodeSegmentHeader({ vaultId: new Uint8Array(16), segment: 7 });
 * if (decodeSegmentHeader(bytes).segment !== 7) throw new Error("round trip");
 * ```
 *
 * @param header Vault id and segment number.
 * @returns {@linkcode SEGMENT_HEADER_BYTES} bytes.
 */
export function encodeSegmentHeader(header: { vaultId: Uint8Array; segment: number }): Uint8Array {
  if (header.vaultId.length !== VAULT_ID_BYTES) {
    throw new RangeError(`Cannot encode segment header: vault id must be ${VAULT_ID_BYTES} bytes`);
  }
  if (!Number.isInteger(header.segment) || header.segment < 0 || header.segment > 0xffffffff) {
    throw new RangeError(`Cannot encode segment header: bad segment number ${header.segment}`);
  }
  const out = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(out.buffer);
  out.set(SEGMENT_MAGIC, 0);
  out[4] = SEGMENT_FORMAT_VERSION;
  out.set(header.vaultId, 8);
  view.setUint32(24, header.segment);
  view.setUint32(28, crc32(out.subarray(0, 28)));
  return out;
}

/**
 * Decodes and checks a segment header.
 *
 * @param bytes The start of a segment file (at least the header).
 * @param name File name for error messages.
 * @returns The header.
 * @throws {StoreError} `format` for a wrong magic or unknown version, `corrupt`
 * for a checksum mismatch or a short file.
 */
export function decodeSegmentHeader(bytes: Uint8Array, name = "segment"): SegmentHeader {
  if (bytes.length < SEGMENT_HEADER_BYTES) {
    throw new StoreError("corrupt", `Cannot open segment "${name}": header is truncated`);
  }
  for (let i = 0; i < SEGMENT_MAGIC.length; i++) {
    if (bytes[i] !== SEGMENT_MAGIC[i]) {
      throw new StoreError("format", `Cannot open segment "${name}": not a segment file`);
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES);
  if (view.getUint32(28) !== crc32(bytes.subarray(0, 28))) {
    throw new StoreError("corrupt", `Cannot open segment "${name}": header checksum mismatch`);
  }
  const version = bytes[4];
  if (!SEGMENT_FORMAT_VERSIONS_READ.includes(version)) {
    throw new StoreError(
      "format",
      `Cannot open segment "${name}": unsupported format version ${version}`,
    );
  }
  return {
    version,
    vaultId: bytes.slice(8, 8 + VAULT_ID_BYTES),
    segment: view.getUint32(24),
  };
}

/**
 * Frames one record.
 *
 * @example Usage
 * ```ts
 * import { encodeRecord, RecordType, scanRecords } from "./format.ts";
 * const rec = encodeRecord(RecordType.Chunk, new Uint8Array(32), new Uint8Array([1, 2, 3]));
 * if (scanRecords(rec).validBytes !== rec.length) throw new Error("scan");
 * ```
 *
 * @param type Record type.
 * @param id 32-byte chunk id.
 * @param payload Record payload, e.g. a sealed chunk, or its parts in order
 *   (a shard header and the shard).
 * @returns The framed record, owning its buffer.
 */
export function encodeRecord(
  type: RecordType,
  id: Uint8Array,
  payload: Uint8Array | Uint8Array[],
): Uint8Array {
  return joinParts(frameRecord(type, id, payload));
}

/**
 * Joins byte parts into one buffer.
 *
 * @param parts The parts, in order.
 * @returns A new buffer holding them.
 */
export function joinParts(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Frames one record without copying its payload: the record is the
 * returned parts written in order (head, payload parts, CRC trailer).
 *
 * @param type Record type.
 * @param id 32-byte chunk id.
 * @param payload Record payload, or its parts in order.
 * @returns The record's parts.
 */
export function frameRecord(
  type: RecordType,
  id: Uint8Array,
  payload: Uint8Array | Uint8Array[],
): Uint8Array[] {
  const parts = Array.isArray(payload) ? payload : [payload];
  const payloadBytes = parts.reduce((n, p) => n + p.length, 0);
  if (id.length !== CHUNK_ID_BYTES) {
    throw new RangeError(`Cannot encode record: chunk id must be ${CHUNK_ID_BYTES} bytes`);
  }
  const length = RECORD_OVERHEAD_BYTES + payloadBytes;
  if (length > RECORD_MAX_BYTES) {
    throw new RangeError(`Cannot encode record: ${length} bytes exceeds ${RECORD_MAX_BYTES}`);
  }
  const head = new Uint8Array(5 + CHUNK_ID_BYTES);
  new DataView(head.buffer).setUint32(0, length);
  head[4] = type;
  head.set(id, 5);
  let crc = crc32(head);
  for (const p of parts) crc = crc32(p, crc);
  const tail = new Uint8Array(4);
  new DataView(tail.buffer).setUint32(0, crc);
  return [head, ...parts, tail];
}

/** Where one record sits in a scanned buffer. */
export interface ScannedRecord {
  /** Offset of the record's first byte (its length field). */
  offset: number;
  /** Whole record length, framing included. */
  length: number;
  /** Record type. */
  type: RecordType;
  /** The chunk id (a copy). */
  id: Uint8Array;
  /** Offset of the payload. */
  payloadOffset: number;
  /** Payload length. */
  payloadLength: number;
}

/** The result of {@linkcode scanRecords}. */
export interface ScanResult {
  /** Complete, checksum-valid records, in order. */
  records: ScannedRecord[];
  /**
   * Offset just past the last valid record (or `start` if there is none).
   * After a crash the segment is truncated to this length.
   */
  validBytes: number;
}

/** The valid record starting at `off`, or undefined. */
function recordAt(bytes: Uint8Array, view: DataView, off: number): ScannedRecord | undefined {
  if (bytes.length - off < RECORD_OVERHEAD_BYTES) return undefined;
  const length = view.getUint32(off);
  if (length < RECORD_OVERHEAD_BYTES || length > RECORD_MAX_BYTES) return undefined;
  if (off + length > bytes.length) return undefined;
  const type = bytes[off + 4];
  if (type !== RecordType.Chunk && type !== RecordType.Tombstone && type !== RecordType.Shard) {
    return undefined;
  }
  if (view.getUint32(off + length - 4) !== crc32(bytes.subarray(off, off + length - 4))) {
    return undefined;
  }
  return {
    offset: off,
    length,
    type: type as RecordType,
    id: bytes.slice(off + 5, off + 5 + CHUNK_ID_BYTES),
    payloadOffset: off + 5 + CHUNK_ID_BYTES,
    payloadLength: length - RECORD_OVERHEAD_BYTES,
  };
}

/**
 * Scans framed records and stops at the first torn or invalid one.
 *
 * @param bytes Record bytes (a segment without its header, or a whole segment
 * with `start` = {@linkcode SEGMENT_HEADER_BYTES}).
 * @param start Offset where records begin.
 * @returns The valid records and where they end.
 */
export function scanRecords(bytes: Uint8Array, start = 0): ScanResult {
  const records: ScannedRecord[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = start;
  for (let r = recordAt(bytes, view, off); r; r = recordAt(bytes, view, off)) {
    records.push(r);
    off += r.length;
  }
  return { records, validBytes: off };
}

/**
 * Scans a segment that may hold damaged records as well as a torn tail. An
 * invalid record followed (anywhere later) by a valid one is damage in
 * place, such as a flipped bit: it is skipped and reported, and nothing
 * after it is lost. Only an invalid stretch running to the end of the file
 * is a torn tail, cut at `validBytes`.
 *
 * @param bytes A whole segment.
 * @param start Offset where records begin.
 * @returns The valid records, where the last one ends, and the damaged stretches.
 */
export function scanSegment(
  bytes: Uint8Array,
  start: number,
): ScanResult & { damaged: { offset: number; length: number }[] } {
  const records: ScannedRecord[] = [];
  const damaged: { offset: number; length: number }[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = start;
  while (off < bytes.length) {
    const r = recordAt(bytes, view, off);
    if (r) {
      records.push(r);
      off += r.length;
      continue;
    }
    let next = off + 1;
    while (next < bytes.length && !recordAt(bytes, view, next)) next++;
    if (next >= bytes.length) break; // nothing valid follows: a torn tail
    damaged.push({ offset: off, length: next - off });
    off = next;
  }
  return { records, validBytes: off, damaged };
}

/** Bytes of the header at the start of a shard record's payload. */
export const SHARD_HEADER_BYTES = 16;

/** What a shard header says about its shard and the chunk it belongs to. */
export interface ShardHeader {
  /** Index of this shard in its stripe: data shards first, then parity. */
  shard: number;
  /** Data shards of the stripe. */
  k: number;
  /** Parity shards of the stripe. */
  m: number;
  /** Bytes of the whole sealed chunk. */
  sealedBytes: number;
  /** CRC-32 of the whole sealed chunk: tells shards of two different seals of one chunk apart. */
  sealedCrc: number;
  /** Plaintext bytes of the chunk. */
  plainBytes: number;
}

/**
 * Encodes a shard header, the start of a shard record's payload (the shard
 * bytes follow it).
 *
 * @example Usage
 * ```ts
 * import { decodeShard, encodeRecord, encodeShardHeader, RecordType, scanRecords } from "./format.ts";
 * const h = { shard: 1, k: 2, m: 2, sealedBytes: 5, sealedCrc: 7, plainBytes: 3 };
 * const rec = encodeRecord(RecordType.Shard, new Uint8Array(32), [encodeShardHeader(h), new Uint8Array(3)]);
 * const r = scanRecords(rec).records[0];
 * const { header, bytes } = decodeShard(rec.subarray(r.payloadOffset, r.payloadOffset + r.payloadLength));
 * if (header.shard !== 1 || bytes.length !== 3) throw new Error("round trip");
 * ```
 *
 * @param header The shard header.
 * @returns {@linkcode SHARD_HEADER_BYTES} bytes.
 */
export function encodeShardHeader(header: ShardHeader): Uint8Array {
  const out = new Uint8Array(SHARD_HEADER_BYTES);
  const view = new DataView(out.buffer);
  out[0] = header.shard;
  out[1] = header.k;
  out[2] = header.m;
  view.setUint32(4, header.sealedBytes);
  view.setUint32(8, header.sealedCrc);
  view.setUint32(12, header.plainBytes);
  return out;
}

/**
 * Reads a shard record's payload.
 *
 * @param payload The payload of a {@linkcode RecordType.Shard} record.
 * @returns The header and a view of the shard bytes.
 * @throws {StoreError} `corrupt` when the header does not make sense.
 */
export function decodeShard(payload: Uint8Array): { header: ShardHeader; bytes: Uint8Array } {
  if (payload.length < SHARD_HEADER_BYTES) {
    throw new StoreError("corrupt", "Cannot read shard: header is truncated");
  }
  const view = new DataView(payload.buffer, payload.byteOffset, SHARD_HEADER_BYTES);
  const header: ShardHeader = {
    shard: payload[0],
    k: payload[1],
    m: payload[2],
    sealedBytes: view.getUint32(4),
    sealedCrc: view.getUint32(8),
    plainBytes: view.getUint32(12),
  };
  if (header.k < 1 || header.shard >= header.k + header.m) {
    throw new StoreError(
      "corrupt",
      `Cannot read shard: index ${header.shard} does not fit ${header.k}+${header.m}`,
    );
  }
  return { header, bytes: payload.subarray(SHARD_HEADER_BYTES) };
}

/**
 * Lower-case hex of some bytes (chunk ids in logs and maps, vault ids in drive markers).
 *
 * @param bytes The bytes.
 * @returns Two hex digits per byte.
 */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
