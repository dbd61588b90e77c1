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
 * `record length` counts every byte of the record, both u32s included; the
 * CRC-32 covers every byte before it. Integers are big-endian.
 *
 * Pure: no I/O.
 *
 * @module
 */

import { crc32 } from "node:zlib";
import { StoreError } from "./errors.ts";

/** Version of the on-disk format written by this build (segments and chunks). */
export const FORMAT_VERSION = 1;

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
 * Encodes a segment header for the current {@linkcode FORMAT_VERSION}.
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
  out[4] = FORMAT_VERSION;
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
  if (version !== FORMAT_VERSION) {
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
 * @param payload Record payload, e.g. a sealed chunk.
 * @returns The framed record, owning its buffer.
 */
export function encodeRecord(type: RecordType, id: Uint8Array, payload: Uint8Array): Uint8Array {
  if (id.length !== CHUNK_ID_BYTES) {
    throw new RangeError(`Cannot encode record: chunk id must be ${CHUNK_ID_BYTES} bytes`);
  }
  const length = RECORD_OVERHEAD_BYTES + payload.length;
  if (length > RECORD_MAX_BYTES) {
    throw new RangeError(`Cannot encode record: ${length} bytes exceeds ${RECORD_MAX_BYTES}`);
  }
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  view.setUint32(0, length);
  out[4] = type;
  out.set(id, 5);
  out.set(payload, 5 + CHUNK_ID_BYTES);
  view.setUint32(length - 4, crc32(out.subarray(0, length - 4)));
  return out;
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
  while (bytes.length - off >= RECORD_OVERHEAD_BYTES) {
    const length = view.getUint32(off);
    if (length < RECORD_OVERHEAD_BYTES || length > RECORD_MAX_BYTES) break;
    if (off + length > bytes.length) break;
    const type = bytes[off + 4];
    if (type !== RecordType.Chunk && type !== RecordType.Tombstone) break;
    if (view.getUint32(off + length - 4) !== crc32(bytes.subarray(off, off + length - 4))) break;
    records.push({
      offset: off,
      length,
      type: type as RecordType,
      id: bytes.slice(off + 5, off + 5 + CHUNK_ID_BYTES),
      payloadOffset: off + 5 + CHUNK_ID_BYTES,
      payloadLength: length - RECORD_OVERHEAD_BYTES,
    });
    off += length;
  }
  return { records, validBytes: off };
}
