/**
 * Sealing one chunk: optional zstd compression, then ChaCha20-Poly1305.
 *
 * A sealed chunk is self-describing:
 *
 * ```
 * offset size
 *      0    4  magic "AMC1"
 *      4    1  format version (FORMAT_VERSION)
 *      5    1  flags (bit 0: payload is zstd-compressed; other bits zero)
 *      6    2  reserved, zero
 *      8    4  plaintext length, u32 big-endian
 *     12   12  random nonce
 *     24    n  ciphertext of the (possibly compressed) payload
 *   24+n   16  Poly1305 tag
 * ```
 *
 * The AAD is the 24 header bytes followed by the 32-byte chunk id, so a chunk
 * copied under another id, or any flipped header bit, fails to open.
 *
 * Compression is probed: the byte entropy of a sample of at most 4 KiB is
 * estimated, and only below COMPRESS_MAX_ENTROPY_BITS is the whole chunk
 * compressed (zstd level 2), the result kept only if smaller. Random data (most
 * backup payloads are already compressed or encrypted) costs one histogram of
 * the sample, about 5 µs, where a zstd probe cost 25 µs per chunk whatever its
 * size (context set-up): a third of the sealing time of a 64 KiB chunk.
 *
 * Pure apart from `crypto.getRandomValues` for the nonce.
 *
 * @module
 */

import { createCipheriv, createDecipheriv } from "node:crypto";
import { hmacSha256 } from "../hmac.ts";
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { StoreError } from "./errors.ts";
import { CHUNK_ID_BYTES, FORMAT_VERSION, joinParts } from "./format.ts";

/** Magic bytes at the start of every sealed chunk: "AMC1". */
export const SEALED_MAGIC: Uint8Array = new Uint8Array([0x41, 0x4d, 0x43, 0x31]);

/** Bytes of the sealed chunk header (magic, version, flags, length, nonce). */
export const SEALED_HEADER_BYTES = 24;

/** Bytes of the Poly1305 tag at the end of a sealed chunk. */
export const SEAL_TAG_BYTES = 16;

/** Bytes of the random nonce. */
export const SEAL_NONCE_BYTES = 12;

/** Fixed cost of sealing: header plus tag. */
export const SEALED_OVERHEAD_BYTES = SEALED_HEADER_BYTES + SEAL_TAG_BYTES;

/** Flag bit: the payload was zstd-compressed before encryption. */
export const SEAL_FLAG_ZSTD = 1;

/** Bytes of plaintext sampled to decide whether compression pays: about 4 µs of counting. */
export const COMPRESS_PROBE_BYTES = 4 * 1024;

/**
 * A sample must carry fewer bits per byte than this, or the chunk is stored
 * uncompressed: at 7.2 bits entropy coding alone saves 10 %, and below about
 * that zstd's time buys too little space. Compressed or encrypted data
 * measures above 7.9 on a 4 KiB sample; text, logs and databases well below 7.
 */
export const COMPRESS_MAX_ENTROPY_BITS = 7.2;

/**
 * zstd level for whole chunks. Measured on 64 KiB text-ish chunks (Deno
 * 2.9.6, one core): level 1 ≈ 200–230 MB/s → 0.356, level 2 ≈ 210–250 MB/s →
 * 0.347, level 3 ≈ 150–195 MB/s → 0.334. Level 2 is as fast as 1 and smaller.
 */
export const COMPRESS_LEVEL = 2;

/** Largest plaintext a sealed header can describe. */
export const SEAL_MAX_PLAINTEXT_BYTES = 0xffffffff;

const KEY_BYTES = 32;
const CIPHER = "chacha20-poly1305";

/** What {@linkcode readSealedHeader} reports without decrypting. */
export interface SealedHeader {
  /** Format version the chunk was sealed with. */
  version: number;
  /** Raw flag bits. */
  flags: number;
  /** Whether the payload is zstd-compressed. */
  compressed: boolean;
  /** Length of the original plaintext. */
  plaintextBytes: number;
  /** Length of the encrypted payload (compressed length if compressed). */
  payloadBytes: number;
}

/** Options for {@linkcode sealChunk}. */
export interface SealOptions {
  /**
   * `"auto"` probes and compresses when it pays; `"never"` skips compression.
   * @default {"auto"}
   */
  compression?: "auto" | "never";
  /** A fixed 12-byte nonce, for tests only; never reuse one with a key. */
  nonce?: Uint8Array;
}

function checkKey(key: Uint8Array, what: string): void {
  if (key.length !== KEY_BYTES) {
    throw new RangeError(`Cannot use ${what}: key must be ${KEY_BYTES} bytes, got ${key.length}`);
  }
}

function checkId(id: Uint8Array): void {
  if (id.length !== CHUNK_ID_BYTES) {
    throw new RangeError(`Cannot use chunk id: must be ${CHUNK_ID_BYTES} bytes, got ${id.length}`);
  }
}

/**
 * Computes a chunk id: HMAC-SHA-256 of the plaintext under the id key.
 *
 * Keyed, so ids reveal nothing about content to someone without the key, and
 * equal plaintexts in one vault get equal ids (that is what dedups).
 *
 * @example Usage
 * ```ts
 * import { chunkId, chunkIdHex } from "./seal.ts";
 * const id = chunkId(new Uint8Array(32), new TextEncoder().encode("hello"));
 * if (chunkIdHex(id).length !== 64) throw new Error("bad id");
 * ```
 *
 * @param idKey 32-byte id key (`Keyring.idKey`).
 * @param plaintext The chunk.
 * @returns 32 bytes, owning their buffer.
 */
export function chunkId(idKey: Uint8Array, plaintext: Uint8Array): Uint8Array {
  checkKey(idKey, "chunk id key");
  return new Uint8Array(hmacSha256(idKey, plaintext));
}

/**
 * Formats a chunk id as 64 lowercase hex digits.
 *
 * @param id A 32-byte chunk id.
 * @returns The hex string.
 */
export function chunkIdHex(id: Uint8Array): string {
  let s = "";
  for (let i = 0; i < id.length; i++) s += id[i].toString(16).padStart(2, "0");
  return s;
}

/**
 * Parses a chunk id from 64 hex digits.
 *
 * @param hex The hex string.
 * @returns 32 bytes.
 * @throws {StoreError} `format` if `hex` is not 64 hex digits.
 */
export function parseChunkIdHex(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new StoreError("format", `Cannot parse chunk id "${hex}": expected 64 hex digits`);
  }
  const out = new Uint8Array(CHUNK_ID_BYTES);
  for (let i = 0; i < CHUNK_ID_BYTES; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Short form of an id for messages: first 12 hex digits and an ellipsis. */
function shortId(id: Uint8Array): string {
  return `${chunkIdHex(id.subarray(0, 6))}…`;
}

/** Returns the compressed form if compression pays, else null. */
function maybeCompress(plaintext: Uint8Array): Uint8Array | null {
  if (plaintext.length < 64) return null;
  // Half from the start and half from the middle: a chunk starting with a
  // tar header or a file's metadata should not decide alone.
  const half = COMPRESS_PROBE_BYTES / 2;
  const mid = Math.max(half, plaintext.length >>> 1);
  const sample = [plaintext.subarray(0, half), plaintext.subarray(mid, mid + half)];
  if (sampleEntropyBits(sample) >= COMPRESS_MAX_ENTROPY_BITS) return null;
  const whole = zstdCompressSync(plaintext, {
    params: { [constants.ZSTD_c_compressionLevel]: COMPRESS_LEVEL },
  });
  return whole.length < plaintext.length ? whole : null;
}

/**
 * Shannon entropy of the bytes of a sample, in bits per byte (0 to 8).
 *
 * @param parts The sample, in pieces.
 * @returns The entropy of their byte histogram.
 */
export function sampleEntropyBits(parts: Uint8Array[]): number {
  const counts = new Int32Array(256);
  let n = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) counts[p[i]]++;
    n += p.length;
  }
  if (n === 0) return 0;
  // H = log2 n - (Σ c log2 c) / n: one logarithm per byte value present.
  let sum = 0;
  for (let i = 0; i < 256; i++) if (counts[i] > 1) sum += counts[i] * Math.log2(counts[i]);
  return Math.log2(n) - sum / n;
}

/**
 * Seals one chunk: probe-compress, then encrypt with ChaCha20-Poly1305 bound
 * to the header and the chunk id.
 *
 * @example Usage
 * ```ts
 * import { chunkId, openChunk, sealChunk } from "./seal.ts";
 * const idKey = crypto.getRandomValues(new Uint8Array(32));
 * const sealKey = crypto.getRandomValues(new Uint8Array(32));
 * const data = new TextEncoder().encode("hello ".repeat(1000));
 * const id = chunkId(idKey, data);
 * const sealed = sealChunk(sealKey, id, data);
 * if (openChunk(sealKey, id, sealed).length !== data.length) throw new Error("round trip");
 * ```
 *
 * @param sealKey 32-byte seal key (`Keyring.sealKey`).
 * @param id The chunk's 32-byte id; bound as associated data.
 * @param plaintext The chunk.
 * @param opts Compression choice and a test-only fixed nonce.
 * @returns The sealed record, owning its buffer.
 */
export function sealChunk(
  sealKey: Uint8Array,
  id: Uint8Array,
  plaintext: Uint8Array,
  opts: SealOptions = {},
): Uint8Array {
  return joinParts(sealChunkParts(sealKey, id, plaintext, opts));
}

/**
 * {@linkcode sealChunk}, returning the sealed record as its parts in order
 * (header, ciphertext, tag), each owning its buffer: the store writes them
 * out as they are. Joining them cost a 64 KiB allocation and copy per chunk,
 * and the allocations' external memory made V8 collect the store's heap more
 * often (one more 64 KiB allocation per chunk cost 0.5–1 ms of CPU per MiB).
 */
export function sealChunkParts(
  sealKey: Uint8Array,
  id: Uint8Array,
  plaintext: Uint8Array,
  opts: SealOptions = {},
): Uint8Array[] {
  checkKey(sealKey, "seal key");
  checkId(id);
  if (plaintext.length > SEAL_MAX_PLAINTEXT_BYTES) {
    throw new RangeError(
      `Cannot seal chunk "${shortId(id)}": ${plaintext.length} bytes is too big`,
    );
  }
  const compressed = opts.compression === "never" ? null : maybeCompress(plaintext);
  const payload = compressed ?? plaintext;
  const head = new Uint8Array(SEALED_HEADER_BYTES);
  head.set(SEALED_MAGIC, 0);
  head[4] = FORMAT_VERSION;
  head[5] = compressed ? SEAL_FLAG_ZSTD : 0;
  new DataView(head.buffer).setUint32(8, plaintext.length);
  const nonce = head.subarray(12, SEALED_HEADER_BYTES);
  if (opts.nonce) {
    if (opts.nonce.length !== SEAL_NONCE_BYTES) throw new RangeError("Cannot seal: bad nonce");
    nonce.set(opts.nonce);
  } else {
    crypto.getRandomValues(nonce);
  }
  const cipher = createCipheriv(CIPHER, sealKey, nonce, { authTagLength: SEAL_TAG_BYTES });
  cipher.setAAD(aadOf(head, id), { plaintextLength: payload.length });
  // Each call returns a buffer of its own (node:crypto allocates per call), safe to keep.
  const body = cipher.update(payload);
  const rest = cipher.final();
  const tag = cipher.getAuthTag();
  return rest.length > 0 ? [head, body, rest, tag] : [head, body, tag];
}

function aadOf(sealed: Uint8Array, id: Uint8Array): Uint8Array {
  const aad = new Uint8Array(SEALED_HEADER_BYTES + CHUNK_ID_BYTES);
  aad.set(sealed.subarray(0, SEALED_HEADER_BYTES));
  aad.set(id, SEALED_HEADER_BYTES);
  return aad;
}

/**
 * Reads a sealed chunk's header without decrypting. The values are not yet
 * authenticated: trust them only after {@linkcode openChunk} succeeds.
 *
 * @param sealed A sealed chunk, or at least its first
 * {@linkcode SEALED_HEADER_BYTES} bytes if `totalBytes` is given.
 * @param totalBytes The sealed chunk's full length, when only a prefix is
 * passed; defaults to `sealed.length`.
 * @returns Version, flags and lengths.
 * @throws {StoreError} `corrupt` for a short or malformed record, `format` for
 * an unknown version.
 */
export function readSealedHeader(sealed: Uint8Array, totalBytes?: number): SealedHeader {
  const total = totalBytes ?? sealed.length;
  if (sealed.length < SEALED_HEADER_BYTES || total < SEALED_OVERHEAD_BYTES) {
    throw new StoreError("corrupt", `Cannot read sealed chunk: ${total} bytes is too short`);
  }
  for (let i = 0; i < SEALED_MAGIC.length; i++) {
    if (sealed[i] !== SEALED_MAGIC[i]) {
      throw new StoreError("corrupt", "Cannot read sealed chunk: bad magic bytes");
    }
  }
  const version = sealed[4];
  if (version !== FORMAT_VERSION) {
    throw new StoreError(
      "format",
      `Cannot read sealed chunk: unsupported format version ${version}`,
    );
  }
  const flags = sealed[5];
  if ((flags & ~SEAL_FLAG_ZSTD) !== 0 || sealed[6] !== 0 || sealed[7] !== 0) {
    throw new StoreError("corrupt", `Cannot read sealed chunk: unknown flags ${flags}`);
  }
  const view = new DataView(sealed.buffer, sealed.byteOffset, SEALED_HEADER_BYTES);
  const plaintextBytes = view.getUint32(8);
  const payloadBytes = total - SEALED_OVERHEAD_BYTES;
  const compressed = (flags & SEAL_FLAG_ZSTD) !== 0;
  if (!compressed && payloadBytes !== plaintextBytes) {
    throw new StoreError("corrupt", "Cannot read sealed chunk: length does not match the header");
  }
  return { version, flags, compressed, plaintextBytes, payloadBytes };
}

/**
 * Opens a sealed chunk: authenticates, decrypts and decompresses.
 *
 * @param sealKey 32-byte seal key.
 * @param id The id the chunk is stored under.
 * @param sealed The sealed record.
 * @returns The plaintext, in an `ArrayBuffer` of its own (so it can be transferred whole).
 * @throws {StoreError} `corrupt` if the tag does not verify (a flipped bit,
 * the wrong id, or the wrong key) or the record is malformed; `format` for an
 * unknown version.
 */
export function openChunk(
  sealKey: Uint8Array,
  id: Uint8Array,
  sealed: Uint8Array,
): Uint8Array<ArrayBuffer> {
  checkKey(sealKey, "seal key");
  checkId(id);
  let header: SealedHeader;
  try {
    header = readSealedHeader(sealed);
  } catch (e) {
    if (!(e instanceof StoreError)) throw e;
    const reason = e.message.replace(/^Cannot read sealed chunk: /, "");
    throw new StoreError(e.kind, `Cannot open chunk "${shortId(id)}": ${reason}`);
  }
  const nonce = sealed.subarray(12, SEALED_HEADER_BYTES);
  const tagAt = sealed.length - SEAL_TAG_BYTES;
  const decipher = createDecipheriv(CIPHER, sealKey, nonce, { authTagLength: SEAL_TAG_BYTES });
  decipher.setAAD(aadOf(sealed, id), { plaintextLength: header.payloadBytes });
  decipher.setAuthTag(sealed.subarray(tagAt));
  let payload: Uint8Array<ArrayBuffer>;
  try {
    // A stream cipher: `update` yields every byte (in a buffer of its own), `final` only checks.
    const body = decipher.update(sealed.subarray(SEALED_HEADER_BYTES, tagAt));
    const rest = decipher.final();
    payload = ownBuffer(body, rest);
  } catch (cause) {
    throw new StoreError(
      "corrupt",
      `Cannot open chunk "${shortId(id)}": authentication tag mismatch`,
      { cause },
    );
  }
  if (!header.compressed) return payload;
  let plain: Uint8Array;
  try {
    plain = zstdDecompressSync(payload, { maxOutputLength: Math.max(1, header.plaintextBytes) });
  } catch (cause) {
    throw new StoreError("corrupt", `Cannot open chunk "${shortId(id)}": bad zstd payload`, {
      cause,
    });
  }
  if (plain.length !== header.plaintextBytes) {
    throw new StoreError(
      "corrupt",
      `Cannot open chunk "${
        shortId(id)
      }": decompressed to ${plain.length} bytes, expected ${header.plaintextBytes}`,
    );
  }
  return ownBuffer(plain);
}

/**
 * `bytes` followed by `more` in an `ArrayBuffer` of their own: `bytes`'s own when it already
 * fills it alone (Node may hand out slices of a shared pool).
 */
function ownBuffer(bytes: Uint8Array, more?: Uint8Array): Uint8Array<ArrayBuffer> {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  if (!more?.length && whole && bytes.buffer instanceof ArrayBuffer) {
    return new Uint8Array(bytes.buffer);
  }
  const out = new Uint8Array(bytes.length + (more?.length ?? 0));
  out.set(bytes);
  if (more) out.set(more, bytes.length);
  return out;
}
