/**
 * The chunk store: content-defined chunking, keyed chunk ids, zstd +
 * ChaCha20-Poly1305 sealing, Reed–Solomon striping over the vault's drives
 * (each an append-only segment store with group commit), heal on read, drive
 * rebuild, and the vault's key hierarchy.
 *
 * @module
 */

export * from "./boot.ts";
export type { StoreErrorKind } from "./errors.ts";
export type { StoreKeys } from "./service.ts";
export type { Keyring } from "./keys.ts";
export { KEYRING_FILE, tryLockVault } from "./vault.ts";
export { runRebuildIndexCommand } from "./index_cli.ts";

// Read-only format primitives and the repair-capable service for the scrubber (src/scrub/), which
// verifies the on-disk format with the same decoders the store writes with.
export {
  decodeSegmentHeader,
  decodeShard,
  RecordType,
  scanRecords,
  SEGMENT_HEADER_BYTES,
  toHex,
} from "./format.ts";
export { journalSeqOf } from "./index_backup.ts";
export { ReedSolomon } from "./erasure.ts";
export { openChunk } from "./seal.ts";
export { StoreService } from "./service.ts";
