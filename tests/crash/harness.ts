/**
 * The crash harness: cycles of `kill -9` at a seeded random moment under
 * parallel load (single PUTs, multipart uploads with some aborted and
 * interrupted ones resumed later, CopyObject, deletes, delete markers and
 * deletes by version id, legal hold and retention changes on an object-lock
 * bucket), each followed by a restart and a full check against
 * {@linkcode Model}. After the last cycle it deletes everything deletable,
 * aborts the uploads the kills left behind, kills once more while that is
 * collected, and checks that garbage collection brings the stored chunk
 * bytes down to exactly the remaining objects'.
 *
 * `deno task crash-test [--cycles N] [--seed S] [--ec K+M]` runs it (20 cycles by
 * default); `kill9_test.ts` runs a few cycles in `deno task test`.
 *
 * @module
 */

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { assertEquals, assertOk, signedFetch } from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { metricValue, startVault, type TestVault } from "../helpers/vault.ts";
import {
  type Body,
  fingerprint,
  LOCKED,
  type LockState,
  makeBody,
  Model,
  PART_BOUNDS,
  PLAIN,
  verifyAndReconcile,
  VERSIONED,
  type VersionedKey,
} from "./model.ts";

const KIB = 1024;
const MIB = 1024 * KIB;
const DAY = 86_400_000;
/** Garbage collection every second with no grace, so collections race the load and the kills. */
const GC_ENV = { AMBER_GC_INTERVAL: "1", AMBER_GC_GRACE: "0", AMBER_SCRUB_RATE: "1024" };
/** Longest a scrub pass of the harness's data may take. */
const SCRUB_TIMEOUT_MS = 120_000;

/** How a run is set up. */
export interface CrashOptions {
  /** Kill-and-restart cycles. */
  cycles: number;
  /** Seeds every choice (operations, sizes, kill moments, bodies). */
  seed: number;
  /** Parallel load workers. @default 6 */
  workers?: number;
  /** Longest load before a kill, ms. @default 2500 */
  maxLoadMs?: number;
  /** Erasure geometry over k+m drives in the data dir (`"2+1"`); one drive when not given. */
  ec?: string;
  /** Progress lines. @default console.log */
  log?: (line: string) => void;
}

/** What a run did. */
export interface CrashSummary {
  seed: number;
  cycles: number;
  /** Writes the vault acknowledged. */
  acknowledged: number;
  /** Writes in flight when a kill came. */
  interrupted: number;
  /** Multipart uploads aborted on purpose, resumed after a kill, and left open by the kills. */
  abortedUploads: number;
  resumedUploads: number;
  leftOpenUploads: number;
  /** Writes in flight at a kill that took effect, and that did not. */
  inFlight: { took: number; lost: number };
  /** Objects, versions and lock-bucket versions held at the end, before clean-up. */
  held: { objects: number; versions: number; lockedVersions: number };
  /** Unique chunk bytes after the final collection (the remaining objects' bytes). */
  finalChunkBytes: number;
}

/** mulberry32: a small seeded generator for choices (not for bodies). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The per-run state the load workers share. */
interface Run {
  s3: S3Client;
  model: Model;
  seed: number;
  /** Set just before the kill: errors after it are the kill's doing. */
  killing: boolean;
  /** Errors while the vault was up: each is a failure. */
  errors: string[];
  acknowledged: number;
  interrupted: number;
  abortedUploads: number;
  resumedUploads: number;
}

/** One load worker of one cycle: owns its keys, so each key has one request in flight at most. */
class LoadWorker {
  readonly #run: Run;
  readonly #random: () => number;
  readonly #prefix: string;
  readonly #bodyBase: number;
  #bodies = 0;

  constructor(run: Run, cycle: number, index: number) {
    this.#run = run;
    this.#random = rng(
      run.seed ^ Math.imul(cycle + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b),
    );
    this.#prefix = `w${index}`;
    this.#bodyBase = ((cycle * 64 + index) << 16) >>> 0;
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)];
  }

  #size(): number {
    // Mostly small, some spanning several chunks.
    const r = this.#random();
    if (r < 0.5) return 1 + Math.floor(this.#random() * 16 * KIB);
    if (r < 0.9) return 16 * KIB + Math.floor(this.#random() * 300 * KIB);
    return 300 * KIB + Math.floor(this.#random() * 1700 * KIB);
  }

  async #body(size: number): Promise<{ bytes: Uint8Array; body: Body }> {
    const bytes = makeBody(this.#run.seed, this.#bodyBase + this.#bodies++, size);
    return { bytes, body: await fingerprint(bytes) };
  }

  #key(kind: string): string {
    return `${this.#prefix}/${kind}${Math.floor(this.#random() * 4)}`;
  }

  /** Runs operations until the kill. */
  async loop(): Promise<void> {
    while (!this.#run.killing) {
      try {
        await this.#step();
        if (!this.#run.killing) this.#run.acknowledged++;
      } catch (e) {
        if (this.#run.killing) {
          this.#run.interrupted++;
          return;
        }
        this.#run.errors.push(`${this.#prefix}: ${(e as Error).name}: ${(e as Error).message}`);
        return;
      }
    }
  }

  #step(): Promise<void> {
    const r = this.#random();
    if (r < 0.18) return this.#putPlain();
    if (r < 0.26) return this.#multipart(this.#random() < 0.3);
    if (r < 0.33) return this.#copy();
    if (r < 0.40) return this.#deletePlain();
    if (r < 0.54) return this.#putVersioned(VERSIONED);
    if (r < 0.60) return this.#deleteMarker(VERSIONED);
    if (r < 0.68) return this.#deleteVersion(VERSIONED);
    if (r < 0.78) return this.#putVersioned(LOCKED);
    if (r < 0.80) return this.#deleteMarker(LOCKED);
    if (r < 0.83) return this.#deleteVersion(LOCKED);
    if (r < 0.91) return this.#changeLock("legalHold");
    return this.#changeLock("retention");
  }

  async #putPlain(): Promise<void> {
    const key = this.#key("p");
    const { bytes, body } = await this.#body(this.#size());
    const k = this.#run.model.plainKey(key);
    k.pending = body;
    await this.#run.s3.send(new PutObjectCommand({ Bucket: PLAIN, Key: key, Body: bytes }));
    k.committed = body;
    k.pending = undefined;
  }

  /**
   * Two 5 MiB parts and a short tail, sent one by one; `abort` gives up
   * after the parts instead of completing. Half the time it resumes one of
   * this worker's uploads that a kill interrupted (as a backup client
   * would), sending only the parts not acknowledged yet.
   */
  async #multipart(abort: boolean): Promise<void> {
    const s3 = this.#run.s3;
    const model = this.#run.model;
    const mine = [...model.uploads].filter(([, u]) => u.key.startsWith(`${this.#prefix}/`));
    let [uploadId, upload] = mine.length > 0 && this.#random() < 0.5
      ? this.#pick(mine)
      : [undefined, undefined];
    if (upload) this.#run.resumedUploads++;
    else {
      const key = this.#key("p");
      const bodyId = this.#bodyBase + this.#bodies++;
      const size = 10 * MIB + 1 + Math.floor(this.#random() * 200 * KIB);
      const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: PLAIN, Key: key }));
      uploadId = created.UploadId!;
      upload = {
        key,
        bodyId,
        body: await fingerprint(makeBody(this.#run.seed, bodyId, size)),
        parts: new Map(),
      };
      model.uploads.set(uploadId, upload);
    }
    const { key } = upload;
    const at = { Bucket: PLAIN, Key: key, UploadId: uploadId };
    const bytes = makeBody(this.#run.seed, upload.bodyId, upload.body.size);
    const bounds = PART_BOUNDS(bytes.length);
    for (let n = 1; n <= 3; n++) {
      if (upload.parts.has(n)) continue;
      upload.pendingPart = n;
      const r = await s3.send(
        new UploadPartCommand({
          ...at,
          PartNumber: n,
          Body: bytes.subarray(bounds[n - 1], bounds[n]),
        }),
      );
      upload.parts.set(n, r.ETag!);
      upload.pendingPart = undefined;
    }
    if (abort) {
      upload.ending = "abort";
      await s3.send(new AbortMultipartUploadCommand(at));
      model.uploads.delete(uploadId!);
      this.#run.abortedUploads++;
      return;
    }
    const k = model.plainKey(key);
    k.pending = upload.body;
    upload.ending = "complete";
    const Parts = [...upload.parts].sort(([a], [b]) => a - b).map(([PartNumber, ETag]) => ({
      PartNumber,
      ETag,
    }));
    await s3.send(new CompleteMultipartUploadCommand({ ...at, MultipartUpload: { Parts } }));
    model.uploads.delete(uploadId!);
    k.committed = upload.body;
    k.pending = undefined;
  }

  /** Copies one of this worker's objects to another key, in the same or the versioned bucket. */
  async #copy(): Promise<void> {
    const source = this.#key("p");
    const from = this.#run.model.plainKey(source).committed;
    if (!from) return this.#putPlain();
    const s3 = this.#run.s3;
    const CopySource = `${PLAIN}/${source}`;
    if (this.#random() < 0.5) {
      const key = this.#key("p");
      if (key === source) return;
      const k = this.#run.model.plainKey(key);
      k.pending = from;
      await s3.send(new CopyObjectCommand({ Bucket: PLAIN, Key: key, CopySource }));
      k.committed = from;
      k.pending = undefined;
      return;
    }
    const key = this.#key("v");
    const k = this.#run.model.versionedKey(VERSIONED, key);
    k.pending = { kind: "add", body: from };
    const r = await s3.send(new CopyObjectCommand({ Bucket: VERSIONED, Key: key, CopySource }));
    this.#added(k, r.VersionId, from, false);
  }

  async #deletePlain(): Promise<void> {
    const key = this.#key("p");
    const k = this.#run.model.plainKey(key);
    k.pending = null;
    await this.#run.s3.send(new DeleteObjectCommand({ Bucket: PLAIN, Key: key }));
    k.committed = null;
    k.pending = undefined;
  }

  #added(k: VersionedKey, versionId: string | undefined, body: Body | null, lock: boolean): void {
    assertOk(versionId, "a versioned write answered without a version id");
    k.versions.push({ versionId: versionId!, body, lock: lock ? { legalHold: false } : undefined });
    k.pending = undefined;
  }

  async #putVersioned(bucket: typeof VERSIONED | typeof LOCKED): Promise<void> {
    const key = this.#key(bucket === LOCKED ? "l" : "v");
    const { bytes, body } = await this.#body(this.#size());
    const k = this.#run.model.versionedKey(bucket, key);
    k.pending = { kind: "add", body };
    const r = await this.#run.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }),
    );
    this.#added(k, r.VersionId, body, bucket === LOCKED);
  }

  async #deleteMarker(bucket: typeof VERSIONED | typeof LOCKED): Promise<void> {
    const key = this.#key(bucket === LOCKED ? "l" : "v");
    const k = this.#run.model.versionedKey(bucket, key);
    k.pending = { kind: "add", body: null };
    const r = await this.#run.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    assertEquals(r.DeleteMarker, true, "DeleteObject on a versioned bucket made a delete marker");
    this.#added(k, r.VersionId, null, false);
  }

  /**
   * Deletes a version (or delete marker) of a versioned key by its id; in the
   * lock bucket one without a legal hold, bypassing GOVERNANCE retention.
   */
  async #deleteVersion(bucket: typeof VERSIONED | typeof LOCKED): Promise<void> {
    const key = this.#key(bucket === LOCKED ? "l" : "v");
    const k = this.#run.model.versionedKey(bucket, key);
    const deletable = k.versions.filter((v) => !v.lock?.legalHold);
    if (deletable.length === 0) return this.#putVersioned(bucket);
    const v = this.#pick(deletable);
    k.pending = { kind: "remove", versionId: v.versionId };
    await this.#run.s3.send(
      new DeleteObjectCommand({
        Bucket: bucket,
        Key: key,
        VersionId: v.versionId,
        BypassGovernanceRetention: bucket === LOCKED ? true : undefined,
      }),
    );
    k.versions = k.versions.filter((x) => x !== v);
    k.pending = undefined;
  }

  #lockable(): { key: string; k: VersionedKey; index: number } | undefined {
    const key = this.#key("l");
    const k = this.#run.model.versionedKey(LOCKED, key);
    const candidates = k.versions.map((v, i) => (v.body ? i : -1)).filter((i) => i >= 0);
    if (candidates.length === 0) return undefined;
    return { key, k, index: this.#pick(candidates) };
  }

  /** Toggles the legal hold of one version, or sets or extends its GOVERNANCE retention (extending needs no bypass). */
  async #changeLock(kind: "legalHold" | "retention"): Promise<void> {
    const target = this.#lockable();
    if (!target) return this.#putVersioned(LOCKED);
    const { key, k } = target;
    const v = k.versions[target.index];
    const at = { Bucket: LOCKED, Key: key, VersionId: v.versionId };
    let lock: LockState;
    let send: () => Promise<unknown>;
    if (kind === "legalHold") {
      lock = { ...v.lock!, legalHold: !v.lock!.legalHold };
      const Status = lock.legalHold ? "ON" : "OFF";
      send = () =>
        this.#run.s3.send(new PutObjectLegalHoldCommand({ ...at, LegalHold: { Status } }));
    } else {
      const from = Math.max(v.lock!.retainUntil ?? 0, Date.now());
      const retainUntil = Math.ceil((from + DAY * (1 + this.#random() * 30)) / 1000) * 1000;
      lock = { ...v.lock!, retainUntil };
      const Retention = { Mode: "GOVERNANCE" as const, RetainUntilDate: new Date(retainUntil) };
      send = () => this.#run.s3.send(new PutObjectRetentionCommand({ ...at, Retention }));
    }
    k.pending = { kind: "lock", versionId: v.versionId, lock };
    await send();
    v.lock = lock;
    k.pending = undefined;
  }
}

/**
 * Runs a full scrub pass through the vault's `/admin/scrub` and requires it
 * to find nothing: no bad shard, no lost chunk, no reference count off.
 */
async function scrubberFindsNothingWrong(
  vault: TestVault,
  s3: S3Client,
  log: (line: string) => void,
): Promise<void> {
  const admin = (method: "GET" | "POST", body?: unknown) =>
    signedFetch(vault, s3, {
      method,
      path: "/admin/scrub",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then((r) => r.json());
  const asked = Date.now();
  await admin("POST", { action: "start" });
  const deadline = asked + SCRUB_TIMEOUT_MS;
  while (true) {
    const status = await admin("GET");
    const pass = status.lastPass;
    if (status.state === "idle" && pass?.finishedAt && pass.startedAt >= asked - 1000) {
      log(
        `  scrub: ${pass.shardsChecked} shards, ${pass.objectsChecked} objects checked; ` +
          `found ${pass.found}, unrecoverable ${pass.unrecoverable}, ref mismatches ${pass.refMismatches}`,
      );
      assertEquals(
        [pass.found, pass.unrecoverable, pass.refMismatches],
        [0, 0, 0],
        `the scrubber found damage: ${JSON.stringify(pass.findings).slice(0, 1500)}`,
      );
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`The scrub did not finish: ${JSON.stringify(status)}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function openUploads(s3: S3Client, bucket: string) {
  const out: { Key: string; UploadId: string }[] = [];
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  while (true) {
    const page = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker, UploadIdMarker }),
    );
    for (const u of page.Uploads ?? []) out.push({ Key: u.Key!, UploadId: u.UploadId! });
    if (!page.IsTruncated) return out;
    KeyMarker = page.NextKeyMarker;
    UploadIdMarker = page.NextUploadIdMarker;
  }
}

/**
 * Cleans up after the cycles: aborts every open upload and deletes every
 * version of both versioned buckets (lifting legal holds, bypassing
 * GOVERNANCE retention); the unversioned bucket's objects stay.
 *
 * @returns How many uploads the kills had left open.
 */
async function deleteAllButPlain(s3: S3Client, model: Model): Promise<number> {
  let leftOpen = 0;
  for (const bucket of [PLAIN, VERSIONED, LOCKED]) {
    for (const u of await openUploads(s3, bucket)) {
      leftOpen++;
      await s3.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }),
      );
    }
    assertEquals((await openUploads(s3, bucket)).length, 0, `${bucket}: uploads left open`);
  }
  model.uploads.clear();
  for (const [key, k] of model.locked) {
    for (const v of k.versions) {
      if (v.lock?.legalHold) {
        await s3.send(
          new PutObjectLegalHoldCommand({
            Bucket: LOCKED,
            Key: key,
            VersionId: v.versionId,
            LegalHold: { Status: "OFF" },
          }),
        );
      }
      await s3.send(
        new DeleteObjectCommand({
          Bucket: LOCKED,
          Key: key,
          VersionId: v.versionId,
          BypassGovernanceRetention: true,
        }),
      );
    }
    k.versions = [];
  }
  for (const [key, k] of model.versioned) {
    for (const v of k.versions) {
      await s3.send(
        new DeleteObjectCommand({ Bucket: VERSIONED, Key: key, VersionId: v.versionId }),
      );
    }
    k.versions = [];
  }
  return leftOpen;
}

/** Bodies up to this size live in the index, not in chunks (INLINE_MAX_BYTES). */
const INLINE_MAX_BYTES = 4096;
/** What sealing adds to each body kept in the index. */
const INLINE_OVERHEAD_BYTES = 29;

/**
 * Waits (up to a minute) for garbage collection to leave exactly the
 * remaining objects' chunks: their distinct bodies' bytes (copies share
 * chunks; distinct bodies share none, being unrelated keystreams). Tiny
 * bodies are kept in the index, one sealed copy per version, and need no
 * collection: they are counted there.
 *
 * @returns The unique chunk bytes left.
 */
async function awaitReclaimed(vault: TestVault, model: Model): Promise<number> {
  const remaining = new Map<string, number>();
  let wantInline = 0;
  for (const k of model.plain.values()) {
    const size = k.committed?.size ?? 0;
    if (size > INLINE_MAX_BYTES) remaining.set(k.committed!.hash, size);
    else if (size > 0) wantInline += size + INLINE_OVERHEAD_BYTES;
  }
  const want = [...remaining.values()].reduce((a, b) => a + b, 0);
  const versions = [...model.plain.values()].filter((k) => k.committed).length;
  const deadline = Date.now() + 60_000;
  while (true) {
    const chunkBytes = await metricValue(vault, "amber_unique_chunk_bytes");
    const inline = await metricValue(vault, "amber_inline_bytes");
    const held = await metricValue(vault, "amber_object_versions");
    if (chunkBytes === want && inline === wantInline && held === versions) return chunkBytes;
    if (Date.now() > deadline) {
      throw new Error(
        `Garbage collection left ${chunkBytes} unique chunk bytes, ${inline} inline bytes and ` +
          `${held} versions; the remaining ${versions} objects hold ${want} bytes in chunks and ` +
          `${wantInline} in the index`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Runs the crash harness.
 *
 * @param opts Cycles, seed, load size.
 * @returns What happened; throws on the first broken promise, naming the seed and cycle.
 */
export async function runCrashHarness(opts: CrashOptions): Promise<CrashSummary> {
  const log = opts.log ?? console.log;
  const workers = opts.workers ?? 6;
  const maxLoadMs = opts.maxLoadMs ?? 2500;
  const random = rng(opts.seed);
  log(
    `crash harness: seed ${opts.seed}, ${opts.cycles} cycles, ${workers} workers` +
      (opts.ec ? `, ${opts.ec} drives` : ""),
  );
  const dataDir = await Deno.makeTempDir({ prefix: "amber-crash-" });
  const env: Record<string, string> = { ...GC_ENV };
  if (opts.ec) {
    const [k, m] = opts.ec.split("+").map(Number);
    env.AMBER_EC = opts.ec;
    env.AMBER_DRIVES = [...Array(k + m).keys()].map((i) => `${dataDir}/d${i}`).join(",");
  }
  let vault = await startVault({ dataDir, env });
  let s3 = s3For(vault);
  let passed = false;
  const run: Run = {
    s3,
    model: new Model(),
    seed: opts.seed,
    killing: false,
    errors: [],
    acknowledged: 0,
    interrupted: 0,
    abortedUploads: 0,
    resumedUploads: 0,
  };
  try {
    await s3.send(new CreateBucketCommand({ Bucket: PLAIN }));
    await s3.send(new CreateBucketCommand({ Bucket: VERSIONED }));
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: VERSIONED,
        VersioningConfiguration: { Status: "Enabled" },
      }),
    );
    await s3.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true }));
    for (let cycle = 0; cycle < opts.cycles; cycle++) {
      const where = `seed ${opts.seed} cycle ${cycle}`;
      run.killing = false;
      run.s3 = s3;
      const load = Array.from({ length: workers }, (_, w) => new LoadWorker(run, cycle, w).loop());
      const loadMs = 200 + Math.floor(random() * (maxLoadMs - 200));
      await new Promise((r) => setTimeout(r, loadMs));
      run.killing = true;
      await vault.kill();
      await Promise.all(load);
      s3.destroy();
      if (run.errors.length > 0) {
        throw new Error(
          `${where}: requests failed while the vault was up:\n${run.errors.join("\n")}`,
        );
      }
      vault = await startVault({ dataDir, port: vault.port, env });
      s3 = s3For(vault);
      await verifyAndReconcile(s3, run.model, where);
      const held = run.model.counts();
      log(
        `  cycle ${cycle}: killed after ${loadMs} ms; ${run.acknowledged} acknowledged, ` +
          `${run.interrupted} interrupted so far; holds ${held.objects} objects, ` +
          `${held.versions} + ${held.lockedVersions} versions: all verified`,
      );
    }
    await scrubberFindsNothingWrong(vault, s3, log);
    const held = run.model.counts();
    const leftOpen = await deleteAllButPlain(s3, run.model);
    // One more kill while collections reclaim all that (deletions and their tombstones), then restart.
    const gcMs = Math.floor(random() * 1500);
    await new Promise((r) => setTimeout(r, gcMs));
    await vault.kill();
    s3.destroy();
    vault = await startVault({ dataDir, port: vault.port, env });
    s3 = s3For(vault);
    await verifyAndReconcile(s3, run.model, `seed ${opts.seed} after the clean-up kill`);
    const chunkBytes = await awaitReclaimed(vault, run.model);
    const { took, lost } = run.model.inFlight;
    log(
      `  reclaimed: ${leftOpen} uploads the kills left open aborted, versioned buckets emptied, ` +
        `killed once more ${gcMs} ms into collecting; ${chunkBytes} unique chunk bytes remain, ` +
        `exactly the ${held.objects} remaining objects'. In-flight writes at kills: ${took} took, ` +
        `${lost} did not`,
    );
    passed = true;
    return {
      seed: opts.seed,
      cycles: opts.cycles,
      acknowledged: run.acknowledged,
      interrupted: run.interrupted,
      abortedUploads: run.abortedUploads,
      resumedUploads: run.resumedUploads,
      leftOpenUploads: leftOpen,
      inFlight: { ...run.model.inFlight },
      held,
      finalChunkBytes: chunkBytes,
    };
  } catch (e) {
    log(
      `crash harness FAILED with seed ${opts.seed}; data dir kept at ${vault.dataDir}; ` +
        `vault output:\n${vault.output().slice(-4000)}`,
    );
    throw e;
  } finally {
    s3.destroy();
    await vault.stop();
    if (passed) await Deno.remove(vault.dataDir, { recursive: true }).catch(() => undefined);
  }
}

function parseArgs(args: string[]): { cycles: number; seed: number; ec?: string } {
  let cycles = 20;
  let seed = Math.floor(Math.random() * 2 ** 31);
  let ec: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const value = Number(args[i + 1]);
    if (args[i] === "--cycles" && Number.isInteger(value) && value > 0) cycles = value;
    else if (args[i] === "--seed" && Number.isInteger(value)) seed = value;
    else if (args[i] === "--ec" && /^\d+\+\d+$/.test(args[i + 1] ?? "")) ec = args[i + 1];
    else {
      throw new Error(
        `Usage: deno task crash-test [--cycles N] [--seed S] [--ec K+M] (at "${args[i]}")`,
      );
    }
    i++;
  }
  return { cycles, seed, ec };
}

if (import.meta.main) {
  const { cycles, seed, ec } = parseArgs(Deno.args);
  const summary = await runCrashHarness({ cycles, seed, ec });
  console.log(JSON.stringify(summary));
}
