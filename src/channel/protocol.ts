/**
 * The typed messages between the S3 router, the chunk store and the index.
 *
 * Each service has one request union tagged by `type` and a response map from
 * request type to result. Requests carry no HTTP concepts; results are plain
 * structured-clone-safe data. Chunk bytes travel as `ArrayBuffer`s in the
 * transfer list, so they are moved, not copied.
 *
 * @module
 */

import type {
  BucketHealth,
  BucketPolicy,
  BucketUsage,
  PolicedWrite,
  UploadWindow,
} from "./policy.ts";

/** Size in bytes of one manifest entry: a 32-byte chunk id and a u32 plaintext length. */
export const MANIFEST_ENTRY_BYTES = 36;

/**
 * Largest PutObject body kept in the index rather than the chunk store, bytes. Such a body is below
 * the chunker's minimum (one chunk, so nothing to deduplicate within it) and writing it with its
 * version saves the store a write session and the router a round trip; the index grows by at most
 * this much per tiny object.
 */
export const INLINE_MAX_BYTES = 4096;

/** HTTP-free description of one stored object version. */
export interface VersionRecord {
  /** Version id; `"null"` for unversioned buckets. */
  versionId: string;
  /** Plaintext length in bytes. */
  size: number;
  /** ETag without quotes (`md5hex` or `md5hex-N`). */
  etag: string;
  /** Last-modified time, ms since the epoch. */
  lastModified: number;
  /** Content-Type and the other stored standard headers (lowercase names). */
  headers: Record<string, string>;
  /** User metadata, names without the `x-amz-meta-` prefix, lowercase. */
  userMeta: Record<string, string>;
  /** Stored flexible checksum, when the upload carried one. */
  checksum?: { algorithm: string; value: string; type: "FULL_OBJECT" | "COMPOSITE" };
  /** Sizes of the parts of a multipart object, in order; absent for single PUTs. */
  partSizes?: number[];
  /** Packed manifest: {@linkcode MANIFEST_ENTRY_BYTES} bytes per chunk, in order. */
  manifest: Uint8Array;
  /**
   * The whole body of a tiny object kept in the index instead of the chunk store (at most
   * {@linkcode INLINE_MAX_BYTES}); its manifest is then empty.
   */
  inline?: Uint8Array;
  /** True for a delete marker. */
  deleteMarker?: boolean;
  /** Object Lock state: retention mode and end (ms), legal hold. */
  lock?: ObjectLock;
}

/** Object Lock settings of a version (or asked for by a write). */
export interface ObjectLock {
  mode?: "GOVERNANCE" | "COMPLIANCE";
  retainUntil?: number;
  legalHold: boolean;
}

/** A bucket's default retention. */
export interface DefaultRetention {
  mode: "GOVERNANCE" | "COMPLIANCE";
  days?: number;
  years?: number;
}

/** A version as listed (no manifest). */
export type VersionSummary = Omit<VersionRecord, "manifest" | "headers" | "userMeta">;

/** One entry of a bucket listing. */
export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: number;
}

/** One entry of a version listing: a version or a delete marker. */
export interface ListedVersion {
  key: string;
  versionId: string;
  isLatest: boolean;
  deleteMarker: boolean;
  size: number;
  etag: string;
  lastModified: number;
}

/** One part of a multipart upload. */
export interface PartRecord {
  partNumber: number;
  size: number;
  etag: string;
  lastModified: number;
  checksum?: { algorithm: string; value: string };
  manifest: Uint8Array;
}

/** A multipart upload in progress. */
export interface UploadRecord {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: number;
  headers: Record<string, string>;
  userMeta: Record<string, string>;
  checksumAlgorithm?: string;
  /** How the object's checksum is made from the parts' (FULL_OBJECT or COMPOSITE); with an algorithm. */
  checksumType?: "FULL_OBJECT" | "COMPOSITE";
  /** Object Lock settings asked for at CreateMultipartUpload. */
  lock?: ObjectLock;
}

/** Names one object version. */
export interface VersionRef {
  bucket: string;
  key: string;
  versionId: string;
}

/** An access level as stored (see `auth/access.ts` for what each allows). */
export type StoredAccessLevel = "none" | "read" | "append" | "write" | "owner";

/** A managed access key as listed: never its secret, sealed or not. */
export interface AccessKeyInfo {
  accessKey: string;
  level: StoredAccessLevel;
  buckets: Record<string, StoredAccessLevel>;
  bypassGovernance: boolean;
  allowFrom: string[];
  /** May write outside upload windows (the key's own and its buckets'), for emergencies. */
  uploadAnytime: boolean;
  /** When the key may write; none means whenever its buckets' windows allow. */
  uploadWindows: UploadWindow[];
  /** Times, ms since the epoch. */
  created: number;
  updated: number;
}

/** A change to a managed key; absent fields stay as they are. */
export interface AccessKeyChange {
  level?: StoredAccessLevel;
  /** Per-bucket levels to set; `null` removes a bucket's override. */
  buckets?: Record<string, StoredAccessLevel | null>;
  /** Drop every existing override before applying `buckets`. */
  replaceBuckets?: boolean;
  bypassGovernance?: boolean;
  allowFrom?: string[];
  uploadAnytime?: boolean;
  uploadWindows?: UploadWindow[];
  /** A new secret, sealed by the store with the access key id as context. */
  sealedSecret?: string;
}

/** What the bucket policy asks of the credential making a write. */
export interface WriteCaller {
  /** The credential holds the `upload-anytime` right: upload windows do not apply (quotas still do). */
  uploadAnytime?: boolean;
  /** The credential's own upload windows, and its id for the refusal. */
  keyWindows?: { accessKey: string; windows: UploadWindow[] };
}

/** Requests to the index (meta Worker). */
export type MetaRequest =
  | { type: "ping" }
  | { type: "listBuckets" }
  | { type: "createBucket"; bucket: string; region: string; now: number; objectLock?: boolean }
  | { type: "headBucket"; bucket: string }
  | { type: "deleteBucket"; bucket: string; approvals?: string[] }
  | {
    type: "putVersion";
    bucket: string;
    key: string;
    /** The index assigns the version id from the bucket's versioning state. */
    version: Omit<VersionRecord, "versionId">;
    /** Object Lock settings the write asked for; the bucket's default retention applies otherwise. */
    lock?: ObjectLock;
    /** Whether the request carried Content-MD5 or a flexible checksum (required for locked writes). */
    integrityChecked?: boolean;
    ifMatch?: string;
    ifNoneMatch?: boolean;
    /** Set when the manifest was taken from this version rather than written: it must still exist. */
    copiedFrom?: VersionRef;
    /** The writer may not remove data: refuse to replace an existing `null` version. */
    appendOnly?: boolean;
    /** Sealed bytes this write added to disk, for the bucket's stored usage. */
    storedBytes?: number;
    /** Which write this is, for the bucket policy (default `put`). */
    write?: "put" | "copy";
    /** Store write sessions that hold the manifest's chunks: made durable with the batch. */
    writeIds?: string[];
    /**
     * Set when the write was not admitted before its body was read (a small body, where the round
     * trip costs more than reading it): the index admits it first, as `admitWrite` would have.
     */
    admit?: WriteCaller;
  }
  | { type: "getVersion"; bucket: string; key: string; versionId?: string }
  | {
    type: "deleteObject";
    bucket: string;
    key: string;
    versionId?: string;
    /** `If-Match`: the key's current version must have this ETag (or exist, for `*`). */
    ifMatch?: string;
    now: number;
    /** `x-amz-bypass-governance-retention: true` sent by a caller holding the bypass right. */
    bypassGovernance: boolean;
    /** Four-eyes approval tokens the request carried (`X-Amber-Approvals`). */
    approvals?: string[];
  }
  | {
    type: "deleteObjects";
    bucket: string;
    /** `ifMatch` from each object's `<ETag>`, as DeleteObject's `If-Match`. */
    objects: { key: string; versionId?: string; ifMatch?: string }[];
    now: number;
    bypassGovernance: boolean;
    approvals?: string[];
  }
  | { type: "putBucketVersioning"; bucket: string; status: "Enabled" | "Suspended" }
  | {
    type: "putObjectLockConfiguration";
    bucket: string;
    defaultRetention?: DefaultRetention;
    approvals?: string[];
  }
  | { type: "getObjectLockConfiguration"; bucket: string }
  | { type: "createSnapshot"; bucket: string; source: string; at: number; now: number }
  | {
    type: "putObjectRetention";
    bucket: string;
    key: string;
    versionId?: string;
    retention: { mode?: "GOVERNANCE" | "COMPLIANCE"; retainUntil?: number };
    bypassGovernance: boolean;
    approvals?: string[];
  }
  | { type: "putObjectLegalHold"; bucket: string; key: string; versionId?: string; on: boolean }
  | {
    type: "listVersions";
    bucket: string;
    prefix: string;
    delimiter: string;
    keyMarker: string;
    versionIdMarker: string;
    maxKeys: number;
  }
  | {
    type: "listObjects";
    bucket: string;
    prefix: string;
    delimiter: string;
    startAfter: string;
    maxKeys: number;
  }
  | { type: "createUpload"; upload: UploadRecord }
  | {
    type: "putPart";
    bucket: string;
    key: string;
    uploadId: string;
    part: PartRecord;
    copiedFrom?: VersionRef;
    /** Sealed bytes this part added to disk, for the bucket's stored usage. */
    storedBytes?: number;
    /** Store write sessions that hold the part's chunks: made durable with the batch. */
    writeIds?: string[];
  }
  | { type: "getUpload"; bucket: string; key: string; uploadId: string }
  | {
    type: "completeUpload";
    bucket: string;
    key: string;
    uploadId: string;
    /** With the part's checksum when the request names it: it must be the one stored. */
    parts: { partNumber: number; etag: string; checksum?: { algorithm: string; value: string } }[];
    /** The object's checksum the client claims (`x-amz-checksum-*`): checked against the parts'. */
    checksum?: { algorithm: string; value: string; type?: "FULL_OBJECT" | "COMPOSITE" };
    now: number;
    minPartBytes: number;
    ifMatch?: string;
    ifNoneMatch?: boolean;
    /** The writer may not remove data: refuse to replace an existing `null` version. */
    appendOnly?: boolean;
  }
  | { type: "abortUpload"; bucket: string; key: string; uploadId: string }
  | {
    type: "listParts";
    bucket: string;
    key: string;
    uploadId: string;
    marker: number;
    maxParts: number;
  }
  | {
    type: "listUploads";
    bucket: string;
    prefix: string;
    delimiter: string;
    keyMarker: string;
    uploadIdMarker: string;
    maxUploads: number;
  }
  | { type: "chunkRefs"; ids: Uint8Array }
  /**
   * Totals for /metrics (cheap: anyone may ask /metrics). `chunks` adds the referenced-chunk
   * counts, a scan of the chunk table, for tests and tools.
   */
  | { type: "stats"; chunks?: boolean }
  /** Audit records after `since` (and the seals among them), oldest first. */
  | { type: "exportAudit"; since: number; limit: number }
  /** Stores a four-eyes approval for a later request on `resource`. */
  | { type: "stageApproval"; token: string; action: string; resource: string }
  /** Moves the trusted clock forward to `time` (ms) on approvers' signed word; never back. */
  | { type: "attestTime"; time: number; approvals: string[] }
  /** Managed access keys; `actor` names who asked, for the audit log. */
  | { type: "addAccessKey"; record: AccessKeyInfo & { sealedSecret: string }; actor: string }
  | { type: "setAccessKey"; accessKey: string; change: AccessKeyChange; now: number; actor: string }
  | { type: "revokeAccessKey"; accessKey: string; actor: string }
  | { type: "getAccessKey"; accessKey: string }
  | { type: "listAccessKeys" }
  /** Records an event decided outside the index (an access refusal, an admin action). */
  | {
    type: "audit";
    op: string;
    target: string;
    outcome: "done" | "refused";
    detail: string;
  }
  // Bucket policy (quotas, upload windows, freshness): policy_store.ts in meta.
  | { type: "putBucketPolicy"; bucket: string; policy: unknown }
  | { type: "getBucketPolicy"; bucket: string }
  | {
    type: "admitWrite";
    bucket: string;
    key: string;
    write: PolicedWrite;
    uploadId?: string;
    partNumber?: number;
  } & WriteCaller
  | { type: "bucketHealth"; bucket?: string }
  /** Named internal state (not audited): the learned signal profiles. */
  | { type: "getSetting"; name: string }
  | { type: "putSetting"; name: string; value: string };

/** Result of a listing with delimiter support. */
export interface ListResult<T> {
  items: T[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or prefix returned; the next page starts after it. */
  nextMarker?: string;
}

/** The result type of each index request. */
export interface MetaResults {
  ping: { ok: true };
  listBuckets: { buckets: { name: string; created: number }[] };
  createBucket: { created: true };
  headBucket: {
    name: string;
    created: number;
    region: string;
    versioning: "Unversioned" | "Enabled" | "Suspended";
  };
  putBucketVersioning: { status: "Enabled" | "Suspended" };
  putObjectLockConfiguration: { enabled: true };
  getObjectLockConfiguration: { defaultRetention?: DefaultRetention };
  /** `at` as asked (the system clock), and the trusted time it was read as. */
  createSnapshot: {
    bucket: string;
    source: string;
    at: number;
    trustedAt: number;
    objects: number;
  };
  putObjectRetention: { versionId: string };
  putObjectLegalHold: { versionId: string };
  listVersions: ListResult<ListedVersion> & { nextVersionIdMarker?: string };
  deleteBucket: { deleted: true };
  putVersion: { versionId: string; lock?: ObjectLock; quotaWarning?: string };
  /** The version, and whether its bucket's versioning was ever set (a `null` version is then named). */
  getVersion: VersionRecord & { bucketVersioned: boolean };
  deleteObject: { deleted: boolean; versionId?: string; deleteMarker?: boolean };
  deleteObjects: {
    results: (
      | {
        key: string;
        versionId?: string;
        ok: true;
        deleteMarker?: boolean;
        deleteMarkerVersionId?: string;
      }
      | { key: string; versionId?: string; ok: false; error: WireError }
    )[];
  };
  listObjects: ListResult<ListedObject>;
  createUpload: { uploadId: string };
  putPart: { replaced: boolean; quotaWarning?: string };
  getUpload: UploadRecord;
  /** Without the manifest: up to 29 MB for 10,000 parts, which the router has no use for. */
  completeUpload: Omit<VersionRecord, "manifest" | "inline"> & { quotaWarning?: string };
  abortUpload: { aborted: true };
  listParts: {
    upload: UploadRecord;
    parts: Omit<PartRecord, "manifest">[];
    isTruncated: boolean;
    nextMarker: number;
  };
  listUploads: ListResult<UploadRecord>;
  /** One byte per id given (32 bytes each): 1 when a version or part still holds that chunk. */
  chunkRefs: { referenced: Uint8Array };
  stats: {
    buckets: number;
    versions: number;
    logicalBytes: number;
    /** Sealed bytes of the tiny objects kept in the index. */
    inlineBytes: number;
    /** Only when asked for. */
    chunks?: number;
    chunkRefs?: number;
    clock: { trustedMs: number; wallAheadMs: number; uncreditedJumpMs: number };
  };
  exportAudit: AuditExport;
  stageApproval: { approver: string; expires: number };
  attestTime: { trustedMs: number };
  addAccessKey: AccessKeyInfo;
  setAccessKey: AccessKeyInfo;
  revokeAccessKey: { revoked: true };
  getAccessKey: { key?: AccessKeyInfo & { sealedSecret: string } };
  listAccessKeys: { keys: AccessKeyInfo[] };
  audit: { recorded: true };
  putBucketPolicy: { bucket: string; policy: BucketPolicy; usage: BucketUsage };
  getBucketPolicy: { bucket: string; policy: BucketPolicy; usage: BucketUsage };
  /** Set `limit` when the write's body must be cut off after `bytes` bytes, refused as `kind`. */
  admitWrite: {
    limit?: { bytes: number; kind: "quotaExceeded" | "objectTooLarge"; message: string };
  };
  /** Trusted now, and the health of one bucket or of every bucket. */
  bucketHealth: { now: number; buckets: BucketHealth[] };
  getSetting: { value?: string };
  putSetting: { saved: true };
}

/** A page of the audit log, binary fields in hex. */
export interface AuditExport {
  /** The vault's audit signing key (Ed25519, hex): pin it for `audit-verify --public-key`. */
  publicKey: string;
  records: {
    seq: number;
    time: number;
    op: string;
    target: string;
    outcome: string;
    detail: string;
    prev: string;
    hash: string;
  }[];
  seals: { seq: number; time: number; hash: string; signature: string }[];
  /** Pass as `since` for the next page; undefined at the end. */
  next?: number;
}

/**
 * Requests to the chunk store (store Worker).
 *
 * Writes are sessions named by the caller. `writeData` pieces of one
 * `writeId` carry their byte offset and are chunked in that order (the first
 * piece, at offset 0, opens the session; a piece for a session the store does
 * not know, or out of order, is refused). Each reply lists, as packed
 * manifest entries, the chunks completed by that piece once they are sealed
 * and queued for the drives; they become durable with the `journalAppend`
 * that names the session among its `writeIds` (the index's group commit of
 * the manifest), which fails if any of them could not be stored. So data,
 * manifest and index share one fsync. The piece marked `last` (possibly
 * empty) also flushes the tail chunk, so a small object is one message. Until
 * it is released, the session pins its chunks against garbage collection: the
 * index releases the sessions of a batch once it has committed or rolled back
 * (`ended` on a later `journalAppend`, or `writeRelease`), and the router the
 * sessions of a request that failed before its manifest reached the index.
 * The reply hands the piece's buffer back (transferred), so the router can
 * fill it again instead of mapping and zeroing a fresh one.
 *
 * `readChunks` takes packed manifest entries and answers with their
 * plaintexts, each in a buffer of its own: one message carries about 1 MiB.
 * A download that reads in more than one message pins the chunks it has yet
 * to read (`readPin`, named by the router) until `readEnd`, so that deleting
 * its version meanwhile does not let the collector take them.
 */
export type StoreRequest =
  | { type: "ping" }
  | { type: "writeData"; writeId: string; offset: number; data: ArrayBuffer; last: boolean }
  | {
    type: "writeRelease";
    writeIds: string[];
    /** From the index: every journal sequence up to this one is committed. */
    committedSeq?: number;
  }
  /**
   * Waits until every chunk of a write session is durable, for a caller that keeps the manifest
   * anywhere but the index (whose journal append does this for the writes it commits).
   */
  | { type: "writeDurable"; writeId: string }
  | { type: "readPin"; readId: string; entries: Uint8Array }
  /** `readId` names the download's pin, which stays while reads keep coming. */
  | { type: "readChunks"; entries: Uint8Array; readId?: string }
  | { type: "readEnd"; readId: string }
  | { type: "collectGarbage" }
  | { type: "stats" }
  /** Seals a credential secret under the vault's secrets key, bound to `context` (the access key id). */
  | { type: "sealSecret"; plaintext: string; context: string }
  | { type: "openSecret"; sealed: string; context: string }
  | { type: "drives" }
  | {
    type: "repairChunk";
    /** Chunk id. */
    id: Uint8Array;
    /** Shards the scrubber found bad or missing: rebuilt from the others and rewritten. */
    bad: { drive: number; shard: number }[];
  }
  /**
   * Makes one batch of the index (an SQLite changeset) durable as journal record `seq`, with
   * the chunks of the named write sessions; the index commits the batch when this succeeds.
   */
  | {
    type: "journalAppend";
    seq: number;
    changeset: Uint8Array;
    writeIds: string[];
    /** Write sessions of earlier batches, since committed or rolled back: released. */
    ended?: string[];
  }
  /** Journal records after `afterSeq`, to bring an index up to date at start. */
  | { type: "journalTail"; afterSeq: number }
  /** Seals the index copy at `path` (in the data dir) onto every online drive as checkpoint `seq`. */
  | { type: "indexCheckpoint"; seq: number; path: string };

/** The drives behind the chunk store: geometry, each drive's state, heals and the rebuild under way. */
export interface DrivesStatus {
  /** Data shards per chunk. */
  k: number;
  /** Parity shards per chunk. */
  m: number;
  /** Shards that must be durable before a write is acknowledged. */
  writeQuorum: number;
  /** Shards rewritten by heal on read since start. */
  healedShards: number;
  /** One entry per drive slot. */
  drives: {
    index: number;
    path: string;
    state: "ready" | "rebuilding" | "offline";
    /** Shards queued for this drive until it is online. */
    owedShards: number;
  }[];
  /** The running or last rebuild of a replaced or returning drive. */
  rebuild?: {
    /** Drive slots rebuilt together. */
    drives: number[];
    /** Chunk ids checked so far (summed over the source drives). */
    checkedChunks: number;
    /** Chunk ids to check (summed over the source drives, at the start). */
    totalChunks: number;
    /** Shards written onto the drive. */
    rebuiltShards: number;
    /** Record bytes written onto the drive. */
    rebuiltBytes: number;
    /** Chunks that could not be rebuilt (fewer than k good shards left). */
    failedChunks: number;
    /** When it started, ms since the epoch. */
    startedAt: number;
    /** The drives are ready. */
    done: boolean;
  };
}

/** What one garbage collection did. */
export interface GcReport {
  /** Unreferenced chunks removed from the index. */
  deletedChunks: number;
  /** Bytes of those chunks' records. */
  deletedBytes: number;
  /** Segments whose live records were moved so the file could go. */
  compactedSegments: number;
  /** Bytes of segment files removed. */
  reclaimedBytes: number;
}

/** The result type of each store request. */
export interface StoreResults {
  ping: { ok: true };
  /**
   * `storedBytes`: bytes written to disk (shards of every new chunk); `newBytes`: plaintext of the
   * new chunks; `sealedBytes`: those chunks compressed and sealed, before erasure coding.
   */
  writeData: {
    entries: Uint8Array;
    storedBytes: number;
    newBytes: number;
    sealedBytes: number;
    /** The request's `data`, handed back for reuse: the store keeps no view of it. */
    piece: ArrayBuffer;
  };
  writeRelease: { released: number };
  writeDurable: { ok: true };
  /** The plaintexts of the listed manifest entries, in order. */
  readChunks: { chunks: ArrayBuffer[] };
  readPin: { ok: true };
  readEnd: { ok: true };
  collectGarbage: GcReport;
  stats: {
    chunks: number;
    storedBytes: number;
    plainBytes: number;
    segments: number;
    diskBytes: number;
    gc: GcReport & { runs: number };
    drives: DrivesStatus;
  };
  sealSecret: { sealed: string };
  openSecret: { plaintext: string };
  drives: DrivesStatus;
  /** Shards rewritten and their record bytes (0 when nothing needed it). */
  repairChunk: { shards: number; bytes: number };
  journalAppend: { ok: true };
  /** In sequence order; `unreadable` names sequences none of whose records could be read. */
  /** Records after the sequence; sequences before the last one unreadable; appends after it never finished. */
  journalTail: {
    records: { seq: number; changeset: Uint8Array }[];
    unreadable: number[];
    unfinished: number[];
    /** The batch of the newest index checkpoint on the drives: the index must not be behind it. */
    checkpointSeq: number;
  };
  /** Drives the checkpoint was written to, and why the others were not. */
  indexCheckpoint: { drives: number; failed: string[] };
}

/** What the scrubber checked and found (see `src/scrub/`). */
export interface ScrubFinding {
  /**
   * `badShard`: a shard failed its checksum or framing; `missingShard`: an
   * online drive lacks a shard; `badChunk`: the rebuilt chunk fails its
   * stripe checksum or AEAD tag; `unrecoverable`: fewer than k good shards;
   * `missingChunk`: an object references a chunk no drive holds;
   * `refcount`: the index's reference count disagrees with the manifests;
   * `badSegment`: a segment file's header is damaged (its records still read);
   * `badInline`: a tiny object's body kept in the index fails its tag (restore
   * the index from a checkpoint: `rebuild-index`).
   */
  kind:
    | "badShard"
    | "missingShard"
    | "badChunk"
    | "unrecoverable"
    | "missingChunk"
    | "refcount"
    | "badSegment"
    | "badInline";
  /** Hex chunk id; empty for `badInline`. */
  chunk: string;
  drive?: number;
  shard?: number;
  segment?: number;
  offset?: number;
  detail: string;
  /** True once the store rewrote it from parity. */
  repaired?: boolean;
  /** Objects that reference the chunk (for unrecoverable and missing chunks). */
  objects?: ScrubObjectRef[];
}

/** An object version (or an unfinished upload's part) that references a chunk. */
export type ScrubObjectRef =
  | { bucket: string; key: string; versionId: string }
  | { bucket: string; key: string; uploadId: string; partNumber: number };

/** Counters of one scrub pass. */
export interface ScrubPass {
  startedAt: number;
  finishedAt?: number;
  /**
   * `shards`: reading every shard; `refs`: checking manifests and refcounts; `inline`: opening
   * the tiny object bodies kept in the index.
   */
  phase: "shards" | "refs" | "inline" | "done";
  bytesScanned: number;
  bytesTotal: number;
  chunksChecked: number;
  shardsChecked: number;
  objectsChecked: number;
  objectsTotal: number;
  /** Damaged shards or chunks found (all kinds). */
  found: number;
  /** Shards rewritten from parity. */
  repaired: number;
  /** Chunks that could not be repaired. */
  unrecoverable: number;
  /** Reference-count disagreements between manifests and the index. */
  refMismatches: number;
  /**
   * Damaged or partly written chunks that nothing references (left by a write cut off by a crash,
   * or garbage not yet collected): not damage to any object, left to the collector.
   */
  unreferencedSkipped?: number;
  /** Findings, at most a bounded number (`findingsDropped` counts the rest). */
  findings: ScrubFinding[];
  findingsDropped: number;
}

/** The scrubber's status, as `/admin/scrub`, `/metrics` and `deno task scrub` show it. */
export interface ScrubStatus {
  state: "idle" | "running" | "paused";
  /** The data dir scrubbed (lets `deno task scrub` recognise its vault). */
  dataDir: string;
  /** Target rate, bytes per second (0: unthrottled). */
  rateBytesPerSecond: number;
  /** Measured rate of the pass under way, bytes per second. */
  currentBytesPerSecond: number;
  /** Seconds left at the current rate, when known. */
  etaSeconds?: number;
  /** The pass under way (or paused). */
  pass?: ScrubPass;
  /** The last finished pass. */
  lastPass?: ScrubPass;
  /** When the last full pass finished, ms since the epoch. */
  lastFullPassAt?: number;
  /** When the next pass starts by itself, ms since the epoch. */
  nextPassAt?: number;
  /** Why the last pass stopped early, when it failed (an unreadable index, say). */
  lastError?: string;
  /** Totals since the vault started. */
  totals: {
    bytesScanned: number;
    shardsChecked: number;
    found: number;
    repaired: number;
    unrecoverable: number;
  };
}

/** Commands to the scrubber. */
export type ScrubAction = "start" | "pause" | "resume" | "cancel";

/** Requests to the scrubber Worker. */
export type ScrubRequest =
  | { type: "scrubStatus" }
  | { type: "scrubCommand"; action: ScrubAction };

/** The result type of each scrubber request. */
export interface ScrubResults {
  scrubStatus: ScrubStatus;
  scrubCommand: ScrubStatus;
}

/** A domain error as it crosses a channel: the area, its kind and its message. */
export interface WireError {
  /** Which area raised it. */
  area: "meta" | "store" | "channel" | "internal";
  /** The area's discriminant (for example `"noSuchKey"`). */
  kind: string;
  /** Human-readable message in std style. */
  message: string;
  /** Optional structured details. */
  details?: Record<string, string | number>;
}
