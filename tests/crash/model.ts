/**
 * What the crash harness expects the vault to hold: every acknowledged write,
 * and for each key the one write that may have been in flight when the vault
 * was killed. After a restart, {@linkcode verifyAndReconcile} checks the vault
 * against it and then adopts what the vault holds, so the next cycle starts
 * from exact knowledge.
 *
 * Each key is written by one load worker only, one request at a time, so a
 * key has at most one write in flight.
 *
 * @module
 */

import {
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { chacha20 } from "@noble/ciphers/chacha.js";
import { assertEquals, assertOk, bodyBytes } from "../helpers/assert_s3.ts";

/** The unversioned bucket. */
export const PLAIN = "crash-plain";
/** The versioned bucket. */
export const VERSIONED = "crash-versioned";
/** The object-lock bucket (versioned, lock changes). */
export const LOCKED = "crash-locked";

/** A body the harness sent: its SHA-256 and length. */
export interface Body {
  hash: string;
  size: number;
}

/**
 * Deterministic, non-repeating bytes: a ChaCha20 keystream keyed by the run's
 * seed and the body's number, so no two bodies share a chunk by accident.
 */
export function makeBody(seed: number, id: number, size: number): Uint8Array {
  const key = new Uint8Array(32);
  const view = new DataView(key.buffer);
  view.setUint32(0, seed >>> 0);
  view.setUint32(4, id >>> 0);
  return chacha20(key, new Uint8Array(12), new Uint8Array(size));
}

/** The SHA-256 and length of `bytes`. */
export async function fingerprint(bytes: Uint8Array): Promise<Body> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  const hash = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return { hash, size: bytes.length };
}

/** A key in the unversioned bucket: its acknowledged body (null: absent) and an in-flight one. */
export interface PlainKey {
  committed: Body | null;
  /** `undefined`: nothing in flight; `null`: a delete in flight. */
  pending?: Body | null;
}

/** Object-lock state of one version. */
export interface LockState {
  legalHold: boolean;
  /** Retain-until in ms (whole seconds), GOVERNANCE mode; undefined without retention. */
  retainUntil?: number;
}

/** One version of a versioned key; `body` null is a delete marker. */
export interface Version {
  versionId: string;
  body: Body | null;
  lock?: LockState;
}

/** A write that may have been in flight on a versioned key. */
export type VersionOp =
  | { kind: "add"; body: Body | null }
  | { kind: "remove"; versionId: string }
  | { kind: "lock"; versionId: string; lock: LockState };

/** A key in a versioned bucket: its versions oldest first, and an in-flight write. */
export interface VersionedKey {
  versions: Version[];
  pending?: VersionOp;
}

/** Bytes of each part of a multipart upload: two 5 MiB parts and the rest. */
export const PART_BOUNDS = (size: number): number[] => [0, 5 * 1024 * 1024, 10 * 1024 * 1024, size];

/** An open multipart upload in the unversioned bucket, and what of it was acknowledged. */
export interface OpenUpload {
  key: string;
  /** The body is `makeBody(seed, bodyId, body.size)`, so a later cycle can resume the upload. */
  bodyId: number;
  body: Body;
  /** Acknowledged parts: number → ETag. */
  parts: Map<number, string>;
  /** A part whose upload was in flight. */
  pendingPart?: number;
  /** A CompleteMultipartUpload or AbortMultipartUpload in flight. */
  ending?: "complete" | "abort";
}

/** Everything the vault should hold. */
export class Model {
  readonly plain = new Map<string, PlainKey>();
  readonly versioned = new Map<string, VersionedKey>();
  readonly locked = new Map<string, VersionedKey>();
  /** Open multipart uploads by upload id. */
  readonly uploads = new Map<string, OpenUpload>();
  /** Writes found in flight at a kill: how many took effect and how many did not. */
  readonly inFlight = { took: 0, lost: 0 };

  /** Counts one in-flight write's outcome. */
  noteInFlight(took: boolean): void {
    if (took) this.inFlight.took++;
    else this.inFlight.lost++;
  }

  /** The state of `key` in the unversioned bucket (created empty). */
  plainKey(key: string): PlainKey {
    let k = this.plain.get(key);
    if (!k) this.plain.set(key, k = { committed: null });
    return k;
  }

  /** The state of `key` in a versioned bucket (created empty). */
  versionedKey(bucket: typeof VERSIONED | typeof LOCKED, key: string): VersionedKey {
    const map = bucket === LOCKED ? this.locked : this.versioned;
    let k = map.get(key);
    if (!k) map.set(key, k = { versions: [] });
    return k;
  }

  /** Counts of what the model holds. */
  counts(): { objects: number; versions: number; lockedVersions: number } {
    let versions = 0;
    for (const k of this.versioned.values()) versions += k.versions.length;
    let lockedVersions = 0;
    for (const k of this.locked.values()) lockedVersions += k.versions.length;
    const objects = [...this.plain.values()].filter((k) => k.committed).length;
    return { objects, versions, lockedVersions };
  }
}

async function readBody(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<Body | null> {
  try {
    const r = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
    );
    return await fingerprint(await bodyBytes(r.Body));
  } catch (e) {
    if ((e as { name?: string }).name === "NoSuchKey") return null;
    throw e;
  }
}

const same = (a: Body | null | undefined, b: Body | null | undefined) =>
  a === b || (!!a && !!b && a.hash === b.hash && a.size === b.size);

const show = (b: Body | null | undefined) =>
  b === undefined ? "nothing" : b === null ? "absent" : `${b.size} B ${b.hash.slice(0, 12)}`;

/**
 * Checks the unversioned bucket: each key reads back as its acknowledged body
 * or the one in flight, whole; the listing names exactly the present keys with
 * their sizes. Then adopts what was found.
 */
async function verifyPlain(s3: S3Client, model: Model, where: string): Promise<void> {
  for (const [key, k] of model.plain) {
    const got = await readBody(s3, PLAIN, key);
    const ok = same(got, k.committed) || (k.pending !== undefined && same(got, k.pending));
    assertOk(
      ok,
      `${where}: ${PLAIN}/${key} reads as ${show(got)}; acknowledged ${show(k.committed)}, ` +
        `in flight ${show(k.pending)}`,
    );
    if (k.pending !== undefined && !same(k.pending, k.committed)) {
      model.noteInFlight(same(got, k.pending));
    }
    k.committed = got;
    k.pending = undefined;
  }
  const listed = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: PLAIN, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) listed.set(o.Key!, o.Size!);
    token = page.NextContinuationToken;
  } while (token);
  for (const [key, size] of listed) {
    const k = model.plain.get(key);
    assertOk(k?.committed, `${where}: ${PLAIN} lists "${key}", which no write produced`);
    assertEquals(size, k!.committed!.size, `${where}: listed size of ${PLAIN}/${key}`);
  }
  for (const [key, k] of model.plain) {
    if (k.committed) assertOk(listed.has(key), `${where}: ${PLAIN}/${key} is not listed`);
  }
}

/** One listed version or delete marker. */
interface Listed {
  versionId: string;
  marker: boolean;
  latest: boolean;
  size: number;
}

async function listVersions(s3: S3Client, bucket: string): Promise<Map<string, Listed[]>> {
  const out = new Map<string, Listed[]>();
  const add = (key: string, v: Listed) => {
    const list = out.get(key) ?? [];
    list.push(v);
    out.set(key, list);
  };
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  while (true) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
      }),
    );
    for (const v of page.Versions ?? []) {
      add(v.Key!, { versionId: v.VersionId!, marker: false, latest: !!v.IsLatest, size: v.Size! });
    }
    for (const m of page.DeleteMarkers ?? []) {
      add(m.Key!, { versionId: m.VersionId!, marker: true, latest: !!m.IsLatest, size: 0 });
    }
    if (!page.IsTruncated) return out;
    keyMarker = page.NextKeyMarker;
    versionMarker = page.NextVersionIdMarker;
  }
}

async function readLock(
  s3: S3Client,
  key: string,
  versionId: string,
): Promise<LockState> {
  const hold = await s3.send(
    new GetObjectLegalHoldCommand({ Bucket: LOCKED, Key: key, VersionId: versionId }),
  );
  let retainUntil: number | undefined;
  try {
    const r = await s3.send(
      new GetObjectRetentionCommand({ Bucket: LOCKED, Key: key, VersionId: versionId }),
    );
    assertEquals(r.Retention?.Mode, "GOVERNANCE", `retention mode of ${key} ${versionId}`);
    retainUntil = r.Retention?.RetainUntilDate?.getTime();
  } catch (e) {
    if ((e as { name?: string }).name !== "NoSuchObjectLockConfiguration") throw e;
  }
  return { legalHold: hold.LegalHold?.Status === "ON", retainUntil };
}

const sameLock = (a: LockState | undefined, b: LockState | undefined) =>
  (a?.legalHold ?? false) === (b?.legalHold ?? false) && a?.retainUntil === b?.retainUntil;

/**
 * Checks one versioned bucket: for every key the listed versions are exactly
 * the acknowledged ones (plus the in-flight addition, or minus the in-flight
 * removal), the newest is the latest, each version reads back whole and
 * byte-identical, and (in the lock bucket) each version's legal hold and
 * retention are the acknowledged ones or the in-flight change. Then adopts
 * what was found.
 */
async function verifyVersioned(
  s3: S3Client,
  bucket: typeof VERSIONED | typeof LOCKED,
  model: Model,
  where: string,
): Promise<void> {
  const keys = bucket === LOCKED ? model.locked : model.versioned;
  const listing = await listVersions(s3, bucket);
  for (const key of listing.keys()) {
    assertOk(keys.has(key), `${where}: ${bucket} lists versions of "${key}", which no write made`);
  }
  for (const [key, k] of keys) {
    const at = `${where}: ${bucket}/${key}`;
    const listed = listing.get(key) ?? [];
    const byId = new Map(listed.map((v) => [v.versionId, v]));
    assertEquals(byId.size, listed.length, `${at}: a version is listed twice`);
    const pending = k.pending;
    const known = new Set(k.versions.map((v) => v.versionId));
    // Acknowledged versions are all there, except one whose removal was in flight.
    const kept: Version[] = [];
    for (const v of k.versions) {
      const l = byId.get(v.versionId);
      if (!l) {
        assertOk(
          pending?.kind === "remove" && pending.versionId === v.versionId,
          `${at}: acknowledged version ${v.versionId} (${show(v.body)}) is gone`,
        );
        model.noteInFlight(true);
        continue;
      }
      if (pending?.kind === "remove" && pending.versionId === v.versionId) {
        model.noteInFlight(false);
      }
      assertEquals(l.marker, v.body === null, `${at}: ${v.versionId} is a delete marker`);
      if (v.body) assertEquals(l.size, v.body.size, `${at}: listed size of ${v.versionId}`);
      kept.push(v);
    }
    const extra = listed.filter((l) => !known.has(l.versionId));
    assertOk(extra.length <= 1, `${at}: ${extra.length} versions no write acknowledged`);
    if (extra.length === 1) {
      const e = extra[0];
      if (pending?.kind !== "add") {
        throw new Error(`${at}: version ${e.versionId} appeared from nowhere`);
      }
      assertEquals(e.marker, pending.body === null, `${at}: in-flight ${e.versionId} kind`);
      if (pending.body) {
        assertEquals(e.size, pending.body.size, `${at}: listed size of ${e.versionId}`);
      }
      kept.push({ versionId: e.versionId, body: pending.body, lock: { legalHold: false } });
    }
    if (pending?.kind === "add") model.noteInFlight(extra.length === 1);
    // Newest first: the listed versions, and the listed delete markers, each in the order they were made.
    for (const marker of [false, true]) {
      assertEquals(
        listed.filter((l) => l.marker === marker).map((l) => l.versionId),
        kept.filter((v) => (v.body === null) === marker).map((v) => v.versionId).reverse(),
        `${at}: order of listed ${marker ? "delete markers" : "versions"}`,
      );
    }
    // The newest surviving version, and only it, is the latest.
    const latest = listed.filter((l) => l.latest).map((l) => l.versionId);
    assertEquals(
      latest,
      kept.length ? [kept[kept.length - 1].versionId] : [],
      `${at}: the latest version`,
    );
    for (const v of kept) {
      if (!v.body) continue;
      const got = await readBody(s3, bucket, key, v.versionId);
      assertOk(
        same(got, v.body),
        `${at}: version ${v.versionId} reads as ${show(got)}, wrote ${show(v.body)}`,
      );
      if (bucket !== LOCKED) continue;
      const lock = await readLock(s3, key, v.versionId);
      const inFlight = pending?.kind === "lock" && pending.versionId === v.versionId
        ? pending.lock
        : undefined;
      assertOk(
        sameLock(lock, v.lock) || (inFlight !== undefined && sameLock(lock, inFlight)),
        `${at}: version ${v.versionId} lock is ${JSON.stringify(lock)}; acknowledged ` +
          `${JSON.stringify(v.lock)}, in flight ${JSON.stringify(inFlight)}`,
      );
      if (inFlight) model.noteInFlight(sameLock(lock, inFlight));
      v.lock = lock;
    }
    k.versions = kept;
    k.pending = undefined;
  }
}

/**
 * Checks open multipart uploads: every acknowledged part is listed with its
 * ETag and size (a part in flight may be there too, whole), and an upload
 * is gone only if its completion or abort was in flight, and then
 * atomically: a completed upload's object is there, an open one's is not.
 * Runs after {@linkcode verifyPlain}, so the unversioned keys are adopted.
 */
async function verifyUploads(s3: S3Client, model: Model, where: string): Promise<void> {
  for (const [uploadId, u] of model.uploads) {
    const at = `${where}: upload ${uploadId.slice(0, 12)} of ${PLAIN}/${u.key}`;
    const holds = same(model.plain.get(u.key)?.committed, u.body);
    let listed;
    try {
      listed = await s3.send(
        new ListPartsCommand({ Bucket: PLAIN, Key: u.key, UploadId: uploadId }),
      );
    } catch (e) {
      if ((e as { name?: string }).name !== "NoSuchUpload") throw e;
      assertOk(u.ending, `${at}: acknowledged and never ended, it is gone`);
      assertEquals(holds, u.ending === "complete", `${at}: the object after the upload ended`);
      if (u.ending === "complete") model.noteInFlight(true);
      model.uploads.delete(uploadId);
      continue;
    }
    assertOk(!holds, `${at}: still open, yet its object is there`);
    if (u.ending) model.noteInFlight(false);
    const bounds = PART_BOUNDS(u.body.size);
    const parts = new Map((listed.Parts ?? []).map((p) => [p.PartNumber!, p]));
    for (const [n, etag] of u.parts) {
      assertEquals(parts.get(n)?.ETag, etag, `${at}: acknowledged part ${n}`);
    }
    for (const [n, p] of parts) {
      assertEquals(p.Size, bounds[n] - bounds[n - 1], `${at}: size of part ${n}`);
      if (u.parts.has(n)) continue;
      assertEquals(n, u.pendingPart, `${at}: part ${n} was never sent`);
      u.parts.set(n, p.ETag!);
    }
    if (u.pendingPart !== undefined) model.noteInFlight(parts.has(u.pendingPart));
    u.pendingPart = undefined;
    u.ending = undefined;
  }
}

/**
 * Checks the whole vault against the model after a restart and adopts what
 * it holds (every difference allowed is an in-flight write that did or did
 * not take).
 *
 * @param where Names the cycle in failure messages.
 */
export async function verifyAndReconcile(s3: S3Client, model: Model, where: string): Promise<void> {
  try {
    await verifyPlain(s3, model, where);
    await verifyUploads(s3, model, where);
    await verifyVersioned(s3, VERSIONED, model, where);
    await verifyVersioned(s3, LOCKED, model, where);
  } catch (e) {
    // Assertions name the cycle already; a failed request (a chunk gone, say) does not.
    if ((e as Error).name === "AssertionError") throw e;
    throw new Error(`${where}: a request failed: ${(e as Error).name}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
